#include "core/irt/fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/eigen.h"
#include "core/base/status_macros.h"
#include "core/base/thread_team.h"
#include "core/base/yield.h"
#include "core/irt/item_prior.h"
#include "core/irt/marginal.h"

namespace assay::irt {
namespace {

using Eigen::ArrayXd;
using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// Minimizes ½ aᵀQa − hᵀa subject to a ≥ 0 (Q symmetric positive semi-definite, K small) by exact
// cyclic coordinate descent started from `a`. Each coordinate step is an exact minimization, so
// the objective never increases; for K = 1 one step is the exact solution.
void NonNegativeQuadratic(const MatrixXd& q, const VectorXd& h, VectorXd& a) {
  const Index k = a.size();
  for (int pass = 0; pass < (k == 1 ? 1 : 200); ++pass) {
    double moved = 0;
    for (Index c = 0; c < k; ++c) {
      if (q(c, c) <= 0) continue;
      const double rest = q.row(c).dot(a) - q(c, c) * a[c];
      const double next = std::max(0.0, (h[c] - rest) / q(c, c));
      moved = std::max(moved, std::abs(next - a[c]));
      a[c] = next;
    }
    if (moved <= 1e-14 * (1 + a.cwiseAbs().maxCoeff())) break;
  }
}

// One MM sweep: from x computes F(x) (one exact block pass on the surrogate at x), the penalized
// loss at x and the scaled KKT residual at x. Reuses its buffers across calls; not thread safe.
class Sweeper {
 public:
  Sweeper(const ResponseMatrix& data, int dims, double sigma, double ridge, int threads,
          bool tight)
      : data_(data),
        k_(dims),
        sigma_(sigma),
        ridge_(ridge),
        gamma_(4 * sigma * sigma * ridge),
        tight_(tight && dims == 1) {
    const Index n = data.num_models();
    // Split items into contiguous ranges of about equal observed-cell counts.
    const int t = std::max(1, std::min<int>(threads, static_cast<int>(data.num_items())));
    const double per = static_cast<double>(data.num_observed()) / t;
    bounds_.push_back(0);
    double acc = 0;
    for (Index j = 0; j < data.num_items() && static_cast<int>(bounds_.size()) < t; ++j) {
      acc += data.item_cells()[j];
      if (acc >= per * static_cast<double>(bounds_.size())) bounds_.push_back(j + 1);
    }
    bounds_.push_back(data.num_items());
    workers_.resize(bounds_.size() - 1);
    for (Worker& w : workers_) {
      w.num = MatrixXd::Zero(n, k_);
      w.gram = MatrixXd::Zero(n, k_ * k_);
      w.grad = MatrixXd::Zero(n, k_);
    }
    team_ = std::make_unique<ThreadTeam>(static_cast<int>(workers_.size()));
  }

  struct Output {
    IrtParams next;
    double loss = 0;
    double kkt = 0;
  };

  void Run(const IrtParams& x, Output& out) {
    out.next.a.resize(x.a.rows(), k_);
    out.next.b.resize(x.b.size());
    team_->Run([&](int w) { Items(x, out.next, static_cast<size_t>(w)); });
    // Reduce the per-thread row accumulators into worker 0's.
    Worker& total = workers_[0];
    double loss = total.loss, kkt = total.kkt;
    for (size_t w = 1; w < workers_.size(); ++w) {
      total.num += workers_[w].num;
      total.gram += workers_[w].gram;
      total.grad += workers_[w].grad;
      total.gram_all += workers_[w].gram_all;
      loss += workers_[w].loss;
      kkt = std::max(kkt, workers_[w].kkt);
    }
    // Θ block: per-model K×K normal equations (H_i + γI) θ_i = num_i.
    const Index n = data_.num_models();
    out.next.theta.resize(n, k_);
    const double inv4s2 = 1.0 / (4 * sigma_ * sigma_);
    MatrixXd h(k_, k_);
    if (total.gram_all != 0) total.gram.array() += total.gram_all;
    for (Index i = 0; i < n; ++i) {
      for (Index c = 0; c < k_ * k_; ++c) h(c / k_, c % k_) = total.gram(i, c);
      h.diagonal().array() += gamma_;
      if (h.diagonal().maxCoeff() <= 0) {
        out.next.theta.row(i) = x.theta.row(i);  // no observations and no ridge: nothing to learn
      } else if (k_ == 1) {
        out.next.theta(i, 0) = total.num(i, 0) / h(0, 0);
      } else {
        out.next.theta.row(i) = h.ldlt().solve(total.num.row(i).transpose()).transpose();
      }
      const double scale = std::max(1.0, data_.model_trials()[i]);
      for (Index c = 0; c < k_; ++c) {
        const double g = -total.grad(i, c) * inv4s2 + ridge_ * x.theta(i, c);
        kkt = std::max(kkt, std::abs(g) / scale);
      }
    }
    loss += 0.5 * ridge_ * (x.theta.squaredNorm() + x.a.squaredNorm() + x.b.squaredNorm());
    out.loss = loss;
    out.kkt = kkt;
    FixGauge(out.next);
  }

  // Standard errors of the (normalized) parameters `p` from the diagonal of the penalized Fisher
  // information: θ_ik from Σ_j w·a_jk²·π(1−π)/σ², a_jk from Σ_i w·θ_ik²·π(1−π)/σ², b_j from
  // Σ_i w·π(1−π)/σ², each plus the ridge λ. The diagonal ignores the other parameters'
  // uncertainty, so these are lower bounds on the joint SEs: a rule measured in them is the
  // stricter for it. One pass over the observed cells on the sweep's threads, O(observed·K).
  IrtParams StandardErrors(const IrtParams& p) {
    const Index n = p.theta.rows();
    IrtParams se{MatrixXd(n, k_), MatrixXd(p.a.rows(), k_), VectorXd(p.b.size())};
    team_->Run([&](int w) {
      Worker& wk = workers_[static_cast<size_t>(w)];
      wk.num.setZero();  // θ's information, this worker's items
      MatrixXd gathered;
      for (Index j = bounds_[static_cast<size_t>(w)]; j < bounds_[static_cast<size_t>(w) + 1];
           ++j) {
        const ResponseMatrix::Column col = data_.column(j);
        YieldPoint(col.size * k_ + 1);
        const Index m = col.size;
        if (col.rows != nullptr) {
          gathered.resize(m, k_);
          for (Index c = 0; c < m; ++c) gathered.row(c) = p.theta.row(col.rows[c]);
        }
        const MatrixXd& tg = col.rows != nullptr ? gathered : p.theta;
        const ArrayXd e =
            (-((tg * p.a.row(j).transpose()).array() + p.b[j]).abs() / sigma_).exp();
        ArrayXd v = e / (1.0 + e).square() / (sigma_ * sigma_);  // π(1−π)/σ²
        if (col.w != nullptr) v *= Eigen::Map<const Eigen::ArrayXf>(col.w, m).cast<double>();
        se.b[j] = 1.0 / std::sqrt(ridge_ + v.sum());
        se.a.row(j) =
            ((tg.array().square().colwise() * v).colwise().sum() + ridge_).sqrt().inverse();
        const Eigen::RowVectorXd a2 = p.a.row(j).array().square();
        if (col.rows == nullptr) {
          wk.num.noalias() += v.matrix() * a2;
        } else {
          for (Index c = 0; c < m; ++c) wk.num.row(col.rows[c]) += v[c] * a2;
        }
      }
    });
    for (size_t w = 1; w < workers_.size(); ++w) workers_[0].num += workers_[w].num;
    se.theta = (workers_[0].num.array() + ridge_).sqrt().inverse().matrix();
    return se;
  }

 private:
  // The gauge step, after each MM step. The logits X = ΘAᵀ + 1bᵀ, hence the data term, do not
  // change under a shift θ_i → θ_i + s, b_j → b_j − a_j·s, nor under a scale θ_·k → c_k θ_·k,
  // a_·k → a_·k / c_k (c_k > 0 keeps a ≥ 0): only the ridge sees them. MM moves along these
  // directions only as fast as the ridge pulls, which is slowly when one side is small (few
  // models, many items: the scale shared by θ and a is nearly flat). Minimizing the ridge over
  // them exactly instead (the shift, then the scale, each in closed form) lowers the loss, so the
  // iteration stays monotone, and leaves MM the well-conditioned directions. O((N + J)·K²).
  void FixGauge(IrtParams& p) const {
    if (ridge_ <= 0) return;  // no penalty (paper mode): every gauge has the same loss
    const Index n = p.theta.rows();
    // Shift: minimize Σ_i ‖θ_i + s‖² + Σ_j (b_j − a_j·s)², i.e. (N·I + AᵀA) s = Aᵀb − Σ_i θ_i.
    MatrixXd m = p.a.transpose() * p.a;
    m.diagonal().array() += static_cast<double>(n);
    const VectorXd s =
        m.ldlt().solve(p.a.transpose() * p.b - p.theta.colwise().sum().transpose());
    p.theta.rowwise() += s.transpose();
    p.b -= p.a * s;
    // Scale: minimize c²‖Θ_k‖² + ‖A_k‖²/c², i.e. c⁴ = ‖A_k‖² / ‖Θ_k‖².
    for (Index c = 0; c < k_; ++c) {
      const double t2 = p.theta.col(c).squaredNorm(), a2 = p.a.col(c).squaredNorm();
      if (!(t2 > 0) || !(a2 > 0)) continue;
      const double scale = std::pow(a2 / t2, 0.25);
      p.theta.col(c) *= scale;
      p.a.col(c) /= scale;
    }
  }

  struct Worker {
    MatrixXd num, gram, grad;  // N×K, N×K², N×K row accumulators
    MatrixXd theta_g;          // gathered abilities of one item's rows
    ArrayXd x, r, y, w, v;
    double loss = 0, kkt = 0;
    double gram_all = 0;  // K = 1, dense, unit weights: Σ_j a_j² is every row's Gram entry
    // Sparse K = 1, unit weights: row i's num, grad and gram contributions interleaved at
    // acc[4i..4i+2] (padded to 4: one cache line per scattered cell instead of three), folded into
    // num, grad and gram after the worker's items. All zero between calls.
    std::vector<double> acc;
  };

  // Per-cell work for K = 1 on a block of at most kBlock cells, in fixed-size arrays (no heap).
  static constexpr Index kBlock = 256;
  using Block = Eigen::Array<double, Eigen::Dynamic, 1, 0, kBlock, 1>;

  // K = 1 fast path of Items(): the same updates, written per cell block so that exp/log run
  // vectorized over stack arrays and the row scatter needs only the column's x and R.
  void ItemsUnidimensional(const IrtParams& x, IrtParams& next, Worker& wk, Index first,
                           Index last) {
    const double inv_sigma = 1.0 / sigma_, four_sigma = 4 * sigma_;
    const double inv4s2 = 1.0 / (4 * sigma_ * sigma_);
    const double* theta = x.theta.data();
    double* num = wk.num.data();
    double* gram = wk.gram.data();
    double* grad = wk.grad.data();
    for (Index j = first; j < last; ++j) {
      const ResponseMatrix::Column col = data_.column(j);
      YieldPoint(col.size + 1);
      const Index m = col.size;
      const double a_old = x.a(j, 0), b_old = x.b[j];
      if (m == 0) {
        next.a(j, 0) = gamma_ > 0 ? 0.0 : a_old;
        next.b[j] = gamma_ > 0 ? 0.0 : b_old;
        continue;
      }
      if (wk.x.size() < m) {
        wk.x.resize(m);
        wk.r.resize(m);
        wk.v.resize(m);
      }
      // Sums over the column: s_tt = Σ W θ², s_t = Σ W θ, weight = Σ W (W = w·m, the surrogate's
      // curvature per cell in units of ¼: see tight_), s_tr = Σ w θ R, s_r = Σ w R, total_w = Σ w.
      double loss = 0, s_tt = 0, s_tr = 0, s_r = 0, s_t = 0, weight = 0, total_w = 0;
      Block th, y, w, xb, e, p, r, cw;
      for (Index s0 = 0; s0 < m; s0 += kBlock) {
        const Index len = std::min(kBlock, m - s0);
        th.resize(len);
        if (col.rows == nullptr) {
          th = Eigen::Map<const ArrayXd>(theta + s0, len);
        } else {
          for (Index c = 0; c < len; ++c) th[c] = theta[col.rows[s0 + c]];
        }
        y = Eigen::Map<const Eigen::ArrayXf>(col.y + s0, len).cast<double>();
        xb = th * a_old + b_old;
        const Block t = xb * inv_sigma;
        // Branch-free and with one division per cell (Eigen's select() and comparisons are
        // scalar, and random responses defeat the branch predictor): e = e^{−|t|} ∈ (0, 1],
        // q = 1 / ((1 + e)·max(|t|, 1e-3)), so 1/(1 + e) = q·max(|t|, 1e-3), and
        // p = (e or 1)/(1 + e) by the sign of t, the step taken as min(1, max(0, t·1e300)).
        const Block at = t.abs(), at_c = at.max(1e-3);
        e = (-at).exp();
        const Block q = ((1.0 + e) * at_c).inverse();
        p = q * at_c * (e + (1.0 - e) * (t * 1e300).max(0.0).min(1.0));
        r = four_sigma * (y - p);
        const Block cell_loss = t.max(0.0) + (1.0 + e).log() - y * t;  // softplus(t) − y t
        if (tight_) {
          // m = 2·tanh(|t|/2) / |t| = 2(1 − e)·q ∈ (0, 1]; 1 below |t| = 1e-3, where the
          // formula cancels, and 1e-11 above the rounded value elsewhere, so the surrogate stays
          // above the loss.
          cw = (2.0 * (1.0 - e) * q * (1 + 1e-11) + ((1e-3 - at) * 1e300).max(0.0).min(1.0))
                   .min(1.0);
        } else {
          cw.setOnes(len);
        }
        if (col.w != nullptr) {
          w = Eigen::Map<const Eigen::ArrayXf>(col.w + s0, len).cast<double>();
          loss += (w * cell_loss).sum();
          r *= w;  // w·R from here on
          cw *= w;
          total_w += w.sum();
        } else {
          loss += cell_loss.sum();
          total_w += static_cast<double>(len);
        }
        const Block ct = cw * th;
        s_tt += (ct * th).sum();
        s_t += ct.sum();
        weight += cw.sum();
        s_tr += (th * r).sum();
        s_r += r.sum();
        wk.x.segment(s0, len) = xb;
        wk.r.segment(s0, len) = r;
        wk.v.segment(s0, len) = cw;
      }
      wk.loss += loss;
      // KKT residual at x (projected for a ≥ 0), scaled by the item's total weight.
      const double scale = std::max(1.0, total_w);
      const double ga = -s_tr * inv4s2 + ridge_ * a_old;
      wk.kkt = std::max({wk.kkt, ((a_old <= 0 && ga > 0) ? 0.0 : std::abs(ga)) / scale,
                         std::abs(-s_r * inv4s2 + ridge_ * b_old) / scale});
      // A and b blocks (closed form for K = 1): weighted least squares towards Z = x + R / m
      // with weights W, whose cross terms Σ W θ R/m = Σ w θ R need no division.
      const double a_new = std::max(0.0, (s_tt * a_old + s_tr) / (s_tt + gamma_));
      const double b_new = (b_old * weight + s_r + (a_old - a_new) * s_t) / (weight + gamma_);
      next.a(j, 0) = a_new;
      next.b[j] = b_new;
      // Row accumulators: num_i += (W (x − b_new) + w R) a_new, gram_i += W a_new²,
      // grad_i += w R a_old (wk.r holds w R).
      const auto xc = wk.x.head(m), rc = wk.r.head(m), wc = wk.v.head(m);
      if (col.rows == nullptr && col.w == nullptr && !tight_) {  // W ≡ 1: one gram for all rows
        Eigen::Map<ArrayXd>(num, m) += (xc + rc - b_new) * a_new;
        Eigen::Map<ArrayXd>(grad, m) += rc * a_old;
        wk.gram_all += a_new * a_new;
      } else if (col.rows == nullptr) {  // one fused pass over the three row arrays
        const double a2 = a_new * a_new;
        const double* xs = xc.data();
        const double* rs = rc.data();
        const double* ws = wc.data();
#pragma GCC ivdep
        for (Index c = 0; c < m; ++c) {
          num[c] += (ws[c] * (xs[c] - b_new) + rs[c]) * a_new;
          grad[c] += rs[c] * a_old;
          gram[c] += ws[c] * a2;
        }
      } else {
        const double a2 = a_new * a_new;
        const int32_t* rows = col.rows;
        if (wk.acc.empty()) wk.acc.assign(static_cast<size_t>(4 * wk.num.rows()), 0.0);
        double* acc = wk.acc.data();
        // One 4-wide read-modify-write per cell (GCC vector extension; lowered to scalars where
        // the target has no 256-bit vectors), the same fused multiply-adds as three scalar ones.
        typedef double Quad __attribute__((vector_size(32), aligned(8)));
        const Quad coef = {a_new, a_old, a2, 0.0};
        Quad* quads = reinterpret_cast<Quad*>(acc);
        for (Index c = 0; c < m; ++c) {
          quads[rows[c]] += Quad{wc[c] * (xc[c] - b_new) + rc[c], rc[c], wc[c], 0.0} * coef;
        }
      }
    }
    if (!wk.acc.empty()) {
      for (Index i = 0; i < wk.num.rows(); ++i) {
        num[i] += wk.acc[4 * i];
        grad[i] += wk.acc[4 * i + 1];
        gram[i] += wk.acc[4 * i + 2];
      }
      std::fill(wk.acc.begin(), wk.acc.end(), 0.0);
    }
  }

  // A and b blocks for items [bounds_[w], bounds_[w+1]), with row accumulators for the Θ block.
  void Items(const IrtParams& x, IrtParams& next, size_t w_index) {
    Worker& wk = workers_[w_index];
    wk.num.setZero();
    wk.gram.setZero();
    wk.grad.setZero();
    wk.loss = 0;
    wk.kkt = 0;
    wk.gram_all = 0;
    if (k_ == 1) {
      ItemsUnidimensional(x, next, wk, bounds_[w_index], bounds_[w_index + 1]);
      return;
    }
    const double inv4s2 = 1.0 / (4 * sigma_ * sigma_);
    MatrixXd g(k_, k_);
    VectorXd s_theta_r(k_), s_theta(k_), a_old(k_), a_new(k_), h(k_);
    for (Index j = bounds_[w_index]; j < bounds_[w_index + 1]; ++j) {
      const ResponseMatrix::Column col = data_.column(j);
      YieldPoint(col.size * k_);
      const Index m = col.size;
      a_old = x.a.row(j).transpose();
      const double b_old = x.b[j];
      if (m == 0) {  // no data: the ridge pulls to 0; without it nothing moves
        if (gamma_ > 0) a_old.setZero();
        next.a.row(j) = a_old.transpose();
        next.b[j] = gamma_ > 0 ? 0.0 : b_old;
        continue;
      }
      // Gather Θ rows of this item's observed cells (dense: all rows, in order).
      const bool dense = col.rows == nullptr;
      if (!dense) {
        wk.theta_g.resize(m, k_);
        for (Index c = 0; c < m; ++c) wk.theta_g.row(c) = x.theta.row(col.rows[c]);
      }
      const MatrixXd& tg = dense ? x.theta : wk.theta_g;

      wk.x = (tg * a_old).array() + b_old;
      wk.y = Eigen::Map<const Eigen::ArrayXf>(col.y, m).cast<double>();
      const ArrayXd t = wk.x / sigma_;
      const ArrayXd e = (-t.abs()).exp();
      const ArrayXd inv = (1.0 + e).inverse();
      const ArrayXd p = (t >= 0).select(inv, e * inv);
      const ArrayXd cell_loss = t.max(0.0) + (1.0 + e).log() - wk.y * t;
      wk.r = 4 * sigma_ * (wk.y - p);
      double total_w;
      if (col.w != nullptr) {
        wk.w = Eigen::Map<const Eigen::ArrayXf>(col.w, m).cast<double>();
        wk.loss += (wk.w * cell_loss).sum();
        total_w = wk.w.sum();
        wk.v = wk.w * wk.r;  // w·R
        g.noalias() = tg.transpose() * (tg.array().colwise() * wk.w).matrix();
        s_theta.noalias() = tg.transpose() * wk.w.matrix();
      } else {
        wk.loss += cell_loss.sum();
        total_w = static_cast<double>(m);
        wk.v = wk.r;
        g.noalias() = tg.transpose() * tg;
        s_theta = tg.colwise().sum().transpose();
      }
      s_theta_r.noalias() = tg.transpose() * wk.v.matrix();
      const double s_r = wk.v.sum();

      // KKT residual at x for a_j (projected: a_jc = 0 with a positive gradient is optimal) and
      // b_j.
      const double scale = std::max(1.0, total_w);
      for (Index c = 0; c < k_; ++c) {
        const double ga = -s_theta_r[c] * inv4s2 + ridge_ * a_old[c];
        const double projected = (a_old[c] <= 0 && ga > 0) ? 0.0 : std::abs(ga);
        wk.kkt = std::max(wk.kkt, projected / scale);
      }
      wk.kkt = std::max(wk.kkt, std::abs(-s_r * inv4s2 + ridge_ * b_old) / scale);

      // A block: min_{a ≥ 0} Σ w (Z − b − θᵀa)² + γ‖a‖²  ⇔  ½aᵀ(G+γI)a − (G a_old + Σ wθR)ᵀa.
      h.noalias() = g * a_old + s_theta_r;
      g.diagonal().array() += gamma_;
      a_new = a_old;
      NonNegativeQuadratic(g, h, a_new);
      // b block: weighted mean of Z − θᵀa_new, with ridge.
      const double b_new =
          (b_old * total_w + s_r + (a_old - a_new).dot(s_theta)) / (total_w + gamma_);
      next.a.row(j) = a_new.transpose();
      next.b[j] = b_new;

      // Row accumulators for the Θ block: num_i += w (Z − b_new) a_new, gram_i += w a_new a_newᵀ,
      // and grad_i += w R a_old (for the KKT residual of θ_i at x).
      // Z − b_new = x + R − b_new.
      if (col.w != nullptr) {
        wk.v = wk.w * (wk.x + wk.r - b_new);
      } else {
        wk.v = wk.x + wk.r - b_new;
      }
      const ArrayXd wr = col.w != nullptr ? ArrayXd(wk.w * wk.r) : wk.r;
      if (dense && k_ == 1) {
        wk.num.col(0).array() += wk.v * a_new[0];
        wk.grad.col(0).array() += wr * a_old[0];
        if (col.w != nullptr) {
          wk.gram.col(0).array() += wk.w * (a_new[0] * a_new[0]);
        } else {
          wk.gram.col(0).array() += a_new[0] * a_new[0];
        }
      } else {
        for (Index c = 0; c < m; ++c) {
          const Index i = dense ? c : col.rows[c];
          const double wc = col.w != nullptr ? wk.w[c] : 1.0;
          for (Index d = 0; d < k_; ++d) {
            wk.num(i, d) += wk.v[c] * a_new[d];
            wk.grad(i, d) += wr[c] * a_old[d];
            for (Index e2 = 0; e2 < k_; ++e2) wk.gram(i, d * k_ + e2) += wc * a_new[d] * a_new[e2];
          }
        }
      }
    }
  }

  const ResponseMatrix& data_;
  const Index k_;
  const double sigma_, ridge_, gamma_;
  // K = 1, production: each cell's surrogate takes the tightest quadratic majorizer of the
  // logistic loss at x (Jaakkola & Jordan 2000), curvature tanh(t/2)/(2t) per unit of t = x/σ,
  // instead of the uniform bound ¼ (paper mode). They agree near t = 0; at |t| = 4 the tight one
  // is half, at |t| = 8 a quarter, so MM's steps are that much longer where the model is sure,
  // which is where it crawled (near-perfect models, very steep items).
  const bool tight_;
  std::vector<Index> bounds_;
  std::vector<Worker> workers_;
  std::unique_ptr<ThreadTeam> team_;  // one thread per worker, for the whole fit
};

double Logit(double p) { return std::log(p / (1 - p)); }

IrtParams PaperInit(const ResponseMatrix& data, int k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  IrtParams p;
  p.theta = MatrixXd::NullaryExpr(data.num_models(), k, [&] { return normal(rng); });
  p.a = MatrixXd::NullaryExpr(data.num_items(), k, [&] { return std::exp(normal(rng)); });
  p.b = VectorXd::NullaryExpr(data.num_items(), [&] { return normal(rng); });
  // Scale down so that max |X| over the observed cells is at most 10.
  double max_abs = 0;
  for (Index j = 0; j < data.num_items(); ++j) {
    const ResponseMatrix::Column col = data.column(j);
    for (Index c = 0; c < col.size; ++c) {
      const Index i = col.rows ? col.rows[c] : c;
      max_abs = std::max(max_abs, std::abs(p.theta.row(i).dot(p.a.row(j)) + p.b[j]));
    }
  }
  if (max_abs > 10) {
    const double c = 10 / max_abs;
    p.theta *= std::sqrt(c);
    p.a *= std::sqrt(c);
    p.b *= c;
  }
  return p;
}

// Logits of smoothed accuracies: θ from each model's accuracy (standardized), b from each item's,
// a = 1. Extra dimensions start from small seeded noise (a symmetric start would keep them equal).
IrtParams DataInit(const ResponseMatrix& data, int k, uint64_t seed) {
  const Index n = data.num_models(), j = data.num_items();
  IrtParams p;
  p.theta = MatrixXd::Zero(n, k);
  for (Index i = 0; i < n; ++i) {
    p.theta(i, 0) = Logit((data.model_successes()[i] + 0.5) / (data.model_trials()[i] + 1));
  }
  const double mean = p.theta.col(0).mean();
  const double sd = std::sqrt((p.theta.col(0).array() - mean).square().mean());
  p.theta.col(0) = (p.theta.col(0).array() - mean) / (sd > 1e-12 ? sd : 1.0);
  p.a = MatrixXd::Constant(j, k, k == 1 ? 1.0 : 0.5);
  p.b.resize(j);
  for (Index c = 0; c < j; ++c) {
    p.b[c] = Logit((data.item_successes()[c] + 0.5) / (data.item_trials()[c] + 1));
  }
  if (k > 1) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 0.5);
    for (Index i = 0; i < n; ++i) {
      for (int d = 1; d < k; ++d) p.theta(i, d) = normal(rng);
    }
  }
  return p;
}

// Largest change between two normalized iterates in units of each parameter's SE.
double ChangeInSe(const IrtParams& x, const IrtParams& y, const IrtParams& se) {
  return std::max({((x.theta - y.theta).array().abs() / se.theta.array()).maxCoeff(),
                   ((x.a - y.a).array().abs() / se.a.array()).maxCoeff(),
                   ((x.b - y.b).array().abs() / se.b.array()).maxCoeff()});
}

// StopRule::kPrecision: stop when the distance left to the optimum, in units of each parameter's
// SE, is below se_tol. An accelerated iteration's change can jump tenfold from one step to the
// next, so the rule reads windows of kWindow iterations: D, the mean over the window of the
// largest change (over the parameters, in SE units), and r = (D / D_before)^(1 / kWindow), the
// contraction per iteration from the window before. The distance left is at most the sum of the
// changes still to come, estimated as the geometric tail D / (1 − r). Never while r ≥ 1, nor before
// two windows. Measured against fits run to the optimum, the stops land 5–100× inside se_tol
// (tests/bench/README.md, "a tight majorizer, Anderson acceleration, stopping on precision").
class PrecisionRule {
 public:
  static constexpr size_t kWindow = 3;
  PrecisionRule(bool on, double se_tol) : on_(on), se_tol_(se_tol) {}
  explicit operator bool() const { return on_; }
  // The change of a new iteration; true when the rule is met.
  bool Update(double change) {
    changes_.push_back(change);
    return Met();
  }
  // The same iteration's change measured again (with fresh SEs).
  bool Recheck(double change) {
    changes_.back() = change;
    return Met();
  }
  double last_change() const { return changes_.empty() ? 0.0 : changes_.back(); }

 private:
  double WindowMean(size_t end) const {
    double sum = 0;
    for (size_t i = end - kWindow; i < end; ++i) sum += changes_[i];
    return sum / kWindow;
  }
  bool Met() const {
    const size_t t = changes_.size();
    if (t < 2 * kWindow) return false;
    const double now = WindowMean(t), before = WindowMean(t - kWindow);
    if (!(now < before)) return false;
    const double r = std::pow(now / before, 1.0 / static_cast<double>(kWindow));
    return now / (1 - r) < se_tol_;
  }
  bool on_;
  double se_tol_;
  std::vector<double> changes_;
};

// Anderson acceleration (type II, Walker & Ni 2011) of the fixed-point map F with a memory of the
// last `memory` residuals g = F(x) − x: the next point is the combination of the recent images
// F(x) whose residuals cancel best in least squares. It extrapolates along every slow direction at
// once, where SQUAREM's one step length serves the slowest and fastest together.
// Memory of the accelerator: 10 reached the optimum of MATH-500 in 2.5× fewer sweeps than SQUAREM;
// 20 stopped MATH-500 three iterations sooner and matched it elsewhere (tests/bench/README.md,
// "a tight majorizer, Anderson acceleration, stopping on precision").
constexpr int kAndersonMemory = 10;

class Anderson {
 public:
  explicit Anderson(int memory) : memory_(memory) {}
  // The next point from the current x and its image f = F(x) (flattened).
  VectorXd Next(const VectorXd& x, const VectorXd& f) {
    VectorXd g = f - x;
    if (last_f_.size() == f.size()) {
      df_.push_back(f - last_f_);
      dg_.push_back(g - last_g_);
      if (static_cast<int>(df_.size()) > memory_) {
        df_.erase(df_.begin());
        dg_.erase(dg_.begin());
      }
    }
    last_f_ = f;
    last_g_ = g;
    if (dg_.empty()) return f;
    const Index m = static_cast<Index>(dg_.size());
    MatrixXd dg(g.size(), m), df(f.size(), m);
    for (Index c = 0; c < m; ++c) {
      dg.col(c) = dg_[static_cast<size_t>(c)];
      df.col(c) = df_[static_cast<size_t>(c)];
    }
    MatrixXd normal = dg.transpose() * dg;
    normal.diagonal().array() += 1e-12 * normal.trace();
    const VectorXd gamma = normal.ldlt().solve(dg.transpose() * g);
    if (!gamma.allFinite()) return f;
    return f - df * gamma;
  }
  void Restart() {
    df_.clear();
    dg_.clear();
    last_f_.resize(0);
  }

 private:
  int memory_;
  std::vector<VectorXd> df_, dg_;
  VectorXd last_f_, last_g_;
};

VectorXd Flatten(const IrtParams& p) {
  VectorXd v(p.theta.size() + p.a.size() + p.b.size());
  v << Eigen::Map<const VectorXd>(p.theta.data(), p.theta.size()),
      Eigen::Map<const VectorXd>(p.a.data(), p.a.size()), p.b;
  return v;
}

// The inverse of Flatten for `like`'s shape, with a ≥ 0 enforced.
IrtParams Unflatten(const VectorXd& v, const IrtParams& like) {
  IrtParams p;
  const Index nt = like.theta.size(), na = like.a.size();
  p.theta = Eigen::Map<const MatrixXd>(v.data(), like.theta.rows(), like.theta.cols());
  p.a = Eigen::Map<const MatrixXd>(v.data() + nt, like.a.rows(), like.a.cols()).cwiseMax(0.0);
  p.b = v.segment(nt + na, like.b.size());
  return p;
}


}  // namespace

namespace {

// What a marginal estimator cannot honour, named by field (nothing for the joint fit).
absl::Status CheckMethodOptions(FitMethod method, const FitOptions& options) {
  if (method != FitMethod::kMarginalItems && method != FitMethod::kMarginalModels) {
    return absl::OkStatus();
  }
  const char* name = FitMethodName(method);
  if (options.dims != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("method: ", name, " is unidimensional; dims must be 1"));
  }
  if (options.paper_mode) {
    return absl::InvalidArgumentError(
        absl::StrCat("method: paper mode is the joint cBMM, not ", name));
  }
  if (options.shrink_items) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shrink_items: joint fits only (", name, " already reports item posteriors)"));
  }
  if (options.warm_start.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("warm_start: joint fits only, not ", name));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FitOptions::Validate() const {
  if (dims < 1 || dims > 16)
    return absl::InvalidArgumentError(absl::StrCat("dims: must be in [1, 16], got ", dims));
  if (!(sigma > 0) || !std::isfinite(sigma))
    return absl::InvalidArgumentError(absl::StrCat("sigma: must be > 0, got ", sigma));
  if (!(ridge >= 0) || !std::isfinite(ridge))
    return absl::InvalidArgumentError(absl::StrCat("ridge: must be >= 0, got ", ridge));
  if (!(tol > 0)) return absl::InvalidArgumentError(absl::StrCat("tol: must be > 0, got ", tol));
  if (!(grad_tol > 0))
    return absl::InvalidArgumentError(absl::StrCat("grad_tol: must be > 0, got ", grad_tol));
  if (!(param_tol > 0))
    return absl::InvalidArgumentError(absl::StrCat("param_tol: must be > 0, got ", param_tol));
  if (!(se_tol > 0))
    return absl::InvalidArgumentError(absl::StrCat("se_tol: must be > 0, got ", se_tol));
  if (max_iter < 1)
    return absl::InvalidArgumentError(absl::StrCat("max_iter: must be >= 1, got ", max_iter));
  if (threads < 0 || threads > 256)
    return absl::InvalidArgumentError(
        absl::StrCat("threads: must be in [0, 256] (0: one per core), got ", threads));
  return CheckMethodOptions(method, *this);  // a forced marginal method's constraints
}

FitOptions FitOptions::Paper() {
  FitOptions options;
  options.paper_mode = true;
  options.ridge = 0;
  options.tol = 1e-4;
  options.max_iter = 1000;
  return options;
}

Normalization Normalize(IrtParams& params) {
  const Index k = params.dims();
  Normalization norm;
  norm.shift.resize(k);
  norm.scale.resize(k);
  for (Index d = 0; d < k; ++d) {
    const double mean = params.theta.col(d).mean();
    double sd = std::sqrt((params.theta.col(d).array() - mean).square().mean());
    if (!(sd > 1e-12)) sd = 1.0;
    params.b += params.a.col(d) * mean;
    params.theta.col(d) = (params.theta.col(d).array() - mean) / sd;
    params.a.col(d) *= sd;
    norm.shift[d] = mean;
    norm.scale[d] = sd;
  }
  return norm;
}

namespace {

// The joint cBMM fit (the file's header).
absl::StatusOr<FitResult> FitJoint(const ResponseMatrix& data, const FitOptions& options_in) {
  FitOptions options = options_in;
  if (options.paper_mode) {
    options.ridge = 0;
    options.accelerate = false;
  }
  if (data.num_observed() == 0) return absl::InvalidArgumentError("responses: no observed cells");
  const int k = options.dims;

  IrtParams x;
  if (options.warm_start.has_value() && !options.paper_mode) {
    x = *options.warm_start;
    if (x.theta.rows() != data.num_models() || x.theta.cols() != k ||
        x.a.rows() != data.num_items() || x.a.cols() != k || x.b.size() != data.num_items()) {
      return absl::InvalidArgumentError("warm_start: shape does not match the data and dims");
    }
    if ((x.a.array() < 0).any() || !x.theta.allFinite() || !x.a.allFinite() || !x.b.allFinite()) {
      return absl::InvalidArgumentError("warm_start: needs finite values and a >= 0");
    }
  } else {
    x = options.paper_mode ? PaperInit(data, k, options.seed) : DataInit(data, k, options.seed);
  }

  Sweeper sweeper(data, k, options.sigma, options.ridge, ResolvedThreads(options.threads),
                  /*tight=*/!options.paper_mode);
  FitDiagnostics diag;
  Sweeper::Output fx, fa;
  sweeper.Run(x, fx);  // F(x), L(x)
  diag.sweeps = 1;
  if (options.keep_loss_history) diag.loss_history.push_back(fx.loss);
  diag.stop_reason = "max_iter";
  PrecisionRule precision(!options.paper_mode && options.stop_rule == StopRule::kPrecision,
                          options.se_tol);
  std::optional<IrtParams> se;  // of the normalized parameters, refreshed when the rule is met
  bool precision_stop = false;
  Anderson anderson(kAndersonMemory);
  IrtParams x_normalized = x;  // x on the normalized scale, where changes are measured
  Normalize(x_normalized);

  for (int iter = 1; iter <= options.max_iter; ++iter) {
    IrtParams x_new;
    const double loss_x = fx.loss;
    if (options.accelerate) {
      // The accelerated point, kept if its loss is not above x's (the safeguard that keeps the
      // iteration monotone); else the plain MM step F(x), and the accelerator starts afresh.
      IrtParams xa = Unflatten(anderson.Next(Flatten(x), Flatten(fx.next)), x);
      sweeper.Run(xa, fa);  // F(x'), L(x')
      diag.sweeps++;
      if (std::isfinite(fa.loss) && fa.loss <= loss_x) {
        x_new = std::move(xa);
        std::swap(fx, fa);
      } else {
        anderson.Restart();
        x_new = std::move(fx.next);
        sweeper.Run(x_new, fx);
        diag.sweeps++;
      }
    } else {
      x_new = fx.next;
      sweeper.Run(x_new, fx);
      diag.sweeps++;
    }
    diag.iterations = iter;
    diag.rel_loss_change = std::abs(loss_x - fx.loss) / std::max(std::abs(fx.loss), 1e-300);
    diag.kkt_residual = fx.kkt;
    {
      IrtParams now = x_new;
      Normalize(now);
      const IrtParams& before = x_normalized;
      diag.max_param_change = std::max({(now.theta - before.theta).cwiseAbs().maxCoeff(),
                                        (now.a - before.a).cwiseAbs().maxCoeff(),
                                        (now.b - before.b).cwiseAbs().maxCoeff()});
      if (precision) {
        if (!se.has_value()) se = sweeper.StandardErrors(now);
        precision_stop = precision.Update(ChangeInSe(now, before, *se));
        if (precision_stop) {  // confirm with the SEs at the stopping point
          se = sweeper.StandardErrors(now);
          precision_stop = precision.Recheck(ChangeInSe(now, before, *se));
        }
        diag.max_change_se = precision.last_change();
      }
      x_normalized = std::move(now);
    }
    x = std::move(x_new);
    if (options.keep_loss_history) diag.loss_history.push_back(fx.loss);
    if (options.on_iteration && !options.on_iteration(iter, fx.loss)) {
      return absl::CancelledError(absl::StrCat("fit cancelled at iteration ", iter));
    }
    if (options.paper_mode) {
      if (diag.rel_loss_change < options.tol) {
        diag.stop_reason = "paper_rule";
        diag.converged = true;
        break;
      }
    } else if (precision ? precision_stop
                         : diag.rel_loss_change < options.tol &&
                               diag.kkt_residual < options.grad_tol &&
                               diag.max_param_change < options.param_tol) {
      diag.stop_reason = "converged";
      diag.converged = true;
      break;
    }
  }
  diag.loss = fx.loss;
  FitResult result;
  result.params = std::move(x);
  result.normalization = Normalize(result.params);
  if (options.shrink_items && !options.paper_mode) {
    result.item_prior = ShrinkItems(data, options.sigma, options.ridge, result.params);
  }
  result.diagnostics = std::move(diag);
  return result;
}

}  // namespace

int ResolvedThreads(int threads) {
  if (threads > 0) return threads;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

const char* FitMethodName(FitMethod method) {
  switch (method) {
    case FitMethod::kAuto:
      return "auto";
    case FitMethod::kJoint:
      return "joint";
    case FitMethod::kMarginalItems:
      return "marginal-items";
    case FitMethod::kMarginalModels:
      return "marginal-models";
  }
  return "?";
}

absl::StatusOr<FitMethod> ParseFitMethod(const std::string& name) {
  for (FitMethod m : {FitMethod::kAuto, FitMethod::kJoint, FitMethod::kMarginalItems,
                      FitMethod::kMarginalModels}) {
    if (name == FitMethodName(m)) return m;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "method: must be auto, joint, marginal-items or marginal-models, got '", name, "'"));
}

const char* StopRuleName(StopRule rule) {
  return rule == StopRule::kStrict ? "strict" : "precision";
}

absl::StatusOr<StopRule> ParseStopRule(const std::string& name) {
  for (StopRule r : {StopRule::kPrecision, StopRule::kStrict}) {
    if (name == StopRuleName(r)) return r;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("stop_rule: must be precision or strict, got '", name, "'"));
}

MethodChoice ChooseMethod(Index models, Index items, const FitOptions& options) {
  if (options.method != FitMethod::kAuto) {
    return {options.method, absl::StrCat("forced (method ", FitMethodName(options.method), ")")};
  }
  if (options.paper_mode) return {FitMethod::kJoint, "paper mode is the paper's joint cBMM"};
  if (options.dims > 1) {
    return {FitMethod::kJoint, "dims > 1: the marginal estimators are unidimensional"};
  }
  if (options.warm_start.has_value()) {
    return {FitMethod::kJoint, "a warm start continues a joint fit"};
  }
  if (models >= kJointMinSide && items >= kJointMinSide) {
    return {FitMethod::kJoint, absl::StrCat(models, " models and ", items, " items are both >= ",
                                            kJointMinSide, ": joint estimation is sound")};
  }
  if (models <= items) {
    return {FitMethod::kMarginalItems,
            absl::StrCat(models, " models < ", kJointMinSide,
                         ": too few to pin each item; items integrated over their population")};
  }
  return {FitMethod::kMarginalModels,
          absl::StrCat(items, " items < ", kJointMinSide,
                       ": too few to pin each model; models integrated over theta ~ N(0, 1)")};
}

absl::StatusOr<FitResult> Fit(const ResponseMatrix& data, const FitOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  if (data.num_observed() == 0) return absl::InvalidArgumentError("responses: no observed cells");
  const MethodChoice choice = ChooseMethod(data.num_models(), data.num_items(), options);
  RETURN_IF_ERROR(CheckMethodOptions(choice.method, options));
  absl::StatusOr<FitResult> result;
  switch (choice.method) {
    case FitMethod::kMarginalItems:
      result = FitMarginalItems(data, options);
      break;
    case FitMethod::kMarginalModels:
      result = FitMarginalModels(data, options);
      break;
    default:
      result = FitJoint(data, options);
  }
  if (result.ok()) {
    result->method = choice.method;
    result->method_reason = choice.reason;
  }
  return result;
}

}  // namespace assay::irt
