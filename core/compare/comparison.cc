#include "core/compare/comparison.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/bytes.h"
#include "core/base/splitmix.h"
#include "core/base/status_macros.h"

namespace assay::compare {

using Eigen::ArrayXd;
using Eigen::Index;

namespace {
constexpr uint8_t kFree = 0, kPending = 1, kAnswered = 2;
constexpr char kMagic[5] = "ACMP";
constexpr uint8_t kFormat = 1;
}  // namespace

const char* DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kUndecided:
      return "undecided";
    case Decision::kRegression:
      return "regression";
    case Decision::kPass:
      return "pass";
    case Decision::kBetter:
      return "better";
    case Decision::kInconclusive:
      return "inconclusive";
  }
  return "undecided";
}

absl::Status CompareOptions::Validate() const {
  if (!(delta >= 0 && delta < 1))
    return absl::InvalidArgumentError(absl::StrCat("delta: must be in [0, 1), got ", delta));
  if (!(alpha > 0 && alpha < 1))
    return absl::InvalidArgumentError(absl::StrCat("alpha: must be in (0, 1), got ", alpha));
  if (max_items < 1)
    return absl::InvalidArgumentError(absl::StrCat("max_items: must be >= 1, got ", max_items));
  if (design != Design::kUniform && design != Design::kAdaptive)
    return absl::InvalidArgumentError("design: must be uniform or adaptive");
  if (predictor != Predictor::kModel && predictor != Predictor::kNone)
    return absl::InvalidArgumentError("predictor: must be model or none");
  if (!(exploration > 0 && exploration <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("exploration: must be in (0, 1], got ", exploration));
  }
  if (cs_grid < 10 || cs_grid > 100000)
    return absl::InvalidArgumentError(absl::StrCat("cs_grid: must be in [10, 1e5], got ", cs_grid));
  return absl::OkStatus();
}

absl::Status Outcome::Validate(absl::string_view field) const {
  if (!std::isfinite(trials) || trials <= 0 || !std::isfinite(successes) || successes < 0 ||
      successes > trials) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": successes ", successes,
                                                   " must be in [0, trials=", trials, "]"));
  }
  return absl::OkStatus();
}

namespace {
audit::ConfSeqOptions CsOptions(const CompareOptions& o) {
  audit::ConfSeqOptions cs;
  cs.alpha = o.alpha;
  cs.grid = o.cs_grid;
  cs.bet = audit::CsBet::kAgrapa;
  cs.truncation = 0.8;  // bigger bets than the audits' 0.5: fewer items (tests/bench/README.md)
  return cs;
}
}  // namespace

Comparison::Comparison(const irt::ItemBank* bank, const CompareOptions& options,
                       std::vector<double> baseline)
    : bank_(bank),
      options_(options),
      baseline_(std::move(baseline)),
      state_(static_cast<size_t>(bank->size()), kFree),
      answer_of_(static_cast<size_t>(bank->size()), -1),
      cs_(audit::ConfidenceSequence::Create(CsOptions(options)).value()) {}

absl::StatusOr<Comparison> Comparison::Start(const irt::ItemBank* bank,
                                             const CompareOptions& options,
                                             std::vector<double> baseline) {
  RETURN_IF_ERROR(options.Validate());
  RETURN_IF_ERROR(bank->Validate());
  if (bank->size() == 0) return absl::InvalidArgumentError("bank: has no items");
  if (!baseline.empty()) {
    if (static_cast<Index>(baseline.size()) != bank->size()) {
      return absl::InvalidArgumentError(absl::StrCat("baseline: ", baseline.size(),
                                                     " outcomes for ", bank->size(), " items"));
    }
    for (size_t j = 0; j < baseline.size(); ++j) {
      if (!(baseline[j] >= 0 && baseline[j] <= 1)) {
        return absl::InvalidArgumentError(
            absl::StrCat("baseline: item ", j, ": outcome ", baseline[j], " outside [0, 1]"));
      }
    }
  }
  Comparison c(bank, options, std::move(baseline));
  c.Refit(0);
  return c;
}

uint64_t Comparison::NextRandom() {
  return SplitMix64(options_.seed * 0x2545F4914F6CDD1DULL + counter_++);
}

void Comparison::Refit(size_t answered) {
  const irt::ItemBank& bank = *bank_;
  const Index n = bank.size();
  fitted_ = answered;
  const bool known = baseline_known();
  // The residual's range and predicted variance per item.
  ArrayXd& r_lo = r_lo_;
  ArrayXd& r_hi = r_hi_;
  ArrayXd var(n);
  r_lo.resize(n);
  r_hi.resize(n);
  if (options_.predictor == Predictor::kNone) {
    m_.setZero(n);
    for (Index j = 0; j < n; ++j) {
      r_lo[j] = known ? -baseline_[j] : -1.0;
      r_hi[j] = known ? 1.0 - baseline_[j] : 1.0;
      var[j] = 0.25;  // nothing predicted: every item alike
    }
  } else if (known) {
    // θ_A on A's whole run (for B's prior); θ_B by MAP on B's answers so far; then how often B
    // repeats A's outcome beyond what the two abilities alone predict (w, a chance-corrected
    // agreement, shrunk towards 0 by one pseudo-answer each way).
    std::vector<irt::Response> a_run;
    a_run.reserve(baseline_.size());
    for (Index j = 0; j < n; ++j) a_run.push_back({j, baseline_[j], 1.0});
    irt::ScoreOptions so;
    theta_a_ = irt::ScoreMap(bank, a_run, so).value().theta;  // inputs validated at Start
    std::vector<irt::Response> b_run;
    for (size_t k = 0; k < answered; ++k) b_run.push_back({answers_[k].item, answers_[k].y_b, 1.0});
    so.prior_mean = theta_a_;
    theta_b_ = irt::ScoreMap(bank, b_run, so).value().theta;
    const ArrayXd p_b = bank.Probabilities(theta_b_);
    double agree = 0, chance = 0;
    for (size_t k = 0; k < answered; ++k) {
      const Answer& ans = answers_[k];
      const double p = p_b[ans.item];
      agree += 1 - std::abs(ans.y_b - ans.y_a);
      chance += ans.y_a * p + (1 - ans.y_a) * (1 - p);
    }
    const double na = static_cast<double>(answered);
    const double observed = (agree + 1) / (na + 2), expected = (chance + 1) / (na + 2);
    gamma_ = expected < 1 ? std::clamp((observed - expected) / (1 - expected), 0.0, 1.0) : 0.0;
    m_.resize(n);
    for (Index j = 0; j < n; ++j) {
      const double p = gamma_ * baseline_[j] + (1 - gamma_) * p_b[j];
      m_[j] = p - baseline_[j];
      r_lo[j] = -p;  // y_B − p̂_B
      r_hi[j] = 1 - p;
      var[j] = p * (1 - p);
    }
  } else {
    std::vector<irt::Response> a_run, b_run;
    for (size_t k = 0; k < answered; ++k) {
      a_run.push_back({answers_[k].item, answers_[k].y_a, 1.0});
      b_run.push_back({answers_[k].item, answers_[k].y_b, 1.0});
    }
    irt::ScoreOptions so;
    theta_a_ = irt::ScoreMap(bank, a_run, so).value().theta;
    theta_b_ = irt::ScoreMap(bank, b_run, so).value().theta;
    const ArrayXd p_a = bank.Probabilities(theta_a_), p_b = bank.Probabilities(theta_b_);
    m_ = p_b - p_a;
    r_lo = -1 - m_;
    r_hi = 1 - m_;
    var = p_a * (1 - p_a) + p_b * (1 - p_b);
  }
  weight_ = var.sqrt();
}

void Comparison::RefitIfDue() {
  const size_t a = answers_.size();
  if (a == fitted_ || options_.predictor == Predictor::kNone) return;
  if (a <= 20 || static_cast<double>(a) >= 1.05 * static_cast<double>(fitted_)) Refit(a);
}

void Comparison::DrawOne() {
  // π over the items not drawn yet: uniform, or ε uniform plus (1 − ε) ∝ the predicted SD.
  const Index n = bank_->size();
  double left = 0, weights = 0, m_sum = 0;
  for (Index j = 0; j < n; ++j) {
    if (state_[j] != kFree) continue;
    left += 1;
    weights += weight_[j];
    m_sum += m_[j];
  }
  const bool adaptive = options_.design == Design::kAdaptive && weights > 0;
  const double eps = adaptive ? options_.exploration : 1.0;
  const auto pi = [&](Index j) {
    return (adaptive ? (1 - eps) * weight_[j] / weights : 0.0) + eps / left;
  };
  // Inverse-CDF draw with a 53-bit uniform; the bounds of Z over the same items (uniform draws:
  // left·π = 1, so the residuals' own range).
  const double u = static_cast<double>(NextRandom() >> 11) * 0x1.0p-53;
  const double m_bar = m_sum / left;
  double acc = 0, lo = 0, hi = 0;
  Index item = -1, last = -1;
  for (Index j = 0; j < n; ++j) {
    if (state_[j] != kFree) continue;
    last = j;
    if (adaptive) {
      const double p = pi(j);
      acc += p;
      if (item < 0 && u < acc) item = j;
      lo = std::min(lo, r_lo_[j] / (left * p));
      hi = std::max(hi, r_hi_[j] / (left * p));
    } else {
      acc += 1;
      if (item < 0 && u * left < acc) item = j;
      lo = std::min(lo, r_lo_[j]);
      hi = std::max(hi, r_hi_[j]);
    }
  }
  if (item < 0) item = last;  // rounding at the very end of the CDF
  draws_.push_back({item, pi(item), m_[item], m_bar, m_bar + lo, m_bar + hi, left});
}

void Comparison::ResolveDraws() {
  const double n = static_cast<double>(bank_->size());
  while (!finished_ && !draws_.empty() && state_[draws_.front().item] == kAnswered) {
    const Draw d = draws_.front();
    draws_.pop_front();
    const Answer& ans = answers_[static_cast<size_t>(answer_of_[d.item])];
    const double diff = ans.y_b - ans.y_a;
    const double z = std::clamp(d.m_bar + (diff - d.m) / (d.left * d.pi), d.lo, d.hi);
    // Candidate c on the CS's grid is Δ = 2c − 1, under which Z's conditional mean is
    // (nΔ − S)/left = a + b·c.
    // Z's conditional mean as predicted before the draw: from the estimate so far (the mean
    // prediction before the first step).
    const double delta_hat = sum_w_ > 0 ? sum_ww_ / sum_w_ : d.m_bar;
    const double centre = (n * delta_hat - sum_d_) / d.left;
    cs_.UpdateAffine(z, d.lo, d.hi, (-n - sum_d_) / d.left, 2 * n / d.left, centre)
        .IgnoreError();  // z in [lo, hi] by construction, slope > 0
    const double w = (n / d.left) * (n / d.left), big_w = (sum_d_ + d.left * z) / n;
    sum_w_ += w;
    sum_ww_ += w * big_w;
    sum_d_ += diff;
    Step s;
    s.item = d.item;
    s.y_a = ans.y_a;
    s.y_b = ans.y_b;
    s.estimate = sum_ww_ / sum_w_;
    s.lower = 2 * cs_.lower() - 1;
    s.upper = 2 * cs_.upper() - 1;
    steps_.push_back(s);
    Decide();
  }
}

void Comparison::Decide() {
  const Step& s = steps_.back();
  const double delta = options_.delta;
  Decision d = Decision::kUndecided;
  if (s.upper < -delta)
    d = Decision::kRegression;
  else if (s.lower > 0)
    d = Decision::kBetter;
  else if (s.lower > -delta)
    d = Decision::kPass;
  if (d == Decision::kUndecided) return;
  decision_ = d;
  if (options_.stop_at_decision) finished_ = true;
}

void Comparison::FinishExact() {
  // Every item answered: Δ is known, and decides with certainty.
  double sum = 0;
  for (const Answer& a : answers_) sum += a.y_b - a.y_a;
  const double n = static_cast<double>(bank_->size()), delta = options_.delta;
  const double exact = sum / n;
  Step s;
  s.item = -1;
  s.estimate = s.lower = s.upper = exact;
  steps_.push_back(s);
  const double margin = sum + delta * n;  // > 0: Δ > −δ
  decision_ = std::abs(margin) < 1e-9 ? Decision::kInconclusive
              : margin < 0            ? Decision::kRegression
              : exact > 1e-12         ? Decision::kBetter
                                      : Decision::kPass;
  finished_ = true;
  draws_.clear();
}

absl::StatusOr<std::vector<Index>> Comparison::Next(int count) {
  if (count < 1)
    return absl::InvalidArgumentError(absl::StrCat("count: must be >= 1, got ", count));
  if (finished_) {
    return absl::FailedPreconditionError(
        absl::StrCat("comparison finished (", DecisionName(decision_), ")"));
  }
  const int64_t n = bank_->size();
  const int64_t budget = std::min<int64_t>(options_.max_items, n);
  std::vector<Index> out;
  while (static_cast<int>(out.size()) < count && handed_out_ < budget) {
    RefitIfDue();
    DrawOne();
    const Index j = draws_.back().item;
    state_[j] = kPending;
    pending_.push_back(j);
    ++handed_out_;
    out.push_back(j);
  }
  return out;
}

absl::Status Comparison::Submit(Index item, const Outcome& b, const std::optional<Outcome>& a) {
  if (item < 0 || item >= bank_->size()) {
    return absl::InvalidArgumentError(absl::StrCat("item: ", item, " is not in the benchmark (",
                                                   bank_->size(), " items)"));
  }
  RETURN_IF_ERROR(b.Validate("y_b"));
  double y_a;
  if (baseline_known()) {
    if (a.has_value()) {
      return absl::InvalidArgumentError(
          "y_a: the baseline's outcomes are known; submit the candidate's outcome alone");
    }
    y_a = baseline_[static_cast<size_t>(item)];
  } else {
    if (!a.has_value())
      return absl::InvalidArgumentError("y_a: both models are sampled; give the baseline's outcome");
    RETURN_IF_ERROR(a->Validate("y_a"));
    y_a = a->value();
  }
  const double y_b = b.value();
  if (state_[item] == kAnswered) {
    const Answer& prev = answers_[static_cast<size_t>(answer_of_[item])];
    if (prev.y_a == y_a && prev.y_b == y_b) return absl::OkStatus();  // a retry
    return absl::AlreadyExistsError(
        absl::StrCat("item: ", item, " was answered before with other outcomes"));
  }
  if (state_[item] != kPending)
    return absl::FailedPreconditionError(absl::StrCat("item: ", item, " was not handed out"));
  state_[item] = kAnswered;
  answer_of_[item] = static_cast<int64_t>(answers_.size());
  answers_.push_back({item, y_a, y_b});
  pending_.erase(std::find(pending_.begin(), pending_.end(), item));
  ResolveDraws();
  if (!finished_ && static_cast<Index>(answers_.size()) == bank_->size()) FinishExact();
  const int64_t budget = std::min<int64_t>(options_.max_items, bank_->size());
  if (!finished_ && pending_.empty() && handed_out_ >= budget) {
    finished_ = true;
    if (decision_ == Decision::kUndecided) decision_ = Decision::kInconclusive;
  }
  return absl::OkStatus();
}

CompareEstimate Comparison::Estimate() const {
  CompareEstimate e;
  e.steps = cs_.t();
  e.items = static_cast<int64_t>(answers_.size());
  if (!steps_.empty()) {
    e.estimate = steps_.back().estimate;
    e.lower = steps_.back().lower;
    e.upper = steps_.back().upper;
  }
  e.decision = decision_;
  e.finished = finished_;
  e.exact = !steps_.empty() && steps_.back().item < 0;
  return e;
}

std::string Comparison::Serialize() const {
  ByteWriter w;
  w.Header(kMagic, kFormat);
  const CompareOptions& o = options_;
  w.F64(o.delta);
  w.F64(o.alpha);
  w.I64(o.max_items);
  w.U8(static_cast<uint8_t>(o.design));
  w.U8(static_cast<uint8_t>(o.predictor));
  w.F64(o.exploration);
  w.I64(o.cs_grid);
  w.U8(o.stop_at_decision ? 1 : 0);
  w.I64(static_cast<int64_t>(o.seed));
  w.I64(bank_->size());
  w.F64s(baseline_.data(), static_cast<int64_t>(baseline_.size()));
  w.I64(static_cast<int64_t>(answers_.size()));
  for (const Answer& a : answers_) {
    w.I64(a.item);
    w.F64(a.y_a);
    w.F64(a.y_b);
  }
  w.I64(static_cast<int64_t>(pending_.size()));
  for (Index j : pending_) w.I64(j);
  w.I64(static_cast<int64_t>(draws_.size()));
  for (const Draw& d : draws_) {
    w.I64(d.item);
    for (double v : {d.pi, d.m, d.m_bar, d.lo, d.hi, d.left}) w.F64(v);
  }
  w.I64(static_cast<int64_t>(steps_.size()));
  for (const Step& s : steps_) {
    w.I64(s.item);
    for (double v : {s.y_a, s.y_b, s.estimate, s.lower, s.upper}) w.F64(v);
  }
  w.I64(static_cast<int64_t>(counter_));
  w.I64(handed_out_);
  w.U8(finished_ ? 1 : 0);
  w.U8(static_cast<uint8_t>(decision_));
  for (double v : {sum_d_, sum_w_, sum_ww_}) w.F64(v);
  w.I64(static_cast<int64_t>(fitted_));
  w.Str(cs_.Serialize());
  return w.Take();
}

absl::StatusOr<Comparison> Comparison::Deserialize(absl::string_view bytes,
                                                   const irt::ItemBank* bank) {
  const auto bad = [](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("comparison snapshot: ", what));
  };
  ByteReader r(bytes);
  if (!r.Header(kMagic, kFormat)) return bad("not a comparison snapshot of this format");
  CompareOptions o;
  int64_t max_items, grid, seed, items;
  uint8_t design, predictor, stop;
  if (!r.F64(o.delta) || !r.F64(o.alpha) || !r.I64(max_items) || !r.U8(design) ||
      !r.U8(predictor) || !r.F64(o.exploration) || !r.I64(grid) || !r.U8(stop) || !r.I64(seed) ||
      !r.I64(items)) {
    return bad("truncated options");
  }
  o.max_items = static_cast<int>(max_items);
  o.design = static_cast<Design>(design);
  o.predictor = static_cast<Predictor>(predictor);
  o.cs_grid = static_cast<int>(grid);
  o.stop_at_decision = stop != 0;
  o.seed = static_cast<uint64_t>(seed);
  if (!o.Validate().ok()) return bad("invalid options");
  if (items != bank->size()) return bad("the bank's size differs from the snapshot's");
  std::vector<double> baseline;
  if (!r.F64s(baseline)) return bad("truncated baseline");
  auto started = Start(bank, o, std::move(baseline));
  if (!started.ok()) return bad(started.status().message());
  Comparison c = *std::move(started);
  const auto item_ok = [&](int64_t j) { return j >= 0 && j < items; };
  int64_t count;
  if (!r.I64(count) || count < 0 || count > items) return bad("truncated answers");
  for (int64_t k = 0; k < count; ++k) {
    Answer a;
    int64_t j;
    if (!r.I64(j) || !r.F64(a.y_a) || !r.F64(a.y_b) || !item_ok(j) ||
        c.state_[static_cast<size_t>(j)] != kFree) {
      return bad("bad answer");
    }
    a.item = j;
    c.state_[static_cast<size_t>(j)] = kAnswered;
    c.answer_of_[static_cast<size_t>(j)] = k;
    c.answers_.push_back(a);
  }
  if (!r.I64(count) || count < 0 || count > items) return bad("truncated pending items");
  for (int64_t k = 0; k < count; ++k) {
    int64_t j;
    if (!r.I64(j) || !item_ok(j) || c.state_[static_cast<size_t>(j)] != kFree)
      return bad("bad pending item");
    c.state_[static_cast<size_t>(j)] = kPending;
    c.pending_.push_back(j);
  }
  if (!r.I64(count) || count < 0) return bad("truncated draws");
  for (int64_t k = 0; k < count; ++k) {
    Draw d;
    int64_t j;
    if (!r.I64(j) || !item_ok(j) || !r.F64(d.pi) || !r.F64(d.m) || !r.F64(d.m_bar) ||
        !r.F64(d.lo) || !r.F64(d.hi) || !r.F64(d.left)) {
      return bad("bad draw");
    }
    d.item = j;
    c.draws_.push_back(d);
  }
  if (!r.I64(count) || count < 0) return bad("truncated steps");
  for (int64_t k = 0; k < count; ++k) {
    Step s;
    if (!r.I64(s.item) || !r.F64(s.y_a) || !r.F64(s.y_b) || !r.F64(s.estimate) ||
        !r.F64(s.lower) || !r.F64(s.upper)) {
      return bad("bad step");
    }
    c.steps_.push_back(s);
  }
  int64_t counter, fitted;
  uint8_t finished, decision;
  std::string cs;
  if (!r.I64(counter) || !r.I64(c.handed_out_) || !r.U8(finished) || !r.U8(decision) ||
      decision > static_cast<uint8_t>(Decision::kInconclusive) || !r.F64(c.sum_d_) ||
      !r.F64(c.sum_w_) || !r.F64(c.sum_ww_) ||
      !r.I64(fitted) || fitted < 0 || fitted > static_cast<int64_t>(c.answers_.size()) ||
      !r.Str(cs) || !r.done()) {
    return bad("truncated state");
  }
  c.counter_ = static_cast<uint64_t>(counter);
  c.finished_ = finished != 0;
  c.decision_ = static_cast<Decision>(decision);
  ASSIGN_OR_RETURN(c.cs_, audit::ConfidenceSequence::Deserialize(cs));
  if (fitted > 0) c.Refit(static_cast<size_t>(fitted));
  return c;
}

}  // namespace assay::compare
