// Drives `assay fit` as a user would: real MATH-500 file, malformed files, and the output tables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <google/protobuf/util/json_util.h>

#include "assay/v1/benchmarks.pb.h"
#include "client/import/csv.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace assay {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kMath500 = ASSAY_SHARED_DATA "/math500.csv";

// OUT/fit.json read back as the API's Fit message (the file is that message's JSON).
v1::Fit ReadFitJson(const std::string& out) {
  v1::Fit fit;
  absl::StatusOr<std::string> json = import::ReadFile(out + "/fit.json");
  EXPECT_TRUE(json.ok()) << json.status();
  if (!json.ok()) return fit;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &fit).ok()) << *json;
  return fit;
}

TEST(AssayFitCliTest, FitsMath500AndWritesTables) {
  testing::TempDir dir;
  const std::string out = dir.File("out");
  ASSERT_OK_AND_ASSIGN(
      auto run, testing::Run({ASSAY_CLI_PATH, "fit", ASSAY_SHARED_DATA "/math500.csv", "--out", out,
                              "--threads", "2"}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("fit: 140 models x 500 items, 70000 observed cells"));
  EXPECT_THAT(run.output, HasSubstr("converged after"));
  ASSERT_OK_AND_ASSIGN(std::string abilities, import::ReadFile(out + "/abilities.csv"));
  ASSERT_OK_AND_ASSIGN(auto ab_rows, import::ParseCsv(abilities, "abilities.csv"));
  ASSERT_EQ(ab_rows.size(), 141u);
  EXPECT_THAT(abilities, StartsWith("model,theta,se,accuracy,n_items,"));
  ASSERT_OK_AND_ASSIGN(std::string items, import::ReadFile(out + "/items.csv"));
  EXPECT_THAT(items, StartsWith("item,a,b,difficulty,se_a,se_b,p_correct,n_models,flags"));
  ASSERT_OK_AND_ASSIGN(auto item_rows, import::ParseCsv(items, "items.csv"));
  ASSERT_EQ(item_rows.size(), 501u);
  int never = 0;
  for (const auto& row : item_rows)
    never += row.fields[8].find("never_solved") != std::string::npos;
  EXPECT_EQ(never, 11);
  const v1::Fit fit = ReadFitJson(out);
  EXPECT_EQ(fit.state(), v1::FIT_STATE_SUCCEEDED);
  EXPECT_TRUE(fit.converged());
  EXPECT_EQ(fit.normalization(), "theta_mean0_sd1");
  EXPECT_THAT(run.output, HasSubstr("estimator: joint (140 models and 500 items are both >= 100"));
  EXPECT_EQ(fit.method(), v1::FIT_METHOD_JOINT);
  EXPECT_EQ(fit.options().method(), v1::FIT_METHOD_UNSPECIFIED);  // as given: by shape
  EXPECT_EQ(fit.options().stop_rule(), v1::STOP_RULE_PRECISION);
  EXPECT_EQ(fit.options().se_tol(), 0.01);
  EXPECT_EQ(fit.num_models(), 140);
  EXPECT_EQ(fit.num_cells(), 70000);
  EXPECT_GT(fit.iteration(), 0);
  EXPECT_GE(fit.diagnostics().sweeps(), fit.iteration());
  EXPECT_EQ(fit.diagnostics().threads(), 2);
}

// --stop strict runs to numerical convergence (more iterations than the default's precision rule)
// and says so in fit.json; an unknown rule is refused by name.
TEST(AssayFitCliTest, StrictStoppingRuleOnRequest) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(
      auto strict, testing::Run({ASSAY_CLI_PATH, "fit", kMath500, "--out",
                                 dir.File("strict"), "--threads", "2", "--stop", "strict"}));
  ASSERT_EQ(strict.exit_code, 0) << strict.output;
  EXPECT_EQ(ReadFitJson(dir.File("strict")).options().stop_rule(), v1::STOP_RULE_STRICT);
  ASSERT_OK_AND_ASSIGN(
      auto precise, testing::Run({ASSAY_CLI_PATH, "fit", kMath500, "--out",
                                  dir.File("precise"), "--threads", "2"}));
  ASSERT_EQ(precise.exit_code, 0) << precise.output;
  auto iterations = [](const std::string& output) {
    const size_t at = output.find("converged after ");
    return at == std::string::npos ? -1 : std::atoi(output.c_str() + at + 16);
  };
  EXPECT_GT(iterations(strict.output), iterations(precise.output)) << strict.output << precise.output;
  ASSERT_OK_AND_ASSIGN(
      auto bad, testing::Run({ASSAY_CLI_PATH, "fit", kMath500, "--out",
                              dir.File("bad"), "--stop", "loose"}));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.output, HasSubstr("--stop"));
}

// The classic few-items shape: the default picks marginal ML over the models, says so, and the
// tables carry mirt's estimates; --method forces the joint fit, whose discriminations run off.
TEST(AssayFitCliTest, FewItemsGetMarginalMlByDefaultAndMethodForcesJoint) {
  testing::TempDir dir;
  const std::string out = dir.File("lsat7");
  ASSERT_OK_AND_ASSIGN(auto run, testing::Run({ASSAY_CLI_PATH, "fit",
                                               ASSAY_SHARED_DATA "/lsat7.csv", "--out", out}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("estimator: marginal-models (5 items < 100"));
  EXPECT_THAT(run.output, HasSubstr("converged after"));
  const v1::Fit fit = ReadFitJson(out);
  EXPECT_EQ(fit.method(), v1::FIT_METHOD_MARGINAL_MODELS);
  EXPECT_THAT(fit.method_reason(), HasSubstr("5 items < 100"));
  EXPECT_EQ(fit.normalization(), "theta_population_n01");
  ASSERT_OK_AND_ASSIGN(std::string items, import::ReadFile(out + "/items.csv"));
  ASSERT_OK_AND_ASSIGN(auto rows, import::ParseCsv(items, "items.csv"));
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_NEAR(std::stod(rows[3].fields[1]), 1.706, 0.02);  // Q3's a, mirt's value
  EXPECT_NEAR(std::stod(rows[3].fields[2]), 1.804, 0.02);  // its intercept

  ASSERT_OK_AND_ASSIGN(auto joint,
                       testing::Run({ASSAY_CLI_PATH, "fit", ASSAY_SHARED_DATA "/lsat7.csv", "--out",
                                     dir.File("joint"), "--method", "joint"}));
  ASSERT_EQ(joint.exit_code, 0) << joint.output;
  EXPECT_THAT(joint.output, HasSubstr("estimator: joint (forced"));
  ASSERT_OK_AND_ASSIGN(auto bad, testing::Run({ASSAY_CLI_PATH, "fit", ASSAY_SHARED_DATA
                                               "/lsat7.csv", "--out", dir.File("bad"),
                                               "--method", "bayes"}));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.output, HasSubstr("--method"));
  EXPECT_FALSE(std::filesystem::exists(dir.File("bad")));
}

// --shrink-items: the prior lands in fit.json and the discriminations are pulled in.
TEST(AssayFitCliTest, ShrinkItemsWritesThePriorAndNarrowsTheDiscriminations) {
  testing::TempDir dir;
  auto max_a = [](const std::string& items_csv) {
    double m = 0;
    auto rows = import::ParseCsv(items_csv, "items.csv").value();
    for (size_t r = 1; r < rows.size(); ++r) m = std::max(m, std::stod(rows[r].fields[1]));
    return m;
  };
  double plain = 0, shrunk = 0;
  for (const bool shrink : {false, true}) {
    const std::string out = dir.File(shrink ? "shrunk" : "plain");
    std::vector<std::string> args = {ASSAY_CLI_PATH, "fit", ASSAY_SHARED_DATA "/math500.csv",
                                     "--out", out};
    if (shrink) args.push_back("--shrink-items");
    ASSERT_OK_AND_ASSIGN(auto run, testing::Run(args));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const v1::Fit fit = ReadFitJson(out);
    ASSERT_OK_AND_ASSIGN(std::string items, import::ReadFile(out + "/items.csv"));
    (shrink ? shrunk : plain) = max_a(items);
    EXPECT_EQ(fit.options().shrink_items(), shrink);
    EXPECT_EQ(fit.item_prior_mean_size(), shrink ? 1 : 0);
    EXPECT_EQ(fit.item_prior_sd_size(), shrink ? 1 : 0);
  }
  EXPECT_LT(shrunk, plain);
  ASSERT_OK_AND_ASSIGN(
      auto both, testing::Run({ASSAY_CLI_PATH, "fit", ASSAY_SHARED_DATA "/math500.csv", "--out",
                               dir.File("both"), "--shrink-items", "--paper-mode"}));
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_THAT(both.output, HasSubstr("--shrink-items: not with --paper-mode"));
  EXPECT_FALSE(std::filesystem::exists(dir.File("both")));
}

// fit → cat simulate on a real MATH-500 row, as a user would chain them.
TEST(AssayCatCliTest, SimulatesAnAdaptiveTestFromAFittedBank) {
  testing::TempDir dir;
  const std::string out = dir.File("out");
  ASSERT_OK_AND_ASSIGN(auto fit, testing::Run({ASSAY_CLI_PATH, "fit",
                                               ASSAY_SHARED_DATA "/math500.csv", "--out", out}));
  ASSERT_EQ(fit.exit_code, 0) << fit.output;
  ASSERT_OK_AND_ASSIGN(
      auto run, testing::Run({ASSAY_CLI_PATH, "cat", "simulate", "--items", out + "/items.csv",
                              "--responses", ASSAY_SHARED_DATA "/math500.csv", "--row",
                              "01_ai_Yi_34B_zero_shot", "--max-items", "20", "--method", "eap",
                              "--goal", "ability"}));  // maximum information
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_OK_AND_ASSIGN(auto rows, import::ParseCsv(run.output, "stdout"));
  ASSERT_EQ(rows.size(), 23u);  // header, 20 steps, summary header, summary
  EXPECT_EQ(rows[21].fields[0], "items");
  EXPECT_EQ(rows[22].fields[0], "20");
  EXPECT_EQ(rows[22].fields[6], "0.028000");  // the row's true accuracy on MATH-500
  ASSERT_OK_AND_ASSIGN(
      auto assisted,
      testing::Run({ASSAY_CLI_PATH, "cat", "simulate", "--items", out + "/items.csv", "--responses",
                    ASSAY_SHARED_DATA "/math500.csv", "--row", "01_ai_Yi_34B_zero_shot",
                    "--max-items", "20", "--selection", "model-assisted", "--locate-items", "5"}));
  ASSERT_EQ(assisted.exit_code, 0) << assisted.output;
  ASSERT_OK_AND_ASSIGN(auto assisted_rows, import::ParseCsv(assisted.output, "stdout"));
  ASSERT_EQ(assisted_rows.size(), 23u);
  EXPECT_EQ(assisted_rows[22].fields[0], "20");
  // After the 5 located items the choice differs from maximum information.
  bool differs = false;
  for (size_t k = 6; k <= 20; ++k) differs |= assisted_rows[k].fields[1] != rows[k].fields[1];
  EXPECT_TRUE(differs);
  ASSERT_OK_AND_ASSIGN(
      auto missing,
      testing::Run({ASSAY_CLI_PATH, "cat", "simulate", "--items", out + "/items.csv", "--responses",
                    ASSAY_SHARED_DATA "/math500.csv", "--row", "nobody"}));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, HasSubstr("no row named 'nobody'"));
}

// A team's dozen checkpoints: 12 MATH-500 rows fit by marginal-items, whose items.csv carries
// the item posteriors (cov_ab), and an adaptive test of a row outside the 12 runs on that bank.
TEST(AssayCatCliTest, FewModelCalibrationFeedsAnAdaptiveTestWithItemPosteriors) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::string all, import::ReadFile(ASSAY_SHARED_DATA "/math500.csv"));
  std::istringstream lines(all);
  std::string line, twelve;
  for (int r = 0; std::getline(lines, line); ++r) {
    if (r == 0 || (r % 11 == 1 && r < 12 * 11)) twelve += line + "\n";  // header + 12 rows
  }
  const std::string csv = dir.File("twelve.csv");
  std::ofstream(csv) << twelve;
  const std::string out = dir.File("out");
  ASSERT_OK_AND_ASSIGN(auto fit, testing::Run({ASSAY_CLI_PATH, "fit", csv, "--out", out}));
  ASSERT_EQ(fit.exit_code, 0) << fit.output;
  EXPECT_THAT(fit.output, HasSubstr("fit: 12 models x 500 items"));
  EXPECT_THAT(fit.output, HasSubstr("estimator: marginal-items (12 models < 100"));
  ASSERT_OK_AND_ASSIGN(std::string items, import::ReadFile(out + "/items.csv"));
  ASSERT_OK_AND_ASSIGN(auto item_rows, import::ParseCsv(items, "items.csv"));
  ASSERT_EQ(item_rows[0].fields.back(), "cov_ab");
  EXPECT_FALSE(item_rows[1].fields.back().empty());
  ASSERT_OK_AND_ASSIGN(
      auto run, testing::Run({ASSAY_CLI_PATH, "cat", "simulate", "--items", out + "/items.csv",
                              "--responses", ASSAY_SHARED_DATA "/math500.csv", "--row",
                              "01_ai_Yi_34B_zero_shot", "--max-items", "30"}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_OK_AND_ASSIGN(auto rows, import::ParseCsv(run.output, "stdout"));
  ASSERT_EQ(rows.size(), 33u);  // header, 30 steps, summary header, summary
  EXPECT_EQ(rows[32].fields[0], "30");
  // A bad posterior field is reported where it is.
  std::string broken = items;
  broken.replace(broken.rfind(item_rows.back().fields.back()),
                 item_rows.back().fields.back().size(), "x");
  std::ofstream(dir.File("broken.csv")) << broken;
  ASSERT_OK_AND_ASSIGN(
      auto bad, testing::Run({ASSAY_CLI_PATH, "cat", "simulate", "--items", dir.File("broken.csv"),
                              "--responses", ASSAY_SHARED_DATA "/math500.csv", "--row",
                              "01_ai_Yi_34B_zero_shot"}));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.output, HasSubstr("broken.csv:501:"));
}

TEST(AssayFitCliTest, MalformedFileFailsWithLocationAndWritesNothing) {
  testing::TempDir dir;
  const std::string bad = dir.File("bad.csv");
  std::ofstream(bad) << ",q1,q2\nm1,1,0\nm2,1,maybe\n";
  const std::string out = dir.File("out");
  ASSERT_OK_AND_ASSIGN(auto run, testing::Run({ASSAY_CLI_PATH, "fit", bad, "--out", out}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.output, "assay: error: " + bad + ":3:3: cell 'maybe' is not a number\n");
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(AssayFitCliTest, BadOptionIsReported) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(
      auto run, testing::Run({ASSAY_CLI_PATH, "fit", ASSAY_SHARED_DATA "/math500.csv", "--out",
                              dir.File("o"), "--sigma", "-1"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr("assay: error: sigma: must be > 0"));
}

}  // namespace
}  // namespace assay
