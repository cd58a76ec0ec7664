#include "server/resources/monitors.h"

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/bytes.h"
#include "core/base/status_macros.h"
#include "server/resources/paging.h"
#include "server/resources/request_ids.h"

namespace assay::server {

struct MonitorManager::Live : LiveResource<v1::Monitor, v1::MonitorUpdate> {
  static v1::MonitorUpdate CurrentUpdate(const v1::Monitor& monitor) {
    v1::MonitorUpdate now;
    *now.mutable_monitor() = monitor;
    return now;
  }
  static bool IsFinal(const v1::Monitor&) { return false; }  // a monitor runs until deleted

  storage::MonitorRecord record;
  v1::MonitorConfig config;
  std::optional<audit::Monitor> monitor;  // committer thread (and loading) only
  double sum_since_alarm = 0;             // for recent_accuracy
  int64_t count_since_alarm = 0;
  int64_t snapshot_t = 0;  // scores covered by the stored snapshot
};

namespace {

constexpr int kMaxScoresPerRequest = 10000;
// A snapshot every this many scores bounds a reload's replay (a monitor update costs ~0.1 µs, the
// row read more).
constexpr int64_t kSnapshotEvery = 10000;

// The proto config with defaults filled in, and its core form.
absl::StatusOr<audit::MonitorConfig> ConfigFromProto(v1::MonitorConfig& c) {
  audit::MonitorConfig core;
  if (c.tau() == 0) c.set_tau(core.tau);
  if (c.alpha() == 0) c.set_alpha(core.alpha);
  if (c.alternatives().empty()) {
    for (double a : core.alternatives) {
      if (a < c.tau()) c.add_alternatives(a);
    }
  }
  core.tau = c.tau();
  core.alpha = c.alpha();
  core.alternatives.assign(c.alternatives().begin(), c.alternatives().end());
  core.cusum = c.cusum();
  if (absl::Status valid = core.Validate(); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("config.", valid.message()));
  }
  return core;
}

// A monitor's snapshot: the core monitor's exact state plus the server's recent-accuracy tally.
std::string EncodeSnapshot(const MonitorManager::Live& live) {
  ByteWriter w;
  w.Header("MONS", 1);
  w.Str(live.monitor->Serialize());
  w.F64(live.sum_since_alarm);
  w.I64(live.count_since_alarm);
  return w.Take();
}

absl::Status DecodeSnapshot(absl::string_view bytes, MonitorManager::Live& live) {
  ByteReader r(bytes);
  std::string core;
  if (!r.Header("MONS", 1) || !r.Str(core) || !r.F64(live.sum_since_alarm) ||
      !r.I64(live.count_since_alarm) || !r.done()) {
    return absl::DataLossError("snapshot is malformed");
  }
  ASSIGN_OR_RETURN(audit::Monitor monitor, audit::Monitor::Deserialize(core));
  live.monitor.emplace(std::move(monitor));
  return absl::OkStatus();
}

// Applies one score to `live` (committer thread); true on an alarm.
absl::StatusOr<bool> Apply(MonitorManager::Live& live, double y) {
  ASSIGN_OR_RETURN(bool alarm, live.monitor->Update(y));
  if (alarm) {
    live.sum_since_alarm = 0;
    live.count_since_alarm = 0;
  } else {
    live.sum_since_alarm += y;
    ++live.count_since_alarm;
  }
  return alarm;
}

v1::Monitor ToProto(const MonitorManager::Live& live) {
  v1::Monitor out;
  out.set_id(live.record.public_id);
  out.set_display_name(live.record.display_name);
  *out.mutable_config() = live.config;
  out.set_created_at(live.record.created_at);
  out.set_t(live.monitor->t());
  out.set_alarms(live.monitor->alarms());
  out.set_last_alarm_t(live.monitor->last_alarm());
  out.set_e_value(live.monitor->e_value());
  out.set_recent_accuracy(live.count_since_alarm == 0
                              ? std::numeric_limits<double>::quiet_NaN()
                              : live.sum_since_alarm / static_cast<double>(live.count_since_alarm));
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<MonitorManager::Live>> MonitorManager::Find(storage::Reader& source,
                                                                           const Principal& who,
                                                                           const std::string& id) {
  return live_.Find(who, id, [&] { return Replay(source, who, id); });
}

absl::StatusOr<std::shared_ptr<MonitorManager::Live>> MonitorManager::Replay(
    storage::Reader& source, const Principal& who, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<storage::MonitorRecord> record,
                   source.FindMonitor(who.team_id, id));
  if (!record.has_value()) return live_.NotFound(id);
  auto live = std::make_shared<Live>();
  live->record = *std::move(record);
  if (!live->config.ParseFromString(live->record.config)) {
    return absl::DataLossError(absl::StrCat("monitor ", id, ": stored config is corrupt"));
  }
  if (live->record.snapshot.empty()) {
    v1::MonitorConfig config = live->config;
    ASSIGN_OR_RETURN(audit::MonitorConfig core, ConfigFromProto(config));
    ASSIGN_OR_RETURN(audit::Monitor monitor, audit::Monitor::Create(core));
    live->monitor.emplace(std::move(monitor));
  } else if (absl::Status decoded = DecodeSnapshot(live->record.snapshot, *live); !decoded.ok()) {
    return absl::DataLossError(absl::StrCat("monitor ", id, ": ", decoded.message()));
  }
  live->snapshot_t = live->record.snapshot_t;
  live->record.snapshot.clear();  // only needed to load
  ASSIGN_OR_RETURN(std::vector<double> scores,
                   source.MonitorScores(live->record.id, live->snapshot_t + 1,
                                        std::numeric_limits<int64_t>::max()));
  for (double y : scores) RETURN_IF_ERROR(Apply(*live, y).status());
  live->published.Set(ToProto(*live), live->monitor->t());
  return live;
}

absl::Status MonitorManager::Create(WriteContext& ctx, const Principal& who,
                                    const v1::CreateMonitorRequest& req, v1::Monitor* out) {
  if (req.display_name().size() > 200) {
    return absl::InvalidArgumentError("display_name: at most 200 characters");
  }
  v1::MonitorConfig config = req.config();
  ASSIGN_OR_RETURN(audit::MonitorConfig core, ConfigFromProto(config));
  return WithRequestId(ctx.txn(), who.team_id, "CreateMonitor", req, out, [&]() -> absl::Status {
    RETURN_IF_ERROR(Admit(quotas_, ctx.txn(), who, Limit::kMonitors));
    auto live = std::make_shared<Live>();
    live->record.public_id = absl::StrCat("mon_", RandomHex(8));
    live->record.team_id = who.team_id;
    live->record.display_name = req.display_name();
    live->record.config = config.SerializeAsString();
    live->record.created_at = absl::ToUnixSeconds(absl::Now());
    live->config = config;
    ASSIGN_OR_RETURN(audit::Monitor monitor, audit::Monitor::Create(core));
    live->monitor.emplace(std::move(monitor));
    RETURN_IF_ERROR(ctx.txn().InsertMonitor(live->record));
    *out = ToProto(*live);
    live->published.Set(*out, 0);
    live_.HoldOnCommit(ctx, live);
    return absl::OkStatus();
  });
}

absl::Status MonitorManager::Submit(WriteContext& ctx, const Principal& who,
                                    const v1::SubmitScoresRequest& req,
                                    v1::SubmitScoresResponse* out) {
  if (req.scores().empty() || req.scores_size() > kMaxScoresPerRequest) {
    return absl::InvalidArgumentError(absl::StrCat("scores: 1 to ", kMaxScoresPerRequest,
                                                   " per request, got ", req.scores_size()));
  }
  for (int k = 0; k < req.scores_size(); ++k) {
    if (!(req.scores(k) >= 0 && req.scores(k) <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("scores[", k, "]: must be in [0, 1], got ", req.scores(k)));
    }
  }
  if (req.first_t() < 0) return absl::InvalidArgumentError("first_t: must be >= 0");
  ASSIGN_OR_RETURN(std::shared_ptr<Live> live, Find(ctx.txn(), who, req.monitor_id()));
  RETURN_IF_ERROR(live_.CheckCurrent(*live));
  const int64_t t = live->monitor->t();
  // With first_t: the part already recorded must match; what follows is new.
  int64_t skip = 0;
  if (req.first_t() > 0) {
    if (req.first_t() > t + 1) {
      return absl::FailedPreconditionError(absl::StrCat("first_t: ", req.first_t(),
                                                        " leaves a gap: the monitor has ", t,
                                                        " scores, so the next is t = ", t + 1));
    }
    skip = std::min<int64_t>(t - req.first_t() + 1, req.scores_size());
    if (skip > 0) {
      ASSIGN_OR_RETURN(
          std::vector<double> stored,
          ctx.txn().MonitorScores(live->record.id, req.first_t(), req.first_t() + skip - 1));
      for (int64_t k = 0; k < skip; ++k) {
        if (stored[static_cast<size_t>(k)] != req.scores(static_cast<int>(k))) {
          return absl::AlreadyExistsError(absl::StrCat(
              "scores[", k, "]: t = ", req.first_t() + k, " is recorded as ",
              stored[static_cast<size_t>(k)], ", not ", req.scores(static_cast<int>(k))));
        }
      }
    }
  }
  return WithRequestId(ctx.txn(), who.team_id, "SubmitScores", req, out, [&]() -> absl::Status {
    out->set_duplicates(skip);
    v1::MonitorUpdate update;
    if (skip < req.scores_size()) {
      live_.DropOnRollback(ctx, live);
      for (int k = static_cast<int>(skip); k < req.scores_size(); ++k) {
        const double y = req.scores(k);
        RETURN_IF_ERROR(ctx.txn().AppendScore(live->record.id, live->monitor->t() + 1, y));
        ASSIGN_OR_RETURN(bool alarm, Apply(*live, y));
        if (alarm) out->add_alarm_ts(live->monitor->t());
      }
      if (live->monitor->t() - live->snapshot_t >= kSnapshotEvery) {
        RETURN_IF_ERROR(ctx.txn().PutMonitorSnapshot(live->record.id, live->monitor->t(),
                                                     EncodeSnapshot(*live)));
        live->snapshot_t = live->monitor->t();
      }
    }
    *out->mutable_monitor() = ToProto(*live);
    *update.mutable_monitor() = out->monitor();
    *update.mutable_alarm_ts() = out->alarm_ts();
    if (skip < req.scores_size()) {
      if (metrics_ != nullptr && update.alarm_ts_size() > 0) {
        ctx.OnCommit([metrics = metrics_, team = who.team, alarms = update.alarm_ts_size()] {
          for (int k = 0; k < alarms; ++k) metrics->RecordMonitorAlarm(team);
        });
      }
      ctx.OnCommit([live, update] {
        live->published.Publish(update.monitor(), update, false, update.monitor().t());
      });
    }
    return absl::OkStatus();
  });
}

absl::Status MonitorManager::Get(const Principal& who, const std::string& monitor_id,
                                 v1::Monitor* out) {
  ASSIGN_OR_RETURN(std::shared_ptr<Live> live, Find(*storage_->Reads(), who, monitor_id));
  *out = live->published.Get();
  return absl::OkStatus();
}

absl::Status MonitorManager::List(const Principal& who, const v1::ListMonitorsRequest& req,
                                  v1::ListMonitorsResponse* out) {
  ASSIGN_OR_RETURN(std::string next, ListNewestFirst(
                                         req.page_size(), req.page_token(),
                                         [&](int64_t before, int limit) {
                                           return storage_->Reads()->ListMonitors(who.team_id,
                                                                                  before, limit);
                                         },
                                         [&](const storage::MonitorRecord& r) {
                                           return Get(who, r.public_id, out->add_monitors());
                                         }));
  out->set_next_page_token(next);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<void>> MonitorManager::Watch(const Principal& who,
                                                            const std::string& monitor_id,
                                                            MonitorWatcher* watcher,
                                                            std::optional<int64_t> after) {
  return live_.Watch(
      who, monitor_id, [&] { return Replay(*storage_->Reads(), who, monitor_id); }, watcher, after);
}

void MonitorManager::Unwatch(const std::shared_ptr<void>& token, MonitorWatcher* watcher) {
  live_.Unwatch(token, watcher);
}

}  // namespace assay::server
