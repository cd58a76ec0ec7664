#include "server/services/audit_service.h"

#include <deque>
#include <memory>

#include "absl/strings/str_cat.h"
#include "server/audits.h"
#include "server/services/pipelined_stream.h"
#include "server/services/watch_stream.h"

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
