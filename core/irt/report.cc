#include "core/irt/report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "core/base/eigen.h"
#include "core/base/thread_team.h"
#include "core/base/yield.h"
#include "core/irt/fit.h"
#include "core/irt/item_prior.h"

namespace assay::irt {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

std::string Names(uint32_t flags, std::initializer_list<std::pair<uint32_t, const char*>> table) {
  std::vector<std::string> names;
  for (const auto& [bit, name] : table) {
    if (flags & bit) names.push_back(name);
  }
  return absl::StrJoin(names, "|");
}

// sqrt(diag(M⁻¹)) for a symmetric positive definite M; NaN where M is singular.
VectorXd InverseDiagonalSqrt(const MatrixXd& m) {
  Eigen::LDLT<MatrixXd> ldlt(m);
  if (ldlt.info() != Eigen::Success || !(ldlt.vectorD().array() > 0).all()) {
    return VectorXd::Constant(m.rows(), std::numeric_limits<double>::quiet_NaN());
  }
  return ldlt.solve(MatrixXd::Identity(m.rows(), m.cols())).diagonal().cwiseSqrt();
}

}  // namespace

std::string ItemFlagNames(uint32_t flags) {
  return Names(flags, {{kItemNoData, "no_data"},
                       {kItemNeverSolved, "never_solved"},
                       {kItemAlwaysSolved, "always_solved"},
                       {kItemLowDiscrimination, "low_discrimination"},
                       {kItemMisfit, "misfit"}});
}

std::string ModelFlagNames(uint32_t flags) {
  return Names(flags, {{kModelNoData, "no_data"},
                       {kModelAllWrong, "all_wrong"},
                       {kModelAllCorrect, "all_correct"}});
}

FitReport MakeReport(const ResponseMatrix& data, const IrtParams& params, double sigma,
                     double ridge, const ItemPrior* item_prior, int threads) {
  const Index n = data.num_models(), j = data.num_items(), k = params.dims();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  FitReport r;
  std::vector<MatrixXd> theta_info(k > 1 ? n : 0, MatrixXd::Identity(k, k) * ridge);
  r.a_se.resize(j, k);
  r.b_se.resize(j);
  r.infit = VectorXd::Constant(j, nan);
  r.outfit = VectorXd::Constant(j, nan);
  r.item_flags.assign(j, 0);
  r.model_flags.assign(n, 0);
  // K = 1 and the predicted accuracies run on one thread per core, each over its own items (or
  // models); the models' informations are summed per thread and then in thread order.
  ThreadTeam team(
      static_cast<int>(std::max<Index>(1, std::min<Index>(ResolvedThreads(threads), j))));
  const auto part = [&](int member, Index count) {
    const Index size = team.size();
    return std::pair<Index, Index>(count * member / size, count * (member + 1) / size);
  };
  if (k == 1) {
    // The same quantities as the general loop below, for one dimension: one pass and one exp per
    // cell, the 2×2 item information and the models' 1×1 informations as scalars.
    std::vector<std::vector<double>> theta_info1(static_cast<size_t>(team.size()));
    const double inv_s2 = 1.0 / (sigma * sigma);
    team.Run([&](int member) {
      std::vector<double>& info = theta_info1[static_cast<size_t>(member)];
      info.assign(static_cast<size_t>(n), member == 0 ? ridge : 0.0);
      const auto [first, last] = part(member, j);
      for (Index c = first; c < last; ++c) {
        const ResponseMatrix::Column col = data.column(c);
        YieldPoint(col.size + 1);
        const double a = params.a(c, 0), b = params.b[c];
        double i_aa = ridge, i_ab = 0, i_bb = ridge;  // information of (a, b)
        double sq_resid = 0, var_sum = 0, outfit_sum = 0;
        for (Index m = 0; m < col.size; ++m) {
          const Index i = col.rows ? col.rows[m] : m;
          const double w = col.w ? col.w[m] : 1.0;
          const double t = params.theta(i, 0);
          const double p = 1.0 / (1.0 + std::exp(-(t * a + b) / sigma));
          const double pq = std::max(p * (1 - p), 1e-12);
          const double curvature = w * pq * inv_s2;
          i_aa += curvature * t * t;
          i_ab += curvature * t;
          i_bb += curvature;
          info[static_cast<size_t>(i)] += curvature * a * a;
          const double resid = col.y[m] - p;
          sq_resid += w * resid * resid;
          var_sum += w * pq;
          outfit_sum += w * resid * resid / pq;
        }
        if (item_prior != nullptr) i_aa += 1.0 / item_prior->variance[0];
        const double det = i_aa * i_bb - i_ab * i_ab;
        const bool definite = i_aa > 0 && det > 0;  // what the LDLT of the general path checks
        r.a_se(c, 0) = definite ? std::sqrt(i_bb / det) : nan;
        r.b_se[c] = definite ? std::sqrt(i_aa / det) : nan;
        if (col.size > 0) {
          r.infit[c] = sq_resid / var_sum;
          r.outfit[c] = outfit_sum / static_cast<double>(col.size);
        }
      }
    });
    r.theta_se.resize(n, 1);
    for (Index i = 0; i < n; ++i) {
      double info = 0;
      for (const std::vector<double>& part_info : theta_info1) {
        info += part_info[static_cast<size_t>(i)];
      }
      r.theta_se(i, 0) = info > 0 ? 1.0 / std::sqrt(info) : nan;
    }
  }
  for (Index c = 0; c < j && k > 1; ++c) {
    const ResponseMatrix::Column col = data.column(c);
    YieldPoint(col.size * k + 1);
    MatrixXd item_info = ItemInformation(data, params, sigma, ridge, c);
    if (item_prior != nullptr) item_info.diagonal().head(k) += item_prior->variance.cwiseInverse();
    double sq_resid = 0, var_sum = 0, outfit_sum = 0, weight_sum = 0;
    for (Index m = 0; m < col.size; ++m) {
      const Index i = col.rows ? col.rows[m] : m;
      const double w = col.w ? col.w[m] : 1.0;
      const double x = params.theta.row(i).dot(params.a.row(c)) + params.b[c];
      const double p = 1.0 / (1.0 + std::exp(-x / sigma));
      const double pq = std::max(p * (1 - p), 1e-12);
      const double curvature = w * pq / (sigma * sigma);
      theta_info[i].noalias() += curvature * params.a.row(c).transpose() * params.a.row(c);
      const double resid = col.y[m] - p;
      sq_resid += w * resid * resid;
      var_sum += w * pq;
      outfit_sum += w * resid * resid / pq;
      weight_sum += 1;
    }
    const VectorXd se = InverseDiagonalSqrt(item_info);
    r.a_se.row(c) = se.head(k).transpose();
    r.b_se[c] = se[k];
    if (col.size > 0) {
      r.infit[c] = sq_resid / var_sum;
      r.outfit[c] = outfit_sum / weight_sum;
    }
  }
  if (k > 1) {
    r.theta_se.resize(n, k);
    for (Index i = 0; i < n; ++i) r.theta_se.row(i) = InverseDiagonalSqrt(theta_info[i]).transpose();
  }

  r.item_p_correct.resize(j);
  for (Index c = 0; c < j; ++c) {
    const double t = data.item_trials()[c], s = data.item_successes()[c];
    r.item_p_correct[c] = t > 0 ? s / t : nan;
    uint32_t& f = r.item_flags[c];
    if (t <= 0) f |= kItemNoData;
    if (t > 0 && s <= 0) f |= kItemNeverSolved;
    if (t > 0 && s >= t) f |= kItemAlwaysSolved;
    if (params.a.row(c).norm() < 0.1) f |= kItemLowDiscrimination;
    if (r.infit[c] > 1.5 || r.outfit[c] > 2.0) f |= kItemMisfit;
  }
  r.model_accuracy.resize(n);
  for (Index i = 0; i < n; ++i) {
    const double t = data.model_trials()[i], s = data.model_successes()[i];
    r.model_accuracy[i] = t > 0 ? s / t : nan;
    uint32_t& f = r.model_flags[i];
    if (t <= 0) f |= kModelNoData;
    if (t > 0 && s <= 0) f |= kModelAllWrong;
    if (t > 0 && s >= t) f |= kModelAllCorrect;
  }
  // Predicted full-benchmark accuracy: mean over items of P(correct | θ_i).
  r.predicted_accuracy.resize(n);
  const MatrixXd at = params.a.transpose();
  team.Run([&](int member) {
    const auto [first, last] = part(member, n);
    for (Index i = first; i < last; ++i) {
      YieldPoint(j);
      const Eigen::ArrayXd x =
          ((params.theta.row(i) * at).transpose() + params.b).array() / sigma;
      r.predicted_accuracy[i] = (1.0 / (1.0 + (-x).exp())).mean();
    }
  });
  return r;
}

FitReport MakeReport(const ResponseMatrix& data, const FitResult& fit, const FitOptions& options) {
  FitReport r = MakeReport(data, fit.params, options.sigma, options.paper_mode ? 0.0 : options.ridge,
                           fit.item_prior ? &*fit.item_prior : nullptr, options.threads);
  if (fit.marginal.has_value()) {
    r.theta_se = fit.marginal->theta_se;
    r.a_se = fit.marginal->a_se;
    r.b_se = fit.marginal->b_se;
    r.predicted_accuracy = fit.marginal->predicted_accuracy;
  }
  return r;
}

absl::StatusOr<ItemBank> MakeItemBank(const FitResult& fit, const FitReport& report,
                                      double sigma) {
  if (fit.params.dims() != 1) {
    return absl::InvalidArgumentError("dims: an item bank needs a unidimensional fit");
  }
  ItemBank bank;
  bank.a = fit.params.a.col(0);
  bank.b = fit.params.b;
  bank.sigma = sigma;
  if (fit.method == FitMethod::kMarginalItems) {
    bank.a_sd = report.a_se.col(0);
    bank.b_sd = report.b_se;
    if (fit.marginal.has_value()) bank.ab_cov = fit.marginal->ab_cov;
  }
  return bank;
}

}  // namespace assay::irt
