#include "client/lib/watch.h"

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <limits>
#include <memory>

#include "absl/time/clock.h"
#include "assay/v1/audit.grpc.pb.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "assay/v1/compare.grpc.pb.h"
#include "assay/v1/monitor.grpc.pb.h"
#include "client/lib/call.h"
#include "core/base/status_macros.h"

namespace assay::client {
namespace {

template <typename Msg>
using Opener =
    std::function<std::unique_ptr<grpc::ClientReaderInterface<Msg>>(grpc::ClientContext*)>;

// The shared loop: open, read, deliver messages beyond the last position, reconnect on transient
// failures. `position` of a message (monotone on the server); kNoPosition delivers everything.
constexpr int64_t kNoPosition = std::numeric_limits<int64_t>::min();

template <typename Msg>
absl::Status Follow(const AssayClient& client, const char* what, const Opener<Msg>& open,
                    const std::function<int64_t(const Msg&)>& position,
                    const std::function<bool(const Msg&)>& on_update, const WatchOptions& options) {
  const absl::Time deadline = options.timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + options.timeout;
  int64_t delivered = kNoPosition;
  int failures = 0;
  for (;;) {
    // A context per stream; "no deadline" is a year.
    auto context = client.Context(std::min(deadline - absl::Now(), absl::Hours(24 * 365)));
    auto reader = open(context.get());
    Msg message;
    bool stopped = false;
    while (reader->Read(&message)) {
      failures = 0;
      const int64_t at = position(message);
      if (at != kNoPosition && delivered != kNoPosition && at <= delivered) continue;
      delivered = at;
      if (!on_update(message)) {
        context->TryCancel();
        stopped = true;
        break;
      }
    }
    const grpc::Status status = reader->Finish();
    if (stopped || status.ok()) return absl::OkStatus();
    if (!IsTransient(status) || ++failures >= client.attempts() ||
        absl::Now() + RetryBackoff(failures) >= deadline) {
      return FromGrpcStatus(status, what);
    }
    absl::SleepFor(RetryBackoff(failures));
  }
}

}  // namespace

absl::StatusOr<v1::Fit> WatchFit(const AssayClient& client, const std::string& fit_id,
                                 const std::function<bool(const v1::Fit&)>& on_update,
                                 const WatchOptions& options) {
  auto stub = v1::BenchmarkService::NewStub(client.channel());
  v1::WatchFitRequest request;
  request.set_fit_id(fit_id);
  v1::Fit last;
  RETURN_IF_ERROR(Follow<v1::Fit>(
      client, "WatchFit",
      [&](grpc::ClientContext* context) { return stub->WatchFit(context, request); },
      [](const v1::Fit&) { return kNoPosition; },
      [&](const v1::Fit& fit) {
        last = fit;
        return on_update(fit);
      },
      options));
  return last;
}

absl::Status WatchAudit(const AssayClient& client, const std::string& audit_id,
                        const std::function<bool(const v1::AuditUpdate&)>& on_update,
                        const WatchOptions& options) {
  auto stub = v1::AuditService::NewStub(client.channel());
  v1::WatchAuditRequest request;
  request.set_audit_id(audit_id);
  return Follow<v1::AuditUpdate>(
      client, "WatchAudit",
      [&](grpc::ClientContext* context) { return stub->WatchAudit(context, request); },
      [](const v1::AuditUpdate& u) { return u.audit().revision(); }, on_update, options);
}

absl::Status WatchMonitor(const AssayClient& client, const std::string& monitor_id,
                          const std::function<bool(const v1::MonitorUpdate&)>& on_update,
                          const WatchOptions& options) {
  auto stub = v1::MonitorService::NewStub(client.channel());
  v1::WatchMonitorRequest request;
  request.set_monitor_id(monitor_id);
  return Follow<v1::MonitorUpdate>(
      client, "WatchMonitor",
      [&](grpc::ClientContext* context) { return stub->WatchMonitor(context, request); },
      [](const v1::MonitorUpdate& u) { return u.monitor().t(); }, on_update, options);
}

absl::Status WatchComparison(const AssayClient& client, const std::string& comparison_id,
                             const std::function<bool(const v1::Comparison&)>& on_update,
                             const WatchOptions& options) {
  auto stub = v1::CompareService::NewStub(client.channel());
  v1::WatchComparisonRequest request;
  request.set_comparison_id(comparison_id);
  return Follow<v1::Comparison>(
      client, "WatchComparison",
      [&](grpc::ClientContext* context) { return stub->WatchComparison(context, request); },
      [](const v1::Comparison& c) { return c.revision(); }, on_update, options);
}

}  // namespace assay::client
