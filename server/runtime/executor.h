// BoundedExecutor: a fixed pool of worker threads with a bounded FIFO queue, for RPC work that
// touches SQLite or runs estimators. gRPC callback handlers hand work here instead of blocking
// gRPC's own threads; a full queue is reported to the caller (ResourceExhausted) rather than
// growing without bound.
//
// Thread safety: all methods are thread safe.
#ifndef ASSAY_SERVER_RUNTIME_EXECUTOR_H_
#define ASSAY_SERVER_RUNTIME_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace assay::server {

class BoundedExecutor {
 public:
  // Starts `threads` workers (>= 1) and accepts up to `queue_capacity` (>= 1) waiting tasks.
  BoundedExecutor(int threads, size_t queue_capacity);
  // Shuts down (draining queued tasks) if Shutdown() was not called.
  ~BoundedExecutor();
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Queues `task`. ResourceExhausted if the queue is full; Unavailable after Shutdown(). The task
  // is not run when an error is returned.
  absl::Status Submit(std::function<void()> task);

  // Stops accepting tasks, runs every task already queued, and joins the workers. Idempotent.
  void Shutdown();

  size_t queued() const;

 private:
  void WorkerLoop();

  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
  absl::Mutex join_mu_;  // serializes Shutdown() callers
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RUNTIME_EXECUTOR_H_
