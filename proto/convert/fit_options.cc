#include "proto/convert/fit_options.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace assay::convert {

irt::FitMethod FitMethodFromProto(v1::FitMethod m) {
  switch (m) {
    case v1::FIT_METHOD_JOINT:
      return irt::FitMethod::kJoint;
    case v1::FIT_METHOD_MARGINAL_ITEMS:
      return irt::FitMethod::kMarginalItems;
    case v1::FIT_METHOD_MARGINAL_MODELS:
      return irt::FitMethod::kMarginalModels;
    default:
      return irt::FitMethod::kAuto;
  }
}

v1::FitMethod FitMethodToProto(irt::FitMethod m) {
  switch (m) {
    case irt::FitMethod::kJoint:
      return v1::FIT_METHOD_JOINT;
    case irt::FitMethod::kMarginalItems:
      return v1::FIT_METHOD_MARGINAL_ITEMS;
    case irt::FitMethod::kMarginalModels:
      return v1::FIT_METHOD_MARGINAL_MODELS;
    case irt::FitMethod::kAuto:
      break;
  }
  return v1::FIT_METHOD_UNSPECIFIED;
}

absl::StatusOr<irt::FitOptions> FitOptionsFromProto(v1::FitOptions& o) {
  // Unset fields take the core's defaults (irt::FitOptions, or FitOptions::Paper()).
  irt::FitOptions core = o.paper_mode() ? irt::FitOptions::Paper() : irt::FitOptions();
  if (o.dims() == 0) o.set_dims(core.dims);
  if (o.dims() < 1 || o.dims() > 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.dims: must be in [1, 8], got ", o.dims()));
  }
  if (o.sigma() == 0) o.set_sigma(core.sigma);
  if (!o.has_ridge()) o.set_ridge(core.ridge);
  if (o.tol() == 0) o.set_tol(core.tol);
  if (o.max_iter() == 0) o.set_max_iter(core.max_iter);
  if (o.max_iter() < 1 || o.max_iter() > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.max_iter: must be in [1, 100000], got ", o.max_iter()));
  }
  if (o.seed() == 0) o.set_seed(core.seed);
  if (!v1::StopRule_IsValid(o.stop_rule())) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.stop_rule: unknown value ", static_cast<int>(o.stop_rule())));
  }
  if (o.stop_rule() == v1::STOP_RULE_UNSPECIFIED) {
    o.set_stop_rule(core.stop_rule == irt::StopRule::kStrict ? v1::STOP_RULE_STRICT
                                                             : v1::STOP_RULE_PRECISION);
  }
  if (o.se_tol() == 0) o.set_se_tol(core.se_tol);
  if (!(o.se_tol() > 0 && o.se_tol() < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.se_tol: must be in (0, 1), got ", o.se_tol()));
  }
  core.dims = o.dims();
  core.sigma = o.sigma();
  core.ridge = o.ridge();
  core.tol = o.tol();
  core.max_iter = o.max_iter();
  core.seed = o.seed();
  core.stop_rule =
      o.stop_rule() == v1::STOP_RULE_STRICT ? irt::StopRule::kStrict : irt::StopRule::kPrecision;
  core.se_tol = o.se_tol();
  core.shrink_items = o.shrink_items();
  if (!v1::FitMethod_IsValid(o.method())) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.method: unknown value ", static_cast<int>(o.method())));
  }
  core.method = FitMethodFromProto(o.method());
  if (absl::Status valid = core.Validate(); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("options.", valid.message()));
  }
  if (o.paper_mode() && o.shrink_items()) {
    return absl::InvalidArgumentError(
        "options.shrink_items: paper mode reproduces the released method; leave unset");
  }
  if (o.paper_mode() && o.ridge() != 0) {
    return absl::InvalidArgumentError(
        "options.ridge: paper mode fits without a ridge; leave unset");
  }
  return core;
}

v1::FitOptions FitOptionsToProto(const irt::FitOptions& o) {
  v1::FitOptions out;
  out.set_dims(o.dims);
  out.set_sigma(o.sigma);
  out.set_ridge(o.paper_mode ? 0.0 : o.ridge);
  out.set_tol(o.tol);
  out.set_max_iter(o.max_iter);
  out.set_paper_mode(o.paper_mode);
  out.set_seed(o.seed);
  out.set_shrink_items(o.shrink_items);
  out.set_method(FitMethodToProto(o.method));
  out.set_stop_rule(o.stop_rule == irt::StopRule::kStrict ? v1::STOP_RULE_STRICT
                                                          : v1::STOP_RULE_PRECISION);
  out.set_se_tol(o.se_tol);
  return out;
}

void FitResultToProto(const irt::ResponseMatrix& data, const irt::FitResult& result, int threads,
                      v1::Fit& fit) {
  const irt::FitDiagnostics& d = result.diagnostics;
  fit.set_state(v1::FIT_STATE_SUCCEEDED);
  fit.set_iteration(d.iterations);
  fit.set_loss(d.loss);
  fit.set_converged(d.converged);
  fit.set_stop_reason(d.stop_reason);
  fit.set_num_models(data.num_models());
  fit.set_num_items(data.num_items());
  fit.set_num_cells(data.num_observed());
  fit.set_normalization(result.normalization.convention);
  fit.clear_normalization_shift();
  fit.clear_normalization_scale();
  for (Eigen::Index k = 0; k < result.normalization.shift.size(); ++k) {
    fit.add_normalization_shift(result.normalization.shift[k]);
    fit.add_normalization_scale(result.normalization.scale[k]);
  }
  fit.clear_item_prior_mean();
  fit.clear_item_prior_sd();
  if (result.item_prior.has_value()) {
    for (Eigen::Index k = 0; k < result.item_prior->mean.size(); ++k) {
      fit.add_item_prior_mean(result.item_prior->mean[k]);
      fit.add_item_prior_sd(std::sqrt(result.item_prior->variance[k]));
    }
  }
  fit.set_method(FitMethodToProto(result.method));
  fit.set_method_reason(result.method_reason);
  v1::FitDiagnostics& out = *fit.mutable_diagnostics();
  out.set_sweeps(d.sweeps);
  out.set_rel_loss_change(d.rel_loss_change);
  out.set_kkt_residual(d.kkt_residual);
  out.set_max_param_change(d.max_param_change);
  out.set_max_change_se(d.max_change_se);
  out.set_threads(irt::ResolvedThreads(threads));
}

}  // namespace assay::convert
