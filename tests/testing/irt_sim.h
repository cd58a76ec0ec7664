// Simulated response data from a known 2PL model, and the accuracy metrics of the paper.
#ifndef ASSAY_TESTS_TESTING_IRT_SIM_H_
#define ASSAY_TESTS_TESTING_IRT_SIM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "core/base/eigen.h"
#include "core/cat/session.h"
#include "core/irt/fit.h"
#include "core/irt/responses.h"

namespace assay::testing {

struct SimOptions {
  Eigen::Index models = 1000;
  Eigen::Index items = 1000;
  int dims = 1;
  double missing = 0.2;             // fraction of cells left out at random
  int trials = 1;                   // samples per cell (k of n when > 1)
  bool majority_vote = false;       // with trials > 1: collapse each cell to its majority (binary)
  double a_min = 0.5, a_max = 1.0;  // a ~ U(a_min, a_max)
  double b_sd = 0.5;                // b ~ N(0, b_sd²); θ ~ N(0, I)
  uint64_t seed = 1;
};

struct Simulated {
  irt::ResponseMatrix data;
  irt::IrtParams truth;
};

Simulated Simulate(const SimOptions& options);

// Spearman rank correlation (average ranks for ties).
double Spearman(const Eigen::VectorXd& x, const Eigen::VectorXd& y);
double Rmse(const Eigen::VectorXd& x, const Eigen::VectorXd& y);
// Over all N×J cells: ‖X̂ − X‖_F / ‖X‖_F, and the mean Hellinger distance between Bernoulli(p̂_ij)
// and Bernoulli(p_ij) (σ = 1).
double RelativeFrobeniusError(const irt::IrtParams& estimate, const irt::IrtParams& truth);
double MeanHellinger(const irt::IrtParams& estimate, const irt::IrtParams& truth);

// The paper's accuracy metrics of a normalized `estimate` (K = 1). The parameters are identified
// only up to the normalization, so the truth is first brought to the same convention (θ centred,
// unit sd; X unchanged): against the raw truth even a perfect estimator would miss b by a·mean(θ)
// and a by the sample's sd(θ).
struct Recovery {
  double spearman_a, rmse_b, frobenius, hellinger, spearman_theta;
};
Recovery PaperMetrics(const irt::IrtParams& estimate, irt::IrtParams truth);

// The item estimates an oracle would get (K = 1, σ = 1): each item's (a_j, b_j) by Newton's method
// on its own likelihood with the abilities fixed at the truth's. What no estimator that must also
// learn θ can beat by more than chance: the information bound of the design.
irt::IrtParams ItemsGivenTrueAbilities(const irt::ResponseMatrix& data,
                                       const irt::IrtParams& truth);

// The same oracle made Bayesian (K = 1, σ = 1, the data's weights as trials): each item's
// posterior mean of a_j under the simulation's own prior (a ~ U(a_min, a_max), b ~ N(0, b_sd²)),
// the abilities fixed at the truth's, on a 41 × 61 grid (b within ±4 b_sd). Ranking items by it
// shrinks the noisier estimates most, as a rank-minded estimator that knew θ and the prior would;
// it tells whether shrinkage could beat the rank correlation of the MLE oracle above.
Eigen::VectorXd PosteriorMeanDiscriminations(const irt::ResponseMatrix& data,
                                             const irt::IrtParams& truth, const SimOptions& prior);

// The matrix restricted to `items` (in that order), models unchanged.
irt::ResponseMatrix SelectItems(const irt::ResponseMatrix& data,
                                const std::vector<Eigen::Index>& items);

double Pearson(const Eigen::VectorXd& x, const Eigen::VectorXd& y);

// Each model's true expected accuracy over all items: mean_j P(correct | truth) (K = 1, σ = 1).
Eigen::VectorXd TrueAccuracy(const irt::IrtParams& truth);

// What the calibration-shapes issue measures on a simulated matrix with one set of options.
struct ShapeFigures {
  std::string method;           // the estimator that ran
  int iterations = 0;
  bool converged = false;
  double seconds = 0;           // the fit alone
  double pearson_theta = 0;     // Pearson(θ̂, θ)
  double max_accuracy_error = 0, mean_accuracy_error = 0;  // |predicted − true|, fractions
  // Split-half: two fits on the even and the odd items; RMS over models of
  // (θ̂₁ − θ̂₂)/√(se₁² + se₂²). NaN when not asked for.
  double split_half_rms = 0;
};
absl::StatusOr<ShapeFigures> MeasureShape(const Simulated& sim, const irt::FitOptions& options,
                                          bool split_half);

// Leave-one-model-out adaptive testing (the calibration-shapes issue): for each model k of a
// complete simulated matrix, calibrate on the others with `fit` options, then run an adaptive
// test of model k with `cat` options, answering from its simulated responses,
// once on that calibration's bank and once on the true item parameters. Errors and coverage are
// against k's true expected accuracy (TrueAccuracy).
struct LomoRun {
  std::string method;  // the calibration's estimator
  double error_calibrated = 0, error_true = 0;  // |predicted − true|
  bool covered_calibrated = false, covered_true = false;  // the nominal interval holds the truth
};
absl::StatusOr<std::vector<LomoRun>> LeaveOneModelOut(const Simulated& sim,
                                                      const irt::FitOptions& fit,
                                                      const cat::CatOptions& cat);

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_IRT_SIM_H_
