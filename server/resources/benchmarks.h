// BenchmarkManager: benchmarks (item banks with tags) and their responses in the server.
//
// Responses are stored as one packed row per model (server/storage/response_rows.h). An upload
// chunk is one CommitQueue work: it is validated completely, then its cells are upserted into the
// rows of the models it touches (a cell that already holds the same value is left alone, so
// re-uploading a chunk changes nothing). Models and items get indices 0, 1, ... in order of first
// arrival.
//
// Every lookup is scoped to the caller's team; another team's benchmark is NOT_FOUND with the same
// message as an id that does not exist.
#ifndef ASSAY_SERVER_RESOURCES_BENCHMARKS_H_
#define ASSAY_SERVER_RESOURCES_BENCHMARKS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "assay/v1/benchmarks.pb.h"
#include "core/irt/responses.h"
#include "server/runtime/quotas.h"
#include "server/runtime/auth.h"
#include "server/runtime/commit_queue.h"
#include "server/storage/storage.h"

namespace assay::server {

// NotFound "benchmark_id: no benchmark 'ID'" (also for another team's benchmark).
absl::Status BenchmarkNotFound(const std::string& benchmark_id);

class BenchmarkManager {
 public:
  explicit BenchmarkManager(storage::Storage* storage, Quotas* quotas = nullptr)
      : storage_(storage), quotas_(quotas) {}

  // CommitQueue works.
  absl::Status Create(WriteContext& ctx, const Principal& who,
                      const v1::CreateBenchmarkRequest& req, v1::Benchmark* out);
  // Upserts chunk number `chunk_no` (1-based, for error messages) of an upload into `benchmark_id`
  // and adds its counts to `totals`. InvalidArgument "chunk N: FIELD[i]: ..." for a bad chunk
  // (nothing of it is stored).
  absl::Status UploadChunk(WriteContext& ctx, const Principal& who, const std::string& benchmark_id,
                           const v1::UploadResponsesRequest& chunk, int64_t chunk_no,
                           v1::UploadResponsesResponse* totals);

  // Reads.
  absl::Status Get(const Principal& who, const std::string& benchmark_id, v1::Benchmark* out);
  absl::Status List(const Principal& who, const v1::ListBenchmarksRequest& req,
                    v1::ListBenchmarksResponse* out);
  absl::Status ListItems(const Principal& who, const v1::ListBenchmarkItemsRequest& req,
                         v1::ListBenchmarkItemsResponse* out);
  absl::StatusOr<storage::BenchmarkRecord> Find(const Principal& who,
                                                const std::string& benchmark_id);
  // The proto of `record` (reads the current fit's public id).
  absl::Status ToProto(const storage::BenchmarkRecord& record, v1::Benchmark* out);
  static void ToProtoWithCurrent(const storage::BenchmarkRecord& record,
                                 const std::string& current_fit_id, v1::Benchmark* out);

  // The benchmark's responses now, as a matrix with models and items in index order.
  absl::StatusOr<irt::ResponseMatrix> LoadMatrix(int64_t benchmark_row_id);
  // The items' tags, in index order.
  absl::StatusOr<std::vector<std::vector<std::string>>> ItemTags(int64_t benchmark_row_id);

 private:
  // Name → index maps of one benchmark, cached for uploads (committer thread only).
  struct Names {
    absl::flat_hash_map<std::string, int32_t> models, items;
    int64_t num_cells = 0;
  };
  absl::StatusOr<Names*> NamesOf(storage::WriteTxn& txn, const storage::BenchmarkRecord& record);
  // LoadMatrix's fast path: the values staged N×J straight from the packed rows, for matrices at
  // least a quarter full whose cells all have unit trials; nullopt where it does not apply (then
  // LoadMatrix builds the matrix from its cells).
  absl::StatusOr<std::optional<irt::ResponseMatrix>> LoadDenseMatrix(int64_t benchmark_row_id);
  // The benchmark's model and item names, in index order.
  struct EntryNames {
    std::vector<std::string> models, items;
  };
  absl::StatusOr<EntryNames> NamesOfEntries(int64_t benchmark_row_id);

  storage::Storage* storage_;
  Quotas* quotas_;  // null: no limits
  absl::flat_hash_map<int64_t, std::unique_ptr<Names>> names_;  // committer thread only
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_BENCHMARKS_H_
