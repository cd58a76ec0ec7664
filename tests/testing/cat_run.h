// Runs an adaptive-testing session to its end, for tests and benchmarks: one item at a time, each
// answered with `answer(item)` successes out of one trial.
#ifndef ASSAY_TESTS_TESTING_CAT_RUN_H_
#define ASSAY_TESTS_TESTING_CAT_RUN_H_

#include <vector>

#include "absl/status/statusor.h"
#include "core/base/eigen.h"
#include "core/cat/session.h"

namespace assay::testing {

// The items given, in order. Stops when the session finishes or has no item left to give; the
// first refused answer is the error.
template <typename Answer>
absl::StatusOr<std::vector<Eigen::Index>> AnswerUntilFinished(cat::CatSession& session,
                                                              Answer answer) {
  std::vector<Eigen::Index> given;
  while (!session.finished()) {
    auto next = session.Next(1);
    if (!next.ok()) break;
    const Eigen::Index item = next->front();
    given.push_back(item);
    absl::Status submitted = session.Submit(item, answer(item));
    if (!submitted.ok()) return submitted;
  }
  return given;
}

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_CAT_RUN_H_
