// Where tests and benchmarks make their scratch directories: $TMPDIR when set and not empty, else
// /tmp (TMPDIR=/dev/shm takes the disk out of a measurement). Header-only, so tools that link
// nothing else of tests/testing can use it.
#ifndef ASSAY_TESTS_TESTING_TEMP_ROOT_H_
#define ASSAY_TESTS_TESTING_TEMP_ROOT_H_

#include <cstdlib>
#include <string>

namespace assay::testing {

inline std::string TempRoot() {
  const char* tmpdir = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): nothing sets it
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_TEMP_ROOT_H_
