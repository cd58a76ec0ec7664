#include "server/admin.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "server/runtime/auth.h"
#include "server/runtime/quotas.h"
#include "server/storage/storage.h"

namespace assay::server {
namespace {

absl::Status CheckTeamName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 100;
  for (char c : name) ok = ok && (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.');
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("team name: 1 to 100 letters, digits, '-', '_' or '.'; got '", name, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CreatedKey> CreateTeam(const std::string& db_path, const std::string& name) {
  RETURN_IF_ERROR(CheckTeamName(name));
  ASSIGN_OR_RETURN(auto storage, storage::Storage::Open(db_path));
  CreatedKey out{name, RoleName(Role::kAdmin), "", ""};
  RETURN_IF_ERROR(storage->Write([&](storage::WriteTxn& txn) -> absl::Status {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    ASSIGN_OR_RETURN(int64_t team_id, txn.InsertTeam(name, now));
    ASSIGN_OR_RETURN(auto created,
                     CreateApiKey(txn, team_id, Role::kAdmin, "first admin key", now));
    out.key = created.first;
    out.prefix = created.second.prefix;
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<CreatedKey> CreateKey(const std::string& db_path, const std::string& team,
                                     const std::string& role, const std::string& description) {
  ASSIGN_OR_RETURN(Role parsed, ParseRole(role));
  ASSIGN_OR_RETURN(auto storage, storage::Storage::Open(db_path));
  ASSIGN_OR_RETURN(std::optional<int64_t> team_id, storage->Reads()->FindTeam(team));
  if (!team_id.has_value()) return absl::NotFoundError(absl::StrCat("no team '", team, "'"));
  CreatedKey out{team, RoleName(parsed), "", ""};
  RETURN_IF_ERROR(storage->Write([&](storage::WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(auto created, CreateApiKey(txn, *team_id, parsed, description,
                                                absl::ToUnixSeconds(absl::Now())));
    out.key = created.first;
    out.prefix = created.second.prefix;
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<TeamLimitRow>> SetTeamLimits(
    const std::string& db_path, const std::string& team,
    const std::vector<std::string>& assignments) {
  std::vector<std::pair<Limit, std::optional<double>>> changes;
  for (const std::string& a : assignments) {
    ASSIGN_OR_RETURN(auto change, ParseLimitAssignment(a));
    changes.push_back(change);
  }
  ASSIGN_OR_RETURN(auto storage, storage::Storage::Open(db_path));
  ASSIGN_OR_RETURN(std::optional<int64_t> team_id, storage->Reads()->FindTeam(team));
  if (!team_id.has_value()) return absl::NotFoundError(absl::StrCat("no team '", team, "'"));
  if (!changes.empty()) {
    RETURN_IF_ERROR(storage->Write([&](storage::WriteTxn& txn) -> absl::Status {
      for (const auto& [limit, value] : changes)
        RETURN_IF_ERROR(txn.SetTeamLimit(*team_id, InfoOf(limit).name, value));
      return absl::OkStatus();
    }));
  }
  ASSIGN_OR_RETURN(auto stored, storage->Reads()->TeamLimits(*team_id));
  std::vector<TeamLimitRow> out;
  for (const LimitInfo& info : AllLimits()) {
    TeamLimitRow row{info.name, std::nullopt, info.help};
    for (const auto& [name, value] : stored) {
      if (name == info.name) row.value = value;
    }
    out.push_back(row);
  }
  return out;
}

absl::Status BackupDatabase(const std::string& db_path, const std::string& dest_path) {
  storage::ConnectionOptions options;
  options.read_only = true;
  ASSIGN_OR_RETURN(auto storage, storage::Storage::Open(db_path, options));
  return storage->Backup(dest_path);
}

}  // namespace assay::server
