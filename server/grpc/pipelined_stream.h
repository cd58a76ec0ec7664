// PipelinedStream<Req, Resp>: see the class comment.
#ifndef ASSAY_SERVER_GRPC_PIPELINED_STREAM_H_
#define ASSAY_SERVER_GRPC_PIPELINED_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/grpc/rpc_util.h"

namespace assay::server {

// PipelinedStream<Req, Resp>: the server side of a bidi stream of small writes (StreamLabels,
// StreamScores). Reads requests as they come, submits each as a CommitQueue work at once, or once
// its write token is due when the team is just over its rate (and the later ones after it)
// (pipelining: up to kWindow requests in flight per stream), and writes one reply per request in
// request order, each after its write is durable. A failed request gets a reply carrying
// error_code / error_message (filled by `on_error`, which may also copy identifying fields), and
// the stream goes on. Deleted when gRPC is done with it and no commit callback is pending.
template <typename Req, typename Resp>
class PipelinedStream final : public grpc::ServerBidiReactor<Req, Resp> {
 public:
  static constexpr int kWindow = 256;
  using Work = std::function<absl::Status(WriteContext&, const Principal&, const Req&, Resp*)>;
  using OnError = std::function<void(const Req&, Resp&)>;

  PipelinedStream(grpc::CallbackServerContext* context, const ServerDeps& deps, Work work,
                  OnError on_error)
      : deps_(deps), work_(std::move(work)), on_error_(std::move(on_error)) {
    AuthenticateThen(deps_, AuthorizationOf(*context), Role::kWrite,
                     [this](absl::StatusOr<Principal> who) {
                       if (!who.ok()) {
                         absl::MutexLock lock(&mu_);
                         FinishLocked(ToGrpcStatus(who.status()));
                         return;
                       }
                       who_ = *std::move(who);
                       this->StartRead(&request_);
                     });
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // client half-closed (or the call ended)
      absl::MutexLock lock(&mu_);
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    auto request = std::make_shared<Req>(std::move(request_));
    auto response = std::make_shared<Resp>();
    {
      absl::MutexLock lock(&mu_);
      ++in_flight_;
      ++pending_callbacks_;
    }
    // Over the team's write rate: a message whose token is due within the server's write hold
    // waits for it, and every later message of the stream goes after it (through the timers,
    // behind it); beyond the hold it fails (its reply says when to retry) and the stream goes on.
    const absl::StatusOr<absl::Duration> wait = TakeWrite(deps_, who_, WriteHold(deps_));
    absl::Status queued = wait.status();
    if (wait.ok()) {
      absl::MutexLock lock(&mu_);
      const absl::Time now = absl::Now();
      if (held_ == 0 && *wait <= absl::ZeroDuration()) {
        queued = SubmitLocked(request, response);
      } else {
        held_until_ = std::max(held_until_, now + *wait);
        ++held_;
        deps_.timers->RunAt(held_until_, [this, request, response] {
          absl::Status submitted;
          {
            absl::MutexLock held_lock(&mu_);
            submitted = SubmitLocked(request, response);
            --held_;
          }
          if (!submitted.ok()) Reply(*request, Resp(), submitted);
        });
      }
    }
    if (!queued.ok()) Reply(*request, Resp(), queued);
    // Only now (this request is queued) may the next read start: a read resumed by OnWriteDone
    // meanwhile would queue its request first and break the order. `this` is alive here: gRPC
    // calls OnDone only after every reaction has returned.
    bool read_more;
    {
      absl::MutexLock lock(&mu_);
      read_more = in_flight_ < kWindow;
      read_paused_ = !read_more;
    }
    if (read_more) this->StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    const Resp* next = nullptr;
    bool read_more = false, more = false;
    {
      absl::MutexLock lock(&mu_);
      out_.pop_front();
      --in_flight_;
      writing_ = false;
      if (!ok) {  // the client has gone; replies still pending are dropped
        FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
        return;
      }
      if (read_paused_ && in_flight_ < kWindow && !reads_done_) {
        read_paused_ = false;
        read_more = true;
      }
      if (!out_.empty()) {
        writing_ = true;
        next = &out_.front();
        more = out_.size() > 1;
      } else {
        MaybeFinishLocked();
      }
    }
    // With more replies queued, let gRPC coalesce them into fewer socket writes.
    if (next != nullptr)
      this->StartWrite(next, more ? grpc::WriteOptions().set_buffer_hint() : grpc::WriteOptions());
    if (read_more) this->StartRead(&request_);
  }

  void OnDone() override {
    bool last;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      last = pending_callbacks_ == 0;
    }
    if (last) delete this;
  }

 private:
  // Queues the reply to one label (called once per label, from the committer thread).
  void Reply(const Req& request, Resp response, const absl::Status& status) {
    if (!status.ok()) {
      const grpc::Status error = ToGrpcStatus(status);
      response.Clear();
      on_error_(request, response);
      response.set_error_code(static_cast<int>(error.error_code()));
      response.set_error_message(error.error_message());
    }
    const Resp* next = nullptr;
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      --pending_callbacks_;
      if (done_) {
        last = pending_callbacks_ == 0;
      } else if (!finished_) {
        out_.push_back(std::move(response));
        if (!writing_) {
          writing_ = true;
          next = &out_.back();
        }
      }
    }
    if (last) delete this;
    if (next != nullptr) this->StartWrite(next);
  }

  // Queues one request's work. Under mu_, so that a request queued at once cannot pass one that
  // its write's token held (held_ counts those until they are queued).
  absl::Status SubmitLocked(const std::shared_ptr<Req>& request,
                            const std::shared_ptr<Resp>& response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return deps_.commits->Submit(
        [this, request, response](WriteContext& ctx) {
          return work_(ctx, who_, *request, response.get());
        },
        [this, request, response](absl::Status status) {
          Reply(*request, std::move(*response), status);
        });
  }

  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reads_done_ && in_flight_ == 0) FinishLocked(grpc::Status::OK);
  }
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    this->Finish(status);
  }

  const ServerDeps deps_;
  const Work work_;
  const OnError on_error_;
  Principal who_;
  Req request_;  // the read in progress
  absl::Mutex mu_;
  std::deque<Resp> out_ ABSL_GUARDED_BY(mu_);       // front is being written
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;          // read, reply not yet written
  int pending_callbacks_ ABSL_GUARDED_BY(mu_) = 0;  // commit-queue replies still to come
  int held_ ABSL_GUARDED_BY(mu_) = 0;               // requests waiting for their write token
  absl::Time held_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();  // the last one's time
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_PIPELINED_STREAM_H_
