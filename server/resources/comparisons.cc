#include "server/resources/comparisons.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/bytes.h"
#include "core/base/status_macros.h"
#include "proto/convert/compare_options.h"
#include "server/resources/paging.h"
#include "server/resources/request_ids.h"
#include "server/resources/stepped.h"
#include "server/storage/response_rows.h"

namespace assay::server {

struct CompareManager::Live : LiveResource<v1::Comparison, v1::Comparison> {
  // Watchers receive the FULL view.
  static v1::Comparison CurrentUpdate(const v1::Comparison& full) { return full; }
  static bool IsFinal(const v1::Comparison& c) { return c.finished(); }

  storage::ComparisonRecord record;
  std::string benchmark_id, fit_id;  // public ids
  std::shared_ptr<const FitJobs::Tables> tables;
  v1::CompareOptions options;
  std::vector<double> baseline;
  std::optional<compare::Comparison> comparison;  // committer thread only (after load)
  int64_t revision = 0;                           // events logged
};

namespace {

absl::StatusOr<bool> IsBasicView(v1::ComparisonView view) {
  switch (view) {
    case v1::COMPARISON_VIEW_UNSPECIFIED:
    case v1::COMPARISON_VIEW_FULL:
      return false;
    case v1::COMPARISON_VIEW_BASIC:
      return true;
    default:
      return absl::InvalidArgumentError(absl::StrCat("view: unknown value ", view));
  }
}

std::string EncodeBaseline(const std::vector<double>& baseline) {
  ByteWriter w;
  w.F64s(baseline.data(), static_cast<int64_t>(baseline.size()));
  return w.Take();
}

absl::StatusOr<std::vector<double>> DecodeBaseline(const std::string& bytes) {
  std::vector<double> out;
  ByteReader r(bytes);
  if (!r.F64s(out) || !r.done()) return absl::DataLossError("comparison baseline is corrupt");
  return out;
}

const std::string& ItemName(const CompareManager::Live& live, Eigen::Index j) {
  return live.tables->tables.items()[static_cast<int>(j)].item();
}

// Steps [first, end) of the trajectory into `out`.
void AddSteps(const CompareManager::Live& live, size_t first, v1::Comparison* out) {
  const std::vector<compare::Step>& steps = live.comparison->steps();
  for (size_t k = first; k < steps.size(); ++k) {
    const compare::Step& s = steps[k];
    v1::CompareStep* step = out->add_steps();
    if (s.item >= 0) step->set_item(ItemName(live, s.item));
    step->set_y_a(s.y_a);
    step->set_y_b(s.y_b);
    step->set_estimate(s.estimate);
    step->set_lower(s.lower);
    step->set_upper(s.upper);
  }
}

// The comparison as served: the BASIC view (all but options and steps: O(pending)) or the FULL one.
v1::Comparison ToProto(const CompareManager::Live& live, bool basic) {
  v1::Comparison out;
  const storage::ComparisonRecord& r = live.record;
  out.set_id(r.public_id);
  out.set_benchmark_id(live.benchmark_id);
  out.set_fit_id(live.fit_id);
  out.set_model_a(r.model_a);
  out.set_model_b(r.model_b);
  out.set_created_at(r.created_at);
  out.set_revision(live.revision);
  const compare::Comparison& c = *live.comparison;
  const compare::CompareEstimate e = c.Estimate();
  out.set_items(e.items);
  out.set_benchmark_items(live.tables->bank.items.size());
  out.set_estimate(e.estimate);
  out.set_lower(e.lower);
  out.set_upper(e.upper);
  out.set_decision(convert::DecisionToProto(e.decision));
  out.set_finished(e.finished);
  out.set_exact(e.exact);
  for (Eigen::Index j : c.pending()) out.add_pending_items(ItemName(live, j));
  if (!basic) {
    *out.mutable_options() = live.options;
    AddSteps(live, 0, &out);
  }
  return out;
}

// `full` in the BASIC view, into `out` (the steps are not copied).
void Basic(const v1::Comparison& full, v1::Comparison* out) {
  out->set_id(full.id());
  out->set_benchmark_id(full.benchmark_id());
  out->set_fit_id(full.fit_id());
  out->set_model_a(full.model_a());
  out->set_model_b(full.model_b());
  out->set_items(full.items());
  out->set_benchmark_items(full.benchmark_items());
  out->set_estimate(full.estimate());
  out->set_lower(full.lower());
  out->set_upper(full.upper());
  out->set_decision(full.decision());
  out->set_finished(full.finished());
  out->set_exact(full.exact());
  *out->mutable_pending_items() = full.pending_items();
  out->set_created_at(full.created_at());
  out->set_revision(full.revision());
}

// Puts the comparison after a step into `out` in the requested view, and on commit advances the
// published FULL view by the step: its BASIC fields and the steps it added (`steps_before`: the
// trajectory's length before it), O(pending + added) rather than O(steps).
void ReplyToStep(WriteContext& ctx, const std::shared_ptr<CompareManager::Live>& live, bool basic,
                 size_t steps_before, v1::Comparison* out) {
  v1::Comparison step = ToProto(*live, /*basic=*/true);
  v1::Comparison added;
  AddSteps(*live, steps_before, &added);
  *out = basic ? step : ToProto(*live, /*basic=*/false);
  ctx.OnCommit([live, step = std::move(step), added = std::move(added)]() mutable {
    const bool final = step.finished();
    const int64_t seq = step.revision();
    live->published.Change(
        [&](v1::Comparison& full) {
          Basic(step, &full);
          for (v1::CompareStep& s : *added.mutable_steps()) *full.add_steps() = std::move(s);
        },
        &CompareManager::Live::CurrentUpdate, final, seq);
  });
}

// A comparison as a stepped resource (stepped.h): its trajectory is its progress.
struct CompareSteps {
  using Live = CompareManager::Live;
  using Core = compare::Comparison;
  using Event = storage::CompareEvent;
  using View = v1::Comparison;
  static constexpr storage::Closable kClosable = storage::Closable::kComparison;
  static Core& CoreOf(Live& live) { return *live.comparison; }
  static int64_t& Revision(Live& live) { return live.revision; }
  static absl::Status Append(storage::WriteTxn& txn, int64_t row_id, int64_t seq,
                             const Event& event) {
    return txn.AppendCompareEvent(row_id, seq, event);
  }
  static size_t Progress(const Live& live) { return live.comparison->steps().size(); }
  static void Reply(WriteContext& ctx, const std::shared_ptr<Live>& live, bool basic,
                    size_t before, View* out) {
    ReplyToStep(ctx, live, basic, before, out);
  }
};

absl::Status CheckModelName(const std::string& name, const char* field) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  if (name.size() > 200)
    return absl::InvalidArgumentError(absl::StrCat(field, ": at most 200 characters"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<double>> CompareManager::Baseline(
    const storage::BenchmarkRecord& benchmark, const FitJobs::Tables& tables,
    const std::string& model) {
  ASSIGN_OR_RETURN(std::vector<storage::Entry> models,
                   storage_->Reads()->BenchmarkEntries(benchmark.id, storage::EntryKind::kModel));
  int64_t model_idx = -1;
  for (size_t i = 0; i < models.size(); ++i) {
    if (models[i].name == model) model_idx = static_cast<int64_t>(i);
  }
  if (model_idx < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model_a: benchmark '", benchmark.public_id, "' has no model '", model,
        "' (with options.baseline_known, A's outcomes are its stored responses)"));
  }
  ASSIGN_OR_RETURN(std::vector<storage::Entry> items,
                   storage_->Reads()->BenchmarkEntries(benchmark.id, storage::EntryKind::kItem));
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   storage_->Reads()->ResponseRow(benchmark.id, model_idx));
  std::vector<PackedCell> cells;
  if (row.has_value()) {
    ASSIGN_OR_RETURN(cells, UnpackRow(*row));
  }
  const Eigen::Index n = tables.bank.items.size();
  std::vector<double> baseline(static_cast<size_t>(n), -1.0);
  for (const PackedCell& cell : cells) {
    if (cell.item < 0 || static_cast<size_t>(cell.item) >= items.size()) continue;
    auto it = tables.item_index.find(items[static_cast<size_t>(cell.item)].name);
    if (it == tables.item_index.end()) continue;
    baseline[static_cast<size_t>(it->second)] =
        static_cast<double>(cell.successes) / static_cast<double>(cell.trials);
  }
  int64_t missing = 0;
  std::string example;
  for (Eigen::Index j = 0; j < n; ++j) {
    if (baseline[static_cast<size_t>(j)] >= 0) continue;
    if (missing++ == 0) example = tables.tables.items()[static_cast<int>(j)].item();
  }
  if (missing > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model_a: model '", model, "' has no response on ", missing, " of the fit's ", n,
        " items (e.g. '", example, "'); options.baseline_known needs A's full run"));
  }
  return baseline;
}

absl::StatusOr<CompareManager::CreatePlan> CompareManager::PrepareCreate(
    const Principal& who, const v1::CreateComparisonRequest& req) {
  RETURN_IF_ERROR(CheckModelName(req.model_a(), "model_a"));
  RETURN_IF_ERROR(CheckModelName(req.model_b(), "model_b"));
  if (req.model_a() == req.model_b())
    return absl::InvalidArgumentError("model_b: must differ from model_a");
  CreatePlan plan;
  ASSIGN_OR_RETURN(plan.tables,
                   fits_->FindBankTables(who, req.benchmark_id(), req.fit_id(), "comparisons"));
  plan.benchmark_row_id = plan.tables->benchmark_row_id;
  plan.options = req.options();
  ASSIGN_OR_RETURN(plan.core, convert::CompareOptionsFromProto(plan.options));
  if (plan.options.baseline_known()) {
    ASSIGN_OR_RETURN(storage::BenchmarkRecord benchmark,
                     benchmarks_->Find(who, req.benchmark_id()));
    ASSIGN_OR_RETURN(plan.baseline, Baseline(benchmark, *plan.tables, req.model_a()));
  }
  return plan;
}

absl::Status CompareManager::Create(WriteContext& ctx, const Principal& who,
                                    const v1::CreateComparisonRequest& req,
                                    const CreatePlan& plan, v1::Comparison* out) {
  return WithRequestId(ctx.txn(), who.team_id, "CreateComparison", req, out,
                       [&]() -> absl::Status {
    RETURN_IF_ERROR(Admit(quotas_, ctx.txn(), who, Limit::kOpenComparisons));
    auto live = std::make_shared<Live>();
    live->record.public_id = absl::StrCat("cmp_", RandomHex(8));
    live->record.team_id = who.team_id;
    live->record.benchmark_id = plan.benchmark_row_id;
    live->record.fit_id = plan.tables->fit_row_id;
    live->record.model_a = req.model_a();
    live->record.model_b = req.model_b();
    live->record.options = plan.options.SerializeAsString();
    live->record.baseline = EncodeBaseline(plan.baseline);
    live->record.created_at = absl::ToUnixSeconds(absl::Now());
    live->benchmark_id = req.benchmark_id();
    live->fit_id = plan.tables->fit_id;
    live->tables = plan.tables;
    live->options = plan.options;
    live->baseline = plan.baseline;
    ASSIGN_OR_RETURN(compare::Comparison c, compare::Comparison::Start(
                                                &plan.tables->bank.items, plan.core, plan.baseline));
    live->comparison.emplace(std::move(c));
    RETURN_IF_ERROR(ctx.txn().InsertComparison(live->record));
    *out = ToProto(*live, /*basic=*/false);
    live->published.Set(*out, out->revision());
    live_.HoldOnCommit(ctx, live);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::shared_ptr<CompareManager::Live>> CompareManager::Load(const Principal& who,
                                                                           const std::string& id) {
  return live_.Find(who, id, [&] { return Replay(who, id); });
}

absl::StatusOr<std::shared_ptr<CompareManager::Live>> CompareManager::Replay(
    const Principal& who, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<storage::ComparisonRecord> record,
                   storage_->Reads()->FindComparison(who.team_id, id));
  if (!record.has_value()) return live_.NotFound(id);
  auto live = std::make_shared<Live>();
  live->record = *std::move(record);
  ASSIGN_OR_RETURN(FitJobs::BoundTables bound,
                   fits_->TablesOfRows(who, live->record.fit_id, live->record.benchmark_id,
                                       absl::StrCat("comparison ", id)));
  live->fit_id = std::move(bound.fit_id);
  live->benchmark_id = std::move(bound.benchmark_id);
  live->tables = std::move(bound.tables);
  if (!live->options.ParseFromString(live->record.options)) {
    return absl::DataLossError(absl::StrCat("comparison ", id, ": stored options are corrupt"));
  }
  ASSIGN_OR_RETURN(live->baseline, DecodeBaseline(live->record.baseline));
  v1::CompareOptions options = live->options;
  ASSIGN_OR_RETURN(compare::CompareOptions core, convert::CompareOptionsFromProto(options));
  ASSIGN_OR_RETURN(compare::Comparison c,
                   compare::Comparison::Start(&live->tables->bank.items, core, live->baseline));
  ASSIGN_OR_RETURN(std::vector<storage::CompareEvent> events,
                   storage_->Reads()->CompareEvents(live->record.id));
  for (const storage::CompareEvent& e : events) {
    std::optional<compare::Outcome> a;
    if (e.a_successes.has_value()) a = compare::Outcome{*e.a_successes, e.a_trials};
    const absl::Status replayed =
        e.kind == storage::CompareEvent::kNext
            ? c.Next(static_cast<int>(e.item)).status()
            : c.Submit(static_cast<Eigen::Index>(e.item), {e.b_successes, e.b_trials}, a);
    if (!replayed.ok()) {
      return absl::DataLossError(
          absl::StrCat("comparison ", id, ": step log does not replay: ", replayed.message()));
    }
  }
  live->comparison.emplace(std::move(c));
  live->revision = static_cast<int64_t>(events.size());
  live->published.Set(ToProto(*live, /*basic=*/false), live->revision);
  return live;
}

absl::Status CompareManager::Next(WriteContext& ctx, const Principal& who,
                                  const v1::NextComparisonItemsRequest& req,
                                  const std::shared_ptr<Live>& live,
                                  v1::NextComparisonItemsResponse* out) {
  Stepped<CompareSteps> steps(&live_);
  ASSIGN_OR_RETURN(const int count, steps.CheckNext(*live, req));
  ASSIGN_OR_RETURN(const bool basic, IsBasicView(req.view()));
  return steps.Next(ctx, who, "NextComparisonItems", req, count, basic, live, out,
                    out->mutable_comparison());
}

absl::Status CompareManager::Submit(WriteContext& ctx, const Principal& who,
                                    const v1::SubmitComparisonOutcomesRequest& req,
                                    const std::shared_ptr<Live>& live, v1::Comparison* out) {
  Stepped<CompareSteps> steps(&live_);
  RETURN_IF_ERROR(steps.CheckSubmit(*live, req, 1000));
  ASSIGN_OR_RETURN(const bool basic, IsBasicView(req.view()));
  const size_t steps_before = live->comparison->steps().size();
  Stepped<CompareSteps>::Target target = steps.TargetOf(*live, req.outcomes_size());
  std::vector<storage::CompareEvent> events;
  for (int k = 0; k < req.outcomes_size(); ++k) {
    const v1::CompareOutcome& o = req.outcomes(k);
    auto it = live->tables->item_index.find(o.item());
    if (it == live->tables->item_index.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("outcomes[", k, "].item: the calibration has no item '", o.item(), "'"));
    }
    storage::CompareEvent e;
    e.kind = storage::CompareEvent::kSubmit;
    e.item = it->second;
    e.b_successes = o.b_successes();
    e.b_trials = o.b_trials() == 0 ? 1.0 : o.b_trials();
    e.a_trials = o.a_trials() == 0 ? 1.0 : o.a_trials();
    std::optional<compare::Outcome> a;
    if (o.has_a_successes()) {
      e.a_successes = o.a_successes();
      a = compare::Outcome{o.a_successes(), e.a_trials};
    }
    const int64_t answered = target.core().answered();
    steps.BeforeChange(ctx, live, target);
    const absl::Status s = target.core().Submit(it->second, {e.b_successes, e.b_trials}, a);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("outcomes[", k, "] (item '", o.item(), "'): ", s.message()));
    }
    if (target.core().answered() > answered) events.push_back(e);  // a retry changes nothing
  }
  return steps.CommitSubmit(ctx, who, "SubmitComparisonOutcomes", req, basic, live, target,
                            events, steps_before, out);
}

absl::Status CompareManager::Get(const Principal& who, const std::string& id,
                                 v1::ComparisonView view, v1::Comparison* out) {
  ASSIGN_OR_RETURN(const bool basic, IsBasicView(view));
  ASSIGN_OR_RETURN(std::shared_ptr<Live> live, Load(who, id));
  if (basic) {
    live->published.Read([&](const v1::Comparison& full) { Basic(full, out); });
  } else {
    *out = live->published.Get();
  }
  return absl::OkStatus();
}

absl::Status CompareManager::List(const Principal& who, const v1::ListComparisonsRequest& req,
                                  v1::ListComparisonsResponse* out) {
  RETURN_IF_ERROR(IsBasicView(req.view()).status());
  ASSIGN_OR_RETURN(std::string next,
                   ListNewestFirst(
                       req.page_size(), req.page_token(),
                       [&](int64_t before, int limit) {
                         return storage_->Reads()->ListComparisons(who.team_id, before, limit);
                       },
                       [&](const storage::ComparisonRecord& r) {
                         return Get(who, r.public_id, req.view(), out->add_comparisons());
                       }));
  out->set_next_page_token(next);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<void>> CompareManager::Watch(const Principal& who,
                                                            const std::string& id,
                                                            ComparisonWatcher* watcher,
                                                            std::optional<int64_t> after) {
  return live_.Watch(
      who, id, [&] { return Replay(who, id); }, watcher, after);
}

void CompareManager::Unwatch(const std::shared_ptr<void>& token, ComparisonWatcher* watcher) {
  live_.Unwatch(token, watcher);
}

}  // namespace assay::server
