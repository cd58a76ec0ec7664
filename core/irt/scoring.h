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
  Eigen::Index size() const { return a.size(); }
  // InvalidArgument for mismatched sizes, non-finite values, a < 0 or σ ≤ 0.
  absl::Status Validate() const;
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

// Mean over all bank items of P(correct | θ): the predicted full-benchmark accuracy.
double PredictedAccuracy(const ItemBank& bank, double theta);

}  // namespace assay::irt

#endif  // ASSAY_CORE_IRT_SCORING_H_
