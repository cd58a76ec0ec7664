// irt_shape_bench: the calibration-shapes figures (issue "Calibration that is right in every shape
// of matrix"). For each seed, simulates the paper's DGP (θ ~ N(0,1), a ~ U(0.5,1), b ~ N(0,0.5²),
// no missing cells unless --missing) at --models × --items and fits it with each --method,
// printing one line per (seed, method): iterations, fit seconds, Pearson(θ̂, θ), the largest and
// mean |predicted − true expected accuracy| (points), and the split-half z RMS.
//
//   irt_shape_bench --models 12 --items 40000 --seeds 3 --methods auto,joint [--threads 2]
//                   [--no-split-half] [--write-csv DIR]
//
// --write-csv writes each seed's matrix as DIR/sim_<models>x<items>_s<seed>.csv (wide, 1/0), the
// file the authors' cBMM is timed on (shared/bench/cbmm/run_cbmm.py).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/import/csv.h"
#include "core/irt/fit.h"
#include "core/irt/report.h"
#include "tests/testing/irt_sim.h"

namespace {

// Held-out cells of a real matrix: which estimator predicts unseen responses best.
int HeldOut(const std::string& path, const std::string& methods, int seeds,
            const assay::irt::FitOptions& base) {
  absl::StatusOr<assay::irt::ResponseMatrix> all = assay::import::ReadResponsesCsv(path);
  if (!all.ok()) {
    std::fprintf(stderr, "%s\n", std::string(all.status().message()).c_str());
    return 1;
  }
  std::printf("%s: %ld models x %ld items\n", path.c_str(), static_cast<long>(all->num_models()),
              static_cast<long>(all->num_items()));
  std::printf("%-4s %-16s %-16s %5s %9s %9s\n", "seed", "asked", "ran", "iters", "logloss",
              "brier");
  for (int seed = 1; seed <= seeds; ++seed) {
    std::mt19937_64 rng(static_cast<uint64_t>(seed));
    std::uniform_real_distribution<double> unif(0, 1);
    std::vector<assay::irt::Cell> kept;
    struct Held {
      int32_t i, j;
      double y;
    };
    std::vector<Held> held;
    for (Eigen::Index j = 0; j < all->num_items(); ++j) {
      const auto col = all->column(j);
      for (Eigen::Index c = 0; c < col.size; ++c) {
        const int32_t i = static_cast<int32_t>(col.rows ? col.rows[c] : c);
        if (unif(rng) < 0.2) {
          held.push_back({i, static_cast<int32_t>(j), col.y[c]});
        } else {
          kept.push_back({i, static_cast<int32_t>(j), col.y[c], 1.0});
        }
      }
    }
    auto train = assay::irt::ResponseMatrix::FromCells(all->model_ids(), all->item_ids(), kept);
    for (const std::string& name : std::vector<std::string>(absl::StrSplit(methods, ','))) {
      assay::irt::FitOptions options = base;
      options.method = assay::irt::ParseFitMethod(name).value();
      absl::StatusOr<assay::irt::FitResult> fit = assay::irt::Fit(*train, options);
      if (!fit.ok()) {
        std::fprintf(stderr, "%s\n", std::string(fit.status().message()).c_str());
        return 1;
      }
      const assay::irt::FitReport report = assay::irt::MakeReport(*train, *fit, options);
      absl::StatusOr<assay::irt::ItemBank> bank =
          assay::irt::MakeItemBank(*fit, report, options.sigma);
      double logloss = 0, brier = 0;
      for (const Held& h : held) {
        const auto x = bank->ItemLogit(h.j, fit->params.theta(h.i, 0));
        const double p = std::clamp(1 / (1 + std::exp(-x.z)), 1e-12, 1 - 1e-12);
        logloss -= h.y * std::log(p) + (1 - h.y) * std::log(1 - p);
        brier += (p - h.y) * (p - h.y);
      }
      std::printf("%-4d %-16s %-16s %5d %9.5f %9.5f\n", seed, name.c_str(),
                  assay::irt::FitMethodName(fit->method), fit->diagnostics.iterations,
                  logloss / held.size(), brier / held.size());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using assay::irt::FitOptions;
  CLI::App app{"calibration figures by matrix shape"};
  assay::testing::SimOptions sim;
  sim.missing = 0;
  int seeds = 3;
  std::string methods = "auto";
  bool no_split = false;
  std::string csv_dir;
  FitOptions base;
  base.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("--models", sim.models)->capture_default_str();
  app.add_option("--items", sim.items)->capture_default_str();
  app.add_option("--missing", sim.missing)->capture_default_str();
  app.add_option("--seeds", seeds)->capture_default_str();
  app.add_option("--methods", methods, "comma-separated: auto, joint, marginal-items, ...")
      ->capture_default_str();
  app.add_option("--threads", base.threads)->capture_default_str();
  app.add_flag("--no-split-half", no_split);
  app.add_option("--tol", base.tol)->capture_default_str();
  app.add_option("--param-tol", base.param_tol)->capture_default_str();
  app.add_option("--max-iter", base.max_iter)->capture_default_str();
  bool trace = false;
  int lomo_items = 0;
  app.add_option("--lomo", lomo_items,
                 "instead: leave-one-model-out adaptive tests of this many items per model");
  std::string selection = "default";
  app.add_option("--selection", selection, "with --lomo: default (the accuracy goal's), fisher, "
                 "accuracy, model-assisted")
      ->check(CLI::IsMember({"default", "fisher", "accuracy", "model-assisted"}))
      ->capture_default_str();
  app.add_flag("--trace", trace, "print each iteration's loss");
  app.add_option("--write-csv", csv_dir);
  std::string heldout;
  app.add_option("--heldout", heldout,
                 "instead: a real response file; hold out 20% of its cells at random (per seed), "
                 "fit the rest with each --methods, print held-out log-loss and Brier score");
  CLI11_PARSE(app, argc, argv);
  if (trace) {
    base.on_iteration = [](int it, double loss) {
      std::printf("  iter %d loss %.10g\n", it, loss);
      return true;
    };
  }

  if (!heldout.empty()) return HeldOut(heldout, methods, seeds, base);
  std::printf("shape %ld x %ld, missing %.2f, threads %d\n", static_cast<long>(sim.models),
              static_cast<long>(sim.items), sim.missing, base.threads);
  std::printf("%-4s %-16s %-16s %5s %4s %8s %9s %9s %9s %8s\n", "seed", "asked", "ran", "iters",
              "conv", "fit_s", "pearson", "acc_max", "acc_mean", "split_z");
  std::vector<assay::testing::LomoRun> lomo_all;
  for (int seed = 1; seed <= seeds; ++seed) {
    sim.seed = static_cast<uint64_t>(seed);
    const assay::testing::Simulated data = assay::testing::Simulate(sim);
    if (!csv_dir.empty()) {
      const std::string path = csv_dir + "/sim_" + std::to_string(sim.models) + "x" +
                               std::to_string(sim.items) + "_s" + std::to_string(seed) + ".csv";
      std::ofstream out(path);
      out << "model";
      for (const std::string& id : data.data.item_ids()) out << "," << id;
      out << "\n";
      Eigen::MatrixXf y = Eigen::MatrixXf::Constant(sim.models, sim.items, -1);
      for (Eigen::Index j = 0; j < sim.items; ++j) {
        const auto col = data.data.column(j);
        for (Eigen::Index c = 0; c < col.size; ++c) y(col.rows ? col.rows[c] : c, j) = col.y[c];
      }
      for (Eigen::Index i = 0; i < sim.models; ++i) {
        out << data.data.model_ids()[i];
        for (Eigen::Index j = 0; j < sim.items; ++j) {
          out << ",";
          if (y(i, j) >= 0) out << (y(i, j) > 0.5 ? "1" : "0");
        }
        out << "\n";
      }
      std::printf("wrote %s\n", path.c_str());
    }
    if (lomo_items > 0) {
      assay::cat::CatOptions cat;
      cat.max_items = lomo_items;
      if (selection != "default") {
        cat.selection = selection == "fisher"     ? assay::cat::Selection::kFisher
                        : selection == "accuracy" ? assay::cat::Selection::kAccuracy
                                                  : assay::cat::Selection::kModelAssisted;
      }
      auto runs = assay::testing::LeaveOneModelOut(data, base, cat);
      if (!runs.ok()) {
        std::fprintf(stderr, "%s\n", std::string(runs.status().message()).c_str());
        return 1;
      }
      for (const auto& r : *runs) {
        lomo_all.push_back(r);
        std::printf("lomo seed %d %-16s error %.3f (true items %.3f) covered %d (true items %d)\n",
                    seed, r.method.c_str(), 100 * r.error_calibrated, 100 * r.error_true,
                    r.covered_calibrated, r.covered_true);
      }
      continue;
    }
    for (const std::string& name : std::vector<std::string>(absl::StrSplit(methods, ','))) {
      FitOptions options = base;
      absl::StatusOr<assay::irt::FitMethod> method = assay::irt::ParseFitMethod(name);
      if (!method.ok()) {
        std::fprintf(stderr, "%s\n", std::string(method.status().message()).c_str());
        return 2;
      }
      options.method = *method;
      absl::StatusOr<assay::testing::ShapeFigures> f =
          assay::testing::MeasureShape(data, options, !no_split);
      if (!f.ok()) {
        std::fprintf(stderr, "%s\n", std::string(f.status().message()).c_str());
        return 1;
      }
      std::printf("%-4d %-16s %-16s %5d %4s %8.3f %9.5f %9.3f %9.3f %8.3f\n", seed, name.c_str(),
                  f->method.c_str(), f->iterations, f->converged ? "yes" : "no", f->seconds,
                  f->pearson_theta, 100 * f->max_accuracy_error, 100 * f->mean_accuracy_error,
                  f->split_half_rms);
      std::fflush(stdout);
    }
  }
  if (!lomo_all.empty()) {
    double e = 0, et = 0, c = 0, ct = 0;
    for (const auto& r : lomo_all) {
      e += r.error_calibrated;
      et += r.error_true;
      c += r.covered_calibrated;
      ct += r.covered_true;
    }
    const double k = static_cast<double>(lomo_all.size());
    std::printf("lomo %zu runs: mean error %.3f points (true items %.3f, ratio %.3f), "
                "coverage %.3f (true items %.3f)\n",
                lomo_all.size(), 100 * e / k, 100 * et / k, e / et, c / k, ct / k);
  }
  return 0;
}
