// `assay fit`: offline calibration of a response file into ability and item tables.
#ifndef ASSAY_CLIENT_CLI_FIT_COMMAND_H_
#define ASSAY_CLIENT_CLI_FIT_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "absl/status/status.h"
#include "core/irt/fit.h"

namespace assay::client {

struct FitArgs {
  std::string responses;
  std::string out_dir;
  irt::FitOptions options;
  bool paper_mode = false;
  std::string method = "auto";  // irt::ParseFitMethod's names
  std::string stop = "precision";  // irt::ParseStopRule's names
};

// Registers the subcommand and its flags on `app`, storing them in `args`.
CLI::App* AddFitCommand(CLI::App& app, FitArgs& args);

// Reads, fits, and writes OUT/abilities.csv, OUT/items.csv and OUT/fit.json (each written to a
// temporary file and renamed, so a failed run leaves no partial tables). Prints a summary on
// stdout. Errors: InvalidArgument "FILE:LINE:COL: ..." for malformed input (nothing written),
// NotFound for an unreadable file, FailedPrecondition if OUT cannot be created or written.
absl::Status RunFit(const FitArgs& args);

}  // namespace assay::client

#endif  // ASSAY_CLIENT_CLI_FIT_COMMAND_H_
