// The one place where absl::Status becomes grpc::Status.
#ifndef ASSAY_SERVER_GRPC_STATUS_UTIL_H_
#define ASSAY_SERVER_GRPC_STATUS_UTIL_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace assay::server {

// Same canonical code. Internal and DataLoss details are logged and replaced by a generic message
// (they may contain SQL or file paths); other codes keep their message, which our code writes for
// the client (it names the field or id at fault).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_STATUS_UTIL_H_
