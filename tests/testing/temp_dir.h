// A fresh directory under the test temp dir, removed with everything in it on destruction.
#ifndef ASSAY_TESTS_TESTING_TEMP_DIR_H_
#define ASSAY_TESTS_TESTING_TEMP_DIR_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace assay::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "assay_test_XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp failed for " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_TEMP_DIR_H_
