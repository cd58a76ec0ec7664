// Storage: Benchmarks: records, models and items, response rows.
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/storage/query.h"
#include "server/storage/storage.h"

namespace assay::storage {
namespace {

BenchmarkRecord ReadBenchmark(const Statement& s) {
  BenchmarkRecord r;
  r.id = s.ColumnInt(0);
  r.public_id = s.ColumnText(1);
  r.team_id = s.ColumnInt(2);
  r.name = s.ColumnText(3);
  r.description = s.ColumnText(4);
  r.created_at = s.ColumnInt(5);
  r.num_cells = s.ColumnInt(6);
  r.current_fit_id = s.ColumnIsNull(7) ? 0 : s.ColumnInt(7);
  r.num_models = s.ColumnInt(8);
  r.num_items = s.ColumnInt(9);
  return r;
}

constexpr const char* kBenchmarkColumns =
    "id, public_id, team_id, name, description, created_at, num_cells, current_fit_id, "
    "num_models, num_items FROM benchmarks";

}  // namespace

absl::Status WriteTxn::InsertBenchmark(BenchmarkRecord& r) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("INSERT INTO benchmarks(public_id, team_id, name, "
                                        "description, created_at) VALUES(?, ?, ?, ?, ?) "
                                        "RETURNING id"));
  RETURN_IF_ERROR(stmt->Bind(r.public_id, r.team_id, r.name, r.description, r.created_at));
  absl::StatusOr<std::optional<int64_t>> id =
      FirstRow<int64_t>(stmt, [](const Statement& s) { return s.ColumnInt(0); });
  if (absl::IsAlreadyExists(id.status())) {
    return absl::AlreadyExistsError(
        absl::StrCat("name: the team already has a benchmark named '", r.name, "'"));
  }
  RETURN_IF_ERROR(id.status());
  r.id = id->value_or(0);
  return absl::OkStatus();
}

absl::Status WriteTxn::InsertEntry(int64_t benchmark_id, EntryKind kind, int64_t idx,
                                   const Entry& entry) {
  return RunWith(*connection_,
                 "INSERT INTO benchmark_entries(benchmark_id, kind, idx, name, tags) "
                 "VALUES(?, ?, ?, CAST(? AS TEXT), CAST(? AS TEXT))",
                 {benchmark_id, static_cast<int64_t>(kind), idx, entry.name, entry.tags});
}

absl::Status WriteTxn::SetItemTags(int64_t benchmark_id, int64_t idx, const std::string& tags) {
  return RunWith(*connection_,
                 "UPDATE benchmark_entries SET tags = CAST(? AS TEXT) WHERE benchmark_id = ? AND "
                 "kind = 1 AND idx = ?",
                 {tags, benchmark_id, idx});
}

absl::Status WriteTxn::PutResponseRow(int64_t benchmark_id, int64_t model_idx,
                                      const std::string& cells) {
  return RunWith(*connection_,
                 "INSERT INTO response_rows(benchmark_id, model_idx, cells) VALUES(?, ?, ?) "
                 "ON CONFLICT(benchmark_id, model_idx) DO UPDATE SET cells = excluded.cells",
                 {benchmark_id, model_idx, cells});
}

absl::Status WriteTxn::SetBenchmarkCounts(int64_t benchmark_id, int64_t num_models,
                                          int64_t num_items, int64_t num_cells) {
  return RunWith(*connection_,
                 "UPDATE benchmarks SET num_models = ?, num_items = ?, num_cells = ? WHERE id = ?",
                 {num_models, num_items, num_cells, benchmark_id});
}

absl::Status WriteTxn::SetCurrentFit(int64_t benchmark_id, int64_t fit_id) {
  return RunWith(*connection_, "UPDATE benchmarks SET current_fit_id = ? WHERE id = ?",
                 {fit_id, benchmark_id});
}

absl::StatusOr<std::optional<BenchmarkRecord>> Reader::FindBenchmark(int64_t team_id,
                                                                     const std::string& public_id) {
  return FindBy<BenchmarkRecord>(*connection_, kBenchmarkColumns, "public_id = ? AND team_id = ?",
                                 &public_id, team_id, ReadBenchmark);
}

absl::StatusOr<std::optional<BenchmarkRecord>> Reader::FindBenchmarkById(int64_t id) {
  return FindBy<BenchmarkRecord>(*connection_, kBenchmarkColumns, "id = ?", nullptr, id,
                                 ReadBenchmark);
}

absl::StatusOr<std::vector<BenchmarkRecord>> Reader::ListBenchmarks(int64_t team_id,
                                                                    int64_t before_id, int limit) {
  return ListNewest<BenchmarkRecord>(*connection_, kBenchmarkColumns, "team_id", team_id, before_id,
                                     limit, ReadBenchmark);
}

absl::StatusOr<std::vector<Entry>> Reader::BenchmarkEntries(int64_t benchmark_id, EntryKind kind) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT idx, name, tags FROM benchmark_entries WHERE "
                                        "benchmark_id = ? AND kind = ? ORDER BY idx"));
  RETURN_IF_ERROR(stmt->Bind(benchmark_id, static_cast<int64_t>(kind)));
  std::vector<Entry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    if (stmt->ColumnInt(0) != static_cast<int64_t>(out.size())) {
      stmt->Reset();
      return absl::DataLossError(
          absl::StrCat("benchmark row ", benchmark_id, ": entry indices are not consecutive"));
    }
    out.push_back(Entry{stmt->ColumnText(1), stmt->ColumnText(2)});
  }
  stmt->Reset();
  return out;
}

absl::Status Reader::ForEachResponseRow(int64_t benchmark_id,
                                        absl::FunctionRef<void(int64_t, const std::string&)> row) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT model_idx, cells FROM response_rows WHERE "
                                        "benchmark_id = ? ORDER BY model_idx"));
  RETURN_IF_ERROR(stmt->BindInt(1, benchmark_id));
  absl::Status status = absl::OkStatus();
  while (status.ok()) {
    absl::StatusOr<bool> more = stmt->Step();
    if (!more.ok()) status = more.status();
    if (!more.ok() || !*more) break;
    row(stmt->ColumnInt(0), stmt->ColumnBlob(1));
  }
  stmt->Reset();
  return status;
}

absl::StatusOr<std::optional<std::string>> Reader::ResponseRow(int64_t benchmark_id,
                                                               int64_t model_idx) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   connection_->Prepare("SELECT cells FROM response_rows WHERE benchmark_id = ? "
                                        "AND model_idx = ?"));
  RETURN_IF_ERROR(stmt->Bind(benchmark_id, model_idx));
  return FirstRow<std::string>(stmt, [](const Statement& s) { return s.ColumnBlob(0); });
}

}  // namespace assay::storage
