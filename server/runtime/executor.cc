#include "server/runtime/executor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/thread_name.h"

namespace assay::server {

BoundedExecutor::BoundedExecutor(int threads, size_t queue_capacity)
    : capacity_(queue_capacity < 1 ? 1 : queue_capacity) {
  if (threads < 1) threads = 1;
  workers_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    workers_.emplace_back([this, i] {
      NameCurrentThread(absl::StrCat("assay-exec-", i));
      WorkerLoop();
    });
  }
}

BoundedExecutor::~BoundedExecutor() { Shutdown(); }

absl::Status BoundedExecutor::Submit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("server is shutting down");
  if (queue_.size() >= capacity_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("server is busy: ", capacity_, " requests already queued; retry later"));
  }
  queue_.push_back(std::move(task));
  return absl::OkStatus();
}

void BoundedExecutor::WorkerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](BoundedExecutor* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void BoundedExecutor::Shutdown() {
  absl::MutexLock join_lock(&join_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

size_t BoundedExecutor::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

}  // namespace assay::server
