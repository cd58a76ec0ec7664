// The OpenAPI 3.0 document of the JSON API (GET /openapi.json), generated from the route table and
// the compiled proto descriptors, so it cannot drift from what the server does: one path item per
// route, GET query parameters from the request's top-level fields, POST bodies and every response
// as schemas of the proto messages in the proto3 JSON mapping (lowerCamelCase names, 64-bit
// integers as strings, enums by name), errors as {code, message, details}, bearer-key security.
#ifndef ASSAY_SERVER_HTTP_OPENAPI_H_
#define ASSAY_SERVER_HTTP_OPENAPI_H_

#include <string>
#include <vector>

#include "server/http/routes.h"

namespace assay::server::http {

std::string OpenApiJson(const std::vector<RouteInfo>& routes, const std::string& version);

}  // namespace assay::server::http

#endif  // ASSAY_SERVER_HTTP_OPENAPI_H_
