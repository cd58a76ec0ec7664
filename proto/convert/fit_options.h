// Calibration options between the API (v1::FitOptions, v1::FitMethod) and the core
// (irt::FitOptions): one place, used by the server and the CLI. Unset fields take the core's
// defaults (irt::FitOptions, or FitOptions::Paper() in paper mode), never literals of their own.
#ifndef ASSAY_PROTO_CONVERT_FIT_OPTIONS_H_
#define ASSAY_PROTO_CONVERT_FIT_OPTIONS_H_

#include "absl/status/statusor.h"
#include "assay/v1/benchmarks.pb.h"
#include "core/irt/fit.h"

namespace assay::convert {

irt::FitMethod FitMethodFromProto(v1::FitMethod m);  // UNSPECIFIED (and unknown): kAuto
v1::FitMethod FitMethodToProto(irt::FitMethod m);

// Fills the unset fields of `options` with the core's defaults and returns the core form.
// InvalidArgument "options.FIELD: ..." for options that do not validate.
absl::StatusOr<irt::FitOptions> FitOptionsFromProto(v1::FitOptions& options);

// The API form of core options (the CLI's `assay fit`, which has no API message to start from).
v1::FitOptions FitOptionsToProto(const irt::FitOptions& options);

// A finished fit's outcome into `fit` (state SUCCEEDED, iterations, loss, the data's size, the
// normalization, the item prior, the estimator and why, the diagnostics), for the server's fit
// record and `assay fit`'s fit.json alike. Leaves ids, options, times and seconds alone.
void FitResultToProto(const irt::ResponseMatrix& data, const irt::FitResult& result, int threads,
                      v1::Fit& fit);

}  // namespace assay::convert

#endif  // ASSAY_PROTO_CONVERT_FIT_OPTIONS_H_
