#include "tests/testing/irt_sim.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "core/base/eigen.h"
#include "core/base/status_macros.h"
#include "core/cat/session.h"
#include "core/irt/report.h"

namespace assay::testing {

using Eigen::Index;

Simulated Simulate(const SimOptions& o) {
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> unif(0, 1);
  irt::IrtParams t;
  t.theta = Eigen::MatrixXd::NullaryExpr(o.models, o.dims, [&] { return normal(rng); });
  t.a = Eigen::MatrixXd::NullaryExpr(o.items, o.dims,
                                     [&] { return o.a_min + (o.a_max - o.a_min) * unif(rng); });
  t.b = Eigen::VectorXd::NullaryExpr(o.items, [&] { return o.b_sd * normal(rng); });
  std::vector<std::string> models(o.models), items(o.items);
  for (Index i = 0; i < o.models; ++i) models[i] = "m" + std::to_string(i);
  for (Index j = 0; j < o.items; ++j) items[j] = "q" + std::to_string(j);
  std::vector<irt::Cell> cells;
  cells.reserve(static_cast<size_t>(o.models * o.items * (1 - o.missing) * 1.01));
  for (Index j = 0; j < o.items; ++j) {
    for (Index i = 0; i < o.models; ++i) {
      const double p = 1 / (1 + std::exp(-(t.theta.row(i).dot(t.a.row(j)) + t.b[j])));
      const bool keep = unif(rng) >= o.missing;
      int k = 0;
      for (int s = 0; s < o.trials; ++s) k += unif(rng) < p;
      if (!keep) continue;
      if (o.trials > 1 && o.majority_vote) {
        cells.push_back(
            {static_cast<int32_t>(i), static_cast<int32_t>(j), 2 * k > o.trials ? 1.0 : 0.0, 1.0});
      } else {
        cells.push_back({static_cast<int32_t>(i), static_cast<int32_t>(j), static_cast<double>(k),
                         static_cast<double>(o.trials)});
      }
    }
  }
  auto data = irt::ResponseMatrix::FromCells(std::move(models), std::move(items), std::move(cells));
  return Simulated{std::move(data).value(), std::move(t)};
}

namespace {
Eigen::VectorXd Ranks(const Eigen::VectorXd& x) {
  std::vector<Index> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](Index l, Index r) { return x[l] < x[r]; });
  Eigen::VectorXd ranks(x.size());
  for (Index s = 0; s < x.size();) {
    Index e = s;
    while (e + 1 < x.size() && x[order[e + 1]] == x[order[s]]) ++e;
    for (Index k = s; k <= e; ++k) ranks[order[k]] = 0.5 * (s + e);
    s = e + 1;
  }
  return ranks;
}
}  // namespace

double Spearman(const Eigen::VectorXd& x, const Eigen::VectorXd& y) {
  const Eigen::VectorXd rx = Ranks(x), ry = Ranks(y);
  const Eigen::ArrayXd dx = rx.array() - rx.mean(), dy = ry.array() - ry.mean();
  return (dx * dy).sum() / std::sqrt((dx * dx).sum() * (dy * dy).sum());
}

double Rmse(const Eigen::VectorXd& x, const Eigen::VectorXd& y) {
  return std::sqrt((x - y).squaredNorm() / static_cast<double>(x.size()));
}

double RelativeFrobeniusError(const irt::IrtParams& e, const irt::IrtParams& t) {
  const Eigen::MatrixXd xe = (e.theta * e.a.transpose()).rowwise() + e.b.transpose();
  const Eigen::MatrixXd xt = (t.theta * t.a.transpose()).rowwise() + t.b.transpose();
  return (xe - xt).norm() / xt.norm();
}

double MeanHellinger(const irt::IrtParams& e, const irt::IrtParams& t) {
  const Eigen::ArrayXXd xe = ((e.theta * e.a.transpose()).rowwise() + e.b.transpose()).array();
  const Eigen::ArrayXXd xt = ((t.theta * t.a.transpose()).rowwise() + t.b.transpose()).array();
  const Eigen::ArrayXXd pe = 1 / (1 + (-xe).exp()), pt = 1 / (1 + (-xt).exp());
  const Eigen::ArrayXXd bc = (pe * pt).sqrt() + ((1 - pe) * (1 - pt)).sqrt();
  return (1 - bc).max(0.0).sqrt().mean();
}

Recovery PaperMetrics(const irt::IrtParams& estimate, irt::IrtParams truth) {
  irt::Normalize(truth);
  return {Spearman(estimate.a.col(0), truth.a.col(0)), Rmse(estimate.b, truth.b),
          RelativeFrobeniusError(estimate, truth), MeanHellinger(estimate, truth),
          Spearman(estimate.theta.col(0), truth.theta.col(0))};
}

irt::IrtParams ItemsGivenTrueAbilities(const irt::ResponseMatrix& data,
                                       const irt::IrtParams& truth) {
  irt::IrtParams oracle = truth;
  for (Index j = 0; j < data.num_items(); ++j) {
    const irt::ResponseMatrix::Column col = data.column(j);
    Eigen::Vector2d ab(1.0, 0.0);  // (a_j, b_j)
    for (int step = 0; step < 50; ++step) {
      Eigen::Vector2d gradient = Eigen::Vector2d::Zero();
      Eigen::Matrix2d info = Eigen::Matrix2d::Zero();
      for (Index c = 0; c < col.size; ++c) {
        const Index i = col.rows ? col.rows[c] : c;
        const double w = col.w ? col.w[c] : 1.0;
        const Eigen::Vector2d z(truth.theta(i, 0), 1.0);
        const double p = 1 / (1 + std::exp(-ab.dot(z)));
        gradient += w * (col.y[c] - p) * z;
        info += w * p * (1 - p) * z * z.transpose();
      }
      const Eigen::Vector2d delta = info.ldlt().solve(gradient);
      ab += delta;
      if (delta.cwiseAbs().maxCoeff() < 1e-10) break;
    }
    oracle.a(j, 0) = ab[0];
    oracle.b[j] = ab[1];
  }
  return oracle;
}

Eigen::VectorXd PosteriorMeanDiscriminations(const irt::ResponseMatrix& data,
                                             const irt::IrtParams& truth, const SimOptions& prior) {
  constexpr int kA = 41, kB = 61;
  Eigen::ArrayXd a_grid(kA), b_grid(kB), b_log_prior(kB);
  for (int k = 0; k < kA; ++k)
    a_grid[k] = prior.a_min + (prior.a_max - prior.a_min) * (k + 0.5) / kA;
  for (int k = 0; k < kB; ++k) {
    b_grid[k] = prior.b_sd * (-4.0 + 8.0 * k / (kB - 1));
    b_log_prior[k] = -0.5 * (b_grid[k] / prior.b_sd) * (b_grid[k] / prior.b_sd);
  }
  Eigen::VectorXd mean(data.num_items());
  for (Index j = 0; j < data.num_items(); ++j) {
    const irt::ResponseMatrix::Column col = data.column(j);
    Eigen::ArrayXd theta(col.size), y(col.size), w(col.size);
    for (Index c = 0; c < col.size; ++c) {
      theta[c] = truth.theta(col.rows ? col.rows[c] : c, 0);
      y[c] = col.y[c];
      w[c] = col.w ? col.w[c] : 1.0;
    }
    Eigen::ArrayXXd log_post(kA, kB);
    for (int ka = 0; ka < kA; ++ka) {
      const Eigen::ArrayXd x0 = a_grid[ka] * theta;
      for (int kb = 0; kb < kB; ++kb) {
        const Eigen::ArrayXd x = x0 + b_grid[kb];
        const Eigen::ArrayXd softplus = x.max(0.0) + (-x.abs()).exp().log1p();
        log_post(ka, kb) = (w * (y * x - softplus)).sum() + b_log_prior[kb];
      }
    }
    const Eigen::ArrayXd a_weight = (log_post - log_post.maxCoeff()).exp().rowwise().sum();
    mean[j] = (a_weight * a_grid).sum() / a_weight.sum();
  }
  return mean;
}

irt::ResponseMatrix SelectItems(const irt::ResponseMatrix& data, const std::vector<Index>& items) {
  std::vector<std::string> ids;
  std::vector<irt::Cell> cells;
  for (size_t k = 0; k < items.size(); ++k) {
    ids.push_back(data.item_ids()[items[k]]);
    const irt::ResponseMatrix::Column col = data.column(items[k]);
    for (Index c = 0; c < col.size; ++c) {
      const double w = col.w ? col.w[c] : 1.0;
      cells.push_back({static_cast<int32_t>(col.rows ? col.rows[c] : c), static_cast<int32_t>(k),
                       w * col.y[c], w});
    }
  }
  return irt::ResponseMatrix::FromCells(data.model_ids(), std::move(ids), std::move(cells)).value();
}

double Pearson(const Eigen::VectorXd& x, const Eigen::VectorXd& y) {
  const Eigen::ArrayXd dx = x.array() - x.mean(), dy = y.array() - y.mean();
  return (dx * dy).sum() / std::sqrt(dx.square().sum() * dy.square().sum());
}

Eigen::VectorXd TrueAccuracy(const irt::IrtParams& truth) {
  Eigen::VectorXd acc(truth.theta.rows());
  for (Index i = 0; i < acc.size(); ++i) {
    const Eigen::ArrayXd x = truth.a.col(0).array() * truth.theta(i, 0) + truth.b.array();
    acc[i] = (1 / (1 + (-x).exp())).mean();
  }
  return acc;
}

absl::StatusOr<ShapeFigures> MeasureShape(const Simulated& sim, const irt::FitOptions& options,
                                          bool split_half) {
  ShapeFigures f;
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(const irt::FitResult fit, irt::Fit(sim.data, options));
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  f.method = irt::FitMethodName(fit.method);
  f.iterations = fit.diagnostics.iterations;
  f.converged = fit.diagnostics.converged;
  f.pearson_theta = Pearson(fit.params.theta.col(0), sim.truth.theta.col(0));
  const irt::FitReport report = irt::MakeReport(sim.data, fit, options);
  const Eigen::ArrayXd err =
      (report.predicted_accuracy - TrueAccuracy(sim.truth)).array().abs();
  f.max_accuracy_error = err.maxCoeff();
  f.mean_accuracy_error = err.mean();
  f.split_half_rms = std::numeric_limits<double>::quiet_NaN();
  if (split_half) {
    std::vector<Index> halves[2];
    for (Index j = 0; j < sim.data.num_items(); ++j) halves[j % 2].push_back(j);
    Eigen::VectorXd theta[2], se[2];
    for (int h = 0; h < 2; ++h) {
      const irt::ResponseMatrix half = SelectItems(sim.data, halves[h]);
      ASSIGN_OR_RETURN(const irt::FitResult fh, irt::Fit(half, options));
      theta[h] = fh.params.theta.col(0);
      se[h] = irt::MakeReport(half, fh, options).theta_se.col(0);
    }
    const Eigen::ArrayXd z =
        (theta[0] - theta[1]).array() / (se[0].array().square() + se[1].array().square()).sqrt();
    f.split_half_rms = std::sqrt(z.square().mean());
  }
  return f;
}

namespace {

// Adaptive test of model `row` of `data` (complete) on `bank`; the final estimate.
absl::StatusOr<cat::CatEstimate> RunCat(const irt::ItemBank& items, const irt::ResponseMatrix& data,
                                        Index row, const cat::CatOptions& options) {
  cat::Bank bank;
  bank.items = items;
  ASSIGN_OR_RETURN(cat::CatSession session, cat::CatSession::Start(&bank, options));
  while (!session.finished()) {
    ASSIGN_OR_RETURN(std::vector<Index> next, session.Next(1));
    if (next.empty()) break;
    const irt::ResponseMatrix::Column col = data.column(next[0]);
    if (col.rows != nullptr) return absl::InvalidArgumentError("LeaveOneModelOut: needs dense");
    RETURN_IF_ERROR(session.Submit(next[0], col.y[row]));
  }
  return session.Estimate();
}

}  // namespace

absl::StatusOr<std::vector<LomoRun>> LeaveOneModelOut(const Simulated& sim,
                                                      const irt::FitOptions& fit,
                                                      const cat::CatOptions& cat) {
  const Index n = sim.data.num_models(), j = sim.data.num_items();
  const Eigen::VectorXd truth = TrueAccuracy(sim.truth);
  irt::ItemBank true_bank;
  true_bank.a = sim.truth.a.col(0);
  true_bank.b = sim.truth.b;
  std::vector<LomoRun> runs;
  for (Index k = 0; k < n; ++k) {
    std::vector<std::string> models;
    Eigen::MatrixXf y(n - 1, j);
    for (Index i = 0, r = 0; i < n; ++i) {
      if (i == k) continue;
      models.push_back(sim.data.model_ids()[i]);
      for (Index c = 0; c < j; ++c) y(r, c) = sim.data.column(c).y[i];
      ++r;
    }
    ASSIGN_OR_RETURN(const irt::ResponseMatrix others,
                     irt::ResponseMatrix::FromDense(models, sim.data.item_ids(), std::move(y)));
    ASSIGN_OR_RETURN(const irt::FitResult calibration, irt::Fit(others, fit));
    const irt::FitReport report = irt::MakeReport(others, calibration, fit);
    ASSIGN_OR_RETURN(const irt::ItemBank bank, irt::MakeItemBank(calibration, report, fit.sigma));
    ASSIGN_OR_RETURN(const cat::CatEstimate on_fit, RunCat(bank, sim.data, k, cat));
    ASSIGN_OR_RETURN(const cat::CatEstimate on_truth, RunCat(true_bank, sim.data, k, cat));
    LomoRun run;
    run.method = irt::FitMethodName(calibration.method);
    run.error_calibrated = std::abs(on_fit.predicted_accuracy - truth[k]);
    run.error_true = std::abs(on_truth.predicted_accuracy - truth[k]);
    run.covered_calibrated = on_fit.lower <= truth[k] && truth[k] <= on_fit.upper;
    run.covered_true = on_truth.lower <= truth[k] && truth[k] <= on_truth.upper;
    runs.push_back(run);
  }
  return runs;
}

}  // namespace assay::testing
