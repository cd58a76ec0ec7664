#include "core/irt/responses.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/base/yield.h"

namespace assay::irt {

absl::Status ResponseMatrix::ValidateIds(const std::vector<std::string>& ids, const char* what) {
  absl::flat_hash_set<std::string> seen;
  seen.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(what, " id #", i + 1, " is empty"));
    }
    if (!seen.insert(ids[i]).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate ", what, " id '", ids[i], "'"));
    }
  }
  if (ids.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat("too many ", what, "s"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ResponseMatrix> ResponseMatrix::FromCells(std::vector<std::string> model_ids,
                                                         std::vector<std::string> item_ids,
                                                         std::vector<Cell> cells) {
  RETURN_IF_ERROR(ValidateIds(model_ids, "model"));
  RETURN_IF_ERROR(ValidateIds(item_ids, "item"));
  const int64_t n = static_cast<int64_t>(model_ids.size());
  const int64_t j = static_cast<int64_t>(item_ids.size());
  for (const Cell& c : cells) {
    if (c.model < 0 || c.model >= n || c.item < 0 || c.item >= j) {
      return absl::InvalidArgumentError(
          absl::StrCat("cell (model #", c.model, ", item #", c.item, ") is out of range"));
    }
    auto where = [&] {
      return absl::StrCat("cell (model '", model_ids[c.model], "', item '", item_ids[c.item], "')");
    };
    if (!std::isfinite(c.trials) || c.trials <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), ": trials must be > 0, got ", c.trials));
    }
    if (!std::isfinite(c.successes) || c.successes < 0 || c.successes > c.trials) {
      return absl::InvalidArgumentError(absl::StrCat(
          where(), ": successes must be in [0, trials=", c.trials, "], got ", c.successes));
    }
  }
  std::sort(cells.begin(), cells.end(), [](const Cell& x, const Cell& y) {
    return x.item != y.item ? x.item < y.item : x.model < y.model;
  });
  // Pool duplicates.
  size_t out = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (out > 0 && cells[out - 1].item == cells[i].item && cells[out - 1].model == cells[i].model) {
      cells[out - 1].successes += cells[i].successes;
      cells[out - 1].trials += cells[i].trials;
    } else {
      cells[out++] = cells[i];
    }
  }
  cells.resize(out);

  ResponseMatrix m;
  m.model_ids_ = std::move(model_ids);
  m.item_ids_ = std::move(item_ids);
  const bool complete = static_cast<int64_t>(cells.size()) == n * j && n * j > 0;
  const bool unit =
      std::all_of(cells.begin(), cells.end(), [](const Cell& c) { return c.trials == 1.0; });
  m.column_start_.assign(static_cast<size_t>(j) + 1, 0);
  m.y_.reserve(cells.size());
  if (!complete) m.row_index_.reserve(cells.size());
  if (!unit) m.w_.reserve(cells.size());
  for (const Cell& c : cells) {
    ++m.column_start_[static_cast<size_t>(c.item) + 1];
    m.y_.push_back(static_cast<float>(c.successes / c.trials));
    if (!complete) m.row_index_.push_back(c.model);
    if (!unit) m.w_.push_back(static_cast<float>(c.trials));
  }
  for (size_t k = 1; k < m.column_start_.size(); ++k) m.column_start_[k] += m.column_start_[k - 1];
  m.ComputeTotals();
  return m;
}

absl::StatusOr<ResponseMatrix> ResponseMatrix::FromDense(std::vector<std::string> model_ids,
                                                         std::vector<std::string> item_ids,
                                                         Eigen::MatrixXf y) {
  if (y.rows() != static_cast<Eigen::Index>(model_ids.size()) ||
      y.cols() != static_cast<Eigen::Index>(item_ids.size())) {
    return absl::InvalidArgumentError(absl::StrCat("matrix is ", y.rows(), "x", y.cols(),
                                                   " but there are ", model_ids.size(),
                                                   " models and ", item_ids.size(), " items"));
  }
  return FromDenseColumns(std::move(model_ids), std::move(item_ids),
                          std::vector<float>(y.data(), y.data() + y.size()));
}

absl::StatusOr<ResponseMatrix> ResponseMatrix::FromDenseColumns(
    std::vector<std::string> model_ids, std::vector<std::string> item_ids,
    std::vector<float> values) {
  RETURN_IF_ERROR(ValidateIds(model_ids, "model"));
  RETURN_IF_ERROR(ValidateIds(item_ids, "item"));
  const auto rows = static_cast<Eigen::Index>(model_ids.size());
  const auto cols = static_cast<Eigen::Index>(item_ids.size());
  if (static_cast<Eigen::Index>(values.size()) != rows * cols) {
    return absl::InvalidArgumentError(absl::StrCat(values.size(), " values but there are ",
                                                   rows, " models and ", cols, " items"));
  }
  const Eigen::Map<const Eigen::MatrixXf> y(values.data(), rows, cols);
  bool complete = true;
  for (Eigen::Index c = 0; c < y.cols(); ++c) {
    // Vectorized first: a column with no NaN (its sum is not NaN) whose least and largest values
    // lie in [0, 1] is valid and complete; any other goes through the cell-by-cell check.
    const auto column = y.col(c).array();
    if (rows > 0 && !std::isnan(column.sum()) && column.minCoeff() >= 0.0f &&
        column.maxCoeff() <= 1.0f) {
      continue;
    }
    for (Eigen::Index r = 0; r < y.rows(); ++r) {
      const float v = y(r, c);
      if (std::isnan(v)) {
        complete = false;
      } else if (!(v >= 0.0f && v <= 1.0f)) {
        return absl::InvalidArgumentError(absl::StrCat("cell (model '", model_ids[r], "', item '",
                                                       item_ids[c], "'): value ", v,
                                                       " is not in [0, 1]"));
      }
    }
  }
  ResponseMatrix m;
  m.model_ids_ = std::move(model_ids);
  m.item_ids_ = std::move(item_ids);
  const Eigen::Index n = y.rows(), j = y.cols();
  m.column_start_.assign(static_cast<size_t>(j) + 1, 0);
  if (complete) {
    for (Eigen::Index c = 0; c <= j; ++c) m.column_start_[c] = static_cast<int64_t>(c) * n;
    m.y_ = std::move(values);
  } else {
    for (Eigen::Index c = 0; c < j; ++c) {
      for (Eigen::Index r = 0; r < n; ++r) {
        if (std::isnan(y(r, c))) continue;
        m.row_index_.push_back(static_cast<int32_t>(r));
        m.y_.push_back(y(r, c));
      }
      m.column_start_[c + 1] = static_cast<int64_t>(m.y_.size());
    }
  }
  m.ComputeTotals();
  return m;
}

ResponseMatrix::Column ResponseMatrix::column(Eigen::Index item) const {
  const int64_t start = column_start_[item];
  const int64_t end = column_start_[item + 1];
  Column c;
  c.rows = row_index_.empty() ? nullptr : row_index_.data() + start;
  c.y = y_.data() + start;
  c.w = w_.empty() ? nullptr : w_.data() + start;
  c.size = static_cast<Eigen::Index>(end - start);
  return c;
}

bool ResponseMatrix::binary() const {
  if (weighted()) return false;
  // y(1 − y) is 0 exactly at 0 and 1 and positive between (every y is in [0, 1]).
  const Eigen::Map<const Eigen::ArrayXf> y(y_.data(), static_cast<Eigen::Index>(y_.size()));
  return y.size() == 0 || (y * (1.0f - y)).maxCoeff() == 0.0f;
}

void ResponseMatrix::ComputeTotals() {
  const Eigen::Index n = num_models(), j = num_items();
  model_trials_ = Eigen::VectorXd::Zero(n);
  model_successes_ = Eigen::VectorXd::Zero(n);
  item_trials_ = Eigen::VectorXd::Zero(j);
  item_successes_ = Eigen::VectorXd::Zero(j);
  model_cells_ = Eigen::VectorXi::Zero(n);
  item_cells_ = Eigen::VectorXi::Zero(j);
  if (dense() && !weighted()) {  // every cell, unit weights: column sums, vectorized
    for (Eigen::Index c = 0; c < j; ++c) {
      YieldPoint(n);
      const Eigen::Map<const Eigen::VectorXf> y(column(c).y, n);
      model_successes_ += y.cast<double>();
      item_successes_[c] = y.cast<double>().sum();
    }
    model_trials_.setConstant(static_cast<double>(j));
    item_trials_.setConstant(static_cast<double>(n));
    model_cells_.setConstant(static_cast<int>(j));
    item_cells_.setConstant(static_cast<int>(n));
    return;
  }
  for (Eigen::Index c = 0; c < j; ++c) {
    const Column col = column(c);
    YieldPoint(col.size);
    for (Eigen::Index k = 0; k < col.size; ++k) {
      const Eigen::Index r = col.rows ? col.rows[k] : k;
      const double w = col.w ? col.w[k] : 1.0;
      const double s = w * col.y[k];
      model_trials_[r] += w;
      model_successes_[r] += s;
      item_trials_[c] += w;
      item_successes_[c] += s;
      ++model_cells_[r];
    }
    item_cells_[c] = static_cast<int>(col.size);
  }
}

}  // namespace assay::irt
