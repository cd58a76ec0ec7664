// Adaptive-testing step latency through gRPC (issue #6): starts the real assayd on a fresh
// database file, uploads a simulated models × items matrix and fits it (the item bank), then runs
// S concurrent sessions, each on its own client thread and channel: NextItems(1) then
// SubmitOutcomes (answers drawn from a model of random ability) until the session stops, or with
// --one-call one SubmitOutcomes per step that also hands out the next item. Every step is durable
// when acknowledged. --think-ms adds the time the model takes to answer (not counted in the
// latencies). Prints latency percentiles of NextItems, SubmitOutcomes and the whole step.
//
//   build/tests/bench/cat_session_bench --assayd build/server/assayd --sessions 100 --items 12032
#include <signal.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "assay/v1/cat.grpc.pb.h"
#include "client/upload.h"
#include "tests/testing/api.h"
#include "tests/testing/assayd_process.h"
#include "tests/testing/irt_sim.h"

namespace {

using assay::testing::Ctx;
namespace v1 = assay::v1;

struct Latencies {
  std::vector<double> next_us, submit_us, step_us;
  int errors = 0;
};

// one_call: a step is one SubmitOutcomes with next_count = 1 (the answer plus the next item in one
// durable round trip); otherwise NextItems then SubmitOutcomes.
Latencies RunSession(int port, const std::string& key, const std::string& benchmark, int max_items,
                     absl::Duration think, bool one_call, uint64_t seed, absl::Notification* go) {
  Latencies out;
  auto stub = v1::CatService::NewStub(assay::testing::LocalChannel(port));
  std::mt19937_64 rng(seed);
  const double theta = std::normal_distribution<double>(0, 1)(rng);
  std::uniform_real_distribution<double> u(0, 1);
  go->WaitForNotification();
  // Sessions start spread over a second, as independent clients would (not all at once): the
  // figures are the steady state of 100 open sessions, not a burst of 100 session starts.
  absl::SleepFor(absl::Seconds(1) * u(rng));
  v1::StartSessionRequest start;
  start.set_benchmark_id(benchmark);
  start.mutable_options()->set_max_items(max_items);
  start.mutable_options()->set_seed(seed);
  v1::CatSession session;
  if (!stub->StartSession(Ctx(key).get(), start, &session).ok()) {
    ++out.errors;
    return out;
  }
  while (!session.finished()) {
    const absl::Time t0 = absl::Now();
    std::string item;
    if (!one_call || session.pending_items().empty()) {
      v1::NextItemsRequest next;
      next.set_session_id(session.id());
      v1::NextItemsResponse items;
      if (!stub->NextItems(Ctx(key).get(), next, &items).ok()) {
        ++out.errors;
        break;
      }
      if (items.items().empty()) break;
      item = items.items(0);
    } else {
      item = session.pending_items(0);
    }
    const absl::Time t1 = absl::Now();
    absl::SleepFor(think);  // the model answering the item
    v1::SubmitOutcomesRequest submit;
    submit.set_session_id(session.id());
    if (one_call) submit.set_next_count(1);
    v1::CatOutcome* o = submit.add_outcomes();
    o->set_item(item);
    // A plausible answer: more likely right for a higher ability (the exact model does not matter
    // for latency).
    o->set_successes(u(rng) < 1 / (1 + std::exp(-theta)) ? 1 : 0);
    const absl::Time t2 = absl::Now();
    if (!stub->SubmitOutcomes(Ctx(key).get(), submit, &session).ok()) {
      ++out.errors;
      break;
    }
    const absl::Time t3 = absl::Now();
    if (t1 > t0 + absl::Microseconds(1)) out.next_us.push_back(absl::ToDoubleMicroseconds(t1 - t0));
    out.submit_us.push_back(absl::ToDoubleMicroseconds(t3 - t2));
    out.step_us.push_back(absl::ToDoubleMicroseconds((t1 - t0) + (t3 - t2)));
  }
  return out;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string assayd = "build/server/assayd";
  int models = 500, items = 12032, sessions = 100, max_items = 50;
  std::string think_list = "0";
  bool one_call = false;
  CLI::App app{"adaptive-testing step latency benchmark"};
  app.add_option("--assayd", assayd, "path of the assayd binary")->capture_default_str();
  app.add_option("--models", models, "models in the calibration data")->capture_default_str();
  app.add_option("--items", items, "items in the bank")->capture_default_str();
  app.add_option("--sessions", sessions, "concurrent sessions")->capture_default_str();
  app.add_option("--max-items", max_items, "items per session")->capture_default_str();
  app.add_option("--think-ms", think_list,
                 "comma-separated pauses between receiving an item and answering it (the model "
                 "at work); 0 = answer at once (saturation)")
      ->capture_default_str();
  app.add_flag("--one-call", one_call,
               "one round trip per step: SubmitOutcomes with next_count = 1 returns the next item");
  CLI11_PARSE(app, argc, argv);

  assay::testing::SimOptions sim;
  sim.models = models;
  sim.items = items;
  sim.missing = 0;
  const assay::testing::Simulated data = assay::testing::Simulate(sim);
  auto scratch = assay::testing::StartScratchAssayd(assayd);
  if (!scratch.ok()) {
    std::fprintf(stderr, "cannot start assayd: %s\n", scratch.status().ToString().c_str());
    return 1;
  }
  const std::string& key = (*scratch)->key;
  const int port = (*scratch)->server.port;
  auto benchmarks = v1::BenchmarkService::NewStub(assay::testing::LocalChannel(port));
  v1::CreateBenchmarkRequest create;
  create.set_name("bank");
  v1::Benchmark bm;
  if (!benchmarks->CreateBenchmark(Ctx(key).get(), create, &bm).ok()) return 1;
  {
    auto context = Ctx(key, absl::Minutes(30));
    if (!assay::client::UploadResponses(*benchmarks, *context, data.data, bm.id()).ok()) return 1;
  }
  v1::StartFitRequest start_fit;
  start_fit.set_benchmark_id(bm.id());
  v1::Fit fit;
  if (!benchmarks->StartFit(Ctx(key).get(), start_fit, &fit).ok()) return 1;
  {
    v1::WatchFitRequest w;
    w.set_fit_id(fit.id());
    auto context = Ctx(key, absl::Minutes(30));
    auto reader = benchmarks->WatchFit(context.get(), w);
    while (reader->Read(&fit)) {
    }
  }
  if (fit.state() != v1::FIT_STATE_SUCCEEDED) return 1;
  std::printf("bank: %d items calibrated on %d models (%.1f s fit job)\n", items, models,
              fit.seconds());

  std::printf("think_ms  steps  steps/s  errors | p50/p99 ms: NextItems     Submit        step\n");
  for (absl::string_view think_text : absl::StrSplit(think_list, ',')) {
    int think_ms = 0;
    if (!absl::SimpleAtoi(think_text, &think_ms)) return 2;
    const absl::Duration think = absl::Milliseconds(think_ms);
    absl::Notification go;
    std::vector<Latencies> results(static_cast<size_t>(sessions));
    std::vector<std::thread> threads;
    for (int s = 0; s < sessions; ++s) {
      threads.emplace_back([&, s] {
        results[static_cast<size_t>(s)] = RunSession(port, key, bm.id(), max_items, think, one_call,
                                                     static_cast<uint64_t>(s) + 1, &go);
      });
    }
    const absl::Time start = absl::Now();
    go.Notify();
    for (auto& t : threads) t.join();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    Latencies all;
    for (const Latencies& r : results) {
      all.next_us.insert(all.next_us.end(), r.next_us.begin(), r.next_us.end());
      all.submit_us.insert(all.submit_us.end(), r.submit_us.begin(), r.submit_us.end());
      all.step_us.insert(all.step_us.end(), r.step_us.begin(), r.step_us.end());
      all.errors += r.errors;
    }
    std::printf("%8d %6zu %8.0f %7d | %6.2f/%-6.2f %6.2f/%-6.2f %6.2f/%-6.2f\n", think_ms,
                all.step_us.size(), static_cast<double>(all.step_us.size()) / seconds, all.errors,
                Percentile(all.next_us, 0.5) / 1000, Percentile(all.next_us, 0.99) / 1000,
                Percentile(all.submit_us, 0.5) / 1000, Percentile(all.submit_us, 0.99) / 1000,
                Percentile(all.step_us, 0.5) / 1000, Percentile(all.step_us, 0.99) / 1000);
    std::fflush(stdout);
  }
  return 0;
}
