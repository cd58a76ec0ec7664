// `assay compare simulate`: runs a comparison offline, answering from two rows of known
// responses (the whole benchmark's outcomes of A and B), as the service would run it.
#ifndef ASSAY_CLIENT_CLI_COMPARE_COMMAND_H_
#define ASSAY_CLIENT_CLI_COMPARE_COMMAND_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace assay::client {

struct CompareSimulateArgs {
  std::string items, responses, a, b;
  bool baseline_known = false;
  double delta = 1;  // points
  double alpha = 0.05;
  int max_items = 0;  // 0: every item
  std::string design = "uniform";
  std::string predictor = "model";
  uint64_t seed = 1;
};

// Adds `simulate` to the `compare` command group.
CLI::App* AddCompareSimulate(CLI::App& compare, CompareSimulateArgs& args);

// Prints `step,item,y_a,y_b,estimate,lower,upper` per step (fractions in [-1, 1]), then
// `items,estimate,lower,upper,true_difference,decision`. InvalidArgument if a row lacks an outcome
// on an item of the bank (naming the row and the item).
absl::Status RunCompareSimulate(const CompareSimulateArgs& args);

}  // namespace assay::client

#endif  // ASSAY_CLIENT_CLI_COMPARE_COMMAND_H_
