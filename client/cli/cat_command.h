// `assay cat simulate`: runs an adaptive test offline, answering from a row of known responses.
#ifndef ASSAY_CLIENT_CLI_CAT_COMMAND_H_
#define ASSAY_CLIENT_CLI_CAT_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "core/cat/session.h"
#include "core/irt/responses.h"

namespace assay::client {

// Reads a bank from an `assay fit` items.csv (columns item, a, b; K = 1). InvalidArgument
// "FILE:LINE:COL: ..." for a missing column or a bad number.
struct NamedBank {
  std::vector<std::string> ids;
  cat::Bank bank;
};
absl::StatusOr<NamedBank> ReadItemBank(const std::string& path);

// Row `row`'s outcome on each bank item of `named`, in bank order; NaN where the row has none.
// NotFound "PATH: no row named 'ROW'".
absl::StatusOr<Eigen::VectorXd> KnownOutcomes(const NamedBank& named,
                                              const irt::ResponseMatrix& data,
                                              const std::string& row, const std::string& path);

struct CatSimulateArgs {
  std::string items, responses, row;
  int max_items = 50;
  double se_target = 0;
  std::string method = "map";
  std::string goal = "accuracy";  // accuracy | ability: sets the default selection
  std::string selection;          // fisher | accuracy | model-assisted; empty: by goal
  int locate_items = cat::CatOptions().locate_items;
  uint64_t seed = 1;
};

CLI::App* AddCatCommand(CLI::App& app, CatSimulateArgs& args);

// Prints `step,item,y,theta,se,predicted_accuracy` per step, then
// `items,theta,se,predicted_accuracy,lower,upper,true_accuracy,interval` (interval: `model_assisted`,
// honest on real benchmarks, or `assumes_2pl`).
absl::Status RunCatSimulate(const CatSimulateArgs& args);

}  // namespace assay::client

#endif  // ASSAY_CLIENT_CLI_CAT_COMMAND_H_
