// Storage: Comparisons: records and event logs.
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/storage/query.h"
#include "server/storage/storage.h"

namespace assay::storage {
namespace {

ComparisonRecord ReadComparison(const Statement& s) {
  ComparisonRecord r;
  r.id = s.ColumnInt(0);
  r.public_id = s.ColumnText(1);
  r.team_id = s.ColumnInt(2);
  r.benchmark_id = s.ColumnInt(3);
  r.fit_id = s.ColumnInt(4);
  r.model_a = s.ColumnText(5);
  r.model_b = s.ColumnText(6);
  r.options = s.ColumnBlob(7);
  r.baseline = s.ColumnBlob(8);
  r.created_at = s.ColumnInt(9);
  return r;
}

constexpr const char* kComparisonColumns =
    "id, public_id, team_id, benchmark_id, fit_id, model_a, model_b, options, baseline, "
    "created_at FROM comparisons";

}  // namespace

absl::Status WriteTxn::InsertComparison(ComparisonRecord& r) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO comparisons(public_id, team_id, benchmark_id, "
                                        "fit_id, model_a, model_b, options, baseline, created_at) "
                                        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  RETURN_IF_ERROR(stmt->Bind(r.public_id, r.team_id, r.benchmark_id, r.fit_id, r.model_a, r.model_b,
                             Statement::Blob{r.options}, Statement::Blob{r.baseline},
                             r.created_at));
  ASSIGN_OR_RETURN(std::optional<int64_t> id,
                   FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); }));
  r.id = id.value_or(0);
  return absl::OkStatus();
}

absl::Status WriteTxn::AppendCompareEvent(int64_t comparison_id, int64_t seq,
                                          const CompareEvent& e) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO compare_events(comparison_id, seq, kind, "
                                        "item, b_successes, b_trials, a_successes, a_trials) "
                                        "VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
  RETURN_IF_ERROR(stmt->Bind(comparison_id, seq, e.kind, e.item, e.b_successes, e.b_trials,
                             e.a_successes, e.a_trials));
  return stmt->Run();
}

absl::StatusOr<std::optional<ComparisonRecord>> Reader::FindComparison(
    int64_t team_id, const std::string& public_id) {
  return FindBy<ComparisonRecord>(*connection_, kComparisonColumns, "public_id = ? AND team_id = ?",
                                  &public_id, team_id, ReadComparison);
}

absl::StatusOr<std::vector<ComparisonRecord>> Reader::ListComparisons(int64_t team_id,
                                                                      int64_t before_id,
                                                                      int limit) {
  return ListNewest<ComparisonRecord>(*connection_, kComparisonColumns, "team_id", team_id,
                                      before_id, limit, ReadComparison);
}

absl::StatusOr<std::vector<CompareEvent>> Reader::CompareEvents(int64_t comparison_id) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT seq, kind, item, b_successes, b_trials, "
                                        "a_successes, a_trials FROM compare_events WHERE "
                                        "comparison_id = ? ORDER BY seq"));
  return StepLog<CompareEvent>(stmt, comparison_id, "comparison", [](const Statement& s) {
    CompareEvent e;
    e.kind = static_cast<CompareEvent::Kind>(s.ColumnInt(1));
    e.item = s.ColumnInt(2);
    e.b_successes = s.ColumnDouble(3);
    e.b_trials = s.ColumnDouble(4);
    if (!s.ColumnIsNull(5)) e.a_successes = s.ColumnDouble(5);
    e.a_trials = s.ColumnDouble(6);
    return e;
  });
}

}  // namespace assay::storage
