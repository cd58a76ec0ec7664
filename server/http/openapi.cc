#include "server/http/openapi.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace assay::server::http {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using Json = nlohmann::ordered_json;

std::string Ref(const Descriptor* d) {
  return absl::StrCat("#/components/schemas/", d->full_name());
}

// The schema of one value of `f` (ignoring repetition); message types are queued in `pending`.
Json ValueSchema(const FieldDescriptor* f, std::vector<const Descriptor*>* pending) {
  switch (f->type()) {
    case FieldDescriptor::TYPE_STRING:
      return {{"type", "string"}};
    case FieldDescriptor::TYPE_BYTES:
      return {{"type", "string"}, {"format", "byte"}};
    case FieldDescriptor::TYPE_BOOL:
      return {{"type", "boolean"}};
    case FieldDescriptor::TYPE_DOUBLE:
    case FieldDescriptor::TYPE_FLOAT:
      // proto3 JSON writes NaN and infinities as the strings "NaN", "Infinity", "-Infinity".
      return {{"oneOf", Json::array({Json{{"type", "number"}},
                                     Json{{"type", "string"},
                                          {"enum", {"NaN", "Infinity", "-Infinity"}}}})}};
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_SINT64:
    case FieldDescriptor::TYPE_SFIXED64:
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_FIXED64:
      return {{"type", "string"}, {"format", "int64"}};
    case FieldDescriptor::TYPE_INT32:
    case FieldDescriptor::TYPE_SINT32:
    case FieldDescriptor::TYPE_SFIXED32:
    case FieldDescriptor::TYPE_UINT32:
    case FieldDescriptor::TYPE_FIXED32:
      return {{"type", "integer"}, {"format", "int32"}};
    case FieldDescriptor::TYPE_ENUM: {
      Json values = Json::array();
      for (int i = 0; i < f->enum_type()->value_count(); ++i) {
        values.push_back(f->enum_type()->value(i)->name());
      }
      return {{"type", "string"}, {"enum", values}};
    }
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP:
      pending->push_back(f->message_type());
      return {{"$ref", Ref(f->message_type())}};
  }
  return Json::object();
}

Json FieldSchema(const FieldDescriptor* f, std::vector<const Descriptor*>* pending) {
  if (f->is_map()) {
    const FieldDescriptor* value = f->message_type()->map_value();
    return {{"type", "object"}, {"additionalProperties", ValueSchema(value, pending)}};
  }
  if (f->is_repeated()) return {{"type", "array"}, {"items", ValueSchema(f, pending)}};
  return ValueSchema(f, pending);
}

Json MessageSchema(const Descriptor* d, std::vector<const Descriptor*>* pending) {
  Json properties = Json::object();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    properties[f->json_name()] = FieldSchema(f, pending);
  }
  return {{"type", "object"}, {"properties", properties}};
}

// The OpenAPI path item key of a route: the same as its pattern (custom verbs stay as ":verb").
std::string OperationId(const RouteInfo& r) {
  std::string name = r.request->name();
  if (absl::EndsWith(name, "Request")) name.resize(name.size() - 7);
  return r.events ? absl::StrCat(name, "Events") : name;
}

}  // namespace

std::string OpenApiJson(const std::vector<RouteInfo>& routes, const std::string& version) {
  std::vector<const Descriptor*> pending;
  Json paths = Json::object();
  for (const RouteInfo& r : routes) {
    Json op;
    op["operationId"] = OperationId(r);
    op["summary"] = r.events ? absl::StrCat("Server-Sent Events of ", r.request->name())
                             : absl::StrCat("The ", OperationId(r), " call");
    Json parameters = Json::array();
    const std::set<std::string> path_vars(r.path_vars.begin(), r.path_vars.end());
    for (const std::string& v : r.path_vars) {
      parameters.push_back(
          {{"name", v}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
    }
    if (r.method == "GET") {
      for (int i = 0; i < r.request->field_count(); ++i) {
        const FieldDescriptor* f = r.request->field(i);
        if (path_vars.count(f->name()) > 0 || f->type() == FieldDescriptor::TYPE_MESSAGE) continue;
        parameters.push_back({{"name", f->json_name()},
                              {"in", "query"},
                              {"required", false},
                              {"schema", FieldSchema(f, &pending)}});
      }
    } else {
      pending.push_back(r.request);
      op["requestBody"] = {
          {"required", false},
          {"content", {{"application/json", {{"schema", {{"$ref", Ref(r.request)}}}}}}}};
    }
    if (r.events) {
      parameters.push_back({{"name", "Last-Event-ID"},
                            {"in", "header"},
                            {"required", false},
                            {"description", "Resume after this event id (a reconnecting client)."},
                            {"schema", {{"type", "string"}}}});
    }
    if (!parameters.empty()) op["parameters"] = parameters;
    pending.push_back(r.response);
    Json ok;
    if (r.events) {
      ok = {{"description",
             absl::StrCat("text/event-stream: events `update` whose data is a ",
                          r.response->full_name(),
                          " in JSON (id: its sequence number), and a final `error` event when "
                          "the stream ends early")},
            {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}};
    } else {
      ok = {{"description", "OK"},
            {"content", {{"application/json", {{"schema", {{"$ref", Ref(r.response)}}}}}}}};
    }
    op["responses"] = {
        {"200", ok},
        {"default",
         {{"description", "An error: the gRPC status as JSON, with the field at fault"},
          {"content",
           {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}};
    std::string method = absl::AsciiStrToLower(r.method);
    paths[r.pattern][method] = op;
  }
  Json schemas = Json::object();
  schemas["Error"] = {{"type", "object"},
                      {"required", {"code", "message", "details"}},
                      {"properties",
                       {{"code", {{"type", "integer"}, {"description", "the gRPC status code"}}},
                        {"message", {{"type", "string"}}},
                        {"details", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};
  while (!pending.empty()) {
    const Descriptor* d = pending.back();
    pending.pop_back();
    if (schemas.contains(d->full_name())) continue;
    schemas[d->full_name()] = MessageSchema(d, &pending);
  }
  Json doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = {{"title", "assay JSON API"},
                 {"version", version},
                 {"description",
                  "The JSON mapping of assay's gRPC API (proto/assay/v1): the same calls, "
                  "messages and errors."}};
  doc["paths"] = paths;
  doc["components"] = {
      {"schemas", schemas},
      {"securitySchemes", {{"bearerKey", {{"type", "http"}, {"scheme", "bearer"}}}}}};
  doc["security"] = Json::array({Json{{"bearerKey", Json::array()}}});
  return doc.dump(1);
}

}  // namespace assay::server::http
