// ResponseMatrix: the observed cells of a models × items response matrix.
//
// Every observed cell holds `successes` out of `trials`:
//   binary correct/wrong     -> successes ∈ {0, 1}, trials = 1
//   k correct of n samples   -> successes = k, trials = n
//   a score in [0, 1]        -> successes = score, trials = 1   (quasi-likelihood)
// Internally a cell is stored as its proportion y = successes / trials (float) and, only when some
// cell has trials ≠ 1, its weight w = trials (float). Missing cells are simply absent.
//
// Storage is column-major by item (what the fused MM sweep walks):
//   dense  (every cell observed): y is N×J contiguous, no row indices;
//   sparse (any cell missing):    CSC: per item a run of (row index, y[, w]), rows ascending.
// No N×J temporaries are ever built from sparse data. Memory: 4 bytes per cell dense; 8 bytes per
// observed cell sparse (+4 with weights).
//
// Immutable after construction; safe to share across threads.
#ifndef ASSAY_CORE_IRT_RESPONSES_H_
#define ASSAY_CORE_IRT_RESPONSES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/eigen.h"

namespace assay::irt {

// One observation for ResponseMatrix::FromCells. Indices into the id lists.
struct Cell {
  int32_t model;
  int32_t item;
  double successes;
  double trials = 1.0;
};

class ResponseMatrix {
 public:
  // Builds from cells in any order. Cells for the same (model, item) pair are pooled (successes
  // and trials add up: repeated samples of one question). InvalidArgument, naming the cell, for an
  // index out of range, trials ≤ 0 or non-finite, successes < 0, successes > trials, or NaN; or for
  // empty/duplicate ids. Chooses dense storage when every cell is observed.
  static absl::StatusOr<ResponseMatrix> FromCells(std::vector<std::string> model_ids,
                                                  std::vector<std::string> item_ids,
                                                  std::vector<Cell> cells);

  // Builds from a dense N×J matrix of proportions in [0,1], NaN marking a missing cell, with unit
  // trials. Keeps the dense layout when nothing is missing (no copy beyond `y` itself).
  static absl::StatusOr<ResponseMatrix> FromDense(std::vector<std::string> model_ids,
                                                  std::vector<std::string> item_ids,
                                                  Eigen::MatrixXf y);
  // As FromDense, from the N×J matrix's values in column-major order (size N·J), kept without a
  // copy when nothing is missing.
  static absl::StatusOr<ResponseMatrix> FromDenseColumns(std::vector<std::string> model_ids,
                                                         std::vector<std::string> item_ids,
                                                         std::vector<float> values);

  Eigen::Index num_models() const { return static_cast<Eigen::Index>(model_ids_.size()); }
  Eigen::Index num_items() const { return static_cast<Eigen::Index>(item_ids_.size()); }
  Eigen::Index num_observed() const { return static_cast<Eigen::Index>(y_.size()); }
  bool dense() const { return row_index_.empty() && num_observed() > 0; }
  bool weighted() const { return !w_.empty(); }
  // Every cell is 0 or 1 of one trial (correct/wrong data). Reads every cell (vectorized): call
  // it once, not per use.
  bool binary() const;
  const std::vector<std::string>& model_ids() const { return model_ids_; }
  const std::vector<std::string>& item_ids() const { return item_ids_; }

  // The observed cells of item j: `size` cells; rows[k] (or k itself when rows == nullptr, i.e.
  // dense), proportion y[k], weight w[k] (1 when w == nullptr).
  struct Column {
    const int32_t* rows;
    const float* y;
    const float* w;
    Eigen::Index size;
  };
  Column column(Eigen::Index item) const;

  // Per-model and per-item totals of weight (trials) and of weighted y (successes).
  const Eigen::VectorXd& model_trials() const { return model_trials_; }
  const Eigen::VectorXd& model_successes() const { return model_successes_; }
  const Eigen::VectorXd& item_trials() const { return item_trials_; }
  const Eigen::VectorXd& item_successes() const { return item_successes_; }
  // Number of observed cells per model / per item.
  const Eigen::VectorXi& model_cells() const { return model_cells_; }
  const Eigen::VectorXi& item_cells() const { return item_cells_; }

 private:
  ResponseMatrix() = default;
  void ComputeTotals();
  static absl::Status ValidateIds(const std::vector<std::string>& ids, const char* what);

  std::vector<std::string> model_ids_;
  std::vector<std::string> item_ids_;
  std::vector<int64_t> column_start_;  // J + 1 offsets into the arrays below
  std::vector<int32_t> row_index_;     // empty when dense
  std::vector<float> y_;
  std::vector<float> w_;  // empty when all weights are 1
  Eigen::VectorXd model_trials_, model_successes_, item_trials_, item_successes_;
  Eigen::VectorXi model_cells_, item_cells_;
};

}  // namespace assay::irt

#endif  // ASSAY_CORE_IRT_RESPONSES_H_
