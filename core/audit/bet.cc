#include "core/audit/bet.h"

#include <cmath>
#include <utility>

namespace assay::audit {

double LogBetFactor(double y, double p, double tau) {
  // Exact forms for binary labels keep the test vectors to the last bit of log(p/τ).
  if (y == 1.0) return std::log(p / tau);
  if (y == 0.0) return std::log((1 - p) / (1 - tau));
  const double lambda = (p - tau) / (tau * (1 - tau));
  return std::log1p(lambda * (y - tau));
}

Alternative Alternative::Fixed(double p) {
  Alternative a;
  a.p_ = p;
  return a;
}

Alternative Alternative::Ewaf(std::vector<double> grid, double eta) {
  Alternative a;
  a.grid_ = std::move(grid);
  a.eta_ = eta;
  a.log_weights_ = Eigen::ArrayXd::Zero(static_cast<Eigen::Index>(a.grid_.size()));
  return a;
}

double Alternative::Predict() const {
  if (is_fixed()) return p_;
  const double top = log_weights_.maxCoeff();
  double total = 0, weighted = 0;
  for (Eigen::Index k = 0; k < log_weights_.size(); ++k) {
    const double w = std::exp(log_weights_[k] - top);
    total += w;
    weighted += w * grid_[static_cast<size_t>(k)];
  }
  return weighted / total;
}

void Alternative::Update(double y, double tau) {
  if (is_fixed()) return;
  for (Eigen::Index k = 0; k < log_weights_.size(); ++k) {
    log_weights_[k] += eta_ * LogBetFactor(y, grid_[static_cast<size_t>(k)], tau);
  }
  // Keep the largest log-weight at 0 so long streams never overflow or underflow.
  log_weights_ -= log_weights_.maxCoeff();
}

}  // namespace assay::audit
