// One server shared by two teams (issue "A shared service"). Team B, alone, labels cases one at a
// time (back to back, or paced at --b-rate labels/s) and its label latency is measured (twice: how
// much the idle figure moves by itself; the ratio is taken against the lower of the two). Then
// team A uploads a large matrix, queues 5 fits and floods labels from several clients at its write
// limit (each client waiting the server's retry delay when refused), and team B starts a fit of its
// own and labels again, once A's flood has used up its burst (so that A writes at its limit, not
// above it). Prints B's label latency idle and under A's load (the same run), A's accepted label
// rate from then on, the cores each process (and each of assayd's request threads) used, how many
// of A's fits started before B's, how long B's fit waited, and how many of A's fits were still
// queued or running when B's phase ended (none: the phase outlasted A's load).
//
//   build/tests/bench/fairness_bench --assayd build/server/assayd
//   build/tests/bench/fairness_bench --assayd build/server/assayd --fit-slots 1
//   build/tests/bench/fairness_bench --assayd build/server/assayd --a-nice 10
//   build/tests/bench/fairness_bench --assayd build/server/assayd --b-rate 1000 --labels 1000 \
//       --models 2211 --items 12032
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "assay/v1/audit.grpc.pb.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "client/lib/upload.h"
#include "tests/testing/api.h"
#include "tests/testing/assayd_process.h"
#include "tests/testing/http_client.h"
#include "tests/testing/irt_sim.h"
#include "tests/testing/percentile.h"
#include "tests/testing/subprocess.h"

namespace assay {
namespace {

using testing::Ctx;

// The processes this one started (assayd, team A's clients): Die stops them, as exit() runs no
// destructor that would.
std::vector<pid_t> g_children;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fairness_bench: %s\n", what.c_str());
  for (pid_t child : g_children) kill(child, SIGKILL);
  std::exit(1);
}

void Check(const grpc::Status& status, const char* what) {
  if (!status.ok()) Die(absl::StrCat(what, ": ", status.error_message()));
}

// An audit of `cases` cases handed out, labelled by Label().
struct Labeller {
  std::unique_ptr<v1::AuditService::Stub> stub;
  std::string key, audit_id;
  int cases = 0, next = 0;

  Labeller(int port, std::string key_in, int n) : key(std::move(key_in)), cases(n) {
    stub = v1::AuditService::NewStub(testing::OwnConnection(port));
    v1::CreateAuditRequest create;
    create.mutable_config()->set_alpha(1e-12);  // never decides within the benchmark
    create.mutable_config()->set_max_samples(100000000);
    v1::Audit audit;
    Check(stub->CreateAudit(Ctx(key).get(), create, &audit), "CreateAudit");
    audit_id = audit.id();
    for (int start = 0; start < n; start += 1000) {
      v1::HandOutCasesRequest req;
      req.set_audit_id(audit_id);
      for (int i = start; i < std::min(n, start + 1000); ++i)
        req.add_cases()->set_case_id("c" + std::to_string(i));
      v1::HandOutCasesResponse resp;
      Check(stub->HandOutCases(Ctx(key).get(), req, &resp), "HandOutCases");
    }
  }

  // Labels the next case; returns the latency in ms, or the server's retry delay (negative ms)
  // when the team is over its write rate.
  double Label() {
    v1::SubmitLabelRequest req;
    req.set_audit_id(audit_id);
    req.set_case_id("c" + std::to_string(next));
    req.set_y(next % 7 == 0 ? 0.0 : 1.0);
    v1::SubmitLabelResponse resp;
    auto context = Ctx(key);
    const absl::Time start = absl::Now();
    const grpc::Status status = stub->SubmitLabel(context.get(), req, &resp);
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      const auto& trailers = context->GetServerTrailingMetadata();
      auto it = trailers.find("grpc-retry-pushback-ms");
      if (it == trailers.end()) Die("RESOURCE_EXHAUSTED without a retry delay");
      return -std::stod(std::string(it->second.data(), it->second.size()));
    }
    Check(status, "SubmitLabel");
    ++next;
    return ms;
  }
};

// Labels `n` cases one at a time: back to back when `rate` is 0, else the k-th label is sent at
// k / rate seconds from the start (at once when the one before took longer), as a team that labels
// at that rate would.
std::vector<double> LabelOneAtATime(Labeller& b, int n, double rate = 0) {
  std::vector<double> ms;
  const absl::Time start = absl::Now();
  for (int k = 0; k < n; ++k) {
    if (rate > 0) absl::SleepFor(start + absl::Seconds(k / rate) - absl::Now());
    const double m = b.Label();
    if (m < 0) Die("team B was refused a label");
    ms.push_back(m);
  }
  return ms;
}

std::string Benchmark(int port, const std::string& key, const std::string& name, int models,
                      int items) {
  auto stub = v1::BenchmarkService::NewStub(testing::OwnConnection(port));
  v1::CreateBenchmarkRequest create;
  create.set_name(name);
  v1::Benchmark bm;
  Check(stub->CreateBenchmark(Ctx(key).get(), create, &bm), "CreateBenchmark");
  testing::SimOptions sim;
  sim.models = models;
  sim.items = items;
  sim.missing = 0;
  auto context = Ctx(key, absl::Minutes(5));
  absl::Status up =
      client::UploadResponses(*stub, *context, testing::Simulate(sim).data, bm.id()).status();
  if (!up.ok()) Die(up.ToString());
  return bm.id();
}

v1::Fit StartFit(v1::BenchmarkService::Stub& stub, const std::string& key,
                 const std::string& benchmark) {
  v1::StartFitRequest req;
  req.set_benchmark_id(benchmark);
  req.set_make_current(false);
  v1::Fit fit;
  Check(stub.StartFit(Ctx(key).get(), req, &fit), "StartFit");
  return fit;
}

v1::Fit GetFit(v1::BenchmarkService::Stub& stub, const std::string& key,
              const std::string& fit_id) {
  v1::GetFitRequest req;
  req.set_fit_id(fit_id);
  v1::Fit fit;
  Check(stub.GetFit(Ctx(key).get(), req, &fit), "GetFit");
  return fit;
}

v1::FitState StateOf(v1::BenchmarkService::Stub& stub, const std::string& key,
                     const std::string& fit_id) {
  return GetFit(stub, key, fit_id).state();
}

// Team A's label clients, the child process of --flood-port (a process of their own, as if on
// another machine: in one process they would share gRPC's client threads with team B's):
// `flooders` threads, each with a minute's worth of cases handed out before it prints "flooding",
// labelling as fast as the server answers and waiting the server's retry delay when refused, until
// SIGTERM. Counts accepted and refused labels from SIGUSR1 on (the parent sends it once the server
// holds or refuses A's writes: A's burst is spent and it writes at its limit) and prints the
// counts at the end.
std::atomic<bool> g_stop{false}, g_counting{false};
int FloodChild(int port, const std::string& key, int flooders, double rate, int nice) {
  // Before any thread starts: gRPC's threads inherit it.
  if (nice != 0 && setpriority(PRIO_PROCESS, 0, nice) != 0) Die("cannot set team A's nice");
  if (std::signal(SIGTERM, [](int) { g_stop.store(true); }) == SIG_ERR ||
      std::signal(SIGUSR1, [](int) { g_counting.store(true); }) == SIG_ERR) {
    Die("cannot catch SIGTERM and SIGUSR1");
  }
  std::vector<std::unique_ptr<Labeller>> clients;
  clients.reserve(static_cast<size_t>(flooders));
  for (int c = 0; c < flooders; ++c) {
    clients.push_back(
        std::make_unique<Labeller>(port, key, static_cast<int>(60 * rate / flooders) + 1000));
  }
  std::printf("flooding\n");
  if (std::fflush(stdout) != 0) Die("cannot write to stdout");
  std::atomic<bool> counting{false};
  absl::Mutex mu;
  absl::Time counting_since = absl::InfiniteFuture();
  std::atomic<int64_t> accepted{0}, refused{0};  // from then on
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(flooders));
  for (const std::unique_ptr<Labeller>& client : clients) {
    threads.emplace_back([&, a = client.get()] {
      while (!g_stop.load() && a->next < a->cases) {
        if (g_counting.load() && !counting.exchange(true)) {
          absl::MutexLock lock(&mu);
          counting_since = absl::Now();
        }
        const bool count = counting.load();
        const double ms = a->Label();
        if (count) (ms >= 0 ? accepted : refused).fetch_add(1);
        if (ms < 0) absl::SleepFor(absl::Milliseconds(-ms));  // the server's retry delay
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::MutexLock lock(&mu);
  std::printf("accepted %lld refused %lld seconds %.3f\n", static_cast<long long>(accepted.load()),
              static_cast<long long>(refused.load()),
              absl::ToDoubleSeconds(absl::Now() - counting_since));
  return 0;
}

// How many of `team`'s writes the server has held for a token or refused over its write rate, as
// its /metrics says.
int64_t RateLimited(int http_port, const std::string& team) {
  auto metrics = testing::Http(http_port, "GET", "/metrics");
  if (!metrics.ok()) Die("GET /metrics: " + metrics.status().ToString());
  int64_t total = 0;
  for (absl::string_view line : absl::StrSplit(metrics->body, '\n')) {
    const std::string held = absl::StrCat("assay_write_holds_total{team=\"", team, "\"} ");
    const std::string refused =
        absl::StrCat("assay_quota_refusals_total{team=\"", team, "\",limit=\"write_rate\"} ");
    for (const std::string& prefix : {held, refused}) {
      int64_t n = 0;
      if (absl::ConsumePrefix(&line, prefix) && absl::SimpleAtoi(line, &n)) total += n;
    }
  }
  return total;
}

// CPU time (user + system) used so far, in seconds, by the process or thread whose stat(5) file
// is `path`; its name goes to *name when given.
double CpuSeconds(const std::string& path, std::string* name = nullptr) {
  std::ifstream in(path);
  std::string stat;
  try {
    stat.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const std::ios_base::failure&) {
    return 0;  // the thread exited between the listing and the read (ESRCH)
  }
  const size_t comm_start = stat.find('('), comm_end = stat.rfind(')');  // names hold spaces
  if (comm_start == std::string::npos || comm_end == std::string::npos) return 0;  // exited
  if (name != nullptr) *name = stat.substr(comm_start + 1, comm_end - comm_start - 1);
  const std::vector<std::string> fields = absl::StrSplit(stat.substr(comm_end + 2), ' ');
  if (fields.size() < 13) Die("short " + path);
  // Fields 14 and 15 of stat(5), utime and stime, are the 12th and 13th after the name.
  return (std::stod(fields[11]) + std::stod(fields[12])) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds used so far by process `pid`: in all, and by its request path, i.e. its threads
// other than the fits' (assayd names those "assay-fits" and "assay-team-N"; a fit's team threads
// end with the fit, so the fits' share is the rest of the total).
struct ProcessCpu {
  double total = 0, requests = 0;
  std::map<std::string, double> requests_by_thread_name;  // live threads only
};
ProcessCpu CpuOf(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  ProcessCpu cpu;
  cpu.total = CpuSeconds(dir + "/stat");
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(dir + "/task", error)) {
    std::string name;
    const double seconds = CpuSeconds(task.path().string() + "/stat", &name);
    if (!absl::StartsWith(name, "assay-fits") && !absl::StartsWith(name, "assay-team")) {
      cpu.requests += seconds;
      cpu.requests_by_thread_name[name] += seconds;
    }
  }
  return cpu;
}

// One phase's latencies, and how many took over 2 ms (the tail's shape: a few long stalls, or
// many slightly slow labels).
void Print(const char* what, const std::vector<double>& ms) {
  const auto over_2ms = std::count_if(ms.begin(), ms.end(), [](double t) { return t > 2; });
  std::printf("%-34s labels %5zu  p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  over 2 ms %ld\n", what,
              ms.size(), testing::Percentile(ms, 0.5), testing::Percentile(ms, 0.9),
              testing::Percentile(ms, 0.99), static_cast<long>(over_2ms));
}

int Main(int argc, char** argv) {
  std::string assayd;
  int models = 2000, items = 5000, labels = 2000, audits = 5, flooders = 4, slots = 2,
      flood_port = 0, a_nice = 0;
  std::string flood_key;
  double a_rate = 2000, b_rate = 0;
  CLI::App app{"fairness_bench: one team's load against another team's latency and fits"};
  app.add_option("--assayd", assayd, "the assayd binary")->required();
  app.add_option("--models", models, "team A's matrix: models")->capture_default_str();
  app.add_option("--items", items, "team A's matrix: items")->capture_default_str();
  app.add_option("--labels", labels, "team B's labels per audit and phase")->capture_default_str();
  app.add_option("--audits", audits, "team B's audits per phase")->capture_default_str();
  app.add_option("--a-rate", a_rate, "team A's write_rate limit")->capture_default_str();
  app.add_option("--flooders", flooders, "team A's label clients")->capture_default_str();
  app.add_option("--b-rate", b_rate,
                 "team B's labels per second (one at a time, paced; 0: back to back, as fast as "
                 "the server answers)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--a-nice", a_nice,
                 "nice of team A's clients: above 0 they give way to the server and to team B "
                 "for this machine's cores, closer to clients on a machine of their own")
      ->capture_default_str();
  app.add_option("--flood-port", flood_port, "internal: be team A's flood against this port");
  app.add_option("--flood-key", flood_key, "internal: team A's key");
  app.add_option("--fit-slots", slots, "assayd --fit-slots")->capture_default_str();
  std::vector<std::string> extra;
  app.add_option("--assayd-arg", extra,
                 "one more assayd flag (repeatable), e.g. "
                 "--assayd-arg=--request-slice-us=0");
  CLI11_PARSE(app, argc, argv);
  if (flood_port != 0) return FloodChild(flood_port, flood_key, flooders, a_rate, a_nice);

  std::vector<std::string> args = {"--fit-slots", std::to_string(slots), "--limits-refresh", "0.2",
                                   "--http",      "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto scratch = testing::StartScratchAssayd(assayd, args);
  if (!scratch.ok()) Die(scratch.status().ToString());
  g_children.push_back((*scratch)->server.process.pid());
  const int port = (*scratch)->server.port;
  const std::string a_key = (*scratch)->key;  // team "bench"
  auto b_key = testing::CreateTeamWithAssayd(assayd, (*scratch)->db, "team-b");
  if (!b_key.ok()) Die(b_key.status().ToString());
  auto limited = testing::Run({assayd, "--db", (*scratch)->db, "team", "limits", "bench",
                               absl::StrCat("write_rate=", a_rate)});
  if (!limited.ok() || limited->exit_code != 0) Die("assayd team limits failed");
  absl::SleepFor(absl::Milliseconds(500));  // > --limits-refresh

  std::printf(
      "assayd, %d fit slot(s); team A: %d x %d matrix, 5 fits, %d label clients at its "
      "limit of %.0f writes/s (nice %d); team B: one label at a time (%s), %d x %d per phase\n",
      slots, models, items, flooders, a_rate, a_nice,
      b_rate > 0 ? absl::StrCat(b_rate, "/s").c_str() : "back to back", audits, labels);
  const std::string b_bench = Benchmark(port, *b_key, "b", 200, 500);
  // Each phase labels `labels` cases of each of its own `audits` audits in turn, all warmed up
  // alike, so that every phase labels audits in the same state (and none grows large: an audit's
  // snapshots grow with its open cases); the second idle phase measures how far the idle figure
  // itself moves within a run.
  std::vector<std::unique_ptr<Labeller>> b[3];
  for (auto& phase : b) {
    for (int k = 0; k < audits; ++k) {
      phase.push_back(std::make_unique<Labeller>(port, *b_key, labels + 100));
      LabelOneAtATime(*phase.back(), 100);
    }
  }
  auto label_phase = [&](int phase) {
    std::vector<double> ms;
    for (const std::unique_ptr<Labeller>& audit : b[phase]) {
      const std::vector<double> more = LabelOneAtATime(*audit, labels, b_rate);
      ms.insert(ms.end(), more.begin(), more.end());
    }
    return ms;
  };
  const std::vector<double> idle = label_phase(0);
  const std::vector<double> idle_again = label_phase(1);

  const std::string a_bench = Benchmark(port, a_key, "a", models, items);
  auto a_fits = v1::BenchmarkService::NewStub(testing::OwnConnection(port));
  std::vector<v1::Fit> queued;
  queued.reserve(5);
  for (int k = 0; k < 5; ++k) queued.push_back(StartFit(*a_fits, a_key, a_bench));

  auto started = testing::Subprocess::Start(
      {argv[0], "--assayd", assayd, "--flood-port", std::to_string(port), "--flood-key", a_key,
       "--flooders", std::to_string(flooders), "--a-rate", absl::StrCat(a_rate), "--a-nice",
       std::to_string(a_nice)});
  if (!started.ok()) Die(started.status().ToString());
  testing::Subprocess flood = std::move(*started);
  g_children.push_back(flood.pid());
  if (auto seen = flood.WaitForLine("flooding", absl::Minutes(2)); !seen.ok())
    Die(absl::StrCat("team A's flood: ", seen.status().ToString(), "\n", flood.Output()));
  const int http_port = (*scratch)->server.http_port;
  const int64_t limited_before = RateLimited(http_port, "bench");
  for (const absl::Time give_up = absl::Now() + absl::Minutes(2);
       RateLimited(http_port, "bench") == limited_before;) {
    if (absl::Now() > give_up) Die("team A's flood never reached its write rate");
    absl::SleepFor(absl::Milliseconds(5));
  }
  flood.Signal(SIGUSR1);  // A's burst is spent: count from here
  // A's first fit computing (past its first iteration, its matrix loaded), not just out of the
  // queue: on disk the loading alone can outlast B's phase.
  for (v1::Fit first = GetFit(*a_fits, a_key, queued[0].id());
       first.state() == v1::FIT_STATE_QUEUED ||
       (first.state() == v1::FIT_STATE_RUNNING && first.iteration() == 0);
       first = GetFit(*a_fits, a_key, queued[0].id())) {
    absl::SleepFor(absl::Milliseconds(5));
  }

  // B's fit: started while one of A's runs and the rest wait.
  auto b_fits = v1::BenchmarkService::NewStub(testing::OwnConnection(port));
  const absl::Time b_start = absl::Now();
  const v1::Fit b_fit = StartFit(*b_fits, *b_key, b_bench);
  double b_wait = 0;
  int a_started = 0;  // A's fits out of the queue when B's started
  std::thread b_watch([&] {
    while (StateOf(*b_fits, *b_key, b_fit.id()) == v1::FIT_STATE_QUEUED)
      absl::SleepFor(absl::Milliseconds(2));
    b_wait = absl::ToDoubleMilliseconds(absl::Now() - b_start);
    for (const v1::Fit& f : queued)
      a_started += StateOf(*a_fits, a_key, f.id()) != v1::FIT_STATE_QUEUED;
  });
  // Cores in use while B labels: assayd (its request path apart), A's clients, B's (this process).
  const pid_t pids[3] = {(*scratch)->server.process.pid(), flood.pid(), getpid()};
  ProcessCpu before[3], after[3];
  for (int k = 0; k < 3; ++k) before[k] = CpuOf(pids[k]);
  const absl::Time loaded_start = absl::Now();
  const std::vector<double> loaded = label_phase(2);
  const double loaded_seconds = absl::ToDoubleSeconds(absl::Now() - loaded_start);
  for (int k = 0; k < 3; ++k) after[k] = CpuOf(pids[k]);
  int a_left = 0;  // A's fits still queued or running when B's phase ended
  for (const v1::Fit& f : queued) {
    const v1::FitState state = StateOf(*a_fits, a_key, f.id());
    a_left += state == v1::FIT_STATE_QUEUED || state == v1::FIT_STATE_RUNNING;
  }
  auto cores = [&](int k, double ProcessCpu::*part) {
    return (after[k].*part - before[k].*part) / loaded_seconds;
  };
  b_watch.join();
  flood.Signal(SIGTERM);
  if (auto waited = flood.Wait(absl::Minutes(1)); !waited.ok()) Die(waited.status().ToString());
  long long accepted = 0, refused = 0;
  double flood_seconds = 0;
  const std::string printed = flood.Output();
  const size_t at = printed.find("accepted ");
  if (at == std::string::npos ||
      std::sscanf(printed.c_str() + at, "accepted %lld refused %lld seconds %lf", &accepted,
                  &refused, &flood_seconds) != 3) {
    Die("team A's flood printed no counts: " + printed);
  }

  Print("team B, server idle", idle);
  Print("team B, server idle, again", idle_again);
  Print("team B, under team A's load", loaded);
  // Against the lower of the two idle figures: a hiccup in one idle phase must not flatter the
  // ratio.
  const double idle_p99 =
      std::min(testing::Percentile(idle, 0.99), testing::Percentile(idle_again, 0.99));
  std::printf(
      "p99 ratio loaded/idle: %.2f (target <= 2; idle: the lower of the two); idle again/idle: "
      "%.2f (the noise)\n",
      testing::Percentile(loaded, 0.99) / idle_p99,
      testing::Percentile(idle_again, 0.99) / testing::Percentile(idle, 0.99));
  std::printf(
      "team A, once its burst was spent: %.0f labels/s accepted (limit %.0f), %lld refused with a "
      "retry delay\n",
      static_cast<double>(accepted) / flood_seconds, a_rate, refused);
  std::printf(
      "cores in use while B labelled under load (of %u): assayd %.2f (requests %.2f, fits %.2f), "
      "team A's clients %.2f, team B's client %.2f\n",
      std::thread::hardware_concurrency(), cores(0, &ProcessCpu::total),
      cores(0, &ProcessCpu::requests),
      cores(0, &ProcessCpu::total) - cores(0, &ProcessCpu::requests), cores(1, &ProcessCpu::total),
      cores(2, &ProcessCpu::total));
  std::printf("  assayd's request path by thread name (cores):");
  const auto& used_before = before[0].requests_by_thread_name;
  for (const auto& [name, seconds] : after[0].requests_by_thread_name) {
    auto it = used_before.find(name);
    const double used = (seconds - (it == used_before.end() ? 0 : it->second)) / loaded_seconds;
    if (used >= 0.01) std::printf(" %s %.2f", name.c_str(), used);
  }
  std::printf("\n");
  std::printf(
      "team B's fit: running %.0f ms after StartFit (polled every 2 ms); team A's fits "
      "started by then: %d of 5; still queued or running when B's phase ended: %d\n",
      b_wait, a_started, a_left);
  // The server's commits over the whole run: a label waits for the commit in progress, so long
  // ones (a fit's result tables, a chunk of the upload) show in its tail.
  auto metrics = testing::Http((*scratch)->server.http_port, "GET", "/metrics");
  if (metrics.ok()) {
    for (absl::string_view line : absl::StrSplit(metrics->body, '\n')) {
      if (absl::StartsWith(line, "assay_commit_duration_seconds_bucket") ||
          absl::StartsWith(line, "assay_commit_duration_seconds_count") ||
          absl::StartsWith(line, "assay_commit_batch_writes_sum") ||
          absl::StartsWith(line, "assay_commit_batch_writes_count"))
        std::printf("  %s\n", std::string(line).c_str());
    }
  }
  for (const v1::Fit& f : queued) {
    v1::CancelFitRequest cancel;
    cancel.set_fit_id(f.id());
    v1::Fit out;
    a_fits->CancelFit(Ctx(a_key).get(), cancel, &out);
  }
  return 0;
}

}  // namespace
}  // namespace assay

int main(int argc, char** argv) { return assay::Main(argc, argv); }
