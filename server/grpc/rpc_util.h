// Helpers for callback-API handlers: everything a handler needs (ServerDeps), and the two shapes of
// unary call: reads run on the BoundedExecutor; writes authenticate on the executor and then run as
// a CommitQueue work, finishing the call only once the write is durable.
#ifndef ASSAY_SERVER_GRPC_RPC_UTIL_H_
#define ASSAY_SERVER_GRPC_RPC_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/status/status.h"
#include "server/runtime/auth.h"
#include "server/runtime/commit_queue.h"
#include "server/runtime/executor.h"
#include "server/grpc/status_util.h"
#include "server/storage/storage.h"

namespace assay::server {

class AuditManager;
class BenchmarkManager;
class FitJobs;
class CatManager;
class MonitorManager;

// The server's shared parts, owned by AssayServer; services keep a copy of this struct.
struct ServerDeps {
  storage::Storage* storage = nullptr;
  BoundedExecutor* executor = nullptr;
  CommitQueue* commits = nullptr;
  Authenticator* auth = nullptr;
  AuditManager* audits = nullptr;
  BenchmarkManager* benchmarks = nullptr;
  FitJobs* fits = nullptr;
  CatManager* cat = nullptr;
  MonitorManager* monitors = nullptr;
};

// Runs `work` (callable returning absl::Status, which fills the response) on `executor` and
// finishes the call with its status. If the executor's queue is full the call finishes at once with
// RESOURCE_EXHAUSTED; if the call was cancelled or its deadline passed while queued, the work is
// skipped (the client has gone) and the call finishes CANCELLED.
template <typename Work>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* context, BoundedExecutor& executor,
                                   Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status submitted = executor.Submit([context, reactor, work = std::move(work)]() mutable {
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                   "call cancelled or past its deadline before work started"));
      return;
    }
    reactor->Finish(ToGrpcStatus(work()));
  });
  if (!submitted.ok()) reactor->Finish(ToGrpcStatus(submitted));
  return reactor;
}

// A read: authenticates with at least `role`, then runs `work(const Principal&)` on the executor.
template <typename Work>
grpc::ServerUnaryReactor* RunRead(grpc::CallbackServerContext* context, const ServerDeps& deps,
                                  Role role, Work work) {
  return RunUnary(context, *deps.executor,
                  [context, auth = deps.auth, role, work = std::move(work)]() -> absl::Status {
                    absl::StatusOr<Principal> who = auth->Authenticate(*context, role);
                    if (!who.ok()) return who.status();
                    return work(*who);
                  });
}

// A write whose work needs reads first (a calibration to load, a session to bring into memory):
// authenticates with at least `role` and runs `prepare(const Principal&)` -> absl::StatusOr<P> on
// the executor (it may read the database; works must not, the committer holds the connection),
// then `work(WriteContext&, const Principal&, P&)` as a CommitQueue work; the call finishes with
// the work's status once committed (or with the commit's error).
template <typename Prepare, typename Work>
grpc::ServerUnaryReactor* RunPreparedWrite(grpc::CallbackServerContext* context,
                                           const ServerDeps& deps, Role role, Prepare prepare,
                                           Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status submitted =
      deps.executor->Submit([context, reactor, deps, role, prepare = std::move(prepare),
                             work = std::move(work)]() mutable {
        if (context->IsCancelled()) {
          reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                       "call cancelled or past its deadline before work started"));
          return;
        }
        absl::StatusOr<Principal> who = deps.auth->Authenticate(*context, role);
        if (!who.ok()) {
          reactor->Finish(ToGrpcStatus(who.status()));
          return;
        }
        auto prepared = prepare(*who);
        if (!prepared.ok()) {
          reactor->Finish(ToGrpcStatus(prepared.status()));
          return;
        }
        absl::Status queued = deps.commits->Submit(
            [who = *std::move(who), prepared = *std::move(prepared), work = std::move(work)](
                WriteContext& ctx) mutable { return work(ctx, who, prepared); },
            [reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); });
        if (!queued.ok()) reactor->Finish(ToGrpcStatus(queued));
      });
  if (!submitted.ok()) reactor->Finish(ToGrpcStatus(submitted));
  return reactor;
}

// A write: as RunPreparedWrite without the preparation; `work(WriteContext&, const Principal&)`.
template <typename Work>
grpc::ServerUnaryReactor* RunWrite(grpc::CallbackServerContext* context, const ServerDeps& deps,
                                   Role role, Work work) {
  return RunPreparedWrite(
      context, deps, role, [](const Principal&) { return absl::StatusOr<bool>(true); },
      [work = std::move(work)](WriteContext& ctx, const Principal& who, bool) mutable {
        return work(ctx, who);
      });
}

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_RPC_UTIL_H_
