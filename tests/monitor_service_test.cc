// MonitorService through a real server: a deployed model degrades and the monitor alarms, with a
// watcher seeing every committed update in order and the served state equal to the core detector
// fed the same scores; retries with first_t never double-count; bad inputs change nothing;
// restart = replay; team isolation on every call.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "core/audit/monitor.h"
#include "server/storage/storage.h"
#include "tests/testing/service_fixture.h"

namespace assay::server {
namespace {

using absl_testing::StatusIs;
using testing::Ctx;
using ::testing::HasSubstr;
using testing::ToAbsl;

class MonitorServiceTest : public testing::ServiceTest {
 protected:
  v1::Monitor Create(const std::string& token = "") {
    v1::CreateMonitorRequest req;
    req.set_display_name("prod model");
    req.mutable_config()->set_tau(0.85);
    req.mutable_config()->set_alpha(0.01);
    v1::Monitor m;
    EXPECT_OK(ToAbsl(monitors_->CreateMonitor(Ctx(token.empty() ? alpha_ : token).get(), req, &m)));
    return m;
  }

  absl::StatusOr<v1::SubmitScoresResponse> Submit(const std::string& id,
                                                  const std::vector<double>& scores,
                                                  int64_t first_t = 0) {
    v1::SubmitScoresRequest req;
    req.set_monitor_id(id);
    for (double y : scores) req.add_scores(y);
    req.set_first_t(first_t);
    v1::SubmitScoresResponse resp;
    absl::Status s = ToAbsl(monitors_->SubmitScores(Ctx(alpha_).get(), req, &resp));
    if (!s.ok()) return s;
    return resp;
  }
};

TEST_F(MonitorServiceTest, DegradingModelAlarmsAndTheWatcherSeesEveryUpdate) {
  const v1::Monitor m = Create();
  EXPECT_EQ(m.config().alternatives_size(), 3);  // defaults filled in
  // A watcher from the start.
  auto watch_context = Ctx(alpha_read_, absl::Seconds(60));
  v1::WatchMonitorRequest w;
  w.set_monitor_id(m.id());
  auto reader = monitors_->WatchMonitor(watch_context.get(), w);
  absl::Mutex mu;
  std::vector<v1::MonitorUpdate> seen;  // guarded by mu
  std::thread watcher([&] {
    v1::MonitorUpdate u;
    while (reader->Read(&u)) {
      absl::MutexLock lock(&mu);
      seen.push_back(u);
    }
  });

  {  // the watch is registered once its first message (the state now) arrives
    absl::MutexLock lock(&mu);
    const auto started = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return !seen.empty(); };
    mu.AwaitWithTimeout(absl::Condition(&started), absl::Seconds(30));
  }
  audit::MonitorConfig core_config;
  core_config.tau = 0.85;
  core_config.alpha = 0.01;
  core_config.alternatives = {0.8, 0.7, 0.5};
  ASSERT_OK_AND_ASSIGN(audit::Monitor offline, audit::Monitor::Create(core_config));
  std::mt19937_64 rng(5);
  std::vector<int64_t> alarms;
  int64_t t = 0;
  // 400 scores at 95% accuracy in batches of 20 on a score stream, then 50% until the alarm.
  auto stream_context = Ctx(alpha_, absl::Seconds(60));
  auto stream = monitors_->StreamScores(stream_context.get());
  for (int batch = 0; batch < 60 && alarms.empty(); ++batch) {
    v1::SubmitScoresRequest req;
    req.set_monitor_id(m.id());
    req.set_first_t(t + 1);
    for (int k = 0; k < 20; ++k) {
      const double y = std::bernoulli_distribution(t < 400 ? 0.95 : 0.5)(rng) ? 1.0 : 0.0;
      req.add_scores(y);
      ++t;
      ASSERT_OK_AND_ASSIGN(bool alarm, offline.Update(y));
      if (alarm) alarms.push_back(t);
    }
    ASSERT_TRUE(stream->Write(req));
    v1::SubmitScoresResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    ASSERT_EQ(resp.error_code(), 0) << resp.error_message();
    EXPECT_EQ(resp.monitor().t(), t);
    EXPECT_EQ(resp.monitor().e_value(), offline.e_value());  // exact: same arithmetic
    EXPECT_EQ(std::vector<int64_t>(resp.alarm_ts().begin(), resp.alarm_ts().end()).size() > 0,
              !alarms.empty() && alarms.back() > t - 20);
  }
  stream->WritesDone();
  ASSERT_OK(ToAbsl(stream->Finish()));
  ASSERT_FALSE(alarms.empty()) << "no alarm after the model degraded";
  EXPECT_GT(alarms.front(), 400);  // none while the model was good
  v1::GetMonitorRequest get;
  get.set_monitor_id(m.id());
  v1::Monitor served;
  ASSERT_OK(ToAbsl(monitors_->GetMonitor(Ctx(alpha_read_).get(), get, &served)));
  EXPECT_EQ(served.alarms(), static_cast<int64_t>(alarms.size()));
  EXPECT_EQ(served.last_alarm_t(), alarms.back());

  {  // the last update reaches the watcher after the reply: wait for it (bounded), then stop
    absl::MutexLock lock(&mu);
    const auto has_last = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return !seen.empty() && seen.back().monitor().t() == t;
    };
    mu.AwaitWithTimeout(absl::Condition(&has_last), absl::Seconds(30));
  }
  watch_context->TryCancel();
  watcher.join();
  // The watcher saw the state at start, then every batch in order.
  ASSERT_EQ(static_cast<int64_t>(seen.size()), 1 + t / 20);
  for (size_t k = 0; k < seen.size(); ++k) {
    EXPECT_EQ(seen[k].monitor().t(), static_cast<int64_t>(k) * 20);
  }
  EXPECT_EQ(seen.back().alarm_ts_size(), static_cast<int>(alarms.size()));
  EXPECT_EQ(seen.back().alarm_ts(0), alarms.front());

  // Restart = replay of the score log.
  RestartServer();
  v1::Monitor reloaded;
  ASSERT_OK(ToAbsl(monitors_->GetMonitor(Ctx(alpha_read_).get(), get, &reloaded)));
  EXPECT_EQ(reloaded.SerializeAsString(), served.SerializeAsString());
}

// A reload starts from the latest snapshot (every 10,000 scores) plus the scores after it: the same
// state, exactly, as a replay of the whole log.
TEST_F(MonitorServiceTest, RestartFromSnapshotEqualsReplayOfTheWholeLog) {
  const v1::Monitor m = Create();
  std::mt19937_64 rng(4);
  std::vector<int64_t> alarms;
  // 25,000 scores: the model degrades for t in (10,000, 15,000], then recovers, so the last alarm
  // comes before the snapshot at 20,000 and the recent-accuracy tally spans it.
  for (int chunk = 0; chunk < 5; ++chunk) {
    std::bernoulli_distribution correct(chunk < 2 ? 0.9 : chunk == 2 ? 0.75 : 0.95);
    std::vector<double> scores;
    for (int k = 0; k < 5000; ++k) scores.push_back(correct(rng) ? 1.0 : 0.0);
    ASSERT_OK_AND_ASSIGN(v1::SubmitScoresResponse r, Submit(m.id(), scores));
    alarms.insert(alarms.end(), r.alarm_ts().begin(), r.alarm_ts().end());
  }
  ASSERT_FALSE(alarms.empty());
  ASSERT_LT(alarms.back(), 20000);
  v1::GetMonitorRequest get;
  get.set_monitor_id(m.id());
  v1::Monitor served;
  ASSERT_OK(ToAbsl(monitors_->GetMonitor(Ctx(alpha_read_).get(), get, &served)));
  ASSERT_EQ(served.t(), 25000);
  EXPECT_EQ(served.alarms(), static_cast<int64_t>(alarms.size()));

  RestartServer();  // loads snapshot (t = 20,000) + 5,000 scores
  v1::Monitor from_snapshot;
  ASSERT_OK(ToAbsl(monitors_->GetMonitor(Ctx(alpha_read_).get(), get, &from_snapshot)));
  EXPECT_EQ(from_snapshot.SerializeAsString(), served.SerializeAsString());

  server_->Shutdown();
  server_.reset();
  {  // remove the snapshot: the next load replays all 25,000 scores
    ASSERT_OK_AND_ASSIGN(auto storage, storage::Storage::Open(db_));
    ASSERT_OK_AND_ASSIGN(std::optional<int64_t> team, storage->Reads()->FindTeam("alpha"));
    ASSERT_OK_AND_ASSIGN(std::optional<storage::MonitorRecord> record,
                         storage->Reads()->FindMonitor(*team, m.id()));
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->snapshot_t, 20000);
    EXPECT_FALSE(record->snapshot.empty());
    ASSERT_OK(storage->Write(
        [&](storage::WriteTxn& txn) { return txn.PutMonitorSnapshot(record->id, 0, ""); }));
  }
  StartServer();
  v1::Monitor replayed;
  ASSERT_OK(ToAbsl(monitors_->GetMonitor(Ctx(alpha_read_).get(), get, &replayed)));
  EXPECT_EQ(replayed.SerializeAsString(), served.SerializeAsString());
}

// Memory stays bounded: with room for 2 monitors in memory, 4 monitors fed in turn are evicted and
// replayed again and again; their states equal a single replay of each log after a restart.
TEST_F(MonitorServiceTest, IdleMonitorsBeyondTheLimitAreDroppedAndReplayedOnUse) {
  max_live_monitors_ = 2;
  RestartServer();
  constexpr int kMonitors = 4, kRounds = 25;
  std::vector<std::string> ids;
  std::vector<int64_t> alarms(kMonitors, 0);
  for (int m = 0; m < kMonitors; ++m) {
    ids.push_back(Create().id());
    EXPECT_LE(server_->live_monitors(), 2u);
  }
  std::mt19937_64 rng(11);
  std::vector<v1::Monitor> last(kMonitors);
  for (int round = 0; round < kRounds; ++round) {
    for (int m = 0; m < kMonitors; ++m) {
      SCOPED_TRACE(::testing::Message() << "monitor " << m << " round " << round);
      // Monitor m's model degrades from round 10 on, faster for larger m.
      std::bernoulli_distribution correct(round < 10 ? 0.92 : 0.9 - 0.1 * m);
      std::vector<double> scores;
      for (int k = 0; k < 8; ++k) scores.push_back(correct(rng) ? 1.0 : 0.0);
      ASSERT_OK_AND_ASSIGN(v1::SubmitScoresResponse r, Submit(ids[m], scores));
      EXPECT_EQ(r.monitor().t(), 8 * (round + 1));
      alarms[m] += r.alarm_ts_size();
      last[m] = r.monitor();
      EXPECT_LE(server_->live_monitors(), 2u);
    }
  }
  EXPECT_GT(alarms[kMonitors - 1], 0);  // the degrading models did alarm
  max_live_monitors_ = server::ServerOptions().max_live_monitors;
  RestartServer();
  for (int m = 0; m < kMonitors; ++m) {
    v1::GetMonitorRequest get;
    get.set_monitor_id(ids[m]);
    v1::Monitor replayed;
    ASSERT_OK(ToAbsl(monitors_->GetMonitor(Ctx(alpha_read_).get(), get, &replayed)));
    EXPECT_EQ(replayed.SerializeAsString(), last[m].SerializeAsString()) << "monitor " << m;
    EXPECT_EQ(replayed.alarms(), alarms[m]);
  }
}

TEST_F(MonitorServiceTest, RetriesNeverDoubleCountAndBadInputsChangeNothing) {
  const v1::Monitor m = Create();
  ASSERT_OK_AND_ASSIGN(auto first, Submit(m.id(), {1, 1, 0}, 1));
  EXPECT_EQ(first.monitor().t(), 3);
  // The same batch again (a retry after a lost reply): recognised, nothing counted.
  ASSERT_OK_AND_ASSIGN(auto again, Submit(m.id(), {1, 1, 0}, 1));
  EXPECT_EQ(again.duplicates(), 3);
  EXPECT_EQ(again.monitor().SerializeAsString(), first.monitor().SerializeAsString());
  // Overlapping: the recorded part is skipped, the rest appended.
  ASSERT_OK_AND_ASSIGN(auto overlap, Submit(m.id(), {0, 1, 1}, 3));
  EXPECT_EQ(overlap.duplicates(), 1);
  EXPECT_EQ(overlap.monitor().t(), 5);
  EXPECT_THAT(Submit(m.id(), {0}, 2).status(),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("t = 2 is recorded as 1")));
  EXPECT_THAT(Submit(m.id(), {1}, 9).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("gap")));
  EXPECT_THAT(Submit(m.id(), {1, 1.5}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scores[1]")));
  EXPECT_THAT(Submit(m.id(), {std::nan("")}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scores[0]")));
  EXPECT_THAT(Submit(m.id(), {}).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Submit("mon_missing", {1}).status(), StatusIs(absl::StatusCode::kNotFound));
  // A request_id makes even a first_t-less retry exact.
  v1::SubmitScoresRequest req;
  req.set_monitor_id(m.id());
  req.add_scores(1);
  req.set_request_id("batch-7");
  v1::SubmitScoresResponse r1, r2;
  ASSERT_OK(ToAbsl(monitors_->SubmitScores(Ctx(alpha_).get(), req, &r1)));
  ASSERT_OK(ToAbsl(monitors_->SubmitScores(Ctx(alpha_).get(), req, &r2)));
  EXPECT_EQ(r2.monitor().t(), 6);
  v1::GetMonitorRequest get;
  get.set_monitor_id(m.id());
  v1::Monitor now;
  ASSERT_OK(ToAbsl(monitors_->GetMonitor(Ctx(alpha_).get(), get, &now)));
  EXPECT_EQ(now.t(), 6);
  // Configs that fail validation.
  v1::CreateMonitorRequest bad;
  bad.mutable_config()->set_tau(1.5);
  v1::Monitor ignored;
  EXPECT_THAT(ToAbsl(monitors_->CreateMonitor(Ctx(alpha_).get(), bad, &ignored)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("config.")));
  bad.mutable_config()->set_tau(0.8);
  bad.mutable_config()->add_alternatives(0.9);
  EXPECT_THAT(ToAbsl(monitors_->CreateMonitor(Ctx(alpha_).get(), bad, &ignored)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("config.")));
  EXPECT_THAT(ToAbsl(monitors_->CreateMonitor(Ctx(alpha_read_).get(), bad, &ignored)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  v1::ListMonitorsResponse list;
  ASSERT_OK(ToAbsl(monitors_->ListMonitors(Ctx(alpha_).get(), {}, &list)));
  EXPECT_EQ(list.monitors_size(), 1);
}

TEST_F(MonitorServiceTest, TeamsCannotSeeEachOthersMonitors) {
  const v1::Monitor m = Create();
  const auto not_found = [&](const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("'" + m.id() + "'"));
  };
  v1::GetMonitorRequest get;
  get.set_monitor_id(m.id());
  v1::Monitor out;
  not_found(monitors_->GetMonitor(Ctx(beta_).get(), get, &out));
  v1::SubmitScoresRequest submit;
  submit.set_monitor_id(m.id());
  submit.add_scores(0);
  v1::SubmitScoresResponse resp;
  not_found(monitors_->SubmitScores(Ctx(beta_).get(), submit, &resp));
  {
    auto context = Ctx(beta_);
    auto stream = monitors_->StreamScores(context.get());
    ASSERT_TRUE(stream->Write(submit));
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_EQ(resp.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(resp.error_message(), HasSubstr(m.id()));
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  }
  {
    v1::WatchMonitorRequest w;
    w.set_monitor_id(m.id());
    auto context = Ctx(beta_);
    auto reader = monitors_->WatchMonitor(context.get(), w);
    v1::MonitorUpdate u;
    EXPECT_FALSE(reader->Read(&u));
    not_found(reader->Finish());
  }
  v1::ListMonitorsResponse list;
  ASSERT_OK(ToAbsl(monitors_->ListMonitors(Ctx(beta_).get(), {}, &list)));
  EXPECT_EQ(list.monitors_size(), 0);
  EXPECT_EQ(monitors_->GetMonitor(Ctx("").get(), get, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_OK(ToAbsl(monitors_->GetMonitor(Ctx(alpha_).get(), get, &out)));
  EXPECT_EQ(out.t(), 0);
}

}  // namespace
}  // namespace assay::server
