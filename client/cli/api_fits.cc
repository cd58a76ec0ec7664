// `assay fits start|watch|get|cancel|set-current|list`, `assay abilities`, `assay items`,
// `assay score`.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/api_commands.h"
#include "client/cli/command_util.h"
#include "client/lib/api.h"
#include "client/lib/watch.h"
#include "core/base/status_macros.h"

namespace assay::client {

namespace {

std::string FitLine(const v1::Fit& f) {
  return absl::StrFormat("fit %s (v%d) %s: iteration %d, loss %.6g, %.2f s%s", f.id(), f.version(),
                         absl::AsciiStrToLower(v1::FitState_Name(f.state()).substr(10)),
                         f.iteration(), f.loss(), f.seconds(),
                         f.error().empty() ? "" : absl::StrCat(" (", f.error(), ")"));
}

// Follows a fit until it finishes: in the human format a redrawn bar on a terminal, otherwise a
// line per 100 iterations and the final line; in the others (--json, --csv) only the final fit, as
// that format. Returns the final state.
absl::StatusOr<v1::Fit> FollowFit(const AssayClient& client, const std::string& fit_id,
                                  OutputFormat format) {
  if (format != OutputFormat::kHuman) {
    ASSIGN_OR_RETURN(v1::Fit fit, WatchFit(client, fit_id, [](const v1::Fit&) { return true; }));
    Print(FormatMessage(fit, format));
    return fit;
  }
  const bool tty = isatty(STDOUT_FILENO) != 0;
  int printed = -100;
  ASSIGN_OR_RETURN(v1::Fit fit, WatchFit(client, fit_id, [&](const v1::Fit& f) {
                     if (tty) {
                       const int max_iter = std::max(1, f.options().max_iter());
                       const int filled = std::min(30, 30 * f.iteration() / max_iter);
                       absl::PrintF("\r[%s%s] %s   ", std::string(static_cast<size_t>(filled), '#'),
                                    std::string(static_cast<size_t>(30 - filled), ' '), FitLine(f));
                       (void)std::fflush(stdout);
                     } else if (f.iteration() - printed >= 100) {
                       absl::PrintF("%s\n", FitLine(f));
                       printed = f.iteration();
                     }
                     return true;
                   }));
  absl::PrintF("%s%s\n", tty ? "\r" : "", FitLine(fit));  // a constant format (clang checks)
  return fit;
}

Table AbilityTable(const v1::ListAbilitiesResponse& r) {
  Table t{{"rank", "model", "theta", "se", "accuracy", "predicted", "items", "flags"}, {}};
  for (const v1::Ability& a : r.abilities()) {
    std::vector<std::string> theta, se;
    for (double x : a.theta()) theta.push_back(Num(x));
    for (double x : a.se()) se.push_back(Num(x));
    t.rows.push_back({absl::StrCat(a.rank()), a.model(), absl::StrJoin(theta, " "),
                      absl::StrJoin(se, " "), Num(a.accuracy()), Num(a.predicted_accuracy()),
                      absl::StrCat(a.num_items()), a.flags()});
  }
  return t;
}

Table ItemTable(const v1::ListItemParamsResponse& r) {
  Table t{
      {"item", "a", "b", "difficulty", "se_b", "p_correct", "models", "outfit", "flags", "tags"},
      {}};
  for (const v1::ItemParams& p : r.items()) {
    std::vector<std::string> a;
    for (double x : p.a()) a.push_back(Num(x));
    t.rows.push_back({p.item(), absl::StrJoin(a, " "), Num(p.b()), Num(p.difficulty()),
                      Num(p.se_b()), Num(p.p_correct()), absl::StrCat(p.num_models()),
                      Num(p.outfit()), p.flags(), absl::StrJoin(p.tags(), " ")});
  }
  return t;
}

// `abilities` and `items`: a table of a benchmark's current (or a given) fit, sorted by --sort
// (a value of the enum `Sort`, named without `prefix`).
template <typename Request, typename Sort, typename Response>
ApiCommands::Action FitTableAction(
    absl::StatusOr<Response> (BenchmarksClient::*list)(const Request&, int) const,
    const char* prefix, Table (*table)(const Response&)) {
  return [list, prefix, table](const AssayClient& client, const Args& a) -> absl::Status {
    Request request;
    request.set_benchmark_id(a.id);
    request.set_fit_id(a.fit_id);
    if (!a.sort.empty()) {
      ASSIGN_OR_RETURN(Sort sort, EnumArg<Sort>(prefix, "--sort", a.sort));
      request.set_sort(sort);
    }
    request.set_descending(a.descending);
    ASSIGN_OR_RETURN(Response r, (BenchmarksClient(client).*list)(request, a.limit));
    PrintRows(r, table(r), a.format);
    return absl::OkStatus();
  };
}

// A command that sends a fit id to `method` and prints the reply.
struct FitIdCommand {
  const char* name;
  const char* help;
  ApiCommands::Action action;
};

template <typename Response>
ApiCommands::Action FitIdAction(
    absl::StatusOr<Response> (BenchmarksClient::*method)(const std::string&) const) {
  return [method](const AssayClient& client, const Args& a) -> absl::Status {
    ASSIGN_OR_RETURN(Response r, (BenchmarksClient(client).*method)(a.id));
    Print(FormatMessage(r, a.format));
    return absl::OkStatus();
  };
}

}  // namespace

void ApiCommands::AddFitCommands(CLI::App& app) {
  Args& flags = *args_;
  CLI::App* group =
      app.add_subcommand("fits", "Calibrations of a benchmark (fit jobs on the server)");
  group->require_subcommand(1);
  CLI::App* sub = Add(
      *group, "start", "Start a fit job; with --wait, follow it to the end",
      [](const AssayClient& client, const Args& a) -> absl::Status {
        v1::StartFitRequest request;
        request.set_benchmark_id(a.id);
        v1::FitOptions& o = *request.mutable_options();
        o.set_dims(a.dims);
        o.set_sigma(a.sigma);
        if (a.ridge >= 0) o.set_ridge(a.ridge);
        o.set_tol(a.tol);
        if (!a.stop.empty()) {  // checked by the flag: precision or strict
          o.set_stop_rule(a.stop == "strict" ? v1::STOP_RULE_STRICT : v1::STOP_RULE_PRECISION);
        }
        o.set_se_tol(a.se_tol);
        o.set_max_iter(a.max_iter);
        o.set_paper_mode(a.paper_mode);
        o.set_shrink_items(a.shrink_items);
        o.set_seed(a.seed);
        if (!a.method.empty() && a.method != "auto") {
          v1::FitMethod method;
          std::string name = absl::StrCat("FIT_METHOD_", a.method);
          std::replace(name.begin(), name.end(), '-', '_');
          absl::AsciiStrToUpper(&name);
          if (!v1::FitMethod_Parse(name, &method)) {
            return absl::InvalidArgumentError(absl::StrCat(
                "--method: must be auto, joint, marginal-items or marginal-models, got '", a.method,
                "'"));
          }
          o.set_method(method);
        }
        if (a.no_current) request.set_make_current(false);
        ASSIGN_OR_RETURN(v1::Fit fit, BenchmarksClient(client).StartFit(request));
        if (!a.wait) return Print(FormatMessage(fit, a.format)), absl::OkStatus();
        ASSIGN_OR_RETURN(fit, FollowFit(client, fit.id(), a.format));
        if (fit.state() != v1::FIT_STATE_SUCCEEDED) {
          return absl::AbortedError(absl::StrCat("fit ", fit.id(), " did not succeed: ",
                                                 v1::FitState_Name(fit.state()), " ", fit.error()));
        }
        return absl::OkStatus();
      });
  sub->add_option("benchmark", flags.id, "benchmark id")->required();
  sub->add_option("--method", flags.method,
                  "estimator: auto (default: by shape), joint, marginal-items, marginal-models");
  sub->add_option("--dims", flags.dims, "ability dimensions K (default 1)");
  sub->add_option("--sigma", flags.sigma, "temperature (default 1)");
  sub->add_option("--ridge", flags.ridge, "ridge penalty (default: the server's)");
  sub->add_option("--stop", flags.stop,
                  "stopping rule: precision (default; stop when the estimated distance to the "
                  "optimum is below --se-tol standard errors) or strict (numerical convergence)")
      ->check(CLI::IsMember({"precision", "strict"}));
  sub->add_option("--se-tol", flags.se_tol, "the precision rule's threshold (default 0.01)");
  sub->add_option("--tol", flags.tol, "the strict rule's relative loss change (default 1e-8)");
  sub->add_option("--max-iter", flags.max_iter, "iteration limit");
  sub->add_option("--seed", flags.seed, "seed of the initial values");
  sub->add_flag("--paper-mode", flags.paper_mode,
                "the paper's cBMM exactly (no ridge, its stop rule)");
  sub->add_flag("--shrink-items", flags.shrink_items,
                "shrink discriminations towards their common distribution (empirical Bayes)");
  sub->add_flag("--no-current", flags.no_current, "do not make it the current calibration");
  sub->add_flag("--wait", flags.wait, "follow progress until the fit ends");
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "watch", "Follow a fit's progress until it ends",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              return FollowFit(client, a.id, a.format).status();
            });
  sub->add_option("fit", flags.id, "fit id")->required();
  AddFormatFlags(sub, flags.format);

  for (const FitIdCommand& c :
       {FitIdCommand{"get", "One fit", FitIdAction(&BenchmarksClient::GetFit)},
        FitIdCommand{"cancel", "Cancel a queued or running fit",
                     FitIdAction(&BenchmarksClient::CancelFit)},
        FitIdCommand{"set-current", "Make a finished fit the benchmark's current calibration",
                     FitIdAction(&BenchmarksClient::SetCurrentFit)}}) {
    sub = Add(*group, c.name, c.help, c.action);
    sub->add_option("fit", flags.id, "fit id")->required();
    AddFormatFlags(sub, flags.format);
  }

  sub = Add(
      *group, "list",
      "A benchmark's fits, newest first; without a benchmark, the team's fit queue (running, "
      "then queued in the order they will start)",
      [](const AssayClient& client, const Args& a) -> absl::Status {
        ASSIGN_OR_RETURN(v1::ListFitsResponse r, BenchmarksClient(client).ListFits(a.id, a.limit));
        const bool queue = a.id.empty();
        Table t{{"id", queue ? "benchmark" : "version", "state"}, {}};
        if (queue) t.header.push_back("starts after");
        for (const char* column : {"iterations", "loss", "seconds", "current", "created"})
          t.header.push_back(column);
        for (const v1::Fit& f : r.fits()) {
          std::vector<std::string> row = {
              f.id(), queue ? f.benchmark_id() : absl::StrCat(f.version()),
              absl::AsciiStrToLower(v1::FitState_Name(f.state()).substr(10))};
          if (queue) {
            row.push_back(f.state() == v1::FIT_STATE_QUEUED
                              ? absl::StrCat(f.queue_position(), " fit(s)")
                              : "");
          }
          for (std::string cell : {absl::StrCat(f.iteration()), Num(f.loss(), 6), Num(f.seconds()),
                                   std::string(f.current() ? "yes" : ""), Time(f.created_at())}) {
            row.push_back(std::move(cell));
          }
          t.rows.push_back(std::move(row));
        }
        PrintRows(r, t, a.format);
        return absl::OkStatus();
      });
  sub->add_option("benchmark", flags.id, "benchmark id (omit for the team's fit queue)");
  sub->add_option("--limit", flags.limit, "at most this many (default all)");
  AddFormatFlags(sub, flags.format);

  struct TableCommand {
    const char* name;
    const char* help;
    const char* sorts;
    ApiCommands::Action action;
  };
  for (const TableCommand& c :
       {TableCommand{"abilities", "Ability table of a benchmark's current (or a given) fit",
                     "rank (default), model, accuracy, se",
                     FitTableAction<v1::ListAbilitiesRequest, v1::AbilitySort>(
                         &BenchmarksClient::ListAbilities, "ABILITY_SORT_", &AbilityTable)},
        TableCommand{"items", "Item parameter table of a benchmark's current (or a given) fit",
                     "item, difficulty, discrimination, p-correct, misfit",
                     FitTableAction<v1::ListItemParamsRequest, v1::ItemSort>(
                         &BenchmarksClient::ListItemParams, "ITEM_SORT_", &ItemTable)}}) {
    sub = Add(app, c.name, c.help, c.action);
    sub->add_option("benchmark", flags.id, "benchmark id")->required();
    sub->add_option("--fit", flags.fit_id, "a fit id instead of the current calibration");
    sub->add_option("--sort", flags.sort, c.sorts);
    sub->add_flag("--descending", flags.descending, "reverse the sort");
    sub->add_option("--limit", flags.limit, "at most this many rows (default all)");
    AddFormatFlags(sub, flags.format);
  }

  sub =
      Add(app, "score", "Score a model's responses against a benchmark's calibration",
          [](const AssayClient& client, const Args& a) -> absl::Status {
            ASSIGN_OR_RETURN(import::ImportResult r, Import(a));
            const irt::ResponseMatrix& m = r.responses;
            if (m.num_models() != 1) {
              return absl::InvalidArgumentError(
                  absl::StrCat(a.path, ": holds ", m.num_models(),
                               " models; score one at a time (--model NAME picks a row of a CSV)"));
            }
            v1::ScoreModelRequest request;
            request.set_benchmark_id(a.id);
            request.set_fit_id(a.fit_id);
            for (Eigen::Index j = 0; j < m.num_items(); ++j) {
              const irt::ResponseMatrix::Column col = m.column(j);
              for (Eigen::Index k = 0; k < col.size; ++k) {
                const double w = col.w == nullptr ? 1.0 : col.w[k];
                v1::ItemResponse* response = request.add_responses();
                response->set_item(m.item_ids()[static_cast<size_t>(j)]);
                response->set_successes(col.y[k] * w);
                response->set_trials(w);
              }
            }
            ASSIGN_OR_RETURN(v1::ScoreModelResponse score,
                             BenchmarksClient(client).ScoreModel(request));
            Print(FormatMessage(score, a.format));
            if (a.format == OutputFormat::kHuman) {
              // Not calibrated on real models (it covers held-out MATH-500 rows far less often than
              // 95%): say what it is.
              Print(
                  "(predicted_accuracy_lower/upper: theta +- 1.96 se through the 2PL; assumes the "
                  "model fits it)\n");
            }
            return absl::OkStatus();
          });
  sub->add_option("benchmark", flags.id, "benchmark id")->required();
  sub->add_option("path", flags.path,
                  "the model's responses (CSV with one model, or a harness log)")
      ->required();
  sub->add_option("--fit", flags.fit_id, "a fit id instead of the current calibration");
  sub->add_option("--metric", flags.metric, "per-sample metric or scorer");
  sub->add_option("--model", flags.model, "model name for logs that do not give one");
  AddFormatFlags(sub, flags.format);
}

}  // namespace assay::client
