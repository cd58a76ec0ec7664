#include "server/grpc/cat_service.h"

#include <memory>

#include "server/grpc/watch_stream.h"
#include "server/resources/cat_sessions.h"

namespace assay::server {

grpc::ServerUnaryReactor* CatServiceImpl::StartSession(grpc::CallbackServerContext* context,
                                                       const v1::StartSessionRequest* request,
                                                       v1::CatSession* response) {
  CatManager* cat = deps_.cat;
  return RunPreparedWrite(
      context, deps_, Role::kWrite,
      [cat, request](const Principal& who) { return cat->PrepareStart(who, *request); },
      [cat, request, response](WriteContext& ctx, const Principal& who,
                               const CatManager::StartPlan& plan) {
        return cat->Start(ctx, who, *request, plan, response);
      });
}

namespace {

// A step of a session: bring it into memory on the executor, then `step` as a CommitQueue work.
template <typename Request, typename Response, typename Step>
grpc::ServerUnaryReactor* RunSessionStep(grpc::CallbackServerContext* context,
                                         const ServerDeps& deps, const Request* request,
                                         Response* response, Step step) {
  CatManager* cat = deps.cat;
  return RunPreparedWrite(
      context, deps, Role::kWrite,
      [cat, request](const Principal& who) { return cat->Load(who, request->session_id()); },
      [cat, request, response, step](WriteContext& ctx, const Principal& who,
                                     const std::shared_ptr<CatManager::Live>& live) {
        return (cat->*step)(ctx, who, *request, live, response);
      });
}

}  // namespace

grpc::ServerUnaryReactor* CatServiceImpl::NextItems(grpc::CallbackServerContext* context,
                                                    const v1::NextItemsRequest* request,
                                                    v1::NextItemsResponse* response) {
  return RunSessionStep(context, deps_, request, response, &CatManager::Next);
}

grpc::ServerUnaryReactor* CatServiceImpl::SubmitOutcomes(grpc::CallbackServerContext* context,
                                                         const v1::SubmitOutcomesRequest* request,
                                                         v1::CatSession* response) {
  return RunSessionStep(context, deps_, request, response, &CatManager::Submit);
}

grpc::ServerUnaryReactor* CatServiceImpl::GetSession(grpc::CallbackServerContext* context,
                                                     const v1::GetSessionRequest* request,
                                                     v1::CatSession* response) {
  return RunRead(context, deps_, Role::kRead, [this, request, response](const Principal& who) {
    return deps_.cat->Get(who, request->session_id(), request->view(), response);
  });
}

grpc::ServerUnaryReactor* CatServiceImpl::ListSessions(grpc::CallbackServerContext* context,
                                                       const v1::ListSessionsRequest* request,
                                                       v1::ListSessionsResponse* response) {
  return RunRead(context, deps_, Role::kRead, [this, request, response](const Principal& who) {
    return deps_.cat->List(who, *request, response);
  });
}

grpc::ServerWriteReactor<v1::CatSession>* CatServiceImpl::WatchSession(
    grpc::CallbackServerContext* context, const v1::WatchSessionRequest* request) {
  // Every step in order; RESOURCE_EXHAUSTED if the client falls 1,000 steps behind.
  CatManager* cat = deps_.cat;
  return new WatchStream<v1::CatSession>(
      context, deps_, /*coalesce=*/false, /*max_queued=*/1000,
      [cat, id = request->session_id()](const Principal& who, SessionWatcher* w) {
        return cat->Watch(who, id, w);
      },
      [cat](const std::shared_ptr<void>& token, SessionWatcher* w) { cat->Unwatch(token, w); });
}

}  // namespace assay::server
