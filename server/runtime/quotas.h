// Per-team limits: how fast a team may write and how much it may hold, so that teams sharing one
// server cannot hold each other up.
//
// Each limit has a server default (assayd flags) that the host's administrator can override per
// team (`assayd --db FILE team limits TEAM NAME=VALUE ...`, stored in the database; a running
// server picks it up within its refresh interval). 0 means unlimited, except concurrent_fits.
//
// Over a limit a call fails with RESOURCE_EXHAUSTED naming the limit. A rate limit also carries the
// delay after which the call would succeed (WithRetryDelay; the gRPC adapter sends it as
// `grpc-retry-pushback-ms`, the HTTP adapter as `Retry-After`), and the clients wait that long and
// retry. A capacity limit (cells, open resources, queued fits) carries a negative delay: retrying
// will not help until something is finished or the limit raised, and clients do not retry.
#ifndef ASSAY_SERVER_RUNTIME_QUOTAS_H_
#define ASSAY_SERVER_RUNTIME_QUOTAS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "server/runtime/auth.h"
#include "server/runtime/metrics.h"
#include "server/storage/storage.h"

namespace assay::server {

enum class Limit : int {
  kWriteRate = 0,    // write calls (and stream messages) per second, sustained
  kWriteBurst,       // write calls allowed at once above the rate (bucket size)
  kCells,            // response cells stored, over all the team's benchmarks
  kOpenAudits,       // audits not yet decided
  kOpenSessions,     // adaptive tests not yet finished
  kMonitors,         // monitors
  kOpenComparisons,  // comparisons not yet decided
  kConcurrentFits,   // the team's fits running at once (≥ 1)
  kQueuedFits,       // the team's fits queued or running
};
inline constexpr int kNumLimits = 9;

struct LimitInfo {
  Limit limit;
  const char* name;  // as in the admin command, the usage call and errors: "write_rate"
  const char* help;
  double default_value;  // when neither the flag nor the team sets it
};
// Every limit, in enum order.
absl::Span<const LimitInfo> AllLimits();
const LimitInfo& InfoOf(Limit limit);
// InvalidArgument listing the names.
absl::StatusOr<Limit> ParseLimit(absl::string_view name);
// InvalidArgument naming the limit: values must be finite and ≥ 0 (concurrent_fits ≥ 1).
absl::Status ValidateLimit(Limit limit, double value);
// "NAME=VALUE" (as the admin command and assayd's --team-limit take them); VALUE "default" gives
// nullopt (back to the server's default). InvalidArgument quoting the assignment.
absl::StatusOr<std::pair<Limit, std::optional<double>>> ParseLimitAssignment(
    absl::string_view assignment);

// What the team holds that a capacity limit bounds (cells, open_*, monitors, queued_fits);
// nullopt for the others.
std::optional<storage::Holding> HoldingOf(Limit limit);

// One value per limit.
class TeamLimits {
 public:
  TeamLimits();  // every limit at its default_value
  double Get(Limit limit) const { return values_[static_cast<int>(limit)]; }
  // The write bucket's size: write_burst, or one second's worth (at least 1) when it is 0.
  double Burst() const;
  void Set(Limit limit, double value) { values_[static_cast<int>(limit)] = value; }

 private:
  std::array<double, kNumLimits> values_;
};

// A status carrying how long to wait before retrying (≥ 1 ms), or, with a negative delay, that
// retrying will not help (gRPC's convention for a negative `grpc-retry-pushback-ms`).
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);
// The delay WithRetryDelay attached; nullopt when none was.
std::optional<absl::Duration> RetryDelayOf(const absl::Status& status);

// Thread safety: thread safe.
class Quotas {
 public:
  // `defaults`: the server's limits; a team's stored overrides are read again after `refresh`.
  // Refusals are counted in `metrics` (null: not counted). `now` is the clock.
  Quotas(storage::Storage* storage, TeamLimits defaults, absl::Duration refresh = absl::Seconds(2),
         Metrics* metrics = nullptr, std::function<absl::Time()> now = &absl::Now);

  // The team's limits: the defaults with its overrides. Reads the database when the cached copy
  // is older than `refresh` (keeps the old copy if that read fails).
  TeamLimits Of(int64_t team_id);
  // The team's limits as last read, never reading the database (the defaults if never read):
  // for callers holding locks. Every write call reads them first (TakeWrite), so they are fresh
  // where a write led here.
  TeamLimits Cached(int64_t team_id);

  // Takes one write from the team's token bucket (write_rate per second, up to write_burst) and
  // returns how long the write must wait for it: zero when the bucket had a token; when it had
  // none and the next token not yet taken is due within `may_wait`, the write takes that token in
  // advance and waits until it is due (it is held rather than refused: a small excess over the
  // rate costs the caller a little latency instead of a round trip). Otherwise RESOURCE_EXHAUSTED
  // "write_rate: ..." with a delay to retry after: when the call would be held no longer than
  // `may_wait`, and no earlier than a token after the one told to the last refused call, so that
  // callers refused together come back one token apart rather than all at once (where all but one
  // would be refused again). A promise reserves nothing: whoever calls first when a token is
  // within reach takes it.
  absl::StatusOr<absl::Duration> TakeWrite(const Principal& who,
                                           absl::Duration may_wait = absl::ZeroDuration());
  // As TakeWrite, but never reads the database (an adapter's I/O thread may call it): nullopt,
  // taking nothing, when the team's limits are due to be read again.
  std::optional<absl::StatusOr<absl::Duration>> TakeWriteCached(const Principal& who,
                                                                absl::Duration may_wait);
  // Tokens in the team's bucket now (write_burst when it has not written lately; 0 while writes
  // wait for tokens they took in advance).
  double WriteTokens(int64_t team_id);

  // Inside a write: RESOURCE_EXHAUSTED naming `limit` when what the team holds as of `txn` plus
  // `adding` would exceed it (never when unlimited). For the capacity limits: cells, open_audits,
  // open_sessions, monitors, open_comparisons, queued_fits. Uses the cached limits (the committer
  // must not read through Storage).
  absl::Status Admit(storage::WriteTxn& txn, const Principal& who, Limit limit, double adding = 1);

 private:
  struct Team {
    TeamLimits limits;
    absl::Time read_at = absl::InfinitePast();
    bool filled = false;  // tokens has been set (to the burst, when first used)
    double tokens = 0;    // < 0: taken in advance by writes that wait for them
    absl::Time tokens_at;
    absl::Time promised = absl::InfinitePast();  // the last retry time told to a refused call
  };
  // Reads the team's limits from the database if the copy is older than refresh_ (without mu_).
  void Refresh(int64_t team_id) ABSL_LOCKS_EXCLUDED(mu_);
  Team& Entry(int64_t team_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Refill(Team& team, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // TakeWrite once the limits are read; nullopt (`fresh_only`) when they are due to be read again.
  std::optional<absl::StatusOr<absl::Duration>> Take(const Principal& who, absl::Duration may_wait,
                                                     bool fresh_only) ABSL_LOCKS_EXCLUDED(mu_);
  static absl::Status CheckCapacity(const TeamLimits& limits, Limit limit, double used,
                                    double adding);

  storage::Storage* storage_;
  const TeamLimits defaults_;
  const absl::Duration refresh_;
  Metrics* const metrics_;
  const std::function<absl::Time()> now_;
  absl::Mutex mu_;
  absl::flat_hash_map<int64_t, Team> teams_ ABSL_GUARDED_BY(mu_);
};

// quotas->Admit(...), or nothing when there are no limits (null).
inline absl::Status Admit(Quotas* quotas, storage::WriteTxn& txn, const Principal& who,
                          Limit limit, double adding = 1) {
  return quotas == nullptr ? absl::OkStatus() : quotas->Admit(txn, who, limit, adding);
}

}  // namespace assay::server

#endif  // ASSAY_SERVER_RUNTIME_QUOTAS_H_
