#include "core/audit/audit.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/bytes.h"
#include "core/base/status_macros.h"

namespace assay::audit {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr char kMagic[] = "ASAU";
constexpr uint8_t kFormat = 2;

double LogAddExp(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  const double hi = std::max(a, b), lo = std::min(a, b);
  return hi + std::log1p(std::exp(lo - hi));
}

absl::Status CheckProbability(const std::string& field, double p) {
  if (!(p > 0 && p < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be strictly inside (0, 1), got ", p));
  }
  return absl::OkStatus();
}

absl::Status CheckSide(const std::string& field, double p, double tau, bool below) {
  RETURN_IF_ERROR(CheckProbability(field, p));
  if (below && !(p < tau)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": model-null alternative ", p, " must be < tau ", tau));
  }
  if (!below && !(p > tau)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": auditor-null alternative ", p, " must be > tau ", tau));
  }
  return absl::OkStatus();
}

Alternative ModelAlternative(const AuditConfig& c) {
  return c.alternative.ewaf ? Alternative::Ewaf(c.alternative.model_grid, c.alternative.eta)
                            : Alternative::Fixed(c.alternative.p_model);
}

Alternative AuditorAlternative(const AuditConfig& c) {
  return c.alternative.ewaf ? Alternative::Ewaf(c.alternative.auditor_grid, c.alternative.eta)
                            : Alternative::Fixed(c.alternative.p_auditor);
}

void WriteConfig(ByteWriter& w, const AuditConfig& c) {
  w.F64(c.tau);
  w.F64(c.alpha);
  w.I64(c.budget);
  w.U8(static_cast<uint8_t>(c.method));
  w.I64(c.max_samples);
  w.U8(c.alternative.ewaf ? 1 : 0);
  w.F64(c.alternative.p_model);
  w.F64(c.alternative.p_auditor);
  w.F64s(c.alternative.model_grid.data(), static_cast<int64_t>(c.alternative.model_grid.size()));
  w.F64s(c.alternative.auditor_grid.data(),
         static_cast<int64_t>(c.alternative.auditor_grid.size()));
  w.F64(c.alternative.eta);
  w.I64(c.cs_grid);
  w.U8(static_cast<uint8_t>(c.cs_bet));
}

bool ReadConfig(ByteReader& r, AuditConfig& c) {
  int64_t budget, max_samples;
  uint8_t method, ewaf;
  if (!r.F64(c.tau) || !r.F64(c.alpha) || !r.I64(budget) || !r.U8(method) || !r.I64(max_samples) ||
      !r.U8(ewaf) || !r.F64(c.alternative.p_model) || !r.F64(c.alternative.p_auditor) ||
      !r.F64s(c.alternative.model_grid) || !r.F64s(c.alternative.auditor_grid) ||
      !r.F64(c.alternative.eta)) {
    return false;
  }
  int64_t cs_grid;
  uint8_t cs_bet;
  if (!r.I64(cs_grid) || !r.U8(cs_bet) || cs_bet > static_cast<uint8_t>(CsBet::kAgrapa))
    return false;
  c.cs_grid = static_cast<int>(cs_grid);
  c.cs_bet = static_cast<CsBet>(cs_bet);
  if (method > static_cast<uint8_t>(Method::kCusum)) return false;
  c.budget = static_cast<int>(budget);
  c.max_samples = static_cast<int>(max_samples);
  c.method = static_cast<Method>(method);
  c.alternative.ewaf = ewaf != 0;
  return true;
}

void WriteCs(ByteWriter& w, const std::optional<ConfidenceSequence>& cs) {
  w.Str(cs.has_value() ? cs->Serialize() : std::string());
}

bool ReadCs(ByteReader& r, std::optional<ConfidenceSequence>& cs) {
  std::string bytes;
  if (!r.Str(bytes) || bytes.empty() != !cs.has_value()) return false;
  if (bytes.empty()) return true;
  auto parsed = ConfidenceSequence::Deserialize(bytes);
  if (!parsed.ok()) return false;
  cs = *std::move(parsed);
  return true;
}

void WriteWeights(ByteWriter& w, const Alternative& a) {
  w.F64s(a.log_weights().data(), a.log_weights().size());
}

bool ReadWeights(ByteReader& r, Alternative& a) {
  std::vector<double> v;
  if (!r.F64s(v) || static_cast<Eigen::Index>(v.size()) != a.log_weights().size()) return false;
  a.mutable_log_weights() =
      Eigen::Map<const Eigen::ArrayXd>(v.data(), static_cast<Eigen::Index>(v.size()));
  return true;
}

}  // namespace

const char* MethodName(Method m) {
  switch (m) {
    case Method::kLr:
      return "lr";
    case Method::kSr:
      return "sr";
    case Method::kCusum:
      return "cusum";
  }
  return "?";
}

const char* DecisionName(Decision d) {
  switch (d) {
    case Decision::kNone:
      return "";
    case Decision::kFailureModeFound:
      return "failure_mode_found";
    case Decision::kCertified:
      return "certified";
    case Decision::kInconclusive:
      return "inconclusive";
  }
  return "?";
}

absl::StatusOr<Method> ParseMethod(absl::string_view name) {
  if (name == "lr") return Method::kLr;
  if (name == "sr") return Method::kSr;
  if (name == "cusum") return Method::kCusum;
  return absl::InvalidArgumentError(
      absl::StrCat("method: must be lr, sr or cusum, got '", name, "'"));
}

absl::Status AuditConfig::Validate() const {
  RETURN_IF_ERROR(CheckProbability("tau", tau));
  if (!(alpha > 0 && alpha < 1))
    return absl::InvalidArgumentError(absl::StrCat("alpha: must be in (0, 1), got ", alpha));
  if (budget < 1)
    return absl::InvalidArgumentError(absl::StrCat("budget: must be >= 1, got ", budget));
  if (max_samples < 1)
    return absl::InvalidArgumentError(absl::StrCat("max_samples: must be >= 1, got ", max_samples));
  if (cs_grid != 0 && (cs_grid < 2 || cs_grid > 1000000)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cs_grid: must be 0 (off) or in [2, 1000000], got ", cs_grid));
  }
  const AlternativeConfig& a = alternative;
  if (!a.ewaf) {
    RETURN_IF_ERROR(CheckSide("alternative.p_model", a.p_model, tau, true));
    RETURN_IF_ERROR(CheckSide("alternative.p_auditor", a.p_auditor, tau, false));
    return absl::OkStatus();
  }
  if (!(a.eta > 0 && a.eta <= 1))
    return absl::InvalidArgumentError(
        absl::StrCat("alternative.eta: must be in (0, 1], got ", a.eta));
  if (a.model_grid.empty())
    return absl::InvalidArgumentError("alternative.model_grid: must not be empty");
  if (a.auditor_grid.empty())
    return absl::InvalidArgumentError("alternative.auditor_grid: must not be empty");
  for (size_t k = 0; k < a.model_grid.size(); ++k) {
    RETURN_IF_ERROR(
        CheckSide(absl::StrCat("alternative.model_grid[", k, "]"), a.model_grid[k], tau, true));
  }
  for (size_t k = 0; k < a.auditor_grid.size(); ++k) {
    RETURN_IF_ERROR(CheckSide(absl::StrCat("alternative.auditor_grid[", k, "]"), a.auditor_grid[k],
                              tau, false));
  }
  return absl::OkStatus();
}

Audit::Audit(const AuditConfig& config)
    : config_(config), model_(NewNullStat(config)), auditor_alt_(AuditorAlternative(config)) {}

absl::StatusOr<Audit> Audit::Create(const AuditConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  return Audit(config);
}

Audit::NullStat Audit::NewNullStat(const AuditConfig& config) {
  NullStat s;
  s.log_stat = config.method == Method::kLr ? 0.0 : kNegInf;  // M_0 = 1; R_0 = C_0 = 0
  s.alternative = ModelAlternative(config);
  if (config.cs_grid > 0) {
    ConfSeqOptions o;
    o.alpha = config.alpha;
    o.grid = config.cs_grid;
    o.bet = config.cs_bet;
    s.cs = ConfidenceSequence::Create(o).value();  // options validated with the config
  }
  return s;
}

void Audit::UpdateNull(const AuditConfig& config, NullStat& s, double y, double p) {
  ++s.t;
  const double log_l = LogBetFactor(y, p, config.tau);
  const bool opens = s.t <= config.budget;  // a new start time enters the mixture/max while t ≤ m
  switch (config.method) {
    case Method::kLr:
      s.log_stat += log_l;
      break;
    case Method::kSr:
      s.log_stat = log_l + (opens ? LogAddExp(s.log_stat, 0.0) : s.log_stat);
      break;
    case Method::kCusum:
      s.log_stat = log_l + (opens ? std::max(s.log_stat, 0.0) : s.log_stat);
      break;
  }
  s.alternative.Update(y, config.tau);
  if (s.cs.has_value()) s.cs->Update(y).IgnoreError();  // y ∈ [0,1] was checked on submission
}

double Audit::LogE(const AuditConfig& config, const NullStat& s) {
  if (config.method == Method::kLr) return s.log_stat;
  return s.log_stat - std::log(static_cast<double>(config.budget));
}

double Audit::log_e_model() const { return LogE(config_, model_); }
double Audit::p_value_model() const { return std::min(1.0, std::exp(-max_log_m_)); }
double Audit::p_value_auditor() const { return std::min(1.0, std::exp(-max_log_a_)); }
double Audit::accuracy_lower() const { return model_.cs ? model_.cs->lower() : 0.0; }
double Audit::accuracy_upper() const { return model_.cs ? model_.cs->upper() : 1.0; }

CaseBets Audit::NextBets() const { return {model_.alternative.Predict(), auditor_alt_.Predict()}; }

Step Audit::Merge(const Pending& p) {
  const int64_t t = ++tested_;
  UpdateNull(config_, model_, p.y, p.p_model);
  if (t >= config_.budget) {
    log_a_ += LogBetFactor(p.y, p.p_auditor, config_.tau);
    auditor_alt_.Update(p.y, config_.tau);  // the auditor's weights learn from t = m on
  }
  if (!p.subgroup.empty()) {
    auto it = subgroups_.find(p.subgroup);
    if (it == subgroups_.end()) it = subgroups_.emplace(p.subgroup, NewNullStat(config_)).first;
    UpdateNull(config_, it->second, p.y, p.p_subgroup);
  }
  const double log_m = LogE(config_, model_);
  max_log_m_ = std::max(max_log_m_, log_m);
  max_log_a_ = std::max(max_log_a_, log_a_);
  const double threshold = -std::log(config_.alpha);
  if (log_m >= threshold) {
    decision_ = Decision::kFailureModeFound;
  } else if (t >= config_.budget && log_a_ >= threshold) {
    decision_ = Decision::kCertified;
  } else if (t >= config_.max_samples) {
    decision_ = Decision::kInconclusive;
  }
  if (decision_ != Decision::kNone) decision_time_ = t;
  return Step{t,
              p.y,
              p.p_model,
              p.p_auditor,
              std::exp(log_m),
              std::exp(log_a_),
              p_value_model(),
              p_value_auditor(),
              decision_,
              p.case_id,
              accuracy_lower(),
              accuracy_upper()};
}

void Audit::MergeReady(std::vector<Step>* merged) {
  while (decision_ == Decision::kNone && !pending_.empty() && pending_.begin()->second.labelled) {
    Pending p = std::move(pending_.begin()->second);
    pending_.erase(pending_.begin());
    case_seq_.erase(p.case_id);
    Step step = Merge(p);
    if (merged != nullptr) merged->push_back(step);
  }
}

absl::StatusOr<Event> Audit::HandOut(const std::string& case_id, const std::string& subgroup) {
  if (decision_ != Decision::kNone) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit already decided (", DecisionName(decision_), " at t=", decision_time_, ")"));
  }
  if (case_id.empty()) return absl::InvalidArgumentError("case_id: must not be empty");
  if (case_seq_.contains(case_id)) {
    return absl::AlreadyExistsError(absl::StrCat("case '", case_id, "' is already outstanding"));
  }
  Pending p;
  p.case_id = case_id;
  p.subgroup = subgroup;
  p.p_model = model_.alternative.Predict();
  p.p_auditor = auditor_alt_.Predict();
  if (!subgroup.empty()) {
    auto it = subgroups_.find(subgroup);
    p.p_subgroup = it != subgroups_.end() ? it->second.alternative.Predict()
                                          : ModelAlternative(config_).Predict();
  } else {
    p.p_subgroup = 0;
  }
  const int64_t seq = next_seq_++;
  case_seq_[case_id] = seq;
  Event e{Event::Kind::kHandOut, case_id, subgroup, 0, p.p_model, p.p_auditor};
  pending_.emplace(seq, std::move(p));
  return e;
}

absl::StatusOr<Event> Audit::SubmitLabel(const std::string& case_id, double y,
                                         std::vector<Step>* merged) {
  if (decision_ != Decision::kNone) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit already decided (", DecisionName(decision_), " at t=", decision_time_, ")"));
  }
  if (!(y >= 0 && y <= 1))
    return absl::InvalidArgumentError(absl::StrCat("label: must be in [0, 1], got ", y));
  auto it = case_seq_.find(case_id);
  if (it == case_seq_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "case '", case_id, "' is not outstanding (never handed out, voided, or already labelled)"));
  }
  Pending& p = pending_.at(it->second);
  if (p.labelled)
    return absl::AlreadyExistsError(absl::StrCat("case '", case_id, "' already has a label"));
  p.labelled = true;
  p.y = y;
  ++labelled_;
  MergeReady(merged);
  return Event{Event::Kind::kLabel, case_id, "", y, 0, 0};
}

std::optional<OutstandingCase> Audit::Outstanding(const std::string& case_id) const {
  auto it = case_seq_.find(case_id);
  if (it == case_seq_.end()) return std::nullopt;
  const Pending& p = pending_.at(it->second);
  return OutstandingCase{p.subgroup, CaseBets{p.p_model, p.p_auditor}, p.labelled, p.y};
}

absl::StatusOr<Event> Audit::Void(const std::string& case_id) {
  if (decision_ != Decision::kNone) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit already decided (", DecisionName(decision_), ")"));
  }
  auto it = case_seq_.find(case_id);
  if (it == case_seq_.end())
    return absl::NotFoundError(absl::StrCat("case '", case_id, "' is not outstanding"));
  if (pending_.at(it->second).labelled) {
    return absl::FailedPreconditionError(
        absl::StrCat("case '", case_id, "' already has a label; it can no longer be voided"));
  }
  pending_.erase(it->second);
  case_seq_.erase(it);
  MergeReady(nullptr);  // labels waiting behind the voided case may merge now
  return Event{Event::Kind::kVoid, case_id, "", 0, 0, 0};
}

absl::StatusOr<Step> Audit::Observe(double y, const std::string& subgroup) {
  const std::string id = absl::StrCat("auto-", next_seq_);
  RETURN_IF_ERROR(HandOut(id, subgroup).status());
  std::vector<Step> merged;
  RETURN_IF_ERROR(SubmitLabel(id, y, &merged).status());
  if (merged.empty())
    return absl::FailedPreconditionError("label is waiting for earlier outstanding cases");
  return merged.back();
}

absl::Status Audit::Apply(const Event& e, std::vector<Step>* merged) {
  switch (e.kind) {
    case Event::Kind::kHandOut: {
      ASSIGN_OR_RETURN(Event made, HandOut(e.case_id, e.subgroup));
      // Bit-for-bit on purpose: a replayed bet must be the identical double, not a close one.
      if (std::memcmp(&made.p_model, &e.p_model, sizeof(double)) !=
              0 ||  // NOLINT(bugprone-suspicious-memory-comparison)
          std::memcmp(&made.p_auditor, &e.p_auditor, sizeof(double)) !=
              0) {  // NOLINT(bugprone-suspicious-memory-comparison)
        return absl::DataLossError(
            absl::StrCat("replay: bets of case '", e.case_id, "' differ from the log"));
      }
      return absl::OkStatus();
    }
    case Event::Kind::kLabel:
      return SubmitLabel(e.case_id, e.y, merged).status();
    case Event::Kind::kVoid:
      return Void(e.case_id).status();
  }
  return absl::DataLossError("replay: unknown event kind");
}

absl::StatusOr<Audit> Audit::Replay(const AuditConfig& config, absl::Span<const Event> events) {
  ASSIGN_OR_RETURN(Audit audit, Create(config));
  for (size_t k = 0; k < events.size(); ++k) {
    absl::Status s = audit.Apply(events[k]);
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("event #", k, ": ", s.message()));
  }
  return audit;
}

std::string Audit::Serialize() const {
  ByteWriter w;
  w.Header(kMagic, kFormat);
  WriteConfig(w, config_);
  w.F64(model_.log_stat);
  w.I64(model_.t);
  WriteWeights(w, model_.alternative);
  WriteCs(w, model_.cs);
  WriteWeights(w, auditor_alt_);
  w.F64(log_a_);
  w.F64(max_log_m_);
  w.F64(max_log_a_);
  w.I64(tested_);
  w.I64(labelled_);
  w.I64(next_seq_);
  w.U8(static_cast<uint8_t>(decision_));
  w.I64(decision_time_);
  w.I64(static_cast<int64_t>(pending_.size()));
  for (const auto& [seq, p] : pending_) {
    w.I64(seq);
    w.Str(p.case_id);
    w.Str(p.subgroup);
    w.F64(p.p_model);
    w.F64(p.p_auditor);
    w.F64(p.p_subgroup);
    w.U8(p.labelled ? 1 : 0);
    w.F64(p.y);
  }
  w.I64(static_cast<int64_t>(subgroups_.size()));
  for (const auto& [name, s] : subgroups_) {
    w.Str(name);
    w.F64(s.log_stat);
    w.I64(s.t);
    WriteWeights(w, s.alternative);
    WriteCs(w, s.cs);
  }
  return w.Take();
}

absl::StatusOr<Audit> Audit::Deserialize(absl::string_view bytes) {
  ByteReader r(bytes);
  const auto bad = [](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("audit snapshot: ", what));
  };
  if (!r.Header(kMagic, kFormat)) return bad("not an audit snapshot of this format");
  AuditConfig config;
  if (!ReadConfig(r, config)) return bad("truncated config");
  if (!config.Validate().ok()) return bad("invalid config");
  Audit a(config);
  uint8_t decision;
  int64_t pending_count;
  if (!r.F64(a.model_.log_stat) || !r.I64(a.model_.t) || !ReadWeights(r, a.model_.alternative) ||
      !ReadCs(r, a.model_.cs) || !ReadWeights(r, a.auditor_alt_) || !r.F64(a.log_a_) ||
      !r.F64(a.max_log_m_) || !r.F64(a.max_log_a_) || !r.I64(a.tested_) || !r.I64(a.labelled_) ||
      !r.I64(a.next_seq_) || !r.U8(decision) || !r.I64(a.decision_time_) || !r.I64(pending_count) ||
      decision > static_cast<uint8_t>(Decision::kInconclusive)) {
    return bad("truncated state");
  }
  a.decision_ = static_cast<Decision>(decision);
  for (int64_t k = 0; k < pending_count; ++k) {
    int64_t seq;
    Pending p;
    uint8_t labelled;
    if (!r.I64(seq) || !r.Str(p.case_id) || !r.Str(p.subgroup) || !r.F64(p.p_model) ||
        !r.F64(p.p_auditor) || !r.F64(p.p_subgroup) || !r.U8(labelled) || !r.F64(p.y)) {
      return bad("truncated outstanding cases");
    }
    p.labelled = labelled != 0;
    a.case_seq_[p.case_id] = seq;
    a.pending_.emplace(seq, std::move(p));
  }
  int64_t groups;
  if (!r.I64(groups)) return bad("truncated subgroups");
  for (int64_t k = 0; k < groups; ++k) {
    std::string name;
    NullStat s = NewNullStat(config);
    if (!r.Str(name) || !r.F64(s.log_stat) || !r.I64(s.t) || !ReadWeights(r, s.alternative) ||
        !ReadCs(r, s.cs)) {
      return bad("truncated subgroup");
    }
    a.subgroups_.emplace(std::move(name), std::move(s));
  }
  if (!r.done()) return bad("trailing bytes");
  return a;
}

std::vector<SubgroupStatus> Audit::Subgroups() const {
  std::vector<SubgroupStatus> out;
  for (const auto& [name, s] : subgroups_) {
    out.push_back({name, s.t, std::exp(LogE(config_, s)), s.cs ? s.cs->lower() : 0.0,
                   s.cs ? s.cs->upper() : 1.0});
  }
  return out;
}

std::vector<std::string> Audit::FailingSubgroups() const {
  const std::vector<SubgroupStatus> groups = Subgroups();
  std::vector<double> e;
  e.reserve(groups.size());
  for (const SubgroupStatus& g : groups) e.push_back(g.e_value);
  std::vector<std::string> out;
  for (size_t k : EBenjaminiHochberg(e, config_.alpha)) out.push_back(groups[k].name);
  return out;
}

std::vector<size_t> EBenjaminiHochberg(absl::Span<const double> e_values, double alpha) {
  const size_t n = e_values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t l, size_t r) { return e_values[l] > e_values[r]; });
  size_t k_star = 0;
  for (size_t k = 1; k <= n; ++k) {
    if (e_values[order[k - 1]] >= static_cast<double>(n) / (alpha * static_cast<double>(k)))
      k_star = k;
  }
  order.resize(k_star);
  std::sort(order.begin(), order.end());
  return order;
}

}  // namespace assay::audit
