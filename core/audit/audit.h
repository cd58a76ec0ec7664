// An anytime-valid audit: dueling e-processes over a stream of labels (shared/docs/audit.md).
//
// Model null H0^mod ("no failure mode", every case has P(Y=1|past) ≥ τ) is tested by M_t, with
//   LR:    M_t = M_{t−1} · L_t
//   SR:    R_t = L_t (R_{t−1} + 1[t ≤ m]),          M_t = R_t / m
//   CUSUM: C_t = L_t · max(C_{t−1}, 1[t ≤ m]),      M_t = C_t / m
// with L_t = L(Y_t; p_t^mod, τ), p^mod < τ. Auditor null H0^{aud,m} is tested by
//   A_t = 1 (t < m),  A_t = ∏_{i=m..t} L(Y_i; p_i^aud, τ)  (t ≥ m), p^aud > τ.
// After each merged label: M_t ≥ 1/α → "failure_mode_found"; else t ≥ m and A_t ≥ 1/α →
// "certified"; else t = max_samples → "inconclusive". p-values min(1, 1/max_{s≤t} E_s). By Ville's
// inequality each null is falsely rejected with probability ≤ α, whatever the auditor's adaptive
// strategy and whenever it stops.
//
// Predictability with remote clients: HandOut() fixes a case's bets from the labels merged so far;
// labels merge in hand-out order (an early label waits for the cases handed out before it); a case
// can be voided only while its label is unknown. Each label may name a subgroup; every subgroup
// runs its own model-null e-process, and FailingSubgroups() applies e-BH (FDR ≤ α).
//
// State is O(outstanding cases + subgroups · grid); an update is O(1) (O(grid) with EWAF).
// Every mutating call returns the Event to append to a log; Replay(config, events) rebuilds the
// state bit-for-bit, and Serialize()/Deserialize() round-trip it exactly.
// Not thread safe: callers serialize access per audit.
#ifndef ASSAY_CORE_AUDIT_AUDIT_H_
#define ASSAY_CORE_AUDIT_AUDIT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/audit/bet.h"
#include "core/audit/confseq.h"

namespace assay::audit {

enum class Method { kLr, kSr, kCusum };
enum class Decision { kNone, kFailureModeFound, kCertified, kInconclusive };

const char* MethodName(Method m);      // "lr", "sr", "cusum"
const char* DecisionName(Decision d);  // "", "failure_mode_found", "certified", "inconclusive"
absl::StatusOr<Method> ParseMethod(absl::string_view name);

struct AlternativeConfig {
  bool ewaf = false;
  double p_model = 0.82;  // fixed alternatives
  double p_auditor = 0.90;
  std::vector<double> model_grid;  // EWAF grids
  std::vector<double> auditor_grid;
  double eta = 0.1;
};

struct AuditConfig {
  double tau = 0.85;
  double alpha = 0.05;
  int budget = 10;  // m
  Method method = Method::kSr;
  int max_samples = 250;
  AlternativeConfig alternative;
  // Betting confidence sequence (level 1 − α) for the accuracy of the audited stream and of each
  // subgroup, over a grid of this many candidate means; 0 turns it off. O(grid) per label.
  int cs_grid = 1000;
  CsBet cs_bet = CsBet::kPredictablePlugIn;

  // InvalidArgument naming the field: tau and every alternative strictly inside (0,1); model-null
  // alternatives < tau; auditor alternatives > tau; alpha in (0,1); budget ≥ 1; eta in (0,1];
  // max_samples ≥ 1; EWAF grids non-empty; cs_grid 0 or in [2, 1e6].
  absl::Status Validate() const;
};

// One entry of an audit's append-only log.
struct Event {
  enum class Kind : uint8_t { kHandOut = 1, kLabel = 2, kVoid = 3 };
  Kind kind;
  std::string case_id;
  std::string subgroup;  // hand-out only
  double y = 0;          // label only
  // Hand-out only: the bets fixed for the case (checked bit-for-bit on replay).
  double p_model = 0;
  double p_auditor = 0;
};

// The bets fixed for a case when it was handed out.
struct CaseBets {
  double p_model;
  double p_auditor;
};

// One merged (tested) label, for reporting.
struct Step {
  int64_t t;
  double y;
  double p_model, p_auditor;
  double e_model, e_auditor;
  double p_value_model, p_value_auditor;
  Decision decision;
  std::string case_id;
  // The accuracy's confidence sequence after this label ([0,1] when off).
  double accuracy_lower, accuracy_upper;
};

// A case handed out and not yet merged or voided.
struct OutstandingCase {
  std::string subgroup;
  CaseBets bets;
  bool labelled;  // its label is known and waits for earlier cases
  double y;       // the label, if labelled
};

struct SubgroupStatus {
  std::string name;
  int64_t tested;
  double e_value;                         // current model-null e-value of the subgroup
  double accuracy_lower, accuracy_upper;  // its confidence sequence ([0,1] when off)
};

class Audit {
 public:
  // InvalidArgument if the config does not validate.
  static absl::StatusOr<Audit> Create(const AuditConfig& config);

  // Hands out case `case_id` and fixes its bets. AlreadyExists if that id is outstanding;
  // FailedPrecondition once decided; InvalidArgument for an empty id.
  absl::StatusOr<Event> HandOut(const std::string& case_id, const std::string& subgroup = "");

  // Records the label of an outstanding case and merges every label now at the head of the
  // hand-out order. `merged` (optional) receives the steps merged by this call.
  // InvalidArgument: y outside [0,1] or NaN. NotFound: not an outstanding case (never handed out,
  // voided, or already merged). AlreadyExists: its label is already waiting to merge.
  // FailedPrecondition: audit already decided.
  absl::StatusOr<Event> SubmitLabel(const std::string& case_id, double y,
                                    std::vector<Step>* merged = nullptr);

  // Voids an outstanding, unlabelled case. NotFound / FailedPrecondition (label already known).
  absl::StatusOr<Event> Void(const std::string& case_id);

  // The outstanding case `case_id`, or nullopt if it is not outstanding (never handed out, merged
  // or voided: the state forgets closed cases; the event log remembers them).
  std::optional<OutstandingCase> Outstanding(const std::string& case_id) const;

  // Hand-out and label in one step (a sequential auditor). Returns the merged step.
  absl::StatusOr<Step> Observe(double y, const std::string& subgroup = "");

  // Applies a logged event (replay). DataLoss if a hand-out's recorded bets differ from the ones
  // recomputed here (the log does not belong to this state), otherwise as the calls above.
  // `merged` (optional) receives the steps a label event merged.
  absl::Status Apply(const Event& event, std::vector<Step>* merged = nullptr);
  static absl::StatusOr<Audit> Replay(const AuditConfig& config, absl::Span<const Event> events);

  // Exact binary snapshot and its inverse (DataLoss for bytes that do not parse).
  std::string Serialize() const;
  static absl::StatusOr<Audit> Deserialize(absl::string_view bytes);

  const AuditConfig& config() const { return config_; }
  int64_t tested() const { return tested_; }        // labels merged
  int64_t handed_out() const { return next_seq_; }  // cases handed out (incl. voided)
  int64_t labelled() const { return labelled_; }    // labels received (merged or waiting)
  int64_t outstanding() const { return static_cast<int64_t>(pending_.size()); }
  Decision decision() const { return decision_; }
  int64_t decision_time() const { return decision_time_; }  // t of the decision, 0 if none
  double log_e_model() const;                               // log M_t
  double log_e_auditor() const { return log_a_; }           // log A_t
  double p_value_model() const;
  double p_value_auditor() const;
  // Anytime-valid confidence interval for the accuracy of the merged labels ([0,1] when off).
  double accuracy_lower() const;
  double accuracy_upper() const;
  // Bets the next hand-out would get.
  CaseBets NextBets() const;

  std::vector<SubgroupStatus> Subgroups() const;
  // Subgroups rejected by e-BH at level α over all subgroups' current e-values (FDR ≤ α).
  std::vector<std::string> FailingSubgroups() const;

  bool operator==(const Audit& other) const { return Serialize() == other.Serialize(); }

 private:
  // Running model-null statistic (LR / SR / CUSUM with budget m) in log space.
  struct NullStat {
    double log_stat = 0;  // log M (LR), log R (SR) or log C (CUSUM); −inf before t = 1 for SR/CUSUM
    int64_t t = 0;
    Alternative alternative;
    std::optional<ConfidenceSequence> cs;
  };
  struct Pending {
    std::string case_id;
    std::string subgroup;
    double p_model, p_auditor, p_subgroup;
    bool labelled = false;
    double y = 0;
  };

  explicit Audit(const AuditConfig& config);
  static NullStat NewNullStat(const AuditConfig& config);
  static void UpdateNull(const AuditConfig& config, NullStat& s, double y, double p);
  static double LogE(const AuditConfig& config, const NullStat& s);
  Step Merge(const Pending& p);
  void MergeReady(std::vector<Step>* merged);

  AuditConfig config_;
  NullStat model_;
  Alternative auditor_alt_;
  double log_a_ = 0;
  double max_log_m_ = -1e308, max_log_a_ = 0;
  int64_t tested_ = 0, labelled_ = 0, next_seq_ = 0;
  Decision decision_ = Decision::kNone;
  int64_t decision_time_ = 0;
  std::map<int64_t, Pending> pending_;  // by hand-out sequence
  // Outstanding case id → hand-out sequence. Closed cases (merged or voided) are forgotten: the
  // event log, not the state, remembers them, so the state stays O(outstanding).
  absl::flat_hash_map<std::string, int64_t> case_seq_;
  std::map<std::string, NullStat> subgroups_;  // ordered: deterministic serialization
};

// e-BH (Wang & Ramdas 2022): indices of the hypotheses rejected at FDR level α given e-values.
// Rejects the k* largest, k* = max{k : e_(k) ≥ K / (α k)}. O(K log K).
std::vector<size_t> EBenjaminiHochberg(absl::Span<const double> e_values, double alpha);

}  // namespace assay::audit

#endif  // ASSAY_CORE_AUDIT_AUDIT_H_
