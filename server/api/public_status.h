// The one place where a status becomes what a client may see, for every adapter.
#ifndef ASSAY_SERVER_API_PUBLIC_STATUS_H_
#define ASSAY_SERVER_API_PUBLIC_STATUS_H_

#include "absl/status/status.h"

namespace assay::server {

// Same canonical code. Internal, DataLoss and Unknown details are logged and replaced by a generic
// message (they may contain SQL or file paths); other codes keep their message, which our code
// writes for the client (it names the field or id at fault).
absl::Status PublicStatus(const absl::Status& status);

}  // namespace assay::server

#endif  // ASSAY_SERVER_API_PUBLIC_STATUS_H_
