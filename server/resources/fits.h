// FitJobs: calibrations as long-running jobs, off the request path.
//
// StartFit stores the fit (QUEUED) and, once committed, queues it in its team's queue. `slots`
// runner threads take fits round-robin across teams (FairQueue), never more than a team's
// concurrent-fit limit at once, so a team that queues many fits delays another team's next fit by
// at most one fit per slot. Runners (and the sweep threads they start) run at nice kFitNice, below
// the request path, so labels and sessions stay responsive while fits run.
// A runner loads the benchmark's responses, fits (core/irt/fit.h) reporting every iteration to the
// fit's watchers, builds the result tables (core/irt/report.h) and stores them in one commit, which
// also makes the fit current when asked. CancelFit stops a queued fit at once and a running one
// within an iteration. A fit left QUEUED or RUNNING by a stop or crash is run again on the next
// start (fits are deterministic), so no fit is ever stuck.
//
// Result tables are read through a small cache (parsed tables of the last few fits), sorted and
// paged in memory.
//
// Thread safety: thread safe. Works (Start, Cancel, SetCurrent) run on the committer thread.
#ifndef ASSAY_SERVER_RESOURCES_FITS_H_
#define ASSAY_SERVER_RESOURCES_FITS_H_

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "assay/v1/benchmarks.pb.h"
#include "core/cat/session.h"
#include "core/irt/fit.h"
#include "core/irt/scoring.h"
#include "proto/convert/fit_options.h"
#include "server/resources/benchmarks.h"
#include "server/resources/live_set.h"
#include "server/resources/watcher.h"
#include "server/runtime/auth.h"
#include "server/runtime/commit_queue.h"
#include "server/runtime/fair_queue.h"
#include "server/runtime/quotas.h"
#include "server/storage/storage.h"

namespace assay::server {

using convert::FitMethodToProto;
using convert::FitOptionsFromProto;

// Receives a fit's state as it changes; the message with a final state (succeeded, failed,
// cancelled) is the last.
using FitWatcher = Watcher<v1::Fit>;

class FitJobs {
 public:
  static constexpr int kFitNice = 10;

  // `fit_threads`: sweep threads of each fit; `slots`: fits running at once, server-wide;
  // `quotas`: each team's concurrent_fits and queued_fits (null: one fit per team at once, no
  // bound on queued ones).
  FitJobs(storage::Storage* storage, CommitQueue* commits, BenchmarkManager* benchmarks,
          int fit_threads, int slots, Quotas* quotas = nullptr);
  ~FitJobs();  // Shutdown()

  // Queues the fits a previous run left unfinished and starts the runner.
  absl::Status Start();
  // Stops the runner; a running fit is abandoned (it stays RUNNING on disk and runs again on the
  // next start). Idempotent. Call before the CommitQueue shuts down.
  void Shutdown();

  // CommitQueue works.
  absl::Status StartFit(WriteContext& ctx, const Principal& who, const v1::StartFitRequest& req,
                        v1::Fit* out);
  absl::Status Cancel(WriteContext& ctx, const Principal& who, const v1::CancelFitRequest& req,
                      v1::Fit* out);
  absl::Status SetCurrent(WriteContext& ctx, const Principal& who,
                          const v1::SetCurrentFitRequest& req, v1::Benchmark* out);

  // Reads.
  absl::Status Get(const Principal& who, const std::string& fit_id, v1::Fit* out);
  absl::Status List(const Principal& who, const v1::ListFitsRequest& req,
                    v1::ListFitsResponse* out);
  absl::Status ListAbilities(const Principal& who, const v1::ListAbilitiesRequest& req,
                             v1::ListAbilitiesResponse* out);
  absl::Status ListItemParams(const Principal& who, const v1::ListItemParamsRequest& req,
                              v1::ListItemParamsResponse* out);
  absl::Status Score(const Principal& who, const v1::ScoreModelRequest& req,
                     v1::ScoreModelResponse* out);

  // Fits waiting for a runner, and running (server-wide, or of one team).
  struct Counts {
    size_t queued = 0, running = 0;
  };
  Counts Count();
  Counts CountOfTeam(int64_t team_id);

  // Calls `watcher` at once with the fit's state, then on every change. Returns a token for
  // Unwatch; after a final state no further calls come.
  absl::StatusOr<std::shared_ptr<void>> Watch(const Principal& who, const std::string& fit_id,
                                              FitWatcher* watcher,
                                              std::optional<int64_t> after = std::nullopt);
  void Unwatch(const std::shared_ptr<void>& token, FitWatcher* watcher);

  // A succeeded fit's parsed tables, for scoring and adaptive testing. K = 1 fits also have
  // `bank` (content tag of an item: its first tag).
  struct Tables {
    int64_t fit_row_id = 0;
    int64_t benchmark_row_id = 0;
    std::string fit_id;
    v1::FitTables tables;
    cat::Bank bank;                      // empty unless unidimensional
    std::vector<std::string> tag_names;  // bank.tags[j] indexes this
    absl::flat_hash_map<std::string, int32_t> item_index;
    std::vector<double> sorted_theta;  // first dimension, ascending
  };
  // The tables of `fit_id`, or of `benchmark_id`'s current calibration when fit_id is empty.
  // NotFound for unknown ids; FailedPrecondition if the fit has not succeeded or the benchmark
  // has no current calibration.
  absl::StatusOr<std::shared_ptr<const Tables>> FindTables(const Principal& who,
                                                           const std::string& fit_id,
                                                           const std::string& benchmark_id);
  // The item bank an adaptive test or a comparison (`users`: "sessions", "comparisons") runs on:
  // FindTables of `benchmark_id`, checked to belong to it (InvalidArgument "fit_id: ...") and to
  // be unidimensional (FailedPrecondition). NotFound for another team's benchmark.
  absl::StatusOr<std::shared_ptr<const Tables>> FindBankTables(const Principal& who,
                                                               const std::string& benchmark_id,
                                                               const std::string& fit_id,
                                                               const char* users);
  // For a replay: the tables of fit row `fit_row_id` and the public ids of that fit and of
  // benchmark row `benchmark_row_id`. DataLoss naming `what` if either is gone.
  struct BoundTables {
    std::shared_ptr<const Tables> tables;
    std::string fit_id, benchmark_id;
  };
  absl::StatusOr<BoundTables> TablesOfRows(const Principal& who, int64_t fit_row_id,
                                           int64_t benchmark_row_id, const std::string& what);

 private:
  struct Job {
    int64_t row_id = 0;
    int64_t benchmark_row_id = 0;
    int64_t team_id = 0;
    bool make_current = true;
    v1::Fit fit;  // current state (guarded by mu_)
    bool cancel = false;
    Publication<v1::Fit, v1::Fit> published{0};  // `fit` as last published, and its watchers
  };
  void RunLoop();
  void Run(const std::shared_ptr<Job>& job);
  bool MayRun(int64_t team_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Counts CountWhere(absl::FunctionRef<bool(int64_t team_id)> team);
  // The team's queued and running fits, running first, then in the order they will start.
  void ListQueue(const Principal& who, int limit, v1::ListFitsResponse* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sets each queued fit's queue_position.
  void NumberQueue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<storage::FitRecord> FindRecord(const Principal& who, const std::string& fit_id);
  void Publish(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RecordToProto(const storage::FitRecord& record, v1::Fit* out);

  storage::Storage* storage_;
  CommitQueue* commits_;
  BenchmarkManager* benchmarks_;
  const int fit_threads_;
  const int slots_;
  Quotas* const quotas_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Job>> active_ ABSL_GUARDED_BY(mu_);
  FairQueue<std::shared_ptr<Job>> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, int> running_ ABSL_GUARDED_BY(mu_);  // by team
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> runners_;

  absl::Mutex cache_mu_;
  std::list<std::shared_ptr<const Tables>> cache_ ABSL_GUARDED_BY(cache_mu_);  // most recent first
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_FITS_H_
