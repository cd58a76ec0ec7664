// The gRPC adapter's one helper for unary calls: runs an api:: call (server/api/unary.h) for a
// callback-API handler and finishes the call with its status.
#ifndef ASSAY_SERVER_GRPC_RPC_UTIL_H_
#define ASSAY_SERVER_GRPC_RPC_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "server/api/unary.h"
#include "server/grpc/status_util.h"

namespace assay::server {

// The call's `authorization` metadata value, "" when absent.
inline std::string AuthorizationOf(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  return it == metadata.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

// The Call of a gRPC call: its authorization metadata, and whether it was cancelled (checked only
// while the call is still unfinished, so `context` is alive).
inline Call CallOf(grpc::CallbackServerContext* context) {
  return Call{AuthorizationOf(*context), [context] { return context->IsCancelled(); }};
}

// A status with a retry delay (over a rate limit) tells the client when to retry, as gRPC's
// retry policy reads it: trailing metadata `grpc-retry-pushback-ms`.
inline void AddRetryPushback(grpc::ServerContextBase* context, const absl::Status& status) {
  if (std::optional<absl::Duration> delay = RetryDelayOf(status)) {
    context->AddTrailingMetadata("grpc-retry-pushback-ms",
                                 std::to_string(absl::ToInt64Milliseconds(*delay)));
  }
}

// `return Serve(context, deps_, &api::GetAudit, request, response);`
template <typename Req, typename Resp>
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const ServerDeps& deps,
                                api::Unary<Req, Resp> op, const Req* request, Resp* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  api::Invoke(deps, "grpc", op, CallOf(context), *request, response,
              [context, reactor](absl::Status status) {
                AddRetryPushback(context, status);
                reactor->Finish(ToGrpcStatus(status));
              });
  return reactor;
}

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_RPC_UTIL_H_
