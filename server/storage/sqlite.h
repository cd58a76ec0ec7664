// Thin RAII wrappers over the SQLite C API. This directory (server/storage/) is the only code that
// includes sqlite3.h; everything above it sees absl::Status and plain C++ values.
//
// Error mapping (one place, sqlite.cc: FromSqlite):
//   SQLITE_BUSY / SQLITE_LOCKED (after busy_timeout)     -> Unavailable
//   SQLITE_CORRUPT / SQLITE_NOTADB                       -> DataLoss
//   SQLITE_CONSTRAINT (unique / primary key)             -> AlreadyExists
//   SQLITE_CONSTRAINT (other: foreign key, check, ...)   -> FailedPrecondition
//   SQLITE_CANTOPEN / SQLITE_READONLY / SQLITE_PERM      -> FailedPrecondition
//   SQLITE_FULL / SQLITE_IOERR                           -> Unavailable
//   anything else                                        -> Internal
// Messages carry SQLite's text for operators (logs); the server never forwards them verbatim to
// clients (see server/grpc/status_util.h).
//
// Thread safety: a Connection and its Statements belong to one thread at a time; callers that share
// a Connection serialize access themselves (Storage does, with a mutex).
#ifndef ASSAY_SERVER_STORAGE_SQLITE_H_
#define ASSAY_SERVER_STORAGE_SQLITE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

struct sqlite3;
struct sqlite3_stmt;

namespace assay::storage {

// A prepared statement. Owned by the Connection that prepared it (statements are cached and
// reused); Reset() is called automatically before the next Bind/Step after a completed execution.
class Statement {
 public:
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Bind parameters by 1-based index. InvalidArgument for an index out of range.
  absl::Status BindInt(int index, int64_t value);
  absl::Status BindDouble(int index, double value);
  absl::Status BindText(int index, absl::string_view value);
  absl::Status BindBlob(int index, absl::string_view bytes);
  absl::Status BindNull(int index);

  // A parameter to bind as a BLOB (a string binds as TEXT).
  struct Blob {
    absl::string_view bytes;
  };
  // Binds `values` to parameters 1, 2, ... in order, each by its type: integers, bools and enums as
  // INTEGER, floating point as REAL, strings as TEXT, Blob as BLOB, std::nullopt and an empty
  // optional as NULL (a full one as its value). Stops at the first error.
  template <typename... Values>
  absl::Status Bind(const Values&... values) {
    int index = 0;
    absl::Status status;
    ((status.ok() ? (void)(status = BindOne(++index, values)) : (void)0), ...);
    return status;
  }

  // Advances the statement: true when a row is available, false when done. Errors per the mapping
  // above. After `false` or an error the statement is reset on the next use.
  absl::StatusOr<bool> Step();
  // Runs a statement that returns no rows (INSERT/UPDATE/DELETE/DDL) to completion.
  absl::Status Run();

  // Column accessors for the current row (0-based). Only valid after Step() returned true.
  int64_t ColumnInt(int column) const;
  double ColumnDouble(int column) const;
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;
  bool ColumnIsNull(int column) const;

  // Resets the statement and clears its bindings.
  void Reset();

 private:
  friend class Connection;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  absl::Status BindOne(int index, absl::string_view text) { return BindText(index, text); }
  absl::Status BindOne(int index, const Blob& blob) { return BindBlob(index, blob.bytes); }
  absl::Status BindOne(int index, double value) { return BindDouble(index, value); }
  absl::Status BindOne(int index, float value) { return BindDouble(index, value); }
  absl::Status BindOne(int index, std::nullopt_t) { return BindNull(index); }
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T> || std::is_enum_v<T>>>
  absl::Status BindOne(int index, T value) {
    return BindInt(index, static_cast<int64_t>(value));
  }
  template <typename T>
  absl::Status BindOne(int index, const std::optional<T>& value) {
    return value.has_value() ? BindOne(index, *value) : BindNull(index);
  }
  absl::Status Check(int rc, absl::string_view what) const;
  void ResetIfDone();

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool needs_reset_ = false;
};

struct ConnectionOptions {
  // How long a writer waits for another connection's lock before the call fails with Unavailable.
  absl::Duration busy_timeout = absl::Seconds(5);
  // synchronous=FULL: an acknowledged commit survives power loss (WAL + fsync on commit).
  // NORMAL only loses the last commits on power loss, never on a process crash.
  bool synchronous_full = true;
  // Open read-only (backups, inspection tools).
  bool read_only = false;
};

// An open SQLite database with the house pragmas applied: journal_mode=WAL (skipped for
// ":memory:"), foreign_keys=ON, busy_timeout, synchronous per options.
class Connection {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" gives a private in-memory db.
  // FailedPrecondition if the file cannot be opened or created; DataLoss if it is not a database.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& path,
                                                          const ConnectionOptions& options = {});
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Executes one or more SQL statements with no parameters and no result rows.
  absl::Status Exec(absl::string_view sql);

  // Returns a cached prepared statement for `sql` (compiled once per connection). The pointer stays
  // valid for the connection's lifetime. InvalidArgument for SQL that does not compile.
  absl::StatusOr<Statement*> Prepare(absl::string_view sql);

  // Runs one statement with no parameters and no result rows, compiled once (Prepare): for the
  // hot path (BEGIN, COMMIT, savepoints), where Exec would parse the text on every call.
  absl::Status Run(absl::string_view sql);

  // PRAGMA user_version (the schema version) and its setter.
  absl::StatusOr<int> UserVersion();
  absl::Status SetUserVersion(int version);

  // Copies the whole database into a new file `dest_path` (FailedPrecondition if it exists) in one
  // read transaction of this connection: a consistent snapshot; in WAL mode writers on other
  // connections are not blocked meanwhile.
  absl::Status BackupTo(const std::string& dest_path);

  bool in_transaction() const;
  // Whether a transaction, read or write, is open (e.g. a statement left mid-result): a
  // connection reused for reads must not be, or it would keep reading an old snapshot.
  bool has_open_transaction() const;
  // Rows inserted, updated or deleted on this connection since it opened (sqlite3_total_changes64).
  int64_t total_changes() const;
  const std::string& path() const { return path_; }

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  absl::flat_hash_map<std::string, std::unique_ptr<Statement>> statements_;
};

// A write transaction: BEGIN IMMEDIATE on construction (takes the write lock up front, so a busy
// database fails here with Unavailable rather than half-way through), ROLLBACK in the destructor
// unless Commit() succeeded.
class Transaction {
 public:
  // Unavailable if the write lock cannot be had within busy_timeout.
  static absl::StatusOr<Transaction> Begin(Connection& connection);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  // Commits. On error the transaction is rolled back by the destructor.
  absl::Status Commit();

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}
  Connection* connection_;  // null once committed or moved from
};

// One schema migration: running `sql` on a database at version `version - 1` gives `version`.
struct Migration {
  int version;
  const char* sql;
};

// Brings the database up to the last migration's version, one transaction per migration (a failed
// migration leaves the database at the previous version). `migrations` must be sorted and
// consecutive from 1. FailedPrecondition if the database's schema is newer than the newest
// migration (a newer assayd wrote it); the database is left untouched then.
absl::Status Migrate(Connection& connection, absl::Span<const Migration> migrations);

}  // namespace assay::storage

#endif  // ASSAY_SERVER_STORAGE_SQLITE_H_
