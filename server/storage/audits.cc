// Storage: Audits: records, event logs, snapshots.
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/storage/query.h"
#include "server/storage/storage.h"

namespace assay::storage {
namespace {

AuditRecord ReadAudit(const Statement& s) {
  AuditRecord r;
  r.id = s.ColumnInt(0);
  r.public_id = s.ColumnText(1);
  r.team_id = s.ColumnInt(2);
  r.display_name = s.ColumnText(3);
  r.config = s.ColumnBlob(4);
  r.created_at = s.ColumnInt(5);
  r.snapshot = s.ColumnBlob(6);
  r.snapshot_revision = s.ColumnInt(7);
  return r;
}

constexpr const char* kAuditColumns =
    "id, public_id, team_id, display_name, config, created_at, snapshot, snapshot_revision "
    "FROM audits";

audit::Event ReadEvent(const Statement& s, int first) {
  audit::Event e;
  e.kind = static_cast<audit::Event::Kind>(s.ColumnInt(first));
  e.case_id = s.ColumnText(first + 1);
  e.subgroup = s.ColumnText(first + 2);
  e.y = s.ColumnDouble(first + 3);
  e.p_model = s.ColumnDouble(first + 4);
  e.p_auditor = s.ColumnDouble(first + 5);
  return e;
}

}  // namespace

absl::Status WriteTxn::InsertAudit(AuditRecord& record) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO audits(public_id, team_id, display_name, "
                                        "config, created_at) VALUES(?, ?, ?, ?, ?) RETURNING id"));
  RETURN_IF_ERROR(stmt->Bind(record.public_id, record.team_id, record.display_name,
                             Statement::Blob{record.config}, record.created_at));
  ASSIGN_OR_RETURN(std::optional<int64_t> id,
                   FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); }));
  record.id = id.value_or(0);
  return absl::OkStatus();
}

// A case's label or void stored more than this many events after its hand-out records the
// hand-out's seq in `hand_out`, which indexes it (schema 7); a nearer one is found by scanning the
// log from the hand-out. Raising the value is safe for stored events; lowering it would leave
// those stored between the new and the old value unfound (a migration would have to index them).
constexpr int64_t kCloseScanLimit = 8192;

absl::Status WriteTxn::AppendAuditEvent(int64_t audit_id, int64_t seq, const audit::Event& e) {
  static const std::string sql = absl::StrCat(
      "INSERT INTO audit_events(audit_id, seq, kind, case_id, subgroup, y, p_model, p_auditor, "
      "hand_out) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, CASE WHEN ?3 = 1 THEN NULL ELSE "
      "(SELECT seq FROM audit_events INDEXED BY audit_hand_outs WHERE audit_id = ?1 AND "
      "case_id = ?4 AND kind = 1 AND seq < ?2 - ",
      kCloseScanLimit, ") END)");
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare(sql));
  RETURN_IF_ERROR(stmt->Bind(audit_id, seq, static_cast<int64_t>(e.kind), e.case_id, e.subgroup,
                             e.y, e.p_model, e.p_auditor));
  return stmt->Run();
}

absl::StatusOr<std::vector<audit::Event>> Reader::CaseEvents(int64_t audit_id,
                                                             const std::string& case_id) {
  ASSIGN_OR_RETURN(Statement * hand_out,
                   connection_->Prepare("SELECT seq, kind, case_id, subgroup, y, p_model, "
                                        "p_auditor FROM audit_events INDEXED BY audit_hand_outs "
                                        "WHERE audit_id = ? AND case_id = ? AND kind = 1"));
  RETURN_IF_ERROR(hand_out->BindInt(1, audit_id));
  RETURN_IF_ERROR(hand_out->BindText(2, case_id));
  int64_t seq = 0;
  ASSIGN_OR_RETURN(std::optional<audit::Event> first,
                   FirstRow<audit::Event>(hand_out, [&seq](const Statement& s) {
                     seq = s.ColumnInt(0);
                     return ReadEvent(s, 1);
                   }));
  std::vector<audit::Event> events;
  if (!first.has_value()) return events;
  events.push_back(*std::move(first));
  // The label or void: indexed by the hand-out's seq if it came late, else within the next
  // kCloseScanLimit events.
  ASSIGN_OR_RETURN(Statement * late,
                   connection_->Prepare("SELECT kind, case_id, subgroup, y, p_model, p_auditor "
                                        "FROM audit_events INDEXED BY audit_late_closes "
                                        "WHERE audit_id = ? AND hand_out = ?"));
  RETURN_IF_ERROR(late->BindInt(1, audit_id));
  RETURN_IF_ERROR(late->BindInt(2, seq));
  auto read = [](const Statement& s) { return ReadEvent(s, 0); };
  ASSIGN_OR_RETURN(std::optional<audit::Event> close, FirstRow<audit::Event>(late, read));
  if (!close.has_value()) {
    ASSIGN_OR_RETURN(Statement * near,
                     connection_->Prepare("SELECT kind, case_id, subgroup, y, p_model, p_auditor "
                                          "FROM audit_events WHERE audit_id = ? AND seq > ? AND "
                                          "seq <= ? AND case_id = ? ORDER BY seq LIMIT 1"));
    RETURN_IF_ERROR(near->BindInt(1, audit_id));
    RETURN_IF_ERROR(near->BindInt(2, seq));
    RETURN_IF_ERROR(near->BindInt(3, seq + kCloseScanLimit));
    RETURN_IF_ERROR(near->BindText(4, case_id));
    ASSIGN_OR_RETURN(close, FirstRow<audit::Event>(near, read));
  }
  if (close.has_value()) events.push_back(*std::move(close));
  return events;
}

absl::Status WriteTxn::PutAuditSnapshot(int64_t audit_id, int64_t revision,
                                        const std::string& snapshot) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("UPDATE audits SET snapshot = ?, snapshot_revision = ? "
                                        "WHERE id = ?"));
  RETURN_IF_ERROR(stmt->Bind(Statement::Blob{snapshot}, revision, audit_id));
  return stmt->Run();
}

absl::StatusOr<std::vector<AuditRecord>> Reader::ListAudits(int64_t team_id, int64_t before_id,
                                                            int limit) {
  return ListNewest<AuditRecord>(*connection_, kAuditColumns, "team_id", team_id, before_id, limit,
                                 ReadAudit);
}

absl::StatusOr<std::optional<AuditRecord>> Reader::FindAudit(int64_t team_id,
                                                             const std::string& public_id) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare(absl::StrCat("SELECT ", kAuditColumns,
                                                     " WHERE public_id = ? AND team_id = ?")));
  RETURN_IF_ERROR(stmt->Bind(public_id, team_id));
  return FirstRow<AuditRecord>(stmt, ReadAudit);
}

absl::StatusOr<std::vector<audit::Event>> Reader::AuditEvents(int64_t audit_id, int64_t after_seq) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT seq, kind, case_id, subgroup, y, p_model, "
                                        "p_auditor FROM audit_events WHERE audit_id = ? AND "
                                        "seq > ? ORDER BY seq"));
  RETURN_IF_ERROR(stmt->Bind(audit_id, after_seq));
  std::vector<audit::Event> events;
  int64_t expected = after_seq + 1;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    if (stmt->ColumnInt(0) != expected) {
      const int64_t got = stmt->ColumnInt(0);
      stmt->Reset();
      return absl::DataLossError(absl::StrCat("audit row ", audit_id, ": event log has seq ", got,
                                              " where ", expected, " was expected"));
    }
    ++expected;
    events.push_back(ReadEvent(*stmt, 1));
  }
  stmt->Reset();
  return events;
}

}  // namespace assay::storage
