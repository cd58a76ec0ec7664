// client/call.h against a fake server that fails on purpose: idempotency keys are filled in and
// kept across attempts, transient failures are retried only when a repeat is safe.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "assay/v1/benchmarks.grpc.pb.h"
#include "assay/v1/teams.grpc.pb.h"
#include "client/call.h"
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
    server_ = builder.BuildAndStart();
    ASSERT_GT(port, 0);
    ClientOptions options;
    options.server = "127.0.0.1:" + std::to_string(port);
    client_ = std::make_unique<AssayClient>(options);
  }
  void TearDown() override { server_->Shutdown(); }

  FlakyBenchmarks benchmarks_;
  FlakyTeams teams_;
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
           "GetBenchmark", CallKind::kReadOnly),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("GetBenchmark: connection reset")));
  EXPECT_EQ(benchmarks_.get_calls, 4);  // ClientOptions::attempts
}

TEST_F(CallTest, RetriesBusyButNotOtherResourceExhausted) {
  auto stub = v1::BenchmarkService::NewStub(client_->channel());
  benchmarks_.failures = 1;
  benchmarks_.failure = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                     "server is busy: 64 requests already queued; retry later");
  ASSERT_OK(Call(*client_, *stub, &v1::BenchmarkService::Stub::GetBenchmark,
                 v1::GetBenchmarkRequest(), "GetBenchmark", CallKind::kReadOnly)
                .status());
  EXPECT_EQ(benchmarks_.get_calls, 2);
  benchmarks_.get_calls = 0;
  benchmarks_.failure = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "message too large");
  EXPECT_THAT(Call(*client_, *stub, &v1::BenchmarkService::Stub::GetBenchmark,
                   v1::GetBenchmarkRequest(), "GetBenchmark", CallKind::kReadOnly),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(benchmarks_.get_calls, 1);
  // Not transient at all: no retry.
  benchmarks_.get_calls = 0;
  benchmarks_.failure = grpc::Status(grpc::StatusCode::NOT_FOUND, "no benchmark");
  EXPECT_THAT(Call(*client_, *stub, &v1::BenchmarkService::Stub::GetBenchmark,
                   v1::GetBenchmarkRequest(), "GetBenchmark", CallKind::kReadOnly),
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

}  // namespace
}  // namespace assay::client
