// Storage: the one class the server uses to reach its SQLite database. It owns the connection,
// applies the schema migrations on open, and exposes domain operations returning plain C++ values.
// Later features add their operations here; nothing else in the server touches SQL.
//
// Thread safety: all methods are safe to call from any thread; they serialize on one connection.
#ifndef ASSAY_SERVER_STORAGE_STORAGE_H_
#define ASSAY_SERVER_STORAGE_STORAGE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/sqlite.h"

namespace assay::storage {

class Storage {
 public:
  // Opens or creates the database at `path` (":memory:" for a private in-memory one) and migrates
  // it to the current schema. Errors: FailedPrecondition (cannot open; schema newer than this
  // build), DataLoss (not a database / corrupt), Unavailable (locked by another writer too long).
  static absl::StatusOr<std::unique_ptr<Storage>> Open(const std::string& path,
                                                       const ConnectionOptions& options = {});

  // The schema version this build creates and understands.
  static int CurrentSchemaVersion();

  // The database's schema version (equals CurrentSchemaVersion() after a successful Open).
  absl::StatusOr<int> SchemaVersion();

  // Server-wide key/value settings (e.g. the assay version that created the database).
  // GetSetting returns nullopt for an unknown key.
  absl::StatusOr<std::optional<std::string>> GetSetting(const std::string& key);
  absl::Status PutSetting(const std::string& key, const std::string& value);

 private:
  explicit Storage(std::unique_ptr<Connection> connection) : connection_(std::move(connection)) {}

  absl::Mutex mu_;
  std::unique_ptr<Connection> connection_ ABSL_GUARDED_BY(mu_);
};

}  // namespace assay::storage

#endif  // ASSAY_SERVER_STORAGE_STORAGE_H_
