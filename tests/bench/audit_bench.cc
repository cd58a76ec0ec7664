// Audit throughput: label updates (fixed and EWAF bets), confidence-sequence updates on a
// 1,000-point grid, and replay of a 1M-label event log. Google Benchmark.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "core/audit/audit.h"
#include "core/audit/confseq.h"
#include "tests/testing/audit_mc.h"

namespace {

using assay::audit::Audit;
using assay::audit::AuditConfig;
using assay::audit::Event;

AuditConfig Unstoppable(bool ewaf, int cs_grid = 0) {
  AuditConfig c = assay::testing::PaperConfig(
      ewaf ? assay::testing::PaperMethod::kSrLrUi : assay::testing::PaperMethod::kSrLr, 10);
  c.alpha = 1e-300;  // never decides: measure steady-state updates
  c.max_samples = 1 << 30;
  c.cs_grid = cs_grid;
  return c;
}

std::vector<double> Labels(size_t n) {
  std::mt19937_64 rng(1);
  std::bernoulli_distribution coin(0.85);
  std::vector<double> y(n);
  for (double& v : y) v = coin(rng) ? 1.0 : 0.0;
  return y;
}

void BM_AuditLabel(benchmark::State& state) {
  const bool ewaf = state.range(0) != 0;
  const int cs_grid = static_cast<int>(state.range(1));
  Audit a = Audit::Create(Unstoppable(ewaf, cs_grid)).value();
  const std::vector<double> y = Labels(1 << 16);
  size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a.Observe(y[k++ & 0xffff]));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(
      std::string(ewaf ? "EWAF bets (5+3 grid)" : "fixed bets") +
      (cs_grid > 0 ? ", with 1000-point confidence sequence" : ", no confidence sequence"));
}
BENCHMARK(BM_AuditLabel)->Args({0, 0})->Args({1, 0})->Args({0, 1000})->Args({1, 1000});

void BM_ConfidenceSequenceUpdate(benchmark::State& state) {
  assay::audit::ConfSeqOptions o;
  o.grid = static_cast<int>(state.range(0));
  o.bet = state.range(1) ? assay::audit::CsBet::kAgrapa : assay::audit::CsBet::kPredictablePlugIn;
  auto cs = assay::audit::ConfidenceSequence::Create(o).value();
  const std::vector<double> y = Labels(1 << 16);
  size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cs.Update(y[k++ & 0xffff]));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(state.range(1) ? "aGRAPA" : "predictable plug-in");
}
BENCHMARK(BM_ConfidenceSequenceUpdate)->Args({1000, 0})->Args({1000, 1});

void BM_Replay1MLabels(benchmark::State& state) {
  const AuditConfig c = Unstoppable(state.range(0) != 0);
  Audit live = Audit::Create(c).value();
  std::vector<Event> log;
  log.reserve(2'000'000);
  const std::vector<double> y = Labels(1'000'000);
  for (size_t k = 0; k < y.size(); ++k) {
    const std::string id = "c" + std::to_string(k);
    log.push_back(live.HandOut(id).value());
    log.push_back(live.SubmitLabel(id, y[k]).value());
  }
  for (auto _ : state) {
    auto replayed = Audit::Replay(c, log);
    if (!replayed.ok() || !(*replayed == live)) state.SkipWithError("replay differs");
  }
  state.SetItemsProcessed(state.iterations() * 1'000'000);
  state.SetLabel(state.range(0) ? "EWAF, 1M labels" : "fixed, 1M labels");
}
BENCHMARK(BM_Replay1MLabels)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
