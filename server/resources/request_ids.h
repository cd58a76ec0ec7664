// Idempotent retries of mutating calls: a request message may carry `string request_id`. Inside a
// CommitQueue work, WithRequestId runs the mutation once per (team, request_id) and stores its
// reply in the same transaction; a retry of the same request gets the stored reply, a different
// request under the same id is FAILED_PRECONDITION. Requests without a request_id always run.
#ifndef ASSAY_SERVER_RESOURCES_REQUEST_IDS_H_
#define ASSAY_SERVER_RESOURCES_REQUEST_IDS_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "server/storage/storage.h"

namespace assay::server {

// How long stored replies are kept (the retry window clients may rely on).
inline constexpr int64_t kRequestIdRetentionSeconds = 24 * 3600;

// `mutate` fills `response` (and writes through `txn`); it is skipped for a replayed request.
// InvalidArgument for a request_id longer than 128 characters.
absl::Status WithRequestId(storage::WriteTxn& txn, int64_t team_id, const char* method,
                           const google::protobuf::Message& request,
                           google::protobuf::Message* response,
                           absl::FunctionRef<absl::Status()> mutate);

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_REQUEST_IDS_H_
