#include "tests/testing/compare_sim.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>

#include "client/import/csv.h"
#include "core/irt/fit.h"

namespace assay::testing {
namespace {

void OrDie(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "compare harness: %s\n", s.ToString().c_str());
    std::abort();
  }
}
template <typename T>
T OrDie(absl::StatusOr<T> v) {
  OrDie(v.status());
  return *std::move(v);
}

std::string BaseName(const std::string& name) {
  for (const char* suffix : {"_zero_shot", "_one_shot"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
      return name.substr(0, name.size() - s.size());
  }
  return name;
}

}  // namespace

double TrueDifference(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (size_t j = 0; j < a.size(); ++j) sum += b[j] - a[j];
  return sum / static_cast<double>(a.size());
}

CompareRun RunComparison(const irt::ItemBank& bank, const std::vector<double>& a,
                         const std::vector<double>& b, bool baseline_known,
                         const compare::CompareOptions& options, int batch) {
  compare::Comparison c = OrDie(
      compare::Comparison::Start(&bank, options, baseline_known ? a : std::vector<double>()));
  const double truth = TrueDifference(a, b);
  while (!c.finished()) {
    const std::vector<Eigen::Index> items = OrDie(c.Next(batch));
    for (Eigen::Index j : items) {
      const auto k = static_cast<size_t>(j);
      if (baseline_known)
        OrDie(c.Submit(j, {b[k], 1}));
      else
        OrDie(c.Submit(j, {b[k], 1}, compare::Outcome{a[k], 1}));
    }
    if (items.empty() && !c.finished() && c.pending().empty()) {
      std::fprintf(stderr, "compare harness: no items handed out and nothing pending\n");
      std::abort();
    }
  }
  CompareRun run;
  for (const compare::Step& s : c.steps()) {
    // A small slack for the exact final step's rounding.
    if (s.lower > truth + 1e-12 || s.upper < truth - 1e-12) run.covered = false;
  }
  const compare::CompareEstimate e = c.Estimate();
  run.items = e.items;
  run.steps = e.steps;
  run.decision = e.decision;
  run.estimate = e.estimate;
  run.lower = e.lower;
  run.upper = e.upper;
  return run;
}

SyntheticPair SyntheticComparison(int n, double theta_a, double theta_b, double delta,
                                  uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(0, 1);
  std::normal_distribution<double> normal(0, 1);
  SyntheticPair s;
  s.bank.a.resize(n);
  s.bank.b.resize(n);
  s.a.resize(static_cast<size_t>(n));
  s.b.resize(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) {
    s.bank.a[j] = 0.5 + 1.5 * unif(rng);
    s.bank.b[j] = normal(rng);
    const auto p = [&](double theta) {
      return 1 / (1 + std::exp(-(s.bank.a[j] * theta + s.bank.b[j])));
    };
    // Correlated outcomes, as for two checkpoints: one uniform draw decides both.
    const double u = unif(rng);
    s.a[static_cast<size_t>(j)] = u < p(theta_a) ? 1 : 0;
    s.b[static_cast<size_t>(j)] = u < p(theta_b) ? 1 : 0;
  }
  // Flip b's outcomes on random items until Σ(b − a) = round(delta · n).
  const long target = std::lround(delta * n);
  long sum = 0;
  for (int j = 0; j < n; ++j) sum += std::lround(s.b[static_cast<size_t>(j)] - s.a[static_cast<size_t>(j)]);
  std::uniform_int_distribution<int> pick(0, n - 1);
  while (sum != target) {
    double& y = s.b[static_cast<size_t>(pick(rng))];
    if (sum < target && y == 0) {
      y = 1;
      ++sum;
    } else if (sum > target && y == 1) {
      y = 0;
      --sum;
    }
  }
  return s;
}

Math500Rows LoadMath500Rows() {
  auto data = OrDie(import::ReadResponsesCsv(ASSAY_SHARED_DATA "/math500.csv"));
  Math500Rows rows;
  rows.names = data.model_ids();
  rows.y.resize(data.num_models(), data.num_items());
  for (Eigen::Index j = 0; j < data.num_items(); ++j) {
    for (Eigen::Index i = 0; i < data.num_models(); ++i) rows.y(i, j) = data.column(j).y[i];
  }
  return rows;
}

std::vector<RowPair> ShotPairs(const Math500Rows& rows) {
  std::vector<RowPair> pairs;
  const int n = static_cast<int>(rows.names.size());
  for (int i = 0; i < n; ++i) {
    const std::string& zero = rows.names[static_cast<size_t>(i)];
    if (BaseName(zero) == zero || zero.find("_zero_shot") == std::string::npos) continue;
    for (int k = 0; k < n; ++k) {
      const std::string& one = rows.names[static_cast<size_t>(k)];
      if (k != i && one.find("_one_shot") != std::string::npos && BaseName(one) == BaseName(zero))
        pairs.push_back({i, k});
    }
  }
  return pairs;
}

std::vector<RowPair> DifferentModelPairs(const Math500Rows& rows, int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int n = static_cast<int>(rows.names.size());
  std::uniform_int_distribution<int> pick(0, n - 1);
  std::vector<RowPair> pairs;
  while (static_cast<int>(pairs.size()) < count) {
    const int a = pick(rng), b = pick(rng);
    if (BaseName(rows.names[static_cast<size_t>(a)]) != BaseName(rows.names[static_cast<size_t>(b)]))
      pairs.push_back({a, b});
  }
  return pairs;
}

irt::ItemBank CalibrateWithout(const Math500Rows& rows, const RowPair& pair) {
  const Eigen::Index n = rows.y.rows() - 2;
  Eigen::MatrixXf sub(n, rows.y.cols());
  std::vector<std::string> models, items;
  Eigen::Index r = 0;
  for (Eigen::Index i = 0; i < rows.y.rows(); ++i) {
    if (i == pair.a || i == pair.b) continue;
    sub.row(r++) = rows.y.row(i);
    models.push_back(rows.names[static_cast<size_t>(i)]);
  }
  for (Eigen::Index j = 0; j < rows.y.cols(); ++j) items.push_back("q" + std::to_string(j));
  const irt::FitResult fit =
      OrDie(irt::Fit(OrDie(irt::ResponseMatrix::FromDense(models, items, sub)), irt::FitOptions()));
  return irt::ItemBank{fit.params.a.col(0), fit.params.b, 1.0};
}

std::vector<double> Row(const Math500Rows& rows, int r) {
  std::vector<double> out(static_cast<size_t>(rows.y.cols()));
  for (Eigen::Index j = 0; j < rows.y.cols(); ++j) out[static_cast<size_t>(j)] = rows.y(r, j);
  return out;
}

}  // namespace assay::testing
