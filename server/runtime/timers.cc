#include "server/runtime/timers.h"

#include <utility>

#include "absl/time/clock.h"
#include "core/base/thread_name.h"

namespace assay::server {

Timers::Timers()
    : thread_([this] {
        NameCurrentThread("assay-timers");
        Loop();
      }) {}

Timers::~Timers() { Shutdown(); }

void Timers::RunAt(absl::Time when, std::function<void()> fn) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      due_.emplace(std::make_pair(when, added_++), std::move(fn));
      return;
    }
  }
  fn();
}

void Timers::Loop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    if (due_.empty() && stopping_) return;
    const absl::Time next = due_.empty() ? absl::InfiniteFuture() : due_.begin()->first.first;
    if (!stopping_ && next > absl::Now()) {
      // Sleeps until `next`, or until an earlier callback is added or shutdown starts.
      sleeping_until_ = next;
      mu_.AwaitWithDeadline(absl::Condition(this, &Timers::WakeEarly), next);
      continue;
    }
    std::function<void()> fn = std::move(due_.begin()->second);
    due_.erase(due_.begin());
    mu_.Unlock();
    fn();
    mu_.Lock();
  }
}

bool Timers::WakeEarly() const {
  return stopping_ || (!due_.empty() && due_.begin()->first.first < sleeping_until_);
}

void Timers::Shutdown() {
  absl::MutexLock join_lock(&join_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

size_t Timers::waiting() const {
  absl::MutexLock lock(&mu_);
  return due_.size();
}

}  // namespace assay::server
