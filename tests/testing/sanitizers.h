// ASSAY_SKIP_REPEAT_UNDER_SANITIZERS(covered_by): skips a Monte Carlo repetition in the sanitized
// test run.
//
// The sanitized run (tests/run.sh, ASSAY_SANITIZE=ON) is there to find memory errors and undefined
// behaviour. A test that repeats code another test already runs, to check a statistical claim,
// adds nothing to it but minutes: AddressSanitizer slows the estimators' vectorized exp and log
// about 20x (CatMath500Test.ModelAssistedMeetsTheTargetOverTenSplits: 5 s in the release build,
// 123 s sanitized). Such a test starts with this macro, naming the test that runs the same code
// under the sanitizers; the release run still checks its claim, and ctest reports the skip.
#ifndef ASSAY_TESTS_TESTING_SANITIZERS_H_
#define ASSAY_TESTS_TESTING_SANITIZERS_H_

#include <gtest/gtest.h>

#if defined(ASSAY_SANITIZED)  // set by CMake with ASSAY_SANITIZE=ON
#define ASSAY_SKIP_REPEAT_UNDER_SANITIZERS(covered_by)                            \
  GTEST_SKIP() << "Monte Carlo repetition, run by the release build; " covered_by \
                  " runs its code under the sanitizers"
#else
#define ASSAY_SKIP_REPEAT_UNDER_SANITIZERS(covered_by) static_cast<void>(0)
#endif

#endif  // ASSAY_TESTS_TESTING_SANITIZERS_H_
