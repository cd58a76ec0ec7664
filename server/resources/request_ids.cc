#include "server/resources/request_ids.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "server/runtime/auth.h"

namespace assay::server {
namespace {

// The request's `request_id` field value, and a hash of the request without it.
std::pair<std::string, std::string> IdAndFingerprint(const google::protobuf::Message& request) {
  const google::protobuf::FieldDescriptor* field =
      request.GetDescriptor()->FindFieldByName("request_id");
  if (field == nullptr) return {"", ""};
  std::string id = request.GetReflection()->GetString(request, field);
  if (id.empty()) return {"", ""};  // nothing to remember: skip the hashing
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  copy->GetReflection()->ClearField(copy.get(), field);
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&out);
  }
  return {std::move(id), Sha256(bytes)};
}

}  // namespace

absl::Status WithRequestId(storage::WriteTxn& txn, int64_t team_id, const char* method,
                           const google::protobuf::Message& request,
                           google::protobuf::Message* response,
                           absl::FunctionRef<absl::Status()> mutate) {
  auto [id, fingerprint] = IdAndFingerprint(request);
  if (id.empty()) return mutate();
  if (id.size() > 128) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_id: at most 128 characters, got ", id.size()));
  }
  ASSIGN_OR_RETURN(std::optional<storage::StoredReply> stored, txn.FindReply(team_id, id));
  if (stored.has_value()) {
    if (stored->method != method || stored->fingerprint != fingerprint) {
      return absl::FailedPreconditionError(
          absl::StrCat("request_id: '", id, "' was already used for a different request (",
                       stored->method, "); use a new request_id for a new request"));
    }
    if (!response->ParseFromString(stored->response)) {
      return absl::DataLossError(absl::StrCat("stored reply of request_id '", id, "' is corrupt"));
    }
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(mutate());
  return txn.PutReply(team_id, id,
                      storage::StoredReply{method, fingerprint, response->SerializeAsString()},
                      absl::ToUnixSeconds(absl::Now()));
}

}  // namespace assay::server
