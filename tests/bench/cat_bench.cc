// Adaptive-testing step latency on a 12,032-item bank (MMLU-Pro size): Next() (selection over the
// whole bank) + Submit() (θ update), for MAP and EAP; "server step" adds the Estimate() that the
// server reports with every step. Designs: maximum information, anytime-valid sampling,
// model-assisted (stratified sampling over bands of p_j(θ̂)). Target ≤ 1 ms per step.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "core/cat/session.h"

namespace {

assay::cat::Bank MakeBank(Eigen::Index n) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> unif(0, 1);
  std::normal_distribution<double> normal(0, 1);
  assay::cat::Bank bank;
  bank.items.a = Eigen::VectorXd::NullaryExpr(n, [&] { return 0.5 + 1.5 * unif(rng); });
  bank.items.b = Eigen::VectorXd::NullaryExpr(n, [&] { return normal(rng); });
  return bank;
}

void BM_CatStep(benchmark::State& state) {
  static const assay::cat::Bank bank = MakeBank(12032);
  assay::cat::CatOptions o;
  o.estimator = state.range(0) ? assay::cat::Estimator::kEap : assay::cat::Estimator::kMap;
  o.anytime_valid = state.range(1) == 1;
  o.selection = state.range(1) == 2 ? assay::cat::Selection::kModelAssisted
                                    : assay::cat::Selection::kFisher;
  o.max_items = 200;
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> unif(0, 1);
  auto session = assay::cat::CatSession::Start(&bank, o).value();
  for (auto _ : state) {
    if (session.finished()) {
      state.PauseTiming();
      session = assay::cat::CatSession::Start(&bank, o).value();
      state.ResumeTiming();
    }
    const Eigen::Index j = session.Next(1).value().front();
    // The server's order per step is Submit, Next, Estimate; this loop runs the same cycle.
    if (state.range(2)) benchmark::DoNotOptimize(session.Estimate());
    const double p = 1 / (1 + std::exp(-(bank.items.a[j] * 0.7 + bank.items.b[j])));
    benchmark::DoNotOptimize(session.Submit(j, unif(rng) < p ? 1.0 : 0.0));
  }
  state.SetLabel(std::string(state.range(0) ? "EAP" : "MAP") +
                 (state.range(1) == 1 ? ", anytime-valid design" : "") +
                 (state.range(1) == 2 ? ", model-assisted design" : "") +
                 (state.range(2) ? ", server step (with Estimate)" : ""));
}
BENCHMARK(BM_CatStep)
    ->Args({0, 0, 0})
    ->Args({1, 0, 0})
    ->Args({0, 1, 0})
    ->Args({0, 2, 0})
    ->Args({1, 2, 1})
    ->Args({0, 0, 1})
    ->Args({1, 0, 1})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
