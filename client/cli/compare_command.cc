#include "client/cli/compare_command.h"

#include <cmath>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/cli/cat_command.h"
#include "client/import/csv.h"
#include "core/base/status_macros.h"
#include "core/compare/comparison.h"

namespace assay::client {

CLI::App* AddCompareSimulate(CLI::App& compare, CompareSimulateArgs& args) {
  CLI::App* sim = compare.add_subcommand(
      "simulate", "Run a comparison offline, answering from two rows of known responses");
  sim->add_option("--items", args.items, "items.csv written by `assay fit`")->required();
  sim->add_option("--responses", args.responses, "wide response CSV holding both rows")
      ->required();
  sim->add_option("--a", args.a, "the baseline's row (model name)")->required();
  sim->add_option("--b", args.b, "the candidate's row (model name)")->required();
  sim->add_flag("--baseline-known", args.baseline_known,
                "A's outcomes are known up front; only B is evaluated");
  sim->add_option("--delta", args.delta, "tolerance in accuracy points")->capture_default_str();
  sim->add_option("--alpha", args.alpha, "error level")->capture_default_str();
  sim->add_option("--max-items", args.max_items, "items at most (0: every item)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sim->add_option("--design", args.design, "how items are drawn")
      ->check(CLI::IsMember({"uniform", "adaptive"}))
      ->capture_default_str();
  sim->add_option("--predictor", args.predictor, "model (2PL, paired when A is known) or none")
      ->check(CLI::IsMember({"model", "none"}))
      ->capture_default_str();
  sim->add_option("--seed", args.seed, "seed of the draws")->capture_default_str();
  return sim;
}

absl::Status RunCompareSimulate(const CompareSimulateArgs& args) {
  ASSIGN_OR_RETURN(NamedBank named, ReadItemBank(args.items));
  ASSIGN_OR_RETURN(irt::ResponseMatrix data, import::ReadResponsesCsv(args.responses));
  ASSIGN_OR_RETURN(const Eigen::VectorXd a, KnownOutcomes(named, data, args.a, args.responses));
  ASSIGN_OR_RETURN(const Eigen::VectorXd b, KnownOutcomes(named, data, args.b, args.responses));
  const Eigen::Index n = named.bank.items.size();
  for (const auto& [row, name] : {std::pair{&a, &args.a}, std::pair{&b, &args.b}}) {
    for (Eigen::Index j = 0; j < n; ++j) {
      if (std::isnan((*row)[j])) {
        return absl::InvalidArgumentError(
            absl::StrCat(args.responses, ": row '", *name, "' has no response to item '",
                         named.ids[static_cast<size_t>(j)], "' (a comparison needs both rows on "
                         "every item of ", args.items, ")"));
      }
    }
  }
  compare::CompareOptions o;
  o.delta = args.delta / 100;
  o.alpha = args.alpha;
  if (args.max_items > 0) o.max_items = args.max_items;
  o.design = args.design == "adaptive" ? compare::Design::kAdaptive : compare::Design::kUniform;
  o.predictor = args.predictor == "none" ? compare::Predictor::kNone : compare::Predictor::kModel;
  o.seed = args.seed;
  std::vector<double> baseline;
  if (args.baseline_known) baseline.assign(a.data(), a.data() + n);
  ASSIGN_OR_RETURN(compare::Comparison c,
                   compare::Comparison::Start(&named.bank.items, o, std::move(baseline)));
  while (!c.finished()) {
    ASSIGN_OR_RETURN(std::vector<Eigen::Index> items, c.Next(1));
    for (Eigen::Index j : items) {
      const std::optional<compare::Outcome> a_outcome =
          args.baseline_known ? std::nullopt : std::optional<compare::Outcome>({a[j], 1});
      RETURN_IF_ERROR(c.Submit(j, {b[j], 1}, a_outcome));
    }
  }
  std::string out = "step,item,y_a,y_b,estimate,lower,upper\n";
  int step = 0;
  for (const compare::Step& s : c.steps()) {
    absl::StrAppendFormat(&out, "%d,%s,%g,%g,%.6f,%.6f,%.6f\n", ++step,
                          s.item >= 0 ? named.ids[static_cast<size_t>(s.item)] : "",
                          s.item >= 0 ? s.y_a : std::nan(""), s.item >= 0 ? s.y_b : std::nan(""),
                          s.estimate, s.lower, s.upper);
  }
  const compare::CompareEstimate e = c.Estimate();
  absl::StrAppendFormat(&out,
                        "items,estimate,lower,upper,true_difference,decision\n"
                        "%d,%.6f,%.6f,%.6f,%.6f,%s\n",
                        e.items, e.estimate, e.lower, e.upper, (b - a).mean(),
                        compare::DecisionName(e.decision));
  std::fwrite(out.data(), 1, out.size(), stdout);
  return absl::OkStatus();
}

}  // namespace assay::client
