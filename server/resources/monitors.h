// MonitorManager: monitors of deployed models in the server (proto/assay/v1/monitor.proto).
//
// A monitor lives in memory as the core audit::Monitor rebuilt from its latest snapshot (taken
// every 10,000 scores) plus the scores after it, and on disk as config + score log + snapshot.
// Score batches are CommitQueue works (the committer alone mutates monitor state; works read
// through their transaction); each publishes a MonitorUpdate to the watchers once committed, and a
// failed write drops the monitor from memory so it reloads from disk.
//
// Memory: at most about `max_live` monitors are held; the least recently used idle ones beyond are
// dropped and replayed from their log on next use (LiveCache).
//
// Every lookup is scoped to the caller's team; another team's monitor is NOT_FOUND.
#ifndef ASSAY_SERVER_RESOURCES_MONITORS_H_
#define ASSAY_SERVER_RESOURCES_MONITORS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "assay/v1/monitor.pb.h"
#include "core/audit/monitor.h"
#include "server/resources/live_set.h"
#include "server/runtime/quotas.h"
#include "server/runtime/metrics.h"
#include "server/resources/watcher.h"
#include "server/runtime/auth.h"
#include "server/runtime/commit_queue.h"
#include "server/storage/storage.h"

namespace assay::server {

using MonitorWatcher = Watcher<v1::MonitorUpdate>;

class MonitorManager {
 public:
  // Holds at most about `max_live` monitors in memory (see LiveCache).
  // `metrics` (optional) counts the alarms raised.
  explicit MonitorManager(storage::Storage* storage, size_t max_live = 1000,
                          Metrics* metrics = nullptr, Quotas* quotas = nullptr)
      : storage_(storage), live_("monitor_id", "monitor", max_live), metrics_(metrics),
        quotas_(quotas) {}

  // CommitQueue works.
  absl::Status Create(WriteContext& ctx, const Principal& who, const v1::CreateMonitorRequest& req,
                      v1::Monitor* out);
  absl::Status Submit(WriteContext& ctx, const Principal& who, const v1::SubmitScoresRequest& req,
                      v1::SubmitScoresResponse* out);

  // Reads.
  absl::Status Get(const Principal& who, const std::string& monitor_id, v1::Monitor* out);
  absl::Status List(const Principal& who, const v1::ListMonitorsRequest& req,
                    v1::ListMonitorsResponse* out);
  // Sends the state now, then every committed update (none is final).
  absl::StatusOr<std::shared_ptr<void>> Watch(const Principal& who, const std::string& monitor_id,
                                              MonitorWatcher* watcher,
                                              std::optional<int64_t> after = std::nullopt);
  void Unwatch(const std::shared_ptr<void>& token, MonitorWatcher* watcher);

  // Monitors held in memory now (≤ max_live once no call holds the extra ones).
  size_t live_count() { return live_.size(); }

  struct Live;  // defined in monitors.cc

 private:
  absl::StatusOr<std::shared_ptr<Live>> Find(storage::Reader& source, const Principal& who,
                                             const std::string& monitor_id);
  // Rebuilds the monitor from its snapshot (or config) and the scores after it.
  absl::StatusOr<std::shared_ptr<Live>> Replay(storage::Reader& source, const Principal& who,
                                               const std::string& monitor_id);

  storage::Storage* storage_;
  LiveSet<Live> live_;
  Metrics* metrics_;
  Quotas* quotas_;  // null: no limits
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_MONITORS_H_
