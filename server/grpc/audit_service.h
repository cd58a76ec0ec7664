// assay.v1.AuditService over AuditManager: authentication, executor/commit-queue plumbing, and the
// two streaming calls (StreamLabels, WatchAudit).
#ifndef ASSAY_SERVER_GRPC_AUDIT_SERVICE_H_
#define ASSAY_SERVER_GRPC_AUDIT_SERVICE_H_

#include "assay/v1/audit.grpc.pb.h"
#include "server/grpc/rpc_util.h"

namespace assay::server {

class AuditServiceImpl final : public v1::AuditService::CallbackService {
 public:
  explicit AuditServiceImpl(const ServerDeps& deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* CreateAudit(grpc::CallbackServerContext* context,
                                        const v1::CreateAuditRequest* request,
                                        v1::Audit* response) override;
  grpc::ServerUnaryReactor* GetAudit(grpc::CallbackServerContext* context,
                                     const v1::GetAuditRequest* request,
                                     v1::Audit* response) override;
  grpc::ServerUnaryReactor* ListAudits(grpc::CallbackServerContext* context,
                                       const v1::ListAuditsRequest* request,
                                       v1::ListAuditsResponse* response) override;
  grpc::ServerUnaryReactor* ListAuditSteps(grpc::CallbackServerContext* context,
                                           const v1::ListAuditStepsRequest* request,
                                           v1::ListAuditStepsResponse* response) override;
  grpc::ServerUnaryReactor* HandOutCases(grpc::CallbackServerContext* context,
                                         const v1::HandOutCasesRequest* request,
                                         v1::HandOutCasesResponse* response) override;
  grpc::ServerUnaryReactor* SubmitLabel(grpc::CallbackServerContext* context,
                                        const v1::SubmitLabelRequest* request,
                                        v1::SubmitLabelResponse* response) override;
  grpc::ServerBidiReactor<v1::SubmitLabelRequest, v1::SubmitLabelResponse>* StreamLabels(
      grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<v1::LabelBatch, v1::LabelBatchResponse>* StreamLabelBatches(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* VoidCase(grpc::CallbackServerContext* context,
                                     const v1::VoidCaseRequest* request,
                                     v1::VoidCaseResponse* response) override;
  grpc::ServerWriteReactor<v1::AuditUpdate>* WatchAudit(
      grpc::CallbackServerContext* context, const v1::WatchAuditRequest* request) override;

 private:
  ServerDeps deps_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_AUDIT_SERVICE_H_
