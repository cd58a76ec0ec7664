// assay.v1.MonitorService over MonitorManager: authentication, executor and commit-queue
// plumbing, the score stream and the watch.
#ifndef ASSAY_SERVER_GRPC_MONITOR_SERVICE_H_
#define ASSAY_SERVER_GRPC_MONITOR_SERVICE_H_

#include "assay/v1/monitor.grpc.pb.h"
#include "server/grpc/rpc_util.h"

namespace assay::server {

class MonitorServiceImpl final : public v1::MonitorService::CallbackService {
 public:
  explicit MonitorServiceImpl(const ServerDeps& deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* CreateMonitor(grpc::CallbackServerContext* context,
                                          const v1::CreateMonitorRequest* request,
                                          v1::Monitor* response) override;
  grpc::ServerUnaryReactor* GetMonitor(grpc::CallbackServerContext* context,
                                       const v1::GetMonitorRequest* request,
                                       v1::Monitor* response) override;
  grpc::ServerUnaryReactor* ListMonitors(grpc::CallbackServerContext* context,
                                         const v1::ListMonitorsRequest* request,
                                         v1::ListMonitorsResponse* response) override;
  grpc::ServerUnaryReactor* SubmitScores(grpc::CallbackServerContext* context,
                                         const v1::SubmitScoresRequest* request,
                                         v1::SubmitScoresResponse* response) override;
  grpc::ServerBidiReactor<v1::SubmitScoresRequest, v1::SubmitScoresResponse>* StreamScores(
      grpc::CallbackServerContext* context) override;
  grpc::ServerWriteReactor<v1::MonitorUpdate>* WatchMonitor(
      grpc::CallbackServerContext* context, const v1::WatchMonitorRequest* request) override;

 private:
  ServerDeps deps_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_MONITOR_SERVICE_H_
