// Storage: Transactions, the read pool, settings; each domain's reads and writes are in its own
// file.
#include "server/storage/storage.h"

#include <algorithm>
#include <tuple>
#include <variant>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/base/version.h"
#include "server/storage/query.h"
#include "server/storage/schema.h"

namespace assay::storage {

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

}  // namespace assay::storage
