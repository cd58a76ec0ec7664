#include "tests/testing/assayd_process.h"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/status_macros.h"
#include "tests/testing/temp_root.h"

namespace assay::testing {

int PortFromLine(const std::string& line) {
  const std::string marker = "listening on port ";
  const size_t at = line.find(marker);
  if (at == std::string::npos) return 0;
  int port = 0;
  const std::string rest = line.substr(at + marker.size());
  if (!absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &port)) return 0;
  return port;
}

absl::StatusOr<RunningAssayd> StartAssayd(const std::string& assayd, const std::string& db,
                                          const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {assayd, "--listen", "127.0.0.1:0", "--db", db};
  argv.insert(argv.end(), extra.begin(), extra.end());
  absl::StatusOr<Subprocess> process = Subprocess::Start(argv);
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> line = process->WaitForLine("listening on port", absl::Seconds(30));
  if (!line.ok()) {
    return absl::Status(line.status().code(),
                        absl::StrCat(line.status().message(), "; output: ", process->Output()));
  }
  const int port = PortFromLine(*line);
  if (port <= 0) return absl::InternalError(absl::StrCat("no port in: ", *line));
  int http_port = 0;
  if (std::find(extra.begin(), extra.end(), "--http") != extra.end()) {
    absl::StatusOr<std::string> http = process->WaitForLine("HTTP/JSON API on", absl::Seconds(30));
    if (!http.ok()) return http.status();
    const std::string url = http->substr(http->find("://") + 3);
    const std::string host_port = url.substr(0, url.find('/'));
    if (!absl::SimpleAtoi(host_port.substr(host_port.rfind(':') + 1), &http_port)) {
      return absl::InternalError(absl::StrCat("no HTTP port in: ", *http));
    }
  }
  return RunningAssayd{*std::move(process), port, http_port};
}

absl::StatusOr<std::string> CreateTeamWithAssayd(const std::string& assayd, const std::string& db,
                                                 const std::string& name) {
  absl::StatusOr<RunResult> run = Run({assayd, "--db", db, "team", "create", name});
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(absl::StrCat("team create failed: ", run->output));
  }
  for (absl::string_view line : absl::StrSplit(run->output, '\n')) {
    if (absl::StartsWith(line, "ak_")) return std::string(line);
  }
  return absl::InternalError(absl::StrCat("no key printed: ", run->output));
}

ScratchAssayd::~ScratchAssayd() {
  server.process.Signal(SIGTERM);
  (void)server.process.Wait(absl::Seconds(60));
  std::filesystem::remove_all(dir);
}

absl::StatusOr<std::unique_ptr<ScratchAssayd>> StartScratchAssayd(
    const std::string& assayd, const std::vector<std::string>& extra) {
  std::string dir = TempRoot() + "/assay_bench_XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat(
        "mkdtemp ", dir, ": ", std::error_code(errno, std::generic_category()).message()));
  }
  const std::string db = dir + "/bench.db";
  ASSIGN_OR_RETURN(std::string key, CreateTeamWithAssayd(assayd, db, "bench"));
  ASSIGN_OR_RETURN(RunningAssayd server, StartAssayd(assayd, db, extra));
  return std::unique_ptr<ScratchAssayd>(
      new ScratchAssayd{dir, db, std::move(key), std::move(server)});
}

}  // namespace assay::testing
