// Issue #5's MATH-500 held-out experiment, shared by tests/cat_test.cc (one split's curve, ten
// splits at 50 items) and tests/bench/cat_math500_bench.cc (many splits and seeds): calibrate a
// bank on 100 random rows of the 140, test on the other 40, and compare predictions of each row's
// full accuracy after k items.
#ifndef ASSAY_TESTS_TESTING_CAT_MATH500_H_
#define ASSAY_TESTS_TESTING_CAT_MATH500_H_

#include <cstdint>
#include <vector>

#include "core/base/eigen.h"
#include "core/cat/session.h"
#include "core/irt/fit.h"

namespace assay::testing {

// shared/data/math500.csv as a dense 0/1 matrix (140 rows × 500 items).
Eigen::MatrixXf Math500();

struct Math500Split {
  cat::Bank bank;         // calibrated (with `options`; default: the defaults) on 100 rows
  std::vector<int> test;  // the 40 held-out rows
};
// Rows shuffled by `seed`; the first 100 calibrate.
Math500Split SplitMath500(const Eigen::MatrixXf& y, uint64_t seed,
                          const irt::FitOptions& options = irt::FitOptions());
// The seed of the s-th split of a many-split run: 2026 (the test's single split), then 1, 2, ...
inline uint64_t Math500SplitSeed(int s) { return s == 0 ? 2026 : static_cast<uint64_t>(s); }

// Mean absolute errors in accuracy points over the split's test rows after k items.
struct Math500Curve {
  double cat = 0;                // max-information CAT
  double assisted = 0;           // model-assisted design, mean over `assisted_reps` seeds per row
  double assisted_coverage = 0;  // share of its nominal 95% intervals that hold the truth
  double random_irt = 0;         // k random items, observed + IRT prediction for the rest
  double sample_mean = 0;        // k random items, their plain mean
};
// `seed` drives the random items and the model-assisted draws.
Math500Curve Math500Experiment(const Eigen::MatrixXf& y, const Math500Split& split, int k,
                               uint64_t seed, int assisted_reps, cat::Estimator estimator);

// Every row held out in turn, as the demo tests one: calibrate (defaults) on the other 139 rows,
// run a session with `options` answering from the held-out row, and compare its prediction and
// nominal interval with the row's accuracy on all 500 items.
struct Math500LooFigures {
  int rows = 0;
  double mae = 0;       // mean |predicted − true| (fraction)
  double coverage = 0;  // share of intervals that hold the truth
};
Math500LooFigures Math500LeaveOneOut(const Eigen::MatrixXf& y, const cat::CatOptions& options);

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_CAT_MATH500_H_
