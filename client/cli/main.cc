// assay: the command-line client. `assay --help` lists the commands.
//
// Exit codes: 0 success; 1 the operation failed (one line "assay: error: ..." on stderr);
// 2 bad command-line arguments.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "client/cli/api_commands.h"
#include "client/cli/audit_command.h"
#include "client/cli/cat_command.h"
#include "client/lib/client.h"
#include "client/cli/compare_command.h"
#include "client/cli/demo_command.h"
#include "client/cli/fit_command.h"

namespace {

int Fail(const absl::Status& status) {
  absl::FPrintF(stderr, "assay: error: %s\n", status.message());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"assay: client for the assay evaluation service"};
  app.require_subcommand(1);
  assay::client::ClientOptions options;
  double timeout_seconds = 10;
  app.add_option("--server", options.server, "assayd address host:port")->capture_default_str();
  app.add_option("--token", options.token, "API key (default: the ASSAY_TOKEN environment variable)");
  app.add_option("--team", options.team,
                 "the key's team, sent for routing when assayd is sharded behind a proxy "
                 "(default: the ASSAY_TEAM environment variable)");
  app.add_option("--timeout", timeout_seconds, "deadline of each call, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  CLI::App* health =
      app.add_subcommand("health", "Check that the server answers (exit 0 if SERVING)");
  std::string service;
  health->add_option("--service", service, "a single service's status instead of the server's");
  CLI::App* info = app.add_subcommand("info", "Print the server's version and schema");
  assay::client::FitArgs fit_args;
  CLI::App* fit = assay::client::AddFitCommand(app, fit_args);
  assay::client::AuditReplayArgs audit_args;
  CLI::App* audit_replay = assay::client::AddAuditCommand(app, audit_args);
  assay::client::CatSimulateArgs cat_args;
  CLI::App* cat_simulate = assay::client::AddCatCommand(app, cat_args);
  assay::client::DemoArgs demo_args;
  CLI::App* demo = assay::client::AddDemoCommand(app, demo_args);
  assay::client::ApiCommands api(app, options);
  assay::client::CompareSimulateArgs compare_args;
  CLI::App* compare_simulate =
      assay::client::AddCompareSimulate(*app.get_subcommand("compare"), compare_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // CLI11 reports by exception; --help is a "success" one
    return app.exit(e) == 0 ? 0 : 2;
  }
  options.timeout = absl::Seconds(timeout_seconds);
  if (options.token.empty()) {
    if (const char* token = std::getenv("ASSAY_TOKEN"); token != nullptr) options.token = token;
  }
  if (options.team.empty()) {
    if (const char* team = std::getenv("ASSAY_TEAM"); team != nullptr) options.team = team;
  }
  if (*fit) {
    absl::Status status = assay::client::RunFit(fit_args);
    return status.ok() ? 0 : Fail(status);
  }
  if (*cat_simulate) {
    absl::Status status = assay::client::RunCatSimulate(cat_args);
    return status.ok() ? 0 : Fail(status);
  }
  if (*compare_simulate) {
    absl::Status status = assay::client::RunCompareSimulate(compare_args);
    return status.ok() ? 0 : Fail(status);
  }
  if (*audit_replay) {
    absl::Status status = assay::client::RunAuditReplay(audit_args);
    return status.ok() ? 0 : Fail(status);
  }
  if (api.chosen()) {
    absl::Status status = api.Run();
    return status.ok() ? 0 : Fail(status);
  }
  assay::client::AssayClient client(options);

  if (*health) {
    auto status = client.Health(service);
    if (!status.ok()) return Fail(status.status());
    absl::PrintF("%s\n", *status);
    return *status == "SERVING" ? 0 : 1;
  }
  if (*demo) {
    absl::Status status = assay::client::RunDemo(demo_args, client);
    return status.ok() ? 0 : Fail(status);
  }
  if (*info) {
    auto response = client.ServerInfo();
    if (!response.ok()) return Fail(response.status());
    absl::PrintF("version %s\nschema %d\nuptime %ds\n", response->version(),
                 response->schema_version(), response->uptime_seconds());
    return 0;
  }
  return 2;
}
