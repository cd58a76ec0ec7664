// Adaptive-testing step latency through gRPC (issue #6): starts the real assayd on a fresh
// database file, uploads a simulated models × items matrix and fits it (the item bank), then runs
// S concurrent sessions (callback state machines, see Driver): NextItems(1) then
// SubmitOutcomes (answers drawn from a model of random ability) until the session stops, or with
// --one-call one SubmitOutcomes per step that also hands out the next item. Every step is durable
// when acknowledged. --think-ms adds the time the model takes to answer (not counted in the
// latencies). --basic asks for step replies in the BASIC view. Prints latency percentiles of
// NextItems, SubmitOutcomes and the whole step.
//
//   build/tests/bench/cat_session_bench --assayd build/server/assayd --sessions 100 --items 12032

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <queue>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "assay/v1/cat.grpc.pb.h"
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

struct Latencies {
  std::vector<double> next_us, submit_us, step_us;
  int errors = 0;
};

// The sessions as callback state machines on gRPC's threads, woken after their think time by one
// timer loop (the caller's thread): the load generator shares the server's 2 vCPUs, and a thread
// per session (100 threads waking and sleeping) took a fifth of the machine and added its own
// scheduling delays to the latencies it measured.
class Driver {
 public:
  Driver(v1::CatService::Stub* stub, std::string key, std::string benchmark, int max_items,
         absl::Duration think, bool one_call, v1::CatSessionView view)
      : stub_(stub),
        key_(std::move(key)),
        benchmark_(std::move(benchmark)),
        max_items_(max_items),
        think_(think),
        one_call_(one_call),
        view_(view) {}

  // Runs `count` sessions to their end, started at random times within the first second (as
  // independent clients would: the figures are the steady state of open sessions, not a burst
  // of starts). Returns every session's latencies.
  Latencies Run(int count) {
    sessions_.resize(static_cast<size_t>(count));
    std::mt19937_64 rng(12345);
    const absl::Time now = absl::Now();
    for (int s = 0; s < count; ++s) {
      Session& session = sessions_[static_cast<size_t>(s)];
      session.rng.seed(static_cast<uint64_t>(s) + 1);
      session.theta = std::normal_distribution<double>(0, 1)(session.rng);
      session.seed = static_cast<uint64_t>(s) + 1;
      Schedule(s, now + absl::Seconds(1) * std::uniform_real_distribution<double>(0, 1)(rng),
               Action::kStart);
    }
    {
      absl::MutexLock lock(&mu_);
      running_ = count;
    }
    TimerLoop();  // on this thread, until every session has finished
    Latencies all;
    for (const Session& s : sessions_) {
      all.next_us.insert(all.next_us.end(), s.lat.next_us.begin(), s.lat.next_us.end());
      all.submit_us.insert(all.submit_us.end(), s.lat.submit_us.begin(), s.lat.submit_us.end());
      all.step_us.insert(all.step_us.end(), s.lat.step_us.begin(), s.lat.step_us.end());
      all.errors += s.lat.errors;
    }
    return all;
  }

 private:
  enum class Action { kStart, kNext, kSubmit };
  struct Session {
    std::mt19937_64 rng;
    double theta = 0;
    uint64_t seed = 0;
    std::unique_ptr<grpc::ClientContext> context;
    v1::StartSessionRequest start;
    v1::NextItemsRequest next;
    v1::NextItemsResponse items;
    v1::SubmitOutcomesRequest submit;
    v1::CatSession state;
    std::string item;
    absl::Time sent;
    double next_us = 0;  // this step's NextItems latency (0 with one_call)
    Latencies lat;
  };
  struct Due {
    absl::Time at;
    int session;
    Action action;
    bool operator>(const Due& o) const { return at > o.at; }
  };

  void Schedule(int s, absl::Time at, Action action) {
    absl::MutexLock lock(&mu_);
    queue_.push({at, s, action});
    ++changes_;
  }

  void Finish() {
    absl::MutexLock lock(&mu_);
    --running_;
    ++changes_;
  }

  // Issues each action when due. Sleeps until the earliest due time; a Schedule() or Finish()
  // (which may bring an earlier one, or the end) wakes it.
  void TimerLoop() {
    for (;;) {
      Due due;
      {
        absl::MutexLock lock(&mu_);
        for (;;) {
          if (running_ == 0) return;
          if (!queue_.empty() && queue_.top().at <= absl::Now()) break;
          const uint64_t seen = changes_;
          auto changed = [this, seen] { return changes_ != seen; };
          mu_.AwaitWithDeadline(absl::Condition(&changed),
                                queue_.empty() ? absl::InfiniteFuture() : queue_.top().at);
        }
        due = queue_.top();
        queue_.pop();
      }
      Issue(due.session, due.action);
    }
  }

  void Issue(int s, Action action) {
    Session& session = sessions_[static_cast<size_t>(s)];
    session.context = Ctx(key_);
    switch (action) {
      case Action::kStart:
        session.start.set_benchmark_id(benchmark_);
        session.start.mutable_options()->set_max_items(max_items_);
        session.start.mutable_options()->set_seed(session.seed);
        stub_->async()->StartSession(
            session.context.get(), &session.start, &session.state,
            [this, s](grpc::Status status) { AfterState(s, status, /*started=*/true); });
        return;
      case Action::kNext:
        session.next.set_session_id(session.state.id());
        session.next.set_view(view_);
        session.sent = absl::Now();
        stub_->async()->NextItems(session.context.get(), &session.next, &session.items,
                                  [this, s](grpc::Status status) { AfterNext(s, status); });
        return;
      case Action::kSubmit: {
        session.submit.Clear();
        session.submit.set_session_id(session.state.id());
        if (one_call_) session.submit.set_next_count(1);
        session.submit.set_view(view_);
        v1::CatOutcome* o = session.submit.add_outcomes();
        o->set_item(session.item);
        // A plausible answer: more likely right for a higher ability (the exact model does not
        // matter for latency).
        const double u = std::uniform_real_distribution<double>(0, 1)(session.rng);
        o->set_successes(u < 1 / (1 + std::exp(-session.theta)) ? 1 : 0);
        session.sent = absl::Now();
        stub_->async()->SubmitOutcomes(
            session.context.get(), &session.submit, &session.state,
            [this, s](grpc::Status status) { AfterState(s, status, /*started=*/false); });
        return;
      }
    }
  }

  void AfterNext(int s, const grpc::Status& status) {
    Session& session = sessions_[static_cast<size_t>(s)];
    const absl::Time now = absl::Now();
    if (!status.ok() || session.items.items().empty()) {
      session.lat.errors += status.ok() ? 0 : 1;
      Finish();
      return;
    }
    session.next_us = absl::ToDoubleMicroseconds(now - session.sent);
    session.lat.next_us.push_back(session.next_us);
    session.item = session.items.items(0);
    Schedule(s, now + think_, Action::kSubmit);  // the model answering the item
  }

  // After StartSession or SubmitOutcomes (both return the session).
  void AfterState(int s, const grpc::Status& status, bool started) {
    Session& session = sessions_[static_cast<size_t>(s)];
    const absl::Time now = absl::Now();
    if (!status.ok()) {
      ++session.lat.errors;
      Finish();
      return;
    }
    if (!started) {
      const double us = absl::ToDoubleMicroseconds(now - session.sent);
      session.lat.submit_us.push_back(us);
      session.lat.step_us.push_back(session.next_us + us);
      session.next_us = 0;
    }
    if (session.state.finished()) {
      Finish();
    } else if (one_call_ && !session.state.pending_items().empty()) {
      session.item = session.state.pending_items(0);
      Schedule(s, now + think_, Action::kSubmit);
    } else {
      Schedule(s, now, Action::kNext);
    }
  }

  v1::CatService::Stub* const stub_;
  const std::string key_, benchmark_;
  const int max_items_;
  const absl::Duration think_;
  const bool one_call_;
  const v1::CatSessionView view_;
  std::vector<Session> sessions_;  // sized before the first call, never resized after
  absl::Mutex mu_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> queue_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t changes_ ABSL_GUARDED_BY(mu_) = 0;  // Schedule() and Finish() calls, to wake the timer
};

}  // namespace

int main(int argc, char** argv) {
  std::string assayd = "build/server/assayd";
  int models = 500, items = 12032, sessions = 100, max_items = 50;
  std::string think_list = "0";
  bool one_call = false, basic = false;
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
  app.add_flag("--basic", basic,
               "step replies in the BASIC view (no options, no outcome history) instead of FULL");
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
  absl::StatusOr<assay::testing::UploadedFit> uploaded =
      assay::testing::UploadAndFit(*benchmarks, key, data.data, "bank");
  if (!uploaded.ok()) {
    std::fprintf(stderr, "%s\n", uploaded.status().ToString().c_str());
    return 1;
  }
  const v1::Fit& fit = uploaded->fit;
  v1::Benchmark bm;
  bm.set_id(uploaded->benchmark_id);
  std::printf("bank: %d items calibrated on %d models (%.1f s fit job)\n", items, models,
              fit.seconds());

  std::printf("think_ms  steps  steps/s  errors | p50/p99 ms: NextItems     Submit        step\n");
  for (absl::string_view think_text : absl::StrSplit(think_list, ',')) {
    int think_ms = 0;
    if (!absl::SimpleAtoi(think_text, &think_ms)) return 2;
    const absl::Duration think = absl::Milliseconds(think_ms);
    auto stub = v1::CatService::NewStub(assay::testing::LocalChannel(port));
    Driver driver(stub.get(), key, bm.id(), max_items, think, one_call,
                  basic ? v1::CAT_SESSION_VIEW_BASIC : v1::CAT_SESSION_VIEW_FULL);
    const absl::Time start = absl::Now();
    const Latencies all = driver.Run(sessions);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("%8d %6zu %8.0f %7d | %6.2f/%-6.2f %6.2f/%-6.2f %6.2f/%-6.2f\n", think_ms,
                all.step_us.size(), static_cast<double>(all.step_us.size()) / seconds, all.errors,
                Percentile(all.next_us, 0.5) / 1000, Percentile(all.next_us, 0.99) / 1000,
                Percentile(all.submit_us, 0.5) / 1000, Percentile(all.submit_us, 0.99) / 1000,
                Percentile(all.step_us, 0.5) / 1000, Percentile(all.step_us, 0.99) / 1000);
    std::fflush(stdout);
  }
  return 0;
}
