#include "server/api/watch.h"

#include <string>

#include "server/resources/audits.h"
#include "server/resources/cat_sessions.h"
#include "server/resources/comparisons.h"
#include "server/resources/fits.h"
#include "server/resources/monitors.h"

namespace assay::server::api {
namespace {

// A source over a manager with Watch(who, id, watcher) and Unwatch(token, watcher).
template <typename Msg, typename Manager>
WatchSource<Msg> SourceOf(Manager* manager, std::string id, bool coalesce, size_t max_queued,
                          int64_t (*sequence)(const Msg&)) {
  WatchSource<Msg> source;
  source.coalesce = coalesce;
  source.max_queued = max_queued;
  source.start = [manager, id = std::move(id)](const Principal& who, Watcher<Msg>* w,
                                               std::optional<int64_t> after) {
    return manager->Watch(who, id, w, after);
  };
  source.sequence = sequence;
  source.unwatch = [manager](const std::shared_ptr<void>& token, Watcher<Msg>* w) {
    manager->Unwatch(token, w);
  };
  return source;
}

int64_t AuditSequence(const v1::AuditUpdate& u) { return u.audit().revision(); }
int64_t FitSequence(const v1::Fit& f) { return f.iteration(); }
int64_t MonitorSequence(const v1::MonitorUpdate& u) { return u.monitor().t(); }
int64_t SessionSequence(const v1::CatSession& s) { return s.steps(); }
int64_t ComparisonSequence(const v1::Comparison& c) { return c.revision(); }

}  // namespace

WatchSource<v1::AuditUpdate> WatchAudit(const ServerDeps& deps, const v1::WatchAuditRequest& req) {
  return SourceOf<v1::AuditUpdate>(deps.audits, req.audit_id(), false, 10000, &AuditSequence);
}

WatchSource<v1::Fit> WatchFit(const ServerDeps& deps, const v1::WatchFitRequest& req) {
  return SourceOf<v1::Fit>(deps.fits, req.fit_id(), true, 2, &FitSequence);
}

WatchSource<v1::MonitorUpdate> WatchMonitor(const ServerDeps& deps,
                                            const v1::WatchMonitorRequest& req) {
  return SourceOf<v1::MonitorUpdate>(deps.monitors, req.monitor_id(), false, 10000,
                                     &MonitorSequence);
}

WatchSource<v1::CatSession> WatchSession(const ServerDeps& deps,
                                         const v1::WatchSessionRequest& req) {
  return SourceOf<v1::CatSession>(deps.cat, req.session_id(), false, 1000, &SessionSequence);
}

WatchSource<v1::Comparison> WatchComparison(const ServerDeps& deps,
                                            const v1::WatchComparisonRequest& req) {
  return SourceOf<v1::Comparison>(deps.comparisons, req.comparison_id(), false, 1000,
                                  &ComparisonSequence);
}

}  // namespace assay::server::api
