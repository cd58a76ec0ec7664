#include "core/irt/item_prior.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/base/eigen.h"

namespace assay::irt {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

MatrixXd ItemInformation(const ResponseMatrix& data, const IrtParams& params, double sigma,
                         double ridge, Index j) {
  const Index k = params.dims();
  MatrixXd info = MatrixXd::Identity(k + 1, k + 1) * ridge;
  VectorXd z(k + 1);
  z[k] = 1.0;
  const ResponseMatrix::Column col = data.column(j);
  for (Index m = 0; m < col.size; ++m) {
    const Index i = col.rows ? col.rows[m] : m;
    const double w = col.w ? col.w[m] : 1.0;
    const double x = params.theta.row(i).dot(params.a.row(j)) + params.b[j];
    const double p = 1.0 / (1.0 + std::exp(-x / sigma));
    z.head(k) = params.theta.row(i).transpose();
    info.noalias() += (w * std::max(p * (1 - p), 1e-12) / (sigma * sigma)) * z * z.transpose();
  }
  return info;
}

ItemPrior ShrinkItems(const ResponseMatrix& data, double sigma, double ridge, IrtParams& params) {
  const Index k = params.dims(), items = data.num_items();
  // Likelihood precisions, and the items that inform the prior (both outcomes observed, and an
  // information matrix that is positive definite).
  std::vector<MatrixXd> info(static_cast<size_t>(items));
  std::vector<Index> informative;
  VectorXd noise = VectorXd::Zero(k + 1);  // Σ diag(H_j⁻¹) over informative items
  for (Index j = 0; j < items; ++j) {
    info[j] = ItemInformation(data, params, sigma, ridge, j);
    const double s = data.item_successes()[j], t = data.item_trials()[j];
    if (!(s > 0 && s < t)) continue;
    Eigen::LDLT<MatrixXd> ldlt(info[j]);
    if (ldlt.info() != Eigen::Success || !(ldlt.vectorD().array() > 0).all()) continue;
    noise += ldlt.solve(MatrixXd::Identity(k + 1, k + 1)).diagonal();
    informative.push_back(j);
  }
  ItemPrior prior;
  prior.mean = VectorXd::Zero(k);
  if (informative.size() < 3) {  // too few items to estimate a spread: no shrinkage
    prior.variance = VectorXd::Constant(k, std::numeric_limits<double>::infinity());
    return prior;
  }
  const double n = static_cast<double>(informative.size());
  for (Index j : informative) prior.mean += params.a.row(j).transpose();
  prior.mean /= n;
  VectorXd spread = VectorXd::Zero(k);
  for (Index j : informative) spread += (params.a.row(j).transpose() - prior.mean).cwiseAbs2();
  spread /= n;
  prior.variance = (spread - noise.head(k) / n).cwiseMax(1e-4 * spread).cwiseMax(1e-12);

  // Posterior mode of (a_j, b_j) with precision P = diag(1/τ², 0): b has no prior of its own and
  // moves only through its correlation with a in H_j.
  VectorXd precision = VectorXd::Zero(k + 1), prior_term = VectorXd::Zero(k + 1);
  precision.head(k) = prior.variance.cwiseInverse();
  prior_term.head(k) = precision.head(k).cwiseProduct(prior.mean);
  for (Index j = 0; j < items; ++j) {
    MatrixXd h = info[j];
    VectorXd estimate(k + 1);
    estimate.head(k) = params.a.row(j).transpose();
    estimate[k] = params.b[j];
    const VectorXd rhs = h * estimate + prior_term;
    h.diagonal() += precision;
    const VectorXd post = h.ldlt().solve(rhs);
    params.a.row(j) = post.head(k).cwiseMax(0.0).transpose();
    params.b[j] = post[k];
  }
  return prior;
}

}  // namespace assay::irt
