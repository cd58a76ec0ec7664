// gMock matchers for absl::Status / absl::StatusOr under the names current Abseil uses
// (absl/status/status_matchers.h, namespace absl_testing), which Debian 12's Abseil lacks.
//   EXPECT_THAT(s, IsOk());
//   EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, HasSubstr("item")));
//   EXPECT_THAT(v, IsOkAndHolds(42));
//   ASSERT_OK_AND_ASSIGN(auto x, MakeX());
#ifndef ASSAY_TESTS_TESTING_STATUS_MATCHERS_H_
#define ASSAY_TESTS_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace absl_testing {
namespace internal {
inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}
}  // namespace internal

MATCHER(IsOk, "is OK") {
  const absl::Status& status = internal::GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status.ToString();
  return status.ok();
}

MATCHER_P(StatusIs, code, "has status code " + ::testing::PrintToString(code)) {
  const absl::Status& status = internal::GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + ::testing::PrintToString(code) + " and a matching message") {
  const absl::Status& status = internal::GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace absl_testing

#define ASSAY_TESTING_CONCAT_INNER(a, b) a##b
#define ASSAY_TESTING_CONCAT(a, b) ASSAY_TESTING_CONCAT_INNER(a, b)
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::absl_testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::absl_testing::IsOk())
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL(ASSAY_TESTING_CONCAT(assay_statusor_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL(statusor, lhs, rexpr)             \
  auto statusor = (rexpr);                                          \
  ASSERT_THAT(statusor.status(), ::absl_testing::IsOk()) << #rexpr; \
  lhs = std::move(statusor).value()

#endif  // ASSAY_TESTS_TESTING_STATUS_MATCHERS_H_
