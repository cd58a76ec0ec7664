#include "server/api/public_status.h"

#include "server/runtime/log.h"

namespace assay::server {

absl::Status PublicStatus(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kInternal ||
      status.code() == absl::StatusCode::kDataLoss || status.code() == absl::StatusCode::kUnknown) {
    Log(LogLevel::kError, "internal error returned to client: %s", status.ToString());
    return absl::Status(status.code(), "internal server error (details in the server log)");
  }
  return status;
}

}  // namespace assay::server
