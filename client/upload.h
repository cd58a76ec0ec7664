// Response uploads: a ResponseMatrix cut into UploadResponses chunks (whole models where they fit,
// models in matrix order, each chunk with its own model and item dictionaries), the
// client-streaming call that sends them, and the same with the client's conventions and retries.
#ifndef ASSAY_CLIENT_UPLOAD_H_
#define ASSAY_CLIENT_UPLOAD_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "client/client.h"
#include "core/irt/responses.h"

namespace assay::client {

// About 3 MiB per chunk with 12-byte cells: under gRPC's default 4 MiB message limit.
inline constexpr size_t kDefaultChunkCells = 250000;

// Calls `chunk` for each chunk of at most `max_cells` cells, in order; stops early (returning
// false) when `chunk` returns false. A cell is `successes` = y·w of `trials` = w (trials left out
// when every weight is 1). The first chunk carries `benchmark_id`.
bool ForEachResponseChunk(const irt::ResponseMatrix& data, const std::string& benchmark_id,
                          size_t max_cells,
                          const std::function<bool(const v1::UploadResponsesRequest&)>& chunk);

// Uploads every cell of `data` on one UploadResponses stream and returns the server's totals.
// Errors carry the server's status (e.g. InvalidArgument naming the chunk and field).
absl::StatusOr<v1::UploadResponsesResponse> UploadResponses(
    v1::BenchmarkService::StubInterface& stub, grpc::ClientContext& context,
    const irt::ResponseMatrix& data, const std::string& benchmark_id,
    size_t max_cells = kDefaultChunkCells);

// The same through `client`: its token, a deadline of `timeout` per attempt, and after a transient
// failure (call.h's IsTransient: the server restarting, a dropped connection) the whole upload is
// sent again with backoff, up to ClientOptions.attempts times. Safe because uploads are idempotent
// upserts; cells that a broken attempt had already committed count as unchanged in the reply.
absl::StatusOr<v1::UploadResponsesResponse> UploadResponses(const AssayClient& client,
                                                            const irt::ResponseMatrix& data,
                                                            const std::string& benchmark_id,
                                                            absl::Duration timeout = absl::Hours(1),
                                                            size_t max_cells = kDefaultChunkCells);

}  // namespace assay::client

#endif  // ASSAY_CLIENT_UPLOAD_H_
