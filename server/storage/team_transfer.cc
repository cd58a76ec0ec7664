#include "server/storage/team_transfer.h"

#include <unistd.h>

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/base/status_macros.h"
#include "server/storage/sqlite.h"
#include "server/storage/storage.h"

namespace assay::storage {
namespace {

// Every table of team data, parents before children, and which of its rows belong to team ?1
// ("$" is the schema the rows are read from).
struct TableRule {
  const char* table;
  const char* rows;
};
constexpr TableRule kTables[] = {
    {"teams", "id = ?1"},
    {"api_keys", "team_id = ?1"},
    {"request_ids", "team_id = ?1"},
    {"team_limits", "team_id = ?1"},
    {"audits", "team_id = ?1"},
    {"audit_events", "audit_id IN (SELECT id FROM $.audits WHERE team_id = ?1)"},
    {"benchmarks", "team_id = ?1"},
    {"benchmark_entries", "benchmark_id IN (SELECT id FROM $.benchmarks WHERE team_id = ?1)"},
    {"response_rows", "benchmark_id IN (SELECT id FROM $.benchmarks WHERE team_id = ?1)"},
    {"fits", "team_id = ?1"},
    {"cat_sessions", "team_id = ?1"},
    {"cat_events", "session_id IN (SELECT id FROM $.cat_sessions WHERE team_id = ?1)"},
    {"monitors", "team_id = ?1"},
    {"monitor_scores", "monitor_id IN (SELECT id FROM $.monitors WHERE team_id = ?1)"},
    {"comparisons", "team_id = ?1"},
    {"compare_events", "comparison_id IN (SELECT id FROM $.comparisons WHERE team_id = ?1)"},
};
// Columns that hold another table's row id.
const absl::flat_hash_map<std::string, std::string>& References() {
  static const auto* refs = new absl::flat_hash_map<std::string, std::string>{
      {"team_id", "teams"},           {"audit_id", "audits"},
      {"benchmark_id", "benchmarks"}, {"fit_id", "fits"},
      {"current_fit_id", "fits"},     {"session_id", "cat_sessions"},
      {"monitor_id", "monitors"},     {"comparison_id", "comparisons"}};
  return *refs;
}

std::string Rows(const TableRule& rule, const char* schema) {
  return absl::StrReplaceAll(rule.rows, {{"$", schema}});
}

absl::StatusOr<int64_t> One(Connection& c, const std::string& sql, int64_t bind = 0) {
  ASSIGN_OR_RETURN(Statement * stmt, c.Prepare(sql));
  if (sql.find("?1") != std::string::npos) RETURN_IF_ERROR(stmt->BindInt(1, bind));
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  const int64_t value = row ? stmt->ColumnInt(0) : 0;
  stmt->Reset();
  return value;
}

absl::StatusOr<std::vector<std::string>> Columns(Connection& c, const char* schema,
                                                 const char* table) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   c.Prepare(absl::StrCat("PRAGMA ", schema, ".table_info(", table, ")")));
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    out.push_back(stmt->ColumnText(1));
  }
  stmt->Reset();
  return out;
}

// Internal unless the tables of `schema` are exactly kTables plus `settings`.
absl::Status CheckCoverage(Connection& c, const char* schema) {
  absl::flat_hash_set<std::string> known = {"settings"};
  for (const TableRule& rule : kTables) known.insert(rule.table);
  ASSIGN_OR_RETURN(Statement * stmt,
                   c.Prepare(absl::StrCat("SELECT name FROM ", schema,
                                          ".sqlite_master WHERE type = 'table' AND name NOT "
                                          "LIKE 'sqlite_%'")));
  std::vector<std::string> unknown;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    if (!known.contains(stmt->ColumnText(0))) unknown.push_back(stmt->ColumnText(0));
  }
  stmt->Reset();
  if (!unknown.empty()) {
    return absl::InternalError(absl::StrCat("team transfer does not cover table(s) ",
                                            absl::StrJoin(unknown, ", ")));
  }
  return absl::OkStatus();
}

absl::Status CheckVersion(Connection& c, const char* schema, const std::string& path) {
  ASSIGN_OR_RETURN(int64_t version, One(c, absl::StrCat("PRAGMA ", schema, ".user_version")));
  if (version != Storage::CurrentSchemaVersion()) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' has schema version ", version, "; this assayd's is ",
                     Storage::CurrentSchemaVersion(), " (open it with this assayd first)"));
  }
  return absl::OkStatus();
}

// A transaction that only the attached file is written in: BEGIN (deferred), so that reading the
// live database takes no write lock on it.
absl::StatusOr<TransferCounts> InDeferredTransaction(
    Connection& c, absl::FunctionRef<absl::StatusOr<TransferCounts>()> body) {
  RETURN_IF_ERROR(c.Exec("BEGIN"));
  absl::StatusOr<TransferCounts> out = body();
  if (out.ok()) {
    const absl::Status committed = c.Exec("COMMIT");
    if (committed.ok()) return out;
    out = committed;
  }
  c.Exec("ROLLBACK").IgnoreError();
  return out;
}

}  // namespace

absl::StatusOr<TransferCounts> ExportTeam(const std::string& db_path, const std::string& team,
                                          const std::string& dest_path) {
  if (access(dest_path.c_str(), F_OK) == 0) {
    return absl::FailedPreconditionError(absl::StrCat("'", dest_path, "' already exists"));
  }
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Storage> created, Storage::Open(dest_path));  // the schema
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Connection::Open(db_path));
  RETURN_IF_ERROR(CheckVersion(*c, "main", db_path));
  RETURN_IF_ERROR(CheckCoverage(*c, "main"));
  ASSIGN_OR_RETURN(Statement * attach, c->Prepare("ATTACH DATABASE ?1 AS export"));
  RETURN_IF_ERROR(attach->BindText(1, dest_path));
  RETURN_IF_ERROR(attach->Run());
  return InDeferredTransaction(*c, [&]() -> absl::StatusOr<TransferCounts> {
    ASSIGN_OR_RETURN(Statement * find, c->Prepare("SELECT id FROM main.teams WHERE name = ?1"));
    RETURN_IF_ERROR(find->BindText(1, team));
    ASSIGN_OR_RETURN(bool found, find->Step());
    const int64_t team_id = found ? find->ColumnInt(0) : 0;
    find->Reset();
    if (!found) return absl::NotFoundError(absl::StrCat("no team '", team, "'"));
    RETURN_IF_ERROR(c->Exec("DELETE FROM export.settings"));
    TransferCounts counts;
    for (const TableRule& rule : kTables) {
      ASSIGN_OR_RETURN(Statement * copy,
                       c->Prepare(absl::StrCat("INSERT INTO export.", rule.table, " SELECT * FROM main.",
                                               rule.table, " WHERE ", Rows(rule, "main"))));
      RETURN_IF_ERROR(copy->BindInt(1, team_id));
      const int64_t before = c->total_changes();
      RETURN_IF_ERROR(copy->Run());
      counts.emplace_back(rule.table, c->total_changes() - before);
    }
    return counts;
  });
}

absl::StatusOr<TransferCounts> ImportTeam(const std::string& db_path,
                                          const std::string& src_path) {
  if (access(src_path.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read '", src_path, "'"));
  }
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Storage> target, Storage::Open(db_path));  // migrated
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Connection::Open(db_path));
  ASSIGN_OR_RETURN(Statement * attach, c->Prepare("ATTACH DATABASE ?1 AS import"));
  RETURN_IF_ERROR(attach->BindText(1, src_path));
  RETURN_IF_ERROR(attach->Run());
  RETURN_IF_ERROR(CheckVersion(*c, "import", src_path));
  RETURN_IF_ERROR(CheckCoverage(*c, "main"));
  ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*c));
  ASSIGN_OR_RETURN(int64_t teams, One(*c, "SELECT count(*) FROM import.teams"));
  if (teams != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", src_path, "' holds ", teams, " teams; an export holds one"));
  }
  ASSIGN_OR_RETURN(int64_t taken, One(*c, "SELECT count(*) FROM main.teams WHERE name IN "
                                          "(SELECT name FROM import.teams)"));
  if (taken > 0) {
    return absl::AlreadyExistsError("a team of that name already exists in the target database");
  }
  // New row id = old + the target's largest id of that table (ids stay unique and in order).
  absl::flat_hash_map<std::string, int64_t> offset;
  for (const TableRule& rule : kTables) {
    ASSIGN_OR_RETURN(std::vector<std::string> columns, Columns(*c, "main", rule.table));
    if (std::find(columns.begin(), columns.end(), "id") == columns.end()) continue;
    ASSIGN_OR_RETURN(offset[rule.table],
                     One(*c, absl::StrCat("SELECT coalesce(max(id), 0) FROM main.", rule.table)));
  }
  TransferCounts counts;
  for (const TableRule& rule : kTables) {
    ASSIGN_OR_RETURN(std::vector<std::string> columns, Columns(*c, "main", rule.table));
    std::vector<std::string> values;
    for (const std::string& column : columns) {
      auto ref = References().find(column);
      const std::string target = column == "id"                ? rule.table
                                 : ref != References().end() ? ref->second
                                                             : "";
      values.push_back(target.empty() ? column : absl::StrCat(column, " + ", offset[target]));
    }
    const int64_t before = c->total_changes();
    const absl::Status copied = c->Exec(absl::StrCat(
        "INSERT INTO main.", rule.table, "(", absl::StrJoin(columns, ", "), ") SELECT ",
        absl::StrJoin(values, ", "), " FROM import.", rule.table));
    if (absl::IsAlreadyExists(copied)) {
      return absl::AlreadyExistsError(absl::StrCat(
          rule.table, ": a row of the export (a key, or a public id) already exists in the target"));
    }
    RETURN_IF_ERROR(copied);
    counts.emplace_back(rule.table, c->total_changes() - before);
  }
  RETURN_IF_ERROR(txn.Commit());
  return counts;
}

}  // namespace assay::storage
