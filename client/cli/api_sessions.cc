// `assay sessions start|submit|next|get|list`.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/api_commands.h"
#include "client/cli/command_util.h"
#include "client/lib/api.h"
#include "core/base/status_macros.h"

namespace assay::client {

namespace {

std::string SessionLine(const v1::CatSession& s) {
  // Only the model-assisted design's accuracy interval is honest on real models (held-out
  // MATH-500 rows: 0.97 coverage against 0.69 for maximum information); label the others.
  const bool model_based =
      s.has_options() && s.options().selection() != v1::CAT_SELECTION_MODEL_ASSISTED;
  return absl::StrFormat(
      "session %s: %d answered, theta %.3f (se %.3f), predicted accuracy %.3f [%.3f, %.3f]%s%s%s",
      s.id(), s.answered(), s.theta(), s.se(), s.predicted_accuracy(), s.lower(), s.upper(),
      model_based ? " (assumes the 2PL)" : "",
      s.pending_items().empty() ? ""
                                : absl::StrCat(", next: ", absl::StrJoin(s.pending_items(), " ")),
      s.finished() ? absl::StrCat(", finished (", s.stop_reason(), ")") : "");
}

}  // namespace

void ApiCommands::AddSessionCommands(CLI::App& app) {
  Args& flags = *args_;
  CLI::App* group = app.add_subcommand("sessions", "Adaptive-testing sessions");
  group->require_subcommand(1);
  CLI::App* sub = Add(
      *group, "start", "Start scoring a model adaptively; prints the session and first item",
      [](const AssayClient& client, const Args& a) -> absl::Status {
        const CatClient cat(client);
        v1::StartSessionRequest request;
        request.set_benchmark_id(a.id);
        request.set_fit_id(a.fit_id);
        request.set_model(a.model);
        v1::CatOptions& o = *request.mutable_options();
        o.set_max_items(a.max_items);
        o.set_se_target(a.se_target);
        o.set_randomesque(a.randomesque);
        o.set_seed(a.seed);
        if (!a.method.empty()) {
          ASSIGN_OR_RETURN(auto method,
                           EnumArg<v1::CatEstimator>("CAT_ESTIMATOR_", "--method", a.method));
          o.set_estimator(method);
        }
        if (!a.goal.empty()) {
          ASSIGN_OR_RETURN(auto goal, EnumArg<v1::CatGoal>("CAT_GOAL_", "--goal", a.goal));
          o.set_goal(goal);
        }
        if (!a.selection.empty()) {
          ASSIGN_OR_RETURN(auto selection,
                           EnumArg<v1::CatSelection>("CAT_SELECTION_", "--selection", a.selection));
          o.set_selection(selection);
        }
        ASSIGN_OR_RETURN(v1::CatSession s, cat.StartSession(request));
        ASSIGN_OR_RETURN(v1::NextItemsResponse r, cat.NextItems(s.id(), a.count));
        Print(a.format == OutputFormat::kJson ? FormatJson(r.session())
                                              : SessionLine(r.session()) + "\n");
        return absl::OkStatus();
      });
  sub->add_option("benchmark", flags.id, "benchmark id")->required();
  sub->add_option("--model", flags.model, "name of the model being tested")->required();
  sub->add_option("--fit", flags.fit_id, "a fit id instead of the current calibration");
  sub->add_option("--max-items", flags.max_items, "stop after this many items");
  sub->add_option("--se-target", flags.se_target, "stop when the ability SE is below this");
  sub->add_option("--method", flags.method, "map (default) or eap");
  sub->add_option("--goal", flags.goal,
                  "accuracy (default: the model-assisted design, honest accuracy intervals) or "
                  "ability (theta and its SE: maximum information)");
  sub->add_option("--selection", flags.selection,
                  "overrides the goal's design: fisher, accuracy or model-assisted");
  sub->add_option("--randomesque", flags.randomesque, "choose among the k most informative items");
  sub->add_option("--count", flags.count, "items to ask for at once")->capture_default_str();
  sub->add_option("--seed", flags.seed, "seed of randomized choices (randomesque, model-assisted)");
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "submit", "Submit the outcome of an item (and ask for the next with --next)",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              v1::SubmitOutcomesRequest request;
              request.set_session_id(a.id);
              v1::CatOutcome* o = request.add_outcomes();
              o->set_item(a.id2);
              o->set_successes(a.outcome);
              o->set_trials(a.trials);
              if (a.next) request.set_next_count(a.count);
              ASSIGN_OR_RETURN(v1::CatSession s, CatClient(client).SubmitOutcomes(request));
              Print(a.format == OutputFormat::kJson ? FormatJson(s) : SessionLine(s) + "\n");
              return absl::OkStatus();
            });
  sub->add_option("session", flags.id, "session id")->required();
  sub->add_option("item", flags.id2, "item id")->required();
  sub->add_option("outcome", flags.outcome,
                  "1 correct, 0 wrong, k of --trials n, or a score in [0,1]")
      ->required();
  sub->add_option("--trials", flags.trials, "samples behind the outcome")->capture_default_str();
  sub->add_flag("--next", flags.next, "also pick the next item(s) in the same durable step");
  sub->add_option("--count", flags.count, "items to ask for with --next")->capture_default_str();
  AddFormatFlags(sub, flags.format);

  sub = Add(
      *group, "next", "The next item(s) to administer",
      [](const AssayClient& client, const Args& a) -> absl::Status {
        ASSIGN_OR_RETURN(v1::NextItemsResponse r, CatClient(client).NextItems(a.id, a.count));
        Print(a.format == OutputFormat::kJson ? FormatJson(r) : SessionLine(r.session()) + "\n");
        return absl::OkStatus();
      });
  sub->add_option("session", flags.id, "session id")->required();
  sub->add_option("--count", flags.count, "items to ask for")->capture_default_str();
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "get", "One session",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(v1::CatSession s, CatClient(client).GetSession(a.id));
              Print(a.format == OutputFormat::kJson ? FormatJson(s) : SessionLine(s) + "\n");
              return absl::OkStatus();
            });
  sub->add_option("session", flags.id, "session id")->required();
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "list", "The team's sessions, newest first",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              v1::ListSessionsRequest request;
              // The table shows no outcomes: ask for the BASIC view (JSON prints everything).
              if (a.format != OutputFormat::kJson) request.set_view(v1::CAT_SESSION_VIEW_BASIC);
              ASSIGN_OR_RETURN(v1::ListSessionsResponse r,
                               CatClient(client).ListSessions(request, a.limit));
              Table t{
                  {"id", "benchmark", "model", "answered", "theta", "se", "predicted", "finished"},
                  {}};
              for (const v1::CatSession& s : r.sessions()) {
                t.rows.push_back({s.id(), s.benchmark_id(), s.model(), absl::StrCat(s.answered()),
                                  Num(s.theta()), Num(s.se()), Num(s.predicted_accuracy()),
                                  s.finished() ? s.stop_reason() : ""});
              }
              PrintRows(r, t, a.format);
              return absl::OkStatus();
            });
  sub->add_option("--limit", flags.limit, "at most this many (default all)");
  AddFormatFlags(sub, flags.format);
}

}  // namespace assay::client
