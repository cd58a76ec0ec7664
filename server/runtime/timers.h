// Timers: runs short callbacks at given times, on one thread of its own, without holding any other
// thread meanwhile (a write held for its team's next token waits here, not on a request thread).
//
// Thread safety: thread safe.
#ifndef ASSAY_SERVER_RUNTIME_TIMERS_H_
#define ASSAY_SERVER_RUNTIME_TIMERS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace assay::server {

class Timers {
 public:
  Timers();   // starts the thread
  ~Timers();  // Shutdown()
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  // Runs `fn` at `when` (or as soon after as the thread gets a core), callbacks due at the same
  // time in the order they were added. Keep `fn` short: it delays the callbacks due after it.
  // After Shutdown, runs `fn` at once on the caller's thread.
  void RunAt(absl::Time when, std::function<void()> fn);

  // Runs every callback still waiting at once (early), then joins the thread. Idempotent.
  void Shutdown();

  size_t waiting() const;

 private:
  void Loop();
  // While the thread sleeps until sleeping_until_: whether it must wake before.
  bool WakeEarly() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // By due time, then by the order added.
  std::map<std::pair<absl::Time, int64_t>, std::function<void()>> due_ ABSL_GUARDED_BY(mu_);
  int64_t added_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time sleeping_until_ ABSL_GUARDED_BY(mu_);
  absl::Mutex join_mu_;
  std::thread thread_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RUNTIME_TIMERS_H_
