// Storage: Adaptive-testing sessions: records and event logs.
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/storage/query.h"
#include "server/storage/storage.h"

namespace assay::storage {
namespace {

CatSessionRecord ReadCatSession(const Statement& s) {
  CatSessionRecord r;
  r.id = s.ColumnInt(0);
  r.public_id = s.ColumnText(1);
  r.team_id = s.ColumnInt(2);
  r.benchmark_id = s.ColumnInt(3);
  r.fit_id = s.ColumnInt(4);
  r.model = s.ColumnText(5);
  r.options = s.ColumnBlob(6);
  r.created_at = s.ColumnInt(7);
  return r;
}

constexpr const char* kCatSessionColumns =
    "id, public_id, team_id, benchmark_id, fit_id, model, options, created_at FROM cat_sessions";

}  // namespace

absl::Status WriteTxn::InsertCatSession(CatSessionRecord& r) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO cat_sessions(public_id, team_id, "
                                        "benchmark_id, fit_id, model, options, created_at) "
                                        "VALUES(?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  RETURN_IF_ERROR(stmt->Bind(r.public_id, r.team_id, r.benchmark_id, r.fit_id, r.model,
                             Statement::Blob{r.options}, r.created_at));
  ASSIGN_OR_RETURN(std::optional<int64_t> id,
                   FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); }));
  r.id = id.value_or(0);
  return absl::OkStatus();
}

absl::Status WriteTxn::AppendCatEvent(int64_t session_id, int64_t seq, const CatEvent& e) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO cat_events(session_id, seq, kind, item, "
                                        "successes, trials) VALUES(?, ?, ?, ?, ?, ?)"));
  RETURN_IF_ERROR(
      stmt->Bind(session_id, seq, static_cast<int64_t>(e.kind), e.item, e.successes, e.trials));
  return stmt->Run();
}

absl::StatusOr<std::optional<CatSessionRecord>> Reader::FindCatSession(
    int64_t team_id, const std::string& public_id) {
  return FindBy<CatSessionRecord>(*connection_, kCatSessionColumns, "public_id = ? AND team_id = ?",
                                  &public_id, team_id, ReadCatSession);
}

absl::StatusOr<std::vector<CatSessionRecord>> Reader::ListCatSessions(int64_t team_id,
                                                                      int64_t before_id,
                                                                      int limit) {
  return ListNewest<CatSessionRecord>(*connection_, kCatSessionColumns, "team_id", team_id,
                                      before_id, limit, ReadCatSession);
}

absl::StatusOr<std::vector<CatEvent>> Reader::CatEvents(int64_t session_id) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT seq, kind, item, successes, trials FROM "
                                        "cat_events WHERE session_id = ? ORDER BY seq"));
  return StepLog<CatEvent>(stmt, session_id, "session", [](const Statement& s) {
    CatEvent e;
    e.kind = static_cast<CatEvent::Kind>(s.ColumnInt(1));
    e.item = s.ColumnInt(2);
    e.successes = s.ColumnDouble(3);
    e.trials = s.ColumnDouble(4);
    return e;
  });
}

}  // namespace assay::storage
