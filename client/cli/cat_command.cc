#include "client/cli/cat_command.h"

#include <cmath>
#include <cstdio>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/import/csv.h"
#include "core/base/status_macros.h"

namespace assay::client {

absl::StatusOr<NamedBank> ReadItemBank(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, import::ReadFile(path));
  ASSIGN_OR_RETURN(std::vector<import::CsvRow> rows, import::ParseCsv(text, path));
  if (rows.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ":1:1: file is empty"));
  int c_item = -1, c_a = -1, c_b = -1, c_se_a = -1, c_se_b = -1, c_cov = -1;
  for (size_t c = 0; c < rows[0].fields.size(); ++c) {
    const std::string& h = rows[0].fields[c];
    if (h == "item") c_item = static_cast<int>(c);
    if (h == "a") c_a = static_cast<int>(c);
    if (h == "b") c_b = static_cast<int>(c);
    if (h == "se_a") c_se_a = static_cast<int>(c);
    if (h == "se_b") c_se_b = static_cast<int>(c);
    if (h == "cov_ab") c_cov = static_cast<int>(c);
  }
  if (c_item < 0 || c_a < 0 || c_b < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ":1:1: needs columns item, a, b (a unidimensional `assay fit` items.csv)"));
  }
  NamedBank out;
  const Eigen::Index n = static_cast<Eigen::Index>(rows.size()) - 1;
  out.bank.items.a.resize(n);
  out.bank.items.b.resize(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    const import::CsvRow& row = rows[static_cast<size_t>(j) + 1];
    if (static_cast<int>(row.fields.size()) <= std::max({c_item, c_a, c_b})) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", row.line, ":1: too few fields"));
    }
    double a, b;
    if (!absl::SimpleAtod(row.fields[c_a], &a) || !std::isfinite(a) || a < 0) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", row.line, ":", c_a + 1, ": a '",
                                                     row.fields[c_a], "' is not a number >= 0"));
    }
    if (!absl::SimpleAtod(row.fields[c_b], &b) || !std::isfinite(b)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", row.line, ":", c_b + 1, ": b '",
                                                     row.fields[c_b], "' is not a number"));
    }
    out.ids.push_back(row.fields[c_item]);
    out.bank.items.a[j] = a;
    out.bank.items.b[j] = b;
    // A marginal-items items.csv (cov_ab filled in): a and b are posterior means; predictions
    // average over each item's posterior (irt::ItemBank).
    if (j == 0 && c_cov >= 0 && c_se_a >= 0 && c_se_b >= 0 &&
        static_cast<int>(row.fields.size()) > c_cov && !row.fields[c_cov].empty()) {
      out.bank.items.a_sd.resize(n);
      out.bank.items.b_sd.resize(n);
      out.bank.items.ab_cov.resize(n);
    }
    if (out.bank.items.has_posteriors()) {
      const std::pair<int, double*> cols[] = {{c_se_a, &out.bank.items.a_sd[j]},
                                              {c_se_b, &out.bank.items.b_sd[j]},
                                              {c_cov, &out.bank.items.ab_cov[j]}};
      for (const auto& [c, dest] : cols) {
        if (static_cast<int>(row.fields.size()) <= c || !absl::SimpleAtod(row.fields[c], dest) ||
            !std::isfinite(*dest)) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, ":", row.line, ":", c + 1, ": '",
                           static_cast<int>(row.fields.size()) > c ? row.fields[c] : "",
                           "' is not a number (a marginal-items table has se_a, se_b, cov_ab)"));
        }
      }
    }
  }
  RETURN_IF_ERROR(out.bank.Validate());
  return out;
}

CLI::App* AddCatCommand(CLI::App& app, CatSimulateArgs& args) {
  CLI::App* cat = app.add_subcommand("cat", "Adaptive testing");
  cat->require_subcommand(1);
  CLI::App* sim = cat->add_subcommand(
      "simulate", "Run an adaptive test offline, answering from a row of known responses");
  sim->add_option("--items", args.items, "items.csv written by `assay fit`")->required();
  sim->add_option("--responses", args.responses, "wide response CSV holding the row")->required();
  sim->add_option("--row", args.row, "the row (model name) to answer from")->required();
  sim->add_option("--max-items", args.max_items, "items to administer at most")
      ->capture_default_str();
  sim->add_option("--se-target", args.se_target,
                  "stop once the SE of theta is at most this (0 = off)")
      ->capture_default_str();
  sim->add_option("--method", args.method, "ability estimator")
      ->check(CLI::IsMember({"map", "eap"}))
      ->capture_default_str();
  sim->add_option("--goal", args.goal,
                  "what the test is for: accuracy (full-benchmark accuracy; model-assisted "
                  "design) or ability (theta and its SE; maximum information)")
      ->check(CLI::IsMember({"accuracy", "ability"}))
      ->capture_default_str();
  sim->add_option(
         "--selection", args.selection,
         "item choice, overriding the goal's: fisher (maximum information), accuracy "
         "(accuracy variance), or model-assisted (locate theta, then random items; corrects "
         "the prediction where the 2PL misfits)")
      ->check(CLI::IsMember({"fisher", "accuracy", "model-assisted"}));
  sim->add_option("--locate-items", args.locate_items,
                  "model-assisted: items chosen by information before the random ones")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sim->add_option("--seed", args.seed, "seed for randomized choices")->capture_default_str();
  return sim;
}

absl::StatusOr<Eigen::VectorXd> KnownOutcomes(const NamedBank& named,
                                              const irt::ResponseMatrix& data,
                                              const std::string& row_name,
                                              const std::string& path) {
  Eigen::Index row = -1;
  for (Eigen::Index i = 0; i < data.num_models(); ++i) {
    if (data.model_ids()[i] == row_name) row = i;
  }
  if (row < 0) return absl::NotFoundError(absl::StrCat(path, ": no row named '", row_name, "'"));
  absl::flat_hash_map<std::string, Eigen::Index> column;
  for (Eigen::Index j = 0; j < data.num_items(); ++j) column[data.item_ids()[j]] = j;
  const Eigen::Index n = named.bank.items.size();
  Eigen::VectorXd known = Eigen::VectorXd::Constant(n, std::nan(""));
  for (Eigen::Index j = 0; j < n; ++j) {
    auto it = column.find(named.ids[j]);
    if (it == column.end()) continue;
    const irt::ResponseMatrix::Column col = data.column(it->second);
    for (Eigen::Index c = 0; c < col.size; ++c) {
      if ((col.rows ? col.rows[c] : c) == row) known[j] = col.y[c];
    }
  }
  return known;
}

absl::Status RunCatSimulate(const CatSimulateArgs& args) {
  ASSIGN_OR_RETURN(NamedBank named, ReadItemBank(args.items));
  ASSIGN_OR_RETURN(irt::ResponseMatrix data, import::ReadResponsesCsv(args.responses));
  // The row's known outcome per bank item (NaN where the row has none: such items are excluded).
  ASSIGN_OR_RETURN(const Eigen::VectorXd known,
                   KnownOutcomes(named, data, args.row, args.responses));
  const Eigen::Index n = named.bank.items.size();
  cat::CatOptions o;
  o.max_items = args.max_items;
  o.se_target = args.se_target;
  o.estimator = args.method == "eap" ? cat::Estimator::kEap : cat::Estimator::kMap;
  o.selection = args.selection == "model-assisted" ? cat::Selection::kModelAssisted
                : args.selection == "accuracy"     ? cat::Selection::kAccuracy
                : args.selection == "fisher"       ? cat::Selection::kFisher
                                                   : cat::DefaultSelection(args.goal == "ability"
                                                                              ? cat::Goal::kAbility
                                                                              : cat::Goal::kAccuracy);
  o.locate_items = args.locate_items;
  o.seed = args.seed;
  double truth = 0;
  int observed = 0;
  for (Eigen::Index j = 0; j < n; ++j) {
    if (std::isnan(known[j])) {
      o.excluded.push_back(static_cast<int32_t>(j));
    } else {
      truth += known[j];
      ++observed;
    }
  }
  if (observed == 0)
    return absl::InvalidArgumentError(
        absl::StrCat("row '", args.row, "' has no response to any bank item"));
  ASSIGN_OR_RETURN(cat::CatSession session, cat::CatSession::Start(&named.bank, o));
  std::string out = "step,item,y,theta,se,predicted_accuracy\n";
  int step = 0;
  while (!session.Estimate().finished) {
    auto next = session.Next(1);
    if (!next.ok()) break;
    const Eigen::Index j = next->front();
    RETURN_IF_ERROR(session.Submit(j, known[j]));
    const cat::CatEstimate e = session.Estimate();
    absl::StrAppendFormat(&out, "%d,%s,%g,%.6f,%.6f,%.6f\n", ++step, named.ids[j], known[j],
                          e.theta, e.se, e.predicted_accuracy);
  }
  const cat::CatEstimate e = session.Estimate();
  // What [lower, upper] is: the model-assisted design's interval holds on real benchmarks; any
  // other design's rests on the 2PL being right (it under-covers real models).
  const char* interval =
      o.selection == cat::Selection::kModelAssisted ? "model_assisted" : "assumes_2pl";
  absl::StrAppendFormat(&out,
                        "items,theta,se,predicted_accuracy,lower,upper,true_accuracy,interval\n"
                        "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%s\n",
                        e.answered, e.theta, e.se, e.predicted_accuracy, e.lower, e.upper,
                        truth / observed, interval);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return absl::OkStatus();
}

}  // namespace assay::client
