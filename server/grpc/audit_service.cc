#include "server/grpc/audit_service.h"

#include <deque>
#include <memory>

#include "absl/strings/str_cat.h"
#include "server/resources/audits.h"
#include "server/grpc/pipelined_stream.h"
#include "server/grpc/watch_stream.h"

namespace assay::server {
namespace {}  // namespace

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
  AuditManager* audits = deps_.audits;
  return new PipelinedStream<v1::SubmitLabelRequest, v1::SubmitLabelResponse>(
      context, deps_,
      [audits](WriteContext& ctx, const Principal& who, const v1::SubmitLabelRequest& req,
               v1::SubmitLabelResponse* resp) { return audits->Label(ctx, who, req, resp); },
      [](const v1::SubmitLabelRequest& req, v1::SubmitLabelResponse& resp) {
        resp.set_case_id(req.case_id());
      });
}

grpc::ServerBidiReactor<v1::LabelBatch, v1::LabelBatchResponse>*
AuditServiceImpl::StreamLabelBatches(grpc::CallbackServerContext* context) {
  AuditManager* audits = deps_.audits;
  return new PipelinedStream<v1::LabelBatch, v1::LabelBatchResponse>(
      context, deps_,
      [audits](WriteContext& ctx, const Principal& who, const v1::LabelBatch& batch,
               v1::LabelBatchResponse* resp) -> absl::Status {
        if (batch.labels().empty() || batch.labels_size() > 1000) {
          return absl::InvalidArgumentError(
              absl::StrCat("labels: 1 to 1000 per batch, got ", batch.labels_size()));
        }
        for (const v1::SubmitLabelRequest& label : batch.labels()) {
          v1::SubmitLabelResponse* result = resp->add_results();
          // A label rejected by its checks has changed nothing and fails alone; one that failed
          // after a change (the database failing) fails the whole batch, which is then undone.
          bool failed_after_change = false;
          const absl::Status status = ctx.RunChecked(
              [&](WriteContext& nested) { return audits->Label(nested, who, label, result); },
              &failed_after_change);
          if (failed_after_change) return status;
          if (!status.ok()) {
            const grpc::Status error = ToGrpcStatus(status);
            result->Clear();
            result->set_case_id(label.case_id());
            result->set_error_code(static_cast<int>(error.error_code()));
            result->set_error_message(error.error_message());
          }
        }
        return absl::OkStatus();
      },
      [](const v1::LabelBatch&, v1::LabelBatchResponse&) {});
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
