#include "server/api/watch.h"

#include <string>

#include "server/resources/audits.h"
#include "server/resources/cat_sessions.h"
#include "server/resources/fits.h"
#include "server/resources/monitors.h"

namespace assay::server::api {
namespace {

// A source over a manager with Watch(who, id, watcher) and Unwatch(token, watcher).
template <typename Msg, typename Manager>
WatchSource<Msg> SourceOf(Manager* manager, std::string id, bool coalesce, size_t max_queued) {
  WatchSource<Msg> source;
  source.coalesce = coalesce;
  source.max_queued = max_queued;
  source.start = [manager, id = std::move(id)](const Principal& who, Watcher<Msg>* w) {
    return manager->Watch(who, id, w);
  };
  source.unwatch = [manager](const std::shared_ptr<void>& token, Watcher<Msg>* w) {
    manager->Unwatch(token, w);
  };
  return source;
}

}  // namespace

WatchSource<v1::AuditUpdate> WatchAudit(const ServerDeps& deps, const v1::WatchAuditRequest& req) {
  return SourceOf<v1::AuditUpdate>(deps.audits, req.audit_id(), false, 10000);
}

WatchSource<v1::Fit> WatchFit(const ServerDeps& deps, const v1::WatchFitRequest& req) {
  return SourceOf<v1::Fit>(deps.fits, req.fit_id(), true, 2);
}

WatchSource<v1::MonitorUpdate> WatchMonitor(const ServerDeps& deps,
                                            const v1::WatchMonitorRequest& req) {
  return SourceOf<v1::MonitorUpdate>(deps.monitors, req.monitor_id(), false, 10000);
}

WatchSource<v1::CatSession> WatchSession(const ServerDeps& deps,
                                         const v1::WatchSessionRequest& req) {
  return SourceOf<v1::CatSession>(deps.cat, req.session_id(), false, 1000);
}

}  // namespace assay::server::api
