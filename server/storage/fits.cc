// Storage: Fit jobs: records and tables.
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/storage/query.h"
#include "server/storage/storage.h"

namespace assay::storage {
namespace {

FitRecord ReadFit(const Statement& s) {
  FitRecord r;
  r.id = s.ColumnInt(0);
  r.public_id = s.ColumnText(1);
  r.benchmark_id = s.ColumnInt(2);
  r.team_id = s.ColumnInt(3);
  r.version = s.ColumnInt(4);
  r.state = static_cast<int>(s.ColumnInt(5));
  r.record = s.ColumnBlob(6);
  return r;
}

constexpr const char* kFitColumns =
    "id, public_id, benchmark_id, team_id, version, state, record FROM fits";

}  // namespace

absl::Status WriteTxn::InsertFit(FitRecord& r) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare(
                       "INSERT INTO fits(public_id, benchmark_id, team_id, version, state, record) "
                       "VALUES(?, ?, ?, (SELECT COALESCE(MAX(version), 0) + 1 FROM fits WHERE "
                       "benchmark_id = ?2), ?, ?) RETURNING id, version"));
  RETURN_IF_ERROR(
      stmt->Bind(r.public_id, r.benchmark_id, r.team_id, r.state, Statement::Blob{r.record}));
  using IdVersion = std::pair<int64_t, int64_t>;
  const auto read = [](const Statement& s) { return IdVersion(s.ColumnInt(0), s.ColumnInt(1)); };
  ASSIGN_OR_RETURN(std::optional<IdVersion> row, FirstRow<IdVersion>(stmt, read));
  if (row.has_value()) std::tie(r.id, r.version) = *row;
  return absl::OkStatus();
}

absl::Status WriteTxn::UpdateFit(int64_t fit_id, int state, const std::string& record,
                                 const std::optional<std::string>& tables) {
  if (tables.has_value()) {
    return RunWith(*connection_, "UPDATE fits SET state = ?, record = ?, tables = ? WHERE id = ?",
                   {static_cast<int64_t>(state), record, *tables, fit_id});
  }
  return RunWith(*connection_, "UPDATE fits SET state = ?, record = ? WHERE id = ?",
                 {static_cast<int64_t>(state), record, fit_id});
}

absl::StatusOr<std::optional<FitRecord>> Reader::FindFit(int64_t team_id,
                                                         const std::string& public_id) {
  return FindBy<FitRecord>(*connection_, kFitColumns, "public_id = ? AND team_id = ?", &public_id,
                           team_id, ReadFit);
}

absl::StatusOr<std::optional<FitRecord>> Reader::FindFitById(int64_t id) {
  return FindBy<FitRecord>(*connection_, kFitColumns, "id = ?", nullptr, id, ReadFit);
}

absl::StatusOr<std::vector<FitRecord>> Reader::ListFits(int64_t benchmark_id, int64_t before_id,
                                                        int limit) {
  return ListNewest<FitRecord>(*connection_, kFitColumns, "benchmark_id", benchmark_id, before_id,
                               limit, ReadFit);
}

absl::StatusOr<std::vector<FitRecord>> Reader::FitsInState(const std::vector<int>& states) {
  std::vector<FitRecord> out;
  ASSIGN_OR_RETURN(Statement * stmt, connection_->Prepare(absl::StrCat(
                                         "SELECT ", kFitColumns, " WHERE state = ? ORDER BY id")));
  for (int state : states) {
    RETURN_IF_ERROR(stmt->BindInt(1, state));
    ASSIGN_OR_RETURN(std::vector<FitRecord> some, Collect<FitRecord>(stmt, ReadFit));
    out.insert(out.end(), some.begin(), some.end());
  }
  std::sort(out.begin(), out.end(),
            [](const FitRecord& x, const FitRecord& y) { return x.id < y.id; });
  return out;
}

absl::StatusOr<std::optional<std::string>> Reader::FitTables(int64_t fit_id) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT tables FROM fits WHERE id = ? AND tables IS NOT "
                                        "NULL"));
  RETURN_IF_ERROR(stmt->BindInt(1, fit_id));
  return FirstRow<std::string>(stmt, [](const Statement& s) { return s.ColumnBlob(0); });
}

}  // namespace assay::storage
