#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/base/version.h"
#include "server/http/openapi.h"
#include "server/http/routes.h"
#include "server/http/web_assets.h"
#include "server/runtime/log.h"

namespace assay::server::http {
namespace {

// The dashboard's file at `path` ("/" is index.html), or nullptr.
const WebAsset* FindWebAsset(const std::string& path) {
  const std::string want = path == "/" ? "/index.html" : path;
  for (const WebAsset& a : WebAssets()) {
    if (a.path != nullptr && want == a.path) return &a;
  }
  return nullptr;
}

// A strong validator of the file's bytes (FNV-1a), so a browser revalidates cheaply (304).
std::string ETagOf(const WebAsset& a) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < a.size; ++i) {
    h = (h ^ static_cast<unsigned char>(a.data[i])) * 1099511628211ull;
  }
  return absl::StrCat("\"", absl::Hex(h, absl::kZeroPad16), "\"");
}

// The dashboard's file: revalidated on every load (no-cache + ETag), never framed, scripts only
// from this origin. The page calls only the JSON API on the same origin.
Reply WebReply(const WebAsset& a, const std::string& if_none_match) {
  Reply reply;
  const std::string etag = ETagOf(a);
  reply.headers = {{"ETag", etag},
                   {"Cache-Control", "no-cache"},
                   {"X-Content-Type-Options", "nosniff"},
                   {"Content-Security-Policy",
                    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                    "base-uri 'none'; form-action 'none'"},
                   {"Referrer-Policy", "no-referrer"}};
  if (if_none_match == etag) {
    reply.status = 304;
    return reply;
  }
  reply.content_type = a.content_type;
  reply.body.assign(a.data, a.size);
  return reply;
}

}  // namespace

struct HttpServer::Impl {
  Impl(const HttpOptions& o, const ServerDeps& d)
      : options(o),
        deps(d),
        router(d, o.heartbeat),
        openapi(OpenApiJson(router.Describe(), Version())) {}

  // One request as it arrives: its body so far.
  struct Pending {
    std::string body;
    bool too_large = false;
  };

  static MHD_Result Access(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char* /*version*/, const char* upload_data,
                           size_t* upload_data_size, void** con_cls) {
    Impl* self = static_cast<Impl*>(cls);
    if (*con_cls == nullptr) {  // the headers have arrived
      *con_cls = new Pending();
      if (self->open_connections.load() > static_cast<int>(self->options.max_connections)) {
        Reply busy = ErrorReply(absl::UnavailableError(
            absl::StrCat("connections: ", self->options.max_connections,
                         " HTTP connections are open, the most this server takes (assayd "
                         "--http-max-connections); retry")));
        busy.headers.emplace_back("Retry-After", "1");
        busy.headers.emplace_back("Connection", "close");
        return self->Send(connection, busy, "");
      }
      return MHD_YES;
    }
    Pending* pending = static_cast<Pending*>(*con_cls);
    if (*upload_data_size > 0) {  // a piece of the body
      if (pending->body.size() + *upload_data_size > self->options.max_body_bytes) {
        pending->too_large = true;
        pending->body.clear();
      } else if (!pending->too_large) {
        pending->body.append(upload_data, *upload_data_size);
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    return self->Respond(connection, url, method, *pending);
  }

  // Counts open connections: beyond options.max_connections a request is answered 503 naming the
  // limit (libmicrohttpd's own bound, a little higher, only refuses the TCP connection).
  static void Connections(void* cls, MHD_Connection* /*connection*/, void** /*socket_context*/,
                          MHD_ConnectionNotificationCode code) {
    Impl* self = static_cast<Impl*>(cls);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      ++self->open_connections;
    } else {
      --self->open_connections;
    }
  }

  static void Completed(void* /*cls*/, MHD_Connection* /*connection*/, void** con_cls,
                        MHD_RequestTerminationCode /*code*/) {
    delete static_cast<Pending*>(*con_cls);
    *con_cls = nullptr;
  }

  static MHD_Result CollectQuery(void* cls, MHD_ValueKind /*kind*/, const char* key,
                                 const char* value) {
    static_cast<Params*>(cls)->emplace_back(key, value == nullptr ? "" : value);
    return MHD_YES;
  }

  static ssize_t ReadStream(void* cls, uint64_t /*pos*/, char* buf, size_t max) {
    const ssize_t n = (*static_cast<std::shared_ptr<EventStream>*>(cls))->Read(buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
  }
  static void FreeStream(void* cls) { delete static_cast<std::shared_ptr<EventStream>*>(cls); }

  // libmicrohttpd's own messages (malformed requests, clients gone) in the server's log format.
  static void LogMhd(void* /*cls*/, const char* format, va_list args) {
    char line[512];
    vsnprintf(line, sizeof(line), format, args);
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    LogLine(LogLevel::kInfo, "http: " + text);
  }

  static std::string Header(MHD_Connection* connection, const char* name) {
    const char* v = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
    return v == nullptr ? std::string() : std::string(v);
  }

  MHD_Result Respond(MHD_Connection* connection, const char* url, const char* method,
                     const Pending& pending) {
    Reply reply;
    const std::string origin = Header(connection, "Origin");
    const bool cors = CorsAllowed(origin);
    Request request;
    request.method = method;
    request.path = url;
    if (pending.too_large) {
      reply = ErrorReply(absl::InvalidArgumentError(
          absl::StrCat("body: larger than the limit of ", options.max_body_bytes,
                       " bytes (assayd --http-max-body-bytes)")));
      reply.status = 413;
    } else if (request.method == "OPTIONS") {  // a CORS preflight
      reply.status = 204;
      if (cors) {
        reply.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST");
        reply.headers.emplace_back("Access-Control-Allow-Headers",
                                   "Authorization, Content-Type, Last-Event-ID");
        reply.headers.emplace_back("Access-Control-Max-Age", "600");
      }
    } else if (request.path == "/healthz") {
      reply.body = R"({"status":"ok"})";
    } else if (request.path == "/metrics" && deps.metrics != nullptr) {
      // Unauthenticated, as Prometheus scrapes: bind --http to an address only your monitoring
      // reaches (it names teams).
      reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
      reply.body = deps.metrics->Render();
    } else if (request.path == "/openapi.json" && request.method == "GET") {
      reply.body = openapi;
    } else if (const WebAsset* asset = FindWebAsset(request.path);
               asset != nullptr && (request.method == "GET" || request.method == "HEAD")) {
      reply = WebReply(*asset, Header(connection, "If-None-Match"));
    } else if (request.path == "/readyz") {
      if (ready.load()) {
        reply.body = R"({"status":"ready"})";
      } else {
        reply.status = 503;
        reply.body = R"({"status":"shutting down"})";
      }
    } else {
      MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &CollectQuery, &request.query);
      request.body = pending.body;
      request.authorization = Header(connection, "Authorization");
      request.last_event_id = Header(connection, "Last-Event-ID");
      reply = router.Handle(request);
    }

    return Send(connection, reply, origin);
  }

  // Queues `reply` on `connection`; `origin` the request's Origin header ("" for none).
  // Whether a page from `origin` (the request's Origin header) may read the reply.
  bool CorsAllowed(const std::string& origin) const {
    return !options.cors_origin.empty() && origin == options.cors_origin;
  }

  MHD_Result Send(MHD_Connection* connection, Reply& reply, const std::string& origin) {
    const bool cors = CorsAllowed(origin);
    MHD_Response* response;
    if (reply.stream != nullptr) {
      response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 << 10, &ReadStream,
                                                   new std::shared_ptr<EventStream>(reply.stream),
                                                   &FreeStream);
      reply.content_type = "text/event-stream";
    } else {
      response = MHD_create_response_from_buffer(reply.body.size(), reply.body.data(),
                                                 MHD_RESPMEM_MUST_COPY);
    }
    if (response == nullptr) return MHD_NO;
    if (!reply.body.empty() || reply.stream != nullptr) {
      MHD_add_response_header(response, "Content-Type", reply.content_type.c_str());
    }
    for (const auto& [name, value] : reply.headers) {
      MHD_add_response_header(response, name.c_str(), value.c_str());
    }
    if (cors) {
      MHD_add_response_header(response, "Access-Control-Allow-Origin", origin.c_str());
      MHD_add_response_header(response, "Vary", "Origin");
    }
    const MHD_Result queued =
        MHD_queue_response(connection, static_cast<unsigned>(reply.status), response);
    MHD_destroy_response(response);
    return queued;
  }

  const HttpOptions options;
  const ServerDeps deps;
  Router router;
  const std::string openapi;
  std::atomic<bool> ready{true};
  std::atomic<int> open_connections{0};
  MHD_Daemon* daemon = nullptr;
  int port = 0;
  bool stopped = false;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

int HttpServer::port() const { return impl_->port; }

void HttpServer::SetNotReady() { impl_->ready = false; }

void HttpServer::Shutdown() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->ready = false;
  impl_->router.EndStreams("the server is shutting down", absl::Seconds(2));
  MHD_stop_daemon(impl_->daemon);  // joins every connection thread
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpOptions& options,
                                                              const ServerDeps& deps) {
  const size_t colon = options.address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(options.address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("http: '", options.address, "' is not HOST:PORT"));
  }
  std::string host = options.address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (host.empty() ? AI_PASSIVE : 0);
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("http: cannot resolve the host of '", options.address, "'"));
  }
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  const bool ipv6 = found->ai_family == AF_INET6;
  freeaddrinfo(found);

  const bool tls = !options.tls_cert_pem.empty();
  if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    return absl::FailedPreconditionError("http: this libmicrohttpd was built without TLS");
  }
  auto impl = std::make_unique<Impl>(options, deps);
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                   MHD_USE_ERROR_LOG | MHD_USE_ITC;
  if (ipv6) flags |= MHD_USE_IPv6;
  if (tls) flags |= MHD_USE_TLS;
  const unsigned idle_seconds =
      static_cast<unsigned>(std::max<int64_t>(1, absl::ToInt64Seconds(options.idle_timeout)));
  MHD_OptionItem tls_options[] = {{tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0,
                                   const_cast<char*>(options.tls_cert_pem.c_str())},
                                  {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0,
                                   const_cast<char*>(options.tls_key_pem.c_str())},
                                  {MHD_OPTION_END, 0, nullptr}};
  impl->daemon = MHD_start_daemon(flags, static_cast<uint16_t>(port), nullptr, nullptr,
                                  &Impl::Access, impl.get(), MHD_OPTION_EXTERNAL_LOGGER,
                                  &Impl::LogMhd, nullptr,  // first: it applies to what follows
                                  MHD_OPTION_NOTIFY_COMPLETED, &Impl::Completed, impl.get(),     //
                                  MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address),   //
                                  MHD_OPTION_NOTIFY_CONNECTION, &Impl::Connections, impl.get(),  //
                                  MHD_OPTION_CONNECTION_LIMIT, options.max_connections + 16,     //
                                  MHD_OPTION_CONNECTION_TIMEOUT, idle_seconds,                   //
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, options.max_header_bytes,  //
                                  MHD_OPTION_ARRAY, tls_options, MHD_OPTION_END);
  if (impl->daemon == nullptr) {
    return absl::UnavailableError(absl::StrCat("http: cannot listen on ", options.address));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(impl->daemon, MHD_DAEMON_INFO_BIND_PORT);
  impl->port = info == nullptr ? port : info->port;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

}  // namespace assay::server::http
