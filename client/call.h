// Unary calls with the client's conventions, for every generated stub:
//  - a deadline per attempt (the client's timeout) and the token;
//  - an idempotency key: a request with an empty `request_id` field gets a random one, kept for
//    every attempt, so the server answers a repeat with the stored reply instead of acting twice;
//  - retries of transient failures: UNAVAILABLE (server unreachable, restarting) and
//    RESOURCE_EXHAUSTED replies that ask to retry (the server's "busy" and "write queue is full"),
//    with exponential backoff (100 ms, 200 ms, ... at most 2 s) for up to ClientOptions.attempts
//    attempts. A retry is sent only when it is safe: the request carries a request_id, or the
//    caller marks the call idempotent (CallKind).
// Errors keep the server's code; the message is prefixed by `what`.
#ifndef ASSAY_CLIENT_CALL_H_
#define ASSAY_CLIENT_CALL_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "client/client.h"

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
    if (attempt > 0) absl::SleepFor(RetryBackoff(attempt));
    Response response;
    const grpc::Status status = (stub.*method)(client.Context().get(), request, &response);
    if (status.ok()) return response;
    if (!retry_safe || !IsTransient(status) || attempt + 1 >= client.attempts()) {
      return FromGrpcStatus(status, what);
    }
  }
}

}  // namespace assay::client

#endif  // ASSAY_CLIENT_CALL_H_
