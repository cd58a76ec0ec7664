#include "server/grpc/monitor_service.h"

#include <memory>

#include "server/api/unary.h"
#include "server/grpc/pipelined_stream.h"
#include "server/grpc/watch_stream.h"

namespace assay::server {

grpc::ServerUnaryReactor* MonitorServiceImpl::CreateMonitor(grpc::CallbackServerContext* context,
                                                            const v1::CreateMonitorRequest* request,
                                                            v1::Monitor* response) {
  return Serve(context, deps_, &api::CreateMonitor, request, response);
}

grpc::ServerUnaryReactor* MonitorServiceImpl::GetMonitor(grpc::CallbackServerContext* context,
                                                         const v1::GetMonitorRequest* request,
                                                         v1::Monitor* response) {
  return Serve(context, deps_, &api::GetMonitor, request, response);
}

grpc::ServerUnaryReactor* MonitorServiceImpl::ListMonitors(grpc::CallbackServerContext* context,
                                                           const v1::ListMonitorsRequest* request,
                                                           v1::ListMonitorsResponse* response) {
  return Serve(context, deps_, &api::ListMonitors, request, response);
}

grpc::ServerUnaryReactor* MonitorServiceImpl::SubmitScores(grpc::CallbackServerContext* context,
                                                           const v1::SubmitScoresRequest* request,
                                                           v1::SubmitScoresResponse* response) {
  return Serve(context, deps_, &api::SubmitScores, request, response);
}

grpc::ServerBidiReactor<v1::SubmitScoresRequest, v1::SubmitScoresResponse>*
MonitorServiceImpl::StreamScores(grpc::CallbackServerContext* context) {
  const ServerDeps* deps = &deps_;
  return new PipelinedStream<v1::SubmitScoresRequest, v1::SubmitScoresResponse>(
      context, deps_,
      [deps](WriteContext& ctx, const Principal& who, const v1::SubmitScoresRequest& req,
             v1::SubmitScoresResponse* resp) {
        return api::SubmitScoresWork(*deps, ctx, who, req, resp);
      },
      [](const v1::SubmitScoresRequest&, v1::SubmitScoresResponse&) {});
}

grpc::ServerWriteReactor<v1::MonitorUpdate>* MonitorServiceImpl::WatchMonitor(
    grpc::CallbackServerContext* context, const v1::WatchMonitorRequest* request) {
  return new WatchStream<v1::MonitorUpdate>(context, deps_, api::WatchMonitor(deps_, *request));
}

}  // namespace assay::server
