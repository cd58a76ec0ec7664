// Adaptive testing core: MATH-500 held-out experiment, session mechanics, snapshots, retries.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "core/cat/session.h"
#include "core/irt/fit.h"
#include "tests/testing/cat_math500.h"
#include "tests/testing/cat_run.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/status_matchers.h"

namespace assay::cat {
namespace {

using absl_testing::StatusIs;
using ::testing::HasSubstr;

// Issue #5 asks for MAE ≤ 3.0 points with 50 items and ≥ 25% below averaging 50 random items, on
// a random split (100 rows calibrate, 40 are held out). One split's curve (seed 2026, EAP, N(0,1)
// prior, 20 draws of the model-assisted design per row), measured: max-information CAT 3.74 points
// at 50 items; the model-assisted design 3.27 (3.18 over 40 draws per row), 35% below the sample
// mean's 5.06, its nominal 95% interval covering 92% of rows. This split is a hard one: the
// assertions guard its levels and the relative gains.
TEST(CatMath500Test, FiftyAdaptiveItemsPredictFullAccuracy) {
  const Eigen::MatrixXf y = testing::Math500();
  const testing::Math500Split split = testing::SplitMath500(y, testing::Math500SplitSeed(0));
  testing::Math500Curve at50;
  for (int k : {10, 20, 50, 100}) {
    const testing::Math500Curve c =
        testing::Math500Experiment(y, split, k, 7, /*assisted_reps=*/20, Estimator::kEap);
    std::printf(
        "k=%3d  CAT %.2f  model-assisted %.2f (95%% interval coverage %.2f)  random items + IRT "
        "%.2f  sample mean of random items %.2f (MAE, points)\n",
        k, c.cat, c.assisted, c.assisted_coverage, c.random_irt, c.sample_mean);
    if (k == 50) at50 = c;
  }
  EXPECT_LE(at50.cat, 3.8);
  EXPECT_LE(at50.cat, 0.75 * at50.sample_mean);
  EXPECT_LE(at50.assisted, 3.35);
  EXPECT_LT(at50.assisted, at50.cat - 0.3);
  EXPECT_LE(at50.assisted, 0.7 * at50.sample_mean);
  EXPECT_GE(at50.assisted_coverage, 0.9);
}

// The target as it is stated, for a random split: the mean over ten splits (seeds 2026,
// 1, ..., 9; 10 draws of the design per held-out row) at 50 items. Measured: model-assisted 2.92
// points, sample mean of 50 random items 4.53 (36% below it), interval coverage 94%.
// tests/bench/cat_math500_bench runs 20 splits with 40 draws (2.90 points).
TEST(CatMath500Test, ModelAssistedMeetsTheTargetOverTenSplits) {
  ASSAY_SKIP_REPEAT_UNDER_SANITIZERS("CatMath500Test.FiftyAdaptiveItemsPredictFullAccuracy");
  const Eigen::MatrixXf y = testing::Math500();
  constexpr int kSplits = 10;
  testing::Math500Curve mean;
  for (int s = 0; s < kSplits; ++s) {
    const testing::Math500Split split = testing::SplitMath500(y, testing::Math500SplitSeed(s));
    const testing::Math500Curve c =
        testing::Math500Experiment(y, split, 50, 7, /*assisted_reps=*/10, Estimator::kEap);
    mean.assisted += c.assisted / kSplits;
    mean.assisted_coverage += c.assisted_coverage / kSplits;
    mean.sample_mean += c.sample_mean / kSplits;
  }
  std::printf("10 splits, 50 items: model-assisted %.3f (coverage %.3f), sample mean %.3f\n",
              mean.assisted, mean.assisted_coverage, mean.sample_mean);
  EXPECT_LE(mean.assisted, 3.0);
  EXPECT_LE(mean.assisted, 0.75 * mean.sample_mean);
  EXPECT_GE(mean.assisted_coverage, 0.9);
}

Bank SyntheticBank(Eigen::Index n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(0, 1);
  std::normal_distribution<double> normal(0, 1);
  Bank bank;
  bank.items.a = Eigen::VectorXd::NullaryExpr(n, [&] { return 0.5 + 1.5 * unif(rng); });
  bank.items.b = Eigen::VectorXd::NullaryExpr(n, [&] { return normal(rng); });
  bank.tags.resize(static_cast<size_t>(n));
  for (Eigen::Index j = 0; j < n; ++j)
    bank.tags[static_cast<size_t>(j)] = static_cast<int32_t>(j % 3);
  bank.num_tags = 3;
  return bank;
}

// One simulated model's realized responses on the whole bank (the truth for full accuracy).
Eigen::VectorXd Realized(const Bank& bank, double theta, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unif(0, 1);
  Eigen::VectorXd y(bank.items.size());
  for (Eigen::Index j = 0; j < y.size(); ++j) {
    y[j] = unif(rng) < 1 / (1 + std::exp(-(bank.items.a[j] * theta + bank.items.b[j]))) ? 1.0 : 0.0;
  }
  return y;
}

// Answers every handed-out item with a Bernoulli draw at true ability `theta` until the session
// ends.
void RunToEnd(CatSession& s, const Bank& bank, double theta, std::mt19937_64& rng, int batch = 1) {
  std::uniform_real_distribution<double> unif(0, 1);
  while (!s.Estimate().finished) {
    auto next = s.Next(batch);
    if (!next.ok()) break;
    for (Eigen::Index j : *next) {
      const double p = 1 / (1 + std::exp(-(bank.items.a[j] * theta + bank.items.b[j])));
      ASSERT_OK(s.Submit(j, unif(rng) < p ? 1.0 : 0.0));
    }
  }
}

TEST(CatSessionTest, StopsAtSeTargetAndMaxItems) {
  const Bank bank = SyntheticBank(2000, 1);
  std::mt19937_64 rng(2);
  CatOptions o;
  o.selection = Selection::kFisher;
  o.se_target = 0.3;
  o.max_items = 200;
  ASSERT_OK_AND_ASSIGN(CatSession s, CatSession::Start(&bank, o));
  RunToEnd(s, bank, 0.5, rng);
  EXPECT_EQ(s.Estimate().stop_reason, "se_target");
  EXPECT_LE(s.Estimate().se, 0.3);
  EXPECT_THAT(s.Next(1), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("finished")));
  o.se_target = 0;
  o.max_items = 7;
  ASSERT_OK_AND_ASSIGN(CatSession t, CatSession::Start(&bank, o));
  RunToEnd(t, bank, 0.5, rng, /*batch=*/3);
  EXPECT_EQ(t.Estimate().stop_reason, "max_items");
  EXPECT_EQ(t.Estimate().answered, 7);
}

TEST(CatSessionTest, ExclusionContentBalancingAndRetries) {
  const Bank bank = SyntheticBank(300, 3);
  CatOptions o;
  o.selection = Selection::kFisher;
  o.max_items = 30;
  o.tag_targets = {0.5, 0.25, 0.25};
  o.excluded = {0, 1, 2, 3, 4};
  o.randomesque = 3;
  ASSERT_OK_AND_ASSIGN(CatSession s, CatSession::Start(&bank, o));
  std::mt19937_64 rng(4);
  RunToEnd(s, bank, -0.3, rng, /*batch=*/2);
  std::vector<int> per_tag(3, 0);
  for (const irt::Response& r : s.responses()) {
    EXPECT_GT(r.item, 4) << "excluded item administered";
    ++per_tag[static_cast<size_t>(bank.tags[static_cast<size_t>(r.item)])];
  }
  EXPECT_EQ(per_tag[0], 15);
  EXPECT_EQ(per_tag[1], 8);  // 7.5 each, rounding goes to the first deficit
  EXPECT_EQ(per_tag[2], 7);
  // A retried submission changes nothing; a different outcome is refused.
  const irt::Response first = s.responses().front();
  const std::string before = s.Serialize();
  EXPECT_OK(s.Submit(first.item, first.successes));
  EXPECT_EQ(s.Serialize(), before);
  EXPECT_THAT(s.Submit(first.item, 1 - first.successes),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(s.Submit(299, 1), StatusIs(absl::StatusCode::kNotFound, HasSubstr("not handed out")));
  EXPECT_THAT(s.Submit(100000, 1), StatusIs(absl::StatusCode::kNotFound));
  o.tag_targets = {1.0};
  EXPECT_THAT(CatSession::Start(&bank, o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tag_targets")));
}

TEST(CatSessionTest, SnapshotRoundTripsMidSession) {
  const Bank bank = SyntheticBank(500, 5);
  for (int variant = 0; variant < 3; ++variant) {
    const bool anytime = variant == 1;
    CatOptions o;
    o.selection = Selection::kFisher;
    o.estimator = anytime ? Estimator::kEap : Estimator::kMap;
    o.anytime_valid = anytime;
    if (variant == 2) {
      o.selection = Selection::kModelAssisted;
      o.locate_items = 7;
    }
    o.cs_grid = 200;
    o.max_items = 40;
    ASSERT_OK_AND_ASSIGN(CatSession s, CatSession::Start(&bank, o));
    std::mt19937_64 rng(6);
    for (int step = 0; step < 10; ++step) {
      ASSERT_OK_AND_ASSIGN(auto items, s.Next(2));
      ASSERT_OK(s.Submit(items[0], 1.0));  // leave the second one pending
      const std::string bytes = s.Serialize();
      ASSERT_OK_AND_ASSIGN(CatSession copy, CatSession::Deserialize(bytes, &bank));
      ASSERT_EQ(copy.Serialize(), bytes);
      ASSERT_OK(s.Submit(items[1], 0.0));
      ASSERT_OK(copy.Submit(items[1], 0.0));
      ASSERT_EQ(copy.Serialize(), s.Serialize());
      EXPECT_EQ(copy.Estimate().theta, s.Estimate().theta);
    }
  }
  EXPECT_THAT(CatSession::Deserialize("junk", &bank), StatusIs(absl::StatusCode::kDataLoss));
}

// The model-assisted prediction reuses the bands that choosing the next item computed at the same
// θ̂; it must equal the prediction of a copy restored from the snapshot, which computes them anew.
TEST(CatSessionTest, ModelAssistedEstimateReusesTheStepsBandsExactly) {
  const Bank bank = SyntheticBank(500, 5);
  CatOptions o;
  o.selection = Selection::kModelAssisted;
  o.locate_items = 5;
  o.max_items = 60;
  ASSERT_OK_AND_ASSIGN(CatSession s, CatSession::Start(&bank, o));
  std::mt19937_64 rng(11);
  std::bernoulli_distribution coin(0.6);
  const auto expect_same = [&](const char* when, int step) {
    ASSERT_OK_AND_ASSIGN(CatSession fresh, CatSession::Deserialize(s.Serialize(), &bank));
    const CatEstimate a = s.Estimate(), b = fresh.Estimate();
    EXPECT_EQ(a.predicted_accuracy, b.predicted_accuracy) << when << " step " << step;
    EXPECT_EQ(a.lower, b.lower) << when << " step " << step;
    EXPECT_EQ(a.upper, b.upper) << when << " step " << step;
  };
  for (int step = 0; step < 40; ++step) {
    ASSERT_OK_AND_ASSIGN(auto items, s.Next(1));
    expect_same("after Next", step);
    ASSERT_OK(s.Submit(items[0], coin(rng) ? 1.0 : 0.0));
    expect_same("after Submit", step);
  }
}

// Sessions persisted before locate_items existed (snapshot format 1: no locate_items field) still
// load, with the default.
TEST(CatSessionTest, FormatOneSnapshotStillLoads) {
  const Bank bank = SyntheticBank(200, 5);
  CatOptions o;
  o.selection = Selection::kFisher;
  o.max_items = 20;
  ASSERT_OK_AND_ASSIGN(CatSession s, CatSession::Start(&bank, o));
  ASSERT_OK_AND_ASSIGN(auto items, s.Next(3));
  ASSERT_OK(s.Submit(items[0], 1.0));
  std::string v1 = s.Serialize();
  // Header "ASCT" + format byte, estimator, selection, then the 8-byte locate_items to drop.
  ASSERT_EQ(v1[4], 2);
  v1[4] = 1;
  v1.erase(7, 8);
  ASSERT_OK_AND_ASSIGN(CatSession old, CatSession::Deserialize(v1, &bank));
  EXPECT_EQ(old.Serialize(), s.Serialize());
  EXPECT_EQ(old.pending().size(), 2u);
  EXPECT_EQ(old.Estimate().theta, s.Estimate().theta);
}

// Model-assisted selection: locate_items by information, then random free items (never excluded
// ones, never twice); reproducible from the seed.
TEST(CatSessionTest, ModelAssistedLocatesThenSamplesAtRandom) {
  const Bank bank = SyntheticBank(400, 11);
  CatOptions fisher;
  fisher.selection = Selection::kFisher;
  fisher.max_items = 40;
  fisher.excluded = {3, 4, 5};
  CatOptions assisted = fisher;
  assisted.selection = Selection::kModelAssisted;
  assisted.locate_items = 5;
  auto run = [&](const CatOptions& o) {
    CatSession s = CatSession::Start(&bank, o).value();
    int answered = 0;  // every second answer correct
    return testing::AnswerUntilFinished(s, [&](Eigen::Index) { return ++answered % 2 == 0; })
        .value();
  };
  const std::vector<Eigen::Index> f = run(fisher), a = run(assisted);
  ASSERT_EQ(a.size(), 40u);
  EXPECT_EQ(std::vector<Eigen::Index>(a.begin(), a.begin() + 5),
            std::vector<Eigen::Index>(f.begin(), f.begin() + 5));
  EXPECT_NE(std::vector<Eigen::Index>(a.begin() + 5, a.end()),
            std::vector<Eigen::Index>(f.begin() + 5, f.end()));
  std::vector<Eigen::Index> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end()) << "an item given twice";
  for (Eigen::Index j : a) EXPECT_TRUE(j < 3 || j > 5) << "excluded item " << j << " given";
  EXPECT_EQ(run(assisted), a) << "not reproducible from the seed";
  assisted.seed = 2;
  EXPECT_NE(run(assisted), a);
  assisted.locate_items = -1;
  EXPECT_THAT(CatSession::Start(&bank, assisted),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("locate_items")));
}

// Past the located items, the design allocates draws to bands of p_j(θ̂) by their residual
// variance (Neyman allocation): for a strong model that fits the 2PL, the items it is almost sure
// to solve (p ≥ 0.95; residuals near 0) get a smaller share of the draws than of the bank, and the
// uncertain middle a larger one. Uniform draws would give each band its share of the bank.
TEST(CatSessionTest, ModelAssistedAllocatesDrawsToUncertainBands) {
  const Bank bank = SyntheticBank(2000, 14);
  const double theta = 2.0;
  const Eigen::ArrayXd p =
      (1 + (-(bank.items.a.array() * theta + bank.items.b.array())).exp()).inverse();
  const double easy_share = (p >= 0.95).cast<double>().mean(),
               middle_share = (p >= 0.2 && p < 0.8).cast<double>().mean();
  double easy = 0, middle = 0, drawn = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CatOptions o;
    o.selection = Selection::kModelAssisted;
    o.max_items = 100;
    o.seed = seed;
    ASSERT_OK_AND_ASSIGN(CatSession s, CatSession::Start(&bank, o));
    std::mt19937_64 rng(seed);
    RunToEnd(s, bank, theta, rng);
    for (size_t t = static_cast<size_t>(o.locate_items); t < s.responses().size(); ++t) {
      const double pj = p[s.responses()[t].item];
      easy += pj >= 0.95;
      middle += pj >= 0.2 && pj < 0.8;
      drawn += 1;
    }
  }
  std::printf("bank share p >= 0.95: %.3f, of draws: %.3f; 0.2 <= p < 0.8: %.3f, of draws: %.3f\n",
              easy_share, easy / drawn, middle_share, middle / drawn);
  EXPECT_LT(easy / drawn, 0.75 * easy_share);
  EXPECT_GT(middle / drawn, 1.25 * middle_share);
}

// Models that misfit the calibrated 2PL the way format failures do on real benchmarks (a share
// s of every item lost, easy ones too: P = (1 − s)·logistic(aθ + b)). With s = 0.25 the
// model-assisted design's residual correction predicts full accuracy better than max-information
// CAT, whose items all sit where p ≈ 1/2 and cannot see the loss on easy items; its nominal
// intervals cover whether or not the model fits. When the 2PL fits (s = 0), max-information CAT
// predicts better (measured: 2.3 against 3.7 points): the design trades precision for robustness.
TEST(CatSyntheticTest, ModelAssistedCorrectsMisfitAndKeepsCoverage) {
  const Bank bank = SyntheticBank(1000, 12);
  constexpr int kModels = 300;
  for (double slip : {0.0, 0.25}) {
    std::mt19937_64 rng(13);
    std::normal_distribution<double> normal(0, 1);
    std::uniform_real_distribution<double> unif(0, 1);
    double err[2] = {0, 0};
    int covered[2] = {0, 0};
    for (int m = 0; m < kModels; ++m) {
      const double theta = normal(rng);
      Eigen::VectorXd y(bank.items.size());
      for (Eigen::Index j = 0; j < y.size(); ++j) {
        const double p = 1 / (1 + std::exp(-(bank.items.a[j] * theta + bank.items.b[j])));
        y[j] = unif(rng) < (1 - slip) * p ? 1.0 : 0.0;
      }
      const double truth = y.mean();
      for (int assisted : {0, 1}) {
        CatOptions o;
        o.max_items = 60;
        o.selection = assisted ? Selection::kModelAssisted : Selection::kFisher;
        o.seed = static_cast<uint64_t>(m + 1);
        ASSERT_OK_AND_ASSIGN(CatSession s, CatSession::Start(&bank, o));
        ASSERT_OK(testing::AnswerUntilFinished(s, [&](Eigen::Index j) { return y[j]; }).status());
        const CatEstimate e = s.Estimate();
        err[assisted] += std::abs(e.predicted_accuracy - truth) * 100 / kModels;
        covered[assisted] += e.lower <= truth && truth <= e.upper;
      }
    }
    std::printf(
        "slip %.2f: MAE max-information %.2f, model-assisted %.2f points; 95%% interval coverage "
        "%d / %d of %d\n",
        slip, err[0], err[1], covered[0], covered[1], kModels);
    EXPECT_GE(covered[1], 0.93 * kModels) << "slip " << slip;
    if (slip > 0) {
      EXPECT_LT(err[1], 0.85 * err[0]);
    }
  }
}

// Synthetic bank at the size is a benchmark (tests/bench); here a smaller one keeps the
// suite fast: adaptive choice reaches the θ RMSE of 100 random items with at most half as many,
// and nominal 95% prediction intervals cover ≥ 90% of simulated models.
TEST(CatSyntheticTest, AdaptiveNeedsHalfTheItemsAndIntervalsCover) {
  const Bank bank = SyntheticBank(3000, 8);
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> unif(0, 1);
  constexpr int kModels = 150;
  double sq_random = 0, sq_adaptive = 0;
  int covered = 0;
  for (int m = 0; m < kModels; ++m) {
    const double theta = normal(rng);
    const Eigen::VectorXd y = Realized(bank, theta, rng);
    std::vector<irt::Response> random;
    for (int k = 0; k < 100; ++k) {
      const Eigen::Index j = static_cast<Eigen::Index>(unif(rng) * bank.items.size());
      random.push_back({j, y[j], 1.0});
    }
    sq_random += std::pow(irt::ScoreMap(bank.items, random).value().theta - theta, 2);
    CatOptions o;
    o.selection = Selection::kFisher;
    o.max_items = 50;
    CatSession s = CatSession::Start(&bank, o).value();
    while (!s.Estimate().finished) {
      auto next = s.Next(1);
      if (!next.ok()) break;
      ASSERT_OK(s.Submit(next->front(), y[next->front()]));
    }
    const CatEstimate e = s.Estimate();
    sq_adaptive += std::pow(e.theta - theta, 2);
    covered += e.lower <= y.mean() && y.mean() <= e.upper;
  }
  const double rmse_random = std::sqrt(sq_random / kModels),
               rmse_adaptive = std::sqrt(sq_adaptive / kModels);
  std::printf(
      "theta RMSE: 100 random items %.3f, 50 adaptive items %.3f; 95%% interval coverage %.3f\n",
      rmse_random, rmse_adaptive, static_cast<double>(covered) / kModels);
  EXPECT_LE(rmse_adaptive, rmse_random);
  EXPECT_GE(static_cast<double>(covered) / kModels, 0.90);
}

// The anytime-valid interval covers the full-benchmark accuracy whenever the client stops: the
// fraction of sessions whose interval EVER excludes it stays ≤ α.
TEST(CatSyntheticTest, AnytimeValidIntervalCoversUnderOptionalStopping) {
  const Bank bank = SyntheticBank(1000, 10);
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0, 1);
  constexpr int kSessions = 200;
  int missed = 0;
  double width = 0;
  for (int m = 0; m < kSessions; ++m) {
    const double theta = normal(rng);
    const Eigen::VectorXd y = Realized(bank, theta, rng);
    CatOptions o;
    o.selection = Selection::kFisher;
    o.anytime_valid = true;
    o.max_items = 150;
    o.cs_grid = 200;
    o.seed = static_cast<uint64_t>(m) + 1;
    CatSession s = CatSession::Start(&bank, o).value();
    bool miss = false;
    while (!s.Estimate().finished) {
      auto next = s.Next(1);
      if (!next.ok()) break;
      ASSERT_OK(s.Submit(next->front(), y[next->front()]));
      const CatEstimate e = s.Estimate();
      miss = miss || e.cs_lower > y.mean() || e.cs_upper < y.mean();
    }
    missed += miss;
    width += s.Estimate().cs_upper - s.Estimate().cs_lower;
  }
  std::printf("anytime-valid CS: ever-miss %.3f, mean final width %.3f after 150 items\n",
              static_cast<double>(missed) / kSessions, width / kSessions);
  EXPECT_LE(static_cast<double>(missed) / kSessions, 0.05 + 3 * std::sqrt(0.05 * 0.95 / kSessions));
}

}  // namespace
}  // namespace assay::cat
