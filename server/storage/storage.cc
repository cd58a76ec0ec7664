#include "server/storage/storage.h"

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
  RETURN_IF_ERROR(stmt->BindInt(1, team_id));
  RETURN_IF_ERROR(stmt->BindText(2, prefix));
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
  RETURN_IF_ERROR(stmt->BindText(1, public_id));
  RETURN_IF_ERROR(stmt->BindInt(2, team_id));
  return FirstRow<AuditRecord>(stmt, ReadAudit);
}

absl::StatusOr<std::vector<audit::Event>> AuditEventsIn(Connection& c, int64_t audit_id,
                                                        int64_t after_seq) {
  ASSIGN_OR_RETURN(Statement * stmt, c.Prepare("SELECT seq, kind, case_id, subgroup, y, p_model, "
                                               "p_auditor FROM audit_events WHERE audit_id = ? AND "
                                               "seq > ? ORDER BY seq"));
  RETURN_IF_ERROR(stmt->BindInt(1, audit_id));
  RETURN_IF_ERROR(stmt->BindInt(2, after_seq));
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

}  // namespace

// ---- WriteTxn ----

absl::Status WriteTxn::Savepoint() {
  RETURN_IF_ERROR(connection_->Exec(absl::StrCat("SAVEPOINT sp", depth_ + 1)));
  ++depth_;
  return absl::OkStatus();
}

absl::Status WriteTxn::Release() {
  if (depth_ == 0) return absl::FailedPreconditionError("no open savepoint");
  RETURN_IF_ERROR(connection_->Exec(absl::StrCat("RELEASE sp", depth_)));
  --depth_;
  return absl::OkStatus();
}

absl::Status WriteTxn::Rollback() {
  if (depth_ == 0) return absl::FailedPreconditionError("no open savepoint");
  RETURN_IF_ERROR(
      connection_->Exec(absl::StrCat("ROLLBACK TO sp", depth_, "; RELEASE sp", depth_)));
  --depth_;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> WriteTxn::InsertTeam(const std::string& name, int64_t now) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO teams(name, created_at) VALUES(?, ?) "
                                        "RETURNING id"));
  RETURN_IF_ERROR(stmt->BindText(1, name));
  RETURN_IF_ERROR(stmt->BindInt(2, now));
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
  RETURN_IF_ERROR(stmt->BindInt(1, team_id));
  RETURN_IF_ERROR(stmt->BindText(2, prefix));
  RETURN_IF_ERROR(stmt->BindBlob(3, hash));
  RETURN_IF_ERROR(stmt->BindInt(4, role));
  RETURN_IF_ERROR(stmt->BindText(5, description));
  RETURN_IF_ERROR(stmt->BindInt(6, now));
  RETURN_IF_ERROR(stmt->Run());
  return ApiKeyByPrefix(*connection_, team_id, prefix);
}

absl::StatusOr<ApiKeyRecord> WriteTxn::RevokeApiKey(int64_t team_id, const std::string& prefix,
                                                    int64_t now) {
  ASSIGN_OR_RETURN(ApiKeyRecord key, ApiKeyByPrefix(*connection_, team_id, prefix));
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare("UPDATE api_keys SET revoked_at = ? "
                                                          "WHERE id = ? AND revoked_at IS NULL"));
  RETURN_IF_ERROR(stmt->BindInt(1, now));
  RETURN_IF_ERROR(stmt->BindInt(2, key.id));
  RETURN_IF_ERROR(stmt->Run());
  key.revoked = true;
  return key;
}

absl::StatusOr<std::optional<StoredReply>> WriteTxn::FindReply(int64_t team_id,
                                                               const std::string& request_id) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT method, fingerprint, response FROM request_ids "
                                        "WHERE team_id = ? AND request_id = ?"));
  RETURN_IF_ERROR(stmt->BindInt(1, team_id));
  RETURN_IF_ERROR(stmt->BindText(2, request_id));
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
  RETURN_IF_ERROR(stmt->BindInt(1, team_id));
  RETURN_IF_ERROR(stmt->BindText(2, request_id));
  RETURN_IF_ERROR(stmt->BindText(3, reply.method));
  RETURN_IF_ERROR(stmt->BindBlob(4, reply.fingerprint));
  RETURN_IF_ERROR(stmt->BindBlob(5, reply.response));
  RETURN_IF_ERROR(stmt->BindInt(6, now));
  return stmt->Run();
}

absl::Status WriteTxn::InsertAudit(AuditRecord& record) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO audits(public_id, team_id, display_name, "
                                        "config, created_at) VALUES(?, ?, ?, ?, ?) RETURNING id"));
  RETURN_IF_ERROR(stmt->BindText(1, record.public_id));
  RETURN_IF_ERROR(stmt->BindInt(2, record.team_id));
  RETURN_IF_ERROR(stmt->BindText(3, record.display_name));
  RETURN_IF_ERROR(stmt->BindBlob(4, record.config));
  RETURN_IF_ERROR(stmt->BindInt(5, record.created_at));
  ASSIGN_OR_RETURN(std::optional<int64_t> id,
                   FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); }));
  record.id = id.value_or(0);
  return absl::OkStatus();
}

absl::Status WriteTxn::AppendAuditEvent(int64_t audit_id, int64_t seq, const audit::Event& e) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO audit_events(audit_id, seq, kind, case_id, "
                                        "subgroup, y, p_model, p_auditor) "
                                        "VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
  RETURN_IF_ERROR(stmt->BindInt(1, audit_id));
  RETURN_IF_ERROR(stmt->BindInt(2, seq));
  RETURN_IF_ERROR(stmt->BindInt(3, static_cast<int64_t>(e.kind)));
  RETURN_IF_ERROR(stmt->BindText(4, e.case_id));
  RETURN_IF_ERROR(stmt->BindText(5, e.subgroup));
  RETURN_IF_ERROR(stmt->BindDouble(6, e.y));
  RETURN_IF_ERROR(stmt->BindDouble(7, e.p_model));
  RETURN_IF_ERROR(stmt->BindDouble(8, e.p_auditor));
  return stmt->Run();
}

absl::StatusOr<std::vector<audit::Event>> WriteTxn::CaseEvents(int64_t audit_id,
                                                               const std::string& case_id) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT kind, case_id, subgroup, y, p_model, p_auditor "
                                        "FROM audit_events INDEXED BY audit_events_by_case "
                                        "WHERE audit_id = ? AND case_id = ? ORDER BY seq"));
  RETURN_IF_ERROR(stmt->BindInt(1, audit_id));
  RETURN_IF_ERROR(stmt->BindText(2, case_id));
  return Collect<audit::Event>(stmt, [](const Statement& s) { return ReadEvent(s, 0); });
}

absl::Status WriteTxn::PutAuditSnapshot(int64_t audit_id, int64_t revision,
                                        const std::string& snapshot) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("UPDATE audits SET snapshot = ?, snapshot_revision = ? "
                                        "WHERE id = ?"));
  RETURN_IF_ERROR(stmt->BindBlob(1, snapshot));
  RETURN_IF_ERROR(stmt->BindInt(2, revision));
  RETURN_IF_ERROR(stmt->BindInt(3, audit_id));
  return stmt->Run();
}

absl::StatusOr<std::optional<AuditRecord>> WriteTxn::FindAudit(int64_t team_id,
                                                               const std::string& public_id) {
  return FindAuditIn(*connection_, team_id, public_id);
}

absl::StatusOr<std::vector<audit::Event>> WriteTxn::AuditEvents(int64_t audit_id,
                                                                int64_t after_seq) {
  return AuditEventsIn(*connection_, audit_id, after_seq);
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
    ASSIGN_OR_RETURN(std::optional<std::string> created, storage->GetSetting("created_by"));
    if (!created.has_value()) RETURN_IF_ERROR(storage->PutSetting("created_by", Version()));
  }
  return storage;
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

absl::StatusOr<std::optional<std::string>> Storage::GetSetting(const std::string& key) {
  absl::MutexLock lock(&mu_);
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
  RETURN_IF_ERROR(stmt->BindText(1, key));
  RETURN_IF_ERROR(stmt->BindText(2, value));
  RETURN_IF_ERROR(stmt->Run());
  return txn.Commit();
}

absl::StatusOr<std::optional<int64_t>> Storage::FindTeam(const std::string& name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare("SELECT id FROM teams WHERE name = ?"));
  RETURN_IF_ERROR(stmt->BindText(1, name));
  return FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); });
}

absl::StatusOr<std::optional<ApiKeyRecord>> Storage::FindApiKeyByHash(const std::string& hash) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare(absl::StrCat("SELECT ", kApiKeyColumns,
                                                                       " WHERE k.hash = ?")));
  RETURN_IF_ERROR(stmt->BindBlob(1, hash));
  return FirstRow<ApiKeyRecord>(stmt, ReadApiKey);
}

absl::StatusOr<std::vector<ApiKeyRecord>> Storage::ListApiKeys(int64_t team_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare(absl::StrCat("SELECT ", kApiKeyColumns,
                                                     " WHERE k.team_id = ? ORDER BY k.id")));
  RETURN_IF_ERROR(stmt->BindInt(1, team_id));
  return Collect<ApiKeyRecord>(stmt, ReadApiKey);
}

absl::StatusOr<std::vector<AuditRecord>> Storage::ListAudits(int64_t team_id, int64_t before_id,
                                                             int limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare(absl::StrCat("SELECT ", kAuditColumns,
                                                     " WHERE team_id = ? AND (? = 0 OR id < ?) "
                                                     "ORDER BY id DESC LIMIT ?")));
  RETURN_IF_ERROR(stmt->BindInt(1, team_id));
  RETURN_IF_ERROR(stmt->BindInt(2, before_id));
  RETURN_IF_ERROR(stmt->BindInt(3, before_id));
  RETURN_IF_ERROR(stmt->BindInt(4, limit));
  return Collect<AuditRecord>(stmt, ReadAudit);
}

absl::StatusOr<std::optional<AuditRecord>> Storage::FindAudit(int64_t team_id,
                                                              const std::string& public_id) {
  absl::MutexLock lock(&mu_);
  return FindAuditIn(*connection_, team_id, public_id);
}

absl::StatusOr<std::vector<audit::Event>> Storage::AuditEvents(int64_t audit_id,
                                                               int64_t after_seq) {
  absl::MutexLock lock(&mu_);
  return AuditEventsIn(*connection_, audit_id, after_seq);
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
