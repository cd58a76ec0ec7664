// Issue #29's figures for comparisons (core/compare), printed as tables:
//   mc:      seeded Monte Carlo on synthetic banks (default 20,000 replications per row): the
//            share of runs whose confidence sequence ever misses Δ (up to 2,000 steps, no
//            stopping), and false regressions at the boundary Δ = −δ with a client that stops at
//            the first decision; both pairings, uniform and adaptive draws.
//   math500: every zero-shot/one-shot pair and 60 pairs of different models, a bank calibrated
//            on the other 138 rows, 20 seeded replications each (α = 0.05, δ = 1 point):
//            coverage at every step, false regressions on healthy pairs (|Δ| ≤ 0.5 point), mean
//            items to a decision, against the plain paired CS (m ≡ 0, uniform) on the same runs
//            and a fixed-n paired z-test (valid only if nobody looks early).
// Exits 1 if a validity bound (rate ≤ α + 3 Monte Carlo standard errors) fails.
#include <CLI/CLI.hpp>
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "tests/testing/compare_sim.h"

using namespace assay;           // NOLINT(google-build-using-namespace): a small driver
using namespace assay::testing;  // NOLINT(google-build-using-namespace)

namespace {

struct Config {
  const char* name;
  bool baseline_known;
  compare::Design design;
  compare::Predictor predictor;
};

const Config kConfigs[] = {
    {"known/adaptive", true, compare::Design::kAdaptive, compare::Predictor::kModel},
    {"known/uniform", true, compare::Design::kUniform, compare::Predictor::kModel},
    {"both/adaptive", false, compare::Design::kAdaptive, compare::Predictor::kModel},
    {"both/uniform", false, compare::Design::kUniform, compare::Predictor::kModel},
    {"known/plain(m=0)", true, compare::Design::kUniform, compare::Predictor::kNone},
};

compare::CompareOptions OptionsOf(const Config& c, uint64_t seed) {
  compare::CompareOptions o;
  o.design = c.design;
  o.predictor = c.predictor;
  o.seed = seed;
  return o;
}

bool RunMc(int reps, int n, int only) {
  const double bound = 0.05 + 3 * std::sqrt(0.05 * 0.95 / reps);
  std::printf("Monte Carlo: %d replications per row, bank of %d items, alpha 0.05, delta 0.02; "
              "bound %.4f\n", reps, n, bound);
  std::printf("%-18s %12s %12s %14s\n", "config", "ever-miss", "false-regr", "mean-items(FR)");
  bool ok = true;
  for (int k = 0; k < 4; ++k) {  // both pairings × both designs (not the plain reference)
    if (only >= 0 && k != only) continue;
    const Config& c = kConfigs[k];
    int miss = 0, false_regression = 0;
    double items = 0;
    for (int r = 0; r < reps; ++r) {
      // Coverage: Δ = −0.05 between correlated rows, no stopping, up to 2,000 items.
      const SyntheticPair s = SyntheticComparison(n, 0.3, 0.1, -0.05, 1000003ULL * r + 1);
      compare::CompareOptions o = OptionsOf(c, static_cast<uint64_t>(r) + 1);
      o.delta = 0.02;
      o.stop_at_decision = false;
      o.max_items = 2000;
      if (!RunComparison(s.bank, s.a, s.b, c.baseline_known, o).covered) ++miss;
      // Boundary: Δ = −δ exactly; a regression is an error.
      const SyntheticPair t = SyntheticComparison(n, 0.3, 0.25, -0.02, 1000003ULL * r + 2);
      o.stop_at_decision = true;
      const CompareRun run = RunComparison(t.bank, t.a, t.b, c.baseline_known, o);
      if (run.decision == compare::Decision::kRegression) ++false_regression;
      items += static_cast<double>(run.items);
    }
    const double miss_rate = double(miss) / reps, fr = double(false_regression) / reps;
    ok = ok && miss_rate <= bound && fr <= bound;
    std::printf("%-18s %12.4f %12.4f %14.1f\n", c.name, miss_rate, fr, items / reps);
  }
  return ok;
}

bool RunMath500(int reps, int different, bool per_pair) {
  const Math500Rows rows = LoadMath500Rows();
  std::vector<RowPair> pairs = ShotPairs(rows);
  const size_t shot = pairs.size();
  for (const RowPair& p : DifferentModelPairs(rows, different, 2026)) pairs.push_back(p);
  std::printf("MATH-500: %zu zero/one-shot pairs + %d pairs of different models, %d replications "
              "each, alpha 0.05, delta 1 point, max_items 500\n", shot, different, reps);
  const int nc = static_cast<int>(std::size(kConfigs));
  std::vector<int> runs(nc), covered(nc), healthy(nc), healthy_fr(nc), decided(nc);
  std::vector<double> items(nc);
  int fixed_healthy = 0, fixed_healthy_fr = 0, fixed_decided = 0, fixed_runs = 0;
  constexpr int kFixedN = 100;
  for (size_t k = 0; k < pairs.size(); ++k) {
    const RowPair& p = pairs[k];
    const irt::ItemBank bank = CalibrateWithout(rows, p);
    const std::vector<double> a = Row(rows, p.a), b = Row(rows, p.b);
    const double truth = TrueDifference(a, b);
    const bool is_healthy = std::abs(truth) <= 0.005 + 1e-12;
    std::vector<double> pair_items(nc);
    for (int r = 0; r < reps; ++r) {
      for (int c = 0; c < nc; ++c) {
        const CompareRun run =
            RunComparison(bank, a, b, kConfigs[c].baseline_known,
                          OptionsOf(kConfigs[c], 7919ULL * k + static_cast<uint64_t>(r) + 1));
        ++runs[c];
        covered[c] += run.covered ? 1 : 0;
        items[c] += static_cast<double>(run.items);
        pair_items[c] += static_cast<double>(run.items) / reps;
        decided[c] += run.decision != compare::Decision::kInconclusive ? 1 : 0;
        if (is_healthy) {
          ++healthy[c];
          healthy_fr[c] += run.decision == compare::Decision::kRegression ? 1 : 0;
        }
      }
      // Fixed-n paired z-test on kFixedN items drawn without replacement (finite-population
      // correction): regression if the upper one-sided bound is below −δ.
      std::mt19937_64 rng(7919ULL * k + static_cast<uint64_t>(r) + 99);
      std::vector<int> idx(a.size());
      std::iota(idx.begin(), idx.end(), 0);
      std::shuffle(idx.begin(), idx.end(), rng);
      double sum = 0, sq = 0;
      for (int i = 0; i < kFixedN; ++i) {
        const double d = b[static_cast<size_t>(idx[static_cast<size_t>(i)])] -
                         a[static_cast<size_t>(idx[static_cast<size_t>(i)])];
        sum += d;
        sq += d * d;
      }
      const double mean = sum / kFixedN, var = (sq - kFixedN * mean * mean) / (kFixedN - 1);
      const double fpc = (500.0 - kFixedN) / (500.0 - 1);
      const double half = 1.6449 * std::sqrt(var / kFixedN * fpc);
      const bool regression = mean + half < -0.01, pass = mean - half > -0.01;
      ++fixed_runs;
      fixed_decided += (regression || pass) ? 1 : 0;
      if (is_healthy) {
        ++fixed_healthy;
        fixed_healthy_fr += regression ? 1 : 0;
      }
    }
    if (per_pair) {
      std::printf("pair %3zu delta %+7.3f items", k, 100 * truth);
      for (int c = 0; c < nc; ++c) std::printf(" %6.1f", pair_items[c]);
      std::printf("\n");
    }
  }
  bool ok = true;
  if (per_pair) std::printf("\n");
  std::printf("%-18s %10s %12s %10s %12s\n", "config", "coverage", "healthy-FR", "decided",
              "mean-items");
  for (int c = 0; c < nc; ++c) {
    const double cov = double(covered[c]) / runs[c];
    const double fr = healthy[c] ? double(healthy_fr[c]) / healthy[c] : 0;
    ok = ok && cov >= 0.95 && fr <= 0.05;
    std::printf("%-18s %10.4f %7.4f(%4d) %10.4f %12.1f\n", kConfigs[c].name, cov, fr, healthy[c],
                double(decided[c]) / runs[c], items[c] / runs[c]);
  }
  std::printf("%-18s %10s %7.4f(%4d) %10.4f %12d\n", "fixed-n z (n=100)", "-",
              fixed_healthy ? double(fixed_healthy_fr) / fixed_healthy : 0.0, fixed_healthy,
              double(fixed_decided) / fixed_runs, kFixedN);
  const double saving = 1 - items[1] / items[4];
  std::printf("items saved by the default (baseline known: uniform draws, paired predictor) "
              "against the plain paired CS on the same runs: %.1f%%\n",
              100 * saving);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  int mc_config = -1;
  int mc_reps = 20000, mc_items = 2000, math_reps = 20, different = 60;
  bool mc = true, math = true, per_pair = false;
  CLI::App app{"compare_bench"};
  app.add_option("--mc-reps", mc_reps);
  app.add_option("--mc-items", mc_items);
  app.add_option("--mc-config", mc_config,
                 "only this Monte Carlo row (0-3, the table's order), to run rows in parallel");
  app.add_option("--math-reps", math_reps);
  app.add_option("--different-pairs", different);
  app.add_flag("!--no-mc", mc);
  app.add_flag("!--no-math500", math);
  app.add_flag("--per-pair", per_pair, "print each MATH-500 pair's Δ (points) and mean items");
  CLI11_PARSE(app, argc, argv);
  bool ok = true;
  if (mc) ok = RunMc(mc_reps, mc_items, mc_config) && ok;
  if (math) ok = RunMath500(math_reps, different, per_pair) && ok;
  return ok ? 0 : 1;
}
