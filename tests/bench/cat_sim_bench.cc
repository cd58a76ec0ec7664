// Issue #5's synthetic experiment at full size: calibrate a bank on a simulated 2,211 × 12,032
// response matrix (2PL, the paper's DGP with a ~ U(0.5, 2)), then on held-out simulated models:
// θ RMSE of 100 random items vs adaptive choice with 25/50 items, coverage of the nominal 95%
// prediction interval, and coverage of the anytime-valid interval under optional stopping.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "core/cat/session.h"
#include "core/irt/fit.h"
#include "tests/testing/irt_sim.h"

int main(int argc, char** argv) {
  int models = 2211, items = 12032, held_out = 200, anytime_sessions = 200;
  CLI::App app{"cat_sim_bench"};
  app.add_option("--models", models);
  app.add_option("--items", items);
  app.add_option("--held-out", held_out);
  app.add_option("--anytime-sessions", anytime_sessions);
  CLI11_PARSE(app, argc, argv);

  assay::testing::SimOptions sim;
  sim.models = models;
  sim.items = items;
  sim.missing = 0.0;
  sim.a_min = 0.5;
  sim.a_max = 2.0;
  sim.seed = 3;
  const auto t0 = std::chrono::steady_clock::now();
  const assay::testing::Simulated s = assay::testing::Simulate(sim);
  assay::irt::FitOptions fit_options;
  fit_options.threads = 2;
  const assay::irt::FitResult fit = assay::irt::Fit(s.data, fit_options).value();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  assay::cat::Bank bank;
  bank.items.a = fit.params.a.col(0);
  bank.items.b = fit.params.b;
  // Held-out models are drawn on the truth's scale; map the truth to the fitted scale so θ errors
  // compare like with like (the fit's normalization is an affine map of the true θ scale).
  const Eigen::VectorXd& t_true = s.truth.theta.col(0);
  const Eigen::VectorXd& t_fit = fit.params.theta.col(0);
  const double slope = ((t_true.array() - t_true.mean()) * (t_fit.array() - t_fit.mean())).sum() /
                       (t_true.array() - t_true.mean()).square().sum();
  const double intercept = t_fit.mean() - slope * t_true.mean();
  std::printf("bank: %d items calibrated on %d models in %.1f s (simulate + fit)\n", items, models,
              secs);

  std::mt19937_64 rng(17);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> unif(0, 1);
  auto realized = [&](double theta) {
    Eigen::VectorXd y(items);
    for (Eigen::Index j = 0; j < items; ++j) {
      y[j] = unif(rng) < 1 / (1 + std::exp(-(s.truth.a(j, 0) * theta + s.truth.b[j]))) ? 1.0 : 0.0;
    }
    return y;
  };
  double sq_random = 0;
  std::vector<double> sq_adaptive(101, 0.0);
  int covered = 0;
  for (int m = 0; m < held_out; ++m) {
    const double theta = normal(rng);
    const double target = intercept + slope * theta;
    const Eigen::VectorXd y = realized(theta);
    std::vector<assay::irt::Response> random;
    for (int k = 0; k < 100; ++k) {
      const Eigen::Index j = static_cast<Eigen::Index>(unif(rng) * items);
      random.push_back({j, y[j], 1.0});
    }
    sq_random += std::pow(assay::irt::ScoreMap(bank.items, random).value().theta - target, 2);
    assay::cat::CatOptions o;
    o.selection = assay::cat::Selection::kFisher;  // the classic CAT this bench measures
    o.max_items = 100;
    auto session = assay::cat::CatSession::Start(&bank, o).value();
    for (int k = 1; k <= 100; ++k) {
      const Eigen::Index j = session.Next(1).value().front();
      if (!session.Submit(j, y[j]).ok()) return 2;
      sq_adaptive[k] += std::pow(session.Estimate().theta - target, 2);
      if (k == 50) {
        const auto e = session.Estimate();
        covered += e.lower <= y.mean() && y.mean() <= e.upper;
      }
    }
  }
  const double rmse_random = std::sqrt(sq_random / held_out);
  int needed = -1;
  for (int k = 1; k <= 100 && needed < 0; ++k) {
    if (std::sqrt(sq_adaptive[k] / held_out) <= rmse_random) needed = k;
  }
  std::printf(
      "theta RMSE: 100 random items %.4f; adaptive 25 items %.4f, 50 items %.4f; adaptive reaches "
      "the "
      "random-100 RMSE after %d items\n",
      rmse_random, std::sqrt(sq_adaptive[25] / held_out), std::sqrt(sq_adaptive[50] / held_out),
      needed);
  std::printf("nominal 95%% prediction interval after 50 items covers %.3f of %d held-out models\n",
              double(covered) / held_out, held_out);

  int missed = 0;
  double width = 0;
  for (int m = 0; m < anytime_sessions; ++m) {
    const Eigen::VectorXd y = realized(normal(rng));
    assay::cat::CatOptions o;
    o.selection = assay::cat::Selection::kFisher;
    o.anytime_valid = true;
    o.max_items = 200;
    o.seed = static_cast<uint64_t>(m) + 1;
    auto session = assay::cat::CatSession::Start(&bank, o).value();
    bool miss = false;
    while (!session.finished()) {
      auto next = session.Next(1);
      if (!next.ok()) break;
      if (!session.Submit(next->front(), y[next->front()]).ok()) return 2;
      const auto e = session.Estimate();
      miss = miss || e.cs_lower > y.mean() || e.cs_upper < y.mean();
    }
    missed += miss;
    width += session.Estimate().cs_upper - session.Estimate().cs_lower;
  }
  std::printf(
      "anytime-valid interval: covers %.3f of %d sessions at every step (optional stopping); mean "
      "width "
      "after 200 items %.3f\n",
      1 - double(missed) / anytime_sessions, anytime_sessions, width / anytime_sessions);
  return 0;
}
