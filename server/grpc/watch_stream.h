// WatchStream<Msg>: the gRPC server side of every watch call. It registers with the call's
// api::WatchSource on the executor (authentication may read the database), writes the source's
// messages in order under the source's delivery policy, and finishes OK after the final one.
//
// Lifetime: deleted after gRPC's OnDone and once the start task has run, unregistering first.
#ifndef ASSAY_SERVER_GRPC_WATCH_STREAM_H_
#define ASSAY_SERVER_GRPC_WATCH_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/api/watch.h"
#include "server/grpc/rpc_util.h"

namespace assay::server {

template <typename Msg>
class WatchStream final : public grpc::ServerWriteReactor<Msg>, public Watcher<Msg> {
 public:
  WatchStream(grpc::CallbackServerContext* context, const ServerDeps& deps,
              api::WatchSource<Msg> source)
      : coalesce_(source.coalesce),
        max_queued_(source.max_queued),
        unwatch_(std::move(source.unwatch)) {
    // The start runs on the executor, possibly after a cancellation has finished the call and
    // freed `context`: take what it needs from the context now.
    AuthenticateThen(deps, AuthorizationOf(*context), Role::kRead,
                     [this, start = std::move(source.start)](absl::StatusOr<Principal> who) {
                       absl::StatusOr<std::shared_ptr<void>> token =
                           who.ok() ? start(*who, this, std::nullopt) : who.status();
                       bool last;
                       {
                         absl::MutexLock lock(&mu_);
                         starting_ = false;
                         if (token.ok()) token_ = *token;
                         if (!token.ok()) FinishLocked(ToGrpcStatus(token.status()));
                         last = done_;
                       }
                       if (last) Destroy();
                     });
  }

  void Push(const Msg& message, bool final) override {
    const Msg* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || final_queued_) return;
      if (coalesce_ && queue_.size() > 1) queue_.pop_back();  // replace the waiting one
      if (queue_.size() >= max_queued_) {
        FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  "watcher fell too far behind; watch again"));
        return;
      }
      queue_.push_back(message);
      final_queued_ = final;
      if (!writing_) {
        writing_ = true;
        next = &queue_.front();
      }
    }
    if (next != nullptr) this->StartWrite(next);
  }

  void Drop(absl::string_view reason) override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(reason)));
  }

  void OnWriteDone(bool ok) override {
    const Msg* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      queue_.pop_front();
      writing_ = false;
      if (!ok) {
        FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      } else if (!queue_.empty()) {
        writing_ = true;
        next = &queue_.front();
      } else if (final_queued_) {
        FinishLocked(grpc::Status::OK);
      }
    }
    if (next != nullptr) this->StartWrite(next);
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }

  void OnDone() override {
    bool last;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      last = !starting_;
    }
    if (last) Destroy();
  }

 private:
  void Destroy() {
    std::shared_ptr<void> token;
    {
      absl::MutexLock lock(&mu_);
      token = token_;
    }
    if (token != nullptr) unwatch_(token, this);
    delete this;
  }
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    this->Finish(status);
  }

  const bool coalesce_;
  const size_t max_queued_;
  std::function<void(const std::shared_ptr<void>&, Watcher<Msg>*)> unwatch_;
  absl::Mutex mu_;
  std::deque<Msg> queue_ ABSL_GUARDED_BY(mu_);  // front is being written
  std::shared_ptr<void> token_ ABSL_GUARDED_BY(mu_);
  bool starting_ ABSL_GUARDED_BY(mu_) = true;  // the executor task still uses `this`
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool final_queued_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_WATCH_STREAM_H_
