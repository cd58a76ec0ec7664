#include "server/storage/schema.h"

#include <iterator>

namespace assay::storage {
namespace {

constexpr Migration kMigrations[] = {
    {1, R"sql(
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    )sql"},
};

}  // namespace

absl::Span<const Migration> SchemaMigrations() {
  return absl::MakeConstSpan(kMigrations, std::size(kMigrations));
}

}  // namespace assay::storage
