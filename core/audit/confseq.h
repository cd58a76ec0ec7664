// Betting confidence sequence for the mean of a bounded stream Y_t ∈ [0,1] (or in known bounds)
// (Waudby-Smith & Ramdas, "Estimating means of bounded random variables by betting", JRSSB 2024):
// for every candidate mean m on a fixed grid, the hedged capital
//   K_t(m) = max(θ ∏(1 + λ⁺_i(m)(Y_i − m)), (1 − θ) ∏(1 − λ⁻_i(m)(Y_i − m)))
// is a nonnegative martingale when the mean is m, so {m : K_t(m) < 1/α} covers the true mean at
// every t simultaneously with probability ≥ 1 − α (Ville). Bets are predictable (from
// Y_1..Y_{t−1}):
//   predictable plug-in: λ_t = sqrt(2 log(2/α) / (σ̂²_{t−1} t log(t+1))), truncated at c/m (λ⁺) and
//                        c/(1−m) (λ⁻);
//   aGRAPA:              λ⁺_t(m) = (μ̂_{t−1} − m) / (σ̂²_{t−1} + (μ̂_{t−1} − m)²) clipped to [0, c/m],
//                        λ⁻ symmetric.
// The reported interval is the running intersection, widened by one grid cell (conservative).
// Update: O(grid), vectorized. Not thread safe.
#ifndef ASSAY_CORE_AUDIT_CONFSEQ_H_
#define ASSAY_CORE_AUDIT_CONFSEQ_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/eigen.h"

namespace assay::audit {

enum class CsBet { kPredictablePlugIn, kAgrapa };

struct ConfSeqOptions {
  double alpha = 0.05;
  int grid = 1000;  // candidate means (k + 0.5) / grid, k = 0..grid−1
  CsBet bet = CsBet::kPredictablePlugIn;
  double truncation = 0.5;  // c in (0, 1)
  double hedge = 0.5;       // θ in (0, 1)
  absl::Status Validate() const;
};

class ConfidenceSequence {
 public:
  static absl::StatusOr<ConfidenceSequence> Create(const ConfSeqOptions& options);

  // Adds one observation. InvalidArgument if y is outside [0,1] or NaN (state unchanged).
  absl::Status Update(double y);

  // Adds an observation z known in advance (predictably) to lie in [lo, hi], lo ≤ 0 < 1 ≤ hi,
  // whose conditional mean is the target mean in [0,1] (e.g. an inverse-probability-weighted
  // estimate). Bets are truncated so every factor stays ≥ 1 − c: λ⁺(m) ≤ c/(m − lo),
  // λ⁻(m) ≤ c/(hi − m). Update(y) is UpdateBounded(y, 0, 1). InvalidArgument if z ∉ [lo, hi].
  absl::Status UpdateBounded(double z, double lo, double hi);

  // A drifting target, as in sampling without replacement (Waudby-Smith & Ramdas 2020): adds an
  // observation x known in advance to lie in [lo, hi] whose conditional mean, when the target is
  // the grid value m, is a + b·m (b > 0); e.g. the mean of the items not yet drawn,
  // (N m − S_{t−1})/(N − t + 1). A candidate whose implied mean lies outside [lo, hi] is
  // impossible and leaves the set for good. `centre` is the caller's predictable estimate of x's
  // conditional mean: the bets' variance estimate is the running mean square of x − centre, and
  // aGRAPA bets on the gap centre − (a + b·m); the plug-in bet is as in Update. Every factor
  // stays ≥ 1 − c (λ⁺ ≤ c/(μ − lo), λ⁻ ≤ c/(hi − μ)). InvalidArgument if x ∉ [lo, hi] or b ≤ 0.
  absl::Status UpdateAffine(double x, double lo, double hi, double a, double b, double centre);

  int64_t t() const { return t_; }
  double lower() const { return lower_; }
  double upper() const { return upper_; }
  double mean() const { return t_ > 0 ? sum_ / static_cast<double>(t_) : 0.5; }

  std::string Serialize() const;
  static absl::StatusOr<ConfidenceSequence> Deserialize(absl::string_view bytes);

 private:
  explicit ConfidenceSequence(const ConfSeqOptions& options);

  // Recomputes the caps for observations in [lo, hi] unless they are the current ones.
  void SetBounds(double lo, double hi);
  // Moves the running products into the logs: log_k += log(k), k = 1; refreshes the limits.
  void Fold();
  // After the capital has been multiplied by step t's factors: folds when due, updates the
  // predictable estimates with observation y (its square deviation from `centre`), and narrows
  // the interval to the plausible candidates among [begin, end).
  void FinishUpdate(double y, double centre, Eigen::Index begin, Eigen::Index end);

  ConfSeqOptions options_;
  Eigen::ArrayXd m_;  // grid
  // Capital of the two one-sided bettors at each grid point: exp(log_kp_) · kp_ (and the same for
  // the minus side). An update multiplies kp_ and km_ by the bets' factors, so its cost is a few
  // multiplications per point; every kFoldEvery updates (or sooner, should a product drift far
  // from 1) Fold() moves them into the logs. Only t_ and the data decide when, so a replay or a
  // restored snapshot repeats the live computation exactly.
  Eigen::ArrayXd log_kp_, log_km_, kp_, km_;
  // Derived (never serialized): a point is plausible while kp_ < limit_p_ and km_ < limit_m_,
  // i.e. θ K⁺ < 1/α and (1 − θ) K⁻ < 1/α; and the caps c/(m − lo), c/(hi − m) for the bounds
  // [cap_lo_, cap_hi_] of the last update.
  Eigen::ArrayXd limit_p_, limit_m_, cap_p_, cap_m_;
  double cap_lo_ = 0, cap_hi_ = 0;
  int64_t t_ = 0;
  double sum_ = 0;
  double mu_hat_ = 0.5, sigma2_hat_ = 0.25, sq_dev_sum_ = 0;  // predictable estimates
  double lower_ = 0, upper_ = 1;
};

// A Hoeffding-style betting CS (predictable plug-in, Hoeffding ψ) for comparison:
// center Σλ_i Y_i / Σλ_i, radius (log(2/α) + Σλ_i²/8) / Σλ_i, λ_t = min(1, sqrt(8 log(2/α)/(t
// log(t+1)))), running intersection. O(1) per update.
class HoeffdingConfidenceSequence {
 public:
  explicit HoeffdingConfidenceSequence(double alpha) : alpha_(alpha) {}
  void Update(double y);
  double lower() const { return lower_; }
  double upper() const { return upper_; }

 private:
  double alpha_;
  int64_t t_ = 0;
  double sum_l_ = 0, sum_ly_ = 0, sum_l2_ = 0;
  double lower_ = 0, upper_ = 1;
};

}  // namespace assay::audit

#endif  // ASSAY_CORE_AUDIT_CONFSEQ_H_
