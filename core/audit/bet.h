// Testing by betting: the likelihood-ratio bet and the plug-in alternatives of
// shared/docs/audit.md (Zhou et al. 2026). Everything in log space.
#ifndef ASSAY_CORE_AUDIT_BET_H_
#define ASSAY_CORE_AUDIT_BET_H_

#include <vector>

#include "absl/status/status.h"
#include "core/base/eigen.h"

namespace assay::audit {

// log L(y; p, τ) = log(1 + λ(y − τ)) with λ = (p − τ) / (τ(1 − τ)).
// For y ∈ {0,1} this is log(p/τ) or log((1−p)/(1−τ)); for a bounded score y ∈ [0,1] the same
// factor keeps E[L | past] ≤ 1 under the matching null (λ ∈ [−1/(1−τ), 1/τ] for p ∈ [0,1]).
// Requires 0 < τ < 1, 0 ≤ p ≤ 1, 0 ≤ y ≤ 1. O(1).
double LogBetFactor(double y, double p, double tau);

// How an alternative p_t is chosen before Y_t is seen.
//   Fixed: p_t = p.
//   EWAF (exponentially weighted average forecaster): weights w_k over grid points g_k start
//   uniform; p_t = Σ w_k g_k; after Y_t, w_k ∝ w_k · L(Y_t; g_k, τ)^η (η = 1: Bayes mixture).
class Alternative {
 public:
  static Alternative Fixed(double p);
  static Alternative Ewaf(std::vector<double> grid, double eta);

  // The alternative for the next label (predictable: depends on past labels only). O(grid).
  double Predict() const;
  // Learns from label y (no-op for Fixed). O(grid).
  void Update(double y, double tau);

  bool is_fixed() const { return grid_.empty(); }
  double fixed_p() const { return p_; }
  const std::vector<double>& grid() const { return grid_; }
  double eta() const { return eta_; }
  // EWAF log-weights (unnormalized), part of the persisted state.
  const Eigen::ArrayXd& log_weights() const { return log_weights_; }
  Eigen::ArrayXd& mutable_log_weights() { return log_weights_; }

 private:
  double p_ = 0;
  std::vector<double> grid_;
  double eta_ = 1;
  Eigen::ArrayXd log_weights_;
};

}  // namespace assay::audit

#endif  // ASSAY_CORE_AUDIT_BET_H_
