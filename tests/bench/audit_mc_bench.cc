// The large Monte Carlo version of tests/audit_mc_test.cc and the confidence-sequence coverage
// check (default 20,000 replications each; --reps N). Prints a table; exits 1 if a validity bound
// (rate ≤ α + 3 Monte Carlo standard errors) fails.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <random>

#include "core/audit/confseq.h"
#include "tests/testing/audit_mc.h"

using namespace assay::testing;  // NOLINT(google-build-using-namespace): a small driver

int main(int argc, char** argv) {
  int reps = 20000;
  int cs_reps = 2000;
  CLI::App app{"audit_mc_bench"};
  app.add_option("--reps", reps);
  app.add_option("--cs-reps", cs_reps, "streams for the 1,000-grid confidence-sequence coverage");
  CLI11_PARSE(app, argc, argv);
  const double bound = 0.05 + 3 * std::sqrt(0.05 * 0.95 / reps);
  bool ok = true;
  const PaperMethod methods[] = {PaperMethod::kLr, PaperMethod::kSrLr, PaperMethod::kLrUi,
                                 PaperMethod::kSrLrUi};
  std::printf("replications %d; validity bound %.4f\n", reps, bound);
  std::printf("%-9s %8s %8s %8s %8s %9s %9s %9s %9s\n", "method", "FR(mod)", "FR(aud)", "FRadapt",
              "FRadaptA", "med@0.35", "med@0.95", "late", "paper");
  const double paper[] = {29, 33, 9, 11};
  for (PaperMethod m : methods) {
    const auto cfg = PaperConfig(m, 10);
    const McSummary boundary = RunAudits(cfg, Bernoulli(0.85), reps, 1);
    const McSummary hunt = RunAudits(cfg, AdaptiveStrata({0.85, 0.9, 0.99}, true), reps, 2);
    const McSummary show = RunAudits(cfg, AdaptiveStrata({0.85, 0.8, 0.5}, false), reps, 3);
    const McSummary low = RunAudits(cfg, Bernoulli(0.35), reps, 4);
    const McSummary high = RunAudits(cfg, Bernoulli(0.95), reps, 5);
    const McSummary late = RunAudits(cfg, Switching(0.95, 8, 0.35), reps, 6);
    std::printf("%-9s %8.4f %8.4f %8.4f %8.4f %9.1f %9.1f %9.1f %9.0f\n", PaperMethodName(m),
                boundary.failure_rate(), boundary.certified_rate(), hunt.failure_rate(),
                show.certified_rate(), low.median_failure_time, high.median_certified_time,
                late.median_failure_time, paper[static_cast<int>(m)]);
    ok = ok && boundary.failure_rate() <= bound && boundary.certified_rate() <= bound &&
         hunt.failure_rate() <= bound && show.certified_rate() <= bound;
  }
  // Confidence-sequence coverage on the production grid (1,000 points), horizon 2,000.
  const double cs_bound = 0.05 + 3 * std::sqrt(0.05 * 0.95 / cs_reps);
  for (auto bet : {assay::audit::CsBet::kPredictablePlugIn, assay::audit::CsBet::kAgrapa}) {
    std::mt19937_64 rng(77);
    std::bernoulli_distribution coin(0.85);
    int misses = 0;
    for (int r = 0; r < cs_reps; ++r) {
      assay::audit::ConfSeqOptions o;
      o.bet = bet;
      auto cs = assay::audit::ConfidenceSequence::Create(o).value();
      for (int t = 0; t < 2000; ++t) {
        if (!cs.Update(coin(rng) ? 1.0 : 0.0).ok()) return 2;
        if (cs.lower() > 0.85 || cs.upper() < 0.85) {
          ++misses;
          break;
        }
      }
    }
    const double rate = double(misses) / cs_reps;
    std::printf("CS %-6s grid 1000, %d streams x 2000: ever-miss %.4f (bound %.4f)\n",
                bet == assay::audit::CsBet::kAgrapa ? "aGRAPA" : "PrPl", cs_reps, rate, cs_bound);
    ok = ok && rate <= cs_bound;
  }
  std::printf("%s\n", ok ? "all validity bounds hold" : "VALIDITY BOUND FAILED");
  return ok ? 0 : 1;
}
