// The web dashboard's files (client/web, built by npm and compiled in by CMake), which assayd
// serves at / on its HTTP port: index.html, app.js, app.css. Empty when built with -DASSAY_WEB=OFF.
#ifndef ASSAY_SERVER_HTTP_WEB_ASSETS_H_
#define ASSAY_SERVER_HTTP_WEB_ASSETS_H_

#include <cstddef>

#include "absl/types/span.h"

namespace assay::server::http {

struct WebAsset {
  const char* path;          // "/app.js"
  const char* content_type;  // "text/javascript; charset=utf-8"
  const char* data;
  size_t size;
};

absl::Span<const WebAsset> WebAssets();

}  // namespace assay::server::http

#endif  // ASSAY_SERVER_HTTP_WEB_ASSETS_H_
