// Storage: Monitors: records, scores, snapshots.
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/storage/query.h"
#include "server/storage/storage.h"

namespace assay::storage {
namespace {

MonitorRecord ReadMonitor(const Statement& s) {
  MonitorRecord r;
  r.id = s.ColumnInt(0);
  r.public_id = s.ColumnText(1);
  r.team_id = s.ColumnInt(2);
  r.display_name = s.ColumnText(3);
  r.config = s.ColumnBlob(4);
  r.created_at = s.ColumnInt(5);
  r.snapshot = s.ColumnBlob(6);
  r.snapshot_t = s.ColumnInt(7);
  return r;
}

constexpr const char* kMonitorColumns =
    "id, public_id, team_id, display_name, config, created_at, snapshot, snapshot_t FROM monitors";

}  // namespace

absl::Status WriteTxn::InsertMonitor(MonitorRecord& r) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO monitors(public_id, team_id, display_name, "
                                        "config, created_at) VALUES(?, ?, ?, ?, ?) RETURNING id"));
  RETURN_IF_ERROR(
      stmt->Bind(r.public_id, r.team_id, r.display_name, Statement::Blob{r.config}, r.created_at));
  ASSIGN_OR_RETURN(std::optional<int64_t> id,
                   FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); }));
  r.id = id.value_or(0);
  return absl::OkStatus();
}

absl::Status WriteTxn::PutMonitorSnapshot(int64_t monitor_id, int64_t t,
                                          const std::string& snapshot) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("UPDATE monitors SET snapshot = ?, snapshot_t = ? "
                                        "WHERE id = ?"));
  RETURN_IF_ERROR(stmt->Bind(Statement::Blob{snapshot}, t, monitor_id));
  return stmt->Run();
}

absl::Status WriteTxn::AppendScore(int64_t monitor_id, int64_t t, double y) {
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare("INSERT INTO monitor_scores(monitor_id, "
                                                          "t, y) VALUES(?, ?, ?)"));
  RETURN_IF_ERROR(stmt->Bind(monitor_id, t, y));
  return stmt->Run();
}

absl::StatusOr<std::optional<MonitorRecord>> Reader::FindMonitor(int64_t team_id,
                                                                 const std::string& public_id) {
  return FindBy<MonitorRecord>(*connection_, kMonitorColumns, "public_id = ? AND team_id = ?",
                               &public_id, team_id, ReadMonitor);
}

absl::StatusOr<std::vector<double>> Reader::MonitorScores(int64_t monitor_id, int64_t first_t,
                                                          int64_t last_t) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT t, y FROM monitor_scores WHERE "
                                        "monitor_id = ? AND t >= ? AND t <= ? ORDER BY t"));
  RETURN_IF_ERROR(stmt->Bind(monitor_id, first_t, last_t));
  std::vector<double> scores;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    if (stmt->ColumnInt(0) != first_t + static_cast<int64_t>(scores.size())) {
      stmt->Reset();
      return absl::DataLossError(absl::StrCat("monitor row ", monitor_id, ": score log has a gap"));
    }
    scores.push_back(stmt->ColumnDouble(1));
  }
  stmt->Reset();
  return scores;
}

absl::StatusOr<std::vector<MonitorRecord>> Reader::ListMonitors(int64_t team_id, int64_t before_id,
                                                                int limit) {
  return ListNewest<MonitorRecord>(*connection_, kMonitorColumns, "team_id", team_id, before_id,
                                   limit, ReadMonitor);
}

}  // namespace assay::storage
