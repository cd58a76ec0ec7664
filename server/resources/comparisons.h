// CompareManager: comparisons of two models in the server (proto/assay/v1/compare.proto).
//
// A comparison is its creation (fit, options, A's frozen outcomes when the baseline is known) plus
// a log of steps (Next draws, Submit answers); in memory it is the core compare::Comparison
// rebuilt by replaying the log against the fit's item bank, which is exact because the core is
// deterministic given its seed. Steps are CommitQueue works: each appends to the log and answers
// once durable; a failed write drops the comparison from memory so the next access replays it
// from disk. Reads return the last committed state. The same shape as CatManager
// (server/resources/cat_sessions.h) on the shared live-resource mechanism (live_set.h) and the
// shared steps (stepped.h).
//
// Every lookup is scoped to the caller's team; another team's comparison is NOT_FOUND.
#ifndef ASSAY_SERVER_RESOURCES_COMPARISONS_H_
#define ASSAY_SERVER_RESOURCES_COMPARISONS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "assay/v1/compare.pb.h"
#include "core/compare/comparison.h"
#include "server/resources/benchmarks.h"
#include "server/resources/fits.h"
#include "server/resources/live_set.h"
#include "server/resources/watcher.h"
#include "server/runtime/quotas.h"
#include "server/runtime/auth.h"
#include "server/runtime/commit_queue.h"
#include "server/storage/storage.h"

namespace assay::server {

// Receives a comparison's FULL view after every committed step; a finished one's is the last.
using ComparisonWatcher = Watcher<v1::Comparison>;

class CompareManager {
 public:
  CompareManager(storage::Storage* storage, BenchmarkManager* benchmarks, FitJobs* fits,
                 size_t max_live = 1000, Quotas* quotas = nullptr)
      : storage_(storage),
        benchmarks_(benchmarks),
        fits_(fits),
        live_("comparison_id", "comparison", max_live),
        quotas_(quotas) {}

  // What CreateComparison needs from the database, found on the executor.
  struct CreatePlan {
    std::shared_ptr<const FitJobs::Tables> tables;
    int64_t benchmark_row_id = 0;
    v1::CompareOptions options;  // defaults filled in
    compare::CompareOptions core;
    std::vector<double> baseline;  // A's outcome per bank item (baseline known), else empty
  };
  struct Live;

  // Executor side (may read the database). InvalidArgument naming the field: model_a/model_b
  // (empty, longer than 200 characters, equal), options.*, fit_id; with the baseline known,
  // model_a must be a model of the benchmark with a response on every item of the fit.
  absl::StatusOr<CreatePlan> PrepareCreate(const Principal& who,
                                           const v1::CreateComparisonRequest& req);
  absl::StatusOr<std::shared_ptr<Live>> Load(const Principal& who, const std::string& id);

  // CommitQueue works.
  absl::Status Create(WriteContext& ctx, const Principal& who,
                      const v1::CreateComparisonRequest& req, const CreatePlan& plan,
                      v1::Comparison* out);
  absl::Status Next(WriteContext& ctx, const Principal& who,
                    const v1::NextComparisonItemsRequest& req, const std::shared_ptr<Live>& live,
                    v1::NextComparisonItemsResponse* out);
  absl::Status Submit(WriteContext& ctx, const Principal& who,
                      const v1::SubmitComparisonOutcomesRequest& req,
                      const std::shared_ptr<Live>& live, v1::Comparison* out);

  // Reads. In `view` (InvalidArgument for an unknown one).
  absl::Status Get(const Principal& who, const std::string& id, v1::ComparisonView view,
                   v1::Comparison* out);
  absl::Status List(const Principal& who, const v1::ListComparisonsRequest& req,
                    v1::ListComparisonsResponse* out);

  // Registers `watcher` and calls it at once with the FULL view, then after every committed step.
  absl::StatusOr<std::shared_ptr<void>> Watch(const Principal& who, const std::string& id,
                                              ComparisonWatcher* watcher,
                                              std::optional<int64_t> after = std::nullopt);
  void Unwatch(const std::shared_ptr<void>& token, ComparisonWatcher* watcher);

  size_t live_count() { return live_.size(); }

 private:
  absl::StatusOr<std::shared_ptr<Live>> Replay(const Principal& who, const std::string& id);
  // A's outcome on every item of `tables`' bank, from the benchmark's stored responses.
  absl::StatusOr<std::vector<double>> Baseline(const storage::BenchmarkRecord& benchmark,
                                               const FitJobs::Tables& tables,
                                               const std::string& model);

  storage::Storage* storage_;
  BenchmarkManager* benchmarks_;
  FitJobs* fits_;
  LiveSet<Live> live_;
  Quotas* quotas_;  // null: no limits
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_COMPARISONS_H_
