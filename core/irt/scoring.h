// Scoring one model against a fixed calibration (K = 1): its ability θ and standard error from its
// responses to some of the bank's items, with the items' a and b held fixed. This is also the
// ability update inside adaptive testing.
#ifndef ASSAY_CORE_IRT_SCORING_H_
#define ASSAY_CORE_IRT_SCORING_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/base/eigen.h"

namespace assay::irt {

// A calibrated item bank (unidimensional, normalized scale).
struct ItemBank {
  Eigen::VectorXd a;  // discriminations ≥ 0
  Eigen::VectorXd b;  // intercepts; P(correct | θ) = logistic((a·θ + b)/σ)
  double sigma = 1.0;
  // Optional (empty, or one per item): posterior SDs of a and b when the items are reported by
  // posterior mean (a marginal-items calibration, core/irt/marginal.h). Predictions then average
  // each item's probability over its posterior (ItemLogit): in predictions, in the ability
  // likelihood of ScoreMap and adaptive tests, and in their item information.
  Eigen::VectorXd a_sd, b_sd;
  Eigen::VectorXd ab_cov;  // optional with the SDs (empty: a and b taken as independent)
  Eigen::Index size() const { return a.size(); }
  // InvalidArgument for mismatched sizes, non-finite values, a < 0, a negative SD or σ ≤ 0.
  absl::Status Validate() const;
  // The logit z_j(θ), P(correct | θ) = logistic(z), and its slope dz/dθ. Point values:
  // z = (a·θ + b)/σ. With posterior SDs, the posterior predictive by the probit approximation
  // E[logistic(x)] ≈ logistic(μ/√(1 + πv/8)) for x ~ N(μ, v), μ = (a·θ + b)/σ and
  // v = (θ²·a_sd² + 2θ·ab_cov + b_sd²)/σ² (ab_cov 0 when absent): z = μ/√(1 + πv/8).
  struct Logit {
    double z, slope;
  };
  Logit ItemLogit(Eigen::Index item, double theta) const;
  // ItemLogit(item, θ).z at each θ of `thetas`.
  Eigen::ArrayXd ItemLogits(Eigen::Index item, const Eigen::ArrayXd& thetas) const;
  // Every item's logistic(z) and slope at θ. O(J).
  Eigen::ArrayXd Probabilities(double theta) const;
  Eigen::ArrayXd Slopes(double theta) const;
  bool has_posteriors() const { return a_sd.size() != 0; }
};

// One response: `successes` out of `trials` (binary: 0/1 of 1; a score in [0,1]: score of 1).
struct Response {
  Eigen::Index item;
  double successes;
  double trials = 1.0;
};

struct ScoreOptions {
  double prior_mean = 0.0;  // Gaussian prior N(prior_mean, prior_sd²) on θ (MAP)
  double prior_sd = 1.0;    // > 0; use a large value for (nearly) maximum likelihood
  double theta_min = -6.0;  // the estimate is clipped to [theta_min, theta_max]
  double theta_max = 6.0;
  double tol = 1e-10;  // on |Δθ|
  int max_iter = 100;
  absl::Status Validate() const;
};

struct AbilityEstimate {
  double theta = 0;
  double se = 0;  // 1 / sqrt(posterior information at θ)
  int iterations = 0;
  bool converged = false;
  bool clipped = false;  // θ sits at theta_min or theta_max
};

// MAP estimate of θ by safeguarded Newton: the log posterior is strictly concave (a ≥ 0, Gaussian
// prior), so its derivative is decreasing; Newton steps that leave the current bracket are replaced
// by bisection. O(iterations · responses). InvalidArgument names a bad response (item index out of
// range, successes outside [0, trials], non-finite values) or option.
absl::StatusOr<AbilityEstimate> ScoreMap(const ItemBank& bank, absl::Span<const Response> responses,
                                         const ScoreOptions& options = {});

// Mean over all bank items of P(correct | θ) (ItemBank::Probabilities): the predicted
// full-benchmark accuracy.
double PredictedAccuracy(const ItemBank& bank, double theta);

}  // namespace assay::irt

#endif  // ASSAY_CORE_IRT_SCORING_H_
