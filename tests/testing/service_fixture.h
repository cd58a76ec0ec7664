// A real assay server on loopback (port 0) over a database file in a temporary directory, with
// two teams (alpha, beta: admin keys) and a read-only key of alpha, and stubs for every service.
#ifndef ASSAY_TESTS_TESTING_SERVICE_FIXTURE_H_
#define ASSAY_TESTS_TESTING_SERVICE_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "assay/v1/audit.grpc.pb.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "assay/v1/cat.grpc.pb.h"
#include "assay/v1/compare.grpc.pb.h"
#include "assay/v1/monitor.grpc.pb.h"
#include "assay/v1/teams.grpc.pb.h"
#include "client/lib/upload.h"
#include "server/admin.h"
#include "server/server.h"
#include "tests/testing/api.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace assay::testing {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.path() + "/assay.db";
    ASSERT_OK_AND_ASSIGN(server::CreatedKey a, server::CreateTeam(db_, "alpha"));
    ASSERT_OK_AND_ASSIGN(server::CreatedKey b, server::CreateTeam(db_, "beta"));
    ASSERT_OK_AND_ASSIGN(server::CreatedKey r, server::CreateKey(db_, "alpha", "read", "dash"));
    alpha_ = a.key;
    beta_ = b.key;
    alpha_read_ = r.key;
    StartServer();
  }

  void StartServer() {
    server::ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.db_path = db_;
    options.shutdown_grace = absl::Seconds(2);
    options.fit_threads = 0;  // one per core, as `assay fit`'s default: the same arithmetic
    options.max_live_sessions = max_live_sessions_;
    options.max_live_audits = max_live_audits_;
    options.max_live_monitors = max_live_monitors_;
    options.http_address = http_address_;
    options.http_idle_timeout = http_idle_timeout_;
    options.http_max_body_bytes = http_max_body_bytes_;
    options.http_cors_origin = http_cors_origin_;
    options.http_max_connections = http_max_connections_;
    options.http_heartbeat = absl::Milliseconds(200);
    options.fit_slots = fit_slots_;
    options.team_limits = team_limits_;
    options.limits_refresh = limits_refresh_;
    options.write_hold = write_hold_;
    ASSERT_OK_AND_ASSIGN(server_, server::AssayServer::Start(options));
    auto channel = LocalChannel(server_->port());
    benchmarks_ = v1::BenchmarkService::NewStub(channel);
    cat_ = v1::CatService::NewStub(channel);
    compare_ = v1::CompareService::NewStub(channel);
    audits_ = v1::AuditService::NewStub(channel);
    monitors_ = v1::MonitorService::NewStub(channel);
    teams_ = v1::TeamService::NewStub(channel);
  }

  void RestartServer() {
    server_->Shutdown();
    server_.reset();
    StartServer();
  }

  // Creates a benchmark (as alpha), uploads `data`, fits it and waits; returns the final fit.
  v1::Fit UploadAndFit(const irt::ResponseMatrix& data, const v1::CreateBenchmarkRequest& create,
                       std::string* benchmark_id) {
    v1::Benchmark bm;
    EXPECT_OK(ToAbsl(benchmarks_->CreateBenchmark(Ctx(alpha_).get(), create, &bm)));
    *benchmark_id = bm.id();
    auto context = Ctx(alpha_, absl::Seconds(60));
    EXPECT_OK(client::UploadResponses(*benchmarks_, *context, data, bm.id()).status());
    v1::StartFitRequest start;
    start.set_benchmark_id(bm.id());
    v1::Fit fit;
    EXPECT_OK(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), start, &fit)));
    v1::WatchFitRequest w;
    w.set_fit_id(fit.id());
    auto watch_context = Ctx(alpha_, absl::Seconds(120));
    auto reader = benchmarks_->WatchFit(watch_context.get(), w);
    while (reader->Read(&fit)) {
    }
    EXPECT_OK(ToAbsl(reader->Finish()));
    return fit;
  }

  TempDir dir_;
  size_t max_live_sessions_ = server::ServerOptions().max_live_sessions;
  size_t max_live_audits_ = server::ServerOptions().max_live_audits;
  size_t max_live_monitors_ = server::ServerOptions().max_live_monitors;
  // The HTTP listener: off unless a test sets this (e.g. "127.0.0.1:0") before StartServer.
  std::string http_address_;
  absl::Duration http_idle_timeout_ = absl::Seconds(60);
  size_t http_max_body_bytes_ = server::ServerOptions().http_max_body_bytes;
  std::string http_cors_origin_;
  unsigned http_max_connections_ = server::ServerOptions().http_max_connections;
  int fit_slots_ = server::ServerOptions().fit_slots;
  server::TeamLimits team_limits_;
  absl::Duration write_hold_ = server::ServerOptions().write_hold;
  absl::Duration limits_refresh_ = server::ServerOptions().limits_refresh;
  std::string db_, alpha_, beta_, alpha_read_;
  std::unique_ptr<server::AssayServer> server_;
  std::unique_ptr<v1::BenchmarkService::Stub> benchmarks_;
  std::unique_ptr<v1::CatService::Stub> cat_;
  std::unique_ptr<v1::CompareService::Stub> compare_;
  std::unique_ptr<v1::AuditService::Stub> audits_;
  std::unique_ptr<v1::MonitorService::Stub> monitors_;
  std::unique_ptr<v1::TeamService::Stub> teams_;
};

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_SERVICE_FIXTURE_H_
