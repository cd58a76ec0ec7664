#include "server/grpc/monitor_service.h"

#include <memory>

#include "server/resources/monitors.h"
#include "server/grpc/pipelined_stream.h"
#include "server/grpc/watch_stream.h"

namespace assay::server {

grpc::ServerUnaryReactor* MonitorServiceImpl::CreateMonitor(grpc::CallbackServerContext* context,
                                                            const v1::CreateMonitorRequest* request,
                                                            v1::Monitor* response) {
  return RunWrite(context, deps_, Role::kWrite,
                  [this, request, response](WriteContext& ctx, const Principal& who) {
                    return deps_.monitors->Create(ctx, who, *request, response);
                  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::GetMonitor(grpc::CallbackServerContext* context,
                                                         const v1::GetMonitorRequest* request,
                                                         v1::Monitor* response) {
  return RunRead(context, deps_, Role::kRead, [this, request, response](const Principal& who) {
    return deps_.monitors->Get(who, request->monitor_id(), response);
  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::ListMonitors(grpc::CallbackServerContext* context,
                                                           const v1::ListMonitorsRequest* request,
                                                           v1::ListMonitorsResponse* response) {
  return RunRead(context, deps_, Role::kRead, [this, request, response](const Principal& who) {
    return deps_.monitors->List(who, *request, response);
  });
}

grpc::ServerUnaryReactor* MonitorServiceImpl::SubmitScores(grpc::CallbackServerContext* context,
                                                           const v1::SubmitScoresRequest* request,
                                                           v1::SubmitScoresResponse* response) {
  return RunWrite(context, deps_, Role::kWrite,
                  [this, request, response](WriteContext& ctx, const Principal& who) {
                    return deps_.monitors->Submit(ctx, who, *request, response);
                  });
}

grpc::ServerBidiReactor<v1::SubmitScoresRequest, v1::SubmitScoresResponse>*
MonitorServiceImpl::StreamScores(grpc::CallbackServerContext* context) {
  MonitorManager* monitors = deps_.monitors;
  return new PipelinedStream<v1::SubmitScoresRequest, v1::SubmitScoresResponse>(
      context, deps_,
      [monitors](WriteContext& ctx, const Principal& who, const v1::SubmitScoresRequest& req,
                 v1::SubmitScoresResponse* resp) { return monitors->Submit(ctx, who, req, resp); },
      [](const v1::SubmitScoresRequest&, v1::SubmitScoresResponse&) {});
}

grpc::ServerWriteReactor<v1::MonitorUpdate>* MonitorServiceImpl::WatchMonitor(
    grpc::CallbackServerContext* context, const v1::WatchMonitorRequest* request) {
  MonitorManager* monitors = deps_.monitors;
  return new WatchStream<v1::MonitorUpdate>(
      context, deps_, /*coalesce=*/false, /*max_queued=*/10000,
      [monitors, id = request->monitor_id()](const Principal& who, MonitorWatcher* w) {
        return monitors->Watch(who, id, w);
      },
      [monitors](const std::shared_ptr<void>& token, MonitorWatcher* w) {
        monitors->Unwatch(token, w);
      });
}

}  // namespace assay::server
