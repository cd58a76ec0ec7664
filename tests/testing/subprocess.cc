#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace assay::testing {

absl::StatusOr<Subprocess> Subprocess::Start(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("argv is empty");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    // The test runner may have signals blocked; the child starts with a clean mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  return Subprocess(pid, fds[0]);
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      scanned_(other.scanned_),
      exited_(other.exited_) {}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (fd_ >= 0) close(fd_);
}

bool Subprocess::ReadSome(absl::Duration timeout) {
  pollfd p{fd_, POLLIN, 0};
  const int ready = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (ready <= 0) return true;  // nothing yet (or EINTR): not the end
  char chunk[4096];
  const ssize_t n = read(fd_, chunk, sizeof chunk);
  if (n <= 0) return n < 0 && errno == EINTR;
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

absl::StatusOr<std::string> Subprocess::WaitForLine(const std::string& needle,
                                                    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    size_t eol;
    while ((eol = buffer_.find('\n', scanned_)) != std::string::npos) {
      std::string line = buffer_.substr(scanned_, eol - scanned_);
      scanned_ = eol + 1;
      if (line.find(needle) != std::string::npos) return line;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("no line with '", needle, "'; output:\n", buffer_));
    }
    if (!ReadSome(std::min(left, absl::Milliseconds(100)))) {
      return absl::FailedPreconditionError(
          absl::StrCat("output ended before a line with '", needle, "'; output:\n", buffer_));
    }
  }
}

void Subprocess::Signal(int signal) {
  if (pid_ > 0 && !exited_) kill(pid_, signal);
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      Drain();
      return status;
    }
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("child still running");
    ReadSome(absl::Milliseconds(20));  // keep the pipe drained so the child never blocks on it
  }
}

void Subprocess::Drain() {
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return;
    char chunk[4096];
    const ssize_t n = read(fd_, chunk, sizeof chunk);
    if (n <= 0) return;
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

std::string Subprocess::Output() {
  Drain();
  return buffer_;
}

absl::StatusOr<RunResult> Run(const std::vector<std::string>& argv, absl::Duration timeout) {
  auto child = Subprocess::Start(argv);
  if (!child.ok()) return child.status();
  auto status = child->Wait(timeout);
  if (!status.ok()) return status.status();
  RunResult result;
  result.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  result.output = child->Output();
  return result;
}

absl::StatusOr<TestCertificate> MakeTestCertificate(const std::string& dir) {
  TestCertificate made{dir + "/server.crt", dir + "/server.key"};
  absl::StatusOr<RunResult> run =
      Run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
           made.key, "-out", made.cert, "-days", "1", "-subj", "/CN=localhost", "-addext",
           "subjectAltName=DNS:localhost"});
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(absl::StrCat("openssl req failed: ", run->output));
  }
  return made;
}

}  // namespace assay::testing
