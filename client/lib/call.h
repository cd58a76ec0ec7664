// Unary calls with the client's conventions, for every generated stub:
//  - a deadline per attempt (the client's timeout) and the token;
//  - an idempotency key: a request with an empty `request_id` field gets a random one, kept for
//    every attempt, so the server answers a repeat with the stored reply instead of acting twice;
//  - retries of transient failures: UNAVAILABLE (server unreachable, restarting) and
//    RESOURCE_EXHAUSTED replies that ask to retry (the server's "busy" and "write queue is full",
//    a team over its write rate), with exponential backoff (100 ms, 200 ms, ... at most 2 s) or,
//    when the server says when (trailing metadata grpc-retry-pushback-ms), after that delay; a
//    negative pushback (a capacity limit) means no retry. Up to ClientOptions.attempts attempts.
//    A retry is sent only when it is safe: the request carries a request_id, or the caller marks
//    the call idempotent (CallKind).
// Errors keep the server's code; the message is prefixed by `what`.
#ifndef ASSAY_CLIENT_LIB_CALL_H_
#define ASSAY_CLIENT_LIB_CALL_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "client/lib/client.h"

namespace assay::client {

// 32 random hex digits.
std::string NewRequestId();

// Sets `request_id` to NewRequestId() if the message has such a string field and it is empty.
// Returns whether the message has the field.
bool FillRequestId(google::protobuf::Message& request);

// Whether `status` is one of the transient failures above.
bool IsTransient(const grpc::Status& status);
bool IsTransient(const absl::Status& status);

// The pause before attempt `attempt` (1 = the first retry).
absl::Duration RetryBackoff(int attempt);

// The server's retry advice in a finished call's trailing metadata (grpc-retry-pushback-ms): a
// delay, a negative duration for "do not retry", nullopt when it gave none.
std::optional<absl::Duration> RetryPushback(const grpc::ClientContext& context);

// Whether to retry a failed attempt and after what pause: nullopt for no retry.
std::optional<absl::Duration> RetryAfter(const grpc::Status& status,
                                         const grpc::ClientContext& context, int attempt,
                                         int attempts);

// kIdempotent: a read, or a write whose repeat changes nothing (RevokeApiKey); retried even
// without a request_id.
enum class CallKind { kMutating, kIdempotent };

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Call(const AssayClient& client, Stub& stub,
                              grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                           Response*),
                              Request request, absl::string_view what,
                              CallKind kind = CallKind::kMutating) {
  const bool has_request_id = FillRequestId(request);
  const bool retry_safe = has_request_id || kind == CallKind::kIdempotent;
  for (int attempt = 0;; ++attempt) {
    Response response;
    const std::unique_ptr<grpc::ClientContext> context = client.Context();
    const grpc::Status status = (stub.*method)(context.get(), request, &response);
    if (status.ok()) return response;
    const std::optional<absl::Duration> pause =
        RetryAfter(status, *context, attempt, client.attempts());
    if (!retry_safe || !pause.has_value()) return FromGrpcStatus(status, what);
    absl::SleepFor(*pause);
  }
}

}  // namespace assay::client

#endif  // ASSAY_CLIENT_LIB_CALL_H_
