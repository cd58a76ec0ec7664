#include "client/cli/demo_command.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/import/csv.h"
#include "client/lib/api.h"
#include "client/lib/upload.h"
#include "client/lib/watch.h"
#include "core/base/status_macros.h"
#include "proto/convert/compare_options.h"

namespace assay::client {
namespace {

// One model's observed responses (item index → proportion correct).
std::vector<std::pair<Eigen::Index, double>> RowOf(const irt::ResponseMatrix& data,
                                                   Eigen::Index model) {
  std::vector<std::pair<Eigen::Index, double>> row;
  for (Eigen::Index j = 0; j < data.num_items(); ++j) {
    const irt::ResponseMatrix::Column col = data.column(j);
    for (Eigen::Index k = 0; k < col.size; ++k) {
      if ((col.rows == nullptr ? k : col.rows[k]) == model) row.emplace_back(j, col.y[k]);
    }
  }
  return row;
}

// The pair to compare: a zero-shot row (baseline A) and the same model's one-shot row (candidate
// B), the pair whose accuracies differ most (a prompt change that matters); else the two most
// accurate models. Neither is `held_out`.
std::pair<Eigen::Index, Eigen::Index> ComparisonPair(const irt::ResponseMatrix& data,
                                                     Eigen::Index held_out,
                                                     const std::vector<Eigen::Index>& by_accuracy) {
  const std::vector<std::string>& names = data.model_ids();
  const std::string zero = "_zero_shot";
  const auto accuracy = [&](Eigen::Index i) {
    return data.model_successes()[i] / std::max(1.0, data.model_trials()[i]);
  };
  std::pair<Eigen::Index, Eigen::Index> pair{-1, -1};
  double widest = -1;
  for (Eigen::Index i = 0; i < data.num_models(); ++i) {
    const std::string& name = names[static_cast<size_t>(i)];
    if (i == held_out || name.size() <= zero.size() ||
        name.compare(name.size() - zero.size(), zero.size(), zero) != 0) {
      continue;
    }
    const std::string one = name.substr(0, name.size() - zero.size()) + "_one_shot";
    const auto it = std::find(names.begin(), names.end(), one);
    if (it == names.end() || it - names.begin() == held_out) continue;
    const Eigen::Index k = it - names.begin();
    if (std::abs(accuracy(k) - accuracy(i)) > widest) {
      widest = std::abs(accuracy(k) - accuracy(i));
      pair = {i, k};
    }
  }
  if (pair.first >= 0) return pair;
  std::vector<Eigen::Index> best;
  for (auto it = by_accuracy.rbegin(); it != by_accuracy.rend() && best.size() < 2; ++it) {
    if (*it != held_out) best.push_back(*it);
  }
  return {best[0], best[1]};
}

}  // namespace

absl::Status DemoComparison(const AssayClient& client, const irt::ResponseMatrix& all,
                            Eigen::Index held_out, const std::string& benchmark_id) {
  std::vector<Eigen::Index> by_accuracy(static_cast<size_t>(all.num_models()));
  for (size_t i = 0; i < by_accuracy.size(); ++i) by_accuracy[i] = static_cast<Eigen::Index>(i);
  std::sort(by_accuracy.begin(), by_accuracy.end(), [&](Eigen::Index x, Eigen::Index y) {
    return all.model_successes()[x] / std::max(1.0, all.model_trials()[x]) <
           all.model_successes()[y] / std::max(1.0, all.model_trials()[y]);
  });
  if (all.num_models() < 3) return absl::OkStatus();
  const auto [a, b] = ComparisonPair(all, held_out, by_accuracy);
  const std::string& name_a = all.model_ids()[static_cast<size_t>(a)];
  const std::string& name_b = all.model_ids()[static_cast<size_t>(b)];
  const auto row_b = RowOf(all, b);
  absl::flat_hash_map<std::string, double> b_outcome;
  for (const auto& [j, y] : row_b) b_outcome[all.item_ids()[static_cast<size_t>(j)]] = y;
  double diff = 0;
  const auto row_a = RowOf(all, a);
  for (const auto& [j, y] : row_a) diff -= y / static_cast<double>(row_a.size());
  for (const auto& [j, y] : row_b) diff += y / static_cast<double>(row_b.size());

  // Is B worse than A by more than one point? A's full run is the benchmark's stored row (the
  // baseline is known); B is evaluated item by item, answered here from its row in the file.
  v1::CreateComparisonRequest create;
  create.set_benchmark_id(benchmark_id);
  create.set_model_a(name_a);
  create.set_model_b(name_b);
  create.mutable_options()->set_baseline_known(true);
  const CompareClient compare(client);
  ASSIGN_OR_RETURN(v1::Comparison c, compare.CreateComparison(create));
  ASSIGN_OR_RETURN(
      c, compare.RunToDecision(c.id(), [&](const std::string& item, v1::CompareOutcome& out) {
        const auto it = b_outcome.find(item);
        if (it == b_outcome.end())
          return absl::FailedPreconditionError(absl::StrCat(name_b, " has no response to ", item));
        out.set_b_successes(it->second);
        return absl::OkStatus();
      }));
  absl::PrintF(
      "\n== comparison %s: is %s worse than %s by more than %.0f point?\n"
      "%s after %d of %d items: difference %+.1f points, anytime-valid 95%% interval "
      "[%+.1f, %+.1f]; the true difference on all items: %+.1f\n",
      c.id(), name_b, name_a, 100 * c.options().delta(), convert::DecisionName(c.decision()),
      c.items(), c.benchmark_items(), 100 * c.estimate(), 100 * c.lower(), 100 * c.upper(),
      100 * diff);
  return absl::OkStatus();
}

CLI::App* AddDemoCommand(CLI::App& app, DemoArgs& args) {
  CLI::App* demo = app.add_subcommand(
      "demo", "Tour the service on a response file: upload, fit, adaptive test, audit");
  demo->add_option("responses", args.responses, "response matrix CSV (wide or long)")->required();
  demo->add_option("--max-items", args.max_items, "items for the adaptive test")
      ->capture_default_str();
  demo->add_option("--seed", args.seed, "seed of the simulated audit")->capture_default_str();
  return demo;
}

absl::Status RunDemo(const DemoArgs& args, const AssayClient& client) {
  ASSIGN_OR_RETURN(irt::ResponseMatrix all, import::ReadResponsesCsv(args.responses));
  // Hold out the model of median accuracy: it is scored adaptively later.
  std::vector<Eigen::Index> order(static_cast<size_t>(all.num_models()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<Eigen::Index>(i);
  const auto accuracy = [&](Eigen::Index i) {
    return all.model_successes()[i] / std::max(1.0, all.model_trials()[i]);
  };
  std::sort(order.begin(), order.end(),
            [&](Eigen::Index x, Eigen::Index y) { return accuracy(x) < accuracy(y); });
  const Eigen::Index held_out = order[order.size() / 2];
  const std::string held_out_name = all.model_ids()[static_cast<size_t>(held_out)];
  const auto held_out_row = RowOf(all, held_out);
  std::vector<irt::Cell> cells;
  for (Eigen::Index j = 0; j < all.num_items(); ++j) {
    const irt::ResponseMatrix::Column col = all.column(j);
    for (Eigen::Index k = 0; k < col.size; ++k) {
      const Eigen::Index i = col.rows == nullptr ? k : col.rows[k];
      if (i == held_out) continue;
      const double w = col.w == nullptr ? 1.0 : col.w[k];
      cells.push_back(irt::Cell{static_cast<int32_t>(i > held_out ? i - 1 : i),
                                static_cast<int32_t>(j), col.y[k] * w, w});
    }
  }
  std::vector<std::string> models = all.model_ids();
  models.erase(models.begin() + held_out);
  ASSIGN_OR_RETURN(irt::ResponseMatrix data,
                   irt::ResponseMatrix::FromCells(models, all.item_ids(), std::move(cells)));

  const BenchmarksClient benchmarks(client);
  v1::CreateBenchmarkRequest create;
  create.set_name(absl::StrFormat(
      "demo %s", absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::UTCTimeZone())));
  ASSIGN_OR_RETURN(const v1::Benchmark bm, benchmarks.CreateBenchmark(create));
  absl::PrintF("== benchmark %s (%s)\n", bm.id(), bm.name());
  {
    ASSIGN_OR_RETURN(v1::UploadResponsesResponse up,
                     UploadResponses(client, data, bm.id(), absl::Minutes(10)));
    absl::PrintF("uploaded %d cells: %d models x %d items (held out for adaptive testing: %s)\n",
                 up.cells(), up.benchmark().num_models(), up.benchmark().num_items(),
                 held_out_name);
  }

  v1::StartFitRequest start_fit;
  start_fit.set_benchmark_id(bm.id());
  ASSIGN_OR_RETURN(v1::Fit fit, benchmarks.StartFit(start_fit));
  {
    int last_printed = -1000;
    WatchOptions watch;
    watch.timeout = absl::Minutes(30);
    ASSIGN_OR_RETURN(fit, WatchFit(
                              client, fit.id(),
                              [&](const v1::Fit& f) {
                                if (f.state() == v1::FIT_STATE_RUNNING && f.iteration() > 0 &&
                                    f.iteration() - last_printed >= 250) {
                                  absl::PrintF("fit %s: iteration %d, loss %.3f\n", f.id(),
                                               f.iteration(), f.loss());
                                  last_printed = f.iteration();
                                }
                                return true;
                              },
                              watch));
  }
  if (fit.state() != v1::FIT_STATE_SUCCEEDED) {
    return absl::InternalError(
        absl::StrCat("fit ended ", v1::FitState_Name(fit.state()), ": ", fit.error()));
  }
  absl::PrintF("fit %s succeeded: %d iterations, loss %.3f, %.2f s\n", fit.id(), fit.iteration(),
               fit.loss(), fit.seconds());

  v1::ListAbilitiesRequest top;
  top.set_benchmark_id(bm.id());
  ASSIGN_OR_RETURN(const v1::ListAbilitiesResponse abilities,
                   benchmarks.ListAbilities(top, /*limit=*/10));
  absl::PrintF("\n== top %d of %d models by ability\n%4s  %-44s %8s %6s %9s\n",
               abilities.abilities_size(), abilities.total(), "rank", "model", "theta", "se",
               "accuracy");
  for (const v1::Ability& a : abilities.abilities()) {
    absl::PrintF("%4d  %-44s %8.3f %6.3f %9.3f\n", a.rank(), a.model(), a.theta(0), a.se(0),
                 a.accuracy());
  }

  // Adaptive testing of the held-out model, answered from its known responses.
  const CatClient cat(client);
  v1::StartSessionRequest session_req;
  session_req.set_benchmark_id(bm.id());
  session_req.set_model(held_out_name);
  session_req.mutable_options()->set_max_items(args.max_items);
  ASSIGN_OR_RETURN(v1::CatSession session, cat.StartSession(session_req));
  // The loop needs no outcome history: the BASIC view.
  ASSIGN_OR_RETURN(const v1::NextItemsResponse next,
                   cat.NextItems(session.id(), 1, v1::CAT_SESSION_VIEW_BASIC));
  session = next.session();
  double true_accuracy = 0;
  for (const auto& [j, y] : held_out_row) true_accuracy += y;
  true_accuracy /= static_cast<double>(std::max<size_t>(1, held_out_row.size()));
  while (!session.finished() && !session.pending_items().empty()) {
    const std::string item = session.pending_items(0);
    const auto j =
        std::find(all.item_ids().begin(), all.item_ids().end(), item) - all.item_ids().begin();
    const auto answer = std::find_if(held_out_row.begin(), held_out_row.end(),
                                     [&](const auto& cell) { return cell.first == j; });
    if (answer == held_out_row.end()) {
      return absl::FailedPreconditionError("the held-out model has no response to " + item);
    }
    v1::SubmitOutcomesRequest submit;
    submit.set_session_id(session.id());
    submit.set_next_count(1);
    submit.set_view(v1::CAT_SESSION_VIEW_BASIC);
    v1::CatOutcome* outcome = submit.add_outcomes();
    outcome->set_item(item);
    outcome->set_successes(answer->second);
    ASSIGN_OR_RETURN(session, cat.SubmitOutcomes(submit));
  }
  absl::PrintF(
      "\n== adaptive test of %s (session %s)\n%d of %d items: theta %.3f (se %.3f), predicted "
      "accuracy %.3f [%.3f, %.3f]; its true accuracy on all items: %.3f\n",
      held_out_name, session.id(), session.answered(), all.num_items(), session.theta(),
      session.se(), session.predicted_accuracy(), session.lower(), session.upper(), true_accuracy);

  // An audit: does the held-out model solve at least half of the benchmark? Its responses, in
  // random order, are the auditors' labels (bets on 40% vs 65%).
  const AuditsClient audits(client);
  v1::CreateAuditRequest audit_req;
  audit_req.set_display_name("demo: " + held_out_name + " solves >= 50%");
  audit_req.mutable_config()->set_tau(0.5);
  audit_req.mutable_config()->set_p_model(0.4);
  audit_req.mutable_config()->set_p_auditor(0.65);
  audit_req.mutable_config()->set_max_samples(500);
  ASSIGN_OR_RETURN(const v1::Audit audit, audits.CreateAudit(audit_req));
  std::vector<std::pair<Eigen::Index, double>> shuffled = held_out_row;
  std::mt19937_64 rng(args.seed);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  v1::Audit state = audit;
  size_t used = 0;
  for (size_t start = 0; start < shuffled.size() && state.decision() == v1::DECISION_NONE;
       start += 20) {
    v1::HandOutCasesRequest hand_out;
    hand_out.set_audit_id(audit.id());
    const size_t end = std::min(shuffled.size(), start + 20);
    for (size_t k = start; k < end; ++k) {
      hand_out.add_cases()->set_case_id(all.item_ids()[static_cast<size_t>(shuffled[k].first)]);
    }
    RETURN_IF_ERROR(audits.HandOutCases(hand_out).status());
    for (size_t k = start; k < end && state.decision() == v1::DECISION_NONE; ++k) {
      v1::SubmitLabelRequest label;
      label.set_audit_id(audit.id());
      label.set_case_id(all.item_ids()[static_cast<size_t>(shuffled[k].first)]);
      label.set_y(shuffled[k].second);
      RETURN_IF_ERROR(audits.SubmitLabel(label).status());
      ++used;
      ASSIGN_OR_RETURN(state, audits.GetAudit(audit.id()));
    }
  }
  absl::PrintF(
      "\n== audit %s (\"%s\"): %s after %d labels of %d; accuracy in [%.3f, %.3f] "
      "(anytime-valid 95%%)\n",
      audit.id(), audit_req.display_name(), v1::Decision_Name(state.decision()), used,
      shuffled.size(), state.accuracy_lower(), state.accuracy_upper());

  RETURN_IF_ERROR(DemoComparison(client, all, held_out, bm.id()));

  absl::PrintF(
      "\n== next\n"
      "the API: proto/assay/v1/*.proto (grpcurl works through server reflection), e.g.\n"
      "  grpcurl -plaintext -H \"authorization: Bearer $KEY\" -d '{\"benchmark_id\":\"%s\"}' "
      "%s assay.v1.BenchmarkService/ListAbilities\n"
      "offline tools: assay fit | cat simulate | audit replay (README)\n",
      bm.id(), client.server());
  return absl::OkStatus();
}

}  // namespace assay::client
