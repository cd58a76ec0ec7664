// Response uploads: a ResponseMatrix cut into UploadResponses chunks (whole models where they fit,
// models in matrix order, each chunk with its own model and item dictionaries), the
// client-streaming call that sends them, and the same with the client's conventions and retries.
#ifndef ASSAY_CLIENT_LIB_UPLOAD_H_
#define ASSAY_CLIENT_LIB_UPLOAD_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "client/lib/client.h"
#include "core/irt/responses.h"

namespace assay::client {

// Chunk sizes that keep a message under gRPC's default 4 MiB limit: about 3 MiB of columnar
// 12-byte cells, or 1 MiB of bitmaps (a block of models x items).
inline constexpr size_t kColumnarChunkCells = 250000;
inline constexpr size_t kBlockChunkCells = 4000000;

// Calls `chunk` for each chunk, in order; stops early (returning false) when `chunk` returns
// false. The form is the smaller one: bitmaps (UploadResponsesRequest.bitmaps) when every cell is
// 0/1 of 1 trial and the matrix is at least 1/28 observed, whole models per chunk, at most
// `max_cells` cells in each chunk's block of models x items; otherwise columnar cells
// (`successes` = y·w of `trials` = w, trials left out when every weight is 1), at most
// `max_cells` per chunk, a model's cells split where they do not fit. `max_cells` 0: the form's
// default (kBlockChunkCells, kColumnarChunkCells). The first chunk carries `benchmark_id`.
bool ForEachResponseChunk(const irt::ResponseMatrix& data, const std::string& benchmark_id,
                          size_t max_cells,
                          const std::function<bool(const v1::UploadResponsesRequest&)>& chunk);

// Uploads every cell of `data` on one UploadResponses stream and returns the server's totals.
// Errors carry the server's status (e.g. InvalidArgument naming the chunk and field).
absl::StatusOr<v1::UploadResponsesResponse> UploadResponses(
    v1::BenchmarkService::StubInterface& stub, grpc::ClientContext& context,
    const irt::ResponseMatrix& data, const std::string& benchmark_id, size_t max_cells = 0);

// The same through `client`: its token, a deadline of `timeout` per attempt, and after a transient
// failure (call.h's IsTransient: the server restarting, a dropped connection) the whole upload is
// sent again with backoff, up to ClientOptions.attempts times. Safe because uploads are idempotent
// upserts; cells that a broken attempt had already committed count as unchanged in the reply.
absl::StatusOr<v1::UploadResponsesResponse> UploadResponses(const AssayClient& client,
                                                            const irt::ResponseMatrix& data,
                                                            const std::string& benchmark_id,
                                                            absl::Duration timeout = absl::Hours(1),
                                                            size_t max_cells = 0);

}  // namespace assay::client

#endif  // ASSAY_CLIENT_LIB_UPLOAD_H_
