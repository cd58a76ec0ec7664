// Importers on the real harness logs in ../shared/data/fixtures: each reproduces the sample count
// and accuracy the log itself reports (lm-eval results.json, Inspect results.scores); HELM's
// per-instance stats reproduce the exact_match means computed from the file independently
// (10 instances: hellaswag 3 correct, philosophy 1 correct) and, with the run's stats.json beside
// them, the totals HELM itself reports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "client/import/logs.h"
#include "tests/testing/status_matchers.h"

namespace assay::import {
namespace {

using absl_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const std::string kFixtures = ASSAY_SHARED_DATA "/fixtures";

ImportOptions Options(const std::string& metric, const std::string& model) {
  ImportOptions options;
  options.metric = metric;
  options.model = model;
  return options;
}

TEST(ImportLogsTest, LmEvalSamplesWithResults) {
  ASSERT_OK_AND_ASSIGN(ImportResult r,
                       ImportResponses(kFixtures + "/lm_eval/samples_math_perturbed.jsonl"));
  ASSERT_THAT(r.sources, SizeIs(1));
  const SourceSummary& s = r.sources[0];
  EXPECT_EQ(s.format, "lm-eval");
  EXPECT_EQ(s.model, "RylanSchaeffer/mem_Qwen3-93M_minerva_math_rep_0_sbst_1.0000_epch_1_ot_1");
  EXPECT_EQ(s.task, "math_perturbed");
  EXPECT_EQ(s.metric, "exact_match");
  EXPECT_EQ(s.samples, 10);  // the fixture keeps the first 10 lines of the run's samples
  EXPECT_EQ(s.reported_by, "results.json 'math_perturbed_full'");
  EXPECT_EQ(s.reported_samples, 5000);  // the whole run, as results.json says
  EXPECT_DOUBLE_EQ(s.accuracy, 0.0);
  EXPECT_DOUBLE_EQ(s.reported_accuracy, 0.0);
  EXPECT_TRUE(s.skipped.empty());
  EXPECT_EQ(r.responses.num_models(), 1);
  EXPECT_EQ(r.responses.num_items(), 10);
  EXPECT_EQ(r.responses.item_ids()[3], "math_perturbed/3");
}

TEST(ImportLogsTest, HelmRunDirectories) {
  ASSERT_OK_AND_ASSIGN(ImportResult r, ImportResponses(kFixtures + "/helm"));
  ASSERT_THAT(r.sources, SizeIs(2));
  const SourceSummary& hellaswag = r.sources[0];
  EXPECT_EQ(hellaswag.format, "helm");
  EXPECT_EQ(hellaswag.model, "eleutherai/pythia-1b-v0");
  EXPECT_EQ(hellaswag.task, "commonsense:dataset=hellaswag,method=multiple_choice_joint");
  EXPECT_EQ(hellaswag.metric, "exact_match");
  EXPECT_EQ(hellaswag.samples, 10);
  EXPECT_DOUBLE_EQ(hellaswag.accuracy, 0.3);
  const SourceSummary& philosophy = r.sources[1];
  EXPECT_EQ(philosophy.model, "openai/gpt2");
  EXPECT_EQ(philosophy.samples, 10);
  EXPECT_DOUBLE_EQ(philosophy.accuracy, 0.1);
  EXPECT_EQ(r.responses.num_models(), 2);
  EXPECT_EQ(r.responses.num_items(), 20);
  EXPECT_EQ(r.responses.num_observed(), 20);
  // run_spec.json files are read beside their stats, not reported as ignored.
  EXPECT_TRUE(r.ignored_files.empty()) << r.ignored_files[0];
}

TEST(ImportLogsTest, InspectLogsReproduceTheirScores) {
  ASSERT_OK_AND_ASSIGN(ImportResult r, ImportResponses(kFixtures + "/inspect"));
  ASSERT_THAT(r.sources, SizeIs(2));
  for (const SourceSummary& s : r.sources) {
    SCOPED_TRACE(s.path);
    EXPECT_EQ(s.format, "inspect");
    EXPECT_EQ(s.task, "inspect_evals/arc_easy");
    EXPECT_EQ(s.metric, "choice");
    EXPECT_EQ(s.reported_by, "results.scores 'choice'");
    EXPECT_EQ(s.samples, s.reported_samples);
    EXPECT_DOUBLE_EQ(s.accuracy, s.reported_accuracy);
  }
  EXPECT_EQ(r.sources[0].model, "ollama/qwen2.5:0.5b");
  EXPECT_EQ(r.sources[0].samples, 3);
  EXPECT_NEAR(r.sources[0].accuracy, 1.0 / 3, 1e-12);
  EXPECT_EQ(r.sources[1].model, "anthropic/claude-sonnet-4-0");
  EXPECT_EQ(r.sources[1].samples, 5);
  EXPECT_DOUBLE_EQ(r.sources[1].accuracy, 1.0);
  // Both models answered items 1..3: one shared item set.
  EXPECT_EQ(r.responses.num_models(), 2);
  EXPECT_EQ(r.responses.num_items(), 5);
  EXPECT_EQ(r.responses.num_observed(), 8);
}

TEST(ImportLogsTest, WholeFixtureTreeAndUnknownFilesListed) {
  ASSERT_OK_AND_ASSIGN(ImportResult r, ImportResponses(kFixtures));
  ASSERT_THAT(r.sources, SizeIs(5));
  EXPECT_EQ(r.responses.num_models(), 5);
  EXPECT_EQ(r.responses.num_observed(), 10 + 20 + 8);
  ASSERT_THAT(r.ignored_files, SizeIs(1));  // results.json, run_spec.json: read beside their logs
  EXPECT_THAT(r.ignored_files[0], HasSubstr("LICENSE-every-eval-ever: not a recognized log"));
}

class ImportTempTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(dir_);
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_ = ::testing::TempDir() + "/import_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
};

// HELM's aggregate stats.json beside the per-instance file: the run's own sample count and
// accuracy. The fixtures lack it; these entries are copied verbatim (a subset) from the same runs'
// stats.json in evaleval/every_eval_ever (tests/data/helm/..., commit f34dd09, MIT licence, see
// the fixtures' LICENSE-every-eval-ever). Philosophy has 9 test and 1 valid instance.
std::string HelmStat(const std::string& name, const std::string& split, const std::string& m,
                     const std::string& perturbation = "") {
  return "{\"name\":{\"name\":\"" + name + "\",\"split\":\"" + split + "\"" +
         (perturbation.empty() ? "" : ",\"perturbation\":{\"name\":\"" + perturbation + "\"}") +
         "},\"count\":1,\"sum\":" + m + ",\"mean\":" + m + "}";
}

TEST_F(ImportTempTest, HelmStatsJsonGivesTheRunsOwnTotals) {
  for (const char* run : {"commonsense-dataset_hellaswag", "mmlu-subject_philosophy"}) {
    std::filesystem::create_directories(dir_ + "/" + run);
    for (const char* file : {"per_instance_stats.json", "run_spec.json"}) {
      std::filesystem::copy_file(kFixtures + "/helm/" + run + "/" + file,
                                 dir_ + "/" + run + "/" + file);
    }
  }
  Write("commonsense-dataset_hellaswag/stats.json",
        "[" + HelmStat("num_references", "valid", "4.0") + "," +
            HelmStat("exact_match", "valid", "0.3") + "," +
            HelmStat("exact_match", "valid", "0.3", "robustness") + "," +
            HelmStat("num_instances", "valid", "10.0") + "]");
  Write("mmlu-subject_philosophy/stats.json",
        "[" + HelmStat("exact_match", "test", "0.1111111111111111") + "," +
            HelmStat("exact_match", "valid", "0.0") + "," +
            HelmStat("num_instances", "test", "9.0") + "," +
            HelmStat("num_instances", "valid", "1.0") + "]");
  ASSERT_OK_AND_ASSIGN(ImportResult r, ImportResponses(dir_));
  ASSERT_THAT(r.sources, SizeIs(2));
  EXPECT_TRUE(r.ignored_files.empty());  // stats.json is read beside its run, not on its own
  const SourceSummary& hellaswag = r.sources[0];
  EXPECT_EQ(hellaswag.reported_by, "stats.json (valid 10)");
  EXPECT_EQ(hellaswag.reported_samples, hellaswag.samples);
  EXPECT_EQ(hellaswag.reported_samples, 10);
  EXPECT_NEAR(hellaswag.reported_accuracy, hellaswag.accuracy, 1e-6);
  const SourceSummary& philosophy = r.sources[1];
  EXPECT_EQ(philosophy.reported_by, "stats.json (test 9, valid 1)");
  EXPECT_EQ(philosophy.reported_samples, philosophy.samples);
  EXPECT_NEAR(philosophy.reported_accuracy, philosophy.accuracy, 1e-6);  // (9 × 1/9 + 0) / 10
  EXPECT_NEAR(philosophy.accuracy, 0.1, 1e-12);
}

// No real Every Eval Ever instance file is among the fixtures: these lines follow its
// instance_level_eval schema (0.2.1) field for field.
std::string EeeLine(const std::string& model, const std::string& sample, bool correct,
                    double score) {
  return "{\"schema_version\":\"instance_level_eval_0.2.1\",\"evaluation_id\":\"e1\","
         "\"model_id\":\"" +
         model + "\",\"evaluation_name\":\"gsm8k\",\"sample_id\":\"" + sample +
         "\",\"interaction_type\":\"single_turn\",\"input\":{\"raw\":\"q\",\"reference\":[\"4\"]},"
         "\"output\":{\"raw\":[\"4\"]},\"answer_attribution\":[],\"evaluation\":{\"score\":" +
         std::to_string(score) + ",\"is_correct\":" + (correct ? "true" : "false") + "}}\n";
}

TEST_F(ImportTempTest, EveryEvalEverInstances) {
  const std::string path =
      Write("instances.jsonl", EeeLine("org/a", "1", true, 1) + EeeLine("org/a", "2", false, 0.5) +
                                   EeeLine("org/b", "1", true, 1) +
                                   "{\"schema_version\":\"x\",\"model_id\":\"org/b\","
                                   "\"evaluation_name\":\"gsm8k\",\"sample_id\":\"2\","
                                   "\"evaluation\":{}}\n");
  ASSERT_OK_AND_ASSIGN(ImportResult r, ImportResponses(path));
  ASSERT_THAT(r.sources, SizeIs(1));
  EXPECT_EQ(r.sources[0].format, "every-eval-ever");
  EXPECT_EQ(r.sources[0].model, "2 models");
  EXPECT_EQ(r.sources[0].task, "gsm8k");
  EXPECT_EQ(r.sources[0].samples, 3);
  EXPECT_DOUBLE_EQ(r.sources[0].accuracy, 2.0 / 3);
  EXPECT_EQ(r.sources[0].skipped.at("no evaluation.is_correct"), 1);
  EXPECT_THAT(r.responses.item_ids(), ElementsAre("gsm8k/1", "gsm8k/2"));
  ASSERT_OK_AND_ASSIGN(ImportResult scores, ImportResponses(path, Options("score", "")));
  EXPECT_DOUBLE_EQ(scores.sources[0].accuracy, 2.5 / 3);
}

TEST_F(ImportTempTest, MalformedContentFailsWithPathAndLine) {
  const std::string good = EeeLine("org/a", "1", true, 1);
  EXPECT_THAT(ImportResponses(Write("bad.jsonl", good + "{\"schema_version\": oops}\n")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad.jsonl:2: invalid JSON")));
  EXPECT_THAT(
      ImportResponses(Write("noid.jsonl", good + "{\"model_id\":\"m\",\"evaluation\":{}}\n")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("noid.jsonl:2: field 'evaluation_name' missing or empty")));
  EXPECT_THAT(ImportResponses(Write("samples_t.jsonl",
                                    "{\"doc_id\": 0, \"metrics\": [\"acc\"], \"acc\": 1}\n")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pass --model")));
  EXPECT_THAT(ImportResponses(Write("notes.txt", "hello\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("notes.txt: cannot tell the format: not a recognized log")));
  EXPECT_THAT(ImportResponses(dir_ + "/missing"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ImportTempTest, LmEvalFiltersAndOutOfRangeValuesAreSkippedByReason) {
  const std::string path = Write(
      "samples_gsm8k_2025-01-02T03-04-05.678901.jsonl",
      "{\"doc_id\":0,\"filter\":\"strict-match\",\"metrics\":[\"exact_match\"],\"exact_match\":1}\n"
      "{\"doc_id\":0,\"filter\":\"flexible-extract\",\"metrics\":[\"exact_match\"],\"exact_match\":"
      "0}\n"
      "{\"doc_id\":1,\"filter\":\"strict-match\",\"metrics\":[\"exact_match\"],\"exact_match\":0}\n"
      "{\"doc_id\":2,\"filter\":\"strict-match\",\"metrics\":[\"exact_match\"],\"exact_match\":7}"
      "\n");
  ASSERT_OK_AND_ASSIGN(ImportResult r, ImportResponses(path, Options("", "m")));
  const SourceSummary& s = r.sources[0];
  EXPECT_EQ(s.task, "gsm8k");
  EXPECT_EQ(s.metric, "exact_match (filter strict-match)");
  EXPECT_EQ(s.samples, 2);
  EXPECT_EQ(s.skipped.at("filter 'flexible-extract' (using 'strict-match')"), 1);
  EXPECT_EQ(s.skipped.at("exact_match: value outside [0,1]"), 1);
  EXPECT_EQ(s.reported_samples, -1);  // no results.json beside it
}

}  // namespace
}  // namespace assay::import
