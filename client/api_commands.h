// The CLI's commands over the service API (every call through call.h: deadline, token,
// idempotency key, safe retries):
//   benchmarks create|list|get|items      upload BENCHMARK PATH      import PATH --summary
//   fits start|list|get|watch|cancel|set-current       abilities BENCHMARK      items BENCHMARK
//   score BENCHMARK PATH                  sessions start|next|submit|get|list
//   compare create|next|submit|status|list|watch  (compare simulate: client/compare_command.h)
//   audits create|list|status|case|label|void|watch    monitors create|list|status|scores|watch
//   keys create|list|revoke               whoami
// Tables print aligned for people, `--csv` / `--json` for scripts (JSON = the API's messages,
// as grpcurl prints them). Errors come back as a Status whose message names the call and carries
// the server's message (e.g. "GetBenchmark: benchmark_id: no benchmark 'bm_x'").
#ifndef ASSAY_CLIENT_API_COMMANDS_H_
#define ASSAY_CLIENT_API_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "client/client.h"

namespace assay::client {

class ApiCommands {
 public:
  // Registers the commands on `app`. `options` is read when the command runs (after parsing).
  ApiCommands(CLI::App& app, const ClientOptions& options);

  // Whether the parsed command line chose one of these commands.
  bool chosen() const { return static_cast<bool>(action_); }
  // Runs it (connecting to the server) and prints its output on stdout.
  absl::Status Run();

  struct Args;  // every command's flags (only one command runs, so they share fields)
  using Action = std::function<absl::Status(const AssayClient&, const Args&)>;

 private:
  // Adds subcommand `name` of `parent` that runs `action` when chosen.
  CLI::App* Add(CLI::App& parent, const std::string& name, const std::string& help, Action action);
  void AddBenchmarkCommands(CLI::App& app);
  void AddFitCommands(CLI::App& app);
  void AddSessionCommands(CLI::App& app);
  void AddCompareCommands(CLI::App& app);
  void AddAuditCommands(CLI::App& app);
  void AddMonitorCommands(CLI::App& app);
  void AddKeyCommands(CLI::App& app);

  const ClientOptions& options_;
  std::shared_ptr<Args> args_;
  Action action_;
};

}  // namespace assay::client

#endif  // ASSAY_CLIENT_API_COMMANDS_H_
