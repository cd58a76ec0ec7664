#include "server/grpc/status_util.h"

#include <string>

#include "server/runtime/log.h"

namespace assay::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  if (status.code() == absl::StatusCode::kInternal ||
      status.code() == absl::StatusCode::kDataLoss || status.code() == absl::StatusCode::kUnknown) {
    Log(LogLevel::kError, "internal error returned to client: %s", status.ToString());
    return grpc::Status(code, "internal server error (details in the server log)");
  }
  return grpc::Status(code, std::string(status.message()));
}

}  // namespace assay::server
