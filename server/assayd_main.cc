// assayd: the assay server. See README.md for usage.
//
// Exit codes: 0 after a clean shutdown on SIGTERM/SIGINT, 1 if the server could not start,
// 2 for bad command-line arguments.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <string>

#include "server/log.h"
#include "server/server.h"

namespace {

using assay::server::Log;
using assay::server::LogLevel;

// Blocks SIGTERM/SIGINT in this thread and every thread it starts later (gRPC's, the executor's),
// so that the main thread alone receives them through sigwait().
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace

int main(int argc, char** argv) {
  assay::server::ServerOptions options;
  double grace_seconds = 10;
  CLI::App app{"assayd: the assay evaluation server (IRT calibration, adaptive testing, audits)"};
  app.add_option("--listen", options.listen_address,
                 "host:port to listen on; port 0 picks a free one")
      ->capture_default_str();
  app.add_option("--db", options.db_path, "SQLite database file (created if missing)")
      ->capture_default_str();
  app.add_option("--workers", options.worker_threads, "threads for storage and estimator work")
      ->capture_default_str();
  app.add_option("--queue", options.queue_capacity,
                 "calls that may wait for a worker before RESOURCE_EXHAUSTED")
      ->capture_default_str();
  app.add_option("--grace", grace_seconds, "seconds in-flight calls get on shutdown")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // CLI11 reports by exception; --help is a "success" one
    return app.exit(e) == 0 ? 0 : 2;
  }
  options.shutdown_grace = absl::Seconds(grace_seconds);

  const sigset_t signals = BlockShutdownSignals();
  auto server = assay::server::AssayServer::Start(options);
  if (!server.ok()) {
    Log(LogLevel::kError, "cannot start: %s", server.status().ToString());
    return 1;
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Log(LogLevel::kInfo, "received %s", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Shutdown();
  return 0;
}
