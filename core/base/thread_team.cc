#include "core/base/thread_team.h"

#include "absl/strings/str_cat.h"
#include "core/base/thread_name.h"
#include "core/base/yield.h"

namespace assay {

ThreadTeam::ThreadTeam(int size) {
  const bool yield_often = YieldOften();
  for (int m = 1; m < size; ++m) {
    threads_.emplace_back([this, m, yield_often] {
      SetYieldOften(yield_often);
      Loop(m);
    });
  }
}

ThreadTeam::~ThreadTeam() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void ThreadTeam::Run(absl::FunctionRef<void(int)> task) {
  if (threads_.empty()) {
    task(0);
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    task_ = &task;
    running_ = static_cast<int>(threads_.size());
    ++generation_;
  }
  task(0);
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_ == 0; };
  mu_.Await(absl::Condition(&done));
  task_ = nullptr;
}

void ThreadTeam::Loop(int member) {
  NameCurrentThread(absl::StrCat("assay-team-", member));
  uint64_t seen = 0;
  while (true) {
    const absl::FunctionRef<void(int)>* task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || generation_ != seen; };
      mu_.Await(absl::Condition(&ready));
      if (stop_) return;
      seen = generation_;
      task = task_;
    }
    (*task)(member);
    absl::MutexLock lock(&mu_);
    --running_;
  }
}

}  // namespace assay
