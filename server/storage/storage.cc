#include "server/storage/storage.h"

#include "core/base/status_macros.h"
#include "core/base/version.h"
#include "server/storage/schema.h"

namespace assay::storage {

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

absl::StatusOr<std::optional<std::string>> Storage::GetSetting(const std::string& key) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT value FROM settings WHERE key=?"));
  RETURN_IF_ERROR(stmt->BindText(1, key));
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  std::optional<std::string> value;
  if (row) value = stmt->ColumnText(0);
  stmt->Reset();
  return value;
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

}  // namespace assay::storage
