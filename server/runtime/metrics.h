// Metrics: the server's counters, histograms and gauges, rendered in the Prometheus text format
// (GET /metrics). Names follow Prometheus conventions: base units (seconds), `_total` counters,
// histograms with `_bucket`/`_sum`/`_count`. Every label has a bounded set of values: methods and
// codes are the API's, and team labels are capped at kMaxTeams (later teams share "other").
//
// Thread safety: thread safe. Recording costs a mutex and a hash lookup.
#ifndef ASSAY_SERVER_RUNTIME_METRICS_H_
#define ASSAY_SERVER_RUNTIME_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace assay::server {

class Metrics {
 public:
  static constexpr size_t kMaxTeams = 100;

  // One finished call: `transport` "grpc" or "http", `method` the RPC's name ("GetAudit").
  void RecordRequest(absl::string_view transport, absl::string_view method, absl::StatusCode code,
                     absl::Duration latency);
  // One committed write batch: how many works it held and how long its commit (with the sync to
  // disk) took.
  void RecordCommit(size_t works, absl::Duration commit);
  // An audit of `team` reached `decision` ("failure_mode_found", "certified", "inconclusive").
  void RecordAuditDecision(absl::string_view team, absl::string_view decision);
  // A monitor of `team` raised an alarm.
  void RecordMonitorAlarm(absl::string_view team);
  // A call of `team` refused for being over `limit` (server/runtime/quotas.h).
  void RecordQuotaRefusal(absl::string_view team, absl::string_view limit);
  // A write of `team` held for a token of its write rate rather than refused (quotas.h).
  void RecordWriteHeld(absl::string_view team);

  // A gauge read at scrape time: `read` returns one value per label value (one pair with an empty
  // label value for an unlabelled gauge). `read` must not block for long.
  using GaugeReader = std::function<std::vector<std::pair<std::string, double>>()>;
  void AddGauge(std::string name, std::string help, std::string label, GaugeReader read);

  // Everything, in the Prometheus text exposition format (version 0.0.4).
  std::string Render();

 private:
  struct Histogram {
    std::vector<uint64_t> counts;  // per bucket, not cumulative
    double sum = 0;
    uint64_t count = 0;
  };
  struct Gauge {
    std::string name, help, label;
    GaugeReader read;
  };
  // The team label value: the team itself while fewer than kMaxTeams are known, else "other".
  std::string TeamLabel(absl::string_view team) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void Observe(Histogram& h, const std::vector<double>& bounds, double value);

  absl::Mutex mu_;
  // (transport, method, code) -> count; (transport, method) -> latency.
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> requests_
      ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, Histogram> latency_ ABSL_GUARDED_BY(mu_);
  Histogram batch_works_ ABSL_GUARDED_BY(mu_);
  Histogram commit_seconds_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> decisions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> alarms_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> held_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> refusals_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> teams_ ABSL_GUARDED_BY(mu_);
  std::vector<Gauge> gauges_ ABSL_GUARDED_BY(mu_);
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RUNTIME_METRICS_H_
