#include "proto/convert/compare_options.h"

#include "absl/strings/str_cat.h"

namespace assay::convert {

absl::StatusOr<compare::CompareOptions> CompareOptionsFromProto(v1::CompareOptions& options) {
  v1::CompareOptions filled = options;
  compare::CompareOptions core;
  if (filled.has_delta()) core.delta = filled.delta();
  filled.set_delta(core.delta);
  if (filled.has_alpha()) core.alpha = filled.alpha();
  filled.set_alpha(core.alpha);
  if (filled.max_items() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.max_items: must be >= 0 (0: every item), got ", filled.max_items()));
  }
  if (filled.max_items() > 0) core.max_items = filled.max_items();
  switch (filled.design()) {
    case v1::COMPARE_DESIGN_UNSPECIFIED:
      filled.set_design(core.design == compare::Design::kUniform ? v1::COMPARE_DESIGN_UNIFORM
                                                                 : v1::COMPARE_DESIGN_ADAPTIVE);
      break;
    case v1::COMPARE_DESIGN_UNIFORM:
      core.design = compare::Design::kUniform;
      break;
    case v1::COMPARE_DESIGN_ADAPTIVE:
      core.design = compare::Design::kAdaptive;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("options.design: unknown value ", filled.design()));
  }
  switch (filled.predictor()) {
    case v1::COMPARE_PREDICTOR_UNSPECIFIED:
      filled.set_predictor(core.predictor == compare::Predictor::kModel
                               ? v1::COMPARE_PREDICTOR_MODEL
                               : v1::COMPARE_PREDICTOR_NONE);
      break;
    case v1::COMPARE_PREDICTOR_MODEL:
      core.predictor = compare::Predictor::kModel;
      break;
    case v1::COMPARE_PREDICTOR_NONE:
      core.predictor = compare::Predictor::kNone;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("options.predictor: unknown value ", filled.predictor()));
  }
  if (filled.exploration() != 0) core.exploration = filled.exploration();
  filled.set_exploration(core.exploration);
  core.stop_at_decision = !filled.continue_after_decision();
  if (filled.seed() != 0) core.seed = filled.seed();
  filled.set_seed(core.seed);
  if (absl::Status valid = core.Validate(); !valid.ok())
    return absl::InvalidArgumentError(absl::StrCat("options.", valid.message()));
  options = std::move(filled);
  return core;
}

v1::CompareDecision DecisionToProto(compare::Decision decision) {
  switch (decision) {
    case compare::Decision::kUndecided:
      return v1::COMPARE_DECISION_UNDECIDED;
    case compare::Decision::kRegression:
      return v1::COMPARE_DECISION_REGRESSION;
    case compare::Decision::kPass:
      return v1::COMPARE_DECISION_PASS;
    case compare::Decision::kBetter:
      return v1::COMPARE_DECISION_BETTER;
    case compare::Decision::kInconclusive:
      return v1::COMPARE_DECISION_INCONCLUSIVE;
  }
  return v1::COMPARE_DECISION_UNDECIDED;
}

const char* DecisionName(v1::CompareDecision decision) {
  // The API's values are the core's (DecisionToProto).
  if (decision < v1::COMPARE_DECISION_UNDECIDED || decision > v1::COMPARE_DECISION_INCONCLUSIVE)
    return compare::DecisionName(compare::Decision::kUndecided);
  return compare::DecisionName(static_cast<compare::Decision>(decision));
}

}  // namespace assay::convert
