#include "server/grpc/status_util.h"

#include <string>

#include "server/api/public_status.h"

namespace assay::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const absl::Status shown = PublicStatus(status);
  return grpc::Status(static_cast<grpc::StatusCode>(shown.code()), std::string(shown.message()));
}

}  // namespace assay::server
