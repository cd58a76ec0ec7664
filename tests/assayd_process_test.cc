// Drives the real assayd and assay binaries: startup on port 0, health over the network with the
// CLI, SIGTERM -> exit 0, and clear startup failures.
#include "tests/testing/assayd_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/storage/sqlite.h"
#include "server/storage/storage.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace assay {
namespace {

using ::testing::HasSubstr;

using testing::PortFromLine;

TEST(AssaydProcessTest, ServesHealthAndExitsZeroOnSigterm) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto server,
                       testing::Subprocess::Start(
                           {ASSAYD_PATH, "--listen", "127.0.0.1:0", "--db", dir.File("assay.db")}));
  ASSERT_OK_AND_ASSIGN(std::string line,
                       server.WaitForLine("listening on port", absl::Seconds(30)));
  const int port = PortFromLine(line);
  ASSERT_GT(port, 0) << line;
  const std::string address = absl::StrCat("127.0.0.1:", port);

  ASSERT_OK_AND_ASSIGN(auto health, testing::Run({ASSAY_CLI_PATH, "--server", address, "health"}));
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_EQ(health.output, "SERVING\n");
  ASSERT_OK_AND_ASSIGN(auto info, testing::Run({ASSAY_CLI_PATH, "--server", address, "info"}));
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_THAT(info.output,
              HasSubstr(absl::StrCat("schema ", storage::Storage::CurrentSchemaVersion())));

  server.Signal(SIGTERM);
  ASSERT_OK_AND_ASSIGN(int status, server.Wait(absl::Seconds(30)));
  ASSERT_TRUE(WIFEXITED(status)) << server.Output();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server.Output();
  EXPECT_THAT(server.Output(), HasSubstr("shutdown complete"));

  // The CLI reports an unreachable server in one line with a non-zero exit.
  ASSERT_OK_AND_ASSIGN(
      auto down, testing::Run({ASSAY_CLI_PATH, "--server", address, "--timeout", "1", "health"}));
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.output, HasSubstr("assay: error: health check:"));
}

TEST(AssaydProcessTest, RefusesDatabaseFromNewerVersion) {
  testing::TempDir dir;
  const std::string db = dir.File("newer.db");
  {
    ASSERT_OK_AND_ASSIGN(auto c, storage::Connection::Open(db));
    ASSERT_OK(c->SetUserVersion(1000));
  }
  ASSERT_OK_AND_ASSIGN(auto result,
                       testing::Run({ASSAYD_PATH, "--listen", "127.0.0.1:0", "--db", db}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.output, HasSubstr("schema version 1000, newer than this assayd understands"));
}

TEST(AssaydProcessTest, BadFlagsExitTwo) {
  ASSERT_OK_AND_ASSIGN(auto result, testing::Run({ASSAYD_PATH, "--workers", "lots"}));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr("--workers"));
  // A scheduling slice the kernel would silently clamp is refused, naming the range.
  ASSERT_OK_AND_ASSIGN(result, testing::Run({ASSAYD_PATH, "--request-slice-us", "50"}));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr("--request-slice-us: must be 0"));
  EXPECT_THAT(result.output, HasSubstr("[100, 100000]"));
}

}  // namespace
}  // namespace assay
