// What users read off a fit besides the parameters: standard errors, observed and predicted
// accuracy, and item/model diagnostics with flags.
#ifndef ASSAY_CORE_IRT_REPORT_H_
#define ASSAY_CORE_IRT_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "core/base/eigen.h"
#include "core/irt/fit.h"
#include "core/irt/responses.h"
#include "core/irt/scoring.h"

namespace assay::irt {

enum ItemFlag : uint32_t {
  kItemNoData = 1u << 0,             // no observed cell
  kItemNeverSolved = 1u << 1,        // every observed response wrong (no finite MLE)
  kItemAlwaysSolved = 1u << 2,       // every observed response right (no finite MLE)
  kItemLowDiscrimination = 1u << 3,  // ‖a‖ < 0.1 on the normalized scale: measures nothing
  kItemMisfit = 1u << 4,  // infit > 1.5 or outfit > 2 (responses disagree with the model)
};
enum ModelFlag : uint32_t {
  kModelNoData = 1u << 0,
  kModelAllWrong = 1u << 1,
  kModelAllCorrect = 1u << 2,
};

// "never_solved|misfit" style names; "" for no flags.
std::string ItemFlagNames(uint32_t flags);
std::string ModelFlagNames(uint32_t flags);

struct FitReport {
  // Standard errors from the observed information of each block at the solution (the penalized
  // likelihood, ridge λ applied on the reported scale; for items shrunk with an ItemPrior, its
  // precision is added: posterior standard deviations). Joint-ML errors: optimistic for small N or
  // J.
  Eigen::MatrixXd theta_se;            // N×K
  Eigen::MatrixXd a_se;                // J×K
  Eigen::VectorXd b_se;                // J
  Eigen::VectorXd model_accuracy;      // observed (weighted) proportion correct; NaN without data
  Eigen::VectorXd predicted_accuracy;  // mean over all J items of P(correct | θ_i)
  Eigen::VectorXd item_p_correct;      // observed proportion correct; NaN without data
  Eigen::VectorXd infit, outfit;       // mean-square residual statistics per item
  std::vector<uint32_t> item_flags, model_flags;
};

// Computes the report for normalized `params` fitted on `data` (with `item_prior` when the items
// were shrunk by it, else null). O(observed · K² + N·J·K) (the predicted accuracy visits every
// model × item pair), on `threads` threads (0: one per core) for K = 1.
FitReport MakeReport(const ResponseMatrix& data, const IrtParams& params, double sigma,
                     double ridge, const ItemPrior* item_prior = nullptr, int threads = 0);

// The report of `fit` made with `options` (its threads too): the above, with a marginal
// estimator's standard errors and predicted accuracy (FitResult::marginal) in place of the
// joint-ML ones.
FitReport MakeReport(const ResponseMatrix& data, const FitResult& fit, const FitOptions& options);

// The unidimensional item bank of `fit` (scoring and adaptive tests): a and b, and for a
// marginal-items fit the items' posterior SDs from `report`. InvalidArgument when dims ≠ 1.
absl::StatusOr<ItemBank> MakeItemBank(const FitResult& fit, const FitReport& report,
                                      double sigma);

}  // namespace assay::irt

#endif  // ASSAY_CORE_IRT_REPORT_H_
