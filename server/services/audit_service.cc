#include "server/services/audit_service.h"

#include <deque>
#include <memory>

#include "absl/strings/str_cat.h"
#include "server/audits.h"
#include "server/services/watch_stream.h"

namespace assay::server {
namespace {

// StreamLabels: reads labels as they come, submits each to the commit queue at once (pipelining:
// up to kWindow labels in flight per stream), and writes one reply per label in request order, each
// after its label is durable. Deleted when gRPC is done with it and no commit callback is pending.
class LabelStream final
    : public grpc::ServerBidiReactor<v1::SubmitLabelRequest, v1::SubmitLabelResponse> {
 public:
  static constexpr int kWindow = 256;

  LabelStream(grpc::CallbackServerContext* context, const ServerDeps& deps) : deps_(deps) {
    // Authentication reads the database only on a key-cache miss (once per key per TTL).
    absl::StatusOr<Principal> who = deps_.auth->Authenticate(*context, Role::kWrite);
    if (!who.ok()) {
      finished_ = true;
      Finish(ToGrpcStatus(who.status()));
      return;
    }
    who_ = *std::move(who);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // client half-closed (or the call ended)
      absl::MutexLock lock(&mu_);
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    auto request = std::make_shared<v1::SubmitLabelRequest>(std::move(request_));
    auto response = std::make_shared<v1::SubmitLabelResponse>();
    bool read_more;
    {
      absl::MutexLock lock(&mu_);
      ++in_flight_;
      ++pending_callbacks_;
      read_more = in_flight_ < kWindow;
      read_paused_ = !read_more;
    }
    const absl::Status queued = deps_.commits->Submit(
        [this, request, response](WriteContext& ctx) {
          return deps_.audits->Label(ctx, who_, *request, response.get());
        },
        [this, request, response](absl::Status status) {
          Reply(*request, std::move(*response), status);
        });
    if (!queued.ok()) Reply(*request, v1::SubmitLabelResponse(), queued);
    if (read_more) StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    const v1::SubmitLabelResponse* next = nullptr;
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
      StartWrite(next, more ? grpc::WriteOptions().set_buffer_hint() : grpc::WriteOptions());
    if (read_more) StartRead(&request_);
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
  void Reply(const v1::SubmitLabelRequest& request, v1::SubmitLabelResponse response,
             const absl::Status& status) {
    if (!status.ok()) {
      const grpc::Status error = ToGrpcStatus(status);
      response.Clear();
      response.set_case_id(request.case_id());
      response.set_error_code(static_cast<int>(error.error_code()));
      response.set_error_message(error.error_message());
    }
    const v1::SubmitLabelResponse* next = nullptr;
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
    if (next != nullptr) StartWrite(next);
  }

  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reads_done_ && in_flight_ == 0) FinishLocked(grpc::Status::OK);
  }
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  const ServerDeps deps_;
  Principal who_;
  v1::SubmitLabelRequest request_;  // the read in progress
  absl::Mutex mu_;
  std::deque<v1::SubmitLabelResponse> out_ ABSL_GUARDED_BY(mu_);  // front is being written
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;                        // read, reply not yet written
  int pending_callbacks_ ABSL_GUARDED_BY(mu_) = 0;  // commit-queue replies still to come
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::ServerUnaryReactor* AuditServiceImpl::CreateAudit(grpc::CallbackServerContext* context,
                                                        const v1::CreateAuditRequest* request,
                                                        v1::Audit* response) {
  return RunWrite(context, deps_, Role::kWrite,
                  [this, request, response](WriteContext& ctx, const Principal& who) {
                    return deps_.audits->Create(ctx, who, *request, response);
                  });
}

grpc::ServerUnaryReactor* AuditServiceImpl::GetAudit(grpc::CallbackServerContext* context,
                                                     const v1::GetAuditRequest* request,
                                                     v1::Audit* response) {
  return RunRead(context, deps_, Role::kRead, [this, request, response](const Principal& who) {
    return deps_.audits->Get(who, request->audit_id(), response);
  });
}

grpc::ServerUnaryReactor* AuditServiceImpl::ListAudits(grpc::CallbackServerContext* context,
                                                       const v1::ListAuditsRequest* request,
                                                       v1::ListAuditsResponse* response) {
  return RunRead(context, deps_, Role::kRead, [this, request, response](const Principal& who) {
    return deps_.audits->List(who, *request, response);
  });
}

grpc::ServerUnaryReactor* AuditServiceImpl::HandOutCases(grpc::CallbackServerContext* context,
                                                         const v1::HandOutCasesRequest* request,
                                                         v1::HandOutCasesResponse* response) {
  return RunWrite(context, deps_, Role::kWrite,
                  [this, request, response](WriteContext& ctx, const Principal& who) {
                    return deps_.audits->HandOut(ctx, who, *request, response);
                  });
}

grpc::ServerUnaryReactor* AuditServiceImpl::SubmitLabel(grpc::CallbackServerContext* context,
                                                        const v1::SubmitLabelRequest* request,
                                                        v1::SubmitLabelResponse* response) {
  return RunWrite(context, deps_, Role::kWrite,
                  [this, request, response](WriteContext& ctx, const Principal& who) {
                    return deps_.audits->Label(ctx, who, *request, response);
                  });
}

grpc::ServerBidiReactor<v1::SubmitLabelRequest, v1::SubmitLabelResponse>*
AuditServiceImpl::StreamLabels(grpc::CallbackServerContext* context) {
  return new LabelStream(context, deps_);
}

grpc::ServerUnaryReactor* AuditServiceImpl::VoidCase(grpc::CallbackServerContext* context,
                                                     const v1::VoidCaseRequest* request,
                                                     v1::VoidCaseResponse* response) {
  return RunWrite(context, deps_, Role::kWrite,
                  [this, request, response](WriteContext& ctx, const Principal& who) {
                    return deps_.audits->Void(ctx, who, *request, response);
                  });
}

grpc::ServerWriteReactor<v1::AuditUpdate>* AuditServiceImpl::WatchAudit(
    grpc::CallbackServerContext* context, const v1::WatchAuditRequest* request) {
  // Every update in order; RESOURCE_EXHAUSTED if the client falls 10,000 updates behind.
  AuditManager* audits = deps_.audits;
  return new WatchStream<v1::AuditUpdate>(
      context, deps_, /*coalesce=*/false, /*max_queued=*/10000,
      [audits, audit_id = request->audit_id()](const Principal& who, AuditWatcher* w) {
        return audits->Watch(who, audit_id, w);
      },
      [audits](const std::shared_ptr<void>& token, AuditWatcher* w) { audits->Unwatch(token, w); });
}

}  // namespace assay::server
