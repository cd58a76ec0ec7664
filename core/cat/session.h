// Adaptive testing (computerized adaptive testing, CAT) over a calibrated unidimensional item bank:
// score a new model from few items (shared/docs/cat.md).
//
// Loop: Next() picks the unanswered item(s) with maximum Fisher information I_j(θ̂) =
// (a_j/σ)² p_j(1 − p_j) at the current estimate (randomesque: uniformly among the top k; content
// balancing: from the tag furthest below its target share; excluded items never); the client
// reports each outcome with Submit(); θ̂ and its SE are updated by MAP (Newton with a N(μ0, s0²)
// prior and bisection fallback, clipped) or EAP (log-space quadrature); the session stops at the
// SE target, max items, or when no remaining item is informative enough (never before min items).
//
// Predicted full-benchmark accuracy combines what was observed with the model for the rest:
//   Â = (Σ_{answered} y_j + Σ_{unanswered} p_j(θ̂)) / J,
// with a nominal interval from the delta method on θ̂ plus the Bernoulli variance of the
// unanswered items. With Selection::kModelAssisted, items are grouped into bands of p_j(θ̂)
// (edges 0.05, 0.2, 0.5, 0.8, 0.95); each band's unanswered items get the band's mean residual
// y − p(θ̂) over its answered items, shrunk toward 0 by a pseudo-count of 3 answered items (a
// post-stratified difference estimator), and the interval uses each band's residual variance
// (shrunk toward the 2PL's p(1 − p)) for both the estimated correction and the unanswered items.
//
// Anytime-valid mode (options.anytime_valid): items are drawn at random, with replacement, with
// known probabilities q_t(j) = (1 − ε)·I_j/ΣI + ε/J; each draw contributes the unbiased estimate
//   Z_t = (1/J) Σ_j p_j(θ̂_{t−1}) + (y_J − p_J(θ̂_{t−1})) / (J q_t(J))
// of the benchmark accuracy, and a betting confidence sequence (core/audit/confseq.h) over the Z_t
// stays valid whenever the client stops. A draw of an item already answered is resolved at once
// from its recorded outcome (the client is never asked twice).
//
// Randomness comes from options.seed (a counter-based generator, part of the state). The state
// serializes exactly. Submit() of an item already answered with the same outcome is accepted and
// changes nothing (a client retry); with a different outcome it is AlreadyExists.
// Not thread safe: callers serialize access per session.
#ifndef ASSAY_CORE_CAT_SESSION_H_
#define ASSAY_CORE_CAT_SESSION_H_

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

namespace assay::cat {

enum class Estimator : uint8_t { kMap = 0, kEap = 1 };

// How Next() ranks free items.
//   kFisher:   Fisher information I_j(θ̂) (the classic CAT rule: sharpest θ).
//   kAccuracy: expected reduction of the variance of the predicted benchmark total: the item's
//              own outcome variance p_j(1 − p_j) plus what its information removes from the θ
//              term, S'² se⁴ I_j / (1 + I_j se²), with S' = Σ_unanswered a_k p_k(1 − p_k)/σ.
//              Best when the goal is full-benchmark accuracy rather than θ.
//   kModelAssisted: a survey design for full-benchmark accuracy that does not trust the 2PL for
//              the model under test: the first locate_items items by Fisher information (to place
//              θ̂), then a stratified random sample over the bands of p_j(θ̂) described above:
//              each next item comes from the band where one more answered item most reduces the
//              variance of the predicted total (Neyman allocation, one item at a time), uniformly
//              at random within the band. The prediction adds a post-stratified residual
//              correction (see Estimate()). On real data, where models misfit the 2PL
//              (e.g. a format failure that costs easy items too), this predicts accuracy better
//              than max-information CAT; θ̂ itself is less precise.
enum class Selection : uint8_t { kFisher = 0, kAccuracy = 1, kModelAssisted = 2 };

// What the test is for, which sets the default design:
//   kAccuracy (default): the model's full-benchmark accuracy, the number teams report. The
//              model-assisted design predicts it best and its interval is honest on real models
//              (tests/bench/README.md: MATH-500 held-out rows; a dozen-model calibration).
//   kAbility:  θ with its SE (ranking on the IRT scale); maximum Fisher information.
enum class Goal : uint8_t { kAccuracy = 0, kAbility = 1 };
// The design a goal gets unless one is asked for.
Selection DefaultSelection(Goal goal);

// A calibrated bank with optional content tags (tags[j] in [0, num_tags), or empty for none).
struct Bank {
  irt::ItemBank items;
  std::vector<int32_t> tags;
  int num_tags = 0;
  absl::Status Validate() const;
};

struct CatOptions {
  Estimator estimator = Estimator::kMap;
  Selection selection = DefaultSelection(Goal::kAccuracy);
  double prior_mean = 0.0;
  double prior_sd = 1.0;
  std::optional<double> start_theta;  // initial estimate (default: prior_mean)
  int randomesque = 1;                // choose uniformly among the k most informative items
  int locate_items = 15;              // kModelAssisted: items chosen by information first
  std::vector<double> tag_targets;    // content balancing: target share per tag (empty = off)
  std::vector<int32_t> excluded;      // items never administered
  int min_items = 0;
  int max_items = 50;
  double se_target = 0.0;        // stop once SE ≤ target (0 = off)
  double min_information = 0.0;  // stop when no remaining item reaches this information
  double interval_level = 0.95;  // nominal level of the prediction interval
  bool anytime_valid = false;
  double exploration = 0.5;  // ε in (0, 1]: uniform share of the sampling design
  double alpha = 0.05;       // confidence sequence level 1 − α
  int cs_grid = 1000;
  uint64_t seed = 1;
  // InvalidArgument naming the field.
  absl::Status Validate(const Bank& bank) const;
};

struct CatEstimate {
  double theta = 0, se = 0;
  int64_t answered = 0;                                 // distinct items with an outcome
  double predicted_accuracy = 0, lower = 0, upper = 1;  // nominal interval
  double cs_lower = 0, cs_upper = 1;  // anytime-valid interval (anytime mode; else [0, 1])
  bool finished = false;
  std::string stop_reason;  // "se_target", "max_items", "no_informative_item", "bank_exhausted"
};

class CatSession {
 public:
  // `bank` must outlive the session. InvalidArgument for bad options or bank.
  static absl::StatusOr<CatSession> Start(const Bank* bank, const CatOptions& options);

  // Fixes and returns the next `count` items to administer (fewer if the bank runs out).
  // FailedPrecondition once finished; InvalidArgument for count < 1.
  absl::StatusOr<std::vector<Eigen::Index>> Next(int count = 1);

  // Records an outcome (`successes` of `trials`; a score: score of 1). NotFound: item not handed
  // out; AlreadyExists: answered before with a different outcome; InvalidArgument: bad numbers.
  absl::Status Submit(Eigen::Index item, double successes, double trials = 1.0);

  // The full estimate, including the prediction over the whole bank: O(J).
  CatEstimate Estimate() const;
  bool finished() const { return finished_; }
  const std::vector<irt::Response>& responses() const { return responses_; }
  const std::vector<Eigen::Index>& pending() const { return pending_; }

  std::string Serialize() const;
  static absl::StatusOr<CatSession> Deserialize(absl::string_view bytes, const Bank* bank);

 private:
  // One anytime-mode draw, fixed when made.
  struct Draw {
    Eigen::Index item;
    double q, p_hat, m_hat, bound;  // probability, prediction, mean prediction, |Z − m̂| bound
  };

  CatSession(const Bank* bank, const CatOptions& options);
  void UpdateTheta();
  double Information(Eigen::Index j) const;
  uint64_t NextRandom();
  Eigen::Index PickNext();
  int ContentTag() const;  // the tag furthest below its target share; −1 when balancing is off
  void DrawAnytime();
  void ResolveDraws();
  void CheckStop();

  const Bank* bank_;
  CatOptions options_;
  std::vector<uint8_t> state_;  // per item: 0 free, 1 pending, 2 answered, 3 excluded
  std::vector<irt::Response> responses_;
  std::vector<Eigen::Index> pending_;
  std::vector<int64_t> tag_counts_;
  double theta_, se_;
  Eigen::ArrayXd log_posterior_;  // EAP grid
  uint64_t counter_ = 0;
  bool finished_ = false;
  std::string stop_reason_;
  std::deque<Draw> draws_;  // anytime mode: draws not yet resolved, in draw order
  std::optional<audit::ConfidenceSequence> cs_;
  // Scratch buffers (bank-sized), reused so that a step allocates nothing; not part of the state.
  // p_ holds P(correct) of every item at θ = p_theta_ (NaN: not computed); Estimate() reuses it.
  Eigen::ArrayXd p_, score_;
  double p_theta_ = std::numeric_limits<double>::quiet_NaN();
  bool ProbabilitiesCurrent() const {  // p_ is at theta_
    return p_theta_ == theta_ && p_.size() == bank_->items.size();
  }
  void ComputeProbabilities();  // p_ at theta_

  // kModelAssisted: per band of p_j(θ̂), the unanswered items (count, summed 2PL variance
  // p(1 − p)) and the answered ones (count, summed residual y − p and its square).
  static constexpr int kBands = 6;
  struct Bands {
    double unseen[kBands] = {}, model_var[kBands] = {}, seen[kBands] = {}, sum[kBands] = {},
           sum_sq[kBands] = {};
    // The residual variance of band h: the answered items' mean square, shrunk toward the 2PL's.
    double Variance(int h) const;
    // Variance of the predicted total over band h's unanswered items: the estimated correction's
    // plus the items' own.
    double PredictionVariance(int h, double unseen_h, double seen_h) const;
  };
  // Each item's band (band_) and the bands' statistics (bands_) at p_ and the answered items so
  // far, computed once per step by PickNext() and reused by Estimate(); bands_current_ is cleared
  // whenever p_ or the answered items change.
  Eigen::ArrayXd band_;
  Bands bands_;
  bool bands_current_ = false;
  // Each item's band of p into *band and the bands' statistics into *bands: items not answered
  // are unseen (free or pending), answered ones seen.
  void BandsOf(const Eigen::ArrayXd& p, Eigen::ArrayXd* band, Bands* bands) const;
  void ComputeBands();  // band_ and bands_ at p_; requires ProbabilitiesCurrent()
};

// The EAP quadrature grid: 121 points on [−6, 6].
const Eigen::ArrayXd& EapGrid();

}  // namespace assay::cat

#endif  // ASSAY_CORE_CAT_SESSION_H_
