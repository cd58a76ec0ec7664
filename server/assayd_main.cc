// assayd: the assay server. See README.md for usage.
//
// Without a subcommand it serves; the subcommands administer the database (server/admin.h).
// Exit codes: 0 after a clean shutdown on SIGTERM/SIGINT (or a successful admin command), 1 if the
// server could not start (or the admin command failed), 2 for bad command-line arguments.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/base/version.h"
#include "server/admin.h"
#include "server/http/openapi.h"
#include "server/runtime/log.h"
#include "server/runtime/quotas.h"
#include "server/runtime/scheduling.h"
#include "server/server.h"
#include "server/storage/team_transfer.h"

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

std::string LimitNames() {
  std::string out;
  for (const assay::server::LimitInfo& info : assay::server::AllLimits())
    absl::StrAppend(&out, out.empty() ? "" : ", ", info.name);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex::Lock (ours and gRPC's) ran the
  // debug lock-order checker, which records each lock in one global graph under a spin lock: 2%
  // of the server's samples under label ingest. The tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  assay::server::ServerOptions options;
  double grace_seconds = 10;
  CLI::App app{"assayd: the assay evaluation server (IRT calibration, adaptive testing, audits)"};
  app.add_option("--listen", options.listen_address,
                 "host:port to listen on; port 0 picks a free one")
      ->capture_default_str();
  app.add_option("--db", options.db_path, "SQLite database file (created if missing)")
      ->capture_default_str();
  double max_db_mb = 0;
  app.add_option("--max-db-mb", max_db_mb,
                 "cap the database at this many MB so it cannot fill its disk (0: none); beyond, "
                 "writes fail with RESOURCE_EXHAUSTED and reads go on")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--workers", options.worker_threads, "threads for storage and estimator work")
      ->capture_default_str();
  app.add_option("--queue", options.queue_capacity,
                 "calls that may wait for a worker before RESOURCE_EXHAUSTED")
      ->capture_default_str();
  app.add_option("--max-live-sessions", options.max_live_sessions,
                 "adaptive-testing sessions kept in memory (idle ones beyond are reloaded on use)")
      ->capture_default_str();
  app.add_option("--max-live-audits", options.max_live_audits,
                 "audits kept in memory (idle ones beyond are reloaded on use)")
      ->capture_default_str();
  app.add_option("--max-live-monitors", options.max_live_monitors,
                 "monitors kept in memory (idle ones beyond are replayed on use)")
      ->capture_default_str();
  app.add_option("--fit-threads", options.fit_threads,
                 "threads of each calibration job (0 = one per core)")
      ->capture_default_str();
  int request_slice_us = static_cast<int>(absl::ToInt64Microseconds(assay::server::kRequestSlice));
  app.add_option("--request-slice-us", request_slice_us,
                 "scheduling slice of the request threads in microseconds, so that a request "
                 "takes a core from a running fit at once (Linux 6.12+; 0 = the kernel's default)")
      ->check(CLI::Validator(
          [](const std::string& value) -> std::string {
            int us = 0;
            if (!absl::SimpleAtoi(value, &us) || !(us == 0 || (us >= 100 && us <= 100000)))
              return "must be 0 (the kernel's default) or in [100, 100000] (the kernel's range)";
            return "";
          },
          "0 or [100, 100000]"))
      ->capture_default_str();
  app.add_option("--fit-slots", options.fit_slots,
                 "fits running at once, server-wide (each team's up to its concurrent_fits, "
                 "taken round-robin across teams)")
      ->capture_default_str();
  std::vector<std::string> team_limits;
  app.add_option("--team-limit", team_limits,
                 "a default limit of every team, NAME=VALUE (repeat; 0 = unlimited): " +
                     LimitNames() + "; `team limits` sets one team's own");
  double limits_refresh_seconds = 2;
  app.add_option("--limits-refresh", limits_refresh_seconds,
                 "seconds within which a change made with `team limits` takes effect")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  int64_t write_hold_ms = absl::ToInt64Milliseconds(options.write_hold);
  app.add_option("--write-hold-ms", write_hold_ms,
                 "a write (or write-stream message) over its team's write_rate whose token is due "
                 "within this many milliseconds waits for it instead of being refused (0: refuse "
                 "at once)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{10000}));
  app.add_option("--grace", grace_seconds, "seconds in-flight calls get on shutdown")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--tls-cert", options.tls_cert_path, "PEM certificate chain (enables TLS)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tls_key_path, "PEM private key (with --tls-cert)")
      ->check(CLI::ExistingFile);
  double http_idle_seconds = 60;
  app.add_option("--http", options.http_address,
                 "host:port of the HTTP/JSON API, events and metrics (off unless given; port 0 "
                 "picks a free one; TLS with --tls-cert/--tls-key)");
  app.add_option("--http-cors-origin", options.http_cors_origin,
                 "an origin (https://dash.example.com) allowed to call the HTTP API from a page "
                 "served elsewhere");
  app.add_option("--http-max-body-bytes", options.http_max_body_bytes,
                 "largest HTTP request body accepted (413 beyond)")
      ->capture_default_str();
  app.add_option("--http-max-connections", options.http_max_connections,
                 "HTTP connections open at once (each has a thread; beyond, requests get 503)")
      ->capture_default_str();
  app.add_option("--http-idle-timeout", http_idle_seconds,
                 "seconds an HTTP connection may sit without progress (slow or idle clients)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.require_subcommand(0, 1);

  std::string team_name, role = "write", description, backup_dest;
  CLI::App* team = app.add_subcommand("team", "manage teams")->require_subcommand(1);
  CLI::App* team_create =
      team->add_subcommand("create", "create a team and print its first admin key (shown once)");
  team_create->add_option("name", team_name, "team name")->required();
  std::string transfer_file;
  CLI::App* team_export = team->add_subcommand(
      "export", "write one team's data (a consistent snapshot) to a new database file");
  team_export->add_option("name", team_name, "team name")->required();
  team_export->add_option("dest", transfer_file, "new file")->required();
  CLI::App* team_import = team->add_subcommand(
      "import", "add a team exported from another database (same keys and ids)");
  team_import->add_option("src", transfer_file, "the exported file")->required()->check(
      CLI::ExistingFile);
  std::vector<std::string> limit_assignments;
  CLI::App* team_limits_cmd = team->add_subcommand(
      "limits", "set a team's own limits (NAME=VALUE; VALUE 'default' for the server's) and print "
                "them all");
  team_limits_cmd->add_option("name", team_name, "team name")->required();
  team_limits_cmd->add_option("assignments", limit_assignments, "NAME=VALUE ...");
  CLI::App* key = app.add_subcommand("key", "manage API keys")->require_subcommand(1);
  CLI::App* key_create = key->add_subcommand("create", "print a new API key (shown once)");
  key_create->add_option("team", team_name, "team name")->required();
  key_create->add_option("--role", role, "read, write or admin")->capture_default_str();
  key_create->add_option("--description", description, "who or what uses the key");
  CLI::App* backup = app.add_subcommand("backup", "online backup of the database to a new file");
  backup->add_option("dest", backup_dest, "destination file (must not exist)")->required();
  CLI::App* openapi = app.add_subcommand(
      "openapi", "print the OpenAPI 3 document of the HTTP/JSON API (as GET /openapi.json serves)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // CLI11 reports by exception; --help is a "success" one
    return app.exit(e) == 0 ? 0 : 2;
  }
  options.shutdown_grace = absl::Seconds(grace_seconds);
  options.limits_refresh = absl::Seconds(limits_refresh_seconds);
  options.write_hold = absl::Milliseconds(write_hold_ms);
  options.max_db_bytes = static_cast<int64_t>(max_db_mb * 1024 * 1024);
  for (const std::string& assignment : team_limits) {
    auto parsed = assay::server::ParseLimitAssignment(assignment);
    if (!parsed.ok() || !parsed->second.has_value()) {
      std::fprintf(stderr, "assayd: --team-limit: %s\n",
                   parsed.ok() ? "a server default needs a number"
                               : std::string(parsed.status().message()).c_str());
      return 2;
    }
    options.team_limits.Set(parsed->first, *parsed->second);
  }
  if (team_export->parsed() || team_import->parsed()) {
    auto counts = team_export->parsed()
                      ? assay::storage::ExportTeam(options.db_path, team_name, transfer_file)
                      : assay::storage::ImportTeam(options.db_path, transfer_file);
    if (!counts.ok()) {
      std::fprintf(stderr, "assayd: %s\n", std::string(counts.status().message()).c_str());
      return 1;
    }
    for (const auto& [table, rows] : *counts)
      std::printf("%-18s %lld rows\n", table.c_str(), static_cast<long long>(rows));
    return 0;
  }
  if (team_limits_cmd->parsed()) {
    auto rows = assay::server::SetTeamLimits(options.db_path, team_name, limit_assignments);
    if (!rows.ok()) {
      std::fprintf(stderr, "assayd: %s\n", std::string(rows.status().message()).c_str());
      return 1;
    }
    std::printf("team %s\n", team_name.c_str());
    for (const assay::server::TeamLimitRow& row : *rows) {
      std::printf("  %-17s %-14s %s\n", row.name.c_str(),
                  row.value.has_value() ? absl::StrCat(*row.value).c_str() : "server default",
                  row.help.c_str());
    }
    return 0;
  }
  options.http_idle_timeout = absl::Seconds(http_idle_seconds);

  if (team_create->parsed() || key_create->parsed()) {
    auto created = team_create->parsed()
                       ? assay::server::CreateTeam(options.db_path, team_name)
                       : assay::server::CreateKey(options.db_path, team_name, role, description);
    if (!created.ok()) {
      std::fprintf(stderr, "assayd: %s\n", std::string(created.status().message()).c_str());
      return 1;
    }
    std::fprintf(stderr, "team %s: new %s key %s (store it now; it is not shown again)\n",
                 created->team.c_str(), created->role.c_str(), created->prefix.c_str());
    std::printf("%s\n", created->key.c_str());
    return 0;
  }
  if (openapi->parsed()) {
    const assay::server::http::Router router(assay::server::ServerDeps{}, absl::Seconds(1));
    std::cout << assay::server::http::OpenApiJson(router.Describe(), assay::Version()) << "\n";
    return 0;
  }
  if (backup->parsed()) {
    const absl::Status done = assay::server::BackupDatabase(options.db_path, backup_dest);
    if (!done.ok()) {
      std::fprintf(stderr, "assayd: backup failed: %s\n", std::string(done.message()).c_str());
      return 1;
    }
    std::fprintf(stderr, "backed up %s to %s\n", options.db_path.c_str(), backup_dest.c_str());
    return 0;
  }

  const sigset_t signals = BlockShutdownSignals();
  // Before any server thread starts, so that every one of them inherits it; the fit runners set
  // their own (runtime/scheduling.h).
  if (request_slice_us > 0 &&
      !assay::server::RequestShortSlice(absl::Microseconds(request_slice_us))) {
    Log(LogLevel::kInfo, "this kernel keeps its default scheduling slice for request threads");
  }
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
