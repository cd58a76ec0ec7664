// Moving one team between databases (shards): a consistent export of every row the team owns into
// a new database file, and its import into another database.
//
// The export is one read transaction of the source (a snapshot; a running server's writers are
// not blocked). The import adds the rows in one write transaction: row ids are renumbered past the
// target's (every reference moved with them), public ids, key hashes and stored replies are kept,
// so the team's ids, API keys and idempotency keys work unchanged on the target. Both files must
// have this binary's schema. Every table except `settings` holds team data and is covered; a
// table this code does not know makes both refuse (Internal), so a new table cannot be silently
// left behind.
#ifndef ASSAY_SERVER_STORAGE_TEAM_TRANSFER_H_
#define ASSAY_SERVER_STORAGE_TEAM_TRANSFER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace assay::storage {

// Rows copied, per table.
using TransferCounts = std::vector<std::pair<std::string, int64_t>>;

// Writes team `team`'s rows from `db_path` into a new database at `dest_path`
// (FailedPrecondition if it exists). NotFound for an unknown team.
absl::StatusOr<TransferCounts> ExportTeam(const std::string& db_path, const std::string& team,
                                          const std::string& dest_path);

// Adds the team exported in `src_path` to `db_path` (created if missing). AlreadyExists if a team
// of that name, or one of its keys or public ids, is already there; FailedPrecondition if the
// export is not one team of this schema version. Nothing changes on error.
absl::StatusOr<TransferCounts> ImportTeam(const std::string& db_path, const std::string& src_path);

}  // namespace assay::storage

#endif  // ASSAY_SERVER_STORAGE_TEAM_TRANSFER_H_
