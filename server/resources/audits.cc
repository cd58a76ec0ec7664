#include "server/resources/audits.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "proto/convert/audit_config.h"
#include "server/resources/paging.h"
#include "server/resources/request_ids.h"

namespace assay::server {
namespace {

// Snapshots bound the replay on load. A snapshot holds the statistics (fixed size) and the
// outstanding cases (≈ 70 bytes each), so writing one every so many events would make the write
// cost per label grow with the outstanding cases: with 3,000 open cases a snapshot is ≈ 200 KB and
// stalls the commit holding it (and every writer behind it) by milliseconds. The rule is the one of
// log compaction: an audit snapshots once the events since its last snapshot number at least
// kSnapshotEvery and kEventsPerOutstanding times its outstanding cases, each threshold stretched by
// a factor in [1, 2) fixed per audit. So the snapshot bytes written per event stay below
// ≈ 70 / kEventsPerOutstanding plus the fixed part / kSnapshotEvery, and a load replays fewer than
// 2 max(kSnapshotEvery, kEventsPerOutstanding × outstanding) events.
constexpr int64_t kSnapshotEvery = 1000;
constexpr int64_t kEventsPerOutstanding = 4;

// The per-audit stretch: audits fed in step (a pipeline labelling round-robin) reach a threshold
// together and would otherwise all write their snapshots in the same commit, stalling every writer
// behind it.
bool SnapshotDue(int64_t audit_id, int64_t events_since_snapshot, int64_t outstanding) {
  const int64_t stretch_permille = 1000 + audit_id * 7919 % 1000;  // [1000, 2000)
  const int64_t threshold = std::max(kSnapshotEvery, kEventsPerOutstanding * outstanding);
  return events_since_snapshot * 1000 >= threshold * stretch_permille;
}
constexpr size_t kMaxIdLength = 256;
constexpr size_t kMaxNameLength = 200;
constexpr int kMaxCasesPerCall = 1000;

v1::Decision ToProto(audit::Decision d) {
  switch (d) {
    case audit::Decision::kNone:
      return v1::DECISION_NONE;
    case audit::Decision::kFailureModeFound:
      return v1::DECISION_FAILURE_MODE_FOUND;
    case audit::Decision::kCertified:
      return v1::DECISION_CERTIFIED;
    case audit::Decision::kInconclusive:
      return v1::DECISION_INCONCLUSIVE;
  }
  return v1::DECISION_NONE;
}

void ToProto(const audit::Step& s, v1::Step* out) {
  out->set_t(s.t);
  out->set_case_id(s.case_id);
  out->set_y(s.y);
  out->set_e_model(s.e_model);
  out->set_e_auditor(s.e_auditor);
  out->set_p_value_model(s.p_value_model);
  out->set_p_value_auditor(s.p_value_auditor);
  out->set_decision(ToProto(s.decision));
  out->set_accuracy_lower(s.accuracy_lower);
  out->set_accuracy_upper(s.accuracy_upper);
}

absl::StatusOr<v1::AuditConfig> StoredConfig(const storage::AuditRecord& record) {
  v1::AuditConfig config;
  if (!config.ParseFromString(record.config)) {
    return absl::DataLossError(
        absl::StrCat("audit ", record.public_id, ": stored config is corrupt"));
  }
  return config;
}

absl::Status CheckId(const std::string& field, const std::string& value) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  if (value.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": at most ", kMaxIdLength, " bytes, got ", value.size()));
  }
  return absl::OkStatus();
}

absl::Status CheckLabel(double y) {
  if (!(y >= 0 && y <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("y: must be a number in [0, 1], got ", y));
  }
  return absl::OkStatus();
}

absl::Status AlreadyDecided(const std::string& audit_id, const audit::Audit& state) {
  return absl::FailedPreconditionError(absl::StrCat("audit '", audit_id, "' is already decided (",
                                                    audit::DecisionName(state.decision()),
                                                    " at t=", state.decision_time(), ")"));
}

}  // namespace

struct AuditManager::Live : LiveResource<v1::Audit, v1::AuditUpdate> {
  Live(storage::AuditRecord r, v1::AuditConfig c, audit::Audit s, int64_t rev)
      : record(std::move(r)),
        config(std::move(c)),
        state(std::move(s)),
        revision(rev),
        snapshot_revision(record.snapshot_revision) {
    record.snapshot.clear();  // only needed to load
    published.Set(ToProto(), revision);
  }

  static v1::AuditUpdate CurrentUpdate(const v1::Audit& audit) {
    v1::AuditUpdate now;
    *now.mutable_audit() = audit;
    return now;
  }
  static bool IsFinal(const v1::Audit& audit) { return audit.decision() != v1::DECISION_NONE; }

  // The current state as the API shows it.
  v1::Audit ToProto() const {
    v1::Audit a;
    a.set_id(record.public_id);
    a.set_display_name(record.display_name);
    *a.mutable_config() = config;
    a.set_created_at(record.created_at);
    a.set_revision(revision);
    a.set_handed_out(state.handed_out());
    a.set_labelled(state.labelled());
    a.set_tested(state.tested());
    a.set_outstanding(state.outstanding());
    a.set_e_model(std::exp(state.log_e_model()));
    a.set_e_auditor(std::exp(state.log_e_auditor()));
    a.set_p_value_model(state.p_value_model());
    a.set_p_value_auditor(state.p_value_auditor());
    a.set_accuracy_lower(state.accuracy_lower());
    a.set_accuracy_upper(state.accuracy_upper());
    a.set_decision(server::ToProto(state.decision()));
    a.set_decision_time(state.decision_time());
    const std::vector<audit::SubgroupStatus> groups = state.Subgroups();
    if (!groups.empty()) {
      const std::vector<std::string> failing = state.FailingSubgroups();
      const absl::flat_hash_set<std::string> failing_set(failing.begin(), failing.end());
      for (const audit::SubgroupStatus& g : groups) {
        v1::SubgroupState* s = a.add_subgroups();
        s->set_name(g.name);
        s->set_tested(g.tested);
        s->set_e_value(g.e_value);
        s->set_accuracy_lower(g.accuracy_lower);
        s->set_accuracy_upper(g.accuracy_upper);
        s->set_failing(failing_set.contains(g.name));
      }
    }
    return a;
  }

  storage::AuditRecord record;
  const v1::AuditConfig config;
  // Committer thread only (and the loader, before the Live is shared).
  audit::Audit state;
  int64_t revision;
  int64_t snapshot_revision;
  // This batch's merged steps, published with the state once the batch commits.
  std::vector<audit::Step> batch_steps;
  bool publish_scheduled = false;
};

absl::StatusOr<std::shared_ptr<AuditManager::Live>> AuditManager::Find(
    storage::Reader& source, const Principal& who, const std::string& audit_id) {
  RETURN_IF_ERROR(CheckId("audit_id", audit_id));
  return live_.Find(who, audit_id, [&] { return Replay(source, who, audit_id); });
}

absl::StatusOr<std::shared_ptr<AuditManager::Live>> AuditManager::Replay(
    storage::Reader& source, const Principal& who, const std::string& audit_id) {
  ASSIGN_OR_RETURN(std::optional<storage::AuditRecord> record,
                   source.FindAudit(who.team_id, audit_id));
  if (!record.has_value()) return live_.NotFound(audit_id);
  ASSIGN_OR_RETURN(v1::AuditConfig config, StoredConfig(*record));
  ASSIGN_OR_RETURN(audit::AuditConfig core_config, convert::AuditConfigFromProto(config));
  absl::StatusOr<audit::Audit> state = record->snapshot.empty()
                                           ? audit::Audit::Create(core_config)
                                           : audit::Audit::Deserialize(record->snapshot);
  if (!state.ok()) {
    return absl::DataLossError(
        absl::StrCat("audit ", audit_id, ": cannot restore snapshot: ", state.status().message()));
  }
  ASSIGN_OR_RETURN(std::vector<audit::Event> events,
                   source.AuditEvents(record->id, record->snapshot_revision));
  for (size_t i = 0; i < events.size(); ++i) {
    const absl::Status applied = state->Apply(events[i]);
    if (!applied.ok()) {
      return absl::DataLossError(absl::StrCat("audit ", audit_id, ": event ",
                                              record->snapshot_revision + 1 + i,
                                              " does not replay: ", applied.message()));
    }
  }
  const int64_t revision = record->snapshot_revision + static_cast<int64_t>(events.size());
  return std::make_shared<Live>(*std::move(record), std::move(config), *std::move(state), revision);
}

absl::Status AuditManager::Append(WriteContext& ctx, Live& live, const audit::Event& event) {
  ++live.revision;
  RETURN_IF_ERROR(ctx.txn().AppendAuditEvent(live.record.id, live.revision, event));
  if (live.state.decision() != audit::Decision::kNone)
    RETURN_IF_ERROR(ctx.txn().MarkClosed(storage::Closable::kAudit, live.record.id));
  if (SnapshotDue(live.record.id, live.revision - live.snapshot_revision,
                  live.state.outstanding())) {
    RETURN_IF_ERROR(
        ctx.txn().PutAuditSnapshot(live.record.id, live.revision, live.state.Serialize()));
    live.snapshot_revision = live.revision;
  }
  return absl::OkStatus();
}

void AuditManager::PublishOnCommit(WriteContext& ctx, const std::shared_ptr<Live>& live,
                                   std::vector<audit::Step> steps) {
  // One publication per audit per committed batch: the state after the batch and every step the
  // batch merged, in order. (Building the API view once per batch rather than once per label keeps
  // ingest cheap; watchers still see every step exactly once.)
  live->batch_steps.insert(live->batch_steps.end(), std::make_move_iterator(steps.begin()),
                           std::make_move_iterator(steps.end()));
  if (live->publish_scheduled) return;
  live->publish_scheduled = true;
  ctx.OnCommit([live] {
    v1::AuditUpdate update;
    *update.mutable_audit() = live->ToProto();
    for (const audit::Step& s : live->batch_steps) ToProto(s, update.add_steps());
    live->batch_steps.clear();
    live->publish_scheduled = false;
    live->published.Publish(update.audit(), update, Live::IsFinal(update.audit()),
                            update.audit().revision());
  });
}

void AuditManager::CountDecisionOnCommit(WriteContext& ctx, const Principal& who,
                                         const audit::Audit& state) {
  if (metrics_ == nullptr || state.decision() == audit::Decision::kNone) return;
  ctx.OnCommit([metrics = metrics_, team = who.team, decision = state.decision()] {
    metrics->RecordAuditDecision(team, audit::DecisionName(decision));
  });
}

absl::Status AuditManager::Create(WriteContext& ctx, const Principal& who,
                                  const v1::CreateAuditRequest& req, v1::Audit* out) {
  return WithRequestId(ctx.txn(), who.team_id, "CreateAudit", req, out, [&]() -> absl::Status {
    RETURN_IF_ERROR(Admit(quotas_, ctx.txn(), who, Limit::kOpenAudits));
    if (req.display_name().size() > kMaxNameLength) {
      return absl::InvalidArgumentError(absl::StrCat("display_name: at most ", kMaxNameLength,
                                                     " bytes, got ", req.display_name().size()));
    }
    ASSIGN_OR_RETURN(audit::AuditConfig config, convert::AuditConfigFromProto(req.config()));
    ASSIGN_OR_RETURN(audit::Audit state, audit::Audit::Create(config));
    storage::AuditRecord record;
    record.public_id = absl::StrCat("aud_", RandomHex(8));
    record.team_id = who.team_id;
    record.display_name = req.display_name();
    v1::AuditConfig stored = convert::AuditConfigToProto(config);
    record.config = stored.SerializeAsString();
    record.created_at = absl::ToUnixSeconds(absl::Now());
    RETURN_IF_ERROR(ctx.txn().InsertAudit(record));
    auto live = std::make_shared<Live>(std::move(record), std::move(stored), std::move(state), 0);
    *out = live->ToProto();
    live_.HoldOnCommit(ctx, live);
    return absl::OkStatus();
  });
}

absl::Status AuditManager::HandOut(WriteContext& ctx, const Principal& who,
                                   const v1::HandOutCasesRequest& req,
                                   v1::HandOutCasesResponse* out) {
  ASSIGN_OR_RETURN(std::shared_ptr<Live> live, Find(ctx.txn(), who, req.audit_id()));
  return WithRequestId(ctx.txn(), who.team_id, "HandOutCases", req, out, [&]() -> absl::Status {
    const int n = req.cases_size();
    if (n < 1 || n > kMaxCasesPerCall) {
      return absl::InvalidArgumentError(
          absl::StrCat("cases: 1 to ", kMaxCasesPerCall, " cases per call, got ", n));
    }
    audit::Audit& state = live->state;
    if (state.decision() != audit::Decision::kNone) return AlreadyDecided(req.audit_id(), state);
    // Check every case before changing anything. `existing[i]` holds the bets of a case that is
    // already outstanding with the same subgroup (a retried hand-out).
    std::vector<std::optional<audit::CaseBets>> existing(static_cast<size_t>(n));
    absl::flat_hash_set<std::string> in_request;
    for (int i = 0; i < n; ++i) {
      const v1::CaseToHandOut& c = req.cases(i);
      const std::string field = absl::StrCat("cases[", i, "]");
      RETURN_IF_ERROR(CheckId(absl::StrCat(field, ".case_id"), c.case_id()));
      if (c.subgroup().size() > kMaxIdLength) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".subgroup: at most ", kMaxIdLength, " bytes"));
      }
      if (!in_request.insert(c.case_id()).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".case_id: '", c.case_id(), "' appears twice in this request"));
      }
      if (std::optional<audit::OutstandingCase> o = state.Outstanding(c.case_id())) {
        if (o->subgroup != c.subgroup()) {
          return absl::AlreadyExistsError(absl::StrCat(field, ": case '", c.case_id(),
                                                       "' is already outstanding with subgroup '",
                                                       o->subgroup, "'"));
        }
        existing[static_cast<size_t>(i)] = o->bets;
        continue;
      }
      ASSIGN_OR_RETURN(std::vector<audit::Event> history,
                       ctx.txn().CaseEvents(live->record.id, c.case_id()));
      if (!history.empty()) {
        return absl::AlreadyExistsError(absl::StrCat(
            field, ": case '", c.case_id(), "' was already handed out in this audit and closed"));
      }
    }
    live_.DropOnRollback(ctx, live);
    for (int i = 0; i < n; ++i) {
      const v1::CaseToHandOut& c = req.cases(i);
      v1::HandedOutCase* o = out->add_cases();
      o->set_case_id(c.case_id());
      audit::CaseBets bets;
      if (existing[static_cast<size_t>(i)].has_value()) {
        bets = *existing[static_cast<size_t>(i)];
      } else {
        ASSIGN_OR_RETURN(audit::Event e, state.HandOut(c.case_id(), c.subgroup()));
        RETURN_IF_ERROR(Append(ctx, *live, e));
        bets = audit::CaseBets{e.p_model, e.p_auditor};
      }
      o->set_p_model(bets.p_model);
      o->set_p_auditor(bets.p_auditor);
    }
    out->set_revision(live->revision);
    PublishOnCommit(ctx, live, {});
    return absl::OkStatus();
  });
}

absl::Status AuditManager::Label(WriteContext& ctx, const Principal& who,
                                 const v1::SubmitLabelRequest& req, v1::SubmitLabelResponse* out) {
  ASSIGN_OR_RETURN(std::shared_ptr<Live> live, Find(ctx.txn(), who, req.audit_id()));
  return WithRequestId(ctx.txn(), who.team_id, "SubmitLabel", req, out, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckId("case_id", req.case_id()));
    RETURN_IF_ERROR(CheckLabel(req.y()));
    audit::Audit& state = live->state;
    out->set_case_id(req.case_id());
    // The label this case already has, if any (a retry or a conflict).
    std::optional<double> recorded;
    if (std::optional<audit::OutstandingCase> o = state.Outstanding(req.case_id())) {
      if (o->labelled) recorded = o->y;
    } else {
      ASSIGN_OR_RETURN(std::vector<audit::Event> history,
                       ctx.txn().CaseEvents(live->record.id, req.case_id()));
      if (history.empty()) {
        return absl::NotFoundError(absl::StrCat("case_id: case '", req.case_id(),
                                                "' was never handed out in audit '", req.audit_id(),
                                                "'"));
      }
      for (const audit::Event& e : history) {
        if (e.kind == audit::Event::Kind::kVoid) {
          return absl::FailedPreconditionError(
              absl::StrCat("case_id: case '", req.case_id(), "' was voided"));
        }
        if (e.kind == audit::Event::Kind::kLabel) recorded = e.y;
      }
      if (!recorded.has_value()) {
        return absl::InternalError(
            absl::StrCat("case '", req.case_id(), "' is closed without a label or void"));
      }
    }
    if (recorded.has_value()) {
      if (*recorded != req.y()) {
        return absl::AlreadyExistsError(absl::StrCat("case_id: case '", req.case_id(),
                                                     "' already has label ", *recorded, "; got ",
                                                     req.y()));
      }
      out->set_duplicate(true);
    } else {
      if (state.decision() != audit::Decision::kNone) {
        return AlreadyDecided(req.audit_id(), state);
      }
      live_.DropOnRollback(ctx, live);
      std::vector<audit::Step> merged;
      ASSIGN_OR_RETURN(audit::Event e, state.SubmitLabel(req.case_id(), req.y(), &merged));
      CountDecisionOnCommit(ctx, who, state);
      RETURN_IF_ERROR(Append(ctx, *live, e));
      for (const audit::Step& s : merged) ToProto(s, out->add_merged());
      PublishOnCommit(ctx, live, std::move(merged));
    }
    out->set_decision(ToProto(state.decision()));
    out->set_revision(live->revision);
    return absl::OkStatus();
  });
}

absl::Status AuditManager::Void(WriteContext& ctx, const Principal& who,
                                const v1::VoidCaseRequest& req, v1::VoidCaseResponse* out) {
  ASSIGN_OR_RETURN(std::shared_ptr<Live> live, Find(ctx.txn(), who, req.audit_id()));
  return WithRequestId(ctx.txn(), who.team_id, "VoidCase", req, out, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckId("case_id", req.case_id()));
    audit::Audit& state = live->state;
    std::optional<audit::OutstandingCase> o = state.Outstanding(req.case_id());
    if (!o.has_value()) {
      ASSIGN_OR_RETURN(std::vector<audit::Event> history,
                       ctx.txn().CaseEvents(live->record.id, req.case_id()));
      if (history.empty()) {
        return absl::NotFoundError(absl::StrCat("case_id: case '", req.case_id(),
                                                "' was never handed out in audit '", req.audit_id(),
                                                "'"));
      }
      if (history.back().kind != audit::Event::Kind::kVoid) {
        return absl::FailedPreconditionError(absl::StrCat(
            "case_id: case '", req.case_id(), "' already has a label; it cannot be voided"));
      }
      out->set_revision(live->revision);  // voided before: a retry
      return absl::OkStatus();
    }
    if (o->labelled) {
      return absl::FailedPreconditionError(absl::StrCat(
          "case_id: case '", req.case_id(), "' already has a label; it cannot be voided"));
    }
    if (state.decision() != audit::Decision::kNone) return AlreadyDecided(req.audit_id(), state);
    live_.DropOnRollback(ctx, live);
    ASSIGN_OR_RETURN(audit::Event e, state.Void(req.case_id()));
    CountDecisionOnCommit(ctx, who, state);
    RETURN_IF_ERROR(Append(ctx, *live, e));
    out->set_revision(live->revision);
    PublishOnCommit(ctx, live, {});
    return absl::OkStatus();
  });
}

absl::Status AuditManager::Get(const Principal& who, const std::string& audit_id, v1::Audit* out) {
  ASSIGN_OR_RETURN(std::shared_ptr<Live> live, Find(*storage_->Reads(), who, audit_id));
  *out = live->published.Get();
  return absl::OkStatus();
}

absl::Status AuditManager::ListSteps(const Principal& who, const v1::ListAuditStepsRequest& req,
                                     v1::ListAuditStepsResponse* out) {
  RETURN_IF_ERROR(CheckId("audit_id", req.audit_id()));
  ASSIGN_OR_RETURN(const Page page, ParsePage(req.page_size(), req.page_token(), 1000, 10000));
  ASSIGN_OR_RETURN(std::optional<storage::AuditRecord> record,
                   storage_->Reads()->FindAudit(who.team_id, req.audit_id()));
  if (!record.has_value()) return live_.NotFound(req.audit_id());
  ASSIGN_OR_RETURN(v1::AuditConfig config, StoredConfig(*record));
  ASSIGN_OR_RETURN(audit::AuditConfig core_config, convert::AuditConfigFromProto(config));
  ASSIGN_OR_RETURN(audit::Audit state, audit::Audit::Create(core_config));
  ASSIGN_OR_RETURN(std::vector<audit::Event> events, storage_->Reads()->AuditEvents(record->id, 0));
  out->set_revision(static_cast<int64_t>(events.size()));
  std::vector<audit::Step> merged;
  for (size_t i = 0; i < events.size(); ++i) {
    merged.clear();
    if (absl::Status applied = state.Apply(events[i], &merged); !applied.ok()) {
      return absl::DataLossError(absl::StrCat("audit ", req.audit_id(), ": event ", i + 1,
                                              " does not replay: ", applied.message()));
    }
    for (const audit::Step& s : merged) {
      if (s.t <= page.cursor) continue;
      if (out->steps_size() == page.size) {
        out->set_next_page_token(absl::StrCat(out->steps(page.size - 1).t()));
        return absl::OkStatus();
      }
      ToProto(s, out->add_steps());
    }
  }
  return absl::OkStatus();
}

absl::Status AuditManager::List(const Principal& who, const v1::ListAuditsRequest& req,
                                v1::ListAuditsResponse* out) {
  ASSIGN_OR_RETURN(
      std::string next,
      ListNewestFirst(
          req.page_size(), req.page_token(),
          [&](int64_t before, int limit) {
            return storage_->Reads()->ListAudits(who.team_id, before, limit);
          },
          [&](const storage::AuditRecord& r) { return Get(who, r.public_id, out->add_audits()); }));
  out->set_next_page_token(next);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<void>> AuditManager::Watch(const Principal& who,
                                                          const std::string& audit_id,
                                                          AuditWatcher* watcher,
                                                          std::optional<int64_t> after) {
  RETURN_IF_ERROR(CheckId("audit_id", audit_id));
  return live_.Watch(
      who, audit_id, [&] { return Replay(*storage_->Reads(), who, audit_id); }, watcher, after);
}

void AuditManager::Unwatch(const std::shared_ptr<void>& token, AuditWatcher* watcher) {
  live_.Unwatch(token, watcher);
}

}  // namespace assay::server
