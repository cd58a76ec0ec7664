#include "client/call.h"

#include <algorithm>
#include <random>

#include "absl/strings/match.h"
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

}  // namespace assay::client
