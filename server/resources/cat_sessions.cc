#include "server/resources/cat_sessions.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "proto/convert/cat_options.h"
#include "server/resources/paging.h"
#include "server/resources/request_ids.h"
#include "server/resources/stepped.h"

namespace assay::server {

struct CatManager::Live : LiveResource<v1::CatSession, v1::CatSession> {
  // Watchers receive the FULL view.
  static v1::CatSession CurrentUpdate(const v1::CatSession& full) { return full; }
  static bool IsFinal(const v1::CatSession& session) { return session.finished(); }

  storage::CatSessionRecord record;
  std::string benchmark_id, fit_id;  // public ids
  std::shared_ptr<const FitJobs::Tables> tables;
  v1::CatOptions options;
  std::optional<cat::CatSession> session;  // committer thread only (after load)
  int64_t steps = 0;                       // events logged
};

namespace {

// A request's `view`: InvalidArgument for a value the API does not define.
absl::StatusOr<bool> IsBasicView(v1::CatSessionView view) {
  switch (view) {
    case v1::CAT_SESSION_VIEW_UNSPECIFIED:
    case v1::CAT_SESSION_VIEW_FULL:
      return false;
    case v1::CAT_SESSION_VIEW_BASIC:
      return true;
    default:
      return absl::InvalidArgumentError(absl::StrCat("view: unknown value ", view));
  }
}

// The session's outcomes from the `first`-th on.
void AddOutcomes(const CatManager::Live& live, size_t first, v1::CatSession* out) {
  const auto& items = live.tables->tables.items();
  const std::vector<irt::Response>& responses = live.session->responses();
  for (size_t k = first; k < responses.size(); ++k) {
    v1::CatOutcome* o = out->add_outcomes();
    o->set_item(items[static_cast<int>(responses[k].item)].item());
    o->set_successes(responses[k].successes);
    o->set_trials(responses[k].trials);
  }
}

// Turns the BASIC view `out` into the FULL one: adds the options and every outcome.
void AddFullParts(const CatManager::Live& live, v1::CatSession* out) {
  *out->mutable_options() = live.options;
  AddOutcomes(live, 0, out);
}

// The session's state as served: the BASIC view (everything but options and outcomes; O(pending)),
// or the FULL one.
v1::CatSession ToProto(const CatManager::Live& live, bool basic) {
  v1::CatSession out;
  const storage::CatSessionRecord& r = live.record;
  out.set_id(r.public_id);
  out.set_benchmark_id(live.benchmark_id);
  out.set_fit_id(live.fit_id);
  out.set_model(r.model);
  out.set_created_at(r.created_at);
  out.set_steps(live.steps);
  const cat::CatSession& s = *live.session;
  const cat::CatEstimate e = s.Estimate();
  out.set_theta(e.theta);
  out.set_se(e.se);
  out.set_answered(e.answered);
  out.set_predicted_accuracy(e.predicted_accuracy);
  out.set_lower(e.lower);
  out.set_upper(e.upper);
  out.set_cs_lower(e.cs_lower);
  out.set_cs_upper(e.cs_upper);
  out.set_finished(e.finished);
  out.set_stop_reason(e.stop_reason);
  const auto& items = live.tables->tables.items();
  for (Eigen::Index j : s.pending()) out.add_pending_items(items[static_cast<int>(j)].item());
  if (!basic) AddFullParts(live, &out);
  return out;
}

// `full` (a FULL view) after a step: `basic` is the step's BASIC view, `added` a session holding
// only the outcomes the step added. O(pending + added), not O(outcomes).
void AdvancePublished(v1::CatSession& full, v1::CatSession basic, v1::CatSession& added) {
  basic.mutable_options()->Swap(full.mutable_options());
  basic.mutable_outcomes()->Swap(full.mutable_outcomes());
  for (v1::CatOutcome& o : *added.mutable_outcomes()) *basic.add_outcomes() = std::move(o);
  full = std::move(basic);
}

// `full` (a FULL view) in the BASIC view, without copying the outcomes.
void CopyBasic(v1::CatSession& full, v1::CatSession* out) {
  v1::CatOptions options;
  google::protobuf::RepeatedPtrField<v1::CatOutcome> outcomes;
  options.Swap(full.mutable_options());
  outcomes.Swap(full.mutable_outcomes());
  *out = full;
  options.Swap(full.mutable_options());
  outcomes.Swap(full.mutable_outcomes());
  out->clear_options();
}

// Puts the session after a step into `out` in the requested view, and registers the publication of
// its FULL view on commit. `outcomes_before`: the session's outcomes before the step.
void ReplyToStep(WriteContext& ctx, const std::shared_ptr<CatManager::Live>& live, bool basic,
                 size_t outcomes_before, v1::CatSession* out) {
  v1::CatSession step = ToProto(*live, /*basic=*/true);
  v1::CatSession added;
  AddOutcomes(*live, outcomes_before, &added);
  *out = step;
  if (!basic) AddFullParts(*live, out);
  ctx.OnCommit([live, step = std::move(step), added = std::move(added)]() mutable {
    const bool final = step.finished();
    const int64_t seq = step.steps();
    live->published.Change(
        [&](v1::CatSession& full) { AdvancePublished(full, std::move(step), added); },
        &CatManager::Live::CurrentUpdate, final, seq);
  });
}

// A session as a stepped resource (stepped.h): the responses are its progress.
struct CatSteps {
  using Live = CatManager::Live;
  using Core = cat::CatSession;
  using Event = storage::CatEvent;
  using View = v1::CatSession;
  static constexpr storage::Closable kClosable = storage::Closable::kSession;
  static Core& CoreOf(Live& live) { return *live.session; }
  static int64_t& Revision(Live& live) { return live.steps; }
  static absl::Status Append(storage::WriteTxn& txn, int64_t row_id, int64_t seq,
                             const Event& event) {
    return txn.AppendCatEvent(row_id, seq, event);
  }
  static size_t Progress(const Live& live) { return live.session->responses().size(); }
  static void Reply(WriteContext& ctx, const std::shared_ptr<Live>& live, bool basic,
                    size_t before, View* out) {
    ReplyToStep(ctx, live, basic, before, out);
  }
};
}  // namespace

absl::StatusOr<CatManager::StartPlan> CatManager::PrepareStart(const Principal& who,
                                                               const v1::StartSessionRequest& req) {
  if (req.model().size() > 200) {
    return absl::InvalidArgumentError("model: at most 200 characters");
  }
  StartPlan plan;
  ASSIGN_OR_RETURN(plan.tables,
                   fits_->FindBankTables(who, req.benchmark_id(), req.fit_id(), "sessions"));
  plan.benchmark_row_id = plan.tables->benchmark_row_id;
  plan.options = req.options();
  ASSIGN_OR_RETURN(plan.core, convert::CatOptionsFromProto(plan.options, plan.tables->tag_names,
                                                          plan.tables->item_index,
                                                          plan.tables->bank));
  return plan;
}

absl::Status CatManager::Start(WriteContext& ctx, const Principal& who,
                               const v1::StartSessionRequest& req, const StartPlan& plan,
                               v1::CatSession* out) {
  return WithRequestId(ctx.txn(), who.team_id, "StartSession", req, out, [&]() -> absl::Status {
    RETURN_IF_ERROR(Admit(quotas_, ctx.txn(), who, Limit::kOpenSessions));
    auto live = std::make_shared<Live>();
    live->record.public_id = absl::StrCat("cat_", RandomHex(8));
    live->record.team_id = who.team_id;
    live->record.benchmark_id = plan.benchmark_row_id;
    live->record.fit_id = plan.tables->fit_row_id;
    live->record.model = req.model();
    live->record.options = plan.options.SerializeAsString();
    live->record.created_at = absl::ToUnixSeconds(absl::Now());
    live->benchmark_id = req.benchmark_id();
    live->fit_id = plan.tables->fit_id;
    live->tables = plan.tables;
    live->options = plan.options;
    ASSIGN_OR_RETURN(cat::CatSession session,
                     cat::CatSession::Start(&plan.tables->bank, plan.core));
    live->session.emplace(std::move(session));
    RETURN_IF_ERROR(ctx.txn().InsertCatSession(live->record));
    *out = ToProto(*live, /*basic=*/false);
    live->published.Set(*out, out->steps());
    live_.HoldOnCommit(ctx, live);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::shared_ptr<CatManager::Live>> CatManager::Load(const Principal& who,
                                                                   const std::string& id) {
  return live_.Find(who, id, [&] { return Replay(who, id); });
}

absl::StatusOr<std::shared_ptr<CatManager::Live>> CatManager::Replay(const Principal& who,
                                                                     const std::string& id) {
  return Replay(who, id, [](const cat::CatSession&, const storage::CatEvent&) {});
}

absl::StatusOr<std::shared_ptr<CatManager::Live>> CatManager::Replay(
    const Principal& who, const std::string& id,
    const std::function<void(const cat::CatSession&, const storage::CatEvent&)>& on_outcome) {
  ASSIGN_OR_RETURN(std::optional<storage::CatSessionRecord> record,
                   storage_->Reads()->FindCatSession(who.team_id, id));
  if (!record.has_value()) return live_.NotFound(id);
  auto live = std::make_shared<Live>();
  live->record = *std::move(record);
  ASSIGN_OR_RETURN(FitJobs::BoundTables bound,
                   fits_->TablesOfRows(who, live->record.fit_id, live->record.benchmark_id,
                                       absl::StrCat("session ", id)));
  live->fit_id = std::move(bound.fit_id);
  live->benchmark_id = std::move(bound.benchmark_id);
  live->tables = std::move(bound.tables);
  if (!live->options.ParseFromString(live->record.options)) {
    return absl::DataLossError(absl::StrCat("session ", id, ": stored options are corrupt"));
  }
  v1::CatOptions options = live->options;
  ASSIGN_OR_RETURN(cat::CatOptions core,
                   convert::CatOptionsFromProto(options, live->tables->tag_names,
                                                live->tables->item_index, live->tables->bank));
  ASSIGN_OR_RETURN(cat::CatSession session, cat::CatSession::Start(&live->tables->bank, core));
  ASSIGN_OR_RETURN(std::vector<storage::CatEvent> events,
                   storage_->Reads()->CatEvents(live->record.id));
  for (const storage::CatEvent& e : events) {
    absl::Status replayed =
        e.kind == storage::CatEvent::kNext
            ? session.Next(static_cast<int>(e.item)).status()
            : session.Submit(static_cast<Eigen::Index>(e.item), e.successes, e.trials);
    if (!replayed.ok()) {
      return absl::DataLossError(
          absl::StrCat("session ", id, ": step log does not replay: ", replayed.message()));
    }
    if (e.kind != storage::CatEvent::kNext) on_outcome(session, e);
  }
  live->session.emplace(std::move(session));
  live->steps = static_cast<int64_t>(events.size());
  live->published.Set(ToProto(*live, /*basic=*/false), live->steps);
  return live;
}

absl::Status CatManager::Next(WriteContext& ctx, const Principal& who,
                              const v1::NextItemsRequest& req, const std::shared_ptr<Live>& live,
                              v1::NextItemsResponse* out) {
  Stepped<CatSteps> steps(&live_);
  ASSIGN_OR_RETURN(const int count, steps.CheckNext(*live, req));
  ASSIGN_OR_RETURN(const bool basic, IsBasicView(req.view()));
  return steps.Next(ctx, who, "NextItems", req, count, basic, live, out, out->mutable_session());
}

absl::Status CatManager::Submit(WriteContext& ctx, const Principal& who,
                                const v1::SubmitOutcomesRequest& req,
                                const std::shared_ptr<Live>& live, v1::CatSession* out) {
  Stepped<CatSteps> steps(&live_);
  RETURN_IF_ERROR(steps.CheckSubmit(*live, req, std::numeric_limits<int>::max()));
  ASSIGN_OR_RETURN(const bool basic, IsBasicView(req.view()));
  const size_t outcomes_before = live->session->responses().size();
  Stepped<CatSteps>::Target target = steps.TargetOf(*live, req.outcomes_size());
  std::vector<storage::CatEvent> events;
  for (int k = 0; k < req.outcomes_size(); ++k) {
    const v1::CatOutcome& o = req.outcomes(k);
    auto it = live->tables->item_index.find(o.item());
    if (it == live->tables->item_index.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("outcomes[", k, "].item: the calibration has no item '", o.item(), "'"));
    }
    const double trials = o.trials() == 0 ? 1.0 : o.trials();
    const size_t before = target.core().responses().size();
    steps.BeforeChange(ctx, live, target);
    absl::Status s = target.core().Submit(it->second, o.successes(), trials);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("outcomes[", k, "] (item '", o.item(), "'): ", s.message()));
    }
    if (target.core().responses().size() > before) {  // a retry of a recorded outcome: nothing
      storage::CatEvent e;
      e.kind = storage::CatEvent::kSubmit;
      e.item = it->second;
      e.successes = o.successes();
      e.trials = trials;
      events.push_back(e);
    }
  }
  return steps.CommitSubmit(ctx, who, "SubmitOutcomes", req, basic, live, target, events,
                            outcomes_before, out);
}

absl::Status CatManager::Get(const Principal& who, const std::string& session_id,
                             v1::CatSessionView view, v1::CatSession* out) {
  ASSIGN_OR_RETURN(const bool basic, IsBasicView(view));
  ASSIGN_OR_RETURN(std::shared_ptr<Live> live, Load(who, session_id));
  if (basic) {
    live->published.Use([&](v1::CatSession& full) { CopyBasic(full, out); });
  } else {
    *out = live->published.Get();
  }
  return absl::OkStatus();
}

absl::Status CatManager::List(const Principal& who, const v1::ListSessionsRequest& req,
                              v1::ListSessionsResponse* out) {
  RETURN_IF_ERROR(IsBasicView(req.view()).status());
  ASSIGN_OR_RETURN(std::string next,
                   ListNewestFirst(
                       req.page_size(), req.page_token(),
                       [&](int64_t before, int limit) {
                         return storage_->Reads()->ListCatSessions(who.team_id, before, limit);
                       },
                       [&](const storage::CatSessionRecord& r) {
                         return Get(who, r.public_id, req.view(), out->add_sessions());
                       }));
  out->set_next_page_token(next);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<void>> CatManager::Watch(const Principal& who,
                                                        const std::string& session_id,
                                                        SessionWatcher* watcher,
                                                        std::optional<int64_t> after) {
  return live_.Watch(
      who, session_id, [&] { return Replay(who, session_id); }, watcher, after);
}

absl::Status CatManager::ListSteps(const Principal& who, const v1::ListSessionStepsRequest& req,
                                   v1::ListSessionStepsResponse* out) {
  if (req.session_id().empty()) return absl::InvalidArgumentError("session_id: required");
  std::vector<std::pair<cat::CatEstimate, storage::CatEvent>> trajectory;
  ASSIGN_OR_RETURN(std::shared_ptr<Live> live,
                   Replay(who, req.session_id(),
                          [&](const cat::CatSession& s, const storage::CatEvent& e) {
                            trajectory.emplace_back(s.Estimate(), e);
                          }));
  const auto& items = live->tables->tables.items();
  for (const auto& [e, event] : trajectory) {
    v1::CatStep* step = out->add_steps();
    step->set_answered(e.answered);
    step->mutable_outcome()->set_item(items[static_cast<int>(event.item)].item());
    step->mutable_outcome()->set_successes(event.successes);
    step->mutable_outcome()->set_trials(event.trials);
    step->set_theta(e.theta);
    step->set_se(e.se);
    step->set_predicted_accuracy(e.predicted_accuracy);
    step->set_lower(e.lower);
    step->set_upper(e.upper);
    step->set_cs_lower(e.cs_lower);
    step->set_cs_upper(e.cs_upper);
  }
  out->set_revision(live->steps);
  return absl::OkStatus();
}

void CatManager::Unwatch(const std::shared_ptr<void>& token, SessionWatcher* watcher) {
  live_.Unwatch(token, watcher);
}

}  // namespace assay::server
