#include "core/cat/session.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/bytes.h"
#include "core/base/splitmix.h"
#include "core/base/status_macros.h"

namespace assay::cat {
namespace {

using Eigen::ArrayXd;
using Eigen::Index;

constexpr uint8_t kFree = 0, kPending = 1, kAnswered = 2, kExcluded = 3;
constexpr char kMagic[] = "ASCT";
constexpr uint8_t kFormat = 2;  // 2 added locate_items; format 1 snapshots still load

// Model-assisted prediction: upper edges of the bands of p_j(θ̂) (the last band runs to 1), and
// the pseudo-count of answered items that shrinks a band's residual mean toward 0.
constexpr double kBandEdges[] = {0.05, 0.2, 0.5, 0.8, 0.95};
constexpr double kResidualPseudoCount = 3.0;

// Standard normal quantile by bisection on erf (only called for interval levels).
double NormalQuantile(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// Into *out, evaluated in place: no allocation once *out has the bank's size (point values);
// with item posteriors, ItemBank::Probabilities.
void Probabilities(const irt::ItemBank& bank, double theta, ArrayXd* out) {
  if (bank.has_posteriors()) {
    *out = bank.Probabilities(theta);
    return;
  }
  *out = (1.0 + (-(bank.a.array() * theta + bank.b.array()) / bank.sigma).exp()).inverse();
}

}  // namespace

const ArrayXd& EapGrid() {
  static const ArrayXd* grid = new ArrayXd(ArrayXd::LinSpaced(121, -6.0, 6.0));
  return *grid;
}

Selection DefaultSelection(Goal goal) {
  return goal == Goal::kAbility ? Selection::kFisher : Selection::kModelAssisted;
}

absl::Status Bank::Validate() const {
  RETURN_IF_ERROR(items.Validate());
  if (items.size() == 0) return absl::InvalidArgumentError("bank: no items");
  if (!tags.empty()) {
    if (static_cast<Index>(tags.size()) != items.size())
      return absl::InvalidArgumentError("bank: one tag per item");
    for (int32_t t : tags) {
      if (t < 0 || t >= num_tags)
        return absl::InvalidArgumentError(absl::StrCat("bank: tag ", t, " out of range"));
    }
  }
  return absl::OkStatus();
}

absl::Status CatOptions::Validate(const Bank& bank) const {
  if (!(prior_sd > 0) || !std::isfinite(prior_mean))
    return absl::InvalidArgumentError("prior: needs finite mean and sd > 0");
  if (start_theta.has_value() && !std::isfinite(*start_theta))
    return absl::InvalidArgumentError("start_theta: must be finite");
  if (randomesque < 1)
    return absl::InvalidArgumentError(absl::StrCat("randomesque: must be >= 1, got ", randomesque));
  if (locate_items < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("locate_items: must be >= 0, got ", locate_items));
  }
  if (!tag_targets.empty() && static_cast<int>(tag_targets.size()) != bank.num_tags) {
    return absl::InvalidArgumentError(
        absl::StrCat("tag_targets: need one share per tag (", bank.num_tags, ")"));
  }
  for (double t : tag_targets) {
    if (!(t >= 0 && t <= 1))
      return absl::InvalidArgumentError("tag_targets: shares must be in [0, 1]");
  }
  for (int32_t e : excluded) {
    if (e < 0 || e >= bank.items.size())
      return absl::InvalidArgumentError(absl::StrCat("excluded: item ", e, " is not in the bank"));
  }
  if (min_items < 0 || max_items < 1 || min_items > max_items) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_items/max_items: need 0 <= min <= max, max >= 1; got ", min_items, "/", max_items));
  }
  if (!(se_target >= 0) || !(min_information >= 0))
    return absl::InvalidArgumentError("se_target/min_information: must be >= 0");
  if (!(interval_level > 0 && interval_level < 1))
    return absl::InvalidArgumentError("interval_level: must be in (0, 1)");
  if (!(exploration > 0 && exploration <= 1))
    return absl::InvalidArgumentError("exploration: must be in (0, 1]");
  if (!(alpha > 0 && alpha < 1)) return absl::InvalidArgumentError("alpha: must be in (0, 1)");
  if (anytime_valid && cs_grid < 2) return absl::InvalidArgumentError("cs_grid: must be >= 2");
  return absl::OkStatus();
}

CatSession::CatSession(const Bank* bank, const CatOptions& options)
    : bank_(bank),
      options_(options),
      state_(static_cast<size_t>(bank->items.size()), kFree),
      tag_counts_(static_cast<size_t>(std::max(bank->num_tags, 0)), 0),
      theta_(options.start_theta.value_or(options.prior_mean)),
      se_(options.prior_sd) {
  for (int32_t e : options.excluded) state_[static_cast<size_t>(e)] = kExcluded;
  const ArrayXd& g = EapGrid();
  log_posterior_ = -0.5 * ((g - options.prior_mean) / options.prior_sd).square();
  if (options.anytime_valid) {
    audit::ConfSeqOptions o;
    o.alpha = options.alpha;
    o.grid = options.cs_grid;
    cs_ = audit::ConfidenceSequence::Create(o).value();  // validated with the options
  }
}

absl::StatusOr<CatSession> CatSession::Start(const Bank* bank, const CatOptions& options) {
  if (bank == nullptr) return absl::InvalidArgumentError("bank: missing");
  RETURN_IF_ERROR(bank->Validate());
  RETURN_IF_ERROR(options.Validate(*bank));
  return CatSession(bank, options);
}

uint64_t CatSession::NextRandom() {
  return SplitMix64(options_.seed * 0x2545F4914F6CDD1DULL + counter_++);
}

double CatSession::Information(Index j) const {
  const irt::ItemBank& b = bank_->items;
  const irt::ItemBank::Logit x = b.ItemLogit(j, theta_);
  const double p = 1.0 / (1.0 + std::exp(-x.z));
  return x.slope * x.slope * p * (1 - p);
}

void CatSession::UpdateTheta() {
  if (responses_.empty()) {
    theta_ = options_.start_theta.value_or(options_.prior_mean);
    se_ = options_.prior_sd;
    return;
  }
  if (options_.estimator == Estimator::kEap) {
    const ArrayXd& g = EapGrid();
    const ArrayXd w = (log_posterior_ - log_posterior_.maxCoeff()).exp();
    const double total = w.sum();
    theta_ = (w * g).sum() / total;
    se_ = std::sqrt((w * (g - theta_).square()).sum() / total);
    return;
  }
  irt::ScoreOptions o;
  o.prior_mean = options_.prior_mean;
  o.prior_sd = options_.prior_sd;
  const irt::AbilityEstimate est =
      irt::ScoreMap(bank_->items, responses_, o).value();  // inputs validated
  theta_ = est.theta;
  se_ = est.se;
}

double CatSession::Bands::Variance(int h) const {
  const double prior = unseen[h] > 0 ? model_var[h] / unseen[h] : 0.25;
  return (sum_sq[h] + kResidualPseudoCount * prior) / (seen[h] + kResidualPseudoCount);
}

double CatSession::Bands::PredictionVariance(int h, double unseen_h, double seen_h) const {
  const double var = Variance(h);
  return unseen_h * unseen_h * var / (seen_h + kResidualPseudoCount) + unseen_h * var;
}

void CatSession::BandsOf(const ArrayXd& p, ArrayXd* band, Bands* bands) const {
  static_assert(std::size(kBandEdges) + 1 == kBands, "one band more than edges");
  band->setZero(p.size());
  for (double edge : kBandEdges) *band += (p >= edge).cast<double>();  // edges at or below p
  *bands = Bands();
  for (Index j = 0; j < p.size(); ++j) {
    if (state_[static_cast<size_t>(j)] == kAnswered) continue;
    const int h = static_cast<int>((*band)[j]);
    bands->unseen[h] += 1;
    bands->model_var[h] += p[j] * (1 - p[j]);
  }
  for (const irt::Response& r : responses_) {
    const double res = r.successes / r.trials - p[r.item];
    const int h = static_cast<int>((*band)[r.item]);
    bands->seen[h] += 1;
    bands->sum[h] += res;
    bands->sum_sq[h] += res * res;
  }
}

void CatSession::ComputeProbabilities() {
  if (ProbabilitiesCurrent()) return;
  Probabilities(bank_->items, theta_, &p_);
  p_theta_ = theta_;
  bands_current_ = false;
}

void CatSession::ComputeBands() {
  if (bands_current_) return;
  BandsOf(p_, &band_, &bands_);
  bands_current_ = true;
}

int CatSession::ContentTag() const {
  if (options_.tag_targets.empty()) return -1;
  const double given =
      static_cast<double>(std::accumulate(tag_counts_.begin(), tag_counts_.end(), int64_t{0}));
  std::vector<bool> has_free(static_cast<size_t>(bank_->num_tags), false);
  for (Index j = 0; j < bank_->items.size(); ++j) {
    if (state_[j] == kFree) has_free[static_cast<size_t>(bank_->tags[j])] = true;
  }
  int tag = -1;
  double best = -1e300;
  for (int t = 0; t < bank_->num_tags; ++t) {
    if (!has_free[static_cast<size_t>(t)]) continue;
    const double deficit = options_.tag_targets[t] - (given > 0 ? tag_counts_[t] / given : 0.0);
    if (deficit > best) {
      best = deficit;
      tag = t;
    }
  }
  return tag;
}

// The most informative free item (randomesque among the top k; within the tag furthest below its
// target share when content balancing is on). −1 if none is left or none reaches min_information.
// Model-assisted selection past its locate_items: a free item (of that tag) drawn uniformly at
// random from the band of p_j(θ̂) that Neyman allocation picks.
Index CatSession::PickNext() {
  const irt::ItemBank& b = bank_->items;
  const Index n = b.size();
  const auto eligible = [&](Index j, int tag) {
    return state_[j] == kFree && (tag < 0 || bank_->tags[j] == tag);
  };
  if (options_.selection == Selection::kModelAssisted &&
      static_cast<int64_t>(responses_.size() + pending_.size()) >= options_.locate_items) {
    const int tag = ContentTag();
    ComputeProbabilities();
    ComputeBands();
    const ArrayXd& band_of = band_;
    const Bands& bands = bands_;
    double pending_in[kBands] = {}, free_in[kBands] = {};
    for (Index j : pending_) pending_in[static_cast<int>(band_of[j])] += 1;
    for (Index j = 0; j < n; ++j) {
      if (eligible(j, tag)) free_in[static_cast<int>(band_of[j])] += 1;
    }
    // Neyman allocation, one item at a time: the band where one more answered item most reduces
    // the variance of the predicted total (pending items count as answered).
    int band = -1;
    double best = -1;
    for (int h = 0; h < kBands; ++h) {
      if (free_in[h] == 0) continue;
      const double unseen = bands.unseen[h] - pending_in[h], seen = bands.seen[h] + pending_in[h];
      const double gain = bands.PredictionVariance(h, unseen, seen) -
                          bands.PredictionVariance(h, unseen - 1, seen + 1);
      if (gain > best) {
        best = gain;
        band = h;
      }
    }
    if (band < 0) return -1;
    const auto in_band = [&](Index j) { return eligible(j, tag) && band_of[j] == band; };
    const int64_t count = static_cast<int64_t>(free_in[band]);
    int64_t pick = static_cast<int64_t>(NextRandom() % static_cast<uint64_t>(count));
    for (Index j = 0; j < n; ++j) {
      if (in_band(j) && pick-- == 0) return j;
    }
  }
  ComputeProbabilities();
  const ArrayXd slopes = b.Slopes(theta_);  // dz/dθ per item
  score_ = slopes.square() * p_ * (1 - p_);  // Fisher information
  if (options_.selection == Selection::kAccuracy) {
    double slope = 0;
    for (Index j = 0; j < n; ++j) {
      if (state_[j] != kAnswered) slope += slopes[j] * p_[j] * (1 - p_[j]);
    }
    const double se2 = se_ * se_;
    score_ = p_ * (1 - p_) + slope * slope * se2 * se2 * score_ / (1 + score_ * se2);
  }
  const ArrayXd& info = score_;
  const int tag = ContentTag();
  const size_t k = static_cast<size_t>(options_.randomesque);
  if (k == 1) {
    // Vectorized: mask what cannot be chosen, take the first maximum (lowest index on ties).
    for (Index j = 0; j < n; ++j) {
      if (!eligible(j, tag)) score_[j] = -1;
    }
    Index best;
    const double top = score_.maxCoeff(&best);
    return top < 0 || top < options_.min_information ? -1 : best;
  }
  // Randomesque: one pass keeping the k best (highest score first, ties to the lower index).
  std::vector<std::pair<double, Index>> top;
  top.reserve(k + 1);
  auto better = [](const std::pair<double, Index>& l, const std::pair<double, Index>& r) {
    return l.first != r.first ? l.first > r.first : l.second < r.second;
  };
  for (Index j = 0; j < n; ++j) {
    if (!eligible(j, tag)) continue;
    if (top.size() == k && !better({info[j], j}, top.back())) continue;
    top.insert(std::upper_bound(top.begin(), top.end(), std::make_pair(info[j], j), better),
               {info[j], j});
    if (top.size() > k) top.pop_back();
  }
  if (top.empty() || top[0].first < options_.min_information) return -1;
  const size_t pick = top.size() == 1 ? 0 : static_cast<size_t>(NextRandom() % top.size());
  return top[pick].second;
}

// Anytime mode: one draw from q_t(j) = (1 − ε) I_j / ΣI + ε / J over all non-excluded items.
void CatSession::DrawAnytime() {
  const irt::ItemBank& b = bank_->items;
  const Index n = b.size();
  ComputeProbabilities();
  ArrayXd& q = score_;  // information, then the sampling probabilities
  q = b.Slopes(theta_).square() * p_ * (1 - p_);
  Index eligible = 0;
  for (Index j = 0; j < n; ++j) {
    if (state_[j] == kExcluded)
      q[j] = 0;
    else
      ++eligible;
  }
  const double eps = options_.exploration, total = q.sum();
  q = (total > 0 ? (1 - eps) / total : 0.0) * q + eps / static_cast<double>(eligible);
  for (Index j = 0; j < n; ++j) {
    if (state_[j] == kExcluded) q[j] = 0;
  }
  q /= q.sum();
  const ArrayXd& p = p_;
  // Inverse-CDF draw with a 53-bit uniform.
  const double u = static_cast<double>(NextRandom() >> 11) * 0x1.0p-53;
  double acc = 0;
  Index item = n - 1;
  for (Index j = 0; j < n; ++j) {
    acc += q[j];
    if (u < acc && q[j] > 0) {
      item = j;
      break;
    }
  }
  while (q[item] <= 0) --item;  // rounding at the very end of the CDF
  double q_min = 1.0;
  for (Index j = 0; j < n; ++j) {
    if (q[j] > 0) q_min = std::min(q_min, q[j]);
  }
  // Predictions for the unbiased estimate: every item of the benchmark, including excluded ones,
  // is predicted by the model; only the drawn item's residual enters.
  const double m_hat = p.mean();
  draws_.push_back({item, q[item], p[item], m_hat, 1.0 / (static_cast<double>(n) * q_min)});
}

void CatSession::ResolveDraws() {
  const double n = static_cast<double>(bank_->items.size());
  while (!draws_.empty() && state_[draws_.front().item] == kAnswered) {
    const Draw d = draws_.front();
    draws_.pop_front();
    double y = 0;
    for (const irt::Response& r : responses_) {
      if (r.item == d.item) y = r.successes / r.trials;
    }
    const double z = d.m_hat + (y - d.p_hat) / (n * d.q);
    const double lo = std::min(0.0, d.m_hat - d.bound), hi = std::max(1.0, d.m_hat + d.bound);
    cs_->UpdateBounded(std::clamp(z, lo, hi), lo, hi)
        .IgnoreError();  // z lies in [lo, hi] by construction
  }
}

void CatSession::CheckStop() {
  if (finished_ || !pending_.empty()) return;
  const int64_t answered = static_cast<int64_t>(responses_.size());
  if (answered < options_.min_items) {
    bool any_free = false;
    for (uint8_t s : state_) any_free = any_free || s == kFree;
    if (!any_free) {
      finished_ = true;
      stop_reason_ = "bank_exhausted";
    }
    return;
  }
  if (options_.se_target > 0 && se_ <= options_.se_target) {
    finished_ = true;
    stop_reason_ = "se_target";
  } else if (answered >= options_.max_items) {
    finished_ = true;
    stop_reason_ = "max_items";
  }
}

absl::StatusOr<std::vector<Index>> CatSession::Next(int count) {
  if (count < 1)
    return absl::InvalidArgumentError(absl::StrCat("count: must be >= 1, got ", count));
  if (finished_)
    return absl::FailedPreconditionError(absl::StrCat("session finished (", stop_reason_, ")"));
  std::vector<Index> out;
  const auto given = [&] { return static_cast<int64_t>(responses_.size() + pending_.size()); };
  for (int k = 0; k < count && given() < options_.max_items; ++k) {
    Index item = -1;
    if (options_.anytime_valid) {
      // Draw until an item the client must evaluate comes up; known ones resolve at once.
      for (int attempt = 0; attempt < 100000 && item < 0; ++attempt) {
        DrawAnytime();
        const Index drawn = draws_.back().item;
        if (state_[drawn] == kAnswered) {
          ResolveDraws();
        } else if (state_[drawn] == kFree) {
          item = drawn;
        }  // pending: the draw waits for that item's outcome
        if (std::all_of(state_.begin(), state_.end(), [](uint8_t s) { return s != kFree; }) &&
            item < 0)
          break;
      }
    } else {
      item = PickNext();
    }
    if (item < 0) break;
    state_[item] = kPending;
    pending_.push_back(item);
    if (!bank_->tags.empty()) ++tag_counts_[static_cast<size_t>(bank_->tags[item])];
    out.push_back(item);
  }
  if (out.empty() && pending_.empty()) {
    finished_ = true;
    bool any_free = false;
    for (uint8_t s : state_) any_free = any_free || s == kFree;
    stop_reason_ = given() >= options_.max_items ? "max_items"
                   : any_free                    ? "no_informative_item"
                                                 : "bank_exhausted";
    return absl::FailedPreconditionError(absl::StrCat("session finished (", stop_reason_, ")"));
  }
  return out;
}

absl::Status CatSession::Submit(Index item, double successes, double trials) {
  if (item < 0 || item >= bank_->items.size()) {
    return absl::NotFoundError(absl::StrCat("item ", item, " is not in the bank"));
  }
  if (!std::isfinite(trials) || trials <= 0 || !std::isfinite(successes) || successes < 0 ||
      successes > trials) {
    return absl::InvalidArgumentError(
        absl::StrCat("outcome: successes ", successes, " must be in [0, trials=", trials, "]"));
  }
  if (state_[item] == kAnswered) {
    for (const irt::Response& r : responses_) {
      if (r.item == item) {
        if (r.successes == successes && r.trials == trials) return absl::OkStatus();  // a retry
        return absl::AlreadyExistsError(
            absl::StrCat("item ", item, " already has a different outcome"));
      }
    }
  }
  if (state_[item] != kPending)
    return absl::NotFoundError(absl::StrCat("item ", item, " was not handed out"));
  state_[item] = kAnswered;
  pending_.erase(std::find(pending_.begin(), pending_.end(), item));
  responses_.push_back({item, successes, trials});
  bands_current_ = false;
  // EAP: add this response's log-likelihood over the grid (log space: long tests never underflow).
  const ArrayXd x = bank_->items.ItemLogits(item, EapGrid());
  log_posterior_ += successes * x - trials * (x.max(0.0) + (1.0 + (-x.abs()).exp()).log());
  UpdateTheta();
  if (options_.anytime_valid) ResolveDraws();
  CheckStop();
  return absl::OkStatus();
}

CatEstimate CatSession::Estimate() const {
  CatEstimate e;
  e.theta = theta_;
  e.se = se_;
  e.answered = static_cast<int64_t>(responses_.size());
  e.finished = finished_;
  e.stop_reason = stop_reason_;
  const irt::ItemBank& b = bank_->items;
  const double n = static_cast<double>(b.size());
  ArrayXd computed;  // only when selection has not just computed them at this θ̂
  const bool cached = ProbabilitiesCurrent();
  if (!cached) Probabilities(b, theta_, &computed);
  const ArrayXd& p = cached ? p_ : computed;
  // Sums over the unanswered items: over all (vectorized), less the few answered ones.
  const ArrayXd slopes = b.Slopes(theta_);  // dz/dθ per item
  double predicted = p.sum(), slope = (slopes * p * (1 - p)).sum(),
         bernoulli = (p * (1 - p)).sum(), unanswered = n, observed = 0;
  for (const irt::Response& r : responses_) {  // one per answered item
    const double pj = p[r.item];
    predicted -= pj;
    slope -= slopes[r.item] * pj * (1 - pj);
    bernoulli -= pj * (1 - pj);
    unanswered -= 1;
    observed += r.successes / r.trials;
  }
  predicted = std::max(predicted, 0.0);
  bernoulli = std::max(bernoulli, 0.0);
  if (options_.selection == Selection::kModelAssisted) {
    // Post-stratified residual correction; its variance replaces the Bernoulli term.
    const bool reuse = cached && bands_current_;  // Next() computed them at this θ̂
    Bands computed_bands;
    if (!reuse) {
      ArrayXd band;
      BandsOf(p, &band, &computed_bands);
    }
    const Bands& bands = reuse ? bands_ : computed_bands;
    bernoulli = 0;
    for (int h = 0; h < kBands; ++h) {
      if (bands.unseen[h] == 0) continue;
      predicted += bands.unseen[h] * bands.sum[h] / (bands.seen[h] + kResidualPseudoCount);
      bernoulli += bands.PredictionVariance(h, bands.unseen[h], bands.seen[h]);
    }
    predicted = std::clamp(predicted, 0.0, unanswered);
  }
  e.predicted_accuracy = (observed + predicted) / n;
  const double sd = std::sqrt(slope * slope * se_ * se_ + bernoulli) / n;
  const double z = NormalQuantile(0.5 + options_.interval_level / 2);
  e.lower = std::max(observed / n, e.predicted_accuracy - z * sd);
  e.upper = std::min((observed + unanswered) / n, e.predicted_accuracy + z * sd);
  if (cs_.has_value()) {
    e.cs_lower = cs_->lower();
    e.cs_upper = cs_->upper();
  }
  return e;
}

std::string CatSession::Serialize() const {
  ByteWriter w;
  w.Header(kMagic, kFormat);
  const CatOptions& o = options_;
  w.U8(static_cast<uint8_t>(o.estimator));
  w.U8(static_cast<uint8_t>(o.selection));
  w.I64(o.locate_items);
  w.F64(o.prior_mean);
  w.F64(o.prior_sd);
  w.U8(o.start_theta.has_value() ? 1 : 0);
  w.F64(o.start_theta.value_or(0.0));
  w.I64(o.randomesque);
  w.F64s(o.tag_targets.data(), static_cast<int64_t>(o.tag_targets.size()));
  w.I64(static_cast<int64_t>(o.excluded.size()));
  for (int32_t e : o.excluded) w.I64(e);
  w.I64(o.min_items);
  w.I64(o.max_items);
  w.F64(o.se_target);
  w.F64(o.min_information);
  w.F64(o.interval_level);
  w.U8(o.anytime_valid ? 1 : 0);
  w.F64(o.exploration);
  w.F64(o.alpha);
  w.I64(o.cs_grid);
  w.I64(static_cast<int64_t>(o.seed));
  w.I64(static_cast<int64_t>(bank_->items.size()));
  w.I64(static_cast<int64_t>(responses_.size()));
  for (const irt::Response& r : responses_) {
    w.I64(r.item);
    w.F64(r.successes);
    w.F64(r.trials);
  }
  w.I64(static_cast<int64_t>(pending_.size()));
  for (Index j : pending_) w.I64(j);
  w.I64(static_cast<int64_t>(counter_));
  w.U8(finished_ ? 1 : 0);
  w.Str(stop_reason_);
  w.I64(static_cast<int64_t>(draws_.size()));
  for (const Draw& d : draws_) {
    w.I64(d.item);
    w.F64(d.q);
    w.F64(d.p_hat);
    w.F64(d.m_hat);
    w.F64(d.bound);
  }
  w.Str(cs_.has_value() ? cs_->Serialize() : std::string());
  return w.Take();
}

absl::StatusOr<CatSession> CatSession::Deserialize(absl::string_view bytes, const Bank* bank) {
  const auto bad = [](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("cat snapshot: ", what));
  };
  if (bank == nullptr) return absl::InvalidArgumentError("bank: missing");
  ByteReader r(bytes);
  uint8_t estimator, selection, has_start, anytime, finished;
  const bool format1 = !ByteReader(bytes).Header(kMagic, kFormat);
  if (!r.Header(kMagic, format1 ? 1 : kFormat)) return bad("not a session snapshot of this format");
  CatOptions o;
  double start;
  int64_t randomesque, n_excluded, min_items, max_items, cs_grid, seed, bank_size, locate = 0;
  if (!r.U8(estimator) || !r.U8(selection) || selection > 2 || (!format1 && !r.I64(locate)) ||
      !r.F64(o.prior_mean) || !r.F64(o.prior_sd) || !r.U8(has_start) || !r.F64(start) ||
      !r.I64(randomesque) || !r.F64s(o.tag_targets) || !r.I64(n_excluded) || n_excluded < 0) {
    return bad("truncated options");
  }
  for (int64_t k = 0; k < n_excluded; ++k) {
    int64_t e;
    if (!r.I64(e)) return bad("truncated options");
    o.excluded.push_back(static_cast<int32_t>(e));
  }
  if (!r.I64(min_items) || !r.I64(max_items) || !r.F64(o.se_target) || !r.F64(o.min_information) ||
      !r.F64(o.interval_level) || !r.U8(anytime) || !r.F64(o.exploration) || !r.F64(o.alpha) ||
      !r.I64(cs_grid) || !r.I64(seed) || !r.I64(bank_size) || estimator > 1) {
    return bad("truncated options");
  }
  if (bank_size != bank->items.size()) return bad("snapshot belongs to a bank of another size");
  o.estimator = static_cast<Estimator>(estimator);
  o.selection = static_cast<Selection>(selection);
  if (has_start) o.start_theta = start;
  o.randomesque = static_cast<int>(randomesque);
  if (!format1) o.locate_items = static_cast<int>(locate);
  o.min_items = static_cast<int>(min_items);
  o.max_items = static_cast<int>(max_items);
  o.anytime_valid = anytime != 0;
  o.cs_grid = static_cast<int>(cs_grid);
  o.seed = static_cast<uint64_t>(seed);
  auto started = Start(bank, o);
  if (!started.ok()) return bad(started.status().message());
  CatSession s = *std::move(started);
  int64_t n_responses, n_pending, counter, n_draws;
  if (!r.I64(n_responses) || n_responses < 0) return bad("truncated responses");
  for (int64_t k = 0; k < n_responses; ++k) {
    int64_t item;
    double succ, trials;
    if (!r.I64(item) || !r.F64(succ) || !r.F64(trials) || item < 0 || item >= bank_size)
      return bad("bad response");
    // Replay the response exactly as Submit() applied it (same EAP accumulation order).
    s.state_[item] = kPending;
    s.pending_.push_back(item);
    if (!bank->tags.empty()) ++s.tag_counts_[static_cast<size_t>(bank->tags[item])];
    s.state_[item] = kAnswered;
    s.pending_.pop_back();
    s.responses_.push_back({item, succ, trials});
    const ArrayXd x = bank->items.ItemLogits(item, EapGrid());
    s.log_posterior_ += succ * x - trials * (x.max(0.0) + (1.0 + (-x.abs()).exp()).log());
  }
  if (!r.I64(n_pending) || n_pending < 0) return bad("truncated pending items");
  for (int64_t k = 0; k < n_pending; ++k) {
    int64_t item;
    if (!r.I64(item) || item < 0 || item >= bank_size) return bad("bad pending item");
    s.state_[item] = kPending;
    s.pending_.push_back(item);
    if (!bank->tags.empty()) ++s.tag_counts_[static_cast<size_t>(bank->tags[item])];
  }
  std::string reason, cs_bytes;
  if (!r.I64(counter) || !r.U8(finished) || !r.Str(reason) || !r.I64(n_draws) || n_draws < 0)
    return bad("truncated state");
  s.counter_ = static_cast<uint64_t>(counter);
  s.finished_ = finished != 0;
  s.stop_reason_ = reason;
  for (int64_t k = 0; k < n_draws; ++k) {
    Draw d;
    int64_t item;
    if (!r.I64(item) || !r.F64(d.q) || !r.F64(d.p_hat) || !r.F64(d.m_hat) || !r.F64(d.bound))
      return bad("truncated draws");
    d.item = item;
    s.draws_.push_back(d);
  }
  if (!r.Str(cs_bytes) || !r.done()) return bad("truncated confidence sequence");
  if (o.anytime_valid) {
    auto cs = audit::ConfidenceSequence::Deserialize(cs_bytes);
    if (!cs.ok()) return bad("confidence sequence");
    s.cs_ = *std::move(cs);
  }
  s.UpdateTheta();
  return s;
}

}  // namespace assay::cat
