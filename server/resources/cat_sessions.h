// CatManager: adaptive-testing sessions in the server (proto/assay/v1/cat.proto).
//
// A session is its start (fit, options) plus a log of steps (Next draws, Submit answers); in memory
// it is the core cat::CatSession rebuilt by replaying the log against the fit's item bank, which
// is exact because the core session is deterministic given its seed. Steps are CommitQueue works:
// each appends to the log and answers once durable; a failed write drops the session from memory
// so the next access replays it from disk. Reads return the last committed state.
//
// Works must not read the database, so anything that needs reads (the fit's tables, loading a
// session) happens first on the executor: PrepareStart and Load.
//
// Memory: at most `max_live` sessions are kept rebuilt (each holds bank-sized scratch arrays);
// beyond that the least recently used ones that no call is using are dropped, and a later call
// replays them from the database like after a restart.
//
// Every lookup is scoped to the caller's team; another team's session is NOT_FOUND.
#ifndef ASSAY_SERVER_RESOURCES_CAT_SESSIONS_H_
#define ASSAY_SERVER_RESOURCES_CAT_SESSIONS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "assay/v1/cat.pb.h"
#include "core/cat/session.h"
#include "server/resources/benchmarks.h"
#include "server/resources/fits.h"
#include "server/resources/live_set.h"
#include "server/resources/watcher.h"
#include "server/runtime/quotas.h"
#include "server/runtime/auth.h"
#include "server/runtime/commit_queue.h"
#include "server/storage/storage.h"

namespace assay::server {

// Receives a session's FULL view after every committed step; a finished session's is the last.
using SessionWatcher = Watcher<v1::CatSession>;

class CatManager {
 public:
  CatManager(storage::Storage* storage, FitJobs* fits, size_t max_live = 1000,
             Quotas* quotas = nullptr)
      : storage_(storage),
        fits_(fits),
        live_("session_id", "session", max_live),
        quotas_(quotas) {}

  // What StartSession needs from the database, found on the executor.
  struct StartPlan {
    std::shared_ptr<const FitJobs::Tables> tables;
    int64_t benchmark_row_id = 0;
    v1::CatOptions options;  // defaults filled in
    cat::CatOptions core;
  };
  struct Live;

  // Executor side (may read the database).
  absl::StatusOr<StartPlan> PrepareStart(const Principal& who, const v1::StartSessionRequest& req);
  absl::StatusOr<std::shared_ptr<Live>> Load(const Principal& who, const std::string& session_id);

  // CommitQueue works.
  absl::Status Start(WriteContext& ctx, const Principal& who, const v1::StartSessionRequest& req,
                     const StartPlan& plan, v1::CatSession* out);
  absl::Status Next(WriteContext& ctx, const Principal& who, const v1::NextItemsRequest& req,
                    const std::shared_ptr<Live>& live, v1::NextItemsResponse* out);
  absl::Status Submit(WriteContext& ctx, const Principal& who, const v1::SubmitOutcomesRequest& req,
                      const std::shared_ptr<Live>& live, v1::CatSession* out);

  // Reads.
  // In `view` (InvalidArgument for an unknown one).
  absl::Status Get(const Principal& who, const std::string& session_id, v1::CatSessionView view,
                   v1::CatSession* out);
  // The estimate after every outcome (a replay of the step log; O(steps × bank)).
  absl::Status ListSteps(const Principal& who, const v1::ListSessionStepsRequest& req,
                         v1::ListSessionStepsResponse* out);
  absl::Status List(const Principal& who, const v1::ListSessionsRequest& req,
                    v1::ListSessionsResponse* out);

  // Registers `watcher` and calls it at once with the session's FULL view, then after every
  // committed step; the view of a finished session is the last. Returns a token for Unwatch.
  // NotFound as Get.
  absl::StatusOr<std::shared_ptr<void>> Watch(const Principal& who, const std::string& session_id,
                                              SessionWatcher* watcher,
                                              std::optional<int64_t> after = std::nullopt);
  // Unregisters; after it returns the watcher is never called again.
  void Unwatch(const std::shared_ptr<void>& token, SessionWatcher* watcher);

  // Sessions currently held in memory (≤ max_live once no call holds the extra ones).
  size_t live_count() { return live_.size(); }

 private:
  // Rebuilds the session from the database (record, fit tables, step log).
  absl::StatusOr<std::shared_ptr<Live>> Replay(const Principal& who, const std::string& id);
  // As Replay, calling `on_outcome(session, event)` after each outcome event is applied.
  absl::StatusOr<std::shared_ptr<Live>> Replay(
      const Principal& who, const std::string& id,
      const std::function<void(const cat::CatSession&, const storage::CatEvent&)>& on_outcome);

  storage::Storage* storage_;
  FitJobs* fits_;
  LiveSet<Live> live_;
  Quotas* quotas_;  // null: no limits
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_CAT_SESSIONS_H_
