// Every watch call of the API, written once as a source of updates that an adapter streams: gRPC
// server streams (server/grpc/watch_stream.h) and Server-Sent Events (server/http/).
#ifndef ASSAY_SERVER_API_WATCH_H_
#define ASSAY_SERVER_API_WATCH_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "assay/v1/audit.pb.h"
#include "assay/v1/benchmarks.pb.h"
#include "assay/v1/cat.pb.h"
#include "assay/v1/compare.pb.h"
#include "assay/v1/monitor.pb.h"
#include "server/api/call.h"
#include "server/resources/watcher.h"

namespace assay::server::api {

template <typename Msg>
struct WatchSource {
  // Delivery policy. With `coalesce`, a message that arrives while another is being written
  // replaces any still waiting (a progress stream: the latest state, never a backlog); without it
  // every message is delivered, and a client more than `max_queued` behind is cut off with
  // RESOURCE_EXHAUSTED.
  bool coalesce = false;
  size_t max_queued = 10000;
  // Registers the watcher for the authenticated caller (on the executor: it may read the
  // database) and pushes the current state to it at once, or, with `after` (the sequence number of
  // the last message a resuming watcher saw), the messages that followed it when the server still
  // holds them (else the current state). Returns the token for `unwatch`. Errors are the Get
  // call's (NOT_FOUND for another team's id).
  std::function<absl::StatusOr<std::shared_ptr<void>>(const Principal&, Watcher<Msg>*,
                                                      std::optional<int64_t> after)>
      start;
  // A message's sequence number (an audit's revision, a monitor's t, a session's steps, a fit's
  // iteration): what a resuming watcher passes back as `after`.
  std::function<int64_t(const Msg&)> sequence;
  // After it returns the watcher is never called again.
  std::function<void(const std::shared_ptr<void>&, Watcher<Msg>*)> unwatch;
};

// Every label step in order (10,000 queued at most).
WatchSource<v1::AuditUpdate> WatchAudit(const ServerDeps& deps, const v1::WatchAuditRequest& req);
// The fit's progress, coalesced.
WatchSource<v1::Fit> WatchFit(const ServerDeps& deps, const v1::WatchFitRequest& req);
// Every batch of scores in order (10,000 queued at most).
WatchSource<v1::MonitorUpdate> WatchMonitor(const ServerDeps& deps,
                                            const v1::WatchMonitorRequest& req);
// Every committed step in order (1,000 queued at most).
WatchSource<v1::Comparison> WatchComparison(const ServerDeps& deps,
                                            const v1::WatchComparisonRequest& req);
WatchSource<v1::CatSession> WatchSession(const ServerDeps& deps,
                                         const v1::WatchSessionRequest& req);

}  // namespace assay::server::api

#endif  // ASSAY_SERVER_API_WATCH_H_
