#include "tests/testing/cat_math500.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>

#include "client/import/csv.h"
#include "core/irt/fit.h"
#include "core/irt/report.h"
#include "tests/testing/cat_run.h"

namespace assay::testing {
namespace {

void OrDie(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "math500 experiment: %s\n", s.ToString().c_str());
    std::abort();
  }
}

template <typename T>
T OrDie(absl::StatusOr<T> v) {
  OrDie(v.status());
  return *std::move(v);
}

// Runs a session to its end on row `row` of y; returns its final estimate.
cat::CatEstimate RunSession(const cat::Bank& bank, const cat::CatOptions& options,
                            const Eigen::MatrixXf& y, int row) {
  cat::CatSession s = OrDie(cat::CatSession::Start(&bank, options));
  OrDie(AnswerUntilFinished(s, [&](Eigen::Index j) { return y(row, j); }));
  return s.Estimate();
}

}  // namespace

Eigen::MatrixXf Math500() {
  auto data = OrDie(import::ReadResponsesCsv(ASSAY_SHARED_DATA "/math500.csv"));
  Eigen::MatrixXf y(data.num_models(), data.num_items());
  for (Eigen::Index j = 0; j < data.num_items(); ++j) {
    for (Eigen::Index i = 0; i < data.num_models(); ++i) y(i, j) = data.column(j).y[i];
  }
  return y;
}

Math500Split SplitMath500(const Eigen::MatrixXf& y, uint64_t seed, const irt::FitOptions& options) {
  std::vector<int> rows(static_cast<size_t>(y.rows()));
  std::iota(rows.begin(), rows.end(), 0);
  std::shuffle(rows.begin(), rows.end(), std::mt19937_64(seed));
  Eigen::MatrixXf sub(100, y.cols());
  std::vector<std::string> models, items;
  for (int r = 0; r < 100; ++r) {
    sub.row(r) = y.row(rows[static_cast<size_t>(r)]);
    models.push_back("m" + std::to_string(rows[static_cast<size_t>(r)]));
  }
  for (Eigen::Index j = 0; j < y.cols(); ++j) items.push_back("q" + std::to_string(j));
  const irt::FitResult fit =
      OrDie(irt::Fit(OrDie(irt::ResponseMatrix::FromDense(models, items, sub)), options));
  Math500Split split;
  split.bank.items = irt::ItemBank{fit.params.a.col(0), fit.params.b, 1.0};
  split.test.assign(rows.begin() + 100, rows.end());
  return split;
}

Math500Curve Math500Experiment(const Eigen::MatrixXf& y, const Math500Split& split, int k,
                               uint64_t seed, int assisted_reps, cat::Estimator estimator) {
  const cat::Bank& bank = split.bank;
  Math500Curve c;
  std::mt19937_64 rng(seed);
  for (int row : split.test) {
    const double truth = y.row(row).mean();
    cat::CatOptions o;
    o.selection = cat::Selection::kFisher;  // max-information CAT
    o.max_items = k;
    o.estimator = estimator;
    c.cat += std::abs(RunSession(bank, o, y, row).predicted_accuracy - truth);
    o.selection = cat::Selection::kModelAssisted;
    for (int rep = 0; rep < assisted_reps; ++rep) {
      o.seed = seed * 1000 + static_cast<uint64_t>(row * assisted_reps + rep);
      const cat::CatEstimate e = RunSession(bank, o, y, row);
      c.assisted += std::abs(e.predicted_accuracy - truth) / assisted_reps;
      c.assisted_coverage += (e.lower <= truth && truth <= e.upper) ? 1.0 / assisted_reps : 0.0;
    }
    // Random items: a fixed random order, answered one by one.
    std::vector<Eigen::Index> order(static_cast<size_t>(y.cols()));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<irt::Response> responses;
    std::vector<bool> seen(static_cast<size_t>(y.cols()), false);
    double sum = 0;
    for (int t = 0; t < k; ++t) {
      responses.push_back({order[t], y(row, order[t]), 1.0});
      sum += y(row, order[t]);
      seen[static_cast<size_t>(order[t])] = true;
    }
    const irt::AbilityEstimate est = OrDie(irt::ScoreMap(bank.items, responses));
    const Eigen::ArrayXd p =
        (1.0 + (-(bank.items.a.array() * est.theta + bank.items.b.array())).exp()).inverse();
    double predicted = sum;
    for (Eigen::Index j = 0; j < y.cols(); ++j) {
      if (!seen[static_cast<size_t>(j)]) predicted += p[j];
    }
    c.random_irt += std::abs(predicted / y.cols() - truth);
    c.sample_mean += std::abs(sum / k - truth);
  }
  const double n = static_cast<double>(split.test.size()) / 100.0;  // → accuracy points
  c.cat /= n;
  c.assisted /= n;
  c.random_irt /= n;
  c.sample_mean /= n;
  c.assisted_coverage /= static_cast<double>(split.test.size());
  return c;
}

Math500LooFigures Math500LeaveOneOut(const Eigen::MatrixXf& y, const cat::CatOptions& options) {
  Math500LooFigures f;
  std::vector<std::string> items;
  for (Eigen::Index j = 0; j < y.cols(); ++j) items.push_back("q" + std::to_string(j));
  for (int held = 0; held < y.rows(); ++held) {
    Eigen::MatrixXf sub(y.rows() - 1, y.cols());
    std::vector<std::string> models;
    for (int r = 0, k = 0; r < y.rows(); ++r) {
      if (r == held) continue;
      sub.row(k++) = y.row(r);
      models.push_back("m" + std::to_string(r));
    }
    const irt::ResponseMatrix data = OrDie(irt::ResponseMatrix::FromDense(models, items, sub));
    const irt::FitOptions fit_options;
    const irt::FitResult fit = OrDie(irt::Fit(data, fit_options));
    cat::Bank bank;
    bank.items = OrDie(irt::MakeItemBank(fit, irt::MakeReport(data, fit, fit_options), 1.0));
    const cat::CatEstimate e = RunSession(bank, options, y, held);
    const double truth = y.row(held).mean();
    f.mae += std::abs(e.predicted_accuracy - truth);
    f.coverage += e.lower <= truth && truth <= e.upper;
    ++f.rows;
  }
  f.mae /= f.rows;
  f.coverage /= f.rows;
  return f;
}

}  // namespace assay::testing
