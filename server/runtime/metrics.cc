#include "server/runtime/metrics.h"

#include <algorithm>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace assay::server {
namespace {

const std::vector<double>& LatencyBounds() {
  static const auto* b = new std::vector<double>{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,  5,    10};
  return *b;
}
const std::vector<double>& BatchBounds() {
  static const auto* b =
      new std::vector<double>{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
  return *b;
}

// A label value escaped for the text format.
std::string Escape(absl::string_view v) {
  return absl::StrReplaceAll(v, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

std::string Number(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v)) && std::abs(v) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  return absl::StrCat(v);
}

void Header(std::string& out, absl::string_view name, absl::string_view type,
            absl::string_view help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

// `labels` is `key="value",...` (may be empty).
void RenderHistogram(std::string& out, absl::string_view name, const std::string& labels,
                     const std::vector<double>& bounds, const std::vector<uint64_t>& counts,
                     double sum, uint64_t count) {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    absl::StrAppend(&out, name, "_bucket{", labels, sep, "le=\"", Number(bounds[i]), "\"} ",
                    cumulative, "\n");
  }
  absl::StrAppend(&out, name, "_bucket{", labels, sep, "le=\"+Inf\"} ", count, "\n");
  const std::string braces = labels.empty() ? "" : absl::StrCat("{", labels, "}");
  absl::StrAppend(&out, name, "_sum", braces, " ", Number(sum), "\n");
  absl::StrAppend(&out, name, "_count", braces, " ", count, "\n");
}

}  // namespace

void Metrics::Observe(Histogram& h, const std::vector<double>& bounds, double value) {
  if (h.counts.empty()) h.counts.assign(bounds.size(), 0);
  const size_t i = static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) -
                                       bounds.begin());
  if (i < bounds.size()) ++h.counts[i];
  h.sum += value;
  ++h.count;
}

void Metrics::RecordRequest(absl::string_view transport, absl::string_view method,
                            absl::StatusCode code, absl::Duration latency) {
  absl::MutexLock lock(&mu_);
  ++requests_[{std::string(transport), std::string(method), absl::StatusCodeToString(code)}];
  Observe(latency_[{std::string(transport), std::string(method)}], LatencyBounds(),
          absl::ToDoubleSeconds(latency));
}

void Metrics::RecordCommit(size_t works, absl::Duration commit) {
  absl::MutexLock lock(&mu_);
  Observe(batch_works_, BatchBounds(), static_cast<double>(works));
  Observe(commit_seconds_, LatencyBounds(), absl::ToDoubleSeconds(commit));
}

std::string Metrics::TeamLabel(absl::string_view team) {
  if (teams_.contains(team)) return std::string(team);
  if (teams_.size() >= kMaxTeams) return "other";
  teams_.insert(std::string(team));
  return std::string(team);
}

void Metrics::RecordAuditDecision(absl::string_view team, absl::string_view decision) {
  absl::MutexLock lock(&mu_);
  ++decisions_[{TeamLabel(team), std::string(decision)}];
}

void Metrics::RecordQuotaRefusal(absl::string_view team, absl::string_view limit) {
  absl::MutexLock lock(&mu_);
  ++refusals_[{TeamLabel(team), std::string(limit)}];
}

void Metrics::RecordWriteHeld(absl::string_view team) {
  absl::MutexLock lock(&mu_);
  ++held_[TeamLabel(team)];
}

void Metrics::RecordMonitorAlarm(absl::string_view team) {
  absl::MutexLock lock(&mu_);
  ++alarms_[TeamLabel(team)];
}

void Metrics::AddGauge(std::string name, std::string help, std::string label, GaugeReader read) {
  absl::MutexLock lock(&mu_);
  gauges_.push_back(Gauge{std::move(name), std::move(help), std::move(label), std::move(read)});
}

std::string Metrics::Render() {
  std::vector<Gauge> gauges;
  std::string out;
  {
    absl::MutexLock lock(&mu_);
    gauges = gauges_;
    Header(out, "assay_requests_total", "counter",
           "Calls finished, by transport (grpc, http), method and status code.");
    for (const auto& [key, n] : requests_) {
      const auto& [transport, method, code] = key;
      absl::StrAppend(&out, "assay_requests_total{transport=\"", transport, "\",method=\"",
                      Escape(method), "\",code=\"", code, "\"} ", n, "\n");
    }
    Header(out, "assay_request_duration_seconds", "histogram",
           "Time from a call's arrival to its reply, by transport and method.");
    for (const auto& [key, h] : latency_) {
      RenderHistogram(out, "assay_request_duration_seconds",
                      absl::StrCat("transport=\"", key.first, "\",method=\"", Escape(key.second),
                                   "\""),
                      LatencyBounds(), h.counts, h.sum, h.count);
    }
    Header(out, "assay_commit_batch_writes", "histogram",
           "Writes (calls) committed together in one database transaction.");
    RenderHistogram(out, "assay_commit_batch_writes", "", BatchBounds(), batch_works_.counts,
                    batch_works_.sum, batch_works_.count);
    Header(out, "assay_commit_duration_seconds", "histogram",
           "Time of one write batch's transaction: its works, the commit and the sync to disk.");
    RenderHistogram(out, "assay_commit_duration_seconds", "", LatencyBounds(),
                    commit_seconds_.counts, commit_seconds_.sum, commit_seconds_.count);
    Header(out, "assay_audit_decisions_total", "counter",
           "Audits that reached a decision since the server started, by team and decision.");
    for (const auto& [key, n] : decisions_) {
      absl::StrAppend(&out, "assay_audit_decisions_total{team=\"", Escape(key.first),
                      "\",decision=\"", key.second, "\"} ", n, "\n");
    }
    Header(out, "assay_monitor_alarms_total", "counter",
           "Monitor alarms raised since the server started, by team.");
    for (const auto& [team, n] : alarms_) {
      absl::StrAppend(&out, "assay_monitor_alarms_total{team=\"", Escape(team), "\"} ", n, "\n");
    }
    Header(out, "assay_quota_refusals_total", "counter",
           "Calls refused for being over a team's limit since the server started, by team and "
           "limit.");
    for (const auto& [key, n] : refusals_) {
      absl::StrAppend(&out, "assay_quota_refusals_total{team=\"", Escape(key.first),
                      "\",limit=\"", key.second, "\"} ", n, "\n");
    }
    Header(out, "assay_write_holds_total", "counter",
           "Writes over a team's write rate held for their token (rather than refused) since the "
           "server started, by team.");
    for (const auto& [team, n] : held_) {
      absl::StrAppend(&out, "assay_write_holds_total{team=\"", Escape(team), "\"} ", n, "\n");
    }
  }
  for (const Gauge& g : gauges) {  // read outside the lock: readers take locks of their own
    Header(out, g.name, "gauge", g.help);
    for (const auto& [label, value] : g.read()) {
      if (g.label.empty()) {
        absl::StrAppend(&out, g.name, " ", Number(value), "\n");
      } else {
        absl::StrAppend(&out, g.name, "{", g.label, "=\"", Escape(label), "\"} ", Number(value),
                        "\n");
      }
    }
  }
  return out;
}

}  // namespace assay::server
