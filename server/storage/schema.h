// The database schema as an ordered list of migrations. Append only: never edit a released
// migration; add a new one (its version = previous + 1).
#ifndef ASSAY_SERVER_STORAGE_SCHEMA_H_
#define ASSAY_SERVER_STORAGE_SCHEMA_H_

#include "absl/types/span.h"
#include "server/storage/sqlite.h"

namespace assay::storage {

absl::Span<const Migration> SchemaMigrations();

}  // namespace assay::storage

#endif  // ASSAY_SERVER_STORAGE_SCHEMA_H_
