// HttpServer: assayd's HTTP/1.1 listener (`assayd --http HOST:PORT`): the JSON API
// (server/http/routes.h), live events as Server-Sent Events, and /healthz, /readyz.
//
// Built on GNU libmicrohttpd (Debian's libmicrohttpd-dev; ARCHITECTURE.md says why) in its
// thread-per-connection mode: each connection has its own thread, which parses the request,
// hands the call to the API layer (server/api/), whose work runs on the server's executor and
// commit queue like a gRPC call's, and waits for it; an event stream's thread waits for the next
// event. Keep-alive and chunked streaming responses are libmicrohttpd's.
//
// Limits (each named in its error): request body size (413 naming --http-max-body-bytes), request
// header size (libmicrohttpd answers 431, with its own page), open connections (beyond the bound
// a request gets 503 naming --http-max-connections; 16 more are accepted only to say so, and
// beyond those libmicrohttpd refuses the connection), idle connections and slow clients (closed
// after --http-idle-timeout without progress).
//
// Thread safety: Start and Shutdown from one thread; everything else is internal.
#ifndef ASSAY_SERVER_HTTP_HTTP_SERVER_H_
#define ASSAY_SERVER_HTTP_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/api/call.h"

namespace assay::server::http {

struct HttpOptions {
  // HOST:PORT; port 0 picks a free port (see HttpServer::port()).
  std::string address;
  // PEM contents (not paths) of the certificate chain and key; both empty: plain HTTP.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // An origin allowed to call the API from a page served elsewhere (CORS); empty: none.
  std::string cors_origin;
  size_t max_body_bytes = 16 << 20;
  size_t max_header_bytes = 64 << 10;
  unsigned max_connections = 256;
  absl::Duration idle_timeout = absl::Seconds(60);
  // How often an event stream sends a comment line when nothing happens (keeps proxies from
  // closing it and lets the server notice a client that has gone).
  absl::Duration heartbeat = absl::Seconds(15);
};

class HttpServer {
 public:
  // Starts listening. `deps` must outlive the server. Errors: InvalidArgument (address),
  // Unavailable (cannot bind), FailedPrecondition (TLS asked but libmicrohttpd lacks it).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpOptions& options,
                                                           const ServerDeps& deps);
  ~HttpServer();  // Shutdown()

  int port() const;

  // /readyz answers 503 from now on; for a graceful stop, call before Shutdown.
  void SetNotReady();
  // Ends every event stream cleanly, stops accepting connections and joins every connection
  // thread (unary calls in progress complete first). Idempotent. Call while the executor and
  // commit queue still run.
  void Shutdown();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace assay::server::http

#endif  // ASSAY_SERVER_HTTP_HTTP_SERVER_H_
