// Beyond the paper: confidence sequences, the deployment monitor, subgroup e-BH (seeded Monte
// Carlo).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/audit/audit.h"
#include "core/audit/confseq.h"
#include "core/audit/monitor.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/status_matchers.h"

namespace assay::audit {
namespace {

using absl_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

double Bound(double alpha, int reps) { return alpha + 3 * std::sqrt(alpha * (1 - alpha) / reps); }

// Coverage uniformly over time: the fraction of streams whose interval EVER excludes the true mean
// (the event optional stopping could exploit) is at most α.
TEST(ConfidenceSequenceTest, CoversUniformlyOverTime) {
  // Fast version: validity does not depend on the grid, so a coarse one keeps this quick; the
  // benchmark (tests/bench/audit_bench) repeats it with the 1,000-point grid and more streams.
  constexpr int kReps = 800, kHorizon = 500;
  for (CsBet bet : {CsBet::kPredictablePlugIn, CsBet::kAgrapa}) {
    for (int dist = 0; dist < 2; ++dist) {
      std::mt19937_64 rng(90 + dist + 10 * static_cast<int>(bet));
      std::bernoulli_distribution coin(0.85);
      std::uniform_real_distribution<double> unif(0, 1);
      const double mean = dist == 0 ? 0.85 : 1.0 / 3.0;  // Bernoulli(0.85), or U² (a bounded score)
      int misses = 0;
      for (int r = 0; r < kReps; ++r) {
        ConfSeqOptions o;
        o.bet = bet;
        o.grid = 200;
        ConfidenceSequence cs = ConfidenceSequence::Create(o).value();
        for (int t = 0; t < kHorizon; ++t) {
          const double u = unif(rng);
          ASSERT_OK(cs.Update(dist == 0 ? (coin(rng) ? 1.0 : 0.0) : u * u));
          if (cs.lower() > mean || cs.upper() < mean) {
            ++misses;
            break;
          }
        }
      }
      const double rate = static_cast<double>(misses) / kReps;
      std::printf("CS %s, %s: ever-miss rate %.4f\n", bet == CsBet::kAgrapa ? "aGRAPA" : "PrPl",
                  dist == 0 ? "Bernoulli(0.85)" : "U^2", rate);
      EXPECT_LE(rate, Bound(0.05, kReps));
    }
  }
}

TEST(ConfidenceSequenceTest, NarrowerThanHoeffding) {
  std::mt19937_64 rng(3);
  std::bernoulli_distribution coin(0.9);
  ConfidenceSequence cs = ConfidenceSequence::Create({}).value();
  HoeffdingConfidenceSequence h(0.05);
  for (int t = 1; t <= 10000; ++t) {
    const double y = coin(rng) ? 1.0 : 0.0;
    ASSERT_OK(cs.Update(y));
    h.Update(y);
    if (t == 100 || t == 1000 || t == 10000) {
      const double ratio = (cs.upper() - cs.lower()) / (h.upper() - h.lower());
      std::printf("t=%d betting width %.4f, Hoeffding width %.4f, ratio %.3f\n", t,
                  cs.upper() - cs.lower(), h.upper() - h.lower(), ratio);
      EXPECT_LT(ratio, 1.0) << t;
      EXPECT_LE(cs.lower(), 0.9);
      EXPECT_GE(cs.upper(), 0.9);
    }
  }
}

TEST(ConfidenceSequenceTest, SnapshotRoundTripsAndBadInputChangesNothing) {
  ConfidenceSequence cs = ConfidenceSequence::Create({}).value();
  for (double y : {1.0, 0.0, 0.5, 1.0, 1.0}) ASSERT_OK(cs.Update(y));
  const std::string before = cs.Serialize();
  EXPECT_THAT(cs.Update(1.5), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(cs.Serialize(), before);
  ASSERT_OK_AND_ASSIGN(ConfidenceSequence copy, ConfidenceSequence::Deserialize(before));
  ASSERT_OK(cs.Update(0.0));
  ASSERT_OK(copy.Update(0.0));
  EXPECT_EQ(copy.Serialize(), cs.Serialize());
  ConfSeqOptions bad;
  bad.alpha = 0;
  EXPECT_THAT(ConfidenceSequence::Create(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alpha")));
}

// The definition (header comment of confseq.h) computed the plain way: each bettor's log capital
// summed term by term, every grid point tested at every step. The class keeps running products
// and folds them into the logs now and then; it must report the same intervals.
class ReferenceCs {
 public:
  explicit ReferenceCs(const ConfSeqOptions& o)
      : o_(o), log_kp_(static_cast<size_t>(o.grid), 0.0), log_km_(log_kp_) {}
  void Update(double y, double lo, double hi) {
    ++t_;
    const double t = static_cast<double>(t_), c = o_.truncation, cell = 1.0 / o_.grid;
    int first = -1, last = -1;
    for (int k = 0; k < o_.grid; ++k) {
      const double m = (k + 0.5) / o_.grid, cap_p = c / (m - lo), cap_m = c / (hi - m);
      double bet_p, bet_m;
      if (o_.bet == CsBet::kPredictablePlugIn) {
        const double lambda = std::sqrt(2 * std::log(2 / o_.alpha) / (var_ * t * std::log(t + 1)));
        bet_p = std::min(cap_p, lambda);
        bet_m = -std::min(cap_m, lambda);
      } else {
        const double raw = (mean_ - m) / (var_ + (mean_ - m) * (mean_ - m));
        bet_p = std::min(std::max(raw, 0.0), cap_p);
        bet_m = std::max(std::min(raw, 0.0), -cap_m);
      }
      log_kp_[k] += std::log(1 + bet_p * (y - m));
      log_km_[k] += std::log(1 + bet_m * (y - m));
      if (std::max(std::log(o_.hedge) + log_kp_[k], std::log(1 - o_.hedge) + log_km_[k]) <
          -std::log(o_.alpha)) {
        if (first < 0) first = k;
        last = k;
      }
    }
    sum_ += y;
    sq_ += (y - mean_) * (y - mean_);
    mean_ = (0.5 + sum_) / (t + 1);
    var_ = (0.25 + sq_) / (t + 1);
    if (first >= 0) {
      lower_ = std::max(lower_, (first + 0.5) / o_.grid - cell);
      upper_ = std::min(upper_, (last + 0.5) / o_.grid + cell);
    }
  }
  double lower() const { return lower_; }
  double upper() const { return upper_; }

 private:
  ConfSeqOptions o_;
  std::vector<double> log_kp_, log_km_;
  int64_t t_ = 0;
  double sum_ = 0, sq_ = 0, mean_ = 0.5, var_ = 0.25, lower_ = 0, upper_ = 1;
};

TEST(ConfidenceSequenceTest, RunningProductsGiveTheDefinitionsIntervals) {
  struct Case {
    CsBet bet;
    double alpha, truncation, hi;  // observations in [0, hi]; hi > 1: inverse-probability weights
  };
  int steps_compared = 0, steps_with_interval_change = 0;
  for (const Case& c :
       {Case{CsBet::kPredictablePlugIn, 0.05, 0.5, 1}, Case{CsBet::kAgrapa, 0.05, 0.5, 1},
        Case{CsBet::kPredictablePlugIn, 1e-6, 0.9, 1}, Case{CsBet::kAgrapa, 0.01, 0.99, 40},
        Case{CsBet::kPredictablePlugIn, 0.1, 0.5, 40}}) {
    ConfSeqOptions o;
    o.bet = c.bet;
    o.alpha = c.alpha;
    o.truncation = c.truncation;
    o.grid = 300;
    ConfidenceSequence cs = ConfidenceSequence::Create(o).value();
    ReferenceCs reference(o);
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> unif(0, 1);
    for (int t = 1; t <= 1500; ++t) {
      // Scores in [0, 1] with mean 0.775; weighted: hi with probability 0.84 / hi (mean 0.84).
      const double y = c.hi == 1 ? (unif(rng) < 0.7 ? 1.0 : unif(rng) * 0.5)
                                 : (unif(rng) < 0.7 / c.hi * 1.2 ? c.hi : 0.0);
      const double before = cs.upper() - cs.lower();
      ASSERT_OK(cs.UpdateBounded(y, 0, c.hi));
      reference.Update(y, 0, c.hi);
      ASSERT_EQ(cs.lower(), reference.lower()) << "step " << t << ", case alpha " << c.alpha;
      ASSERT_EQ(cs.upper(), reference.upper()) << "step " << t << ", case alpha " << c.alpha;
      ++steps_compared;
      if (cs.upper() - cs.lower() != before) ++steps_with_interval_change;
    }
  }
  std::printf("%d steps compared, the interval moved at %d of them\n", steps_compared,
              steps_with_interval_change);
  EXPECT_GT(steps_with_interval_change, 100);  // the comparison saw the interval at work
}

// A snapshot from before the running products (its capital all in the logs, nothing after the
// interval) still loads and goes on exactly as the state it was taken from.
TEST(ConfidenceSequenceTest, LoadsSnapshotsWithoutRunningProducts) {
  ConfSeqOptions o;
  o.grid = 200;
  ConfidenceSequence cs = ConfidenceSequence::Create(o).value();
  std::mt19937_64 rng(5);
  std::bernoulli_distribution coin(0.8);
  for (int t = 0; t < 32; ++t) ASSERT_OK(cs.Update(coin(rng) ? 1.0 : 0.0));  // ends with a fold
  const std::string bytes = cs.Serialize();
  const size_t products = 2 * (sizeof(int64_t) + o.grid * sizeof(double));
  ASSERT_OK_AND_ASSIGN(ConfidenceSequence old,
                       ConfidenceSequence::Deserialize(bytes.substr(0, bytes.size() - products)));
  EXPECT_EQ(old.Serialize(), bytes);
  for (int t = 0; t < 50; ++t) {
    const double y = coin(rng) ? 1.0 : 0.0;
    ASSERT_OK(cs.Update(y));
    ASSERT_OK(old.Update(y));
  }
  EXPECT_EQ(old.Serialize(), cs.Serialize());
  // Half of the running products, or a non-positive one, is damage, not an older format.
  EXPECT_THAT(ConfidenceSequence::Deserialize(bytes.substr(0, bytes.size() - products / 2)),
              StatusIs(absl::StatusCode::kDataLoss));
  std::string negative = bytes;
  const double minus_one = -1;
  std::memcpy(&negative[negative.size() - sizeof(double)], &minus_one, sizeof(double));
  EXPECT_THAT(ConfidenceSequence::Deserialize(negative),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("capital not positive")));
}

// Average run length to a (false) alarm under no change, at the boundary p = τ, is ≥ 1/α.
TEST(MonitorTest, AverageRunLengthWithoutChangeAtLeastOneOverAlpha) {
  for (bool cusum : {false, true}) {
    MonitorConfig c;
    c.cusum = cusum;
    c.alpha = 0.01;
    std::mt19937_64 rng(cusum ? 21 : 20);
    std::bernoulli_distribution coin(c.tau);
    constexpr int kReps = 1000;
    constexpr int64_t kCap = 1000000;
    double total = 0;
    for (int r = 0; r < kReps; ++r) {
      Monitor m = Monitor::Create(c).value();
      while (m.alarms() == 0 && m.t() < kCap) ASSERT_OK(m.Update(coin(rng) ? 1.0 : 0.0).status());
      total += static_cast<double>(m.t());
    }
    const double arl = total / kReps;
    std::printf("monitor %s: ARL at p = tau %.1f (1/alpha = %.0f)\n", cusum ? "CUSUM" : "SR", arl,
                1 / c.alpha);
    EXPECT_GE(arl, 1 / c.alpha);
  }
}

TEST(MonitorTest, DetectsDropFrom95To70) {
  MonitorConfig c;
  std::mt19937_64 rng(22);
  std::uniform_real_distribution<double> unif(0, 1);
  std::vector<double> delays;
  int false_alarms = 0;
  for (int r = 0; r < 1000; ++r) {
    Monitor m = Monitor::Create(c).value();
    constexpr int kChange = 500;
    for (int t = 1;; ++t) {
      ASSERT_OK_AND_ASSIGN(bool alarm,
                           m.Update(unif(rng) < (t <= kChange ? 0.95 : 0.7) ? 1.0 : 0.0));
      if (alarm && t <= kChange) {
        ++false_alarms;
        break;
      }
      if (alarm) {
        delays.push_back(t - kChange);
        break;
      }
    }
  }
  std::sort(delays.begin(), delays.end());
  const double mean = std::accumulate(delays.begin(), delays.end(), 0.0) / delays.size();
  std::printf(
      "drop 0.95 -> 0.70 after 500 (alpha %.3g): detection delay mean %.1f median %.0f p90 %.0f; "
      "false alarms before change %d/1000\n",
      c.alpha, mean, delays[delays.size() / 2], delays[delays.size() * 9 / 10], false_alarms);
  // ARL ≥ 1/α = 1000 even at the boundary; at 0.95 false alarms within 500 labels are rare.
  EXPECT_LE(false_alarms, 100);
  EXPECT_LT(mean, 100);
}

TEST(MonitorTest, ValidationAndSnapshot) {
  MonitorConfig c;
  c.alternatives = {0.9};
  EXPECT_THAT(Monitor::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alternatives[0]")));
  Monitor m = Monitor::Create({}).value();
  for (double y : {1.0, 0.0, 0.0}) ASSERT_OK(m.Update(y).status());
  ASSERT_OK_AND_ASSIGN(Monitor copy, Monitor::Deserialize(m.Serialize()));
  EXPECT_EQ(copy.Serialize(), m.Serialize());
  EXPECT_THAT(m.Update(-0.1), StatusIs(absl::StatusCode::kInvalidArgument));
}

// 20 subgroups, 3 failing (accuracy 0.6) and 17 at the boundary τ; per-subgroup e-processes merged
// with e-BH. The false discovery rate (mean false share of the rejected) stays ≤ α.
TEST(SubgroupEbhTest, FalseDiscoveryRateAtMostAlpha) {
  ASSAY_SKIP_REPEAT_UNDER_SANITIZERS("SubgroupEbhTest.AuditReportsFailingSubgroups");
  constexpr int kGroups = 20, kFailing = 3, kReps = 500, kPerGroup = 150;
  AuditConfig c;
  c.alpha = 0.05;
  c.method = Method::kLr;
  c.budget = 1;
  c.max_samples = 1 << 30;
  c.alternative.ewaf = true;
  c.alternative.model_grid = {0.6, 0.7, 0.8};
  c.alternative.auditor_grid = {0.9};
  AuditConfig quiet = c;
  quiet.alpha = 1e-300;  // per-subgroup processes never stop on their own; e-BH decides at α
  std::mt19937_64 rng(33);
  std::uniform_real_distribution<double> unif(0, 1);
  double fdp_sum = 0, power_sum = 0;
  for (int r = 0; r < kReps; ++r) {
    std::vector<double> e;
    for (int g = 0; g < kGroups; ++g) {
      Audit a = Audit::Create(quiet).value();
      const double p = g < kFailing ? 0.6 : c.tau;
      for (int t = 0; t < kPerGroup; ++t) ASSERT_OK(a.Observe(unif(rng) < p ? 1.0 : 0.0).status());
      e.push_back(std::exp(a.log_e_model()));
    }
    const std::vector<size_t> rejected = EBenjaminiHochberg(e, c.alpha);
    int false_rejections = 0, true_rejections = 0;
    for (size_t k : rejected) (k < kFailing ? true_rejections : false_rejections)++;
    fdp_sum += rejected.empty() ? 0.0 : static_cast<double>(false_rejections) / rejected.size();
    power_sum += static_cast<double>(true_rejections) / kFailing;
  }
  std::printf("e-BH: FDR %.4f, power %.3f\n", fdp_sum / kReps, power_sum / kReps);
  EXPECT_LE(fdp_sum / kReps, Bound(0.05, kReps));
  EXPECT_GT(power_sum / kReps, 0.5);
}

TEST(SubgroupEbhTest, AuditReportsFailingSubgroups) {
  AuditConfig c;
  c.alpha = 0.05;
  c.method = Method::kLr;
  c.budget = 1;
  c.max_samples = 100000;
  c.alternative.p_model = 0.6;
  c.alternative.p_auditor = 0.99;
  ASSERT_OK_AND_ASSIGN(Audit a, Audit::Create(c));
  // Group "bad" fails every case; "good" passes every case. Interleave so neither dominates.
  for (int t = 0; t < 12 && a.decision() == Decision::kNone; ++t) {
    ASSERT_OK(a.Observe(1.0, "good").status());
    if (a.decision() == Decision::kNone) {
      ASSERT_OK(a.Observe(0.0, "bad").status());
    }
  }
  EXPECT_THAT(a.FailingSubgroups(), ElementsAre("bad"));
}

}  // namespace
}  // namespace assay::audit
