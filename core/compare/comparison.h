// Comparing two models on one calibrated benchmark: an anytime-valid regression gate
// (shared/docs/compare.md). "Is candidate B worse than baseline A by more than δ?"
//
// Target: Δ = (1/n) Σ_j (y_Bj − y_Aj) over the benchmark's n items, outcomes in [0, 1] (0/1, k of
// n as a fraction, or a score).
//
// Two pairings:
//   both sampled:   each drawn item is evaluated on both models (Submit with both outcomes);
//   baseline known: A's outcome on every item is given at Start (its stored full run); only B is
//                   evaluated (Submit with B's outcome alone). The usual CI case.
//
// Items are drawn without replacement. Step t draws j_t from the items R_t not drawn before
// (|R_t| = n − t + 1) with probability π_t(j), fixed before the draw (uniform, or the adaptive
// design: π ∝ the predicted residual SD, mixed with ε uniform so π ≥ ε/|R_t|), and observes
//   Z_t = (1/|R_t|) Σ_{k∈R_t} m_t(k) + (D_{j_t} − m_t(j_t)) / (|R_t| π_t(j_t)),  D_j = y_Bj − y_Aj,
// whose conditional mean is the mean of D over R_t, (nΔ − S_{t−1})/(n − t + 1) with S_{t−1} the
// sum of D over the items drawn before, exactly, whatever the predictions m_t are (they cost
// width, never validity). Predictions use outcomes answered before the draw only:
//   both sampled:   m(j) = p_B(j) − p_A(j), each model's θ by MAP (ScoreMap, prior N(0, 1));
//   baseline known: m(j) = p̂_B(j) − y_Aj with the paired predictor
//                   p̂_B(j) = w y_Aj + (1 − w) p_B(j):
//                   B repeats A's outcome with probability w, else follows the 2PL; θ_B by MAP
//                   on B's answers (prior N(θ_A, 1), θ_A by MAP on A's whole run), and w the
//                   chance-corrected agreement of B with A on the answered items,
//                   (observed − expected)/(1 − expected) clipped to [0, 1], each rate shrunk by
//                   one pseudo-answer each way (checkpoints of one model agree on most items;
//                   a logistic model with A's residual as a covariate did no better on
//                   MATH-500);
//   Predictor::kNone: m ≡ 0 (the plain paired estimate, for reference).
// Predictions are refitted when the answered items have grown by 5% since the last fit (every
// answer for the first 20), which keeps a step O(log n + grid).
//
// The bounds of Z_t are known before the draw (from the predictions and π over R_t), and the Z_t
// feed the audit core's betting confidence sequence (core/audit/confseq.h, UpdateAffine: the
// sampling-without-replacement CS of Waudby-Smith & Ramdas 2020, each candidate Δ implying the
// mean of the items left); the interval [L_t, U_t] covers Δ at every step with probability
// ≥ 1 − α and shrinks to Δ as t → n. The point estimate weighs each step's unbiased
// W_t = (S_{t−1} + |R_t| Z_t)/n by (n/|R_t|)². Decisions with tolerance δ:
//   regression when U_t < −δ;  pass when L_t > −δ (reported as better when also L_t > 0);
//   inconclusive at max_items. Once every item is answered Δ is known exactly and decides.
//
// Items handed out in a batch are resolved in the order they were drawn, as their outcomes arrive.
// Randomness comes from
// options.seed (a counter-based generator, part of the state), so the comparison is deterministic
// given its calls, and its state serializes exactly. Submit of an item already answered with the
// same outcome is accepted and changes nothing (a retry); with another outcome it is
// AlreadyExists. Not thread safe: callers serialize access.
#ifndef ASSAY_CORE_COMPARE_COMPARISON_H_
#define ASSAY_CORE_COMPARE_COMPARISON_H_

#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/audit/confseq.h"
#include "core/base/eigen.h"
#include "core/irt/scoring.h"

namespace assay::compare {

// How items are drawn.
enum class Design : uint8_t { kUniform = 0, kAdaptive = 1 };
// What predicts D_j.
enum class Predictor : uint8_t { kModel = 0, kNone = 1 };

enum class Decision : uint8_t {
  kUndecided = 0,
  kRegression = 1,
  kPass = 2,
  kBetter = 3,  // a pass with L > 0
  kInconclusive = 4,
};
// "undecided", "regression", "pass", "better", "inconclusive".
const char* DecisionName(Decision decision);

struct CompareOptions {
  static constexpr int kAllItems = std::numeric_limits<int>::max();
  double delta = 0.01;  // tolerance, a fraction in [0, 1) (0.01 = one accuracy point)
  double alpha = 0.05;  // in (0, 1)
  int max_items = kAllItems;  // distinct items evaluated at most (default: the whole benchmark)
  Design design = Design::kUniform;  // adaptive was no better on MATH-500 (tests/bench/README.md)
  Predictor predictor = Predictor::kModel;
  double exploration = 0.5;  // ε in (0, 1]: the uniform share of the adaptive design
  int cs_grid = 2000;        // candidate values of (Δ + 1)/2
  bool stop_at_decision = true;  // finish at the first decision (else run to max_items)
  uint64_t seed = 1;
  // InvalidArgument naming the field.
  absl::Status Validate() const;
};

// One outcome: `successes` of `trials` (a score: score of 1).
struct Outcome {
  double successes = 0;
  double trials = 1;
  double value() const { return successes / trials; }
  // InvalidArgument naming `field` unless 0 ≤ successes ≤ trials, trials > 0, both finite.
  absl::Status Validate(absl::string_view field) const;
};

// One resolved step of the confidence sequence.
struct Step {
  int64_t item = 0;
  double y_a = 0, y_b = 0;         // outcomes (fractions)
  double estimate = 0, lower = -1, upper = 1;  // after this step
};

struct CompareEstimate {
  int64_t steps = 0;    // resolved draws
  int64_t items = 0;    // items answered
  double estimate = 0;  // weighted mean of the W_t (Δ exactly once every item is answered)
  double lower = -1, upper = 1;
  Decision decision = Decision::kUndecided;
  bool finished = false;
  bool exact = false;  // every item answered: Δ is known
};

class Comparison {
 public:
  // `bank` must outlive the comparison. `baseline`: A's outcome on every item (baseline known),
  // or empty (both sampled). InvalidArgument for bad options, a bad bank or a baseline of the
  // wrong size or outside [0, 1] (naming the item).
  static absl::StatusOr<Comparison> Start(const irt::ItemBank* bank, const CompareOptions& options,
                                          std::vector<double> baseline = {});

  // Hands out up to `count` items to evaluate (fewer when max_items or the bank runs out, or when
  // a decision is reached while drawing). FailedPrecondition once finished; InvalidArgument for
  // count < 1.
  absl::StatusOr<std::vector<Eigen::Index>> Next(int count = 1);

  // Records item's outcomes: B's, and A's when both are sampled (`a` must be absent when the
  // baseline is known). InvalidArgument naming the field (item, y_a, y_b); FailedPrecondition for
  // an item not handed out; AlreadyExists for an item answered before with other outcomes.
  absl::Status Submit(Eigen::Index item, const Outcome& b,
                      const std::optional<Outcome>& a = std::nullopt);

  CompareEstimate Estimate() const;
  bool finished() const { return finished_; }
  bool baseline_known() const { return !baseline_.empty(); }
  const CompareOptions& options() const { return options_; }
  const std::vector<Step>& steps() const { return steps_; }
  const std::vector<Eigen::Index>& pending() const { return pending_; }
  // Items answered so far.
  int64_t answered() const { return static_cast<int64_t>(answers_.size()); }

  std::string Serialize() const;
  static absl::StatusOr<Comparison> Deserialize(absl::string_view bytes,
                                                const irt::ItemBank* bank);

 private:
  struct Answer {
    Eigen::Index item;
    double y_a, y_b;
  };
  // A draw, fixed when made: the item, its probability and prediction, the mean prediction over
  // the items left, the bounds of Z and the number of items left (the drawn one included).
  struct Draw {
    Eigen::Index item;
    double pi, m, m_bar, lo, hi, left;
  };

  Comparison(const irt::ItemBank* bank, const CompareOptions& options,
             std::vector<double> baseline);
  uint64_t NextRandom();
  // Refits the predictions on the first `answered` answers and recomputes π, its CDF and the
  // bounds of Z.
  void Refit(size_t answered);
  void RefitIfDue();
  void DrawOne();
  void ResolveDraws();
  void Decide();
  void FinishExact();

  const irt::ItemBank* bank_;
  CompareOptions options_;
  std::vector<double> baseline_;  // A's outcomes (baseline known), else empty
  // Per item: 0 free, 1 pending, 2 answered; the answer's index in answers_ when answered.
  std::vector<uint8_t> state_;
  std::vector<int64_t> answer_of_;
  std::vector<Answer> answers_;  // in the order they were submitted
  std::vector<Eigen::Index> pending_;
  std::deque<Draw> draws_;
  std::vector<Step> steps_;
  uint64_t counter_ = 0;
  int64_t handed_out_ = 0;  // items handed out (drawn)
  bool finished_ = false;
  Decision decision_ = Decision::kUndecided;
  double sum_d_ = 0;                 // S: D summed over the resolved draws
  double sum_w_ = 0, sum_ww_ = 0;    // the point estimate's weights and weighted W_t
  audit::ConfidenceSequence cs_;
  // Derived from answers_[0, fitted_) (never serialized; Deserialize refits):
  size_t fitted_ = 0;
  double theta_a_ = 0, theta_b_ = 0;
  double gamma_ = 0;  // baseline known: w, how often B repeats A's outcome
  // Per item: the prediction of D, the residual D − m's range, the adaptive design's weight.
  Eigen::ArrayXd m_, r_lo_, r_hi_, weight_;
};

}  // namespace assay::compare

#endif  // ASSAY_CORE_COMPARE_COMPARISON_H_
