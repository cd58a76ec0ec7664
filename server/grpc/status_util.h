// The one place where absl::Status becomes grpc::Status.
#ifndef ASSAY_SERVER_GRPC_STATUS_UTIL_H_
#define ASSAY_SERVER_GRPC_STATUS_UTIL_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace assay::server {

// PublicStatus (server/api/public_status.h) as a grpc::Status: same canonical code; Internal and
// DataLoss details replaced by a generic message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_STATUS_UTIL_H_
