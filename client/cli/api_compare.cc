// `assay compare create|next|submit|status|list|watch` (`compare simulate`: compare_command.h).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/api_commands.h"
#include "client/cli/command_util.h"
#include "client/lib/api.h"
#include "client/lib/watch.h"
#include "core/base/status_macros.h"
#include "proto/convert/compare_options.h"

namespace assay::client {

namespace {

// One line for people: id, items, estimate and interval in points, decision.
std::string ComparisonLine(const v1::Comparison& c) {
  return absl::StrFormat(
      "comparison %s: %s vs %s, %d of %d items, difference %+.2f points [%+.2f, %+.2f], %s%s%s",
      c.id(), c.model_b(), c.model_a(), c.items(), c.benchmark_items(), 100 * c.estimate(),
      100 * c.lower(), 100 * c.upper(), convert::DecisionName(c.decision()),
      c.exact() ? " (exact)" : "",
      c.pending_items().empty() ? ""
                                : absl::StrCat(", next: ", absl::StrJoin(c.pending_items(), " ")));
}

}  // namespace

void ApiCommands::AddCompareCommands(CLI::App& app) {
  Args& flags = *args_;
  CLI::App* group = app.add_subcommand(
      "compare", "Is a candidate worse than the baseline? Anytime-valid model comparisons");
  group->require_subcommand(1);
  const auto print = [](const v1::Comparison& c, OutputFormat format) {
    Print(format == OutputFormat::kJson ? FormatJson(c) : ComparisonLine(c) + "\n");
  };
  CLI::App* sub = Add(
      *group, "create", "Create a comparison of B against A; prints it and the first item(s)",
      [print](const AssayClient& client, const Args& a) -> absl::Status {
        v1::CreateComparisonRequest request;
        request.set_benchmark_id(a.id);
        request.set_fit_id(a.fit_id);
        request.set_model_a(a.model_a);
        request.set_model_b(a.model_b);
        v1::CompareOptions& o = *request.mutable_options();
        if (a.delta.has_value()) o.set_delta(*a.delta / 100);  // points on the command line
        if (a.alpha > 0) o.set_alpha(a.alpha);
        o.set_max_items(a.max_items);
        o.set_baseline_known(a.baseline_known);
        o.set_seed(a.seed);
        if (!a.design.empty()) {
          ASSIGN_OR_RETURN(auto design,
                           EnumArg<v1::CompareDesign>("COMPARE_DESIGN_", "--design", a.design));
          o.set_design(design);
        }
        if (!a.predictor.empty()) {
          ASSIGN_OR_RETURN(auto predictor, EnumArg<v1::ComparePredictor>(
                                               "COMPARE_PREDICTOR_", "--predictor", a.predictor));
          o.set_predictor(predictor);
        }
        const CompareClient compare(client);
        ASSIGN_OR_RETURN(v1::Comparison c, compare.CreateComparison(request));
        ASSIGN_OR_RETURN(v1::NextComparisonItemsResponse r,
                         compare.NextComparisonItems(c.id(), a.count));
        print(r.comparison(), a.format);
        return absl::OkStatus();
      });
  sub->add_option("benchmark", flags.id, "benchmark id")->required();
  sub->add_option("--a", flags.model_a, "the baseline model (A)")->required();
  sub->add_option("--b", flags.model_b, "the candidate model (B)")->required();
  sub->add_option("--delta", flags.delta, "tolerance in accuracy points (default 1)");
  sub->add_option("--alpha", flags.alpha, "error level (default 0.05)");
  sub->add_option("--max-items", flags.max_items, "stop after this many items (default: all)");
  sub->add_flag("--baseline-known", flags.baseline_known,
                "A's outcomes are its stored responses on the benchmark; evaluate B only");
  sub->add_option("--design", flags.design, "uniform (default) or adaptive");
  sub->add_option("--predictor", flags.predictor,
                  "model (default: the 2PL, paired with A's outcome when known) or none");
  sub->add_option("--fit", flags.fit_id, "a fit id instead of the current calibration");
  sub->add_option("--count", flags.count, "items to ask for at once")->capture_default_str();
  sub->add_option("--seed", flags.seed, "seed of the draws");
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "next", "The next item(s) to evaluate",
            [print](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(v1::NextComparisonItemsResponse r,
                               CompareClient(client).NextComparisonItems(a.id, a.count));
              print(r.comparison(), a.format);
              return absl::OkStatus();
            });
  sub->add_option("comparison", flags.id, "comparison id")->required();
  sub->add_option("--count", flags.count, "items to ask for")->capture_default_str();
  AddFormatFlags(sub, flags.format);

  sub = Add(
      *group, "submit", "Submit an item's outcome for B (and A's with --a when both are sampled)",
      [print](const AssayClient& client, const Args& a) -> absl::Status {
        v1::SubmitComparisonOutcomesRequest request;
        request.set_comparison_id(a.id);
        v1::CompareOutcome* o = request.add_outcomes();
        o->set_item(a.id2);
        o->set_b_successes(a.outcome);
        o->set_b_trials(a.trials);
        if (a.a_outcome.has_value()) {
          o->set_a_successes(*a.a_outcome);
          o->set_a_trials(a.trials);
        }
        if (a.next) request.set_next_count(a.count);
        request.set_view(v1::COMPARISON_VIEW_BASIC);
        ASSIGN_OR_RETURN(v1::Comparison c, CompareClient(client).SubmitComparisonOutcomes(request));
        print(c, a.format);
        return absl::OkStatus();
      });
  sub->add_option("comparison", flags.id, "comparison id")->required();
  sub->add_option("item", flags.id2, "item id")->required();
  sub->add_option("outcome", flags.outcome,
                  "B's outcome: 1 correct, 0 wrong, k of --trials n, or a score in [0,1]")
      ->required();
  sub->add_option("--a", flags.a_outcome, "A's outcome (both sampled)");
  sub->add_option("--trials", flags.trials, "samples behind each outcome")->capture_default_str();
  sub->add_flag("--next", flags.next, "also hand out the next item(s) in the same durable step");
  sub->add_option("--count", flags.count, "items to ask for with --next")->capture_default_str();
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "status", "A comparison's estimate, interval and decision",
            [print](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(v1::Comparison c, CompareClient(client).GetComparison(
                                                     a.id, a.format == OutputFormat::kJson
                                                               ? v1::COMPARISON_VIEW_FULL
                                                               : v1::COMPARISON_VIEW_BASIC));
              print(c, a.format);
              return absl::OkStatus();
            });
  sub->add_option("comparison", flags.id, "comparison id")->required();
  AddFormatFlags(sub, flags.format);

  sub = Add(
      *group, "list", "The team's comparisons, newest first",
      [](const AssayClient& client, const Args& a) -> absl::Status {
        ASSIGN_OR_RETURN(v1::ListComparisonsResponse r,
                         CompareClient(client).ListComparisons(
                             a.limit, a.format == OutputFormat::kJson ? v1::COMPARISON_VIEW_FULL
                                                                      : v1::COMPARISON_VIEW_BASIC));
        Table t{{"id", "benchmark", "a", "b", "items", "estimate", "lower", "upper", "decision"},
                {}};
        for (const v1::Comparison& c : r.comparisons()) {
          t.rows.push_back({c.id(), c.benchmark_id(), c.model_a(), c.model_b(),
                            absl::StrCat(c.items()), Num(c.estimate()), Num(c.lower()),
                            Num(c.upper()), convert::DecisionName(c.decision())});
        }
        PrintRows(r, t, a.format);
        return absl::OkStatus();
      });
  sub->add_option("--limit", flags.limit, "at most this many (default all)");
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "watch", "Follow a comparison: its state, then every step, until it ends",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              return WatchComparison(
                  client, a.id, PrintUpdates<v1::Comparison>(a.limit, a.format, &ComparisonLine));
            });
  sub->add_option("comparison", flags.id, "comparison id")->required();
  sub->add_option("--limit", flags.limit, "stop after this many updates");
  AddFormatFlags(sub, flags.format);
}

}  // namespace assay::client
