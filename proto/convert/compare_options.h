// Comparison options and decisions between the API (v1::CompareOptions) and the core
// (compare::CompareOptions): one place. Unset fields take the core's defaults.
#ifndef ASSAY_PROTO_CONVERT_COMPARE_OPTIONS_H_
#define ASSAY_PROTO_CONVERT_COMPARE_OPTIONS_H_

#include "absl/status/statusor.h"
#include "assay/v1/compare.pb.h"
#include "core/compare/comparison.h"

namespace assay::convert {

// Fills the unset fields of `options` with the core's defaults and returns the core form.
// InvalidArgument "options.FIELD: ..." (nothing filled in then).
absl::StatusOr<compare::CompareOptions> CompareOptionsFromProto(v1::CompareOptions& options);

v1::CompareDecision DecisionToProto(compare::Decision decision);
// "regression", "pass", "better", "inconclusive", "undecided".
const char* DecisionName(v1::CompareDecision decision);

}  // namespace assay::convert

#endif  // ASSAY_PROTO_CONVERT_COMPARE_OPTIONS_H_
