#include "server/grpc/system_service.h"

#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "core/base/version.h"
#include "server/api/unary.h"
#include "server/grpc/rpc_util.h"

namespace assay::server {

grpc::ServerUnaryReactor* SystemServiceImpl::GetServerInfo(
    grpc::CallbackServerContext* context, const assay::v1::GetServerInfoRequest* request,
    assay::v1::GetServerInfoResponse* response) {
  return Serve(context, deps_, &api::GetServerInfo, request, response);
}

}  // namespace assay::server
