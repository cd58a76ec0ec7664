// 2PL item response model fitted by constrained block majorization–minimization (cBMM, Qu et al.
// 2026), as specified in shared/docs/irt.md.
//
// Model: logits X = Θ Aᵀ + 1 bᵀ, Θ (N×K) abilities, A (J×K) ≥ 0 discriminations, b (J) intercepts;
// P(correct) = logistic(X / σ). Loss over observed cells, each with proportion y and weight w:
//   L = Σ w · [softplus(x/σ) − y·x/σ]  +  (λ/2)(‖Θ‖² + ‖A‖² + ‖b‖²)
// (for binary cells the first term is log(1 + exp(−y±·x/σ))). λ = 0 is the paper's objective.
//
// One MM step majorizes each cell's loss by a quadratic with curvature w/(4σ²) at the current X̃,
// i.e. a weighted least-squares problem towards Z = X̃ + 4σ(y − logistic(X̃/σ)), and minimizes it
// exactly block by block: A (per-item non-negative least squares on the K×K Gram form), then b
// (per-item weighted mean), then Θ (per-model K×K normal equations), each with the ridge 4σ²λ.
// The loss therefore never increases. The three blocks are fused into one sweep over the observed
// cells: O(observed · K²) per step, no N×J temporaries on sparse data, items split across threads.
//
// Production mode (default) adds: ridge λ > 0 so all-correct/all-wrong rows and items stay finite;
// a data-driven initial value (logits of smoothed accuracies) or a warm start; for K = 1 the
// tightest quadratic majorizer of each cell (Jaakkola & Jordan: curvature tanh(t/2)/(2t) at
// t = x̃/σ, at most the ¼ above), so steps are long where the model is sure; after each MM step the
// exact minimization of the ridge over the logits' invariances (shift and scale of Θ); Anderson
// acceleration with a monotone safeguard (an extrapolated point is kept only if its loss is not
// above the current one, else the plain MM step); the precision stopping rule (StopRule); and
// normalization of the ability scale after the fit (see Normalization).
// Paper mode reproduces the released method: its random initial value, λ = 0, the ¼ bound, one
// plain MM step per iteration, and only the relative-loss-change stopping rule
// (FitOptions::Paper(): < 1e-4 or 1000 iterations). Normalization is still applied to the reported
// tables.
#ifndef ASSAY_CORE_IRT_FIT_H_
#define ASSAY_CORE_IRT_FIT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/eigen.h"
#include "core/irt/responses.h"

namespace assay::irt {

// Parameters of a fitted (or starting) model.
struct IrtParams {
  Eigen::MatrixXd theta;  // N×K abilities
  Eigen::MatrixXd a;      // J×K discriminations, ≥ 0
  Eigen::VectorXd b;      // J intercepts
  Eigen::Index dims() const { return theta.cols(); }
  bool allFinite() const { return theta.allFinite() && a.allFinite() && b.allFinite(); }
};

// The convention that fixes the otherwise unidentified location and scale of Θ: after the fit,
// each dimension k of Θ is centred and scaled to unit (population) sd over the models,
//   θ'_k = (θ_k − shift_k) / scale_k,  a'_k = a_k · scale_k,  b' = b + Σ_k a_k · shift_k,
// which leaves every logit X unchanged. Stored with every table so numbers can be compared.
struct Normalization {
  Eigen::VectorXd shift;  // K
  Eigen::VectorXd scale;  // K
  static constexpr const char* kConvention = "theta_mean0_sd1";
  // kConvention, or marginal.h's kPopulationConvention for random-models fits (θ's scale is the
  // assumed N(0, 1) population's; shift 0, scale 1).
  std::string convention = kConvention;
};

// The estimator (see marginal.h). kAuto chooses by the matrix's shape (ChooseMethod).
enum class FitMethod { kAuto, kJoint, kMarginalItems, kMarginalModels };
// "auto", "joint", "marginal-items", "marginal-models".
const char* FitMethodName(FitMethod method);
// InvalidArgument naming the accepted values.
absl::StatusOr<FitMethod> ParseFitMethod(const std::string& name);

// An empirical-Bayes prior on the discriminations: a_j ~ N(mean, diag(variance)), estimated from
// the fitted items themselves (see core/irt/item_prior.h). Vectors of size K, normalized scale.
struct ItemPrior {
  Eigen::VectorXd mean;
  Eigen::VectorXd variance;
};

// When a production joint fit stops (paper mode always uses the released rule; the marginal
// estimators always stop on precision, see marginal.h).
//  kPrecision: the estimated distance left to the optimum is below se_tol of every normalized
//    parameter's standard error (the SEs from the diagonal of the Fisher information, a lower bound
//    on the joint ones; the distance from the last change and the observed contraction rate, as
//    the tail of a geometric series). Stopping there moves no estimate by more than a small
//    fraction of its own uncertainty.
//  kStrict: relative loss change < tol AND scaled KKT residual < grad_tol AND largest normalized
//    parameter change < param_tol (numerical convergence, for comparisons to the optimum itself).
enum class StopRule { kPrecision, kStrict };
// "precision", "strict".
const char* StopRuleName(StopRule rule);
// InvalidArgument naming the accepted values.
absl::StatusOr<StopRule> ParseStopRule(const std::string& name);

struct FitOptions {
  FitMethod method = FitMethod::kAuto;
  int dims = 1;             // K ≥ 1
  double sigma = 1.0;       // temperature σ > 0
  double ridge = 0.01;      // λ ≥ 0 (production); paper mode forces 0
  // StopRule::kStrict's thresholds (and tol is paper mode's rule):
  double tol = 1e-8;        // relative loss change threshold (paper mode: 1e-4)
  double grad_tol = 1e-5;   // max |projected gradient| / parameter's total weight
  double param_tol = 1e-5;  // max |Δ normalized parameter| between iterations
  int max_iter = 5000;      // iterations (paper mode: 1000)
  StopRule stop_rule = StopRule::kPrecision;  // joint fits (StopRule)
  // The precision rules' threshold in standard errors: the joint fit's estimated distance to the
  // optimum (StopRule::kPrecision); the marginal estimators' change over the last iteration.
  double se_tol = 0.01;
  int threads = 0;          // sweep/E-step threads; 0 = one per core (ResolvedThreads)
  bool paper_mode = false;
  bool accelerate = true;  // Anderson acceleration (production only)
  // Production only: after the (normalized) fit, shrink each item's discrimination towards the
  // items' common distribution (empirical Bayes, ShrinkItems in core/irt/item_prior.h); b follows
  // through its correlation with a, abilities are kept. Off by default: the tables are then the
  // penalized joint MLE.
  bool shrink_items = false;
  uint64_t seed = 1;  // random initial values (paper mode, and dims > 1 beyond the first)
  std::optional<IrtParams> warm_start;  // initial value (production); must match the data's shape
  bool keep_loss_history = true;

  // Called after every iteration with (iteration, loss); return false to cancel the fit. The
  // marginal estimators call it once per accelerated cycle (3 or 4 EM steps), with the EM steps
  // so far and the negated penalized marginal log-likelihood.
  std::function<bool(int iteration, double loss)> on_iteration;

  // InvalidArgument naming the field at fault, including what a forced marginal method cannot
  // honour (dims > 1, paper mode, shrink_items, a warm start).
  absl::Status Validate() const;

  // The released method's settings: paper_mode, ridge 0, tol 1e-4, max_iter 1000.
  static FitOptions Paper();
};

struct FitDiagnostics {
  int iterations = 0;  // accepted iterations
  int sweeps = 0;      // MM sweeps over the data (the unit of cost)
  double loss = 0;     // final penalized loss (raw fit)
  double rel_loss_change = 0;
  double kkt_residual = 0;
  double max_param_change = 0;
  double max_change_se = 0;  // largest change over the last iteration in units of its SE
  bool converged = false;
  std::string stop_reason;           // "converged", "max_iter", "paper_rule"
  std::vector<double> loss_history;  // loss at each accepted iterate, non-increasing
};

// What a marginal estimator knows beyond point values (marginal.h): standard errors from the
// marginal likelihood (posterior SDs for the integrated side) and predicted accuracy averaged over
// the integrated side's posterior. MakeReport reports these instead of its joint-ML ones.
struct MarginalSummary {
  Eigen::MatrixXd theta_se;            // N×1
  Eigen::MatrixXd a_se;                // J×1
  Eigen::VectorXd b_se;                // J
  Eigen::VectorXd ab_cov;              // J: posterior covariance of a and b (random items; else empty)
  Eigen::VectorXd predicted_accuracy;  // N
};

struct FitResult {
  IrtParams params;                     // normalized (and item-shrunk with shrink_items)
  Normalization normalization;          // how the raw fit was normalized
  FitDiagnostics diagnostics;           // of the penalized fit, before any item shrinkage
  std::optional<ItemPrior> item_prior;  // the prior used, with shrink_items
  FitMethod method = FitMethod::kJoint;  // the estimator that ran (never kAuto)
  std::string method_reason;             // why: forced, paper mode, or the shape rule's words
  std::optional<MarginalSummary> marginal;  // set by the marginal estimators
};

// The shape rule of FitMethod::kAuto, with its reason in words. Paper mode and dims > 1 are joint.
// Otherwise joint when both sides have at least kJointMinSide units; else the small side is kept
// fixed and the large one integrated out: marginal-items when N ≤ J, marginal-models when N > J.
// The threshold is measured (tests/bench/README.md, "Which estimator").
inline constexpr Eigen::Index kJointMinSide = 100;
struct MethodChoice {
  FitMethod method;
  std::string reason;
};
MethodChoice ChooseMethod(Eigen::Index models, Eigen::Index items, const FitOptions& options);

// Fits the model with the estimator options.method names (kAuto: ChooseMethod). Errors:
// InvalidArgument (options, warm start shape, no observed cells, a marginal method with dims > 1,
// paper mode or shrink_items), Cancelled (on_iteration returned false). Deterministic for fixed
// data, options and threads.
absl::StatusOr<FitResult> Fit(const ResponseMatrix& data, const FitOptions& options);

// options.threads with 0 resolved to the machine's cores (std::thread::hardware_concurrency).
int ResolvedThreads(int threads);

// Applies the normalization convention to `params` in place and returns it.
Normalization Normalize(IrtParams& params);

}  // namespace assay::irt

#endif  // ASSAY_CORE_IRT_FIT_H_
