// `assay demo`: the end-to-end tour the README's run command ends with, against a live server:
// create a benchmark, upload a response matrix (all models but one held out), fit it as a job with
// live progress, print the top of the ability table, score the held-out model adaptively from a
// few items, run an audit on a simulated label stream to its decision, compare two models (a
// zero-shot row against its one-shot row, the baseline known) to a decision, and say where to look
// next.
#ifndef ASSAY_CLIENT_CLI_DEMO_COMMAND_H_
#define ASSAY_CLIENT_CLI_DEMO_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "absl/status/status.h"
#include "client/lib/client.h"
#include "core/irt/responses.h"

namespace assay::client {

struct DemoArgs {
  std::string responses;  // wide or long CSV (e.g. ../shared/data/math500.csv)
  int max_items = 40;     // adaptive items for the held-out model
  uint64_t seed = 1;
};

CLI::App* AddDemoCommand(CLI::App& app, DemoArgs& args);

// Needs a key with the write role (`--token` or ASSAY_TOKEN). Prints as it goes; any failure
// stops the demo with the error.
absl::Status RunDemo(const DemoArgs& args, const AssayClient& client);

// The demo's comparison on benchmark `benchmark_id` (holding `all` but row `held_out`).
absl::Status DemoComparison(const AssayClient& client, const irt::ResponseMatrix& all,
                            Eigen::Index held_out, const std::string& benchmark_id);

}  // namespace assay::client

#endif  // ASSAY_CLIENT_CLI_DEMO_COMMAND_H_
