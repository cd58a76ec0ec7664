// The transport-neutral shape of a call, shared by every adapter (gRPC, HTTP/JSON): what the server
// needs to run one (ServerDeps), what an adapter hands over about it (Call), and the three ways a
// unary call runs. Reads run on the BoundedExecutor; writes authenticate on the executor, may read
// there first (a prepared write), then run as a CommitQueue work and complete only once durable.
//
// Nothing reads the database on an adapter's I/O thread: authentication runs on the executor
// when it may have to (a key-cache miss), and on the caller's thread only from the caches
// (RunWrite); AuthenticateThen is the helper for streams.
#ifndef ASSAY_SERVER_API_CALL_H_
#define ASSAY_SERVER_API_CALL_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/runtime/auth.h"
#include "server/runtime/commit_queue.h"
#include "server/runtime/executor.h"
#include "server/runtime/metrics.h"
#include "server/runtime/quotas.h"
#include "server/runtime/timers.h"
#include "server/storage/storage.h"

namespace assay::server {

class AuditManager;
class BenchmarkManager;
class FitJobs;
class CatManager;
class CompareManager;
class MonitorManager;

// The server's shared parts, owned by AssayServer; adapters keep a copy of this struct.
struct ServerDeps {
  storage::Storage* storage = nullptr;
  BoundedExecutor* executor = nullptr;
  CommitQueue* commits = nullptr;
  Authenticator* auth = nullptr;
  AuditManager* audits = nullptr;
  BenchmarkManager* benchmarks = nullptr;
  FitJobs* fits = nullptr;
  CatManager* cat = nullptr;
  CompareManager* comparisons = nullptr;
  MonitorManager* monitors = nullptr;
  Metrics* metrics = nullptr;
  Quotas* quotas = nullptr;  // null: no limits (tests of one layer)
  // Where a write over its team's rate waits for its token, and for how long at most
  // (Quotas::TakeWrite's may_wait); null: such writes are refused at once.
  Timers* timers = nullptr;
  absl::Duration write_hold = absl::ZeroDuration();
  absl::Time started;  // when the server started
};

// What an adapter knows about one call.
struct Call {
  // The `authorization` value the client sent ("Bearer KEY"), "" when none.
  std::string authorization;
  // True once the client has gone or its deadline has passed; null means never. Checked before
  // work starts (work that has started runs to completion: a write is atomic).
  std::function<bool()> cancelled;
};

// Receives the outcome of a call exactly once, on some server thread.
using Done = std::function<void(absl::Status)>;

// One write of the team's write rate (Quotas::TakeWrite): every write call, and every message of
// a write stream, takes one. Returns how long the write must wait for it (at most `may_wait`).
inline absl::StatusOr<absl::Duration> TakeWrite(const ServerDeps& deps, const Principal& who,
                                                absl::Duration may_wait = absl::ZeroDuration()) {
  return deps.quotas == nullptr ? absl::ZeroDuration() : deps.quotas->TakeWrite(who, may_wait);
}

// As TakeWrite, with Quotas::TakeWriteCached: nullopt when the team's limits must be read first.
inline std::optional<absl::StatusOr<absl::Duration>> TakeWriteCached(const ServerDeps& deps,
                                                                     const Principal& who,
                                                                     absl::Duration may_wait) {
  if (deps.quotas == nullptr) return absl::StatusOr<absl::Duration>(absl::ZeroDuration());
  return deps.quotas->TakeWriteCached(who, may_wait);
}

// How long a write (or write-stream message) may be held for its token (zero without timers).
inline absl::Duration WriteHold(const ServerDeps& deps) {
  return deps.timers == nullptr ? absl::ZeroDuration() : deps.write_hold;
}

// The error of a call cancelled, or past its deadline, before its work started.
inline absl::Status CancelledBeforeWork() {
  return absl::CancelledError("call cancelled or past its deadline before work started");
}

// Queues `work` on the commit queue (`done` as CommitQueue::Submit's, or the queue's error) after
// `wait`: at once, on the calling thread, when it is zero; else from deps.timers, and then only if
// the call has not been `cancelled` meanwhile (null: never is), so that a caller that gave up
// while its write waited for its token does not get a write it was told failed.
inline void QueueWriteAfter(const ServerDeps& deps, absl::Duration wait,
                            std::function<bool()> cancelled, CommitQueue::Work work, Done done) {
  const bool held = wait > absl::ZeroDuration();
  auto queue = [commits = deps.commits, held, cancelled = std::move(cancelled),
                work = std::move(work), done = std::move(done)]() mutable {
    if (held && cancelled && cancelled()) {
      done(CancelledBeforeWork());
      return;
    }
    const absl::Status queued = commits->Submit(std::move(work), done);
    if (!queued.ok()) done(queued);
  };
  if (held) {
    deps.timers->RunAt(absl::Now() + wait, std::move(queue));
  } else {
    queue();
  }
}

// Runs `start(Done&)` on the executor, which must see that `done` is called (at once or later).
// If the executor's queue is full, `done` gets RESOURCE_EXHAUSTED at once; if the call was
// cancelled while queued, CANCELLED without running `start`.
template <typename Start>
void StartOnExecutor(const ServerDeps& deps, Call call, Start start, Done done) {
  const absl::Status submitted =
      deps.executor->Submit([call = std::move(call), start = std::move(start), done]() mutable {
        if (call.cancelled && call.cancelled()) {
          done(CancelledBeforeWork());
          return;
        }
        start(done);
      });
  if (!submitted.ok()) done(submitted);
}

// Runs `work()` -> absl::Status on the executor, then `done` with its status (StartOnExecutor's
// queue and cancellation rules).
template <typename Work>
void RunOnExecutor(const ServerDeps& deps, Call call, Work work, Done done) {
  StartOnExecutor(
      deps, std::move(call), [work = std::move(work)](Done& d) mutable { d(work()); },
      std::move(done));
}

// A read: authenticates with at least `role`, then `work(const Principal&)` -> absl::Status on the
// executor.
template <typename Work>
void RunRead(const ServerDeps& deps, Call call, Role role, Work work, Done done) {
  std::string authorization = call.authorization;
  RunOnExecutor(
      deps, std::move(call),
      [auth = deps.auth, authorization = std::move(authorization), role,
       work = std::move(work)]() mutable -> absl::Status {
        absl::StatusOr<Principal> who = auth->Authenticate(authorization, role);
        if (!who.ok()) return who.status();
        return work(*who);
      },
      std::move(done));
}

// A write whose work needs reads first (a calibration to load, a session to bring into memory):
// authenticates with at least `role`, takes one write of the team's rate (TakeWrite, waiting up to
// deps.write_hold for it), and runs `prepare(const Principal&)` -> absl::StatusOr<P> on the
// executor (works must not read the database: the committer holds the connection), then
// `work(WriteContext&, const Principal&, P&)` as a CommitQueue work, once the write's token is due;
// `done` gets the work's status once committed (or the commit's error).
template <typename Prepare, typename Work>
void RunPreparedWrite(const ServerDeps& deps, Call call, Role role, Prepare prepare, Work work,
                      Done done) {
  std::string authorization = call.authorization;
  std::function<bool()> cancelled = call.cancelled;
  StartOnExecutor(
      deps, std::move(call),
      [deps, authorization = std::move(authorization), cancelled = std::move(cancelled), role,
       prepare = std::move(prepare), work = std::move(work)](Done& reply) mutable {
        absl::StatusOr<Principal> who = deps.auth->Authenticate(authorization, role);
        if (!who.ok()) {
          reply(who.status());
          return;
        }
        const absl::StatusOr<absl::Duration> wait = TakeWrite(deps, *who, WriteHold(deps));
        if (!wait.ok()) {
          reply(wait.status());
          return;
        }
        auto prepared = prepare(*who);
        if (!prepared.ok()) {
          reply(prepared.status());
          return;
        }
        QueueWriteAfter(
            deps, *wait, std::move(cancelled),
            [who = *std::move(who), prepared = *std::move(prepared), work = std::move(work)](
                WriteContext& ctx) mutable { return work(ctx, who, prepared); },
            reply);
      },
      std::move(done));
}

// A write: as RunPreparedWrite without the preparation; `work(WriteContext&, const Principal&)`.
// When the caller's key and its team's limits are known without reading the database (the usual
// case), authenticates, takes the write and queues the work on the caller's thread: one thread hop
// fewer per write, and a write over the team's rate is held or refused without leaving it.
template <typename Work>
void RunWrite(const ServerDeps& deps, Call call, Role role, Work work, Done done) {
  if (call.cancelled && call.cancelled()) {
    done(CancelledBeforeWork());
    return;
  }
  if (std::optional<absl::StatusOr<Principal>> who =
          deps.auth->AuthenticateCached(call.authorization, role)) {
    if (!who->ok()) {
      done(who->status());
      return;
    }
    const std::optional<absl::StatusOr<absl::Duration>> wait =
        TakeWriteCached(deps, **who, WriteHold(deps));
    if (wait.has_value()) {
      if (!wait->ok()) {
        done(wait->status());
        return;
      }
      QueueWriteAfter(
          deps, **wait, std::move(call.cancelled),
          [who = **std::move(who), work = std::move(work)](WriteContext& ctx) mutable {
            return work(ctx, who);
          },
          std::move(done));
      return;
    }
  }
  RunPreparedWrite(
      deps, std::move(call), role, [](const Principal&) { return absl::StatusOr<bool>(true); },
      [work = std::move(work)](WriteContext& ctx, const Principal& who, bool) mutable {
        return work(ctx, who);
      },
      std::move(done));
}

// For streams: authenticates `authorization` with at least `role` on the executor, then calls
// `then(absl::StatusOr<Principal>)` there (with RESOURCE_EXHAUSTED at once, on the caller's
// thread, if the executor's queue is full).
inline void AuthenticateThen(const ServerDeps& deps, std::string authorization, Role role,
                             std::function<void(absl::StatusOr<Principal>)> then) {
  const absl::Status submitted =
      deps.executor->Submit([auth = deps.auth, authorization = std::move(authorization), role,
                             then] { then(auth->Authenticate(authorization, role)); });
  if (!submitted.ok()) then(submitted);
}

}  // namespace assay::server

#endif  // ASSAY_SERVER_API_CALL_H_
