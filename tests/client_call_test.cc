// The client library's conventions against a fake server that fails on purpose: idempotency keys
// are filled in and kept across attempts, transient failures are retried only when a repeat is
// safe (call.h), and the typed clients (api.h) call that way and page through lists; uploads are
// resent after a broken stream (upload.h); watches reconnect and never deliver a state twice
// (watch.h).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "assay/v1/audit.grpc.pb.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "assay/v1/monitor.grpc.pb.h"
#include "assay/v1/teams.grpc.pb.h"
#include "client/lib/api.h"
#include "client/lib/call.h"
#include "client/lib/upload.h"
#include "client/lib/watch.h"
#include "core/irt/responses.h"
#include "tests/testing/status_matchers.h"

namespace assay::client {
namespace {

using absl_testing::StatusIs;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Fails the first `failures` calls of each method with `failure`, then succeeds.
class FlakyBenchmarks final : public v1::BenchmarkService::Service {
 public:
  grpc::Status failure{grpc::StatusCode::UNAVAILABLE, "connection reset"};
  int failures = 0;
  std::mutex mu;
  std::vector<std::string> request_ids;
  int get_calls = 0;

  grpc::Status CreateBenchmark(grpc::ServerContext*, const v1::CreateBenchmarkRequest* request,
                               v1::Benchmark* response) override {
    std::lock_guard<std::mutex> lock(mu);
    request_ids.push_back(request->request_id());
    if (static_cast<int>(request_ids.size()) <= failures) return failure;
    response->set_id("bm_1");
    return grpc::Status::OK;
  }
  grpc::Status GetBenchmark(grpc::ServerContext*, const v1::GetBenchmarkRequest*,
                            v1::Benchmark* response) override {
    std::lock_guard<std::mutex> lock(mu);
    if (++get_calls <= failures) return failure;
    response->set_id("bm_1");
    return grpc::Status::OK;
  }
  // 2,500 benchmarks "bm_0".."bm_2499", pages of at most 1,000; the page token is the offset.
  std::vector<int> page_sizes;
  grpc::Status ListBenchmarks(grpc::ServerContext*, const v1::ListBenchmarksRequest* request,
                              v1::ListBenchmarksResponse* response) override {
    std::lock_guard<std::mutex> lock(mu);
    page_sizes.push_back(request->page_size());
    const int first = request->page_token().empty() ? 0 : std::stoi(request->page_token());
    const int end = std::min(2500, first + std::min(1000, request->page_size()));
    for (int i = first; i < end; ++i) response->add_benchmarks()->set_id("bm_" + std::to_string(i));
    if (end < 2500) response->set_next_page_token(std::to_string(end));
    return grpc::Status::OK;
  }
  // Reads the stream; the first `failures` streams break after one chunk.
  std::atomic<int> upload_streams{0};
  grpc::Status UploadResponses(grpc::ServerContext*,
                               grpc::ServerReader<v1::UploadResponsesRequest>* reader,
                               v1::UploadResponsesResponse* response) override {
    const int stream = ++upload_streams;
    v1::UploadResponsesRequest chunk;
    int chunks = 0, cells = 0;
    while (reader->Read(&chunk)) {
      ++chunks;
      cells += chunk.successes_size();
      if (chunk.has_bitmaps()) {  // every cell of the block, or the observed bits
        const std::string& observed = chunk.bitmaps().observed();
        if (observed.empty()) cells += chunk.models_size() * chunk.items_size();
        for (const char byte : observed) cells += __builtin_popcount(static_cast<uint8_t>(byte));
      }
      if (stream <= failures) return failure;
    }
    response->set_chunks(chunks);
    response->set_cells(cells);
    return grpc::Status::OK;
  }
  // Fit states with iterations 1..3; the first `failures` streams break after iteration 1.
  std::atomic<int> watch_streams{0};
  grpc::Status WatchFit(grpc::ServerContext*, const v1::WatchFitRequest*,
                        grpc::ServerWriter<v1::Fit>* writer) override {
    const int stream = ++watch_streams;
    for (int it = stream <= failures ? 1 : 2; it <= 3; ++it) {
      v1::Fit fit;
      fit.set_iteration(it);
      fit.set_state(it == 3 ? v1::FIT_STATE_SUCCEEDED : v1::FIT_STATE_RUNNING);
      writer->Write(fit);
      if (stream <= failures) return failure;
    }
    return grpc::Status::OK;
  }
};

// An audit at revisions 1..5: the first stream sends 1, 2 and breaks; the next starts again at
// the current revision 2 (as the server does) and ends after 5.
class FlakyAudits final : public v1::AuditService::Service {
 public:
  std::atomic<int> streams{0};
  grpc::Status WatchAudit(grpc::ServerContext*, const v1::WatchAuditRequest*,
                          grpc::ServerWriter<v1::AuditUpdate>* writer) override {
    const int stream = ++streams;
    for (int revision = stream == 1 ? 1 : 2; revision <= 5; ++revision) {
      v1::AuditUpdate update;
      update.mutable_audit()->set_revision(revision);
      writer->Write(update);
      if (stream == 1 && revision == 2) return {grpc::StatusCode::UNAVAILABLE, "restarting"};
    }
    return grpc::Status::OK;
  }
};

// A monitor stream that never ends by itself: t = 1, 2, ... until the client cancels.
class EndlessMonitors final : public v1::MonitorService::Service {
 public:
  std::atomic<bool> cancelled{false};
  grpc::Status WatchMonitor(grpc::ServerContext* context, const v1::WatchMonitorRequest*,
                            grpc::ServerWriter<v1::MonitorUpdate>* writer) override {
    for (int t = 1; !context->IsCancelled(); ++t) {
      v1::MonitorUpdate update;
      update.mutable_monitor()->set_t(t);
      writer->Write(update);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    cancelled = true;
    return grpc::Status::CANCELLED;
  }
};

class FlakyTeams final : public v1::TeamService::Service {
 public:
  std::atomic<int> calls{0};
  grpc::Status CreateApiKey(grpc::ServerContext*, const v1::CreateApiKeyRequest*,
                            v1::CreateApiKeyResponse*) override {
    ++calls;
    return {grpc::StatusCode::UNAVAILABLE, "connection reset"};
  }
};

class CallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&benchmarks_);
    builder.RegisterService(&teams_);
    builder.RegisterService(&audits_);
    builder.RegisterService(&monitors_);
    server_ = builder.BuildAndStart();
    ASSERT_GT(port, 0);
    ClientOptions options;
    options.server = "127.0.0.1:" + std::to_string(port);
    client_ = std::make_unique<AssayClient>(options);
  }
  void TearDown() override { server_->Shutdown(); }

  FlakyBenchmarks benchmarks_;
  FlakyTeams teams_;
  FlakyAudits audits_;
  EndlessMonitors monitors_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AssayClient> client_;
};

TEST_F(CallTest, MutatingCallGetsOneKeyForEveryAttempt) {
  benchmarks_.failures = 2;
  auto stub = v1::BenchmarkService::NewStub(client_->channel());
  ASSERT_OK_AND_ASSIGN(v1::Benchmark bm,
                       Call(*client_, *stub, &v1::BenchmarkService::Stub::CreateBenchmark,
                            v1::CreateBenchmarkRequest(), "CreateBenchmark"));
  EXPECT_EQ(bm.id(), "bm_1");
  ASSERT_THAT(benchmarks_.request_ids, SizeIs(3));
  EXPECT_THAT(benchmarks_.request_ids[0], ::testing::SizeIs(32));
  EXPECT_THAT(benchmarks_.request_ids, Each(benchmarks_.request_ids[0]));
  // A second call is a new operation: a new key.
  benchmarks_.failures = 0;
  ASSERT_OK(Call(*client_, *stub, &v1::BenchmarkService::Stub::CreateBenchmark,
                 v1::CreateBenchmarkRequest(), "CreateBenchmark")
                .status());
  EXPECT_NE(benchmarks_.request_ids[3], benchmarks_.request_ids[0]);
  // A key the caller chose is kept.
  v1::CreateBenchmarkRequest mine;
  mine.set_request_id("my-key");
  ASSERT_OK(
      Call(*client_, *stub, &v1::BenchmarkService::Stub::CreateBenchmark, mine, "CreateBenchmark")
          .status());
  EXPECT_EQ(benchmarks_.request_ids[4], "my-key");
}

TEST_F(CallTest, GivesUpAfterTheAttemptsWithTheServersStatus) {
  benchmarks_.failures = 100;
  auto stub = v1::BenchmarkService::NewStub(client_->channel());
  EXPECT_THAT(
      Call(*client_, *stub, &v1::BenchmarkService::Stub::GetBenchmark, v1::GetBenchmarkRequest(),
           "GetBenchmark", CallKind::kIdempotent),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("GetBenchmark: connection reset")));
  EXPECT_EQ(benchmarks_.get_calls, 4);  // ClientOptions::attempts
}

TEST_F(CallTest, RetriesBusyButNotOtherResourceExhausted) {
  auto stub = v1::BenchmarkService::NewStub(client_->channel());
  benchmarks_.failures = 1;
  benchmarks_.failure = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                     "server is busy: 64 requests already queued; retry later");
  ASSERT_OK(Call(*client_, *stub, &v1::BenchmarkService::Stub::GetBenchmark,
                 v1::GetBenchmarkRequest(), "GetBenchmark", CallKind::kIdempotent)
                .status());
  EXPECT_EQ(benchmarks_.get_calls, 2);
  benchmarks_.get_calls = 0;
  benchmarks_.failure = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "message too large");
  EXPECT_THAT(Call(*client_, *stub, &v1::BenchmarkService::Stub::GetBenchmark,
                   v1::GetBenchmarkRequest(), "GetBenchmark", CallKind::kIdempotent),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(benchmarks_.get_calls, 1);
  // Not transient at all: no retry.
  benchmarks_.get_calls = 0;
  benchmarks_.failure = grpc::Status(grpc::StatusCode::NOT_FOUND, "no benchmark");
  EXPECT_THAT(Call(*client_, *stub, &v1::BenchmarkService::Stub::GetBenchmark,
                   v1::GetBenchmarkRequest(), "GetBenchmark", CallKind::kIdempotent),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(benchmarks_.get_calls, 1);
}

TEST_F(CallTest, NoRetryWhenARepeatCouldActTwice) {
  // CreateApiKey has no request_id: repeating it could make two keys.
  auto stub = v1::TeamService::NewStub(client_->channel());
  EXPECT_THAT(Call(*client_, *stub, &v1::TeamService::Stub::CreateApiKey, v1::CreateApiKeyRequest(),
                   "CreateApiKey"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(teams_.calls.load(), 1);
}

// A key revoke repeats harmlessly, so it is retried without a request_id.
TEST_F(CallTest, IdempotentCallsAreRetriedWithoutAKey) {
  benchmarks_.failures = 2;
  auto stub = v1::BenchmarkService::NewStub(client_->channel());
  ASSERT_OK(Call(*client_, *stub, &v1::BenchmarkService::Stub::GetBenchmark,
                 v1::GetBenchmarkRequest(), "GetBenchmark", CallKind::kIdempotent)
                .status());
  EXPECT_EQ(benchmarks_.get_calls, 3);
}

// The typed clients decide which calls are writes (one key for every attempt) and which are reads
// (retried without one), so a caller cannot get it wrong.
TEST_F(CallTest, TypedClientsCallWithTheConventions) {
  benchmarks_.failures = 2;
  const BenchmarksClient benchmarks(*client_);
  ASSERT_OK_AND_ASSIGN(v1::Benchmark bm, benchmarks.CreateBenchmark(v1::CreateBenchmarkRequest()));
  EXPECT_EQ(bm.id(), "bm_1");
  ASSERT_THAT(benchmarks_.request_ids, SizeIs(3));
  EXPECT_THAT(benchmarks_.request_ids[0], SizeIs(32));
  EXPECT_THAT(benchmarks_.request_ids, Each(benchmarks_.request_ids[0]));
  ASSERT_OK(benchmarks.GetBenchmark("bm_1").status());
  EXPECT_EQ(benchmarks_.get_calls, 3);
  EXPECT_THAT(TeamsClient(*client_).CreateApiKey(v1::CreateApiKeyRequest()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("CreateApiKey: ")));
  EXPECT_EQ(teams_.calls.load(), 1);  // no key: never repeated
}

TEST_F(CallTest, TypedListsFetchEveryPageOrTheLimit) {
  const BenchmarksClient benchmarks(*client_);
  ASSERT_OK_AND_ASSIGN(v1::ListBenchmarksResponse all, benchmarks.ListBenchmarks());
  ASSERT_EQ(all.benchmarks_size(), 2500);
  EXPECT_EQ(all.benchmarks(2499).id(), "bm_2499");
  EXPECT_TRUE(all.next_page_token().empty());
  EXPECT_THAT(benchmarks_.page_sizes, ::testing::ElementsAre(1000, 1000, 1000));
  benchmarks_.page_sizes.clear();
  ASSERT_OK_AND_ASSIGN(v1::ListBenchmarksResponse some, benchmarks.ListBenchmarks(1200));
  ASSERT_EQ(some.benchmarks_size(), 1200);
  EXPECT_EQ(some.benchmarks(1199).id(), "bm_1199");
  EXPECT_THAT(benchmarks_.page_sizes, ::testing::ElementsAre(1000, 200));
}

// Two models × three items, one chunk per model.
irt::ResponseMatrix SmallMatrix() {
  Eigen::MatrixXf y(2, 3);
  y << 1, 0, 1, 0, 1, 1;
  return irt::ResponseMatrix::FromDense({"m1", "m2"}, {"q1", "q2", "q3"}, y).value();
}

TEST_F(CallTest, UploadIsSentAgainAfterABrokenStream) {
  benchmarks_.failures = 1;
  ASSERT_OK_AND_ASSIGN(v1::UploadResponsesResponse r,
                       UploadResponses(*client_, SmallMatrix(), "bm_1", absl::Seconds(10),
                                       /*max_cells=*/3));
  EXPECT_EQ(benchmarks_.upload_streams.load(), 2);
  EXPECT_EQ(r.chunks(), 2);  // the whole upload, from the start, on the second stream
  EXPECT_EQ(r.cells(), 6);
  // A failure that is not transient is returned at once.
  benchmarks_.upload_streams = 0;
  benchmarks_.failures = 5;
  benchmarks_.failure = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "chunk 1: bad cell");
  EXPECT_THAT(UploadResponses(*client_, SmallMatrix(), "bm_1", absl::Seconds(10), 3),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadResponses: chunk 1: bad cell")));
  EXPECT_EQ(benchmarks_.upload_streams.load(), 1);
}

TEST_F(CallTest, WatchFitReconnectsAndReturnsTheFinalState) {
  benchmarks_.failures = 1;
  std::vector<int> seen;
  ASSERT_OK_AND_ASSIGN(v1::Fit fit, WatchFit(*client_, "fit_1", [&](const v1::Fit& f) {
                         seen.push_back(f.iteration());
                         return true;
                       }));
  EXPECT_EQ(fit.state(), v1::FIT_STATE_SUCCEEDED);
  EXPECT_EQ(fit.iteration(), 3);
  EXPECT_THAT(seen, ::testing::ElementsAre(1, 2, 3));
  EXPECT_EQ(benchmarks_.watch_streams.load(), 2);
}

TEST_F(CallTest, WatchAuditReconnectsWithoutRepeatingAState) {
  std::vector<int64_t> revisions;
  ASSERT_OK(WatchAudit(*client_, "aud_1", [&](const v1::AuditUpdate& u) {
    revisions.push_back(u.audit().revision());
    return true;
  }));
  EXPECT_EQ(audits_.streams.load(), 2);
  EXPECT_THAT(revisions, ::testing::ElementsAre(1, 2, 3, 4, 5));  // 2 was sent twice
}

TEST_F(CallTest, WatchStopsWhenTheCallbackSaysSo) {
  std::vector<int64_t> ts;
  ASSERT_OK(WatchMonitor(*client_, "mon_1", [&](const v1::MonitorUpdate& u) {
    ts.push_back(u.monitor().t());
    return ts.size() < 3;
  }));
  EXPECT_THAT(ts, ::testing::ElementsAre(1, 2, 3));
  // A watch with a deadline ends with DEADLINE_EXCEEDED when the stream outlives it.
  WatchOptions options;
  options.timeout = absl::Milliseconds(100);
  EXPECT_THAT(WatchMonitor(
                  *client_, "mon_1", [](const v1::MonitorUpdate&) { return true; }, options),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("WatchMonitor")));
}

}  // namespace
}  // namespace assay::client
