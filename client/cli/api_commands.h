// The CLI's commands over the service API, one file per group (api_benchmarks.cc, api_fits.cc,
// api_sessions.cc, api_compare.cc, api_audits.cc, api_monitors.cc, api_keys.cc), every call
// through the typed client library (client/lib/api.h: deadline, token, idempotency key, safe
// retries):
//   benchmarks create|list|get|items      upload BENCHMARK PATH      import PATH --summary
//   fits start|list|get|watch|cancel|set-current       abilities BENCHMARK      items BENCHMARK
//   score BENCHMARK PATH                  sessions start|next|submit|get|list
//   compare create|next|submit|status|list|watch  (compare simulate: compare_command.h)
//   audits create|list|status|case|label|void|watch    monitors create|list|status|scores|watch
//   keys create|list|revoke               whoami
// Tables print aligned for people, `--csv` / `--json` for scripts (JSON = the API's messages,
// as grpcurl prints them). Errors come back as a Status whose message names the call and carries
// the server's message (e.g. "GetBenchmark: benchmark_id: no benchmark 'bm_x'").
#ifndef ASSAY_CLIENT_CLI_API_COMMANDS_H_
#define ASSAY_CLIENT_CLI_API_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/cli/output.h"
#include "client/lib/client.h"

namespace assay::client {

class ApiCommands {
 public:
  // Registers the commands on `app`. `options` is read when the command runs (after parsing).
  ApiCommands(CLI::App& app, const ClientOptions& options);

  // Whether the parsed command line chose one of these commands.
  bool chosen() const { return static_cast<bool>(action_); }
  // Runs it (connecting to the server) and prints its output on stdout.
  absl::Status Run();

  // Every command's flags (only one command runs, so they share fields).
  struct Args {
    OutputFormat format = OutputFormat::kHuman;
    std::string id, id2, path, name, description, model, metric, fit_id, sort, role, config;
    std::vector<std::string> words;  // positional lists (case ids, scores)
    bool descending = false, summary = false, wait = false, no_current = false, paper_mode = false,
         shrink_items = false, cusum = false, next = false;
    int limit = 0, count = 1, dims = 0, max_iter = 0, max_items = 0, randomesque = 0, budget = 0,
        max_samples = 0;
    double sigma = 0, ridge = -1, tol = 0, se_tol = 0, se_target = 0, tau = 0, alpha = 0,
           trials = 1, outcome = 0, y = 0;
    int64_t first_t = 0;
    uint64_t seed = 0;
    std::string method, subgroup, selection, goal, stop;
    // comparisons
    std::string model_a, model_b, design, predictor;
    std::optional<double> delta, a_outcome;
    bool baseline_known = false;
  };
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

#endif  // ASSAY_CLIENT_CLI_API_COMMANDS_H_
