// Response upload through gRPC (issue #6): starts the real assayd on a fresh database file and
// uploads a simulated full models × items matrix with one UploadResponses stream (chunks of
// --chunk cells, each durable before the next is read), then uploads it again (every cell
// unchanged). Optionally (--fit) runs a calibration job on it and follows its progress stream,
// while a probe measures how long small durable writes take meanwhile.
//
//   build/tests/bench/upload_bench --assayd build/server/assayd --models 2211 --items 12032
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "client/lib/upload.h"
#include "tests/testing/api.h"
#include "tests/testing/assayd_process.h"
#include "tests/testing/irt_sim.h"

int main(int argc, char** argv) {
  std::string assayd = "build/server/assayd";
  int models = 2211, items = 12032;
  size_t chunk = 0;
  bool fit = false;
  CLI::App app{"response upload benchmark"};
  app.add_option("--assayd", assayd, "path of the assayd binary")->capture_default_str();
  app.add_option("--models", models)->capture_default_str();
  app.add_option("--items", items)->capture_default_str();
  app.add_option("--chunk", chunk, "cells per chunk (0: the client's default for the form)")
      ->capture_default_str();
  app.add_flag("--fit", fit, "also run a fit job on the uploaded matrix");
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
  auto stub = assay::v1::BenchmarkService::NewStub(assay::testing::LocalChannel(port));
  assay::v1::CreateBenchmarkRequest create;
  create.set_name("bench");
  assay::v1::Benchmark bm;
  if (!stub->CreateBenchmark(assay::testing::Ctx(key).get(), create, &bm).ok()) return 1;

  std::printf(
      "models  items        cells  chunk  pass        seconds  cells/s     added  unchanged\n");
  for (const char* pass : {"first", "again"}) {
    const absl::Time start = absl::Now();
    auto context = assay::testing::Ctx(key, absl::Minutes(30));
    auto up = assay::client::UploadResponses(*stub, *context, data.data, bm.id(), chunk);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (!up.ok()) {
      std::fprintf(stderr, "upload failed: %s\n", up.status().ToString().c_str());
      return 1;
    }
    std::printf("%6d %6d %12lld %6zu  %-5s %12.2f %8.3g %9lld %10lld\n", models, items,
                static_cast<long long>(up->cells()), chunk, pass, seconds,
                static_cast<double>(up->cells()) / seconds,
                static_cast<long long>(up->cells_added()),
                static_cast<long long>(up->cells_unchanged()));
    std::fflush(stdout);
  }
  std::printf("database file: %.0f MB\n",
              static_cast<double>(std::filesystem::file_size((*scratch)->db)) / 1e6);

  if (fit) {
    assay::v1::StartFitRequest start_fit;
    start_fit.set_benchmark_id(bm.id());
    assay::v1::Fit started;
    const absl::Time start = absl::Now();
    if (!stub->StartFit(assay::testing::Ctx(key).get(), start_fit, &started).ok()) return 1;
    assay::v1::WatchFitRequest watch;
    watch.set_fit_id(started.id());
    auto context = assay::testing::Ctx(key, absl::Minutes(30));
    auto reader = stub->WatchFit(context.get(), watch);
    // Meanwhile a probe makes one small durable write (CreateBenchmark) every 20 ms: how long a
    // commit waits while the job loads and fits the matrix.
    std::atomic<bool> fit_done{false};
    std::vector<double> probe_ms;
    std::thread probe([&] {
      for (int n = 0; !fit_done; ++n) {
        assay::v1::CreateBenchmarkRequest small;
        small.set_name("probe " + std::to_string(n));
        assay::v1::Benchmark created;
        const absl::Time sent = absl::Now();
        if (!stub->CreateBenchmark(assay::testing::Ctx(key, absl::Minutes(5)).get(), small,
                                   &created)
                 .ok()) {
          std::fprintf(stderr, "probe write failed\n");
          return;
        }
        probe_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - sent));
        absl::SleepFor(absl::Milliseconds(20));
      }
    });
    assay::v1::Fit fit_state;
    int messages = 0;
    while (reader->Read(&fit_state)) ++messages;
    fit_done = true;
    probe.join();
    std::printf(
        "fit job: %s, %d iterations, %.2f s in the job, %.2f s start to final message, "
        "%d progress messages\n",
        assay::v1::FitState_Name(fit_state.state()).c_str(), fit_state.iteration(),
        fit_state.seconds(), absl::ToDoubleSeconds(absl::Now() - start), messages);
    std::sort(probe_ms.begin(), probe_ms.end());
    if (!probe_ms.empty()) {
      std::printf("small writes during the fit: %zu, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                  probe_ms.size(), probe_ms[probe_ms.size() / 2],
                  probe_ms[std::min(probe_ms.size() - 1, probe_ms.size() * 99 / 100)],
                  probe_ms.back());
    }
  }
  return 0;
}
