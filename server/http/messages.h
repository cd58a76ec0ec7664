// The HTTP adapter's conversions: an HTTP request into an API request message (path variables,
// query parameters and a proto3-JSON body), a message into proto3 JSON, and a status into an HTTP
// status code and the JSON error body `{code, message, details}` (the gRPC-gateway convention).
#ifndef ASSAY_SERVER_HTTP_MESSAGES_H_
#define ASSAY_SERVER_HTTP_MESSAGES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace assay::server::http {

using Params = std::vector<std::pair<std::string, std::string>>;

// Fills `message` from, in order: the JSON `body` (proto3 JSON mapping; "" for none), the query
// parameters (each names a top-level scalar or enum field by its proto or JSON name; a repeated
// field takes every value given), and the path variables (which must agree with the body).
// InvalidArgument naming the field or parameter at fault; `message` is then unspecified.
absl::Status FillRequest(const std::string& body, const Params& query, const Params& path,
                         google::protobuf::Message* message);

// `message` in proto3 JSON (lowerCamelCase names, 64-bit integers as strings, enums by name).
std::string ToJson(const google::protobuf::Message& message);

// The HTTP status for a canonical code, as the gRPC-gateway maps it (except FAILED_PRECONDITION,
// which is 412: the request is well-formed and the resource's state refuses it).
int HttpStatusOf(absl::StatusCode code);

// The error body for a status already made public (PublicStatus): {"code": <gRPC code number>,
// "message": "...", "details": [...]}; when the message names a field ("field: what was
// wrong"), details holds a google.rpc.BadRequest with that field violation.
std::string ErrorJson(const absl::Status& status);

}  // namespace assay::server::http

#endif  // ASSAY_SERVER_HTTP_MESSAGES_H_
