// assay.v1.SystemService: server version, schema version, uptime.
#ifndef ASSAY_SERVER_GRPC_SYSTEM_SERVICE_H_
#define ASSAY_SERVER_GRPC_SYSTEM_SERVICE_H_

#include "absl/time/time.h"
#include "assay/v1/system.grpc.pb.h"
#include "server/grpc/rpc_util.h"

namespace assay::server {

class SystemServiceImpl final : public assay::v1::SystemService::CallbackService {
 public:
  explicit SystemServiceImpl(const ServerDeps& deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context,
                                          const assay::v1::GetServerInfoRequest* request,
                                          assay::v1::GetServerInfoResponse* response) override;

 private:
  ServerDeps deps_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_SYSTEM_SERVICE_H_
