// AuditManager: the server's audits. Each audit lives in memory as a LiveAudit (the core
// audit::Audit rebuilt from its snapshot + event log) and on disk as config + event log.
//
// Writes are CommitQueue works (they run on the committer thread, which alone mutates audit state)
// and publish a new AuditUpdate to the audit's watchers once committed. Reads return the last
// published (committed) state and never block on a commit. A failed write drops the LiveAudit so
// the next access reloads it from the database: memory never runs ahead of disk.
//
// Memory: at most about `max_live` audits are held; the least recently used idle ones beyond are
// dropped and rebuilt from snapshot + log on next use (LiveCache).
//
// Every lookup is scoped to the caller's team: another team's audit is NOT_FOUND, with the same
// message as an id that does not exist.
#ifndef ASSAY_SERVER_RESOURCES_AUDITS_H_
#define ASSAY_SERVER_RESOURCES_AUDITS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "assay/v1/audit.pb.h"
#include "core/audit/audit.h"
#include "proto/convert/audit_config.h"
#include "server/resources/live_set.h"
#include "server/resources/watcher.h"
#include "server/runtime/quotas.h"
#include "server/runtime/auth.h"
#include "server/runtime/commit_queue.h"
#include "server/runtime/metrics.h"
#include "server/storage/storage.h"

namespace assay::server {

// Receives an audit's committed updates in order; the update carrying a decision is final.
using AuditWatcher = Watcher<v1::AuditUpdate>;

using convert::AuditConfigFromProto;  // proto/convert/audit_config.h
using convert::AuditConfigToProto;

class AuditManager {
 public:
  // Holds at most about `max_live` audits in memory (see LiveCache).
  // `metrics` (optional) counts the decisions reached.
  explicit AuditManager(storage::Storage* storage, size_t max_live = 1000,
                        Metrics* metrics = nullptr, Quotas* quotas = nullptr)
      : storage_(storage), live_("audit_id", "audit", max_live), metrics_(metrics),
        quotas_(quotas) {}

  // CommitQueue works. Each validates fully before changing anything (so Label may run under
  // WriteContext::RunChecked).
  absl::Status Create(WriteContext& ctx, const Principal& who, const v1::CreateAuditRequest& req,
                      v1::Audit* out);
  absl::Status HandOut(WriteContext& ctx, const Principal& who, const v1::HandOutCasesRequest& req,
                       v1::HandOutCasesResponse* out);
  absl::Status Label(WriteContext& ctx, const Principal& who, const v1::SubmitLabelRequest& req,
                     v1::SubmitLabelResponse* out);
  absl::Status Void(WriteContext& ctx, const Principal& who, const v1::VoidCaseRequest& req,
                    v1::VoidCaseResponse* out);

  // Reads (any thread; may load from the database).
  absl::Status Get(const Principal& who, const std::string& audit_id, v1::Audit* out);
  absl::Status List(const Principal& who, const v1::ListAuditsRequest& req,
                    v1::ListAuditsResponse* out);
  // One page of the audit's steps from the first label on, replayed from its event log (costs a
  // replay up to the page's end). page_token is the last step's t of the previous page.
  absl::Status ListSteps(const Principal& who, const v1::ListAuditStepsRequest& req,
                         v1::ListAuditStepsResponse* out);

  // Registers `watcher` and calls it at once with the current state (an update without steps).
  // Returns a token for Unwatch. NotFound as Get.
  absl::StatusOr<std::shared_ptr<void>> Watch(const Principal& who, const std::string& audit_id,
                                              AuditWatcher* watcher,
                                              std::optional<int64_t> after = std::nullopt);
  // Unregisters; after it returns the watcher is never called again.
  void Unwatch(const std::shared_ptr<void>& token, AuditWatcher* watcher);

  // Audits held in memory now (≤ max_live once no call holds the extra ones).
  size_t live_count() { return live_.size(); }

 private:
  struct Live;
  // Loads through `source` (a Storage read lease for reads, the WriteTxn inside works).
  absl::StatusOr<std::shared_ptr<Live>> Find(storage::Reader& source, const Principal& who,
                                             const std::string& audit_id);
  // Rebuilds the audit from its snapshot and the events after it.
  absl::StatusOr<std::shared_ptr<Live>> Replay(storage::Reader& source, const Principal& who,
                                               const std::string& audit_id);
  // Appends `event` to the log (in `ctx`) and snapshots when due.
  absl::Status Append(WriteContext& ctx, Live& live, const audit::Event& event);
  // Queues `steps` for the watchers; after the batch commits, publishes the audit's state.
  void PublishOnCommit(WriteContext& ctx, const std::shared_ptr<Live>& live,
                       std::vector<audit::Step> steps);

  // Called after a change to an undecided audit: counts the decision `state` has reached with it,
  // if any, once committed.
  void CountDecisionOnCommit(WriteContext& ctx, const Principal& who, const audit::Audit& state);

  storage::Storage* storage_;
  LiveSet<Live> live_;
  Metrics* metrics_;
  Quotas* quotas_;  // null: no limits
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_AUDITS_H_
