// One server shared by teams: fits taken round-robin across teams within per-team concurrency,
// and per-team limits (write rate, cells, open resources, queued fits) enforced through gRPC and
// HTTP with the named limit and a retry delay that the clients honour; the administrator's changes
// reach a running server; WhoAmI shows each limit and its use.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "assay/v1/benchmarks.grpc.pb.h"
#include "client/lib/call.h"
#include "client/lib/client.h"
#include "nlohmann/json.hpp"
#include "server/runtime/fair_queue.h"
#include "server/storage/sqlite.h"
#include "tests/testing/http_client.h"
#include "tests/testing/irt_sim.h"
#include "tests/testing/service_fixture.h"
#include "tests/testing/status_matchers.h"

namespace assay::server {
namespace {

using absl_testing::IsOk;
using absl_testing::StatusIs;
using testing::Ctx;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ToAbsl;

// --- FairQueue -----------------------------------------------------------------------------------

TEST(FairQueueTest, ServesTheTeamServedLeastRecentlyFirst) {
  FairQueue<std::string> q;
  for (const char* job : {"a1", "a2", "a3", "a4"}) q.Push(1, job);
  const auto all = [](int64_t) { return true; };
  EXPECT_EQ(q.Pop(all), "a1");
  // Team 2 arrives after team 1 was served: it goes next, then they alternate.
  q.Push(2, "b1");
  q.Push(2, "b2");
  EXPECT_THAT(q.Order(), ElementsAre("b1", "a2", "b2", "a3", "a4"));
  EXPECT_EQ(q.Pop(all), "b1");
  EXPECT_EQ(q.Pop(all), "a2");
  // A team that may not run is skipped, not dropped.
  EXPECT_EQ(q.Pop([](int64_t team) { return team == 1; }), "a3");
  EXPECT_FALSE(q.HasRunnable([](int64_t team) { return team == 3; }));
  EXPECT_TRUE(q.Remove("a4"));
  EXPECT_FALSE(q.Remove("a4"));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.Pop(all), "b2");
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.Pop(all), std::nullopt);
}

// --- The service ---------------------------------------------------------------------------------

class SharedServiceTest : public testing::ServiceTest {
 protected:
  void SetUp() override {}  // each test sets its options, then Start()

  void Start() { testing::ServiceTest::SetUp(); }

  // A benchmark of models x items, every cell observed.
  std::string Benchmark(const std::string& token, const std::string& name, int models = 40,
                        int items = 120) {
    const std::string id = EmptyBenchmark(token, name);
    EXPECT_OK(Upload(token, id, models, items));
    return id;
  }

  std::string EmptyBenchmark(const std::string& token, const std::string& name) {
    v1::CreateBenchmarkRequest req;
    req.set_name(name);
    v1::Benchmark bm;
    EXPECT_OK(ToAbsl(benchmarks_->CreateBenchmark(Ctx(token).get(), req, &bm)));
    return bm.id();
  }

  absl::Status Upload(const std::string& token, const std::string& id, int models, int items) {
    auto context = Ctx(token);
    return client::UploadResponses(*benchmarks_, *context, Sim(models, items).data, id).status();
  }

  v1::Benchmark GetBenchmark(const std::string& id) {
    v1::GetBenchmarkRequest req;
    req.set_benchmark_id(id);
    v1::Benchmark bm;
    EXPECT_OK(ToAbsl(benchmarks_->GetBenchmark(Ctx(alpha_).get(), req, &bm)));
    return bm;
  }

  static testing::Simulated Sim(int models, int items) {
    testing::SimOptions sim;
    sim.models = models;
    sim.items = items;
    sim.missing = 0;
    return testing::Simulate(sim);
  }

  v1::Fit StartFit(const std::string& token, const std::string& benchmark_id,
                   const v1::FitOptions& options = {}) {
    v1::StartFitRequest req;
    req.set_benchmark_id(benchmark_id);
    *req.mutable_options() = options;
    v1::Fit fit;
    EXPECT_OK(ToAbsl(benchmarks_->StartFit(Ctx(token).get(), req, &fit)));
    return fit;
  }

  // A fit that runs until cancelled (its tolerance is never met; 100,000 iterations on the
  // long-fit benchmark take minutes).
  v1::Fit StartLongFit(const std::string& token, const std::string& benchmark_id) {
    v1::FitOptions options;
    options.set_tol(1e-300);
    options.set_max_iter(100000);
    return StartFit(token, benchmark_id, options);
  }

  // A fit with default options, followed to its end.
  v1::Fit FitAndWait(const std::string& token, const std::string& benchmark_id) {
    return WaitFor(token, StartFit(token, benchmark_id).id(), v1::FIT_STATE_SUCCEEDED);
  }

  v1::Fit Get(const std::string& token, const std::string& fit_id) {
    v1::GetFitRequest req;
    req.set_fit_id(fit_id);
    v1::Fit fit;
    EXPECT_OK(ToAbsl(benchmarks_->GetFit(Ctx(token).get(), req, &fit)));
    return fit;
  }

  // Follows the fit's stream until it reaches `state` (or ends).
  v1::Fit WaitFor(const std::string& token, const std::string& fit_id, v1::FitState state) {
    v1::WatchFitRequest req;
    req.set_fit_id(fit_id);
    auto context = Ctx(token, absl::Seconds(60));
    auto reader = benchmarks_->WatchFit(context.get(), req);
    v1::Fit fit;
    while (reader->Read(&fit) && fit.state() != state) {
    }
    context->TryCancel();
    reader->Finish().ok();
    return fit;
  }

  void Cancel(const std::string& token, const std::string& fit_id) {
    v1::CancelFitRequest req;
    req.set_fit_id(fit_id);
    v1::Fit fit;
    EXPECT_OK(ToAbsl(benchmarks_->CancelFit(Ctx(token).get(), req, &fit)));
  }

  std::vector<v1::Fit> Queue(const std::string& token) {
    v1::ListFitsResponse out;
    EXPECT_OK(ToAbsl(benchmarks_->ListFits(Ctx(token).get(), v1::ListFitsRequest(), &out)));
    return {out.fits().begin(), out.fits().end()};
  }

  absl::Status CreateMonitor(const std::string& token, grpc::ClientContext* context = nullptr) {
    v1::CreateMonitorRequest req;
    req.mutable_config()->set_tau(0.85);
    req.mutable_config()->set_alpha(0.01);
    v1::Monitor m;
    std::unique_ptr<grpc::ClientContext> own;
    if (context == nullptr) {
      own = Ctx(token);
      context = own.get();
    }
    return ToAbsl(monitors_->CreateMonitor(context, req, &m));
  }

  absl::StatusOr<testing::HttpResponse> CreateMonitorOverHttp(const std::string& token) {
    return testing::Http(server_->http_port(), "POST", "/v1/monitors",
                         {{"Authorization", "Bearer " + token},
                          {"Content-Type", "application/json"}},
                         R"({"config": {"tau": 0.85, "alpha": 0.01}})");
  }

  // A new audit of `token`'s team with cases c1, c2 and c3 handed out (two writes); its id.
  std::string AuditOfThreeCases(const std::string& token) {
    v1::CreateAuditRequest create;
    create.mutable_config()->set_alpha(0.05);
    v1::Audit audit;
    EXPECT_OK(ToAbsl(audits_->CreateAudit(Ctx(token).get(), create, &audit)));
    v1::HandOutCasesRequest hand;
    hand.set_audit_id(audit.id());
    for (const char* id : {"c1", "c2", "c3"}) hand.add_cases()->set_case_id(id);
    v1::HandOutCasesResponse handed;
    EXPECT_OK(ToAbsl(audits_->HandOutCases(Ctx(token).get(), hand, &handed)));
    return audit.id();
  }

  // Labels c1, c2 and c3 of `audit_id` on one StreamLabels call, all sent before the first reply
  // is read; the replies, in the order received (fewer if the stream broke).
  std::vector<v1::SubmitLabelResponse> StreamThreeLabels(const std::string& token,
                                                         const std::string& audit_id) {
    auto context = Ctx(token);
    auto stream = audits_->StreamLabels(context.get());
    for (const char* id : {"c1", "c2", "c3"}) {
      v1::SubmitLabelRequest label;
      label.set_audit_id(audit_id);
      label.set_case_id(id);
      label.set_y(1);
      EXPECT_TRUE(stream->Write(label));
    }
    stream->WritesDone();
    std::vector<v1::SubmitLabelResponse> replies;
    for (v1::SubmitLabelResponse reply; stream->Read(&reply);) replies.push_back(reply);
    EXPECT_OK(ToAbsl(stream->Finish()));
    return replies;
  }

  static std::optional<std::string> Pushback(const grpc::ClientContext& context) {
    const auto& trailers = context.GetServerTrailingMetadata();
    auto it = trailers.find("grpc-retry-pushback-ms");
    if (it == trailers.end()) return std::nullopt;
    return std::string(it->second.data(), it->second.size());
  }
};

// One slot: while alpha's first fit runs, beta's fit (queued after alpha's others) is next.
TEST_F(SharedServiceTest, FitsAreTakenRoundRobinAcrossTeams) {
  fit_slots_ = 1;
  http_address_ = "127.0.0.1:0";
  Start();
  const std::string a = Benchmark(alpha_, "a", 300, 600), b = Benchmark(beta_, "b", 300, 600);
  std::vector<v1::Fit> mine;
  for (int k = 0; k < 3; ++k) mine.push_back(StartLongFit(alpha_, a));
  WaitFor(alpha_, mine[0].id(), v1::FIT_STATE_RUNNING);
  const v1::Fit theirs = StartLongFit(beta_, b);

  EXPECT_EQ(Get(beta_, theirs.id()).queue_position(), 0);  // next, ahead of alpha's two
  EXPECT_EQ(Get(alpha_, mine[1].id()).queue_position(), 1);
  EXPECT_EQ(Get(alpha_, mine[2].id()).queue_position(), 2);
  // Each team's queue lists its own fits only: running first, then in the order they will start.
  const std::vector<v1::Fit> queue = Queue(alpha_);
  ASSERT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue[0].id(), mine[0].id());
  EXPECT_EQ(queue[0].state(), v1::FIT_STATE_RUNNING);
  EXPECT_EQ(queue[1].id(), mine[1].id());
  EXPECT_EQ(queue[2].id(), mine[2].id());
  ASSERT_EQ(Queue(beta_).size(), 1u);
  // The same queue through HTTP.
  ASSERT_OK_AND_ASSIGN(testing::HttpResponse http,
                       testing::Http(server_->http_port(), "GET", "/v1/fits",
                                     {{"Authorization", "Bearer " + alpha_}}));
  ASSERT_EQ(http.status, 200) << http.body;
  const nlohmann::json listed = nlohmann::json::parse(http.body);
  ASSERT_EQ(listed["fits"].size(), 3u);
  EXPECT_EQ(listed["fits"][1]["id"], mine[1].id());
  EXPECT_EQ(listed["fits"][2]["queuePosition"], 2);

  Cancel(alpha_, mine[0].id());
  EXPECT_EQ(WaitFor(beta_, theirs.id(), v1::FIT_STATE_RUNNING).state(), v1::FIT_STATE_RUNNING);
  EXPECT_EQ(Get(alpha_, mine[1].id()).state(), v1::FIT_STATE_QUEUED);
  EXPECT_EQ(Get(alpha_, mine[1].id()).queue_position(), 0);
  // A queued fit cancelled leaves the queue at once.
  Cancel(alpha_, mine[2].id());
  EXPECT_EQ(Get(alpha_, mine[2].id()).state(), v1::FIT_STATE_CANCELLED);
  EXPECT_EQ(Queue(alpha_).size(), 1u);
  Cancel(beta_, theirs.id());
  Cancel(alpha_, mine[1].id());
}

// Two slots, one fit per team at once (the default): beta's fit starts at once beside alpha's, and
// alpha's second waits although a slot would be free without beta.
TEST_F(SharedServiceTest, ATeamRunsAtMostItsConcurrentFits) {
  fit_slots_ = 2;
  Start();
  const std::string a = Benchmark(alpha_, "a", 300, 600), b = Benchmark(beta_, "b", 300, 600);
  const v1::Fit a1 = StartLongFit(alpha_, a), a2 = StartLongFit(alpha_, a);
  WaitFor(alpha_, a1.id(), v1::FIT_STATE_RUNNING);
  const v1::Fit b1 = StartLongFit(beta_, b);
  EXPECT_EQ(WaitFor(beta_, b1.id(), v1::FIT_STATE_RUNNING).state(), v1::FIT_STATE_RUNNING);
  EXPECT_EQ(Get(alpha_, a2.id()).state(), v1::FIT_STATE_QUEUED);
  Cancel(alpha_, a1.id());
  EXPECT_EQ(WaitFor(alpha_, a2.id(), v1::FIT_STATE_RUNNING).state(), v1::FIT_STATE_RUNNING);
  Cancel(alpha_, a2.id());
  Cancel(beta_, b1.id());
}

// A write over its team's rate whose token is due within the server's write hold waits for it and
// succeeds, through gRPC and HTTP alike, instead of being refused: the rate still holds, and the
// metrics count the held writes.
TEST_F(SharedServiceTest, AWriteWhoseTokenIsDueSoonIsHeldForItNotRefused) {
  http_address_ = "127.0.0.1:0";
  write_hold_ = absl::Milliseconds(300);
  Start();
  ASSERT_OK(SetTeamLimits(db_, "alpha", {"write_rate=10", "write_burst=1"}).status());
  RestartServer();

  // One token in the bucket, then one every 100 ms: the second write waits about 100 ms for its
  // token, the third about 200 ms; none is refused.
  const absl::Time start = absl::Now();
  for (int k = 0; k < 3; ++k) ASSERT_OK(CreateMonitor(alpha_)) << "write " << k;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(190));
  ASSERT_OK_AND_ASSIGN(testing::HttpResponse http, CreateMonitorOverHttp(alpha_));
  EXPECT_EQ(http.status, 200) << http.body;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(290));

  ASSERT_OK_AND_ASSIGN(testing::HttpResponse metrics,
                       testing::Http(server_->http_port(), "GET", "/metrics"));
  EXPECT_THAT(metrics.body,
              ::testing::ContainsRegex("assay_write_holds_total\\{team=\"alpha\"\\} [3-9]"));
  EXPECT_THAT(metrics.body, ::testing::Not(HasSubstr("assay_quota_refusals_total{team=\"alpha\"")));
}

// On a write stream, messages just over the rate wait for their tokens too, and the later ones stay
// behind them: every label is recorded, in the order sent.
TEST_F(SharedServiceTest, StreamMessagesJustOverTheRateAreHeldInOrder) {
  write_hold_ = absl::Milliseconds(300);
  Start();
  ASSERT_OK(SetTeamLimits(db_, "alpha", {"write_rate=10", "write_burst=1"}).status());
  RestartServer();
  const std::string audit_id = AuditOfThreeCases(alpha_);
  absl::SleepFor(absl::Seconds(1));  // a full bucket: one token

  // Three labels sent at once: the first takes the token, the others wait about 100 and 200 ms.
  const absl::Time start = absl::Now();
  const std::vector<v1::SubmitLabelResponse> replies = StreamThreeLabels(alpha_, audit_id);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(190));
  ASSERT_EQ(replies.size(), 3u);
  for (const v1::SubmitLabelResponse& r : replies)
    EXPECT_EQ(r.error_code(), 0) << r.error_message();
  EXPECT_EQ(replies[0].case_id(), "c1");
  EXPECT_EQ(replies[1].case_id(), "c2");
  EXPECT_EQ(replies[2].case_id(), "c3");
  EXPECT_LT(replies[0].revision(), replies[1].revision());  // recorded in that order
  EXPECT_LT(replies[1].revision(), replies[2].revision());
}

// A write held for its token whose caller's deadline passes meanwhile is not made: the caller was
// told it failed, and nothing changed.
TEST_F(SharedServiceTest, AHeldWriteWhoseCallerGaveUpIsNotMade) {
  write_hold_ = absl::Seconds(1);
  Start();
  ASSERT_OK(SetTeamLimits(db_, "alpha", {"write_rate=2", "write_burst=1"}).status());
  RestartServer();
  ASSERT_OK(CreateMonitor(alpha_));  // the bucket's one token
  // The next token is 500 ms away: held, but its caller waits 50 ms only.
  auto impatient = Ctx(alpha_, absl::Milliseconds(50));
  EXPECT_THAT(CreateMonitor(alpha_, impatient.get()),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  absl::SleepFor(absl::Seconds(1));  // past the token's time: the held write would be made by now
  v1::ListMonitorsResponse listed;
  ASSERT_OK(ToAbsl(monitors_->ListMonitors(Ctx(alpha_).get(), v1::ListMonitorsRequest(), &listed)));
  EXPECT_EQ(listed.monitors_size(), 1);
  ASSERT_OK(CreateMonitor(alpha_));  // the team writes on as before
}

// Over its write rate a team gets RESOURCE_EXHAUSTED naming the limit and the delay (gRPC trailer,
// HTTP Retry-After and RetryInfo); another team is not affected; after the delay it succeeds; the
// client library waits the delay and retries by itself.
TEST_F(SharedServiceTest, WriteRateAnswersWithTheDelayAndClientsHonourIt) {
  http_address_ = "127.0.0.1:0";
  Start();
  ASSERT_OK(SetTeamLimits(db_, "alpha", {"write_rate=2", "write_burst=2"}).status());
  RestartServer();  // (or wait for --limits-refresh; see AdminChangesReachARunningServer)

  ASSERT_OK(CreateMonitor(alpha_));
  ASSERT_OK(CreateMonitor(alpha_));
  auto over = Ctx(alpha_);
  EXPECT_THAT(CreateMonitor(alpha_, over.get()),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("write_rate")));
  const std::optional<std::string> pushback = Pushback(*over);
  ASSERT_TRUE(pushback.has_value());
  const int ms = std::stoi(*pushback);
  EXPECT_GT(ms, 0);
  EXPECT_LE(ms, 500);  // one token at 2 per second
  EXPECT_OK(CreateMonitor(beta_));  // beta has no limit

  ASSERT_OK_AND_ASSIGN(testing::HttpResponse http, CreateMonitorOverHttp(alpha_));
  EXPECT_EQ(http.status, 429) << http.body;
  EXPECT_EQ(http.headers["retry-after"], "1");
  const nlohmann::json body = nlohmann::json::parse(http.body);
  EXPECT_EQ(body["details"][0]["@type"], "type.googleapis.com/google.rpc.RetryInfo");
  EXPECT_THAT(body["message"].get<std::string>(), HasSubstr("write_rate"));

  absl::SleepFor(absl::Milliseconds(ms));
  EXPECT_OK(CreateMonitor(alpha_));

  // A write stream: each message takes a write; one over the rate fails alone, naming the limit
  // and the delay, and the stream goes on.
  absl::SleepFor(absl::Seconds(1));  // room for CreateAudit and HandOutCases
  const std::string audit_id = AuditOfThreeCases(alpha_);
  absl::SleepFor(absl::Seconds(1));  // a full bucket: 2 writes
  const std::vector<v1::SubmitLabelResponse> replies = StreamThreeLabels(alpha_, audit_id);
  ASSERT_EQ(replies.size(), 3u);
  // Two fit the bucket; the third, sent at once, does not.
  int refused = 0;
  for (const v1::SubmitLabelResponse& r : replies) {
    if (r.error_code() == 0) continue;
    ++refused;
    EXPECT_EQ(r.error_code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
    EXPECT_THAT(r.error_message(), HasSubstr("write_rate"));
    EXPECT_THAT(r.error_message(), HasSubstr("retry in"));
  }
  EXPECT_GE(refused, 1);
  EXPECT_LT(refused, 3);
  // Operators see who hits which limit.
  ASSERT_OK_AND_ASSIGN(testing::HttpResponse metrics,
                       testing::Http(server_->http_port(), "GET", "/metrics"));
  EXPECT_THAT(metrics.body,
              ::testing::ContainsRegex(
                  "assay_quota_refusals_total\\{team=\"alpha\",limit=\"write_rate\"\\} [1-9]"));
  EXPECT_THAT(metrics.body, ::testing::Not(HasSubstr("team=\"beta\",limit")));

  // The client library: a burst of writes all succeed, each retried after the server's delay.
  client::ClientOptions options;
  options.server = absl::StrCat("127.0.0.1:", server_->port());
  options.token = alpha_;
  options.attempts = 10;
  client::AssayClient lib(options);
  auto stub = v1::MonitorService::NewStub(lib.channel());
  v1::CreateMonitorRequest req;
  req.mutable_config()->set_tau(0.85);
  req.mutable_config()->set_alpha(0.01);
  const absl::Time start = absl::Now();
  for (int k = 0; k < 4; ++k) {
    EXPECT_OK(client::Call(lib, *stub, &v1::MonitorService::Stub::CreateMonitor, req,
                           "CreateMonitor")
                  .status());
  }
  // 4 writes at 2 per second from an empty bucket: at least 1.5 s of waiting was needed.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1400));
}

// Capacity limits: the call over the limit fails naming it, tells the client not to retry (a
// negative pushback), and changes nothing; finishing a resource makes room.
TEST_F(SharedServiceTest, CapacityLimitsNameTheLimitAndChangeNothing) {
  team_limits_.Set(Limit::kMonitors, 2);
  team_limits_.Set(Limit::kCells, 6000);
  team_limits_.Set(Limit::kQueuedFits, 1);
  http_address_ = "127.0.0.1:0";
  Start();
  ASSERT_OK(CreateMonitor(alpha_));
  ASSERT_OK(CreateMonitor(alpha_));
  auto over = Ctx(alpha_);
  EXPECT_THAT(CreateMonitor(alpha_, over.get()),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("monitors")));
  EXPECT_EQ(Pushback(*over), "-1");
  ASSERT_OK_AND_ASSIGN(testing::HttpResponse metrics,
                       testing::Http(server_->http_port(), "GET", "/metrics"));
  EXPECT_THAT(metrics.body, HasSubstr("assay_quota_refusals_total{team=\"alpha\",limit=\"monitors\"} 1"));
  // Through HTTP: 429 naming the limit, and no Retry-After (waiting will not help).
  ASSERT_OK_AND_ASSIGN(testing::HttpResponse http, CreateMonitorOverHttp(alpha_));
  EXPECT_EQ(http.status, 429) << http.body;
  EXPECT_EQ(http.headers.count("retry-after"), 0u);
  const nlohmann::json body = nlohmann::json::parse(http.body);
  EXPECT_EQ(body["details"][0]["@type"], "type.googleapis.com/google.rpc.QuotaFailure");
  EXPECT_EQ(body["details"][0]["violations"][0]["subject"], "monitors");
  v1::ListMonitorsResponse monitors;
  ASSERT_OK(ToAbsl(monitors_->ListMonitors(Ctx(alpha_).get(), {}, &monitors)));
  EXPECT_EQ(monitors.monitors_size(), 2);

  // Cells: 40 x 120 = 4,800 fit; a second upload of 2,000 new cells does not, and adds none.
  const std::string a = Benchmark(alpha_, "a");
  const std::string more = EmptyBenchmark(alpha_, "more");
  EXPECT_THAT(Upload(alpha_, more, 20, 100),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("cells")));
  EXPECT_EQ(GetBenchmark(more).num_cells(), 0);
  // Re-uploading what is stored adds no cells, so it is allowed.
  EXPECT_OK(Upload(alpha_, a, 40, 120));

  // Queued fits: one at a time for this team; once it ends, another may start.
  const v1::Fit first = StartLongFit(alpha_, a);
  v1::StartFitRequest second;
  second.set_benchmark_id(a);
  v1::Fit out;
  EXPECT_THAT(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), second, &out)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("queued_fits")));
  Cancel(alpha_, first.id());
  WaitFor(alpha_, first.id(), v1::FIT_STATE_CANCELLED);
  EXPECT_OK(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), second, &out)));
  WaitFor(alpha_, out.id(), v1::FIT_STATE_SUCCEEDED);

  // WhoAmI shows each limit and what the team uses of it.
  v1::WhoAmIResponse me;
  ASSERT_OK(ToAbsl(teams_->WhoAmI(Ctx(alpha_).get(), {}, &me)));
  std::map<std::string, std::pair<double, double>> seen;
  for (const v1::TeamLimit& l : me.limits()) seen[l.name()] = {l.limit(), l.used()};
  EXPECT_EQ(seen["monitors"], std::make_pair(2.0, 2.0));
  EXPECT_EQ(seen["cells"], std::make_pair(6000.0, 4800.0));
  EXPECT_EQ(seen["queued_fits"], std::make_pair(1.0, 0.0));
  EXPECT_EQ(seen["concurrent_fits"], std::make_pair(1.0, 0.0));
  EXPECT_EQ(seen["write_rate"], std::make_pair(0.0, 0.0));
  EXPECT_EQ(me.limits_size(), 9);
}

// An adaptive test that finishes, and an audit or a comparison that is decided, no longer count as
// open.
TEST_F(SharedServiceTest, FinishedSessionsAuditsAndComparisonsNoLongerCountAsOpen) {
  team_limits_.Set(Limit::kOpenSessions, 1);
  team_limits_.Set(Limit::kOpenAudits, 1);
  team_limits_.Set(Limit::kOpenComparisons, 1);
  Start();
  const std::string a = Benchmark(alpha_, "a");
  ASSERT_EQ(FitAndWait(alpha_, a).state(), v1::FIT_STATE_SUCCEEDED);

  v1::StartSessionRequest start;
  start.set_benchmark_id(a);
  start.set_model("new");
  start.mutable_options()->set_max_items(2);
  v1::CatSession session;
  ASSERT_OK(ToAbsl(cat_->StartSession(Ctx(alpha_).get(), start, &session)));
  v1::CatSession refused;
  EXPECT_THAT(ToAbsl(cat_->StartSession(Ctx(alpha_).get(), start, &refused)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("open_sessions")));
  for (int k = 0; k < 2; ++k) {
    v1::NextItemsRequest next;
    next.set_session_id(session.id());
    next.set_count(1);
    v1::NextItemsResponse items;
    ASSERT_OK(ToAbsl(cat_->NextItems(Ctx(alpha_).get(), next, &items)));
    ASSERT_EQ(items.items_size(), 1);
    v1::SubmitOutcomesRequest submit;
    submit.set_session_id(session.id());
    v1::CatOutcome& o = *submit.add_outcomes();
    o.set_item(items.items(0));
    o.set_successes(1);
    ASSERT_OK(ToAbsl(cat_->SubmitOutcomes(Ctx(alpha_).get(), submit, &session)));
  }
  ASSERT_TRUE(session.finished());
  EXPECT_OK(ToAbsl(cat_->StartSession(Ctx(alpha_).get(), start, &refused)));

  v1::CreateComparisonRequest create;
  create.set_benchmark_id(a);
  create.set_model_a("m0");
  create.set_model_b("m1");
  create.mutable_options()->set_max_items(1);  // inconclusive after one item
  create.mutable_options()->set_baseline_known(true);
  v1::Comparison comparison, other;
  ASSERT_OK(ToAbsl(compare_->CreateComparison(Ctx(alpha_).get(), create, &comparison)));
  EXPECT_THAT(ToAbsl(compare_->CreateComparison(Ctx(alpha_).get(), create, &other)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("open_comparisons")));
  v1::NextComparisonItemsRequest next;
  next.set_comparison_id(comparison.id());
  v1::NextComparisonItemsResponse items;
  ASSERT_OK(ToAbsl(compare_->NextComparisonItems(Ctx(alpha_).get(), next, &items)));
  ASSERT_EQ(items.items_size(), 1);
  v1::SubmitComparisonOutcomesRequest submit;
  submit.set_comparison_id(comparison.id());
  v1::CompareOutcome& o = *submit.add_outcomes();
  o.set_item(items.items(0));
  o.set_b_successes(1);
  ASSERT_OK(ToAbsl(compare_->SubmitComparisonOutcomes(Ctx(alpha_).get(), submit, &comparison)));
  ASSERT_TRUE(comparison.finished());
  EXPECT_OK(ToAbsl(compare_->CreateComparison(Ctx(alpha_).get(), create, &other)));

  v1::CreateAuditRequest audit_req;
  audit_req.mutable_config()->set_max_samples(1);  // inconclusive after one label
  v1::Audit audit, second;
  ASSERT_OK(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), audit_req, &audit)));
  EXPECT_THAT(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), audit_req, &second)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("open_audits")));
  v1::HandOutCasesRequest hand;
  hand.set_audit_id(audit.id());
  hand.add_cases()->set_case_id("c1");
  v1::HandOutCasesResponse handed;
  ASSERT_OK(ToAbsl(audits_->HandOutCases(Ctx(alpha_).get(), hand, &handed)));
  v1::SubmitLabelRequest label;
  label.set_audit_id(audit.id());
  label.set_case_id("c1");
  label.set_y(1);
  v1::SubmitLabelResponse labelled;
  ASSERT_OK(ToAbsl(audits_->SubmitLabel(Ctx(alpha_).get(), label, &labelled)));
  ASSERT_EQ(labelled.decision(), v1::DECISION_INCONCLUSIVE);
  EXPECT_OK(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), audit_req, &second)));
}

// `assayd team limits` on the database reaches a running server within --limits-refresh.
TEST_F(SharedServiceTest, AdminChangesReachARunningServer) {
  limits_refresh_ = absl::ZeroDuration();  // read on every write
  Start();
  ASSERT_OK(CreateMonitor(alpha_));
  ASSERT_OK_AND_ASSIGN(std::vector<TeamLimitRow> rows,
                       SetTeamLimits(db_, "alpha", {"monitors=1"}));
  for (const TeamLimitRow& row : rows) {
    if (row.name == "monitors") {
      EXPECT_EQ(row.value, 1.0);
    }
    if (row.name == "cells") {
      EXPECT_EQ(row.value, std::nullopt);
    }
  }
  EXPECT_THAT(CreateMonitor(alpha_), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_OK(CreateMonitor(beta_));
  ASSERT_OK(SetTeamLimits(db_, "alpha", {"monitors=default"}).status());
  EXPECT_OK(CreateMonitor(alpha_));
  // Bad assignments change nothing and say what was wrong.
  EXPECT_THAT(SetTeamLimits(db_, "alpha", {"monitors=2", "cels=5"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown limit 'cels'")));
  EXPECT_THAT(SetTeamLimits(db_, "alpha", {"concurrent_fits=0"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("concurrent_fits")));
  EXPECT_THAT(SetTeamLimits(db_, "gamma", {"monitors=2"}), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(rows, SetTeamLimits(db_, "alpha", {}));
  for (const TeamLimitRow& row : rows) EXPECT_EQ(row.value, std::nullopt) << row.name;
}

// A full database (the --max-db-mb cap, which fails writes as a full disk does): every write that
// does not fit is refused with RESOURCE_EXHAUSTED "storage full", is not acknowledged and changes
// nothing; reads go on; a fit whose result does not fit says so; once space returns, writes work.
TEST_F(SharedServiceTest, AFullDatabaseRefusesWritesCleanlyServesReadsAndRecovers) {
  Start();
  const std::string a = Benchmark(alpha_, "a");
  ASSERT_EQ(FitAndWait(alpha_, a).state(), v1::FIT_STATE_SUCCEEDED);
  const std::string big = Benchmark(alpha_, "big", 300, 600);
  const std::string empty = EmptyBenchmark(alpha_, "empty");
  v1::CreateAuditRequest audit_req;
  audit_req.mutable_config()->set_alpha(1e-12);
  audit_req.mutable_config()->set_max_samples(1000000);
  v1::Audit audit;
  ASSERT_OK(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), audit_req, &audit)));
  constexpr int kCases = 20000;
  for (int start = 0; start < kCases; start += 1000) {
    v1::HandOutCasesRequest hand;
    hand.set_audit_id(audit.id());
    for (int i = start; i < start + 1000; ++i) hand.add_cases()->set_case_id(absl::StrCat("c", i));
    v1::HandOutCasesResponse out;
    ASSERT_OK(ToAbsl(audits_->HandOutCases(Ctx(alpha_).get(), hand, &out)));
  }

  ASSERT_OK(server_->SetMaxDatabaseBytes(1));  // capped at its size now
  const auto label = [&](int i) {
    v1::SubmitLabelRequest req;
    req.set_audit_id(audit.id());
    req.set_case_id(absl::StrCat("c", i));
    req.set_y(1);
    v1::SubmitLabelResponse resp;
    return ToAbsl(audits_->SubmitLabel(Ctx(alpha_).get(), req, &resp));
  };
  int acknowledged = 0;
  absl::Status refused;
  while (acknowledged < kCases && (refused = label(acknowledged)).ok()) ++acknowledged;
  ASSERT_LT(acknowledged, kCases) << "the database never filled";
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("storage full")));
  EXPECT_THAT(label(acknowledged), StatusIs(absl::StatusCode::kResourceExhausted));
  // Reads go on, and show every acknowledged label and nothing of the refused one.
  v1::GetAuditRequest get_audit;
  get_audit.set_audit_id(audit.id());
  v1::Audit seen;
  ASSERT_OK(ToAbsl(audits_->GetAudit(Ctx(alpha_read_).get(), get_audit, &seen)));
  EXPECT_EQ(seen.labelled(), acknowledged);
  v1::ListAbilitiesRequest abilities;
  abilities.set_benchmark_id(a);
  v1::ListAbilitiesResponse table;
  ASSERT_OK(ToAbsl(benchmarks_->ListAbilities(Ctx(alpha_read_).get(), abilities, &table)));
  EXPECT_EQ(table.abilities_size(), 40);

  // An upload: refused whole (one chunk), the benchmark unchanged.
  EXPECT_THAT(Upload(alpha_, empty, 50, 100),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("storage full")));
  EXPECT_EQ(GetBenchmark(empty).num_cells(), 0);
  EXPECT_EQ(GetBenchmark(empty).num_models(), 0);

  // A fit that can start (a few pages more) but whose result tables cannot be stored.
  ASSERT_OK_AND_ASSIGN(auto reader, storage::Connection::Open(db_, [] {
                         storage::ConnectionOptions o;
                         o.read_only = true;
                         return o;
                       }()));
  ASSERT_OK_AND_ASSIGN(storage::Statement * pages, reader->Prepare("PRAGMA page_count"));
  ASSERT_OK_AND_ASSIGN(bool row, pages->Step());
  ASSERT_TRUE(row);
  const int64_t page_count = pages->ColumnInt(0);
  pages->Reset();
  ASSERT_OK(server_->SetMaxDatabaseBytes((page_count + 6) * 4096));
  v1::StartFitRequest big_fit;
  big_fit.set_benchmark_id(big);
  v1::Fit failed;
  ASSERT_OK(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), big_fit, &failed)));
  failed = WaitFor(alpha_, failed.id(), v1::FIT_STATE_FAILED);
  EXPECT_EQ(failed.state(), v1::FIT_STATE_FAILED);
  EXPECT_THAT(failed.error(), HasSubstr("storage full"));
  EXPECT_EQ(Get(alpha_, failed.id()).state(), v1::FIT_STATE_FAILED);
  v1::ListAbilitiesRequest big_table;
  big_table.set_benchmark_id(big);
  EXPECT_THAT(ToAbsl(benchmarks_->ListAbilities(Ctx(alpha_).get(), big_table, &table)),
              StatusIs(absl::StatusCode::kFailedPrecondition));  // no calibration was stored

  // Space returns: the refused writes now succeed.
  ASSERT_OK(server_->SetMaxDatabaseBytes(0));
  EXPECT_OK(label(acknowledged));
  EXPECT_OK(Upload(alpha_, empty, 50, 100));
  v1::Fit retried;
  ASSERT_OK(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), big_fit, &retried)));
  EXPECT_EQ(WaitFor(alpha_, retried.id(), v1::FIT_STATE_SUCCEEDED).state(),
            v1::FIT_STATE_SUCCEEDED);
  ASSERT_OK(ToAbsl(audits_->GetAudit(Ctx(alpha_read_).get(), get_audit, &seen)));
  EXPECT_EQ(seen.labelled(), acknowledged + 1);
}

}  // namespace
}  // namespace assay::server
