// Audit label ingest through gRPC with acknowledged-durable writes (issue #6): starts the real
// assayd on a fresh database file, then C concurrent clients (one channel and one audit each)
// stream labels with at most W unacknowledged per client; a label's latency runs from just before
// its Write to the arrival of its acknowledgement (sent by the server after the commit that holds
// it). With --batch B each message carries B labels (StreamLabelBatches) and each label's latency
// is its message's. Prints throughput and latency percentiles per client count.
//
//   build/tests/bench/ingest_bench --assayd build/server/assayd --clients 1,8,32 --labels 4000
#include <signal.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "assay/v1/audit.grpc.pb.h"
#include "tests/testing/api.h"
#include "tests/testing/assayd_process.h"

namespace assay {
namespace {

using testing::Ctx;

struct ClientResult {
  std::vector<double> latencies_us;
  int errors = 0;
};

// Streams the labels of `ids` in messages of `batch` labels over StreamLabelBatches, at most
// `window` messages unacknowledged; every label's latency is its message's.
ClientResult RunBatchedClient(v1::AuditService::Stub* stub, const std::string& key,
                              const std::string& audit_id, const std::vector<std::string>& ids,
                              int batch, int window, std::mt19937_64& rng) {
  ClientResult result;
  std::bernoulli_distribution outcome(0.85);
  auto context = Ctx(key, absl::Minutes(10));
  auto stream = stub->StreamLabelBatches(context.get());
  absl::Mutex mu;
  absl::CondVar acked;
  std::deque<absl::Time> sent;  // send times of unacknowledged messages, in order
  std::thread reader([&] {
    v1::LabelBatchResponse resp;
    while (stream->Read(&resp)) {
      const absl::Time now = absl::Now();
      absl::MutexLock lock(&mu);
      const double us = absl::ToDoubleMicroseconds(now - sent.front());
      sent.pop_front();
      acked.Signal();
      for (const v1::SubmitLabelResponse& r : resp.results()) {
        result.latencies_us.push_back(us);
        if (r.error_code() != 0) ++result.errors;
      }
      if (resp.error_code() != 0) ++result.errors;
    }
  });
  for (size_t start = 0; start < ids.size(); start += static_cast<size_t>(batch)) {
    v1::LabelBatch message;
    for (size_t i = start; i < std::min(ids.size(), start + static_cast<size_t>(batch)); ++i) {
      v1::SubmitLabelRequest* label = message.add_labels();
      label->set_audit_id(audit_id);
      label->set_case_id(ids[i]);
      label->set_y(outcome(rng) ? 1.0 : 0.0);
    }
    {
      absl::MutexLock lock(&mu);
      while (static_cast<int>(sent.size()) >= window) acked.Wait(&mu);
      sent.push_back(absl::Now());
    }
    if (!stream->Write(message)) break;
  }
  stream->WritesDone();
  reader.join();
  if (!stream->Finish().ok()) ++result.errors;
  return result;
}

// One client: creates its audit, hands out `labels` cases, then streams their labels (one per
// message, or `batch` per message over StreamLabelBatches).
ClientResult RunClient(int port, const std::string& key, int labels, int window, int batch,
                       uint64_t seed, absl::Notification* go) {
  ClientResult result;
  auto stub = v1::AuditService::NewStub(testing::LocalChannel(port));
  v1::CreateAuditRequest create;
  create.mutable_config()->set_alpha(1e-12);  // keeps running for the whole benchmark
  create.mutable_config()->set_max_samples(10000000);
  v1::Audit audit;
  if (!stub->CreateAudit(Ctx(key).get(), create, &audit).ok()) std::abort();
  std::vector<std::string> ids;
  for (int start = 0; start < labels; start += 1000) {
    v1::HandOutCasesRequest req;
    req.set_audit_id(audit.id());
    for (int i = start; i < std::min(labels, start + 1000); ++i) {
      ids.push_back("c" + std::to_string(i));
      req.add_cases()->set_case_id(ids.back());
    }
    v1::HandOutCasesResponse resp;
    if (!stub->HandOutCases(Ctx(key).get(), req, &resp).ok()) std::abort();
  }
  go->WaitForNotification();

  std::mt19937_64 rng(seed);
  std::bernoulli_distribution outcome(0.85);
  if (batch > 1) return RunBatchedClient(stub.get(), key, audit.id(), ids, batch, window, rng);
  auto context = Ctx(key, absl::Minutes(10));
  auto stream = stub->StreamLabels(context.get());
  absl::Mutex mu;
  absl::CondVar acked;
  std::deque<absl::Time> sent;  // send times of unacknowledged labels, in order
  std::thread reader([&] {
    v1::SubmitLabelResponse resp;
    while (stream->Read(&resp)) {
      const absl::Time now = absl::Now();
      absl::MutexLock lock(&mu);
      result.latencies_us.push_back(absl::ToDoubleMicroseconds(now - sent.front()));
      sent.pop_front();
      acked.Signal();
      if (resp.error_code() != 0) ++result.errors;
    }
  });
  for (int i = 0; i < labels; ++i) {
    {
      absl::MutexLock lock(&mu);
      while (static_cast<int>(sent.size()) >= window) acked.Wait(&mu);
      sent.push_back(absl::Now());
    }
    v1::SubmitLabelRequest req;
    req.set_audit_id(audit.id());
    req.set_case_id(ids[static_cast<size_t>(i)]);
    req.set_y(outcome(rng) ? 1.0 : 0.0);
    if (!stream->Write(req)) break;
  }
  stream->WritesDone();
  reader.join();
  if (!stream->Finish().ok()) ++result.errors;
  return result;
}

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace
}  // namespace assay

int main(int argc, char** argv) {
  std::string assayd = "build/server/assayd", clients_list = "1,8,32";
  int labels = 4000, window = 16, batch = 1;
  CLI::App app{"audit label ingest benchmark"};
  app.add_option("--assayd", assayd, "path of the assayd binary")->capture_default_str();
  app.add_option("--clients", clients_list, "client counts to run")->capture_default_str();
  app.add_option("--labels", labels, "labels per client")->capture_default_str();
  app.add_option("--window", window, "unacknowledged labels per client")->capture_default_str();
  app.add_option("--batch", batch,
                 "labels per message (> 1: StreamLabelBatches; the window counts messages)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::printf("batch ");
  std::printf("clients window labels   seconds  labels/s  p50_ms  p99_ms  max_ms errors\n");
  for (absl::string_view c : absl::StrSplit(clients_list, ',')) {
    int clients = 0;
    if (!absl::SimpleAtoi(c, &clients) || clients < 1) return 2;
    auto scratch = assay::testing::StartScratchAssayd(assayd, {"--workers", "2"});
    if (!scratch.ok()) {
      std::fprintf(stderr, "cannot start assayd: %s\n", scratch.status().ToString().c_str());
      return 1;
    }
    const std::string& key = (*scratch)->key;
    const int port = (*scratch)->server.port;
    absl::Notification go;
    std::vector<assay::ClientResult> results(static_cast<size_t>(clients));
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i) {
      threads.emplace_back([&, i] {
        results[static_cast<size_t>(i)] =
            assay::RunClient(port, key, labels, window, batch, static_cast<uint64_t>(i) + 1, &go);
      });
    }
    absl::SleepFor(absl::Seconds(1) + absl::Milliseconds(100) * clients);  // setup done
    const absl::Time start = absl::Now();
    go.Notify();
    for (auto& t : threads) t.join();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::vector<double> all;
    int errors = 0;
    for (auto& r : results) {
      all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
      errors += r.errors;
    }
    const double n = static_cast<double>(all.size());
    const double p50 = assay::Percentile(all, 0.50) / 1000,
                 p99 = assay::Percentile(all, 0.99) / 1000;
    const double max = all.empty() ? 0 : *std::max_element(all.begin(), all.end()) / 1000;
    std::printf("%5d ", batch);
    std::printf("%7d %6d %6.0f %9.2f %9.0f %7.2f %7.2f %7.2f %6d\n", clients, window, n, seconds,
                n / seconds, p50, p99, max, errors);
    std::fflush(stdout);
  }
  return 0;
}
