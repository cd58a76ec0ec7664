// Marginal maximum likelihood for the 2PL when one side of the matrix is small (shared/docs/irt.md,
// "When models are few"). Joint estimation treats every θ_i and every (a_j, b_j) as free; that is
// sound only when both N and J are large. These estimators integrate the side that is poorly
// determined out:
//
//   random items  (N small, J large): models fixed, items drawn from a population g(a, b) on a
//     grid of nodes (a_g, b_g), g's weights π estimated (nonparametric MML). Marginal likelihood
//       L(θ, π) = Π_j Σ_g π_g Π_i p(y_ij | θ_i, a_g, b_g).
//   random models (J small, N large): items fixed, θ ~ N(0, 1) by quadrature on 61 equally spaced
//     nodes in [−6, 6] (Bock–Aitkin, as mirt does):
//       L(a, b) = Π_i Σ_q w_q Π_j p(y_ij | θ_q, a_j, b_j).
//
// p(y | ·) is the binomial (quasi-)likelihood of a cell's successes and failures, as in fit.h.
// Both are fitted by EM: the E-step gives each random unit's posterior over the nodes; the M-step
// is a concave logistic regression per fixed unit on the expected counts (safeguarded Newton; a ≥ 0
// by projection) plus, for random items, π = mean posterior. SQUAREM accelerates it; an
// extrapolated point is kept only if its objective is not below the plain EM step's, so the
// penalized marginal log-likelihood never decreases. Units with identical response vectors
// share one E-step (with N models there are at most 2^N item patterns; LSAT7 has 32 model
// patterns), so an iteration costs O(patterns · fixed units · nodes) in a few matrix products.
//
// Penalty: options.ridge λ is a Gaussian prior of precision λ on the fixed side's parameters
// (θ for random items, a and b for random models): MAP, keeps all-correct/all-wrong rows finite.
// Stopping, tied to statistical precision: every fixed-side parameter moved less than
// options.se_tol (default 0.01) of its standard error over the last accelerated cycle (SEs from
// the complete-data information, which is larger than the marginal one: a strict yardstick; θ
// compared on its standardized scale), or options.max_iter EM steps (each E-step counts as one
// iteration). The objective's relative change is reported but not required: with estimated
// population weights the likelihood keeps creeping by amounts that move no parameter.
//
// Random items also refine the population weights at fixed θ after each E-step (5 EM updates on
// the stored likelihoods, two matrix–vector products each): the weights' own EM is slow.
//
// Results (FitResult::marginal filled in):
//   random items: θ standardized (mean 0, sd 1 over the models; the convention of fit.h), with SEs
//     from the observed information of the marginal likelihood (the items' score cross-product)
//     projected onto the standardized scale; items reported by posterior mean and SD of a and b
//     and their posterior covariance (MarginalSummary::ab_cov);
//     predicted accuracy = mean over items of each item's posterior probability.
//   random models: items at their MML values with SEs from the models' score cross-product; θ by
//     EAP with posterior SD; predicted accuracy = posterior mean of the items' mean probability.
//     Convention kPopulationConvention: θ's scale is the N(0, 1) population's.
//
// K = 1 only. Errors: InvalidArgument (dims ≠ 1, no observed cells, options), Cancelled
// (on_iteration returned false). Deterministic for fixed data and options, whatever the threads.
#ifndef ASSAY_CORE_IRT_MARGINAL_H_
#define ASSAY_CORE_IRT_MARGINAL_H_

#include "absl/status/statusor.h"
#include "core/irt/fit.h"
#include "core/irt/responses.h"

namespace assay::irt {

inline constexpr const char* kPopulationConvention = "theta_population_n01";

absl::StatusOr<FitResult> FitMarginalItems(const ResponseMatrix& data, const FitOptions& options);
absl::StatusOr<FitResult> FitMarginalModels(const ResponseMatrix& data, const FitOptions& options);

}  // namespace assay::irt

#endif  // ASSAY_CORE_IRT_MARGINAL_H_
