#include "server/grpc/cat_service.h"

#include <memory>

#include "server/api/unary.h"
#include "server/grpc/watch_stream.h"

namespace assay::server {

grpc::ServerUnaryReactor* CatServiceImpl::StartSession(grpc::CallbackServerContext* context,
                                                       const v1::StartSessionRequest* request,
                                                       v1::CatSession* response) {
  return Serve(context, deps_, &api::StartSession, request, response);
}

grpc::ServerUnaryReactor* CatServiceImpl::NextItems(grpc::CallbackServerContext* context,
                                                    const v1::NextItemsRequest* request,
                                                    v1::NextItemsResponse* response) {
  return Serve(context, deps_, &api::NextItems, request, response);
}

grpc::ServerUnaryReactor* CatServiceImpl::SubmitOutcomes(grpc::CallbackServerContext* context,
                                                         const v1::SubmitOutcomesRequest* request,
                                                         v1::CatSession* response) {
  return Serve(context, deps_, &api::SubmitOutcomes, request, response);
}

grpc::ServerUnaryReactor* CatServiceImpl::GetSession(grpc::CallbackServerContext* context,
                                                     const v1::GetSessionRequest* request,
                                                     v1::CatSession* response) {
  return Serve(context, deps_, &api::GetSession, request, response);
}

grpc::ServerUnaryReactor* CatServiceImpl::ListSessions(grpc::CallbackServerContext* context,
                                                       const v1::ListSessionsRequest* request,
                                                       v1::ListSessionsResponse* response) {
  return Serve(context, deps_, &api::ListSessions, request, response);
}

grpc::ServerUnaryReactor* CatServiceImpl::ListSessionSteps(
    grpc::CallbackServerContext* context, const v1::ListSessionStepsRequest* request,
    v1::ListSessionStepsResponse* response) {
  return Serve(context, deps_, &api::ListSessionSteps, request, response);
}

grpc::ServerWriteReactor<v1::CatSession>* CatServiceImpl::WatchSession(
    grpc::CallbackServerContext* context, const v1::WatchSessionRequest* request) {
  return new WatchStream<v1::CatSession>(context, deps_, api::WatchSession(deps_, *request));
}

}  // namespace assay::server
