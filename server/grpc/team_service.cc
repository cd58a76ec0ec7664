#include "server/grpc/team_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "server/api/unary.h"

namespace assay::server {

grpc::ServerUnaryReactor* TeamServiceImpl::WhoAmI(grpc::CallbackServerContext* context,
                                                  const v1::WhoAmIRequest* request,
                                                  v1::WhoAmIResponse* response) {
  return Serve(context, deps_, &api::WhoAmI, request, response);
}

grpc::ServerUnaryReactor* TeamServiceImpl::CreateApiKey(grpc::CallbackServerContext* context,
                                                        const v1::CreateApiKeyRequest* request,
                                                        v1::CreateApiKeyResponse* response) {
  return Serve(context, deps_, &api::CreateApiKey, request, response);
}

grpc::ServerUnaryReactor* TeamServiceImpl::ListApiKeys(grpc::CallbackServerContext* context,
                                                       const v1::ListApiKeysRequest* request,
                                                       v1::ListApiKeysResponse* response) {
  return Serve(context, deps_, &api::ListApiKeys, request, response);
}

grpc::ServerUnaryReactor* TeamServiceImpl::RevokeApiKey(grpc::CallbackServerContext* context,
                                                        const v1::RevokeApiKeyRequest* request,
                                                        v1::RevokeApiKeyResponse* response) {
  return Serve(context, deps_, &api::RevokeApiKey, request, response);
}

}  // namespace assay::server
