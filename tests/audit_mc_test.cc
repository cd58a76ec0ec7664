// Seeded Monte Carlo checks of the audit's statistical promises (fast version: 2,000 replications;
// tests/bench/audit_bench runs ≥ 20,000).
#include "tests/testing/audit_mc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

namespace assay::testing {
namespace {

constexpr int kReps = 2000;
// α plus three Monte Carlo standard errors of a rate near α.
const double kAlphaBound = 0.05 + 3 * std::sqrt(0.05 * 0.95 / kReps);

const PaperMethod kMethods[] = {PaperMethod::kLr, PaperMethod::kSrLr, PaperMethod::kLrUi,
                                PaperMethod::kSrLrUi};

TEST(AuditMonteCarloTest, BoundaryFalseRejectionAtMostAlpha) {
  for (PaperMethod m : kMethods) {
    const McSummary s =
        RunAudits(PaperConfig(m, 10), Bernoulli(0.85), kReps, 100 + static_cast<int>(m));
    std::printf("p = tau, %-9s false 'failure found' %.4f, false 'certified' %.4f\n",
                PaperMethodName(m), s.failure_rate(), s.certified_rate());
    EXPECT_LE(s.failure_rate(), kAlphaBound) << PaperMethodName(m);
    EXPECT_LE(s.certified_rate(), kAlphaBound) << PaperMethodName(m);
  }
}

TEST(AuditMonteCarloTest, AdaptiveSamplerCannotBreakValidity) {
  for (PaperMethod m : kMethods) {
    // Model null true (every stratum ≥ τ) while the auditor hunts the weakest stratum.
    const McSummary hunt =
        RunAudits(PaperConfig(m, 10), AdaptiveStrata({0.85, 0.9, 0.99}, true), kReps, 7);
    // Auditor null true (every stratum ≤ τ) while the auditor picks the strongest stratum.
    const McSummary show =
        RunAudits(PaperConfig(m, 10), AdaptiveStrata({0.85, 0.8, 0.5}, false), kReps, 8);
    std::printf("adaptive, %-9s false 'failure found' %.4f, false 'certified' %.4f\n",
                PaperMethodName(m), hunt.failure_rate(), show.certified_rate());
    EXPECT_LE(hunt.failure_rate(), kAlphaBound) << PaperMethodName(m);
    EXPECT_LE(show.certified_rate(), kAlphaBound) << PaperMethodName(m);
  }
}

// Bounded scores (graded answers): two-point scores {0.7, 1.0} with mean exactly τ = 0.85.
TEST(AuditMonteCarloTest, BoundedScoresAtTheBoundaryStayValid) {
  const LabelSource scores = [](int64_t, const std::vector<double>&, std::mt19937_64& rng) {
    return std::bernoulli_distribution(0.5)(rng) ? 1.0 : 0.7;
  };
  for (PaperMethod m : kMethods) {
    const McSummary s = RunAudits(PaperConfig(m, 10), scores, kReps, 200 + static_cast<int>(m));
    std::printf("scores, %-9s false 'failure found' %.4f, false 'certified' %.4f\n",
                PaperMethodName(m), s.failure_rate(), s.certified_rate());
    EXPECT_LE(s.failure_rate(), kAlphaBound) << PaperMethodName(m);
    EXPECT_LE(s.certified_rate(), kAlphaBound) << PaperMethodName(m);
  }
}

// The spec's medians (p = 0.35, tested observations to "failure mode found"): LR 29, SR-LR (m=10)
// 33, LR-UI 9, SR-LR-UI (m=10) 11; within 20%.
TEST(AuditMonteCarloTest, MedianTimesToFailureMatchThePaper) {
  const double want[] = {29, 33, 9, 11};
  for (PaperMethod m : kMethods) {
    const McSummary s =
        RunAudits(PaperConfig(m, 10), Bernoulli(0.35), kReps, 300 + static_cast<int>(m));
    const double got = s.median_failure_time;
    std::printf("p = 0.35, %-9s median to failure %.1f (paper %.0f), found %.3f\n",
                PaperMethodName(m), got, want[static_cast<int>(m)], s.failure_rate());
    EXPECT_LE(std::abs(got - want[static_cast<int>(m)]), 0.2 * want[static_cast<int>(m)])
        << PaperMethodName(m);
  }
}

// p = 0.95: median to "certified" 69–94 across methods (allowing 20% either side).
TEST(AuditMonteCarloTest, MedianTimesToCertifyMatchThePaper) {
  for (PaperMethod m : kMethods) {
    const McSummary s =
        RunAudits(PaperConfig(m, 10), Bernoulli(0.95), kReps, 400 + static_cast<int>(m));
    std::printf("p = 0.95, %-9s median to certified %.1f, certified %.3f\n", PaperMethodName(m),
                s.median_certified_time, s.certified_rate());
    EXPECT_GE(s.median_certified_time, 69 * 0.8) << PaperMethodName(m);
    EXPECT_LE(s.median_certified_time, 94 * 1.2) << PaperMethodName(m);
  }
}

// Late discovery: p = 0.95 for 8 draws, then 0.35. SR-LR-UI median 18 vs SR-LR 37.
TEST(AuditMonteCarloTest, LateDiscoveryFavoursSrLrUi) {
  const McSummary ui =
      RunAudits(PaperConfig(PaperMethod::kSrLrUi, 10), Switching(0.95, 8, 0.35), kReps, 500);
  const McSummary plain =
      RunAudits(PaperConfig(PaperMethod::kSrLr, 10), Switching(0.95, 8, 0.35), kReps, 501);
  std::printf("late discovery: SR-LR-UI median %.1f (paper 18), SR-LR median %.1f (paper 37)\n",
              ui.median_failure_time, plain.median_failure_time);
  EXPECT_LE(std::abs(ui.median_failure_time - 18), 0.2 * 18);
  EXPECT_LE(std::abs(plain.median_failure_time - 37), 0.2 * 37);
  EXPECT_LT(ui.median_failure_time, plain.median_failure_time);
}

}  // namespace
}  // namespace assay::testing
