// Starting the real assayd binary in tests: on port 0, waiting for its "listening on port N" line.
#ifndef ASSAY_TESTS_TESTING_ASSAYD_PROCESS_H_
#define ASSAY_TESTS_TESTING_ASSAYD_PROCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/subprocess.h"

namespace assay::testing {

// Parses "assayd listening on port N" from a log line; 0 if absent.
int PortFromLine(const std::string& line);

struct RunningAssayd {
  Subprocess process;
  int port;
  int http_port = 0;  // with --http in `extra`
};

// Starts `assayd --listen 127.0.0.1:0 --db DB EXTRA...` and waits (≤ 30 s) until it listens (on
// HTTP too when EXTRA has --http).
absl::StatusOr<RunningAssayd> StartAssayd(const std::string& assayd, const std::string& db,
                                          const std::vector<std::string>& extra = {});

// `assayd --db DB team create NAME`: returns the printed admin key.
absl::StatusOr<std::string> CreateTeamWithAssayd(const std::string& assayd, const std::string& db,
                                                 const std::string& name);

// For benchmarks: assayd on a new database in a new directory under $TMPDIR (default /tmp: set
// TMPDIR=/dev/shm to take the disk out of a measurement), with a team "bench" and its
// admin key. Destruction stops the server (SIGTERM) and removes the directory.
struct ScratchAssayd {
  std::string dir, db, key;
  RunningAssayd server;
  ~ScratchAssayd();
};
absl::StatusOr<std::unique_ptr<ScratchAssayd>> StartScratchAssayd(
    const std::string& assayd, const std::vector<std::string>& extra = {});

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_ASSAYD_PROCESS_H_
