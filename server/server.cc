#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "server/grpc/audit_service.h"
#include "server/grpc/benchmark_service.h"
#include "server/grpc/cat_service.h"
#include "server/grpc/compare_service.h"
#include "server/grpc/monitor_service.h"
#include "server/grpc/system_service.h"
#include "server/grpc/team_service.h"
#include "server/http/http_server.h"
#include "server/resources/audits.h"
#include "server/resources/benchmarks.h"
#include "server/resources/cat_sessions.h"
#include "server/resources/comparisons.h"
#include "server/resources/fits.h"
#include "server/resources/monitors.h"
#include "server/resources/request_ids.h"
#include "server/runtime/auth.h"
#include "server/runtime/commit_queue.h"
#include "server/runtime/executor.h"
#include "server/runtime/log.h"
#include "server/runtime/timers.h"
#include "server/storage/storage.h"

namespace assay::server {

absl::Status ServerOptions::Validate() const {
  if (listen_address.empty()) return absl::InvalidArgumentError("listen: address is empty");
  if (db_path.empty()) return absl::InvalidArgumentError("db: path is empty");
  if (worker_threads < 1 || worker_threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("workers: must be in [1, 256], got ", worker_threads));
  }
  if (fit_threads < 0 || fit_threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("fit threads: must be in [0, 256], got ", fit_threads));
  }
  if (fit_slots < 1 || fit_slots > 64) {
    return absl::InvalidArgumentError(absl::StrCat("fit slots: must be in [1, 64], got ", fit_slots));
  }
  for (const LimitInfo& info : AllLimits()) {
    RETURN_IF_ERROR(ValidateLimit(info.limit, team_limits.Get(info.limit)));
  }
  if (max_db_bytes < 0) return absl::InvalidArgumentError("max db bytes: must be >= 0");
  if (queue_capacity < 1) return absl::InvalidArgumentError("queue: capacity must be >= 1");
  if (max_live_sessions < 1) {
    return absl::InvalidArgumentError("max live sessions: must be >= 1");
  }
  if (max_live_audits < 1) return absl::InvalidArgumentError("max live audits: must be >= 1");
  if (max_live_monitors < 1) return absl::InvalidArgumentError("max live monitors: must be >= 1");
  if (shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("shutdown grace: must not be negative");
  }
  if (tls_cert_path.empty() != tls_key_path.empty()) {
    return absl::InvalidArgumentError("tls: give both the certificate and the key, or neither");
  }
  if (http_max_body_bytes < 1024) {
    return absl::InvalidArgumentError("http max body bytes: must be >= 1024");
  }
  if (http_max_connections < 1) {
    return absl::InvalidArgumentError("http max connections: must be >= 1");
  }
  if (http_idle_timeout < absl::Seconds(1) || http_heartbeat <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "http idle timeout: must be >= 1 s (and the heartbeat positive)");
  }
  return absl::OkStatus();
}

// Declaration order is destruction order in reverse: the gRPC server goes first, storage last.
struct AssayServer::Parts {
  ServerOptions options;
  Metrics metrics;
  std::unique_ptr<storage::Storage> storage;
  std::unique_ptr<CommitQueue> commits;
  std::unique_ptr<BoundedExecutor> executor;
  std::unique_ptr<Timers> timers;
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<Quotas> quotas;
  std::unique_ptr<AuditManager> audits;
  std::unique_ptr<BenchmarkManager> benchmarks;
  std::unique_ptr<FitJobs> fits;
  std::unique_ptr<CatManager> cat;
  std::unique_ptr<CompareManager> comparisons;
  std::unique_ptr<MonitorManager> monitors;
  std::unique_ptr<SystemServiceImpl> system_service;
  std::unique_ptr<TeamServiceImpl> team_service;
  std::unique_ptr<AuditServiceImpl> audit_service;
  std::unique_ptr<BenchmarkServiceImpl> benchmark_service;
  std::unique_ptr<CatServiceImpl> cat_service;
  std::unique_ptr<CompareServiceImpl> compare_service;
  std::unique_ptr<MonitorServiceImpl> monitor_service;
  std::unique_ptr<grpc::Server> server;
  ServerDeps deps;  // what the HTTP adapter holds on to
  std::unique_ptr<http::HttpServer> http;
};

namespace {

using Values = std::vector<std::pair<std::string, double>>;
using Parts = AssayServer::Parts;

// The TLS files, read once at startup. (core/ does no I/O and server/ does not depend on client/,
// whose importers have their own reader.)
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || in.bad()) return absl::NotFoundError(absl::StrCat("cannot read '", path, "'"));
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& o) {
  if (o.tls_cert_path.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadFile(o.tls_cert_path));
  ASSIGN_OR_RETURN(pair.private_key, ReadFile(o.tls_key_path));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(ssl);
}

// The gauges /metrics reads at scrape time.
void AddGauges(AssayServer::Parts& parts) {
  Parts* p = &parts;
  p->metrics.AddGauge("assay_executor_queue_depth",
                      "Calls waiting for an executor thread (reads, preparations).", "",
                      [p] { return Values{{"", static_cast<double>(p->executor->queued())}}; });
  p->metrics.AddGauge("assay_live_resources",
                      "Stateful resources held in memory (beyond the bound, idle ones are dropped "
                      "and replayed from the database on use), by kind.",
                      "kind", [p] {
                        return Values{{"audit", static_cast<double>(p->audits->live_count())},
                                      {"monitor", static_cast<double>(p->monitors->live_count())},
                                      {"session", static_cast<double>(p->cat->live_count())},
                                      {"comparison",
                                       static_cast<double>(p->comparisons->live_count())}};
                      });
  p->metrics.AddGauge("assay_fits", "Calibration jobs by state.", "state", [p] {
    const FitJobs::Counts c = p->fits->Count();
    return Values{{"queued", static_cast<double>(c.queued)},
                  {"running", static_cast<double>(c.running)}};
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<AssayServer>> AssayServer::Start(const ServerOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  auto parts = std::make_unique<Parts>();
  parts->options = options;
  ASSIGN_OR_RETURN(parts->storage, storage::Storage::Open(options.db_path));
  if (options.max_db_bytes > 0) RETURN_IF_ERROR(parts->storage->SetMaxBytes(options.max_db_bytes));
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, Credentials(options));
  http::HttpOptions http_options;
  http_options.address = options.http_address;
  if (!options.http_address.empty() && !options.tls_cert_path.empty()) {
    ASSIGN_OR_RETURN(http_options.tls_cert_pem, ReadFile(options.tls_cert_path));
    ASSIGN_OR_RETURN(http_options.tls_key_pem, ReadFile(options.tls_key_path));
  }
  http_options.cors_origin = options.http_cors_origin;
  http_options.max_body_bytes = options.http_max_body_bytes;
  http_options.max_connections = options.http_max_connections;
  http_options.idle_timeout = options.http_idle_timeout;
  http_options.heartbeat = options.http_heartbeat;
  ASSIGN_OR_RETURN(int64_t purged, parts->storage->PurgeReplies(absl::ToUnixSeconds(absl::Now()) -
                                                                kRequestIdRetentionSeconds));
  if (purged > 0) Log(LogLevel::kInfo, "forgot %d request ids older than 24h", purged);
  parts->commits = std::make_unique<CommitQueue>(parts->storage.get(), 65536, 1024,
                                                 &parts->metrics);
  parts->executor =
      std::make_unique<BoundedExecutor>(options.worker_threads, options.queue_capacity);
  parts->timers = std::make_unique<Timers>();
  parts->auth = std::make_unique<Authenticator>(parts->storage.get());
  parts->quotas = std::make_unique<Quotas>(parts->storage.get(), options.team_limits,
                                           options.limits_refresh, &parts->metrics);
  Quotas* quotas = parts->quotas.get();
  parts->audits = std::make_unique<AuditManager>(parts->storage.get(), options.max_live_audits,
                                                 &parts->metrics, quotas);
  parts->benchmarks = std::make_unique<BenchmarkManager>(parts->storage.get(), quotas);
  const int fit_threads = options.fit_threads > 0
                              ? options.fit_threads
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  parts->fits = std::make_unique<FitJobs>(parts->storage.get(), parts->commits.get(),
                                          parts->benchmarks.get(), fit_threads, options.fit_slots,
                                          parts->quotas.get());
  if (absl::Status started = parts->fits->Start(); !started.ok()) {
    parts->commits->Shutdown();
    return started;
  }
  parts->cat = std::make_unique<CatManager>(parts->storage.get(), parts->fits.get(),
                                            options.max_live_sessions, quotas);
  parts->comparisons =
      std::make_unique<CompareManager>(parts->storage.get(), parts->benchmarks.get(),
                                       parts->fits.get(), options.max_live_sessions, quotas);
  parts->monitors = std::make_unique<MonitorManager>(
      parts->storage.get(), options.max_live_monitors, &parts->metrics, quotas);
  ServerDeps deps;
  deps.storage = parts->storage.get();
  deps.executor = parts->executor.get();
  deps.quotas = parts->quotas.get();
  deps.commits = parts->commits.get();
  deps.timers = parts->timers.get();
  deps.write_hold = options.write_hold;
  deps.auth = parts->auth.get();
  deps.audits = parts->audits.get();
  deps.benchmarks = parts->benchmarks.get();
  deps.fits = parts->fits.get();
  deps.cat = parts->cat.get();
  deps.comparisons = parts->comparisons.get();
  deps.monitors = parts->monitors.get();
  deps.metrics = &parts->metrics;
  deps.started = absl::Now();
  AddGauges(*parts);
  parts->system_service = std::make_unique<SystemServiceImpl>(deps);
  parts->team_service = std::make_unique<TeamServiceImpl>(deps);
  parts->audit_service = std::make_unique<AuditServiceImpl>(deps);
  parts->benchmark_service = std::make_unique<BenchmarkServiceImpl>(deps);
  parts->cat_service = std::make_unique<CatServiceImpl>(deps);
  parts->compare_service = std::make_unique<CompareServiceImpl>(deps);
  parts->monitor_service = std::make_unique<MonitorServiceImpl>(deps);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second assayd on the same port would silently share
  // traffic with the first. Fail instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int port = 0;
  builder.AddListeningPort(options.listen_address, credentials, &port);
  builder.RegisterService(parts->system_service.get());
  builder.RegisterService(parts->team_service.get());
  builder.RegisterService(parts->audit_service.get());
  builder.RegisterService(parts->benchmark_service.get());
  builder.RegisterService(parts->cat_service.get());
  builder.RegisterService(parts->compare_service.get());
  builder.RegisterService(parts->monitor_service.get());
  parts->server = builder.BuildAndStart();
  if (parts->server == nullptr || port == 0) {
    parts->fits->Shutdown();
    parts->executor->Shutdown();
    parts->commits->Shutdown();
    return absl::UnavailableError(absl::StrCat("cannot listen on '", options.listen_address,
                                               "' (address in use or not local?)"));
  }
  parts->server->GetHealthCheckService()->SetServingStatus(true);
  Log(LogLevel::kInfo, "assayd listening on port %d (%s), database %s", port,
      options.listen_address, options.db_path);
  if (!options.http_address.empty()) {
    parts->deps = deps;
    absl::StatusOr<std::unique_ptr<http::HttpServer>> http =
        http::HttpServer::Start(http_options, parts->deps);
    if (!http.ok()) {
      AssayServer stopping(std::move(parts), port);  // shuts the rest down in order
      return http.status();
    }
    const std::string host = options.http_address.substr(0, options.http_address.rfind(':'));
    Log(LogLevel::kInfo, "HTTP/JSON API on %s://%s:%d/",
        options.tls_cert_path.empty() ? "http" : "https", host.empty() ? "0.0.0.0" : host,
        (*http)->port());
    parts->http = *std::move(http);
  }
  return std::unique_ptr<AssayServer>(new AssayServer(std::move(parts), port));
}

AssayServer::AssayServer(std::unique_ptr<Parts> parts, int port)
    : parts_(std::move(parts)), port_(port) {}

absl::Status AssayServer::SetMaxDatabaseBytes(int64_t bytes) {
  return parts_->storage->SetMaxBytes(bytes);
}

int AssayServer::http_port() const {
  return parts_->http == nullptr ? 0 : parts_->http->port();
}

size_t AssayServer::live_sessions() const { return parts_->cat->live_count(); }
size_t AssayServer::live_audits() const { return parts_->audits->live_count(); }
size_t AssayServer::live_monitors() const { return parts_->monitors->live_count(); }

AssayServer::~AssayServer() { Shutdown(); }

void AssayServer::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  Log(LogLevel::kInfo, "shutting down (grace %s)",
      absl::FormatDuration(parts_->options.shutdown_grace));
  parts_->server->GetHealthCheckService()->SetServingStatus(false);
  // HTTP first: its event streams end, and its calls in progress complete on the executor.
  if (parts_->http != nullptr) parts_->http->Shutdown();
  // In-flight calls may finish within the grace period; the executor keeps running meanwhile so
  // that queued work can complete its calls.
  parts_->server->Shutdown(absl::ToChronoTime(absl::Now() + parts_->options.shutdown_grace));
  parts_->server->Wait();
  parts_->fits->Shutdown();  // a running fit is abandoned and runs again on the next start
  parts_->executor->Shutdown();
  parts_->timers->Shutdown();   // writes held for their team's rate go to the commit queue now
  parts_->commits->Shutdown();  // commits every write still queued
  parts_->server.reset();
  parts_->storage.reset();
  Log(LogLevel::kInfo, "shutdown complete");
}

}  // namespace assay::server
