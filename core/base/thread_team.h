#ifndef ASSAY_CORE_BASE_THREAD_TEAM_H_
#define ASSAY_CORE_BASE_THREAD_TEAM_H_

#include <cstdint>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace assay {

// A fixed team of threads for fork-join loops that run many times (a fit's thousands of sweeps):
// the threads start once, in the constructor, instead of once per loop. Starting and joining a
// thread per sweep made two-thread fits of small matrices slower than one thread.
class ThreadTeam {
 public:
  // Starts size − 1 threads (size ≥ 1; size 1 starts none), each with the calling thread's
  // YieldOften setting (core/base/yield.h).
  explicit ThreadTeam(int size);
  // Joins the threads. Must not run concurrently with Run().
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  int size() const { return static_cast<int>(threads_.size()) + 1; }

  // Calls task(0) on the calling thread and task(m) on the team's thread m, for m = 1..size−1,
  // concurrently, and returns once every call has returned (their writes are then visible to the
  // caller). One caller at a time; `task` must not call Run().
  void Run(absl::FunctionRef<void(int)> task);

 private:
  void Loop(int member);

  absl::Mutex mu_;
  const absl::FunctionRef<void(int)>* task_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // bumped by each Run()
  int running_ ABSL_GUARDED_BY(mu_) = 0;          // team threads still in the current task
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace assay

#endif  // ASSAY_CORE_BASE_THREAD_TEAM_H_
