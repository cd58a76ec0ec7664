#include "server/http/messages.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "server/runtime/quotas.h"

namespace assay::server::http {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const FieldDescriptor* FindField(const Message& message, const std::string& name) {
  const google::protobuf::Descriptor* d = message.GetDescriptor();
  if (const FieldDescriptor* f = d->FindFieldByName(name)) return f;
  return d->FindFieldByCamelcaseName(name);
}

// Sets (or, for a repeated field, appends) `value` to `field`; `where` names it in errors.
absl::Status SetFromText(Message* message, const FieldDescriptor* field, const std::string& value,
                         const std::string& where) {
  const Reflection* r = message->GetReflection();
  const bool repeated = field->is_repeated();
  const auto bad = [&](absl::string_view type) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": '", value, "' is not a valid ", type));
  };
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      repeated ? r->AddString(message, field, value) : r->SetString(message, field, value);
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("32-bit integer");
      repeated ? r->AddInt32(message, field, v) : r->SetInt32(message, field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("64-bit integer");
      repeated ? r->AddInt64(message, field, v) : r->SetInt64(message, field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("unsigned 32-bit integer");
      repeated ? r->AddUInt32(message, field, v) : r->SetUInt32(message, field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("unsigned 64-bit integer");
      repeated ? r->AddUInt64(message, field, v) : r->SetUInt64(message, field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(value, &v)) return bad("number");
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        repeated ? r->AddFloat(message, field, static_cast<float>(v))
                 : r->SetFloat(message, field, static_cast<float>(v));
      } else {
        repeated ? r->AddDouble(message, field, v) : r->SetDouble(message, field, v);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(value, &v)) return bad("boolean (true or false)");
      repeated ? r->AddBool(message, field, v) : r->SetBool(message, field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const google::protobuf::EnumValueDescriptor* e = field->enum_type()->FindValueByName(value);
      int number;
      if (e == nullptr && absl::SimpleAtoi(value, &number)) {
        e = field->enum_type()->FindValueByNumber(number);
      }
      if (e == nullptr) return bad(absl::StrCat(field->enum_type()->name(), " value"));
      repeated ? r->AddEnum(message, field, e) : r->SetEnum(message, field, e);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": a message field cannot be set from the URL; send it in the body"));
}

}  // namespace

absl::Status FillRequest(const std::string& body, const Params& query, const Params& path,
                         Message* message) {
  if (!absl::StripAsciiWhitespace(body).empty()) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const auto parsed = google::protobuf::util::JsonStringToMessage(body, message, options);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("body: not a valid ",
                                                     message->GetDescriptor()->name(),
                                                     " in JSON: ", std::string(parsed.message())));
    }
  }
  for (const auto& [name, value] : query) {
    const FieldDescriptor* field = FindField(*message, name);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": no such query parameter (",
                                                     message->GetDescriptor()->name(),
                                                     " has no field '", name, "')"));
    }
    if (absl::Status s = SetFromText(message, field, value, name); !s.ok()) return s;
  }
  for (const auto& [name, value] : path) {
    const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(name);
    if (field == nullptr || field->is_repeated() ||
        field->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
      return absl::InternalError(absl::StrCat("route variable ", name, " is not a string field"));
    }
    const Reflection* r = message->GetReflection();
    const std::string in_body = r->GetString(*message, field);
    if (!in_body.empty() && in_body != value) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": the path says '", value, "' but the body says '", in_body, "'"));
    }
    r->SetString(message, field, value);
  }
  return absl::OkStatus();
}

std::string ToJson(const Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kFailedPrecondition:
      return 412;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    default:
      return 500;
  }
}

std::string ErrorJson(const absl::Status& status) {
  nlohmann::ordered_json body = {{"code", static_cast<int>(status.code())},
                                 {"message", std::string(status.message())},
                                 {"details", nlohmann::ordered_json::array()}};
  if (std::optional<absl::Duration> delay = RetryDelayOf(status);
      delay.has_value() && *delay > absl::ZeroDuration()) {
    body["details"].push_back(
        {{"@type", "type.googleapis.com/google.rpc.RetryInfo"},
         {"retryDelay", absl::StrCat(absl::ToDoubleSeconds(*delay), "s")}});
  }
  // Our messages name the field first: "cases[2].case_id: required".
  const std::string message(status.message());
  const size_t colon = message.find(": ");
  if (colon != std::string::npos && colon > 0) {
    const std::string field = message.substr(0, colon);
    const bool looks_like_field =
        field.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[]") ==
        std::string::npos;
    if (looks_like_field && status.code() == absl::StatusCode::kResourceExhausted) {
      body["details"].push_back(  // "write_rate: ...": the limit reached
          {{"@type", "type.googleapis.com/google.rpc.QuotaFailure"},
           {"violations", {{{"subject", field}, {"description", message.substr(colon + 2)}}}}});
    } else if (looks_like_field) {
      body["details"].push_back(
          {{"@type", "type.googleapis.com/google.rpc.BadRequest"},
           {"fieldViolations", {{{"field", field}, {"description", message.substr(colon + 2)}}}}});
    }
  }
  return body.dump();
}

}  // namespace assay::server::http
