// Subprocess: runs a program with its stderr (and stdout) captured, for tests that drive real
// assayd / assay binaries. Every wait is bounded; the destructor SIGKILLs a child still running.
#ifndef ASSAY_TESTS_TESTING_SUBPROCESS_H_
#define ASSAY_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace assay::testing {

class Subprocess {
 public:
  // Starts argv[0] (a path) with the given arguments; stdout and stderr are merged into one pipe.
  static absl::StatusOr<Subprocess> Start(const std::vector<std::string>& argv);
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  ~Subprocess();

  // Reads output until a line containing `needle` arrives; returns that line. DeadlineExceeded if
  // none within `timeout`, FailedPrecondition if the output ends first (the child exited).
  absl::StatusOr<std::string> WaitForLine(const std::string& needle, absl::Duration timeout);

  // Sends `signal` to the child.
  void Signal(int signal);

  // Waits for the child to exit and returns its wait status (use WIFEXITED etc.).
  // DeadlineExceeded if it is still running after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  // Everything the child printed so far (reads what is pending without blocking).
  std::string Output();

  pid_t pid() const { return pid_; }

 private:
  Subprocess(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  // Reads what is available within `timeout`; false at end of output.
  bool ReadSome(absl::Duration timeout);
  // Reads everything already pending, without waiting.
  void Drain();

  pid_t pid_;
  int fd_;
  std::string buffer_;  // everything read so far
  size_t scanned_ = 0;  // WaitForLine has looked at buffer_[0, scanned_)
  bool exited_ = false;
};

// Runs a program to completion (bounded by `timeout`) and returns its exit code and output.
struct RunResult {
  int exit_code = -1;  // -1 if killed by a signal
  std::string output;
};
absl::StatusOr<RunResult> Run(const std::vector<std::string>& argv,
                              absl::Duration timeout = absl::Seconds(60));

// A self-signed certificate for "localhost" (PEM files `dir`/server.crt and `dir`/server.key,
// made by the openssl command, valid one day), for TLS tests.
struct TestCertificate {
  std::string cert, key;
};
absl::StatusOr<TestCertificate> MakeTestCertificate(const std::string& dir);

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_SUBPROCESS_H_
