// AssayServer: the assayd process's whole lifetime in one object: opens storage, starts the
// executor and the gRPC server (assay services + grpc.health.v1 + reflection), and shuts them down
// in order: health NOT_SERVING -> gRPC shutdown with a grace period -> drain executor -> close
// storage.
#ifndef ASSAY_SERVER_SERVER_H_
#define ASSAY_SERVER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/runtime/quotas.h"

namespace assay::server {

struct ServerOptions {
  // host:port to listen on; port 0 picks a free port (see AssayServer::port()).
  std::string listen_address = "127.0.0.1:50051";
  // SQLite database file (created if missing); ":memory:" for tests.
  std::string db_path = "assay.db";
  // Caps the database file at about this many bytes (0: none), so that it cannot fill its disk:
  // beyond, writes fail with RESOURCE_EXHAUSTED "storage full" and change nothing, as they do
  // when the disk itself is full; reads go on.
  int64_t max_db_bytes = 0;
  // Executor threads for storage and estimator work, and how many calls may wait for them.
  int worker_threads = 2;
  size_t queue_capacity = 1024;
  // Sweep threads of each calibration (fits run off the request path, at a lower CPU priority);
  // 0 means one per core.
  int fit_threads = 0;
  // Fits running at once, server-wide; each team's at most its concurrent_fits limit, taken
  // round-robin across teams (server/resources/fits.h).
  int fit_slots = 2;
  // Every team's limits unless the administrator set its own (server/runtime/quotas.h), and how
  // soon a change made with `assayd team limits` takes effect.
  TeamLimits team_limits;
  absl::Duration limits_refresh = absl::Seconds(2);
  // A write (or write-stream message) over its team's write rate whose token is due within this
  // long waits for it (held, the call answered a little later) instead of being refused; zero
  // refuses every such write at once. Bounds what a team can hold at once to write_rate x
  // write_hold calls.
  absl::Duration write_hold = absl::Milliseconds(20);
  // Adaptive-testing sessions kept in memory; beyond that the least recently used idle ones are
  // dropped and replayed from the database when next used.
  size_t max_live_sessions = 1000;
  // The same for audits and monitors (each rebuilt from its latest snapshot and the log after it).
  size_t max_live_audits = 1000;
  size_t max_live_monitors = 1000;
  // How long in-flight calls may run after shutdown starts before they are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // TLS: PEM files of the server's certificate chain and private key. Both or neither; without
  // them the server speaks plaintext (keep it on loopback or behind a TLS-terminating proxy).
  std::string tls_cert_path;
  std::string tls_key_path;
  // The HTTP/JSON listener (server/http/http_server.h): HOST:PORT, empty for none. It uses the TLS
  // files above when they are given.
  std::string http_address;
  // An origin allowed to call the HTTP API from a page served elsewhere (CORS); empty: none.
  std::string http_cors_origin;
  size_t http_max_body_bytes = 16 << 20;
  unsigned http_max_connections = 256;
  absl::Duration http_idle_timeout = absl::Seconds(60);
  absl::Duration http_heartbeat = absl::Seconds(15);

  // InvalidArgument naming the field at fault.
  absl::Status Validate() const;
};

class AssayServer {
 public:
  // Opens storage and starts serving. Errors: InvalidArgument (options), storage errors from
  // Storage::Open, Unavailable if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<AssayServer>> Start(const ServerOptions& options);
  ~AssayServer();  // Shutdown() if not done yet
  AssayServer(const AssayServer&) = delete;
  AssayServer& operator=(const AssayServer&) = delete;

  // The bound port (the real one when listen_address asked for port 0).
  int port() const { return port_; }
  // The HTTP listener's bound port; 0 when there is none.
  int http_port() const;

  // Adaptive-testing sessions held in memory now (see ServerOptions::max_live_sessions).
  size_t live_sessions() const;
  // Audits and monitors held in memory now.
  size_t live_audits() const;
  size_t live_monitors() const;

  // Changes max_db_bytes while running (raising it is how space "returns" under a cap).
  absl::Status SetMaxDatabaseBytes(int64_t bytes);

  // Graceful stop; idempotent and thread safe. Returns once everything is closed.
  void Shutdown();

 // The server's parts, in server.cc (public only so that helpers there can name it).
  struct Parts;

 private:
  explicit AssayServer(std::unique_ptr<Parts> parts, int port);

  std::unique_ptr<Parts> parts_;
  int port_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_SERVER_H_
