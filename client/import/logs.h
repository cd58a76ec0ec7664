// Importers for evaluation-harness logs: every format's per-sample correctness (or score) becomes
// a response cell (model, item, successes of trials). Used by `assay import`, `assay fit` and
// `assay upload`. No network.
//
// Formats, detected from the path and the content:
//  - wide / long CSV (a .csv file given directly): see csv.h;
//  - lm-evaluation-harness `--log_samples` output: samples_TASK[_TIMESTAMP].jsonl, one JSON object
//    per line; the metric is the first name in the sample's "metrics" list (or --metric), one
//    filter (the first seen) is used; a results*.json beside it names the model and reports the
//    run's sample count and score for the comparison in the summary;
//  - HELM run directories: per_instance_stats.json with run_spec.json beside it; the metric is
//    the run spec's first metric name (exact_match for HELM's basic metrics, or --metric);
//    perturbed instances are skipped; several train trials of one instance pool as k of n; a
//    stats.json beside it reports the run's num_instances and metric mean per split (the reported
//    accuracy is their instance-weighted mean, as the per-instance file mixes the splits);
//  - Inspect AI eval logs in JSON (`inspect log convert --to json` for .eval files); the scorer is
//    the first in the log's results (or --metric); C = 1, P = 0.5, I and N = 0, numbers in [0,1],
//    true/false; several epochs of one sample pool as k of n; samples with an error are skipped;
//  - Every Eval Ever instance-level JSONL (instance_level_eval schema): evaluation.is_correct
//    (or --metric score: evaluation.score when in [0,1]).
// A directory is searched recursively; each file that is one of these logs contributes.
//
// Items are named TASK/SAMPLE_ID, so logs of several tasks share one matrix without collisions;
// models by the name the log gives. A record that cannot become a cell (no value for the metric,
// a value outside [0,1], another filter, an error, a perturbation) is skipped and counted by
// reason. Malformed content (invalid JSON, a required field of the wrong type) fails the whole
// import with InvalidArgument "PATH:LINE: what was wrong" and returns nothing.
#ifndef ASSAY_CLIENT_IMPORT_LOGS_H_
#define ASSAY_CLIENT_IMPORT_LOGS_H_

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/irt/responses.h"

namespace assay::import {

struct ImportOptions {
  std::string metric;  // the per-sample metric (or Inspect scorer) to use; "" = each log's primary
  std::string model;   // the model's name for logs that do not give one (lm-eval without results)
};

// What one log contributed, and what the log itself says about the run, for comparison.
struct SourceSummary {
  std::string path;
  std::string format;  // "csv", "lm-eval", "helm", "inspect", "every-eval-ever"
  std::string model;   // the model (or "N models")
  std::string task;
  std::string metric;
  int64_t samples = 0;                                         // records that became cells
  double accuracy = std::numeric_limits<double>::quiet_NaN();  // mean value of those records
  // The log's own report of the run (-1 / NaN when it has none) and where it was read.
  int64_t reported_samples = -1;
  double reported_accuracy = std::numeric_limits<double>::quiet_NaN();
  std::string reported_by;
  std::map<std::string, int64_t> skipped;  // reason -> records
};

struct ImportResult {
  irt::ResponseMatrix responses;
  std::vector<SourceSummary> sources;
  std::vector<std::string> ignored_files;  // "PATH: why" for files under a directory not imported
};

// Imports the file or directory at `path`. NotFound if it does not exist; InvalidArgument for
// malformed content, an unrecognized file given directly, or no log found under a directory.
absl::StatusOr<ImportResult> ImportResponses(const std::string& path,
                                             const ImportOptions& options = {});

}  // namespace assay::import

#endif  // ASSAY_CLIENT_IMPORT_LOGS_H_
