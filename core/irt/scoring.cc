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
    const double a = bank.a[r.item] / bank.sigma;
    const double p =
        1.0 / (1.0 + std::exp(-(bank.a[r.item] * theta + bank.b[r.item]) / bank.sigma));
    d.gradient += a * (r.successes - r.trials * p);
    d.information += r.trials * a * a * p * (1 - p);
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
  return absl::OkStatus();
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
  return (1.0 / (1.0 + (-(bank.a.array() * theta + bank.b.array()) / bank.sigma).exp())).mean();
}

}  // namespace assay::irt
