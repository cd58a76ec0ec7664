// Harness for comparisons (core/compare): runs a comparison to its end answering from two known
// rows of outcomes, checks the confidence sequence against the true Δ at every step, and sets up
// the MATH-500 pairs of issue #29. Shared by tests/compare_test.cc and tests/bench/compare_bench.cc.
#ifndef ASSAY_TESTS_TESTING_COMPARE_SIM_H_
#define ASSAY_TESTS_TESTING_COMPARE_SIM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/eigen.h"
#include "core/compare/comparison.h"
#include "core/irt/scoring.h"

namespace assay::testing {

struct CompareRun {
  int64_t items = 0, steps = 0;
  compare::Decision decision = compare::Decision::kUndecided;
  bool covered = true;  // the interval held the true Δ at every step
  double estimate = 0, lower = -1, upper = 1;
};

// Runs a comparison (options, seed included) of row b against row a (outcomes in [0, 1], one per
// bank item) until it finishes: baseline known gives a's row at start, else both are submitted.
// Items are answered in batches of `batch`.
CompareRun RunComparison(const irt::ItemBank& bank, const std::vector<double>& a,
                         const std::vector<double>& b, bool baseline_known,
                         const compare::CompareOptions& options, int batch = 1);

// True Δ of two rows.
double TrueDifference(const std::vector<double>& a, const std::vector<double>& b);

// A synthetic bank of n items (a ~ U(0.5, 2), b ~ N(0, 1)) and two 0/1 rows drawn from it at
// abilities θ_a, θ_b, then adjusted (flipping b's outcomes on random items) so that Δ is exactly
// `delta` (a multiple of 1/n).
struct SyntheticPair {
  irt::ItemBank bank;
  std::vector<double> a, b;
};
SyntheticPair SyntheticComparison(int n, double theta_a, double theta_b, double delta,
                                  uint64_t seed);

// MATH-500 (shared/data/math500.csv): the rows, their model names, the zero-shot/one-shot pairs
// (baseline zero-shot, candidate one-shot) and `count` seeded pairs of different models.
struct Math500Rows {
  Eigen::MatrixXf y;  // 140 × 500, 0/1
  std::vector<std::string> names;
};
Math500Rows LoadMath500Rows();
struct RowPair {
  int a = 0, b = 0;
};
std::vector<RowPair> ShotPairs(const Math500Rows& rows);
std::vector<RowPair> DifferentModelPairs(const Math500Rows& rows, int count, uint64_t seed);
// A bank calibrated (fit defaults) on every row but the pair's.
irt::ItemBank CalibrateWithout(const Math500Rows& rows, const RowPair& pair);
std::vector<double> Row(const Math500Rows& rows, int r);

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_COMPARE_SIM_H_
