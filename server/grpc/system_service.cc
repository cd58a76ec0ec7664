#include "server/grpc/system_service.h"

#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "core/base/version.h"
#include "server/grpc/rpc_util.h"

namespace assay::server {

grpc::ServerUnaryReactor* SystemServiceImpl::GetServerInfo(
    grpc::CallbackServerContext* context, const assay::v1::GetServerInfoRequest* /*request*/,
    assay::v1::GetServerInfoResponse* response) {
  return RunUnary(context, *executor_, [this, response]() -> absl::Status {
    ASSIGN_OR_RETURN(int schema, storage_->SchemaVersion());
    response->set_version(Version());
    response->set_schema_version(schema);
    response->set_uptime_seconds(absl::ToInt64Seconds(absl::Now() - started_));
    return absl::OkStatus();
  });
}

}  // namespace assay::server
