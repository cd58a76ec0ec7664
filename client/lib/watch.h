// Following the server's watch streams (WatchFit, WatchAudit, WatchMonitor) with the client's
// conventions: the token on every stream, and reconnection after a transient failure (the server
// restarting, a dropped connection; call.h's IsTransient) with call.h's backoff, giving up after
// ClientOptions.attempts failures in a row (a stream that delivered a message resets the count).
//
// Every watch opens with the resource's current state, so a reconnected watcher resumes at the
// latest state: changes made while it was disconnected arrive folded into that state (an audit's
// counts and statistics, a monitor's alarm count), but their per-change details (an AuditUpdate's
// steps, a MonitorUpdate's alarm_ts) are not replayed. Messages not beyond the last delivered
// position (an audit's revision, a monitor's t) are dropped, so `on_update` never sees a state
// twice or going backwards.
//
// `on_update` returns false to stop watching (the stream is cancelled; the result is OK). A watch
// ends OK when the server ends the stream (a finished fit, a decided audit). Errors carry the
// server's status, message prefixed by the call's name.
#ifndef ASSAY_CLIENT_LIB_WATCH_H_
#define ASSAY_CLIENT_LIB_WATCH_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "assay/v1/audit.pb.h"
#include "assay/v1/benchmarks.pb.h"
#include "assay/v1/compare.pb.h"
#include "assay/v1/monitor.pb.h"
#include "client/lib/client.h"

namespace assay::client {

struct WatchOptions {
  // Deadline of the whole watch, reconnections included (InfiniteDuration: none).
  absl::Duration timeout = absl::InfiniteDuration();
};

// Follows a fit until it finishes; returns its last state (the final one unless stopped early).
absl::StatusOr<v1::Fit> WatchFit(const AssayClient& client, const std::string& fit_id,
                                 const std::function<bool(const v1::Fit&)>& on_update,
                                 const WatchOptions& options = {});

// Follows an audit until it is decided (or `on_update` returns false).
absl::Status WatchAudit(const AssayClient& client, const std::string& audit_id,
                        const std::function<bool(const v1::AuditUpdate&)>& on_update,
                        const WatchOptions& options = {});

// Follows a monitor until `on_update` returns false (monitors never end by themselves).
absl::Status WatchMonitor(const AssayClient& client, const std::string& monitor_id,
                          const std::function<bool(const v1::MonitorUpdate&)>& on_update,
                          const WatchOptions& options = {});

// Follows a comparison until it finishes (or `on_update` returns false).
absl::Status WatchComparison(const AssayClient& client, const std::string& comparison_id,
                             const std::function<bool(const v1::Comparison&)>& on_update,
                             const WatchOptions& options = {});

}  // namespace assay::client

#endif  // ASSAY_CLIENT_LIB_WATCH_H_
