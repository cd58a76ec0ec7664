#include "client/cli/fit_command.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/import/csv.h"
#include "client/import/logs.h"
#include "client/cli/output.h"
#include "core/base/status_macros.h"
#include "core/base/version.h"
#include "core/irt/report.h"
#include "proto/convert/fit_options.h"

namespace assay::client {
namespace {

std::string Num(double v) {
  if (std::isnan(v)) return "";
  return absl::StrFormat("%.9g", v);
}

// Writes `text` to `path` through a temporary file in the same directory and a rename.
absl::Status WriteAtomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out)
      return absl::FailedPreconditionError(absl::StrCat("cannot write '", tmp.string(), "'"));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write '", path.string(), "': ", ec.message()));
  return absl::OkStatus();
}

std::string DimColumns(const std::string& name, Eigen::Index k) {
  if (k == 1) return name;
  std::vector<std::string> cols;
  for (Eigen::Index d = 1; d <= k; ++d) cols.push_back(absl::StrCat(name, "_", d));
  return absl::StrJoin(cols, ",");
}

std::string AbilitiesCsv(const irt::ResponseMatrix& data, const irt::FitResult& fit,
                         const irt::FitReport& r) {
  const Eigen::Index k = fit.params.dims();
  std::string out = absl::StrCat("model,", DimColumns("theta", k), ",", DimColumns("se", k),
                                 ",accuracy,n_items,predicted_accuracy,flags\n");
  for (Eigen::Index i = 0; i < data.num_models(); ++i) {
    out += CsvField(data.model_ids()[i]);
    for (Eigen::Index d = 0; d < k; ++d) absl::StrAppend(&out, ",", Num(fit.params.theta(i, d)));
    for (Eigen::Index d = 0; d < k; ++d) absl::StrAppend(&out, ",", Num(r.theta_se(i, d)));
    absl::StrAppend(&out, ",", Num(r.model_accuracy[i]), ",", data.model_cells()[i], ",",
                    Num(r.predicted_accuracy[i]), ",", irt::ModelFlagNames(r.model_flags[i]), "\n");
  }
  return out;
}

std::string ItemsCsv(const irt::ResponseMatrix& data, const irt::FitResult& fit,
                     const irt::FitReport& r) {
  const Eigen::Index k = fit.params.dims();
  std::string out =
      absl::StrCat("item,", DimColumns("a", k), ",b,difficulty,", DimColumns("se_a", k),
                   ",se_b,p_correct,n_models,flags,infit,outfit,cov_ab\n");
  // marginal-items: a, b are posterior means, se_a, se_b posterior SDs, cov_ab their covariance
  // (`assay cat simulate` then averages over each item's posterior); empty for other estimators.
  const bool posteriors = fit.marginal.has_value() && fit.marginal->ab_cov.size() != 0;
  for (Eigen::Index j = 0; j < data.num_items(); ++j) {
    out += CsvField(data.item_ids()[j]);
    for (Eigen::Index d = 0; d < k; ++d) absl::StrAppend(&out, ",", Num(fit.params.a(j, d)));
    absl::StrAppend(&out, ",", Num(fit.params.b[j]), ",", Num(-fit.params.b[j]));
    for (Eigen::Index d = 0; d < k; ++d) absl::StrAppend(&out, ",", Num(r.a_se(j, d)));
    absl::StrAppend(&out, ",", Num(r.b_se[j]), ",", Num(r.item_p_correct[j]), ",",
                    data.item_cells()[j], ",", irt::ItemFlagNames(r.item_flags[j]), ",",
                    Num(r.infit[j]), ",", Num(r.outfit[j]), ",",
                    posteriors ? Num(fit.marginal->ab_cov[j]) : "", "\n");
  }
  return out;
}

// fit.json: the fit as the API's Fit message (what `assay fits get ID --json` prints for a
// server's fit), through the conversions the server uses.
std::string FitJson(const FitArgs& args, const irt::ResponseMatrix& data, const irt::FitResult& fit,
                    double seconds) {
  v1::Fit record;
  *record.mutable_options() = convert::FitOptionsToProto(args.options);
  convert::FitResultToProto(data, fit, args.options.threads, record);
  record.set_seconds(seconds);
  record.set_finished_at(absl::ToUnixSeconds(absl::Now()));
  return FormatJson(record) + "\n";
}

}  // namespace

CLI::App* AddFitCommand(CLI::App& app, FitArgs& args) {
  CLI::App* fit =
      app.add_subcommand("fit", "Calibrate a 2PL IRT model on a response file (offline)");
  fit->footer(
      "RESPONSES is a CSV file, wide (header: label, item ids...; one row per model: name, then "
      "1/0, "
      "+1/-1, a fraction in [0,1], or empty for missing) or long (model,item,correct[,n] or "
      "model,item,score). Writes OUT/abilities.csv, OUT/items.csv and OUT/fit.json.");
  fit->add_option("responses", args.responses,
                  "response matrix CSV, harness log(s) or a directory of them (see `assay import`)")
      ->required();
  fit->add_option("--out", args.out_dir, "directory for the result tables")->required();
  irt::FitOptions& o = args.options;
  fit->add_option("--method", args.method,
                  "estimator: auto (by shape: joint when models and items both number >= 100, "
                  "else marginal-items for few models, marginal-models for few items), joint, "
                  "marginal-items, marginal-models")
      ->check(CLI::IsMember({"auto", "joint", "marginal-items", "marginal-models"}))
      ->capture_default_str();
  fit->add_option("--dims", o.dims, "ability dimensions K")->capture_default_str();
  fit->add_option("--sigma", o.sigma, "temperature")->capture_default_str();
  fit->add_option("--ridge", o.ridge, "ridge / MAP penalty on all parameters")
      ->capture_default_str();
  fit->add_option("--stop", args.stop,
                  "stopping rule: precision (stop when the estimated distance to the optimum is "
                  "below --se-tol standard errors of every parameter) or strict (numerical "
                  "convergence: --tol, and gradient and parameter change below 1e-5)")
      ->check(CLI::IsMember({"precision", "strict"}))
      ->capture_default_str();
  fit->add_option("--se-tol", o.se_tol,
                  "the precision rule's threshold, in standard errors (marginal estimators: the "
                  "change over the last iteration)")
      ->capture_default_str();
  fit->add_option("--tol", o.tol, "the strict rule's relative loss change")->capture_default_str();
  fit->add_option("--max-iter", o.max_iter, "iteration limit")->capture_default_str();
  fit->add_option("--threads", o.threads, "threads for the fit (0: one per core)")
      ->capture_default_str();
  fit->add_option("--seed", o.seed, "seed for random initial values")->capture_default_str();
  fit->add_flag(
      "--shrink-items", o.shrink_items,
      "after the fit, shrink discriminations towards their common distribution "
      "(empirical Bayes; a ~ N(mean, sd^2) estimated from the items, written to fit.json)");
  fit->add_flag("--paper-mode", args.paper_mode,
                "the released method: random init, no ridge, no acceleration, tol 1e-4 and 1000 "
                "iterations unless --tol/--max-iter are given");
  return fit;
}

absl::Status RunFit(const FitArgs& args_in) {
  FitArgs args = args_in;
  ASSIGN_OR_RETURN(args.options.method, irt::ParseFitMethod(args.method));
  ASSIGN_OR_RETURN(args.options.stop_rule, irt::ParseStopRule(args.stop));
  if (args.paper_mode && args.options.shrink_items) {
    return absl::InvalidArgumentError(
        "--shrink-items: not with --paper-mode (the released method has no item prior)");
  }
  if (args.paper_mode) {
    irt::FitOptions paper = irt::FitOptions::Paper();
    const irt::FitOptions defaults;
    if (args.options.tol != defaults.tol) paper.tol = args.options.tol;
    if (args.options.max_iter != defaults.max_iter) paper.max_iter = args.options.max_iter;
    paper.dims = args.options.dims;
    paper.sigma = args.options.sigma;
    paper.threads = args.options.threads;
    paper.seed = args.options.seed;
    paper.method = args.options.method;
    args.options = paper;
  }
  RETURN_IF_ERROR(args.options.Validate());
  ASSIGN_OR_RETURN(import::ImportResult imported, import::ImportResponses(args.responses));
  const irt::ResponseMatrix& data = imported.responses;
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(irt::FitResult fit, irt::Fit(data, args.options));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const irt::FitReport report = irt::MakeReport(data, fit, args.options);

  std::error_code ec;
  std::filesystem::create_directories(args.out_dir, ec);
  if (ec)
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create '", args.out_dir, "': ", ec.message()));
  const std::filesystem::path dir(args.out_dir);
  RETURN_IF_ERROR(WriteAtomically(dir / "abilities.csv", AbilitiesCsv(data, fit, report)));
  RETURN_IF_ERROR(WriteAtomically(dir / "items.csv", ItemsCsv(data, fit, report)));
  RETURN_IF_ERROR(WriteAtomically(dir / "fit.json", FitJson(args, data, fit, seconds)));

  const irt::FitDiagnostics& d = fit.diagnostics;
  absl::PrintF("fit: %d models x %d items, %d observed cells\n", data.num_models(),
               data.num_items(), data.num_observed());
  absl::PrintF("estimator: %s (%s)\n", irt::FitMethodName(fit.method), fit.method_reason);
  absl::PrintF("%s after %d iterations (%s), loss %.6f, %.3f s\n",
               d.converged ? "converged" : "NOT converged", d.iterations, d.stop_reason, d.loss,
               seconds);
  absl::PrintF("wrote %s, %s, %s\n", (dir / "abilities.csv").string(), (dir / "items.csv").string(),
               (dir / "fit.json").string());
  return absl::OkStatus();
}

}  // namespace assay::client
