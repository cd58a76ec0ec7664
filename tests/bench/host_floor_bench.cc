// What a busy core costs a latency-sensitive request on this host, without assay in the picture
// (issue "A shared service": the floor under team B's label latency while fits run). Two probes,
// each run with the machine otherwise idle and then beside busy threads of this process at the
// lowest priority Linux has (SCHED_IDLE, which any other thread preempts at once):
//   wake:  a thread asleep on a condition variable is woken by another, every 200 µs; the figure
//          is notify-to-running (a request crosses several such hand-offs between threads);
//   sync:  pwrite of 4 KiB then fdatasync in a file under --dir (every acknowledged write of assay
//          ends in one).
// Prints p50, p99, p99.9, max and the share over 1 ms for each probe and phase.
//
//   build/tests/bench/host_floor_bench                  # --dir defaults to $TMPDIR or /tmp
//   build/tests/bench/host_floor_bench --dir /dev/shm   # tmpfs: the disk out of the picture
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "tests/testing/percentile.h"
#include "tests/testing/temp_root.h"

namespace assay {
namespace {

// Reports `what` with errno's meaning and ends the process (from any thread).
[[noreturn]] void Die(const std::string& what) {
  const std::string reason = std::error_code(errno, std::generic_category()).message();
  (void)std::fprintf(stderr, "host_floor_bench: %s: %s\n", what.c_str(), reason.c_str());
  std::_Exit(1);
}

double Micros(absl::Time from) { return absl::ToDoubleMicroseconds(absl::Now() - from); }

// `n` threads spinning under SCHED_IDLE until destroyed.
class BusyThreads {
 public:
  explicit BusyThreads(int n) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        sched_param param{};
        if (sched_setscheduler(0, SCHED_IDLE, &param) != 0) Die("sched_setscheduler(SCHED_IDLE)");
        volatile uint64_t sink = 0;
        while (!stop_.load(std::memory_order_relaxed)) sink = sink + 1;
      });
    }
    absl::SleepFor(absl::Milliseconds(100));  // every one of them spinning
  }
  ~BusyThreads() {
    stop_.store(true);
    for (std::thread& t : threads_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

std::vector<double> WakeLatencies(int n) {
  std::mutex mu;
  std::condition_variable cv;
  absl::Time sent;
  bool pending = false, stop = false;
  std::vector<double> us;
  us.reserve(static_cast<size_t>(n));
  std::thread sleeper([&] {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return pending || stop; });
      if (stop) return;
      us.push_back(Micros(sent));
      pending = false;
    }
  });
  for (int i = 0; i < n; ++i) {
    absl::SleepFor(absl::Microseconds(200));  // the sleeper is asleep again
    {
      std::lock_guard<std::mutex> lock(mu);
      sent = absl::Now();
      pending = true;
    }
    cv.notify_one();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  }
  cv.notify_one();
  sleeper.join();
  return us;
}

std::vector<double> SyncLatencies(const std::string& dir, int n) {
  const std::string path = dir + "/host_floor_bench.dat";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) Die("open " + path);
  std::vector<char> page(4096, 'x');
  std::vector<double> us;
  us.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const absl::Time start = absl::Now();
    if (pwrite(fd, page.data(), page.size(), static_cast<off_t>(i % 256) * 4096) < 0)
      Die("pwrite " + path);
    if (fdatasync(fd) != 0) Die("fdatasync " + path);
    us.push_back(Micros(start));
  }
  close(fd);
  unlink(path.c_str());
  return us;
}

void Print(const char* probe, const std::string& phase, const std::vector<double>& us) {
  const double over =
      100.0 *
      static_cast<double>(std::count_if(us.begin(), us.end(), [](double u) { return u > 1000; })) /
      static_cast<double>(us.size());
  std::printf("%-5s %-26s p50 %7.0f  p99 %7.0f  p99.9 %7.0f  max %7.0f us  >1 ms %5.2f%%\n", probe,
              phase.c_str(), testing::Percentile(us, 0.5), testing::Percentile(us, 0.99),
              testing::Percentile(us, 0.999), *std::max_element(us.begin(), us.end()), over);
}

int Main(int argc, char** argv) {
  std::string dir = testing::TempRoot();
  int wakes = 20000, syncs = 3000;
  CLI::App app("What a busy core costs a thread wake-up and an fdatasync on this host");
  app.add_option("--dir", dir, "directory of the fdatasync probe's file")->capture_default_str();
  app.add_option("--wakes", wakes, "wake-ups per phase")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--syncs", syncs, "fdatasyncs per phase")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::printf("%d cores; fdatasync in %s\n", cores, dir.c_str());
  for (int busy : {0, 1, cores}) {
    if (busy == 1 && cores == 1) continue;
    const std::string phase =
        busy == 0 ? "idle"
                  : std::to_string(busy) + " busy SCHED_IDLE thread" + (busy > 1 ? "s" : "");
    std::vector<double> wake, sync;
    {
      BusyThreads spin(busy);
      wake = WakeLatencies(wakes);
      sync = SyncLatencies(dir, syncs);
    }
    Print("wake", phase, wake);
    Print("sync", phase, sync);
  }
  return 0;
}

}  // namespace
}  // namespace assay

int main(int argc, char** argv) {
  try {
    return assay::Main(argc, argv);
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "host_floor_bench: %s\n", e.what());
    return 1;
  }
}
