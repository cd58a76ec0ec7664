// irt_fit_bench: fits a simulated response matrix and prints wall time, iterations, sweeps,
// ns per observed cell per sweep, peak memory, and (since the truth is known) recovery metrics.
//
//   irt_fit_bench --models 2211 --items 12032 [--missing 0.5] [--threads 2] [--ridge 0.01]
//                 [--paper] [--tol 1e-8] [--seed 1] [--trials 1] [--a-min 0.5 --a-max 1]
//                 [--shrink-items] [--reps R]
//
// Simulation uses the paper's DGP (θ ~ N(0,1), a ~ U(a_min, a_max), b ~ N(0, 0.5²)). Large complete
// matrices are generated straight into the dense layout (4 bytes per cell) so that peak memory
// reflects what a fit needs.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "core/base/yield.h"
#include "core/irt/fit.h"
#include "tests/testing/irt_sim.h"

namespace {

double PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// Complete matrix straight into the dense layout; with --missing > 0 goes through Simulate().
assay::testing::Simulated Generate(const assay::testing::SimOptions& o) {
  if (o.missing > 0 || o.trials > 1) return assay::testing::Simulate(o);
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> unif(0, 1);
  assay::irt::IrtParams t;
  t.theta = Eigen::MatrixXd::NullaryExpr(o.models, 1, [&] { return normal(rng); });
  t.a = Eigen::MatrixXd::NullaryExpr(o.items, 1,
                                     [&] { return o.a_min + (o.a_max - o.a_min) * unif(rng); });
  t.b = Eigen::VectorXd::NullaryExpr(o.items, [&] { return o.b_sd * normal(rng); });
  Eigen::MatrixXf y(o.models, o.items);
  for (Eigen::Index j = 0; j < o.items; ++j) {
    for (Eigen::Index i = 0; i < o.models; ++i) {
      const double p = 1 / (1 + std::exp(-(t.theta(i, 0) * t.a(j, 0) + t.b[j])));
      y(i, j) = unif(rng) < p ? 1.0f : 0.0f;
    }
  }
  std::vector<std::string> models(o.models), items(o.items);
  for (Eigen::Index i = 0; i < o.models; ++i) models[i] = "m" + std::to_string(i);
  for (Eigen::Index j = 0; j < o.items; ++j) items[j] = "q" + std::to_string(j);
  auto data =
      assay::irt::ResponseMatrix::FromDense(std::move(models), std::move(items), std::move(y));
  return {std::move(data).value(), std::move(t)};
}

void PrintRecovery(const char* label, const assay::testing::Recovery& r,
                   const assay::testing::Recovery& oracle) {
  std::printf(
      "%s: spearman_a %.4f rmse_b %.4f frobenius %.4f hellinger %.4f spearman_theta %.4f | "
      "items fitted with the true abilities: spearman_a %.4f rmse_b %.4f\n",
      label, r.spearman_a, r.rmse_b, r.frobenius, r.hellinger, r.spearman_theta, oracle.spearman_a,
      oracle.rmse_b);
}

}  // namespace

int main(int argc, char** argv) {
  assay::testing::SimOptions sim;
  sim.missing = 0;
  assay::irt::FitOptions fit;
  bool paper = false, bayes_oracle = false, yield_often = false;
  double tol = 0;
  int max_iter = 0;
  CLI::App app{"irt_fit_bench: time a 2PL fit on simulated data"};
  app.add_option("--models", sim.models);
  app.add_option("--items", sim.items);
  app.add_option("--missing", sim.missing);
  app.add_option("--trials", sim.trials);
  app.add_option("--seed", sim.seed);
  app.add_option("--a-min", sim.a_min);
  app.add_option("--a-max", sim.a_max);
  app.add_option("--threads", fit.threads);
  app.add_option("--ridge", fit.ridge);
  app.add_option("--tol", tol, "relative loss change (default: mode's)");
  app.add_option("--max-iter", max_iter);
  app.add_option("--grad-tol", fit.grad_tol);
  app.add_option("--param-tol", fit.param_tol);
  app.add_flag("--paper", paper);
  app.add_flag("--shrink-items", fit.shrink_items);
  app.add_flag("--yield-often", yield_often,
               "yield the core every few tens of µs, as assayd's fits do (core/base/yield.h)");
  app.add_flag("--bayes-oracle", bayes_oracle,
               "also rank items by their posterior mean of a given the true abilities and prior "
               "(slow: ~30 s per 1000 x 1000 seed here)");
  int reps = 1;
  app.add_option(
      "--reps", reps,
      "repeat with seeds seed, seed+1, ...; with <= 4M cells prints each seed's recovery "
      "and the mean (Monte Carlo of the accuracy targets)");
  CLI11_PARSE(app, argc, argv);
  if (paper) {
    const int threads = fit.threads;
    fit = assay::irt::FitOptions::Paper();
    fit.threads = threads;
  }
  if (tol > 0) fit.tol = tol;
  if (max_iter > 0) fit.max_iter = max_iter;
  fit.keep_loss_history = false;
  assay::SetYieldOften(yield_often);

  std::vector<assay::testing::Recovery> recovered, oracle;
  double bayes_spearman_sum = 0;
  for (int rep = 0; rep < reps; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    assay::testing::Simulated s = Generate(sim);
    const auto t1 = std::chrono::steady_clock::now();
    auto result = assay::irt::Fit(s.data, fit);
    const auto t2 = std::chrono::steady_clock::now();
    if (!result.ok()) {
      std::fprintf(stderr, "fit failed: %s\n", result.status().ToString().c_str());
      return 1;
    }
    const double gen_s = std::chrono::duration<double>(t1 - t0).count();
    const double fit_s = std::chrono::duration<double>(t2 - t1).count();
    const auto& d = result->diagnostics;
    const double cells = static_cast<double>(s.data.num_observed());
    std::printf(
        "seed %llu size %lldx%lld observed %.0f (%.0f%%) %s, mode %s%s, threads %d\n",
        static_cast<unsigned long long>(sim.seed), static_cast<long long>(s.data.num_models()),
        static_cast<long long>(s.data.num_items()), cells,
        100 * cells / (double(sim.models) * double(sim.items)), s.data.dense() ? "dense" : "sparse",
        paper ? "paper" : "production", fit.shrink_items ? " + shrink_items" : "", fit.threads);
    std::printf(
        "fit %.3f s  (generate %.2f s)  iterations %d  sweeps %d  %.2f ns/cell/sweep  "
        "converged %d (%s)  peak RSS %.0f MiB\n",
        fit_s, gen_s, d.iterations, d.sweeps, 1e9 * fit_s / (cells * d.sweeps), d.converged,
        d.stop_reason.c_str(), PeakRssMiB());
    std::printf("final: loss %.10g rel_change %.2e kkt %.2e param_change %.2e\n", d.loss,
                d.rel_loss_change, d.kkt_residual, d.max_param_change);
    if (s.data.num_models() * s.data.num_items() <= 4'000'000) {
      recovered.push_back(assay::testing::PaperMetrics(result->params, s.truth));
      // Items fitted knowing θ (in the truth's own convention): the design's information bound.
      const assay::irt::IrtParams o = assay::testing::ItemsGivenTrueAbilities(s.data, s.truth);
      oracle.push_back({assay::testing::Spearman(o.a.col(0), s.truth.a.col(0)),
                        assay::testing::Rmse(o.b, s.truth.b), 0, 0, 0});
      PrintRecovery("recovery", recovered.back(), oracle.back());
      if (bayes_oracle) {
        const double rho = assay::testing::Spearman(
            assay::testing::PosteriorMeanDiscriminations(s.data, s.truth, sim), s.truth.a.col(0));
        bayes_spearman_sum += rho;
        std::printf(
            "items ranked by posterior mean given the true abilities and prior: "
            "spearman_a %.4f\n",
            rho);
      }
    }
    ++sim.seed;
  }
  if (recovered.size() > 1) {
    auto mean = [](const std::vector<assay::testing::Recovery>& v) {
      assay::testing::Recovery m{0, 0, 0, 0, 0};
      for (const auto& r : v) {
        m.spearman_a += r.spearman_a / v.size();
        m.rmse_b += r.rmse_b / v.size();
        m.frobenius += r.frobenius / v.size();
        m.hellinger += r.hellinger / v.size();
        m.spearman_theta += r.spearman_theta / v.size();
      }
      return m;
    };
    PrintRecovery("mean over seeds", mean(recovered), mean(oracle));
    if (bayes_oracle) {
      std::printf(
          "mean over seeds, items ranked by posterior mean given the true abilities and "
          "prior: spearman_a %.4f\n",
          bayes_spearman_sum / recovered.size());
    }
  }
  return 0;
}
