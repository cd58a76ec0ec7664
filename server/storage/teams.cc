// Storage: Teams, API keys, limits, holdings and stored replies (idempotent retries).
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/storage/query.h"
#include "server/storage/storage.h"

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

}  // namespace

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

absl::StatusOr<int64_t> Reader::CountHolding(Holding what, int64_t team_id) {
  static constexpr const char* kSql[] = {
      "SELECT count(*) FROM audits WHERE team_id = ? AND open = 1",
      "SELECT count(*) FROM cat_sessions WHERE team_id = ? AND open = 1",
      "SELECT count(*) FROM monitors WHERE team_id = ?",
      "SELECT count(*) FROM comparisons WHERE team_id = ? AND open = 1",
      "SELECT count(*) FROM fits WHERE team_id = ? AND state IN (1, 2)",
      "SELECT coalesce(sum(num_cells), 0) FROM benchmarks WHERE team_id = ?",
  };
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare(kSql[static_cast<int>(what)]));
  RETURN_IF_ERROR(stmt->BindInt(1, team_id));
  ASSIGN_OR_RETURN(std::optional<int64_t> n,
                   FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); }));
  return n.value_or(0);
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
