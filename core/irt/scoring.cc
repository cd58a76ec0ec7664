#include "core/irt/scoring.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace assay::irt {
namespace {

struct Derivatives {
  double gradient;     // d/dθ log posterior
  double information;  // −d²/dθ² log posterior (> 0)
};

Derivatives LogPosteriorDerivatives(const ItemBank& bank, absl::Span<const Response> responses,
                                    const ScoreOptions& options, double theta) {
  const double var = options.prior_sd * options.prior_sd;
  Derivatives d{-(theta - options.prior_mean) / var, 1.0 / var};
  for (const Response& r : responses) {
    const ItemBank::Logit x = bank.ItemLogit(r.item, theta);
    const double p = 1.0 / (1.0 + std::exp(-x.z));
    d.gradient += x.slope * (r.successes - r.trials * p);
    d.information += r.trials * x.slope * x.slope * p * (1 - p);  // Fisher scoring
  }
  return d;
}

}  // namespace

absl::Status ItemBank::Validate() const {
  if (a.size() != b.size()) return absl::InvalidArgumentError("item bank: a and b differ in size");
  if (!(sigma > 0)) return absl::InvalidArgumentError("item bank: sigma must be > 0");
  for (Eigen::Index j = 0; j < a.size(); ++j) {
    if (!std::isfinite(a[j]) || a[j] < 0 || !std::isfinite(b[j])) {
      return absl::InvalidArgumentError(
          absl::StrCat("item bank: item #", j, " has a=", a[j], ", b=", b[j]));
    }
  }
  if (a_sd.size() != b_sd.size() || (a_sd.size() != 0 && a_sd.size() != a.size()) ||
      (ab_cov.size() != 0 && ab_cov.size() != a_sd.size())) {
    return absl::InvalidArgumentError(
        "item bank: a_sd, b_sd (and ab_cov) must be empty or have one value per item");
  }
  if (!ab_cov.allFinite()) return absl::InvalidArgumentError("item bank: ab_cov not finite");
  for (Eigen::Index j = 0; j < a_sd.size(); ++j) {
    if (!(a_sd[j] >= 0) || !(b_sd[j] >= 0) || !std::isfinite(a_sd[j]) ||
        !std::isfinite(b_sd[j])) {
      return absl::InvalidArgumentError(absl::StrCat("item bank: item #", j, " has a_sd=",
                                                     a_sd[j], ", b_sd=", b_sd[j]));
    }
  }
  return absl::OkStatus();
}

namespace {
constexpr double kPiOver8 = 0.39269908169872414;
}  // namespace

ItemBank::Logit ItemBank::ItemLogit(Eigen::Index j, double theta) const {
  const double mu = (a[j] * theta + b[j]) / sigma;
  if (!has_posteriors()) return {mu, a[j] / sigma};
  const double s2 = sigma * sigma;
  const double sa2 = a_sd[j] * a_sd[j] / s2;
  const double cab = ab_cov.size() != 0 ? ab_cov[j] / s2 : 0.0;
  const double v = std::max(0.0, theta * theta * sa2 + 2 * theta * cab + b_sd[j] * b_sd[j] / s2);
  const double k = 1 / std::sqrt(1 + kPiOver8 * v);
  return {mu * k, k * a[j] / sigma - mu * kPiOver8 * (theta * sa2 + cab) * k * k * k};
}

// The posterior-predictive case goes item by item through ItemLogit, the one place of its formula.
Eigen::ArrayXd ItemBank::ItemLogits(Eigen::Index j, const Eigen::ArrayXd& thetas) const {
  if (!has_posteriors()) return (a[j] * thetas + b[j]) / sigma;
  return thetas.unaryExpr([&](double theta) { return ItemLogit(j, theta).z; });
}

Eigen::ArrayXd ItemBank::Probabilities(double theta) const {
  Eigen::ArrayXd x(size());
  if (has_posteriors()) {
    for (Eigen::Index j = 0; j < size(); ++j) x[j] = ItemLogit(j, theta).z;
  } else {
    x = (a.array() * theta + b.array()) / sigma;
  }
  return (1.0 + (-x).exp()).inverse();
}

Eigen::ArrayXd ItemBank::Slopes(double theta) const {
  if (!has_posteriors()) return a.array() / sigma;
  Eigen::ArrayXd out(size());
  for (Eigen::Index j = 0; j < size(); ++j) out[j] = ItemLogit(j, theta).slope;
  return out;
}

absl::Status ScoreOptions::Validate() const {
  if (!(prior_sd > 0) || !std::isfinite(prior_sd))
    return absl::InvalidArgumentError("prior_sd: must be > 0");
  if (!std::isfinite(prior_mean)) return absl::InvalidArgumentError("prior_mean: must be finite");
  if (!(theta_min < theta_max)) return absl::InvalidArgumentError("theta_min must be < theta_max");
  if (!(tol > 0) || max_iter < 1)
    return absl::InvalidArgumentError("tol and max_iter must be positive");
  return absl::OkStatus();
}

absl::StatusOr<AbilityEstimate> ScoreMap(const ItemBank& bank, absl::Span<const Response> responses,
                                         const ScoreOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  for (size_t k = 0; k < responses.size(); ++k) {
    const Response& r = responses[k];
    if (r.item < 0 || r.item >= bank.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("response #", k, ": item index ", r.item, " is not in the bank"));
    }
    if (!std::isfinite(r.trials) || r.trials <= 0 || !std::isfinite(r.successes) ||
        r.successes < 0 || r.successes > r.trials) {
      return absl::InvalidArgumentError(absl::StrCat("response #", k, ": successes ", r.successes,
                                                     " must be in [0, trials=", r.trials, "]"));
    }
  }
  // Bracket [lo, hi] holds the root of the decreasing gradient (or the clip bound it exceeds).
  double lo = options.theta_min, hi = options.theta_max;
  double theta = std::min(std::max(options.prior_mean, lo), hi);
  AbilityEstimate est;
  for (int it = 1; it <= options.max_iter; ++it) {
    const Derivatives d = LogPosteriorDerivatives(bank, responses, options, theta);
    est.iterations = it;
    if (d.gradient > 0)
      lo = theta;
    else
      hi = theta;
    double next = theta + d.gradient / d.information;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);  // Newton left the bracket: bisect
    const double step = std::abs(next - theta);
    theta = next;
    if (step < options.tol || hi - lo < options.tol) {
      est.converged = true;
      break;
    }
  }
  est.theta = theta;
  est.clipped = theta - options.theta_min < 1e-6 || options.theta_max - theta < 1e-6;
  est.se = 1.0 / std::sqrt(LogPosteriorDerivatives(bank, responses, options, theta).information);
  return est;
}

double PredictedAccuracy(const ItemBank& bank, double theta) {
  if (bank.size() == 0) return std::nan("");
  return bank.Probabilities(theta).mean();
}

}  // namespace assay::irt
