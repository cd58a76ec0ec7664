#include "client/cli/api_commands.h"

namespace assay::client {

ApiCommands::ApiCommands(CLI::App& app, const ClientOptions& options)
    : options_(options), args_(std::make_shared<Args>()) {
  AddBenchmarkCommands(app);
  AddFitCommands(app);
  AddSessionCommands(app);
  AddCompareCommands(app);
  AddAuditCommands(app);
  AddMonitorCommands(app);
  AddKeyCommands(app);
}

CLI::App* ApiCommands::Add(CLI::App& parent, const std::string& name, const std::string& help,
                           Action action) {
  CLI::App* sub = parent.add_subcommand(name, help);
  sub->callback([this, action = std::move(action)] { action_ = action; });
  return sub;
}

absl::Status ApiCommands::Run() {
  AssayClient client(options_);
  return action_(client, *args_);
}

}  // namespace assay::client
