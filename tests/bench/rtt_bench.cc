// The latency floor of the service on this machine: one client, one call at a time, paced (the
// server idle between calls). Against a real assayd on a new database, it times
//   - GetAudit: a read, no commit;
//   - HandOutCases with one case: a durable write of one event (one commit, one WAL sync);
//   - SubmitLabel of that case: the same, plus the audit's update;
// and, in the database's directory, a 4 KiB pwrite + fdatasync without any server (the disk's
// share). A step's latency under load cannot be lower than these; comparing them tells the
// server's part from the machine's.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "assay/v1/audit.grpc.pb.h"
#include "tests/testing/api.h"
#include "tests/testing/assayd_process.h"
#include "tests/testing/percentile.h"

namespace assay {
namespace {

// Runs `call` `n` times, `interval` apart (from start to start), and prints its percentiles.
void Time(const char* name, int n, absl::Duration interval, const std::function<bool(int)>& call) {
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(n));
  int errors = 0;
  absl::Time next = absl::Now();
  for (int i = 0; i < n; ++i) {
    absl::SleepFor(next - absl::Now());
    next += interval;
    const absl::Time start = absl::Now();
    if (!call(i)) ++errors;
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  using testing::Percentile;
  std::printf("%-28s %6d %8.3f %8.3f %8.3f %8.3f %8.3f %6d\n", name, n, Percentile(ms, 0.5),
              Percentile(ms, 0.9), Percentile(ms, 0.99), Percentile(ms, 0.999),
              *std::max_element(ms.begin(), ms.end()), errors);
}

}  // namespace
}  // namespace assay

int main(int argc, char** argv) {
  std::string assayd = "build/server/assayd";
  int calls = 2000;
  double interval_ms = 5;
  CLI::App app{"latency floor: one client, one call at a time, paced"};
  app.add_option("--assayd", assayd, "path of the assayd binary")->capture_default_str();
  app.add_option("--calls", calls, "calls of each kind")->capture_default_str();
  app.add_option("--interval-ms", interval_ms, "from one call's start to the next's")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  using assay::testing::Ctx;
  if (calls < 1 || interval_ms < 0) {
    std::fprintf(stderr, "--calls must be >= 1 and --interval-ms >= 0\n");
    return 2;
  }
  const absl::Duration interval = absl::Milliseconds(interval_ms);

  auto scratch = assay::testing::StartScratchAssayd(assayd);
  if (!scratch.ok()) {
    std::fprintf(stderr, "cannot start assayd: %s\n", scratch.status().ToString().c_str());
    return 1;
  }
  const std::string& key = (*scratch)->key;
  auto stub =
      assay::v1::AuditService::NewStub(assay::testing::LocalChannel((*scratch)->server.port));
  assay::v1::CreateAuditRequest create;
  create.mutable_config()->set_alpha(1e-12);  // keeps running for the whole benchmark
  create.mutable_config()->set_max_samples(10000000);
  assay::v1::Audit audit;
  if (const grpc::Status status = stub->CreateAudit(Ctx(key).get(), create, &audit); !status.ok()) {
    std::fprintf(stderr, "CreateAudit failed: %s\n", status.error_message().c_str());
    return 1;
  }

  std::printf("%-28s %6s %8s %8s %8s %8s %8s %6s\n", "call (ms)", "n", "p50", "p90", "p99", "p99.9",
              "max", "errors");
  assay::Time("GetAudit (read)", calls, interval, [&](int) {
    assay::v1::GetAuditRequest req;
    req.set_audit_id(audit.id());
    assay::v1::Audit out;
    return stub->GetAudit(Ctx(key).get(), req, &out).ok();
  });
  assay::Time("HandOutCases, 1 case", calls, interval, [&](int i) {
    assay::v1::HandOutCasesRequest req;
    req.set_audit_id(audit.id());
    req.add_cases()->set_case_id(absl::StrCat("c", i));
    assay::v1::HandOutCasesResponse out;
    return stub->HandOutCases(Ctx(key).get(), req, &out).ok();
  });
  assay::Time("SubmitLabel", calls, interval, [&](int i) {
    assay::v1::SubmitLabelRequest req;
    req.set_audit_id(audit.id());
    req.set_case_id(absl::StrCat("c", i));
    req.set_y(i % 7 == 0 ? 0.0 : 1.0);
    assay::v1::SubmitLabelResponse out;
    return stub->SubmitLabel(Ctx(key).get(), req, &out).ok();
  });

  // The disk alone: what each durable call above waits for at least once.
  const std::string probe = (*scratch)->dir + "/fdatasync_probe";
  const int fd = open(probe.c_str(), O_RDWR | O_CREAT, 0644);
  if (fd < 0 || ftruncate(fd, 64 * 4096) != 0) {
    std::perror(probe.c_str());
    return 1;
  }
  std::vector<char> page(4096, 1);
  assay::Time("pwrite 4 KiB + fdatasync", calls, interval, [&](int i) {
    return pwrite(fd, page.data(), page.size(), (i % 64) * 4096) == 4096 && fdatasync(fd) == 0;
  });
  close(fd);
  unlink(probe.c_str());
  return 0;
}
