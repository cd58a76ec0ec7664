// Query helpers shared by the storage files (one per domain: teams.cc, audits.cc, benchmarks.cc,
// fits.cc, sessions.cc, comparisons.cc, monitors.cc; storage.cc the transactions and the pool).
// Internal to server/storage/.
#ifndef ASSAY_SERVER_STORAGE_QUERY_H_
#define ASSAY_SERVER_STORAGE_QUERY_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/storage/sqlite.h"

namespace assay::storage {

// Steps a query to completion, collecting one value per row.
template <typename T, typename ReadRow>
absl::StatusOr<std::vector<T>> Collect(Statement* stmt, ReadRow read) {
  std::vector<T> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    out.push_back(read(*stmt));
  }
  stmt->Reset();
  return out;
}

// The single row of a query, or nullopt.
template <typename T, typename ReadRow>
absl::StatusOr<std::optional<T>> FirstRow(Statement* stmt, ReadRow read) {
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  std::optional<T> out;
  if (row) out = read(*stmt);
  stmt->Reset();
  return out;
}

// The rows of a step log selected by `stmt` (`seq` first, ORDER BY seq) for `owner_id` (bound
// here), each read by `read`; DataLoss if the seqs are not 1, 2, ... (`noun` names the owner).
template <typename Event, typename Read>
absl::StatusOr<std::vector<Event>> StepLog(Statement* stmt, int64_t owner_id, const char* noun,
                                           Read read) {
  RETURN_IF_ERROR(stmt->BindInt(1, owner_id));
  std::vector<Event> events;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    if (stmt->ColumnInt(0) != static_cast<int64_t>(events.size()) + 1) {
      stmt->Reset();
      return absl::DataLossError(absl::StrCat(noun, " row ", owner_id, ": step log has a gap"));
    }
    events.push_back(read(*stmt));
  }
  stmt->Reset();
  return events;
}

// "SELECT <columns> WHERE <where>" with one text then one integer parameter, or one integer.
template <typename T, typename ReadRow>
absl::StatusOr<std::optional<T>> FindBy(Connection& c, const char* columns, const char* where,
                                        const std::string* text, int64_t number, ReadRow read) {
  ASSIGN_OR_RETURN(Statement * stmt, c.Prepare(absl::StrCat("SELECT ", columns, " WHERE ", where)));
  int index = 1;
  if (text != nullptr) RETURN_IF_ERROR(stmt->BindText(index++, *text));
  RETURN_IF_ERROR(stmt->BindInt(index, number));
  return FirstRow<T>(stmt, read);
}

// "SELECT <columns> WHERE <owner_column> = owner AND id < before_id" (0: no bound), newest first,
// at most `limit`.
template <typename T, typename ReadRow>
absl::StatusOr<std::vector<T>> ListNewest(Connection& c, const char* columns,
                                          const char* owner_column, int64_t owner,
                                          int64_t before_id, int limit, ReadRow read) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   c.Prepare(absl::StrCat("SELECT ", columns, " WHERE ", owner_column,
                                          " = ?1 AND (?2 = 0 OR id < ?2) ORDER BY id DESC "
                                          "LIMIT ?3")));
  RETURN_IF_ERROR(stmt->Bind(owner, before_id, limit));
  return Collect<T>(stmt, read);
}

// Runs an UPDATE/INSERT with the given parameters (int64_t, double or text/blob strings).
inline absl::Status RunWith(Connection& c, const char* sql,
                            std::initializer_list<std::variant<int64_t, std::string>> params) {
  ASSIGN_OR_RETURN(Statement * stmt, c.Prepare(sql));
  int index = 1;
  for (const auto& p : params) {
    if (const int64_t* i = std::get_if<int64_t>(&p)) {
      RETURN_IF_ERROR(stmt->BindInt(index++, *i));
    } else {
      RETURN_IF_ERROR(stmt->BindBlob(index++, std::get<std::string>(p)));
    }
  }
  return stmt->Run();
}

}  // namespace assay::storage

#endif  // ASSAY_SERVER_STORAGE_QUERY_H_
