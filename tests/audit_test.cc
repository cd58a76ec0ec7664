// Audit core: the spec's test vectors, predictability with outstanding cases, validation,
// serialization and replay, e-BH.
#include "core/audit/audit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tests/testing/audit_mc.h"
#include "tests/testing/status_matchers.h"

namespace assay::audit {
namespace {

using absl_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The spec's test-vector setting: the paper's alternatives and grids at τ = 0.85, with m = 3.
AuditConfig VectorConfig(Method method, bool ewaf) {
  AuditConfig c = testing::PaperConfig(testing::PaperMethod::kLr, /*budget=*/3);
  c.alpha = 1e-12;  // no decision: the vectors run to t = 10
  c.max_samples = 1000;
  c.method = method;
  c.alternative.ewaf = ewaf;
  return c;
}

// shared/docs/audit.md, "Test vectors": t, then LR M, SR-LR M, CUSUM M, LR-UI M, SR-LR-UI M,
// A fixed 0.90, A EWAF.
const double kVectors[][8] = {
    {1, 0.964705882353, 0.321568627451, 0.321568627451, 0.835294117647, 0.278431372549, 1, 1},
    {2, 1.15764705882, 0.785882352941, 0.4, 1.61012630342, 1.17924743349, 1, 1},
    {3, 1.38917647059, 1.34305882353, 0.48, 3.12704493478, 2.93760061884, 0.666666666667, 0.6},
    {5, 1.60817605536, 1.55478809689, 0.555670588235, 5.07061301827, 4.7634224167, 0.470588235294,
     0.387796876421},
    {7, 2.31577351972, 2.23889485952, 0.800165647059, 19.7234584176, 18.5285612653, 0.209150326797,
     0.144790277401},
    {10, 2.58623022504, 2.50037298858, 0.89361613467, 26.6214587315, 25.0086632189, 0.156319967433,
     0.101795605152},
};
const double kLabels[] = {1, 0, 0, 1, 0, 0, 0, 1, 1, 0};

// The spec prints 12 significant digits; relative error 1e-10 is what that precision allows.
void ExpectColumn(const AuditConfig& config, int column, bool auditor) {
  ASSERT_OK_AND_ASSIGN(Audit audit, Audit::Create(config));
  size_t row = 0;
  for (int t = 1; t <= 10; ++t) {
    ASSERT_OK_AND_ASSIGN(Step step, audit.Observe(kLabels[t - 1]));
    if (row < std::size(kVectors) && kVectors[row][0] == t) {
      const double want = kVectors[row][column];
      const double got = auditor ? step.e_auditor : step.e_model;
      EXPECT_LE(std::abs(got - want) / want, 1e-10)
          << "column " << column << " t=" << t << " got " << got;
      ++row;
    }
  }
  EXPECT_EQ(row, std::size(kVectors));
}

TEST(AuditVectorsTest, ModelNullStatistics) {
  ExpectColumn(VectorConfig(Method::kLr, false), 1, false);
  ExpectColumn(VectorConfig(Method::kSr, false), 2, false);
  ExpectColumn(VectorConfig(Method::kCusum, false), 3, false);
  ExpectColumn(VectorConfig(Method::kLr, true), 4, false);
  ExpectColumn(VectorConfig(Method::kSr, true), 5, false);
}

TEST(AuditVectorsTest, AuditorNullStatistics) {
  ExpectColumn(VectorConfig(Method::kLr, false), 6, true);
  ExpectColumn(VectorConfig(Method::kLr, true), 7, true);
}

TEST(AuditTest, BudgetOneMakesAllMethodsCoincide) {
  std::vector<double> e[3];
  const Method methods[] = {Method::kLr, Method::kSr, Method::kCusum};
  for (int k = 0; k < 3; ++k) {
    AuditConfig c = VectorConfig(methods[k], true);
    c.budget = 1;
    ASSERT_OK_AND_ASSIGN(Audit a, Audit::Create(c));
    for (double y : kLabels) {
      ASSERT_OK_AND_ASSIGN(Step s, a.Observe(y));
      e[k].push_back(s.e_model);
    }
  }
  for (size_t t = 0; t < e[0].size(); ++t) {
    EXPECT_NEAR(e[1][t], e[0][t], 1e-12 * e[0][t]);
    EXPECT_NEAR(e[2][t], e[0][t], 1e-12 * e[0][t]);
  }
}

TEST(AuditTest, DecisionRuleAndPValues) {
  AuditConfig c = VectorConfig(Method::kLr, false);
  c.alpha = 0.05;
  c.budget = 1;
  ASSERT_OK_AND_ASSIGN(Audit a, Audit::Create(c));
  // All wrong: M grows by (0.18/0.15) = 1.2 per label; 1.2^17 = 22.2 ≥ 20 first at t = 17.
  Step last{};
  for (int t = 1; t <= 17; ++t) {
    ASSERT_OK_AND_ASSIGN(last, a.Observe(0));
    if (t < 17) {
      EXPECT_EQ(last.decision, Decision::kNone) << t;
    }
  }
  EXPECT_EQ(last.decision, Decision::kFailureModeFound);
  EXPECT_EQ(a.decision_time(), 17);
  EXPECT_NEAR(a.p_value_model(), std::pow(1.2, -17), 1e-15);
  EXPECT_THAT(a.Observe(1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already decided")));

  c.max_samples = 3;
  ASSERT_OK_AND_ASSIGN(Audit b, Audit::Create(c));
  ASSERT_OK(b.Observe(1).status());
  ASSERT_OK(b.Observe(0).status());
  ASSERT_OK_AND_ASSIGN(Step s, b.Observe(1));
  EXPECT_EQ(s.decision, Decision::kInconclusive);
}

TEST(AuditTest, LabelsMergeInHandOutOrderWithBetsFixedAtHandOut) {
  AuditConfig c = VectorConfig(Method::kSr, true);
  ASSERT_OK_AND_ASSIGN(Audit a, Audit::Create(c));
  ASSERT_OK_AND_ASSIGN(Event e1, a.HandOut("c1"));
  ASSERT_OK_AND_ASSIGN(Event e2, a.HandOut("c2"));
  // Both bets were fixed from the same (empty) past.
  EXPECT_EQ(e1.p_model, e2.p_model);
  std::vector<Step> merged;
  ASSERT_OK(a.SubmitLabel("c2", 0, &merged).status());
  EXPECT_TRUE(merged.empty());  // waits for c1
  EXPECT_EQ(a.tested(), 0);
  ASSERT_OK(a.SubmitLabel("c1", 1, &merged).status());
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].y, 1);
  EXPECT_EQ(merged[1].y, 0);
  EXPECT_EQ(merged[1].p_model, e2.p_model);
  // A later hand-out sees both labels: its bet differs.
  ASSERT_OK_AND_ASSIGN(Event e3, a.HandOut("c3"));
  EXPECT_NE(e3.p_model, e1.p_model);
}

TEST(AuditTest, VoidOnlyBeforeLabelAndItUnblocksLaterLabels) {
  ASSERT_OK_AND_ASSIGN(Audit a, Audit::Create(VectorConfig(Method::kLr, false)));
  ASSERT_OK(a.HandOut("a").status());
  ASSERT_OK(a.HandOut("b").status());
  ASSERT_OK(a.SubmitLabel("b", 1).status());
  EXPECT_THAT(a.Void("b"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("can no longer be voided")));
  std::vector<Step> merged;
  ASSERT_OK(a.Void("a").status());
  EXPECT_EQ(a.tested(), 1);  // b merged once a was voided
  EXPECT_THAT(a.SubmitLabel("a", 1), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(a.SubmitLabel("b", 1), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(a.SubmitLabel("zzz", 1),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("never handed out")));
  ASSERT_OK(a.HandOut("c").status());
  EXPECT_THAT(a.HandOut("c"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(a.SubmitLabel("c", 1.5),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("label")));
  EXPECT_THAT(a.SubmitLabel("c", std::nan("")), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(a.SubmitLabel("c", 0.5).status());  // bounded score
  EXPECT_THAT(a.SubmitLabel("c", 0.5), StatusIs(absl::StatusCode::kNotFound));
}

TEST(AuditConfigTest, ValidationNamesTheField) {
  AuditConfig c = VectorConfig(Method::kLr, false);
  c.tau = 1;
  EXPECT_THAT(Audit::Create(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tau")));
  c = VectorConfig(Method::kLr, false);
  c.alternative.p_model = 0.9;
  EXPECT_THAT(Audit::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alternative.p_model")));
  c = VectorConfig(Method::kLr, false);
  c.alternative.p_auditor = 0.8;
  EXPECT_THAT(Audit::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alternative.p_auditor")));
  c = VectorConfig(Method::kLr, true);
  c.alternative.model_grid = {0.5, 0.0};
  EXPECT_THAT(Audit::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model_grid[1]")));
  c = VectorConfig(Method::kLr, true);
  c.alternative.auditor_grid = {0.84};
  EXPECT_THAT(Audit::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("auditor_grid[0]")));
  c = VectorConfig(Method::kLr, true);
  c.alternative.eta = 0;
  EXPECT_THAT(Audit::Create(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("eta")));
  c = VectorConfig(Method::kLr, false);
  c.alpha = 1;
  EXPECT_THAT(Audit::Create(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alpha")));
  c = VectorConfig(Method::kLr, false);
  c.budget = 0;
  EXPECT_THAT(Audit::Create(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("budget")));
  EXPECT_THAT(ParseMethod("bayes"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("method")));
}

TEST(AuditTest, SerializeAndReplayReproduceStateExactly) {
  AuditConfig c = VectorConfig(Method::kSr, true);
  c.alpha = 0.05;
  c.cs_grid = 200;  // the confidence sequences are part of the state too
  c.max_samples = 100000;
  ASSERT_OK_AND_ASSIGN(Audit live, Audit::Create(c));
  std::vector<Event> log;
  std::mt19937_64 rng(5);
  std::bernoulli_distribution coin(0.87);
  std::uniform_int_distribution<int> group(0, 3);
  int next = 0;
  std::vector<std::string> open;
  for (int round = 0; round < 300 && live.decision() == Decision::kNone; ++round) {
    // Hand out up to three cases, then label or void them out of order.
    for (int k = 0; k < 3; ++k) {
      const std::string id = "case" + std::to_string(next++);
      ASSERT_OK_AND_ASSIGN(Event e, live.HandOut(id, "g" + std::to_string(group(rng))));
      log.push_back(e);
      open.push_back(id);
    }
    std::shuffle(open.begin(), open.end(), rng);
    for (const std::string& id : open) {
      if (live.decision() != Decision::kNone) break;
      absl::StatusOr<Event> e = round % 7 == 0 && id == open.front()
                                    ? live.Void(id)
                                    : live.SubmitLabel(id, coin(rng) ? 1.0 : 0.0);
      if (e.ok()) log.push_back(*e);
    }
    open.clear();
    // Mid-stream: a snapshot round-trips to identical bytes.
    const std::string bytes = live.Serialize();
    ASSERT_OK_AND_ASSIGN(Audit copy, Audit::Deserialize(bytes));
    ASSERT_EQ(copy.Serialize(), bytes);
  }
  ASSERT_OK_AND_ASSIGN(Audit replayed, Audit::Replay(c, log));
  EXPECT_TRUE(replayed == live);
  EXPECT_EQ(replayed.decision(), live.decision());
  EXPECT_EQ(replayed.decision_time(), live.decision_time());
  EXPECT_EQ(replayed.log_e_model(), live.log_e_model());
  EXPECT_EQ(replayed.Subgroups().size(), 4u);
  // A tampered log is detected.
  std::vector<Event> tampered = log;
  size_t h = 5;
  while (tampered[h].kind != Event::Kind::kHandOut) ++h;
  tampered[h].p_model += 1e-9;
  EXPECT_THAT(Audit::Replay(c, tampered), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Audit::Deserialize("garbage"), StatusIs(absl::StatusCode::kDataLoss));
  const std::string bytes = live.Serialize();
  EXPECT_THAT(Audit::Deserialize(bytes.substr(0, bytes.size() - 3)),
              StatusIs(absl::StatusCode::kDataLoss));
}

// The audit's own confidence sequences (overall and per subgroup) cover the true accuracies.
TEST(AuditTest, ConfidenceSequencesForStreamAndSubgroups) {
  AuditConfig c = VectorConfig(Method::kLr, false);
  c.cs_grid = 1000;
  c.alpha = 0.05;  // the confidence sequences run at the audit's level 1 − α
  c.max_samples = 100000;
  ASSERT_OK_AND_ASSIGN(Audit a, Audit::Create(c));
  EXPECT_EQ(a.accuracy_lower(), 0.0);
  EXPECT_EQ(a.accuracy_upper(), 1.0);
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<double> unif(0, 1);
  for (int t = 0; t < 2000; ++t) {
    const bool first = t % 2 == 0;  // "easy" at 0.95, "hard" at 0.75: overall 0.85
    ASSERT_OK(
        a.Observe(unif(rng) < (first ? 0.95 : 0.75) ? 1.0 : 0.0, first ? "easy" : "hard").status());
  }
  EXPECT_LE(a.accuracy_lower(), 0.85);
  EXPECT_GE(a.accuracy_upper(), 0.85);
  EXPECT_LT(a.accuracy_upper() - a.accuracy_lower(), 0.1);
  const std::vector<SubgroupStatus> groups = a.Subgroups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].name, "easy");
  EXPECT_LE(groups[0].accuracy_lower, 0.95);
  EXPECT_GE(groups[0].accuracy_upper, 0.95);
  EXPECT_LE(groups[1].accuracy_lower, 0.75);
  EXPECT_GE(groups[1].accuracy_upper, 0.75);
  EXPECT_LT(groups[1].accuracy_upper, groups[0].accuracy_lower);  // the two are told apart
  c.cs_grid = 1;
  EXPECT_THAT(Audit::Create(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cs_grid")));
}

TEST(EbhTest, RejectsByTheStepUpRule) {
  // K = 4, α = 0.1: thresholds K/(αk) = 40, 20, 13.3, 10.
  EXPECT_THAT(EBenjaminiHochberg({50, 1, 15, 25}, 0.1), ElementsAre(0, 2, 3));
  EXPECT_THAT(EBenjaminiHochberg({39, 1, 1, 1}, 0.1), ElementsAre());
  EXPECT_THAT(EBenjaminiHochberg({}, 0.1), ElementsAre());
}

}  // namespace
}  // namespace assay::audit
