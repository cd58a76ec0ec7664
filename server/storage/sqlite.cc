#include "server/storage/sqlite.h"

#include <sqlite3.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace assay::storage {
namespace {

absl::Status FromSqlite(sqlite3* db, int rc, absl::string_view what) {
  const int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  const std::string message =
      absl::StrCat(what, ": ", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(absl::StrCat("database is busy: ", message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_CONSTRAINT:
      if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return absl::AlreadyExistsError(message);
      }
      return absl::FailedPreconditionError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::FailedPreconditionError(message);
    case SQLITE_FULL:  // the disk, or the database's size limit (Storage::SetMaxBytes)
      return absl::ResourceExhaustedError(
          "storage full: the database or its disk is full, so this write was not stored (reads "
          "still work; writes succeed again once space is freed or the limit raised)");
    case SQLITE_IOERR:
      return absl::UnavailableError(message);
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace

// ---- Statement ----

Statement::~Statement() { sqlite3_finalize(stmt_); }

absl::Status Statement::Check(int rc, absl::string_view what) const {
  if (rc == SQLITE_OK) return absl::OkStatus();
  return FromSqlite(db_, rc, absl::StrCat(what, " (", sqlite3_sql(stmt_), ")"));
}

void Statement::ResetIfDone() {
  if (needs_reset_) Reset();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  needs_reset_ = false;
}

absl::Status Statement::BindInt(int index, int64_t value) {
  ResetIfDone();
  return Check(sqlite3_bind_int64(stmt_, index, value), "bind");
}

absl::Status Statement::BindDouble(int index, double value) {
  ResetIfDone();
  return Check(sqlite3_bind_double(stmt_, index, value), "bind");
}

absl::Status Statement::BindText(int index, absl::string_view value) {
  ResetIfDone();
  return Check(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      "bind");
}

absl::Status Statement::BindBlob(int index, absl::string_view bytes) {
  ResetIfDone();
  // A zero-length blob must still be a blob, not NULL: pass a non-null pointer.
  static const char kEmpty = 0;
  return Check(sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(),
                                   bytes.size(), SQLITE_TRANSIENT),
               "bind");
}

absl::Status Statement::BindNull(int index) {
  ResetIfDone();
  return Check(sqlite3_bind_null(stmt_, index), "bind");
}

absl::StatusOr<bool> Statement::Step() {
  if (needs_reset_) {
    // A completed or failed execution: start over, keeping the bindings.
    sqlite3_reset(stmt_);
    needs_reset_ = false;
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  needs_reset_ = true;
  if (rc == SQLITE_DONE) return false;
  // sqlite3_step's error code is generic in legacy mode; sqlite3_reset returns the precise one.
  const int precise = sqlite3_reset(stmt_);
  return Check(precise != SQLITE_OK ? precise : rc, "step");
}

absl::Status Statement::Run() {
  ASSIGN_OR_RETURN(bool row, Step());
  while (row) {
    ASSIGN_OR_RETURN(row, Step());
  }
  Reset();
  return absl::OkStatus();
}

int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::ColumnDouble(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::string Statement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  if (blob == nullptr) return std::string();
  return std::string(static_cast<const char*>(blob),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---- Connection ----

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                             const ConnectionOptions& options) {
  sqlite3* db = nullptr;
  const int flags =
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = FromSqlite(db, rc, absl::StrCat("cannot open database '", path, "'"));
    sqlite3_close_v2(db);
    return status;
  }
  std::unique_ptr<Connection> connection(new Connection(db, path));
  sqlite3_busy_timeout(db, static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  // Reading the schema forces SQLite to look at the file: a non-database fails here as DataLoss.
  RETURN_IF_ERROR(connection->Exec("SELECT count(*) FROM sqlite_schema"));
  RETURN_IF_ERROR(connection->Exec("PRAGMA foreign_keys=ON"));
  // Savepoint journals in memory: in a temporary file they cost a system call per page touched.
  RETURN_IF_ERROR(connection->Exec("PRAGMA temp_store=MEMORY"));
  if (!options.read_only && path != ":memory:" && !path.empty()) {
    RETURN_IF_ERROR(connection->Exec("PRAGMA journal_mode=WAL"));
  }
  RETURN_IF_ERROR(connection->Exec(options.synchronous_full ? "PRAGMA synchronous=FULL"
                                                            : "PRAGMA synchronous=NORMAL"));
  return connection;
}

int64_t Connection::total_changes() const { return sqlite3_total_changes64(db_); }

Connection::~Connection() {
  statements_.clear();  // finalize before close
  sqlite3_close_v2(db_);
}

absl::Status Connection::Exec(absl::string_view sql) {
  const std::string text(sql);
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  sqlite3_free(error);  // the same text is available from sqlite3_errmsg
  if (rc == SQLITE_OK) return absl::OkStatus();
  return FromSqlite(db_, rc, "exec");
}

absl::StatusOr<Statement*> Connection::Prepare(absl::string_view sql) {
  std::string key(sql);
  auto it = statements_.find(key);
  if (it != statements_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    absl::Status status = FromSqlite(db_, rc, "prepare");
    if (status.code() == absl::StatusCode::kInternal) {
      return absl::InvalidArgumentError(status.message());  // SQL that does not compile
    }
    return status;
  }
  auto statement = std::unique_ptr<Statement>(new Statement(db_, stmt));
  Statement* raw = statement.get();
  statements_.emplace(std::move(key), std::move(statement));
  return raw;
}

absl::Status Connection::Run(absl::string_view sql) {
  ASSIGN_OR_RETURN(Statement * stmt, Prepare(sql));
  return stmt->Run();
}

absl::StatusOr<int> Connection::UserVersion() {
  ASSIGN_OR_RETURN(Statement * stmt, Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return absl::InternalError("PRAGMA user_version returned no row");
  const int version = static_cast<int>(stmt->ColumnInt(0));
  stmt->Reset();
  return version;
}

absl::Status Connection::SetUserVersion(int version) {
  // PRAGMA takes no bound parameters; `version` is an int, so formatting it is safe.
  return Exec(absl::StrCat("PRAGMA user_version=", version));
}

absl::Status Connection::BackupTo(const std::string& dest_path) {
  if (access(dest_path.c_str(), F_OK) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("backup destination '", dest_path, "' already exists"));
  }
  sqlite3* dest = nullptr;
  int rc =
      sqlite3_open_v2(dest_path.c_str(), &dest,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status =
        FromSqlite(dest, rc, absl::StrCat("cannot create backup '", dest_path, "'"));
    sqlite3_close_v2(dest);
    return status;
  }
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", db_, "main");
  if (backup == nullptr) {
    absl::Status status = FromSqlite(dest, sqlite3_errcode(dest), "backup");
    sqlite3_close_v2(dest);
    return status;
  }
  rc = sqlite3_backup_step(backup, -1);  // every page in one step: one consistent read snapshot
  sqlite3_backup_finish(backup);
  absl::Status status = rc == SQLITE_DONE ? absl::OkStatus() : FromSqlite(dest, rc, "backup");
  const int close_rc = sqlite3_close_v2(dest);
  if (status.ok() && close_rc != SQLITE_OK) status = FromSqlite(nullptr, close_rc, "backup close");
  if (!status.ok()) unlink(dest_path.c_str());
  return status;
}

bool Connection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

bool Connection::has_open_transaction() const {
  return sqlite3_txn_state(db_, nullptr) != SQLITE_TXN_NONE;
}

// ---- Transaction ----

absl::StatusOr<Transaction> Transaction::Begin(Connection& connection) {
  if (connection.in_transaction()) {
    return absl::FailedPreconditionError("a transaction is already open on this connection");
  }
  RETURN_IF_ERROR(connection.Run("BEGIN IMMEDIATE"));
  return Transaction(&connection);
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)) {}

Transaction::~Transaction() {
  if (connection_ != nullptr && connection_->in_transaction()) {
    // Nothing useful to do with a failed rollback here: SQLite rolls back on close anyway.
    connection_->Run("ROLLBACK").IgnoreError();
  }
}

absl::Status Transaction::Commit() {
  if (connection_ == nullptr) return absl::FailedPreconditionError("transaction already finished");
  RETURN_IF_ERROR(connection_->Run("COMMIT"));
  connection_ = nullptr;
  return absl::OkStatus();
}

// ---- Migrations ----

absl::Status Migrate(Connection& connection, absl::Span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return absl::InternalError("migrations must be numbered consecutively from 1");
    }
  }
  const int newest = static_cast<int>(migrations.size());
  ASSIGN_OR_RETURN(int current, connection.UserVersion());
  if (current > newest) {
    return absl::FailedPreconditionError(
        absl::StrCat("database '", connection.path(), "' has schema version ", current,
                     ", newer than this assayd understands (", newest, "); use a newer assayd"));
  }
  for (int v = current + 1; v <= newest; ++v) {
    ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(connection));
    // Re-read inside the write lock: another process may have migrated meanwhile.
    ASSIGN_OR_RETURN(int locked_version, connection.UserVersion());
    if (locked_version >= v) continue;
    absl::Status applied = connection.Exec(migrations[v - 1].sql);
    if (!applied.ok()) {
      return absl::Status(applied.code(),
                          absl::StrCat("migration to schema ", v, " failed: ", applied.message()));
    }
    RETURN_IF_ERROR(connection.SetUserVersion(v));
    RETURN_IF_ERROR(txn.Commit());
  }
  return absl::OkStatus();
}

}  // namespace assay::storage
