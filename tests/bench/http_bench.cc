// The HTTP/JSON adapter against gRPC on the same server and the same run (issue #30): starts the
// real assayd with --http, uploads a simulated models × items matrix (2,211 models by default) and
// fits it, then, in alternating rounds so that both transports see the same machine state:
//  - reads the whole ability table (one page of every model) R times, sequentially, over gRPC
//    (ListAbilities) and over HTTP (GET /v1/benchmarks/{id}/abilities?pageSize=N, JSON, one
//    keep-alive connection), and prints p50/p99 latency of each;
//  - submits labels from T client threads for S seconds, each thread on its own audit, over gRPC
//    (unary SubmitLabel, one channel per thread) and over HTTP (POST .../labels on a keep-alive
//    connection per thread), and prints labels/s of each.
// Every ratio printed is HTTP over gRPC.
//
//   build/tests/bench/http_bench --assayd build/server/assayd

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "assay/v1/audit.grpc.pb.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "client/lib/upload.h"
#include "tests/testing/api.h"
#include "tests/testing/assayd_process.h"
#include "tests/testing/irt_sim.h"
#include "tests/testing/percentile.h"
#include "tests/testing/upload_fit.h"

namespace {

using assay::testing::Ctx;
using assay::testing::Percentile;
namespace v1 = assay::v1;

// One keep-alive HTTP/1.1 connection: request, then a Content-Length body.
class KeepAlive {
 public:
  explicit KeepAlive(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) fd_ = -1;
  }
  ~KeepAlive() {
    if (fd_ >= 0) close(fd_);
  }
  // Returns the status (0 on a transport error); the body in `body`.
  int Call(const std::string& method, const std::string& target, const std::string& key,
           const std::string& payload, std::string* body) {
    std::string req = absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                                   "Authorization: Bearer ", key, "\r\n");
    if (method == "POST") absl::StrAppend(&req, "Content-Length: ", payload.size(), "\r\n");
    absl::StrAppend(&req, "\r\n", payload);
    for (size_t sent = 0; sent < req.size();) {
      const ssize_t n = send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return 0;
      sent += static_cast<size_t>(n);
    }
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Read()) return 0;
    }
    const std::string head = buf_.substr(0, head_end);
    int status = 0;
    if (!absl::SimpleAtoi(head.substr(9, 3), &status)) return 0;
    size_t length = 0;
    const size_t cl = head.find("Content-Length: ");
    if (cl != std::string::npos) {
      if (!absl::SimpleAtoi(head.substr(cl + 16, head.find("\r\n", cl) - cl - 16), &length)) {
        return 0;
      }
    }
    while (buf_.size() < head_end + 4 + length) {
      if (!Read()) return 0;
    }
    *body = buf_.substr(head_end + 4, length);
    buf_.erase(0, head_end + 4 + length);
    return status;
  }

 private:
  bool Read() {
    char chunk[65536];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string buf_;
};

void PrintLatency(const char* what, std::vector<double> us) {
  std::printf("  %-5s p50 %8.2f ms  p99 %8.2f ms  (n=%zu)\n", what, Percentile(us, 0.5) / 1e3,
              Percentile(us, 0.99) / 1e3, us.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::string assayd = "build/server/assayd";
  int models = 2211, items = 200, reads = 200, threads = 4, rounds = 2;
  double seconds = 5;
  CLI::App app{"HTTP/JSON against gRPC on one assayd: table reads and label throughput"};
  app.add_option("--assayd", assayd)->capture_default_str();
  app.add_option("--models", models)->capture_default_str();
  app.add_option("--items", items)->capture_default_str();
  app.add_option("--reads", reads, "ability-table reads per transport per round")
      ->capture_default_str();
  app.add_option("--threads", threads, "label-submitting client threads")->capture_default_str();
  app.add_option("--seconds", seconds, "label submission per transport per round")
      ->capture_default_str();
  app.add_option("--rounds", rounds, "alternating gRPC/HTTP rounds")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto scratch = assay::testing::StartScratchAssayd(assayd, {"--http", "127.0.0.1:0"});
  if (!scratch.ok()) {
    std::fprintf(stderr, "%s\n", scratch.status().ToString().c_str());
    return 1;
  }
  const std::string& key = (*scratch)->key;
  const int port = (*scratch)->server.port, http_port = (*scratch)->server.http_port;
  auto channel = assay::testing::LocalChannel(port);
  auto benchmarks = v1::BenchmarkService::NewStub(channel);

  assay::testing::SimOptions sim;
  sim.models = models;
  sim.items = items;
  const assay::testing::Simulated data = assay::testing::Simulate(sim);
  absl::StatusOr<assay::testing::UploadedFit> uploaded =
      assay::testing::UploadAndFit(*benchmarks, key, data.data, "http-bench");
  if (!uploaded.ok()) {
    std::fprintf(stderr, "%s\n", uploaded.status().ToString().c_str());
    return 1;
  }
  v1::Benchmark bm;
  bm.set_id(uploaded->benchmark_id);
  std::printf("assayd with --http; %d models x %d items fitted\n", models, items);

  // Ability table: gRPC and HTTP, alternating rounds.
  std::vector<double> grpc_us, http_us;
  size_t grpc_bytes = 0, http_bytes = 0;
  KeepAlive http(http_port);
  const std::string target =
      absl::StrCat("/v1/benchmarks/", bm.id(), "/abilities?pageSize=", models);
  for (int round = 0; round < rounds; ++round) {
    for (int r = 0; r < reads; ++r) {
      v1::ListAbilitiesRequest req;
      req.set_benchmark_id(bm.id());
      req.set_page_size(models);
      v1::ListAbilitiesResponse resp;
      const absl::Time t0 = absl::Now();
      if (!benchmarks->ListAbilities(Ctx(key).get(), req, &resp).ok()) return 1;
      grpc_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
      grpc_bytes = resp.ByteSizeLong();
      if (resp.abilities_size() != models) return 1;
    }
    for (int r = 0; r < reads; ++r) {
      std::string body;
      const absl::Time t0 = absl::Now();
      if (http.Call("GET", target, key, "", &body) != 200) return 1;
      http_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
      http_bytes = body.size();
    }
  }
  std::printf("\nability table (%d rows; gRPC %zu bytes, JSON %zu bytes), sequential reads:\n",
              models, grpc_bytes, http_bytes);
  PrintLatency("gRPC", grpc_us);
  PrintLatency("HTTP", http_us);
  std::printf("  HTTP/gRPC: p50 %.2f, p99 %.2f\n",
              Percentile(http_us, 0.5) / Percentile(grpc_us, 0.5),
              Percentile(http_us, 0.99) / Percentile(grpc_us, 0.99));

  // Labels: each thread on an audit of its own with plenty of cases handed out.
  auto audits = v1::AuditService::NewStub(channel);
  std::vector<std::string> audit_ids;
  const int cases_per_audit = 200000;
  for (int t = 0; t < threads; ++t) {
    v1::CreateAuditRequest c;
    c.mutable_config()->set_method(v1::AUDIT_METHOD_SR);
    c.mutable_config()->set_budget(1000000);
    c.mutable_config()->set_max_samples(1000000);
    v1::Audit a;
    if (!audits->CreateAudit(Ctx(key).get(), c, &a).ok()) return 1;
    audit_ids.push_back(a.id());
    for (int first = 0; first < cases_per_audit; first += 1000) {
      v1::HandOutCasesRequest h;
      h.set_audit_id(a.id());
      for (int k = first; k < first + 1000; ++k) h.add_cases()->set_case_id(absl::StrCat("c", k));
      v1::HandOutCasesResponse out;
      if (!audits->HandOutCases(Ctx(key, absl::Minutes(1)).get(), h, &out).ok()) return 1;
    }
  }
  std::vector<int> next_case(static_cast<size_t>(threads), 0);
  const auto run = [&](bool over_http) {
    std::atomic<int64_t> done{0}, errors{0};
    std::vector<std::thread> pool;
    const absl::Time end = absl::Now() + absl::Seconds(seconds);
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        std::mt19937_64 rng(static_cast<uint64_t>(t) + 1);
        std::bernoulli_distribution correct(0.85);
        auto stub = v1::AuditService::NewStub(assay::testing::LocalChannel(port));
        KeepAlive conn(http_port);
        const std::string path = absl::StrCat("/v1/audits/", audit_ids[t], "/labels");
        int& c = next_case[static_cast<size_t>(t)];
        while (absl::Now() < end && c < cases_per_audit) {
          const std::string case_id = absl::StrCat("c", c++);
          const double y = correct(rng) ? 1 : 0;
          bool ok;
          if (over_http) {
            std::string body;
            ok = conn.Call("POST", path, key,
                           absl::StrCat(R"({"caseId":")", case_id, R"(","y":)", y, "}"),
                           &body) == 200;
          } else {
            v1::SubmitLabelRequest l;
            l.set_audit_id(audit_ids[t]);
            l.set_case_id(case_id);
            l.set_y(y);
            v1::SubmitLabelResponse out;
            ok = stub->SubmitLabel(Ctx(key).get(), l, &out).ok();
          }
          (ok ? done : errors)++;
        }
      });
    }
    for (auto& th : pool) th.join();
    return std::make_pair(static_cast<double>(done.load()) / seconds, errors.load());
  };
  std::printf("\nlabel submission, %d client threads, %.0f s per transport per round:\n", threads,
              seconds);
  double grpc_total = 0, http_total = 0;
  for (int round = 0; round < rounds; ++round) {
    const auto [g, ge] = run(false);
    const auto [h, he] = run(true);
    grpc_total += g;
    http_total += h;
    std::printf("  round %d: gRPC %8.0f labels/s (%lld errors)  HTTP %8.0f labels/s (%lld errors)"
                "  HTTP/gRPC %.2f\n",
                round + 1, g, static_cast<long long>(ge), h, static_cast<long long>(he), h / g);
  }
  std::printf("  all rounds: HTTP/gRPC throughput %.2f\n", http_total / grpc_total);
  return 0;
}
