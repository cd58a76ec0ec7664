// Administration on the server host, straight on the database file (no server needed; safe while
// one runs: SQLite serializes the writers):
//   assayd --db FILE team create NAME            creates a team and prints its first admin key
//   assayd --db FILE key create TEAM --role R    prints a new key of team TEAM with role R
//   assayd --db FILE team limits TEAM [NAME=VALUE ...]
//                                                sets a team's own limits (VALUE 'default'
//                                                returns to the server's), prints them all
//   assayd --db FILE team export TEAM DEST       one team's data, consistently, to a new file
//   assayd --db FILE team import SRC             adds an exported team (moving it between
//                                                shards; server/storage/team_transfer.h)
//   assayd --db FILE backup DEST                 online backup to a new file DEST
#ifndef ASSAY_SERVER_ADMIN_H_
#define ASSAY_SERVER_ADMIN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace assay::server {

struct CreatedKey {
  std::string team;
  std::string role;
  std::string key;  // the secret, shown once
  std::string prefix;
};

// AlreadyExists for a taken team name; InvalidArgument for a bad name (1..100 characters of
// letters, digits, '-', '_', '.').
absl::StatusOr<CreatedKey> CreateTeam(const std::string& db_path, const std::string& name);
// NotFound for an unknown team; InvalidArgument for a bad role.
absl::StatusOr<CreatedKey> CreateKey(const std::string& db_path, const std::string& team,
                                     const std::string& role, const std::string& description);
// A team's limit as the admin command shows it: its own value, or nullopt (the server's default,
// its --team-limit flag).
struct TeamLimitRow {
  std::string name;
  std::optional<double> value;
  std::string help;
};
// Applies `assignments` (ParseLimitAssignment's form) in one transaction, then lists every limit.
// NotFound for an unknown team; InvalidArgument naming a bad assignment (nothing is changed).
// A running server applies the change within its --limits-refresh.
absl::StatusOr<std::vector<TeamLimitRow>> SetTeamLimits(const std::string& db_path,
                                                        const std::string& team,
                                                        const std::vector<std::string>& assignments);
absl::Status BackupDatabase(const std::string& db_path, const std::string& dest_path);

}  // namespace assay::server

#endif  // ASSAY_SERVER_ADMIN_H_
