#include "core/irt/marginal.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/base/eigen.h"
#include "core/base/status_macros.h"
#include "core/base/thread_team.h"
#include "core/base/yield.h"

namespace assay::irt {
namespace {

using Eigen::ArrayXd;
using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::RowVectorXd;
using Eigen::VectorXd;

// Items-side population grid (random items), on the scale where θ has sd ≈ 1: log-spaced
// discriminations (0.05 stands for "≈ 0") × evenly spaced intercepts. 13 × 29 gave the same
// figures as 25 × 57 at 12 × 40,000, 30 × 12,032 and 100 × 12,032 (3 decimals of Pearson, 0.05
// points of accuracy) in a third of the time (tests/bench/README.md, "Which estimator").
constexpr int kGridA = 13;
constexpr double kGridAMin = 0.05, kGridAMax = 8.0;
constexpr int kGridB = 29;
constexpr double kGridBMax = 8.0;
// Models-side quadrature (random models): mirt's defaults for one dimension.
constexpr int kQuadrature = 61;
constexpr double kQuadratureMax = 6.0;
// Bounds that keep a parameter finite when the penalty is 0 and a row is all-correct/all-wrong.
constexpr double kParamBound = 30.0;
// EM updates of the population weights at fixed β per E-step (two matrix-vector products each):
// the weights' own EM is slow, and refining them at fixed β cuts the iterations (12 × 40,000:
// 51 without, 30 with 5, 45 with 20, which cost more in memory traffic than they save).
constexpr int kRefineWeights = 5;
// Floor on a population weight, so its logarithm (the accelerated coordinate) stays finite.
constexpr double kMinLogWeight = -40.0;
// Full score cross-product while the fixed side has at most this many parameters; beyond it,
// one block per unit (their correlations are dropped).
constexpr Index kFullInformationMax = 1500;

// Mean and (population) sd of v; sd 1 when v is constant.
struct MeanSd {
  double mean, sd;
};
MeanSd MomentsOf(const VectorXd& v) {
  const double mean = v.mean();
  const double sd = std::sqrt((v.array() - mean).square().mean());
  return {mean, sd > 1e-12 ? sd : 1.0};
}

double Softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

// Units of the integrated side with their successes S and failures F on each fixed unit, identical
// rows merged: pattern p stands for count[p] units.
struct Patterns {
  MatrixXd s, f;               // P × M
  VectorXd count;              // P
  std::vector<int32_t> of;     // unit → pattern
};

// Merges rows of (s, f) given one at a time through `add(unit, s_row, f_row)`.
class PatternBuilder {
 public:
  PatternBuilder(Index units, Index width) : width_(width) { out_.of.resize(units); }
  void Add(Index unit, const VectorXd& s, const VectorXd& f) {
    std::string key(reinterpret_cast<const char*>(s.data()), sizeof(double) * width_);
    key.append(reinterpret_cast<const char*>(f.data()), sizeof(double) * width_);
    auto [it, inserted] = index_.try_emplace(std::move(key), static_cast<int32_t>(rows_s_.size()));
    if (inserted) {
      rows_s_.push_back(s);
      rows_f_.push_back(f);
      counts_.push_back(0);
    }
    counts_[it->second] += 1;
    out_.of[unit] = it->second;
  }
  Patterns Finish() && {
    const Index p = static_cast<Index>(rows_s_.size());
    out_.s.resize(p, width_);
    out_.f.resize(p, width_);
    out_.count.resize(p);
    for (Index r = 0; r < p; ++r) {
      out_.s.row(r) = rows_s_[r].transpose();
      out_.f.row(r) = rows_f_[r].transpose();
      out_.count[r] = counts_[r];
    }
    return std::move(out_);
  }

 private:
  Index width_;
  absl::flat_hash_map<std::string, int32_t> index_;
  std::vector<VectorXd> rows_s_, rows_f_;
  std::vector<double> counts_;
  Patterns out_;
};

// Items as the integrated side: one row per item over the N models.
Patterns ItemPatterns(const ResponseMatrix& data) {
  const Index n = data.num_models();
  PatternBuilder builder(data.num_items(), n);
  VectorXd s(n), f(n);
  for (Index j = 0; j < data.num_items(); ++j) {
    s.setZero();
    f.setZero();
    const ResponseMatrix::Column col = data.column(j);
    for (Index c = 0; c < col.size; ++c) {
      const Index i = col.rows ? col.rows[c] : c;
      const double w = col.w ? col.w[c] : 1.0;
      s[i] += w * col.y[c];
      f[i] += w * (1.0 - col.y[c]);
    }
    builder.Add(j, s, f);
  }
  return std::move(builder).Finish();
}

// Models as the integrated side: one row per model over the J items.
Patterns ModelPatterns(const ResponseMatrix& data) {
  const Index n = data.num_models(), m = data.num_items();
  MatrixXd s = MatrixXd::Zero(n, m), f = MatrixXd::Zero(n, m);
  for (Index j = 0; j < m; ++j) {
    const ResponseMatrix::Column col = data.column(j);
    for (Index c = 0; c < col.size; ++c) {
      const Index i = col.rows ? col.rows[c] : c;
      const double w = col.w ? col.w[c] : 1.0;
      s(i, j) += w * col.y[c];
      f(i, j) += w * (1.0 - col.y[c]);
    }
  }
  PatternBuilder builder(n, m);
  for (Index i = 0; i < n; ++i) builder.Add(i, s.row(i).transpose(), f.row(i).transpose());
  return std::move(builder).Finish();
}

// The EM problem shared by both estimators. Fixed unit m (M of them) has parameters β_m (D = 1: θ;
// D = 2: (a, b)); node g (G of them) has covariates z_g (D) and offset o_g, so the logit of unit m
// at node g is x_mg = (β_m · z_g + o_g)/σ. The integrated side's prior over the nodes has log
// weights ω (estimated when `estimate_weights`). The EM state is the vector [β (M·D, unit-major);
// ω (G, only when estimated)].
struct Problem {
  const Patterns* patterns;
  Index units;               // M
  int dims;                  // D
  MatrixXd z;                // G × D
  VectorXd offset;           // G
  VectorXd log_weight;       // G, the prior when not estimated
  bool estimate_weights;
  int lower_bounded_param;   // index d with β_d ≥ 0 (the discrimination), or −1
  // β (D = 1) is identified only after standardizing (random items: θ's location and scale trade
  // against the population's); parameter changes are measured on that scale.
  bool standardized;
  double sigma, ridge;
  Index nodes() const { return z.rows(); }
  Index state_size() const { return units * dims + (estimate_weights ? nodes() : 0); }
};

// What one E-step over all patterns returns.
struct EStep {
  double objective = 0;  // penalized marginal log-likelihood at the state
  MatrixXd r, t;         // M × G expected successes and trials per fixed unit and node
  VectorXd mass;         // G: Σ_p count_p · posterior_p
};

class MarginalEm {
 public:
  MarginalEm(const Problem& problem, int threads)
      : pr_(problem), team_(std::max(1, std::min<int>(threads, 64))) {
    const Index p = pr_.patterns->s.rows();
    const int t = team_.size();
    for (int k = 0; k <= t; ++k) bounds_.push_back(p * k / t);
    trials_ = pr_.patterns->s + pr_.patterns->f;
    partial_.resize(t);
  }

  MatrixXd Beta(const VectorXd& x) const {
    return Eigen::Map<const MatrixXd>(x.data(), pr_.dims, pr_.units).transpose();
  }
  VectorXd LogWeights(const VectorXd& x) const {
    return pr_.estimate_weights ? VectorXd(x.tail(pr_.nodes())) : pr_.log_weight;
  }

  // Logits x_mg (M × G) at β.
  MatrixXd Logits(const MatrixXd& beta) const {
    return ((beta * pr_.z.transpose()).rowwise() + pr_.offset.transpose()) / pr_.sigma;
  }

  // E-step at state x: the posterior over nodes of each pattern, the objective at x, and the
  // expected counts (in `e`). With `refine` > 0 (estimated weights only) the population weights
  // are first improved at fixed β by that many EM updates on the stored likelihoods, each of
  // which raises the objective; the posteriors and counts are then those of the improved
  // weights. Calls visit(member, p0, post) for consecutive blocks of patterns, post (G × rows)
  // holding the posteriors of patterns p0, p0 + 1, ... in its columns. The team's members call it
  // at the same time, each for its own range of patterns in order (`member`, in [0, members()),
  // says whose): `visit` may write to its blocks' rows and to state of its own member only.
  int members() const { return team_.size(); }

  template <typename Visit>
  void Expect(const VectorXd& x, int refine, EStep& e, Visit&& visit) {
    const MatrixXd beta = Beta(x);
    const MatrixXd logits = Logits(beta);
    const MatrixXd lpt = (-logits).unaryExpr([](double v) { return -Softplus(v); }).transpose();
    const MatrixXd lqt = logits.unaryExpr([](double v) { return -Softplus(v); }).transpose();
    const Patterns& pat = *pr_.patterns;
    const Index m = pr_.units, g = pr_.nodes(), np = pat.s.rows();
    lik_.resize(g, np);
    top_.resize(np);
    // Likelihood of each pattern at each node, scaled by its largest: lik = exp(LL − top).
    team_.Run([&](int member) {
      for (Index p0 = bounds_[member]; p0 < bounds_[member + 1]; p0 += kBlock) {
        const Index rows = std::min(kBlock, bounds_[member + 1] - p0);
        YieldPoint(rows * g);
        auto block = lik_.middleCols(p0, rows);
        block.noalias() = lpt * pat.s.middleRows(p0, rows).transpose();
        block.noalias() += lqt * pat.f.middleRows(p0, rows).transpose();
        for (Index r = 0; r < rows; ++r) {
          auto col = block.col(r);
          top_[p0 + r] = col.maxCoeff();
          col = (col.array() - top_[p0 + r]).exp().matrix();
        }
      }
    });
    VectorXd w = LogWeights(x).array().exp().matrix();
    VectorXd v = lik_.transpose() * w;  // P: Σ_g lik·w
    const double total = pat.count.sum();
    e.objective = pat.count.dot((top_.array() + v.array().log()).matrix()) -
                  0.5 * pr_.ridge * beta.squaredNorm();
    for (int k = 0; k < refine; ++k) {
      w = (w.array() * (lik_ * pat.count.cwiseQuotient(v)).array() / total).matrix();
      v.noalias() = lik_.transpose() * w;
    }
    team_.Run([&](int member) {
      Partial& out = partial_[member];
      out.r.setZero(m, g);
      out.t.setZero(m, g);
      out.mass.setZero(g);
      MatrixXd post;
      for (Index p0 = bounds_[member]; p0 < bounds_[member + 1]; p0 += kBlock) {
        const Index rows = std::min(kBlock, bounds_[member + 1] - p0);
        YieldPoint(rows * g);
        post = w.asDiagonal() * lik_.middleCols(p0, rows);
        post.array().rowwise() /= v.segment(p0, rows).transpose().array();
        visit(member, p0, static_cast<const MatrixXd&>(post));
        post.array().rowwise() *= pat.count.segment(p0, rows).transpose().array();
        out.mass += post.rowwise().sum();
        out.r.noalias() += pat.s.middleRows(p0, rows).transpose() * post.transpose();
        out.t.noalias() += trials_.middleRows(p0, rows).transpose() * post.transpose();
      }
    });
    e.r = partial_[0].r;
    e.t = partial_[0].t;
    e.mass = partial_[0].mass;
    for (size_t k = 1; k < partial_.size(); ++k) {
      e.r += partial_[k].r;
      e.t += partial_[k].t;
      e.mass += partial_[k].mass;
    }
  }

  // One EM step: returns the objective at x and writes M(x) to `next`.
  double Step(const VectorXd& x, VectorXd& next, EStep& e) {
    Expect(x, pr_.estimate_weights ? kRefineWeights : 0, e, [](int, Index, const MatrixXd&) {});
    next = x;
    MatrixXd beta = Beta(x);
    for (Index u = 0; u < pr_.units; ++u) {
      VectorXd b = beta.row(u).transpose();
      MaximizeUnit(e.r.row(u), e.t.row(u), b);
      beta.row(u) = b.transpose();
    }
    next.head(pr_.units * pr_.dims) = Eigen::Map<const VectorXd>(
        MatrixXd(beta.transpose()).data(), pr_.units * pr_.dims);
    if (pr_.estimate_weights) {
      next.tail(pr_.nodes()) =
          (e.mass / e.mass.sum()).array().log().max(kMinLogWeight).matrix();
      NormalizeLogWeights(next);
    }
    return e.objective;
  }

  // Puts an extrapolated state back in the parameter space: bounds on β, weights summing to 1.
  void Project(VectorXd& x) const {
    for (Index u = 0; u < pr_.units; ++u) {
      for (int d = 0; d < pr_.dims; ++d) {
        double& v = x[u * pr_.dims + d];
        const double lo = d == pr_.lower_bounded_param ? 0.0 : -kParamBound;
        v = std::clamp(v, lo, kParamBound);
      }
    }
    if (pr_.estimate_weights) {
      x.tail(pr_.nodes()) = x.tail(pr_.nodes()).cwiseMax(kMinLogWeight);
      NormalizeLogWeights(x);
    }
  }

  // Standard errors of β (M·D, state order) from the complete-data information at the E-step
  // `e`, on the identified scale: smaller than the marginal ones, so a strict yardstick for the
  // stopping rule.
  VectorXd CompleteDataSe(const VectorXd& x, const EStep& e) const {
    const MatrixXd beta = Beta(x);
    const MatrixXd p = Logits(beta).unaryExpr([](double v) { return 1 / (1 + std::exp(-v)); });
    const MatrixXd curv = (e.t.array() * p.array() * (1 - p.array())).matrix();
    const double scale = pr_.standardized ? MomentsOf(beta.col(0)).sd : 1.0;
    VectorXd se(pr_.units * pr_.dims);
    for (Index u = 0; u < pr_.units; ++u) {
      for (int d = 0; d < pr_.dims; ++d) {
        const double info =
            curv.row(u).dot(pr_.z.col(d).cwiseAbs2()) / (pr_.sigma * pr_.sigma) + pr_.ridge;
        se[u * pr_.dims + d] = 1 / std::sqrt(std::max(info, 1e-300)) / scale;
      }
    }
    return se;
  }

  // Gradient of the objective at the state whose E-step `e` is, per β entry (M × D), for the KKT
  // check: Σ_g (r − t·p) z_g / σ − λβ (zero in a bounded coordinate pushing at its bound).
  double ScaledGradient(const VectorXd& x, const EStep& e) const {
    const MatrixXd beta = Beta(x);
    const MatrixXd p = Logits(beta).unaryExpr([](double v) { return 1 / (1 + std::exp(-v)); });
    const MatrixXd resid = e.r - (e.t.array() * p.array()).matrix();
    double worst = 0;
    for (Index u = 0; u < pr_.units; ++u) {
      const double weight = std::max(1.0, e.t.row(u).sum());
      for (int d = 0; d < pr_.dims; ++d) {
        double grad = resid.row(u).dot(pr_.z.col(d)) / pr_.sigma - pr_.ridge * beta(u, d);
        if (d == pr_.lower_bounded_param && beta(u, d) <= 0) grad = std::max(grad, 0.0);
        worst = std::max(worst, std::abs(grad) / weight);
      }
    }
    return worst;
  }

 private:
  static constexpr Index kBlock = 256;  // patterns per block of the E-step's products
  struct Partial {
    MatrixXd r, t;
    VectorXd mass;
  };

  void NormalizeLogWeights(VectorXd& x) const {
    auto w = x.tail(pr_.nodes());
    const double top = w.maxCoeff();
    w.array() -= top + std::log((w.array() - top).exp().sum());
  }

  // Maximizes q(β) = Σ_g r_g log p_g + (t_g − r_g) log(1 − p_g) − λ/2 ‖β‖² over one unit's β
  // (concave) by Newton with step halving; a bounded coordinate at 0 with an outward gradient
  // is held there.
  void MaximizeUnit(const RowVectorXd& r, const RowVectorXd& t, VectorXd& beta) const {
    const int d = pr_.dims;
    const auto value = [&](const VectorXd& b) {
      const ArrayXd x = ((pr_.z * b + pr_.offset) / pr_.sigma).array();
      double v = 0;
      for (Index g = 0; g < x.size(); ++g) {
        v -= r[g] * Softplus(-x[g]) + (t[g] - r[g]) * Softplus(x[g]);
      }
      return v - 0.5 * pr_.ridge * b.squaredNorm();
    };
    double current = value(beta);
    for (int iter = 0; iter < 25; ++iter) {
      const ArrayXd x = ((pr_.z * beta + pr_.offset) / pr_.sigma).array();
      const ArrayXd p = 1 / (1 + (-x).exp());
      const VectorXd resid = (r.transpose().array() - t.transpose().array() * p).matrix();
      VectorXd grad = pr_.z.transpose() * resid / pr_.sigma - pr_.ridge * beta;
      const VectorXd curv = (t.transpose().array() * p * (1 - p)).matrix();
      MatrixXd hess = pr_.z.transpose() * curv.asDiagonal() * pr_.z / (pr_.sigma * pr_.sigma);
      hess.diagonal().array() += pr_.ridge + 1e-12;
      std::vector<bool> held(d, false);
      const int lb = pr_.lower_bounded_param;
      if (lb >= 0 && beta[lb] <= 0 && grad[lb] <= 0) {
        held[lb] = true;
        grad[lb] = 0;
        hess.row(lb).setZero();
        hess.col(lb).setZero();
        hess(lb, lb) = 1;
      }
      if (grad.norm() < 1e-12 * std::max(1.0, t.sum())) break;
      const VectorXd step = hess.ldlt().solve(grad);
      if (!step.allFinite()) break;
      double scale = 1;
      bool moved = false;
      for (int half = 0; half < 40; ++half, scale /= 2) {
        VectorXd trial = beta + scale * step;
        for (int k = 0; k < d; ++k) {
          const double lo = k == lb ? 0.0 : -kParamBound;
          trial[k] = std::clamp(trial[k], lo, kParamBound);
        }
        const double v = value(trial);
        if (v >= current) {
          moved = (trial - beta).cwiseAbs().maxCoeff() > 1e-13;
          beta = trial;
          current = v;
          break;
        }
      }
      if (!moved || step.cwiseAbs().maxCoeff() * scale < 1e-11) break;
    }
  }

  const Problem& pr_;
  ThreadTeam team_;
  std::vector<Index> bounds_;
  MatrixXd trials_;
  std::vector<Partial> partial_;
  MatrixXd lik_;  // G × P, the last E-step's scaled likelihoods
  VectorXd top_;  // P, their scales (log)
};

VectorXd Standardized(const VectorXd& v) {
  const MeanSd m = MomentsOf(v);
  return (v.array() - m.mean) / m.sd;
}

// Changes of the fixed side's parameters between two states, on their identified scale.
VectorXd ParamChanges(const Problem& pr, const VectorXd& x, const VectorXd& y) {
  const Index size = pr.units * pr.dims;
  if (!pr.standardized) return (x.head(size) - y.head(size)).cwiseAbs();
  return (Standardized(x.head(size)) - Standardized(y.head(size))).cwiseAbs();
}

// EM accelerated by SQUAREM (Varadhan & Roland 2008, S3) with a monotone safeguard: from x0,
// x1 = M(x0), x2 = M(x1), x2' = M(x2) (also the fallback), extrapolate x' from (x0, x1, x2); the
// cycle ends at M(x') if the objective at x' is at least the one at x2, else at x2'. Each E-step
// counts as an iteration. Returns the final state; fills the diagnostics.
absl::StatusOr<VectorXd> RunEm(MarginalEm& em, const Problem& pr, VectorXd x,
                               const FitOptions& options, FitDiagnostics& diag) {
  EStep e;
  VectorXd x1, x2, x3, xp, xq;
  diag.stop_reason = "max_iter";
  double f0 = em.Step(x, x1, e);
  diag.sweeps = 1;
  int iter = 0;
  if (options.keep_loss_history) diag.loss_history.push_back(-f0);
  const auto report = [&](int at, double f) {
    if (options.keep_loss_history) diag.loss_history.push_back(-f);
    return !options.on_iteration || options.on_iteration(at, -f);
  };
  while (iter < options.max_iter) {
    // x1 = M(x0) is known with f0 = f(x0).
    double f_next;
    VectorXd next, next_image;
    em.Step(x1, x2, e);
    const double f2 = em.Step(x2, x3, e);
    diag.sweeps += 2;
    if (options.accelerate) {
      const VectorXd r = x1 - x;
      const VectorXd v = x2 - x1 - r;
      double alpha = v.norm() > 0 ? -r.norm() / v.norm() : -1.0;
      if (!std::isfinite(alpha) || alpha > -1) alpha = -1;
      xp = x - 2 * alpha * r + alpha * alpha * v;
      em.Project(xp);
      const double fp = em.Step(xp, xq, e);
      diag.sweeps++;
      if (std::isfinite(fp) && fp >= f2) {
        next = std::move(xp);
        next_image = std::move(xq);
        f_next = fp;
      } else {
        next = std::move(x2);
        next_image = std::move(x3);
        f_next = f2;
      }
    } else {
      next = std::move(x2);
      next_image = std::move(x3);
      f_next = f2;
    }
    iter = diag.sweeps - 1;
    diag.iterations = iter;
    diag.rel_loss_change = std::abs(f_next - f0) / std::max(std::abs(f_next), 1e-300);
    const VectorXd change = ParamChanges(pr, next, x);
    diag.max_param_change = change.maxCoeff();
    diag.max_change_se = change.cwiseQuotient(em.CompleteDataSe(next, e)).maxCoeff();
    x = std::move(next);
    x1 = std::move(next_image);
    f0 = f_next;
    if (!report(iter, f0)) {
      return absl::CancelledError(absl::StrCat("fit cancelled at iteration ", iter));
    }
    if (diag.max_change_se < options.se_tol) {
      diag.stop_reason = "converged";
      diag.converged = true;
      break;
    }
  }
  EStep last;
  em.Expect(x, 0, last, [](int, Index, const MatrixXd&) {});
  diag.loss = -last.objective;
  diag.kkt_residual = em.ScaledGradient(x, last);
  return x;
}

double Logit(double p) { return std::log(p / (1 - p)); }

// sqrt(diag(C)) of C = info⁻¹ (or of J·C·Jᵀ when `project` is given); NaN when singular.
VectorXd CovarianceDiagonalSqrt(const MatrixXd& info, const MatrixXd* project) {
  Eigen::LDLT<MatrixXd> ldlt(info);
  if (ldlt.info() != Eigen::Success || !(ldlt.vectorD().array() > 0).all()) {
    return VectorXd::Constant(info.rows(), std::numeric_limits<double>::quiet_NaN());
  }
  const MatrixXd cov = ldlt.solve(MatrixXd::Identity(info.rows(), info.cols()));
  if (project == nullptr) return cov.diagonal().cwiseSqrt();
  return (*project * cov * project->transpose()).diagonal().cwiseMax(0).cwiseSqrt();
}

// Score cross-product of the fixed side's parameters over the integrated units (the observed
// information's empirical form): Σ_p count_p s_p s_pᵀ + λI, where s_p,(m,d) =
// Σ_g post_pg z_gd (S_pm − T_pm p_mg)/σ. Full when small, else one D×D block per unit.
// Accumulated per member of the E-step's team (Add is called by all of them at once, each with
// its own `member`) and summed in member order, so the result does not depend on timing.
class ScoreCrossProduct {
 public:
  ScoreCrossProduct(const Problem& pr, const MatrixXd& prob, int members)
      : pr_(pr), prob_(prob), full_(pr.units * pr.dims <= kFullInformationMax) {
    const Index size = pr.units * pr.dims;
    if (full_) {
      info_.assign(static_cast<size_t>(members), MatrixXd::Zero(size, size));
    } else {
      blocks_.assign(static_cast<size_t>(members),
                     std::vector<MatrixXd>(pr.units, MatrixXd::Zero(pr.dims, pr.dims)));
    }
  }
  void Add(int member, Index p0, const MatrixXd& post) {
    const Patterns& pat = *pr_.patterns;
    const Index rows = post.rows(), m = pr_.units;
    MatrixXd scores(rows, m * pr_.dims);  // column m·D + d
    for (int d = 0; d < pr_.dims; ++d) {
      const MatrixXd weighted = post * pr_.z.col(d).asDiagonal();  // rows × G
      const VectorXd mean_z = weighted.rowwise().sum();
      const MatrixXd expect = weighted * prob_.transpose();  // rows × M: Σ_g post z p_mg
      const MatrixXd sd = (pat.s.middleRows(p0, rows).array().colwise() * mean_z.array() -
                           (pat.s.middleRows(p0, rows) + pat.f.middleRows(p0, rows)).array() *
                               expect.array())
                              .matrix() /
                          pr_.sigma;
      for (Index u = 0; u < m; ++u) scores.col(u * pr_.dims + d) = sd.col(u);
    }
    const VectorXd c = pat.count.segment(p0, rows);
    const auto k = static_cast<size_t>(member);
    if (full_) {
      info_[k].noalias() += scores.transpose() * c.asDiagonal() * scores;
    } else {
      for (Index u = 0; u < m; ++u) {
        const auto block = scores.middleCols(u * pr_.dims, pr_.dims);
        blocks_[k][u].noalias() += block.transpose() * c.asDiagonal() * block;
      }
    }
  }
  // Standard errors of β (M × D), optionally of J·β for a linear map J on the unit index (D = 1).
  MatrixXd StandardErrors(const MatrixXd* project) const {
    const Index m = pr_.units, d = pr_.dims;
    MatrixXd se(m, d);
    if (full_) {
      MatrixXd info = info_[0];
      for (size_t k = 1; k < info_.size(); ++k) info += info_[k];
      info.diagonal().array() += pr_.ridge;
      const VectorXd s = CovarianceDiagonalSqrt(info, project);
      for (Index u = 0; u < m; ++u) se.row(u) = s.segment(u * d, d).transpose();
    } else {
      for (Index u = 0; u < m; ++u) {
        MatrixXd info = blocks_[0][u];
        for (size_t k = 1; k < blocks_.size(); ++k) info += blocks_[k][u];
        info.diagonal().array() += pr_.ridge;
        se.row(u) = CovarianceDiagonalSqrt(info, nullptr).transpose();
      }
    }
    return se;
  }

 private:
  const Problem& pr_;
  const MatrixXd& prob_;
  bool full_;
  std::vector<MatrixXd> info_;                  // per member
  std::vector<std::vector<MatrixXd>> blocks_;  // per member, per unit
};

MatrixXd Probabilities(const MarginalEm& em, const MatrixXd& beta) {
  return em.Logits(beta).unaryExpr([](double v) { return 1 / (1 + std::exp(-v)); });
}

absl::Status CheckInput(const ResponseMatrix& data, const FitOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  if (options.dims != 1) {
    return absl::InvalidArgumentError("dims: the marginal estimators are unidimensional (1)");
  }
  if (data.num_observed() == 0) return absl::InvalidArgumentError("responses: no observed cells");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FitResult> FitMarginalItems(const ResponseMatrix& data, const FitOptions& options) {
  RETURN_IF_ERROR(CheckInput(data, options));
  const Index n = data.num_models(), j = data.num_items();
  const Patterns patterns = ItemPatterns(data);
  Problem pr;
  pr.patterns = &patterns;
  pr.units = n;
  pr.dims = 1;
  pr.z.resize(kGridA * kGridB, 1);
  pr.offset.resize(kGridA * kGridB);
  for (int ia = 0; ia < kGridA; ++ia) {
    const double a = kGridAMin * std::pow(kGridAMax / kGridAMin, ia / double(kGridA - 1));
    for (int ib = 0; ib < kGridB; ++ib) {
      pr.z(ia * kGridB + ib, 0) = a;
      pr.offset[ia * kGridB + ib] = -kGridBMax + 2 * kGridBMax * ib / double(kGridB - 1);
    }
  }
  pr.estimate_weights = true;
  pr.lower_bounded_param = -1;
  pr.standardized = true;
  pr.sigma = options.sigma;
  pr.ridge = options.ridge;
  MarginalEm em(pr, ResolvedThreads(options.threads));

  // Start: θ from standardized logits of smoothed accuracies; a uniform population.
  VectorXd x(pr.state_size());
  for (Index i = 0; i < n; ++i) {
    x[i] = Logit((data.model_successes()[i] + 0.5) / (data.model_trials()[i] + 1));
  }
  x.head(n) = Standardized(x.head(n));
  x.tail(pr.nodes()).setConstant(-std::log(double(pr.nodes())));

  FitResult result;
  ASSIGN_OR_RETURN(x, RunEm(em, pr, std::move(x), options, result.diagnostics));

  // Standardize θ; node (a, b) maps to (a·s, b + a·m) on that scale (logits unchanged).
  const VectorXd theta_raw = x.head(n);
  const auto [m, s] = MomentsOf(theta_raw);
  const ArrayXd node_a = pr.z.col(0).array() * s;
  const ArrayXd node_b = pr.offset.array() + pr.z.col(0).array() * m;

  const MatrixXd prob = Probabilities(em, theta_raw);  // N × G
  ScoreCrossProduct info(pr, prob, em.members());
  MatrixXd item_moments(patterns.s.rows(), 5);  // E a, E a², E b, E b², E ab
  EStep e;
  em.Expect(x, 0, e, [&](int member, Index p0, const MatrixXd& post) {
    item_moments.block(p0, 0, post.cols(), 1) = post.transpose() * node_a.matrix();
    item_moments.block(p0, 1, post.cols(), 1) = post.transpose() * node_a.square().matrix();
    item_moments.block(p0, 2, post.cols(), 1) = post.transpose() * node_b.matrix();
    item_moments.block(p0, 3, post.cols(), 1) = post.transpose() * node_b.square().matrix();
    item_moments.block(p0, 4, post.cols(), 1) = post.transpose() * (node_a * node_b).matrix();
    info.Add(member, p0, post.transpose());
  });
  // The standardization's Jacobian at the solution: ∂θ'/∂θ = (I − 11ᵀ/N − θ'θ'ᵀ/N)/s.
  VectorXd theta = (theta_raw.array() - m) / s;
  MatrixXd jacobian = MatrixXd::Identity(n, n) - MatrixXd::Constant(n, n, 1.0 / n) -
                      theta * theta.transpose() / double(n);
  jacobian /= s;

  result.params.theta = theta;
  result.params.a.resize(j, 1);
  result.params.b.resize(j);
  MarginalSummary summary;
  summary.theta_se = info.StandardErrors(&jacobian);
  summary.a_se.resize(j, 1);
  summary.b_se.resize(j);
  summary.ab_cov.resize(j);
  for (Index c = 0; c < j; ++c) {
    const Index p = patterns.of[c];
    result.params.a(c, 0) = item_moments(p, 0);
    result.params.b[c] = item_moments(p, 2);
    summary.a_se(c, 0) = std::sqrt(std::max(0.0, item_moments(p, 1) - std::pow(item_moments(p, 0), 2)));
    summary.b_se[c] = std::sqrt(std::max(0.0, item_moments(p, 3) - std::pow(item_moments(p, 2), 2)));
    summary.ab_cov[c] = item_moments(p, 4) - item_moments(p, 0) * item_moments(p, 2);
  }
  // Mean over items of each item's posterior probability = Σ_g (mean posterior)_g p(θ_i, g).
  summary.predicted_accuracy = prob * (e.mass / double(j));
  result.marginal = std::move(summary);
  result.normalization.shift = VectorXd::Constant(1, m);
  result.normalization.scale = VectorXd::Constant(1, s);
  return result;
}

absl::StatusOr<FitResult> FitMarginalModels(const ResponseMatrix& data,
                                            const FitOptions& options) {
  RETURN_IF_ERROR(CheckInput(data, options));
  const Index n = data.num_models(), j = data.num_items();
  const Patterns patterns = ModelPatterns(data);
  Problem pr;
  pr.patterns = &patterns;
  pr.units = j;
  pr.dims = 2;  // (a, b)
  pr.z.resize(kQuadrature, 2);
  pr.offset = VectorXd::Zero(kQuadrature);
  pr.log_weight.resize(kQuadrature);
  for (int q = 0; q < kQuadrature; ++q) {
    const double t = -kQuadratureMax + 2 * kQuadratureMax * q / double(kQuadrature - 1);
    pr.z(q, 0) = t;
    pr.z(q, 1) = 1;
    pr.log_weight[q] = -0.5 * t * t;
  }
  pr.log_weight.array() -= std::log(pr.log_weight.array().exp().sum());
  pr.estimate_weights = false;
  pr.lower_bounded_param = 0;
  pr.standardized = false;
  pr.sigma = options.sigma;
  pr.ridge = options.ridge;
  MarginalEm em(pr, ResolvedThreads(options.threads));

  // Start: a = 1, b from the logit of each item's smoothed proportion correct.
  VectorXd x(pr.state_size());
  for (Index c = 0; c < j; ++c) {
    x[2 * c] = 1.0;
    x[2 * c + 1] = Logit((data.item_successes()[c] + 0.5) / (data.item_trials()[c] + 1));
  }
  FitResult result;
  ASSIGN_OR_RETURN(x, RunEm(em, pr, std::move(x), options, result.diagnostics));

  const MatrixXd beta = em.Beta(x);  // J × 2
  const MatrixXd prob = Probabilities(em, beta);  // J × Q
  const VectorXd node_theta = pr.z.col(0);
  const VectorXd node_accuracy = prob.colwise().mean().transpose();
  ScoreCrossProduct info(pr, prob, em.members());
  MatrixXd model_moments(patterns.s.rows(), 3);  // E θ, E θ², E accuracy
  EStep e;
  em.Expect(x, 0, e, [&](int member, Index p0, const MatrixXd& post) {
    model_moments.block(p0, 0, post.cols(), 1) = post.transpose() * node_theta;
    model_moments.block(p0, 1, post.cols(), 1) =
        post.transpose() * node_theta.array().square().matrix();
    model_moments.block(p0, 2, post.cols(), 1) = post.transpose() * node_accuracy;
    info.Add(member, p0, post.transpose());
  });
  const MatrixXd se = info.StandardErrors(nullptr);

  result.params.theta.resize(n, 1);
  result.params.a = beta.col(0);
  result.params.b = beta.col(1);
  MarginalSummary summary;
  summary.theta_se.resize(n, 1);
  summary.predicted_accuracy.resize(n);
  for (Index i = 0; i < n; ++i) {
    const Index p = patterns.of[i];
    result.params.theta(i, 0) = model_moments(p, 0);
    summary.theta_se(i, 0) =
        std::sqrt(std::max(0.0, model_moments(p, 1) - std::pow(model_moments(p, 0), 2)));
    summary.predicted_accuracy[i] = model_moments(p, 2);
  }
  summary.a_se = se.col(0);
  summary.b_se = se.col(1);
  result.marginal = std::move(summary);
  result.normalization.shift = VectorXd::Zero(1);
  result.normalization.scale = VectorXd::Ones(1);
  result.normalization.convention = kPopulationConvention;
  return result;
}

}  // namespace assay::irt
