// assay.v1.TeamService: who am I, and the team's API keys (admin).
#ifndef ASSAY_SERVER_GRPC_TEAM_SERVICE_H_
#define ASSAY_SERVER_GRPC_TEAM_SERVICE_H_

#include "assay/v1/teams.grpc.pb.h"
#include "server/grpc/rpc_util.h"

namespace assay::server {

class TeamServiceImpl final : public v1::TeamService::CallbackService {
 public:
  explicit TeamServiceImpl(const ServerDeps& deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* context,
                                   const v1::WhoAmIRequest* request,
                                   v1::WhoAmIResponse* response) override;
  grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* context,
                                         const v1::CreateApiKeyRequest* request,
                                         v1::CreateApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* context,
                                        const v1::ListApiKeysRequest* request,
                                        v1::ListApiKeysResponse* response) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* context,
                                         const v1::RevokeApiKeyRequest* request,
                                         v1::RevokeApiKeyResponse* response) override;

 private:
  ServerDeps deps_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_TEAM_SERVICE_H_
