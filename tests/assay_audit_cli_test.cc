// Drives `assay audit replay` as a user would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "client/cli/audit_command.h"
#include "client/import/csv.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace assay {
namespace {

using absl_testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The API's form (v1::AuditConfig as proto JSON), what `assay audits create --config` takes.
constexpr char kEwafConfig[] =
    R"({"tau":0.85,"alpha":0.05,"budget":3,"method":"AUDIT_METHOD_SR","max_samples":250,
        "ewaf":true,"model_grid":[0.60,0.655,0.71,0.765,0.82],
        "auditor_grid":[0.88,0.91,0.94],"eta":0.1})";
// The same config in the offline tool's old form, read for one release with a deprecation line.
constexpr char kOldEwafConfig[] =
    R"({"tau":0.85,"alpha":0.05,"budget":3,"method":"sr","max_samples":250,
        "alternative":{"kind":"ewaf","model_grid":[0.60,0.655,0.71,0.765,0.82],
                       "auditor_grid":[0.88,0.91,0.94],"eta":0.1}})";

TEST(AssayAuditCliTest, ReplaysToTheDecisionWithSpecValues) {
  testing::TempDir dir;
  std::ofstream(dir.File("c.json")) << kEwafConfig;
  std::ofstream(dir.File("l.txt")) << "1\n0\n0,math\n1\n0\n\n# comment\n0\n0\n1\n1\n0\n0\n0\n";
  ASSERT_OK_AND_ASSIGN(auto run, testing::Run({ASSAY_CLI_PATH, "audit", "replay", "--config",
                                               dir.File("c.json"), "--labels", dir.File("l.txt")}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_OK_AND_ASSIGN(auto rows, import::ParseCsv(run.output, "stdout"));
  ASSERT_EQ(rows.size(), 11u);  // header + 10 labels, stopped at the decision
  EXPECT_EQ(rows[0].fields[0], "t");
  // t = 10: SR-LR-UI M = 25.0086632189 and A (EWAF) = 0.101795605152 in the spec's table.
  EXPECT_EQ(rows[10].fields[4], "25.0086632189");
  EXPECT_EQ(rows[10].fields[5], "0.101795605152");
  EXPECT_EQ(rows[10].fields[8], "failure_mode_found");
}

TEST(AssayAuditCliTest, TheOldConfigFormGivesTheSameRunWithADeprecationLine) {
  testing::TempDir dir;
  std::ofstream(dir.File("new.json")) << kEwafConfig;
  std::ofstream(dir.File("old.json")) << kOldEwafConfig;
  std::ofstream(dir.File("l.txt")) << "1\n0\n0\n1\n0\n0\n0\n1\n1\n0\n0\n0\n";
  ASSERT_OK_AND_ASSIGN(auto now, testing::Run({ASSAY_CLI_PATH, "audit", "replay", "--config",
                                               dir.File("new.json"), "--labels", dir.File("l.txt")}));
  ASSERT_OK_AND_ASSIGN(auto old, testing::Run({ASSAY_CLI_PATH, "audit", "replay", "--config",
                                               dir.File("old.json"), "--labels", dir.File("l.txt")}));
  ASSERT_EQ(now.exit_code, 0) << now.output;
  ASSERT_EQ(old.exit_code, 0) << old.output;
  EXPECT_THAT(now.output, StartsWith("t,y,"));  // no deprecation line for the API's form
  EXPECT_THAT(old.output, StartsWith("assay: " + dir.File("old.json") + ": deprecated: "));
  EXPECT_THAT(old.output, HasSubstr("\"method\":\"AUDIT_METHOD_SR\""));  // the API's form
  EXPECT_THAT(old.output, HasSubstr(now.output));  // the same rows and decision
  // A file in neither form: the API form's error, naming the file.
  std::ofstream(dir.File("bad.json")) << R"({"tau":0.85,"methd":"AUDIT_METHOD_SR"})";
  ASSERT_OK_AND_ASSIGN(auto bad, testing::Run({ASSAY_CLI_PATH, "audit", "replay", "--config",
                                               dir.File("bad.json"), "--labels", dir.File("l.txt")}));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.output, StartsWith("assay: error: " + dir.File("bad.json") +
                                     ": not a valid AuditConfig: "));
  // The API's form with a value that fails validation names the field.
  std::ofstream(dir.File("tau.json")) << R"({"tau":1.5})";
  ASSERT_OK_AND_ASSIGN(auto tau, testing::Run({ASSAY_CLI_PATH, "audit", "replay", "--config",
                                               dir.File("tau.json"), "--labels", dir.File("l.txt")}));
  EXPECT_EQ(tau.exit_code, 1);
  EXPECT_THAT(tau.output, HasSubstr(dir.File("tau.json") + ": config.tau"));
}

TEST(AssayAuditCliTest, BadInputsFailWithOneClearLine) {
  testing::TempDir dir;
  std::ofstream(dir.File("c.json")) << kEwafConfig;
  std::ofstream(dir.File("bad_labels.txt")) << "1\n0\nmaybe\n";
  ASSERT_OK_AND_ASSIGN(
      auto run, testing::Run({ASSAY_CLI_PATH, "audit", "replay", "--config", dir.File("c.json"),
                              "--labels", dir.File("bad_labels.txt")}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.output, "assay: error: " + dir.File("bad_labels.txt") +
                            ":3: label 'maybe' is not 0, 1 or a score in [0,1]\n");
  ASSERT_OK_AND_ASSIGN(
      auto missing, testing::Run({ASSAY_CLI_PATH, "audit", "replay", "--config",
                                  dir.File("nope.json"), "--labels", dir.File("bad_labels.txt")}));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, StartsWith("assay: error: cannot open"));
}

TEST(AuditConfigJsonTest, ErrorsNameTheField) {
  using client::ParseAuditConfigJson;
  EXPECT_THAT(ParseAuditConfigJson("{", "c.json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("c.json: not valid JSON")));
  EXPECT_THAT(
      ParseAuditConfigJson(R"({"tau":"high"})", "c.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("c.json: tau: must be a number")));
  EXPECT_THAT(
      ParseAuditConfigJson(R"({"taux":0.8})", "c.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("c.json: taux: unknown field")));
  EXPECT_THAT(
      ParseAuditConfigJson(R"({"method":"bayes"})", "c.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("method: must be lr, sr or cusum")));
  EXPECT_THAT(ParseAuditConfigJson(
                  R"({"alternative":{"kind":"ewaf","model_grid":[0.5,"x"],"auditor_grid":[0.9]}})",
                  "c.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("alternative.model_grid[1]: must be a number")));
  EXPECT_THAT(
      ParseAuditConfigJson(
          R"({"alternative":{"kind":"ewaf","model_grid":[0.5],"auditor_grid":[0.8]}})", "c.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alternative.auditor_grid[0]")));
  EXPECT_THAT(ParseAuditConfigJson(R"({"budget":0})", "c.json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("budget: must be >= 1")));
  ASSERT_OK_AND_ASSIGN(
      audit::AuditConfig c,
      ParseAuditConfigJson(
          R"({"tau":0.83,"alternative":{"kind":"fixed","p_model":0.8,"p_auditor":0.86}})",
          "c.json"));
  EXPECT_EQ(c.tau, 0.83);
  EXPECT_EQ(c.alternative.p_auditor, 0.86);
}

}  // namespace
}  // namespace assay
