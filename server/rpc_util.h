// Helpers for callback-API handlers that offload their work to the BoundedExecutor.
#ifndef ASSAY_SERVER_RPC_UTIL_H_
#define ASSAY_SERVER_RPC_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/status/status.h"
#include "server/executor.h"
#include "server/status_util.h"

namespace assay::server {

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

}  // namespace assay::server

#endif  // ASSAY_SERVER_RPC_UTIL_H_
