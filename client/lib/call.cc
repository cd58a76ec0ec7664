#include "client/lib/call.h"

#include <algorithm>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace assay::client {

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("%016x%016x", rng(), rng());
}

bool FillRequestId(google::protobuf::Message& request) {
  const google::protobuf::FieldDescriptor* field =
      request.GetDescriptor()->FindFieldByName("request_id");
  if (field == nullptr || field->type() != google::protobuf::FieldDescriptor::TYPE_STRING ||
      field->is_repeated()) {
    return false;
  }
  const google::protobuf::Reflection* reflection = request.GetReflection();
  if (reflection->GetString(request, field).empty()) {
    reflection->SetString(&request, field, NewRequestId());
  }
  return true;
}

bool IsTransient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         (status.code() == absl::StatusCode::kResourceExhausted &&
          absl::StrContains(status.message(), "retry"));
}

bool IsTransient(const grpc::Status& status) {
  // gRPC's and Abseil's status codes have the same numbers.
  return IsTransient(
      absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message()));
}

absl::Duration RetryBackoff(int attempt) {
  return std::min(absl::Milliseconds(100) * (1 << std::min(attempt - 1, 10)), absl::Seconds(2));
}

std::optional<absl::Duration> RetryPushback(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find("grpc-retry-pushback-ms");
  if (it == trailers.end()) return std::nullopt;
  int64_t ms = -1;
  if (!absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms)) ms = -1;
  return absl::Milliseconds(ms);
}

std::optional<absl::Duration> RetryAfter(const grpc::Status& status,
                                         const grpc::ClientContext& context, int attempt,
                                         int attempts) {
  if (attempt + 1 >= attempts) return std::nullopt;
  const std::optional<absl::Duration> pushback = RetryPushback(context);
  if (pushback.has_value()) {
    if (*pushback < absl::ZeroDuration()) return std::nullopt;
    return *pushback;
  }
  if (!IsTransient(status)) return std::nullopt;
  return RetryBackoff(attempt + 1);
}

}  // namespace assay::client
