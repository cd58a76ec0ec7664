// assay.v1.SystemService: server version, schema version, uptime.
#ifndef ASSAY_SERVER_GRPC_SYSTEM_SERVICE_H_
#define ASSAY_SERVER_GRPC_SYSTEM_SERVICE_H_

#include "absl/time/time.h"
#include "assay/v1/system.grpc.pb.h"
#include "server/runtime/executor.h"
#include "server/storage/storage.h"

namespace assay::server {

class SystemServiceImpl final : public assay::v1::SystemService::CallbackService {
 public:
  // `storage` and `executor` must outlive the service.
  SystemServiceImpl(storage::Storage* storage, BoundedExecutor* executor, absl::Time started)
      : storage_(storage), executor_(executor), started_(started) {}

  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context,
                                          const assay::v1::GetServerInfoRequest* request,
                                          assay::v1::GetServerInfoResponse* response) override;

 private:
  storage::Storage* storage_;
  BoundedExecutor* executor_;
  absl::Time started_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_SYSTEM_SERVICE_H_
