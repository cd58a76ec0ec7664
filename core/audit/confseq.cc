#include "core/audit/confseq.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/base/bytes.h"
#include "core/base/status_macros.h"

namespace assay::audit {

absl::Status ConfSeqOptions::Validate() const {
  if (!(alpha > 0 && alpha < 1))
    return absl::InvalidArgumentError(absl::StrCat("alpha: must be in (0, 1), got ", alpha));
  if (grid < 2 || grid > 1000000)
    return absl::InvalidArgumentError(absl::StrCat("grid: must be in [2, 1e6], got ", grid));
  if (!(truncation > 0 && truncation < 1))
    return absl::InvalidArgumentError("truncation: must be in (0, 1)");
  if (!(hedge > 0 && hedge < 1)) return absl::InvalidArgumentError("hedge: must be in (0, 1)");
  return absl::OkStatus();
}

ConfidenceSequence::ConfidenceSequence(const ConfSeqOptions& options)
    : options_(options),
      m_((Eigen::ArrayXd::LinSpaced(options.grid, 0, options.grid - 1) + 0.5) / options.grid),
      log_kp_(Eigen::ArrayXd::Zero(options.grid)),
      log_km_(Eigen::ArrayXd::Zero(options.grid)),
      kp_(Eigen::ArrayXd::Ones(options.grid)),
      km_(Eigen::ArrayXd::Ones(options.grid)),
      limit_p_(options.grid),
      limit_m_(options.grid),
      cap_p_(options.grid),
      cap_m_(options.grid) {
  Fold();
  SetBounds(0, 1);
}

namespace {
// Updates between folds, and the range a running product may reach before an early fold: a
// factor lies in [1 − c, 1 + cap · (hi − lo)], so 16 of them stay far inside a double's range for
// any bounds met in practice, and the range check catches the rest.
constexpr int64_t kFoldEvery = 16;
constexpr double kProductMax = 1e100, kProductMin = 1e-100;
}  // namespace

void ConfidenceSequence::Fold() {
  log_kp_ += kp_.log();
  log_km_ += km_.log();
  kp_.setOnes();
  km_.setOnes();
  const double log_inv_alpha = -std::log(options_.alpha);
  limit_p_ = (log_inv_alpha - std::log(options_.hedge) - log_kp_).exp();
  limit_m_ = (log_inv_alpha - std::log(1 - options_.hedge) - log_km_).exp();
}

void ConfidenceSequence::SetBounds(double lo, double hi) {
  if (lo == cap_lo_ && hi == cap_hi_) return;
  cap_p_ = options_.truncation / (m_ - lo);
  cap_m_ = options_.truncation / (hi - m_);
  cap_lo_ = lo;
  cap_hi_ = hi;
}

absl::StatusOr<ConfidenceSequence> ConfidenceSequence::Create(const ConfSeqOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  return ConfidenceSequence(options);
}

absl::Status ConfidenceSequence::Update(double y) {
  if (!(y >= 0 && y <= 1))
    return absl::InvalidArgumentError(absl::StrCat("observation: must be in [0, 1], got ", y));
  return UpdateBounded(y, 0.0, 1.0);
}

absl::Status ConfidenceSequence::UpdateBounded(double y, double lo, double hi) {
  if (!(lo <= 0 && hi >= 1 && y >= lo && y <= hi)) {
    return absl::InvalidArgumentError(
        absl::StrCat("observation ", y, " outside its bounds [", lo, ", ", hi, "]"));
  }
  SetBounds(lo, hi);
  ++t_;
  const double t = static_cast<double>(t_);
  const auto d = y - m_;
  if (options_.bet == CsBet::kPredictablePlugIn) {
    const double lambda =
        std::sqrt(2 * std::log(2 / options_.alpha) / (sigma2_hat_ * t * std::log(t + 1)));
    kp_ *= 1 + cap_p_.min(lambda) * d;
    km_ *= 1 - cap_m_.min(lambda) * d;
  } else {
    const auto gap = mu_hat_ - m_;
    const auto raw = gap / (sigma2_hat_ + gap.square());
    kp_ *= 1 + raw.max(0.0).min(cap_p_) * d;
    km_ *= 1 + raw.min(0.0).max(-cap_m_) * d;
  }
  FinishUpdate(y, mu_hat_, 0, m_.size());
  return absl::OkStatus();
}

absl::Status ConfidenceSequence::UpdateAffine(double x, double lo, double hi, double a, double b,
                                              double centre) {
  if (!(lo <= x && x <= hi) || !(b > 0) || !std::isfinite(a) || !std::isfinite(b) ||
      !std::isfinite(centre)) {
    return absl::InvalidArgumentError(absl::StrCat("observation ", x, " outside its bounds [", lo,
                                                   ", ", hi, "] or slope ", b, " not positive"));
  }
  cap_lo_ = cap_hi_ = std::numeric_limits<double>::quiet_NaN();  // UpdateBounded recomputes caps
  ++t_;
  const double t = static_cast<double>(t_);
  const double c = options_.truncation;
  // Caps c/(μ − lo) and c/(hi − μ), at most 1/ε for a mean on a bound (ε: 1e-12 of the range).
  const double eps = 1e-12 * std::max(1.0, hi - lo);
  const bool plug_in = options_.bet == CsBet::kPredictablePlugIn;
  const double lambda =
      plug_in ? std::sqrt(2 * std::log(2 / options_.alpha) / (sigma2_hat_ * t * std::log(t + 1)))
              : 0.0;
  const double inf = std::numeric_limits<double>::infinity();
  // Only the candidates inside the interval so far (widened by a cell) can still matter: the
  // reported interval is the hull of the plausible ones among them (a valid CS: the true value
  // lies in both), and a candidate that has left never returns.
  const double cell = 1.0 / options_.grid;
  const Eigen::Index begin = std::max<Eigen::Index>(
      0, static_cast<Eigen::Index>(std::floor((lower_ - cell) * options_.grid - 0.5)));
  const Eigen::Index end = std::min<Eigen::Index>(
      m_.size(), static_cast<Eigen::Index>(std::ceil((upper_ + cell) * options_.grid - 0.5)) + 1);
  for (Eigen::Index k = begin; k < end; ++k) {  // one pass, no temporaries: this is per step
    const double mu = a + b * m_[k];
    if (!(mu >= lo && mu <= hi)) {
      // An impossible candidate's capital is infinite: in the logs, where it stays (its running
      // products stay 1, so a fold keeps it there), and its limits drop to 0.
      kp_[k] = km_[k] = 1;
      log_kp_[k] = log_km_[k] = inf;
      limit_p_[k] = limit_m_[k] = 0;
      continue;
    }
    const double cap_p = c / std::max(mu - lo, eps), cap_m = c / std::max(hi - mu, eps);
    double bet_p, bet_m;  // λ⁺ ≥ 0 and λ⁻ ≥ 0
    if (plug_in) {
      bet_p = std::min(cap_p, lambda);
      bet_m = std::min(cap_m, lambda);
    } else {
      const double gap = centre - mu, raw = gap / (sigma2_hat_ + gap * gap);
      bet_p = std::min(std::max(raw, 0.0), cap_p);
      bet_m = std::min(std::max(-raw, 0.0), cap_m);
    }
    const double d = x - mu;
    kp_[k] *= 1 + bet_p * d;
    km_[k] *= 1 - bet_m * d;
  }
  FinishUpdate(x, centre, begin, end);
  return absl::OkStatus();
}

void ConfidenceSequence::FinishUpdate(double y, double centre, Eigen::Index begin,
                                      Eigen::Index end) {
  const double t = static_cast<double>(t_);
  // Fold on schedule, or now if a running product has drifted far from 1.
  if (t_ % kFoldEvery == 0 || kp_.max(km_).maxCoeff() > kProductMax ||
      kp_.min(km_).minCoeff() < kProductMin) {
    Fold();
  }
  // Predictable estimates for the next bet (WSR's regularized running mean and variance).
  sum_ += y;
  sq_dev_sum_ += (y - centre) * (y - centre);
  mu_hat_ = (0.5 + sum_) / (t + 1);
  sigma2_hat_ = (0.25 + sq_dev_sum_) / (t + 1);

  // Candidates still plausible: hedged capital below 1/α, the first and the last of them.
  // A true mean between two grid points can be plausible while a neighbouring grid point is not:
  // widen by a whole cell on each side so discretization never excludes it.
  const double cell = 1.0 / options_.grid;
  const auto plausible = [&](Eigen::Index k) {
    return kp_[k] < limit_p_[k] && km_[k] < limit_m_[k];
  };
  Eigen::Index first = begin, last = end - 1;
  while (first < end && !plausible(first)) ++first;
  while (last > first && !plausible(last)) --last;
  if (first == end) first = -1;
  if (first >= 0) {  // an empty set (all candidates rejected) leaves the interval as it was
    lower_ = std::max(lower_, m_[first] - cell);
    upper_ = std::min(upper_, m_[last] + cell);
  }
}

std::string ConfidenceSequence::Serialize() const {
  ByteWriter w;
  w.F64(options_.alpha);
  w.I64(options_.grid);
  w.U8(static_cast<uint8_t>(options_.bet));
  w.F64(options_.truncation);
  w.F64(options_.hedge);
  w.F64s(log_kp_.data(), log_kp_.size());
  w.F64s(log_km_.data(), log_km_.size());
  w.I64(t_);
  for (double v : {sum_, mu_hat_, sigma2_hat_, sq_dev_sum_, lower_, upper_}) w.F64(v);
  w.F64s(kp_.data(), kp_.size());  // absent from snapshots written before the running products
  w.F64s(km_.data(), km_.size());
  return w.Take();
}

absl::StatusOr<ConfidenceSequence> ConfidenceSequence::Deserialize(absl::string_view bytes) {
  ByteReader r(bytes);
  ConfSeqOptions o;
  int64_t grid;
  uint8_t bet;
  if (!r.F64(o.alpha) || !r.I64(grid) || !r.U8(bet) || !r.F64(o.truncation) || !r.F64(o.hedge) ||
      bet > 1) {
    return absl::DataLossError("confidence sequence snapshot: truncated options");
  }
  o.grid = static_cast<int>(grid);
  o.bet = static_cast<CsBet>(bet);
  if (!o.Validate().ok())
    return absl::DataLossError("confidence sequence snapshot: invalid options");
  ConfidenceSequence cs(o);
  std::vector<double> log_kp, log_km, kp, km;
  if (!r.F64s(log_kp) || !r.F64s(log_km) || log_kp.size() != static_cast<size_t>(grid) ||
      log_km.size() != log_kp.size() || !r.I64(cs.t_) || !r.F64(cs.sum_) || !r.F64(cs.mu_hat_) ||
      !r.F64(cs.sigma2_hat_) || !r.F64(cs.sq_dev_sum_) || !r.F64(cs.lower_) || !r.F64(cs.upper_)) {
    return absl::DataLossError("confidence sequence snapshot: truncated state");
  }
  // An older snapshot ends here, with its capital entirely in the logs.
  kp.assign(log_kp.size(), 1.0);
  km.assign(log_kp.size(), 1.0);
  if (!r.done() && (!r.F64s(kp) || !r.F64s(km) || kp.size() != log_kp.size() ||
                    km.size() != log_kp.size() || !r.done())) {
    return absl::DataLossError("confidence sequence snapshot: truncated running products");
  }
  for (std::vector<double>* v : {&kp, &km}) {
    for (double x : *v) {
      if (!(x > 0 && std::isfinite(x)))
        return absl::DataLossError("confidence sequence snapshot: capital not positive");
    }
  }
  cs.log_kp_ = Eigen::Map<const Eigen::ArrayXd>(log_kp.data(), grid);
  cs.log_km_ = Eigen::Map<const Eigen::ArrayXd>(log_km.data(), grid);
  cs.Fold();  // the limits, from the stored logs (the products are still 1 here)
  cs.kp_ = Eigen::Map<const Eigen::ArrayXd>(kp.data(), grid);
  cs.km_ = Eigen::Map<const Eigen::ArrayXd>(km.data(), grid);
  return cs;
}

void HoeffdingConfidenceSequence::Update(double y) {
  ++t_;
  const double t = static_cast<double>(t_);
  const double lambda = std::min(1.0, std::sqrt(8 * std::log(2 / alpha_) / (t * std::log(t + 1))));
  sum_l_ += lambda;
  sum_ly_ += lambda * y;
  sum_l2_ += lambda * lambda;
  const double center = sum_ly_ / sum_l_;
  const double radius = (std::log(2 / alpha_) + sum_l2_ / 8) / sum_l_;
  lower_ = std::max(lower_, center - radius);
  upper_ = std::min(upper_, center + radius);
}

}  // namespace assay::audit
