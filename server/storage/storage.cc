#include "server/storage/storage.h"

#include <algorithm>
#include <tuple>
#include <variant>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/base/version.h"
#include "server/storage/schema.h"

namespace assay::storage {
namespace {

ApiKeyRecord ReadApiKey(const Statement& s) {
  // Columns: id, team_id, team name, prefix, role, description, created_at, revoked_at.
  ApiKeyRecord r;
  r.id = s.ColumnInt(0);
  r.team_id = s.ColumnInt(1);
  r.team_name = s.ColumnText(2);
  r.prefix = s.ColumnText(3);
  r.role = static_cast<int>(s.ColumnInt(4));
  r.description = s.ColumnText(5);
  r.created_at = s.ColumnInt(6);
  r.revoked = !s.ColumnIsNull(7);
  return r;
}
constexpr const char* kApiKeyColumns =
    "k.id, k.team_id, t.name, k.prefix, k.role, k.description, k.created_at, k.revoked_at "
    "FROM api_keys k JOIN teams t ON t.id = k.team_id";

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

// Steps a query to completion, collecting one value per row.
template <typename T, typename ReadRow>
absl::StatusOr<std::vector<T>> Collect(Statement* stmt, ReadRow read) {
  std::vector<T> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    out.push_back(read(*stmt));
  }
  stmt->Reset();
  return out;
}

// The single row of a query, or nullopt.
template <typename T, typename ReadRow>
absl::StatusOr<std::optional<T>> FirstRow(Statement* stmt, ReadRow read) {
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  std::optional<T> out;
  if (row) out = read(*stmt);
  stmt->Reset();
  return out;
}

absl::StatusOr<ApiKeyRecord> ApiKeyByPrefix(Connection& c, int64_t team_id,
                                            const std::string& prefix) {
  ASSIGN_OR_RETURN(
      Statement * stmt,
      c.Prepare(absl::StrCat("SELECT ", kApiKeyColumns, " WHERE k.team_id = ? AND k.prefix = ?")));
  RETURN_IF_ERROR(stmt->Bind(team_id, prefix));
  ASSIGN_OR_RETURN(std::optional<ApiKeyRecord> key, FirstRow<ApiKeyRecord>(stmt, ReadApiKey));
  if (!key.has_value()) {
    return absl::NotFoundError(absl::StrCat("prefix: the team has no key '", prefix, "'"));
  }
  return *key;
}

absl::StatusOr<std::optional<AuditRecord>> FindAuditIn(Connection& c, int64_t team_id,
                                                       const std::string& public_id) {
  ASSIGN_OR_RETURN(
      Statement * stmt,
      c.Prepare(absl::StrCat("SELECT ", kAuditColumns, " WHERE public_id = ? AND team_id = ?")));
  RETURN_IF_ERROR(stmt->Bind(public_id, team_id));
  return FirstRow<AuditRecord>(stmt, ReadAudit);
}

absl::StatusOr<std::vector<audit::Event>> AuditEventsIn(Connection& c, int64_t audit_id,
                                                        int64_t after_seq) {
  ASSIGN_OR_RETURN(Statement * stmt, c.Prepare("SELECT seq, kind, case_id, subgroup, y, p_model, "
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

BenchmarkRecord ReadBenchmark(const Statement& s) {
  BenchmarkRecord r;
  r.id = s.ColumnInt(0);
  r.public_id = s.ColumnText(1);
  r.team_id = s.ColumnInt(2);
  r.name = s.ColumnText(3);
  r.description = s.ColumnText(4);
  r.created_at = s.ColumnInt(5);
  r.num_cells = s.ColumnInt(6);
  r.current_fit_id = s.ColumnIsNull(7) ? 0 : s.ColumnInt(7);
  r.num_models = s.ColumnInt(8);
  r.num_items = s.ColumnInt(9);
  return r;
}
constexpr const char* kBenchmarkColumns =
    "id, public_id, team_id, name, description, created_at, num_cells, current_fit_id, "
    "num_models, num_items FROM benchmarks";

FitRecord ReadFit(const Statement& s) {
  FitRecord r;
  r.id = s.ColumnInt(0);
  r.public_id = s.ColumnText(1);
  r.benchmark_id = s.ColumnInt(2);
  r.team_id = s.ColumnInt(3);
  r.version = s.ColumnInt(4);
  r.state = static_cast<int>(s.ColumnInt(5));
  r.record = s.ColumnBlob(6);
  return r;
}
constexpr const char* kFitColumns =
    "id, public_id, benchmark_id, team_id, version, state, record FROM fits";

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

// The rows of a step log selected by `stmt` (`seq` first, ORDER BY seq) for `owner_id` (bound
// here), each read by `read`; DataLoss if the seqs are not 1, 2, ... (`noun` names the owner).
template <typename Event, typename Read>
absl::StatusOr<std::vector<Event>> StepLog(Statement* stmt, int64_t owner_id, const char* noun,
                                           Read read) {
  RETURN_IF_ERROR(stmt->BindInt(1, owner_id));
  std::vector<Event> events;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    if (stmt->ColumnInt(0) != static_cast<int64_t>(events.size()) + 1) {
      stmt->Reset();
      return absl::DataLossError(absl::StrCat(noun, " row ", owner_id, ": step log has a gap"));
    }
    events.push_back(read(*stmt));
  }
  stmt->Reset();
  return events;
}

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

absl::StatusOr<std::vector<double>> MonitorScoresIn(Connection& c, int64_t monitor_id,
                                                    int64_t first_t, int64_t last_t) {
  ASSIGN_OR_RETURN(Statement * stmt, c.Prepare("SELECT t, y FROM monitor_scores WHERE "
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

// "SELECT <columns> WHERE <where>" with one text then one integer parameter, or one integer.
template <typename T, typename ReadRow>
absl::StatusOr<std::optional<T>> FindBy(Connection& c, const char* columns, const char* where,
                                        const std::string* text, int64_t number, ReadRow read) {
  ASSIGN_OR_RETURN(Statement * stmt, c.Prepare(absl::StrCat("SELECT ", columns, " WHERE ", where)));
  int index = 1;
  if (text != nullptr) RETURN_IF_ERROR(stmt->BindText(index++, *text));
  RETURN_IF_ERROR(stmt->BindInt(index, number));
  return FirstRow<T>(stmt, read);
}

absl::StatusOr<std::vector<Entry>> EntriesIn(Connection& c, int64_t benchmark_id, EntryKind kind) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   c.Prepare("SELECT idx, name, tags FROM benchmark_entries WHERE "
                             "benchmark_id = ? AND kind = ? ORDER BY idx"));
  RETURN_IF_ERROR(stmt->Bind(benchmark_id, static_cast<int64_t>(kind)));
  std::vector<Entry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    if (stmt->ColumnInt(0) != static_cast<int64_t>(out.size())) {
      stmt->Reset();
      return absl::DataLossError(
          absl::StrCat("benchmark row ", benchmark_id, ": entry indices are not consecutive"));
    }
    out.push_back(Entry{stmt->ColumnText(1), stmt->ColumnText(2)});
  }
  stmt->Reset();
  return out;
}

// `owner_column = owner AND id < before_id` (0: no bound), newest first, at most `limit`.
// WriteTxn::CountHolding, on either connection.
absl::StatusOr<int64_t> CountHoldingOn(Connection& c, Holding what, int64_t team_id) {
  static constexpr const char* kSql[] = {
      "SELECT count(*) FROM audits WHERE team_id = ? AND open = 1",
      "SELECT count(*) FROM cat_sessions WHERE team_id = ? AND open = 1",
      "SELECT count(*) FROM monitors WHERE team_id = ?",
      "SELECT count(*) FROM comparisons WHERE team_id = ? AND open = 1",
      "SELECT count(*) FROM fits WHERE team_id = ? AND state IN (1, 2)",
      "SELECT coalesce(sum(num_cells), 0) FROM benchmarks WHERE team_id = ?",
  };
  ASSIGN_OR_RETURN(Statement * stmt, c.Prepare(kSql[static_cast<int>(what)]));
  RETURN_IF_ERROR(stmt->BindInt(1, team_id));
  ASSIGN_OR_RETURN(std::optional<int64_t> n,
                   FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); }));
  return n.value_or(0);
}

template <typename T, typename ReadRow>
absl::StatusOr<std::vector<T>> ListNewest(Connection& c, const char* columns,
                                          const char* owner_column, int64_t owner,
                                          int64_t before_id, int limit, ReadRow read) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   c.Prepare(absl::StrCat("SELECT ", columns, " WHERE ", owner_column,
                                          " = ?1 AND (?2 = 0 OR id < ?2) ORDER BY id DESC "
                                          "LIMIT ?3")));
  RETURN_IF_ERROR(stmt->Bind(owner, before_id, limit));
  return Collect<T>(stmt, read);
}

// Runs an UPDATE/INSERT with the given parameters (int64_t, double or text/blob strings).
absl::Status RunWith(Connection& c, const char* sql,
                     std::initializer_list<std::variant<int64_t, std::string>> params) {
  ASSIGN_OR_RETURN(Statement * stmt, c.Prepare(sql));
  int index = 1;
  for (const auto& p : params) {
    if (const int64_t* i = std::get_if<int64_t>(&p)) {
      RETURN_IF_ERROR(stmt->BindInt(index++, *i));
    } else {
      RETURN_IF_ERROR(stmt->BindBlob(index++, std::get<std::string>(p)));
    }
  }
  return stmt->Run();
}

}  // namespace

// ---- WriteTxn ----

int64_t WriteTxn::changes() const { return connection_->total_changes(); }

// Savepoint statements are prepared once per depth and reused: parsing them on every label took
// 7.5% of the committer's time under load.
absl::Status WriteTxn::Savepoint() {
  RETURN_IF_ERROR(connection_->Run(absl::StrCat("SAVEPOINT sp", depth_ + 1)));
  ++depth_;
  return absl::OkStatus();
}

absl::Status WriteTxn::Release() {
  if (depth_ == 0) return absl::FailedPreconditionError("no open savepoint");
  RETURN_IF_ERROR(connection_->Run(absl::StrCat("RELEASE sp", depth_)));
  --depth_;
  return absl::OkStatus();
}

absl::Status WriteTxn::Rollback() {
  if (depth_ == 0) return absl::FailedPreconditionError("no open savepoint");
  RETURN_IF_ERROR(connection_->Run(absl::StrCat("ROLLBACK TO sp", depth_)));
  return Release();
}

absl::Status WriteTxn::MarkClosed(Closable what, int64_t id) {
  static constexpr const char* kSql[] = {
      "UPDATE audits SET open = 0 WHERE id = ? AND open = 1",
      "UPDATE cat_sessions SET open = 0 WHERE id = ? AND open = 1",
      "UPDATE comparisons SET open = 0 WHERE id = ? AND open = 1",
  };
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare(kSql[static_cast<int>(what)]));
  RETURN_IF_ERROR(stmt->BindInt(1, id));
  return stmt->Run();
}

absl::Status WriteTxn::SetTeamLimit(int64_t team_id, const std::string& name,
                                    std::optional<double> value) {
  ASSIGN_OR_RETURN(
      Statement * stmt,
      connection_->Prepare(value.has_value() ? "INSERT INTO team_limits(team_id, name, value) "
                                               "VALUES(?, ?, ?) ON CONFLICT(team_id, name) DO "
                                               "UPDATE SET value = excluded.value"
                                             : "DELETE FROM team_limits WHERE team_id = ? AND "
                                               "name = ?"));
  RETURN_IF_ERROR(value.has_value() ? stmt->Bind(team_id, name, *value)
                                    : stmt->Bind(team_id, name));
  return stmt->Run();
}

absl::StatusOr<int64_t> WriteTxn::InsertTeam(const std::string& name, int64_t now) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO teams(name, created_at) VALUES(?, ?) "
                                        "RETURNING id"));
  RETURN_IF_ERROR(stmt->Bind(name, now));
  absl::StatusOr<std::optional<int64_t>> id =
      FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); });
  if (absl::IsAlreadyExists(id.status())) {
    return absl::AlreadyExistsError(absl::StrCat("team '", name, "' already exists"));
  }
  RETURN_IF_ERROR(id.status());
  return id->value();
}

absl::StatusOr<ApiKeyRecord> WriteTxn::InsertApiKey(int64_t team_id, const std::string& prefix,
                                                    const std::string& hash, int role,
                                                    const std::string& description, int64_t now) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO api_keys(team_id, prefix, hash, role, "
                                        "description, created_at) VALUES(?, ?, ?, ?, ?, ?)"));
  RETURN_IF_ERROR(stmt->Bind(team_id, prefix, Statement::Blob{hash}, role, description, now));
  RETURN_IF_ERROR(stmt->Run());
  return ApiKeyByPrefix(*connection_, team_id, prefix);
}

absl::StatusOr<ApiKeyRecord> WriteTxn::RevokeApiKey(int64_t team_id, const std::string& prefix,
                                                    int64_t now) {
  ASSIGN_OR_RETURN(ApiKeyRecord key, ApiKeyByPrefix(*connection_, team_id, prefix));
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare("UPDATE api_keys SET revoked_at = ? "
                                                          "WHERE id = ? AND revoked_at IS NULL"));
  RETURN_IF_ERROR(stmt->Bind(now, key.id));
  RETURN_IF_ERROR(stmt->Run());
  key.revoked = true;
  return key;
}

absl::StatusOr<std::optional<StoredReply>> Reader::FindReply(int64_t team_id,
                                                             const std::string& request_id) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT method, fingerprint, response FROM request_ids "
                                        "WHERE team_id = ? AND request_id = ?"));
  RETURN_IF_ERROR(stmt->Bind(team_id, request_id));
  return FirstRow<StoredReply>(stmt, [](const Statement& s) {
    return StoredReply{s.ColumnText(0), s.ColumnBlob(1), s.ColumnBlob(2)};
  });
}

absl::Status WriteTxn::PutReply(int64_t team_id, const std::string& request_id,
                                const StoredReply& reply, int64_t now) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO request_ids(team_id, request_id, method, "
                                        "fingerprint, response, created_at) "
                                        "VALUES(?, ?, ?, ?, ?, ?)"));
  RETURN_IF_ERROR(stmt->Bind(team_id, request_id, reply.method, Statement::Blob{reply.fingerprint},
                             Statement::Blob{reply.response}, now));
  return stmt->Run();
}

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

absl::Status WriteTxn::InsertBenchmark(BenchmarkRecord& r) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO benchmarks(public_id, team_id, name, "
                                        "description, created_at) VALUES(?, ?, ?, ?, ?) "
                                        "RETURNING id"));
  RETURN_IF_ERROR(stmt->Bind(r.public_id, r.team_id, r.name, r.description, r.created_at));
  absl::StatusOr<std::optional<int64_t>> id =
      FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); });
  if (absl::IsAlreadyExists(id.status())) {
    return absl::AlreadyExistsError(
        absl::StrCat("name: the team already has a benchmark named '", r.name, "'"));
  }
  RETURN_IF_ERROR(id.status());
  r.id = id->value_or(0);
  return absl::OkStatus();
}

absl::Status WriteTxn::InsertEntry(int64_t benchmark_id, EntryKind kind, int64_t idx,
                                   const Entry& entry) {
  return RunWith(*connection_,
                 "INSERT INTO benchmark_entries(benchmark_id, kind, idx, name, tags) "
                 "VALUES(?, ?, ?, CAST(? AS TEXT), CAST(? AS TEXT))",
                 {benchmark_id, static_cast<int64_t>(kind), idx, entry.name, entry.tags});
}

absl::Status WriteTxn::SetItemTags(int64_t benchmark_id, int64_t idx, const std::string& tags) {
  return RunWith(*connection_,
                 "UPDATE benchmark_entries SET tags = CAST(? AS TEXT) WHERE benchmark_id = ? AND "
                 "kind = 1 AND idx = ?",
                 {tags, benchmark_id, idx});
}

absl::Status WriteTxn::PutResponseRow(int64_t benchmark_id, int64_t model_idx,
                                      const std::string& cells) {
  return RunWith(*connection_,
                 "INSERT INTO response_rows(benchmark_id, model_idx, cells) VALUES(?, ?, ?) "
                 "ON CONFLICT(benchmark_id, model_idx) DO UPDATE SET cells = excluded.cells",
                 {benchmark_id, model_idx, cells});
}

absl::Status WriteTxn::SetBenchmarkCounts(int64_t benchmark_id, int64_t num_models,
                                          int64_t num_items, int64_t num_cells) {
  return RunWith(*connection_,
                 "UPDATE benchmarks SET num_models = ?, num_items = ?, num_cells = ? WHERE id = ?",
                 {num_models, num_items, num_cells, benchmark_id});
}

absl::Status WriteTxn::SetCurrentFit(int64_t benchmark_id, int64_t fit_id) {
  return RunWith(*connection_, "UPDATE benchmarks SET current_fit_id = ? WHERE id = ?",
                 {fit_id, benchmark_id});
}

absl::Status WriteTxn::InsertFit(FitRecord& r) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare(
                       "INSERT INTO fits(public_id, benchmark_id, team_id, version, state, record) "
                       "VALUES(?, ?, ?, (SELECT COALESCE(MAX(version), 0) + 1 FROM fits WHERE "
                       "benchmark_id = ?2), ?, ?) RETURNING id, version"));
  RETURN_IF_ERROR(
      stmt->Bind(r.public_id, r.benchmark_id, r.team_id, r.state, Statement::Blob{r.record}));
  using IdVersion = std::pair<int64_t, int64_t>;
  const auto read = [](const Statement& s) { return IdVersion(s.ColumnInt(0), s.ColumnInt(1)); };
  ASSIGN_OR_RETURN(std::optional<IdVersion> row, FirstRow<IdVersion>(stmt, read));
  if (row.has_value()) std::tie(r.id, r.version) = *row;
  return absl::OkStatus();
}

absl::Status WriteTxn::UpdateFit(int64_t fit_id, int state, const std::string& record,
                                 const std::optional<std::string>& tables) {
  if (tables.has_value()) {
    return RunWith(*connection_, "UPDATE fits SET state = ?, record = ?, tables = ? WHERE id = ?",
                   {static_cast<int64_t>(state), record, *tables, fit_id});
  }
  return RunWith(*connection_, "UPDATE fits SET state = ?, record = ? WHERE id = ?",
                 {static_cast<int64_t>(state), record, fit_id});
}

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

// ---- Storage ----

int Storage::CurrentSchemaVersion() { return static_cast<int>(SchemaMigrations().size()); }

absl::StatusOr<std::unique_ptr<Storage>> Storage::Open(const std::string& path,
                                                       const ConnectionOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Connection::Open(path, options));
  if (!options.read_only) {
    RETURN_IF_ERROR(Migrate(*connection, SchemaMigrations()));
  }
  std::unique_ptr<Storage> storage(new Storage(std::move(connection)));
  if (!options.read_only) {
    ASSIGN_OR_RETURN(std::optional<std::string> created,
                     storage->Reads()->GetSetting("created_by"));
    if (!created.has_value()) RETURN_IF_ERROR(storage->PutSetting("created_by", Version()));
  }
  return storage;
}

absl::Status Storage::SetMaxBytes(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement * size, connection_->Prepare("PRAGMA page_size"));
  ASSIGN_OR_RETURN(std::optional<int64_t> page,
                   FirstRow<int64_t>(size, [](const Statement& s) { return s.ColumnInt(0); }));
  // 4294967294 is SQLite's largest page count: no cap.
  const int64_t pages =
      bytes <= 0 ? 4294967294LL : std::max<int64_t>(1, bytes / page.value_or(4096));
  return connection_->Exec(absl::StrCat("PRAGMA max_page_count=", pages));
}

absl::StatusOr<int> Storage::SchemaVersion() {
  absl::MutexLock lock(&mu_);
  return connection_->UserVersion();
}

absl::Status Storage::Write(absl::FunctionRef<absl::Status(WriteTxn&)> fn) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*connection_));
  WriteTxn write(connection_.get());
  RETURN_IF_ERROR(fn(write));
  return txn.Commit();
}

Storage::ReadLease::ReadLease(Storage* storage, std::unique_ptr<Connection> own,
                              Connection* connection)
    : storage_(storage), own_(std::move(own)), reader_(connection) {}

Storage::ReadLease::~ReadLease() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (own_ == nullptr) {
    storage_->mu_.Unlock();  // locked by Reads()
    return;
  }
  if (own_->has_open_transaction()) return;  // a read left open: not reused (closed here)
  absl::MutexLock lock(&storage_->pool_mu_);
  if (storage_->idle_readers_.size() < kIdleReaders) {
    storage_->idle_readers_.push_back(std::move(own_));
  }
}

// The lock of a ":memory:" lease is held from Reads() to the lease's destructor, which the
// analysis cannot follow across the return: both are exempt, and nothing else touches mu_'s data
// through a lease but its Reader.
Storage::ReadLease Storage::Reads() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  std::unique_ptr<Connection> own;
  if (path_ != ":memory:") {
    {
      absl::MutexLock lock(&pool_mu_);
      if (!idle_readers_.empty()) {
        own = std::move(idle_readers_.back());
        idle_readers_.pop_back();
      }
    }
    if (own == nullptr) {
      ConnectionOptions options;
      options.read_only = true;
      absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(path_, options);
      if (opened.ok()) own = *std::move(opened);  // else: the writer's connection, below
    }
  }
  if (own != nullptr) {
    Connection* connection = own.get();
    return ReadLease(this, std::move(own), connection);
  }
  mu_.Lock();
  return ReadLease(this, nullptr, connection_.get());
}

absl::Status Storage::Backup(const std::string& dest_path) {
  std::string path;
  {
    absl::MutexLock lock(&mu_);
    path = connection_->path();
    if (path == ":memory:") return connection_->BackupTo(dest_path);
  }
  // A connection of its own: the copy reads one snapshot while the server keeps writing.
  ConnectionOptions options;
  options.read_only = true;
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> source, Connection::Open(path, options));
  return source->BackupTo(dest_path);
}

absl::StatusOr<std::optional<std::string>> Reader::GetSetting(const std::string& key) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT value FROM settings WHERE key=?"));
  RETURN_IF_ERROR(stmt->BindText(1, key));
  return FirstRow<std::string>(stmt, [](const Statement& s) { return s.ColumnText(0); });
}

absl::Status Storage::PutSetting(const std::string& key, const std::string& value) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*connection_));
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO settings(key, value) VALUES(?, ?) "
                                        "ON CONFLICT(key) DO UPDATE SET value=excluded.value"));
  RETURN_IF_ERROR(stmt->Bind(key, value));
  RETURN_IF_ERROR(stmt->Run());
  return txn.Commit();
}

absl::StatusOr<int64_t> Reader::CountHolding(Holding what, int64_t team_id) {
  return CountHoldingOn(*connection_, what, team_id);
}

absl::StatusOr<std::vector<std::pair<std::string, double>>> Reader::TeamLimits(int64_t team_id) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT name, value FROM team_limits WHERE team_id = ? "
                                        "ORDER BY name"));
  RETURN_IF_ERROR(stmt->BindInt(1, team_id));
  return Collect<std::pair<std::string, double>>(
      stmt, [](const Statement& s) { return std::make_pair(s.ColumnText(0), s.ColumnDouble(1)); });
}

absl::StatusOr<std::optional<int64_t>> Reader::FindTeam(const std::string& name) {
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare("SELECT id FROM teams WHERE name = ?"));
  RETURN_IF_ERROR(stmt->BindText(1, name));
  return FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); });
}

absl::StatusOr<std::optional<ApiKeyRecord>> Reader::FindApiKeyByHash(const std::string& hash) {
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare(absl::StrCat("SELECT ", kApiKeyColumns,
                                                                       " WHERE k.hash = ?")));
  RETURN_IF_ERROR(stmt->BindBlob(1, hash));
  return FirstRow<ApiKeyRecord>(stmt, ReadApiKey);
}

absl::StatusOr<std::vector<ApiKeyRecord>> Reader::ListApiKeys(int64_t team_id) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare(absl::StrCat("SELECT ", kApiKeyColumns,
                                                     " WHERE k.team_id = ? ORDER BY k.id")));
  RETURN_IF_ERROR(stmt->BindInt(1, team_id));
  return Collect<ApiKeyRecord>(stmt, ReadApiKey);
}

absl::StatusOr<std::vector<AuditRecord>> Reader::ListAudits(int64_t team_id, int64_t before_id,
                                                            int limit) {
  return ListNewest<AuditRecord>(*connection_, kAuditColumns, "team_id", team_id, before_id, limit,
                                 ReadAudit);
}

absl::StatusOr<std::optional<AuditRecord>> Reader::FindAudit(int64_t team_id,
                                                             const std::string& public_id) {
  return FindAuditIn(*connection_, team_id, public_id);
}

absl::StatusOr<std::vector<audit::Event>> Reader::AuditEvents(int64_t audit_id, int64_t after_seq) {
  return AuditEventsIn(*connection_, audit_id, after_seq);
}

absl::StatusOr<std::optional<BenchmarkRecord>> Reader::FindBenchmark(int64_t team_id,
                                                                     const std::string& public_id) {
  return FindBy<BenchmarkRecord>(*connection_, kBenchmarkColumns, "public_id = ? AND team_id = ?",
                                 &public_id, team_id, ReadBenchmark);
}

absl::StatusOr<std::optional<BenchmarkRecord>> Reader::FindBenchmarkById(int64_t id) {
  return FindBy<BenchmarkRecord>(*connection_, kBenchmarkColumns, "id = ?", nullptr, id,
                                 ReadBenchmark);
}

absl::StatusOr<std::vector<BenchmarkRecord>> Reader::ListBenchmarks(int64_t team_id,
                                                                    int64_t before_id, int limit) {
  return ListNewest<BenchmarkRecord>(*connection_, kBenchmarkColumns, "team_id", team_id, before_id,
                                     limit, ReadBenchmark);
}

absl::StatusOr<std::vector<Entry>> Reader::BenchmarkEntries(int64_t benchmark_id, EntryKind kind) {
  return EntriesIn(*connection_, benchmark_id, kind);
}

namespace {

absl::Status ScanResponseRows(Connection& connection, int64_t benchmark_id,
                              absl::FunctionRef<void(int64_t, const std::string&)> row) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection.Prepare("SELECT model_idx, cells FROM response_rows WHERE "
                                      "benchmark_id = ? ORDER BY model_idx"));
  RETURN_IF_ERROR(stmt->BindInt(1, benchmark_id));
  absl::Status status = absl::OkStatus();
  while (status.ok()) {
    absl::StatusOr<bool> more = stmt->Step();
    if (!more.ok()) status = more.status();
    if (!more.ok() || !*more) break;
    row(stmt->ColumnInt(0), stmt->ColumnBlob(1));
  }
  stmt->Reset();
  return status;
}

}  // namespace

absl::Status Reader::ForEachResponseRow(int64_t benchmark_id,
                                        absl::FunctionRef<void(int64_t, const std::string&)> row) {
  return ScanResponseRows(*connection_, benchmark_id, row);
}

absl::StatusOr<std::optional<FitRecord>> Reader::FindFit(int64_t team_id,
                                                         const std::string& public_id) {
  return FindBy<FitRecord>(*connection_, kFitColumns, "public_id = ? AND team_id = ?", &public_id,
                           team_id, ReadFit);
}

absl::StatusOr<std::optional<FitRecord>> Reader::FindFitById(int64_t id) {
  return FindBy<FitRecord>(*connection_, kFitColumns, "id = ?", nullptr, id, ReadFit);
}

absl::StatusOr<std::vector<FitRecord>> Reader::ListFits(int64_t benchmark_id, int64_t before_id,
                                                        int limit) {
  return ListNewest<FitRecord>(*connection_, kFitColumns, "benchmark_id", benchmark_id, before_id,
                               limit, ReadFit);
}

absl::StatusOr<std::vector<FitRecord>> Reader::FitsInState(const std::vector<int>& states) {
  std::vector<FitRecord> out;
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare(absl::StrCat(
                                         "SELECT ", kFitColumns, " WHERE state = ? ORDER BY id")));
  for (int state : states) {
    RETURN_IF_ERROR(stmt->BindInt(1, state));
    ASSIGN_OR_RETURN(std::vector<FitRecord> some, Collect<FitRecord>(stmt, ReadFit));
    out.insert(out.end(), some.begin(), some.end());
  }
  std::sort(out.begin(), out.end(),
            [](const FitRecord& x, const FitRecord& y) { return x.id < y.id; });
  return out;
}

absl::StatusOr<std::optional<std::string>> Reader::FitTables(int64_t fit_id) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT tables FROM fits WHERE id = ? AND tables IS NOT "
                                        "NULL"));
  RETURN_IF_ERROR(stmt->BindInt(1, fit_id));
  return FirstRow<std::string>(stmt, [](const Statement& s) { return s.ColumnBlob(0); });
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

absl::StatusOr<std::optional<std::string>> Reader::ResponseRow(int64_t benchmark_id,
                                                               int64_t model_idx) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT cells FROM response_rows WHERE benchmark_id = ? "
                                        "AND model_idx = ?"));
  RETURN_IF_ERROR(stmt->Bind(benchmark_id, model_idx));
  return FirstRow<std::string>(stmt, [](const Statement& s) { return s.ColumnBlob(0); });
}

absl::StatusOr<std::optional<MonitorRecord>> Reader::FindMonitor(int64_t team_id,
                                                                 const std::string& public_id) {
  return FindBy<MonitorRecord>(*connection_, kMonitorColumns, "public_id = ? AND team_id = ?",
                               &public_id, team_id, ReadMonitor);
}

absl::StatusOr<std::vector<double>> Reader::MonitorScores(int64_t monitor_id, int64_t first_t,
                                                          int64_t last_t) {
  return MonitorScoresIn(*connection_, monitor_id, first_t, last_t);
}

absl::StatusOr<std::vector<MonitorRecord>> Reader::ListMonitors(int64_t team_id, int64_t before_id,
                                                                int limit) {
  return ListNewest<MonitorRecord>(*connection_, kMonitorColumns, "team_id", team_id, before_id,
                                   limit, ReadMonitor);
}

absl::StatusOr<int64_t> Storage::PurgeReplies(int64_t cutoff) {
  int64_t purged = 0;
  RETURN_IF_ERROR(Write([&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * stmt,
                     txn.connection_->Prepare("DELETE FROM request_ids WHERE created_at < ? "
                                              "RETURNING 1"));
    RETURN_IF_ERROR(stmt->BindInt(1, cutoff));
    ASSIGN_OR_RETURN(std::vector<int> rows, Collect<int>(stmt, [](const Statement&) { return 1; }));
    purged = static_cast<int64_t>(rows.size());
    return absl::OkStatus();
  }));
  return purged;
}

}  // namespace assay::storage
