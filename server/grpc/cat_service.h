// assay.v1.CatService over CatManager: authentication, executor and commit-queue plumbing.
#ifndef ASSAY_SERVER_GRPC_CAT_SERVICE_H_
#define ASSAY_SERVER_GRPC_CAT_SERVICE_H_

#include "assay/v1/cat.grpc.pb.h"
#include "server/grpc/rpc_util.h"

namespace assay::server {

class CatServiceImpl final : public v1::CatService::CallbackService {
 public:
  explicit CatServiceImpl(const ServerDeps& deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* StartSession(grpc::CallbackServerContext* context,
                                         const v1::StartSessionRequest* request,
                                         v1::CatSession* response) override;
  grpc::ServerUnaryReactor* NextItems(grpc::CallbackServerContext* context,
                                      const v1::NextItemsRequest* request,
                                      v1::NextItemsResponse* response) override;
  grpc::ServerUnaryReactor* SubmitOutcomes(grpc::CallbackServerContext* context,
                                           const v1::SubmitOutcomesRequest* request,
                                           v1::CatSession* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const v1::GetSessionRequest* request,
                                       v1::CatSession* response) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* context,
                                         const v1::ListSessionsRequest* request,
                                         v1::ListSessionsResponse* response) override;
  grpc::ServerUnaryReactor* ListSessionSteps(grpc::CallbackServerContext* context,
                                             const v1::ListSessionStepsRequest* request,
                                             v1::ListSessionStepsResponse* response) override;
  grpc::ServerWriteReactor<v1::CatSession>* WatchSession(
      grpc::CallbackServerContext* context, const v1::WatchSessionRequest* request) override;

 private:
  ServerDeps deps_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_CAT_SERVICE_H_
