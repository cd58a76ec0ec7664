// For benchmarks and tests against a running server: create a benchmark, upload a response matrix
// and fit it, waiting for the fit to end.
#ifndef ASSAY_TESTS_TESTING_UPLOAD_FIT_H_
#define ASSAY_TESTS_TESTING_UPLOAD_FIT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "client/lib/upload.h"
#include "core/irt/responses.h"
#include "tests/testing/api.h"

namespace assay::testing {

struct UploadedFit {
  std::string benchmark_id;
  v1::Fit fit;  // its final state (SUCCEEDED unless an error is returned)
};

// Creates benchmark `name` with `key`, uploads `data`, fits it (the server's default options) and
// waits up to 30 minutes for the fit to end. An error unless the fit succeeded.
inline absl::StatusOr<UploadedFit> UploadAndFit(v1::BenchmarkService::Stub& benchmarks,
                                                const std::string& key,
                                                const irt::ResponseMatrix& data,
                                                const std::string& name) {
  v1::CreateBenchmarkRequest create;
  create.set_name(name);
  v1::Benchmark bm;
  if (absl::Status s = ToAbsl(benchmarks.CreateBenchmark(Ctx(key).get(), create, &bm)); !s.ok()) {
    return s;
  }
  {
    auto context = Ctx(key, absl::Minutes(30));
    absl::Status s = client::UploadResponses(benchmarks, *context, data, bm.id()).status();
    if (!s.ok()) return s;
  }
  v1::StartFitRequest start;
  start.set_benchmark_id(bm.id());
  UploadedFit out{bm.id(), {}};
  if (absl::Status s = ToAbsl(benchmarks.StartFit(Ctx(key).get(), start, &out.fit)); !s.ok()) {
    return s;
  }
  v1::WatchFitRequest w;
  w.set_fit_id(out.fit.id());
  auto context = Ctx(key, absl::Minutes(30));
  auto reader = benchmarks.WatchFit(context.get(), w);
  while (reader->Read(&out.fit)) {
  }
  if (out.fit.state() != v1::FIT_STATE_SUCCEEDED) {
    return absl::InternalError(absl::StrCat("fit ", out.fit.id(), " ended ",
                                            v1::FitState_Name(out.fit.state()), ": ",
                                            out.fit.error()));
  }
  return out;
}

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_UPLOAD_FIT_H_
