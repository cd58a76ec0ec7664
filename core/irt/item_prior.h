// Empirical-Bayes shrinkage of item discriminations.
//
// A joint-ML discrimination â_j is noisy: with some hundreds of responses per item its standard
// error is comparable to the spread of the true discriminations, so the estimates are
// over-dispersed and their extremes mostly noise (calibrated on 100 MATH-500 rows they reach 13;
// with most cells missing, 40). Treating the items' discriminations as draws from one normal
// distribution and replacing each estimate by its posterior mode is the classical remedy (Efron &
// Morris 1975; the hierarchical item priors of py-irt). With abilities held at the fit:
//   1. item j's likelihood of (a_j, b_j) is approximated by a normal centred at the estimate with
//      precision H_j = Σ_i w p(1 − p)/σ² z zᵀ + λI, z = (θ_i, 1)   (ItemInformation);
//   2. the prior a_j ~ N(μ, diag(τ²)) is estimated by moments over the items with both outcomes
//      observed: μ = mean of â, τ²_k = mean((â_jk − μ_k)²) − mean((H_j⁻¹)_kk), floored at 1e-4 ×
//      the estimates' variance (a spread that is all noise gives nearly full shrinkage);
//   3. each item becomes the posterior mode (H_j + P)⁻¹ (H_j est_j + P (μ, 0)),
//      P = diag(1/τ², 0), with a clipped at 0. The intercept has no prior (intercepts of real
//      benchmarks are far from normal: shrinking them raised MATH-500's held-out log loss); it
//      moves only through its correlation with a_j.
// Items without both outcomes are shrunk too but do not inform the prior. With fewer than 3
// informative items nothing is shrunk and the prior's variance is infinite.
#ifndef ASSAY_CORE_IRT_ITEM_PRIOR_H_
#define ASSAY_CORE_IRT_ITEM_PRIOR_H_

#include "core/base/eigen.h"
#include "core/irt/fit.h"
#include "core/irt/responses.h"

namespace assay::irt {

// Observed information of item j's (a_j1..a_jK, b_j) at `params`, abilities held fixed, plus
// ridge·I: Σ_i w p(1 − p)/σ² z zᵀ over the item's observed cells, z = (θ_i, 1). (K+1)×(K+1).
// O(cells of j · K²).
Eigen::MatrixXd ItemInformation(const ResponseMatrix& data, const IrtParams& params, double sigma,
                                double ridge, Eigen::Index j);

// Estimates the prior (step 2) and replaces every item of `params` (normalized, fitted on `data`
// with temperature σ and ridge λ) by its posterior mode (step 3); θ is unchanged. Returns the
// prior. O(observed · K² + J · K³).
ItemPrior ShrinkItems(const ResponseMatrix& data, double sigma, double ridge, IrtParams& params);

}  // namespace assay::irt

#endif  // ASSAY_CORE_IRT_ITEM_PRIOR_H_
