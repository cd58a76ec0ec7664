#include "server/grpc/audit_service.h"

#include <deque>
#include <memory>

#include "absl/strings/str_cat.h"
#include "server/api/unary.h"
#include "server/grpc/pipelined_stream.h"
#include "server/grpc/watch_stream.h"

namespace assay::server {
grpc::ServerUnaryReactor* AuditServiceImpl::CreateAudit(grpc::CallbackServerContext* context,
                                                        const v1::CreateAuditRequest* request,
                                                        v1::Audit* response) {
  return Serve(context, deps_, &api::CreateAudit, request, response);
}

grpc::ServerUnaryReactor* AuditServiceImpl::GetAudit(grpc::CallbackServerContext* context,
                                                     const v1::GetAuditRequest* request,
                                                     v1::Audit* response) {
  return Serve(context, deps_, &api::GetAudit, request, response);
}

grpc::ServerUnaryReactor* AuditServiceImpl::ListAuditSteps(
    grpc::CallbackServerContext* context, const v1::ListAuditStepsRequest* request,
    v1::ListAuditStepsResponse* response) {
  return Serve(context, deps_, &api::ListAuditSteps, request, response);
}

grpc::ServerUnaryReactor* AuditServiceImpl::ListAudits(grpc::CallbackServerContext* context,
                                                       const v1::ListAuditsRequest* request,
                                                       v1::ListAuditsResponse* response) {
  return Serve(context, deps_, &api::ListAudits, request, response);
}

grpc::ServerUnaryReactor* AuditServiceImpl::HandOutCases(grpc::CallbackServerContext* context,
                                                         const v1::HandOutCasesRequest* request,
                                                         v1::HandOutCasesResponse* response) {
  return Serve(context, deps_, &api::HandOutCases, request, response);
}

grpc::ServerUnaryReactor* AuditServiceImpl::SubmitLabel(grpc::CallbackServerContext* context,
                                                        const v1::SubmitLabelRequest* request,
                                                        v1::SubmitLabelResponse* response) {
  return Serve(context, deps_, &api::SubmitLabel, request, response);
}

grpc::ServerBidiReactor<v1::SubmitLabelRequest, v1::SubmitLabelResponse>*
AuditServiceImpl::StreamLabels(grpc::CallbackServerContext* context) {
  const ServerDeps* deps = &deps_;
  return new PipelinedStream<v1::SubmitLabelRequest, v1::SubmitLabelResponse>(
      context, deps_,
      [deps](WriteContext& ctx, const Principal& who, const v1::SubmitLabelRequest& req,
             v1::SubmitLabelResponse* resp) {
        return api::SubmitLabelWork(*deps, ctx, who, req, resp);
      },
      [](const v1::SubmitLabelRequest& req, v1::SubmitLabelResponse& resp) {
        resp.set_case_id(req.case_id());
      });
}

grpc::ServerBidiReactor<v1::LabelBatch, v1::LabelBatchResponse>*
AuditServiceImpl::StreamLabelBatches(grpc::CallbackServerContext* context) {
  const ServerDeps* deps = &deps_;
  return new PipelinedStream<v1::LabelBatch, v1::LabelBatchResponse>(
      context, deps_,
      [deps](WriteContext& ctx, const Principal& who, const v1::LabelBatch& batch,
             v1::LabelBatchResponse* resp) {
        return api::LabelBatchWork(*deps, ctx, who, batch, resp);
      },
      [](const v1::LabelBatch&, v1::LabelBatchResponse&) {});
}

grpc::ServerUnaryReactor* AuditServiceImpl::VoidCase(grpc::CallbackServerContext* context,
                                                     const v1::VoidCaseRequest* request,
                                                     v1::VoidCaseResponse* response) {
  return Serve(context, deps_, &api::VoidCase, request, response);
}

grpc::ServerWriteReactor<v1::AuditUpdate>* AuditServiceImpl::WatchAudit(
    grpc::CallbackServerContext* context, const v1::WatchAuditRequest* request) {
  return new WatchStream<v1::AuditUpdate>(context, deps_, api::WatchAudit(deps_, *request));
}

}  // namespace assay::server
