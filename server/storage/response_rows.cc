#include "server/storage/response_rows.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace assay::server {
namespace {
constexpr uint8_t kFormat = 1;
constexpr size_t kHeader = 6;

// A packed row's header: its cell count and whether it carries trials. DataLoss if malformed.
struct RowHeader {
  uint32_t n = 0;
  bool with_trials = false;
};
absl::StatusOr<RowHeader> ReadHeader(absl::string_view bytes) {
  RowHeader h;
  if (bytes.size() < kHeader || static_cast<uint8_t>(bytes[0]) != kFormat ||
      (static_cast<uint8_t>(bytes[1]) & ~1u) != 0) {
    return absl::DataLossError("response row: bad header");
  }
  std::memcpy(&h.n, bytes.data() + 2, 4);
  h.with_trials = bytes[1] == 1;
  if (bytes.size() != kHeader + static_cast<size_t>(h.n) * (h.with_trials ? 12 : 8)) {
    return absl::DataLossError(
        absl::StrCat("response row: ", bytes.size(), " bytes for ", h.n, " cells"));
  }
  return h;
}
}  // namespace

std::string PackRow(const std::vector<PackedCell>& cells) {
  bool with_trials = false;
  for (const PackedCell& c : cells) with_trials |= c.trials != 1.0f;
  const uint32_t n = static_cast<uint32_t>(cells.size());
  std::string out(kHeader + n * (with_trials ? 12 : 8), '\0');
  out[0] = static_cast<char>(kFormat);
  out[1] = static_cast<char>(with_trials ? 1 : 0);
  std::memcpy(&out[2], &n, 4);
  char* items = &out[kHeader];
  char* successes = items + 4 * n;
  char* trials = successes + 4 * n;
  for (uint32_t k = 0; k < n; ++k) {
    std::memcpy(items + 4 * k, &cells[k].item, 4);
    std::memcpy(successes + 4 * k, &cells[k].successes, 4);
    if (with_trials) std::memcpy(trials + 4 * k, &cells[k].trials, 4);
  }
  return out;
}

absl::StatusOr<std::vector<PackedCell>> UnpackRow(absl::string_view bytes) {
  ASSIGN_OR_RETURN(const RowHeader h, ReadHeader(bytes));
  const uint32_t n = h.n;
  const bool with_trials = h.with_trials;
  std::vector<PackedCell> cells(n);
  const char* items = bytes.data() + kHeader;
  const char* successes = items + 4 * static_cast<size_t>(n);
  const char* trials = successes + 4 * static_cast<size_t>(n);
  for (uint32_t k = 0; k < n; ++k) {
    std::memcpy(&cells[k].item, items + 4 * k, 4);
    std::memcpy(&cells[k].successes, successes + 4 * k, 4);
    if (with_trials) std::memcpy(&cells[k].trials, trials + 4 * k, 4);
  }
  return cells;
}

absl::Status ForEachUnitTrialCell(absl::string_view bytes,
                                  absl::FunctionRef<bool(int32_t item, float successes)> cell) {
  ASSIGN_OR_RETURN(const RowHeader h, ReadHeader(bytes));
  if (h.with_trials) return absl::FailedPreconditionError("response row: carries trials");
  const char* items = bytes.data() + kHeader;
  const char* successes = items + 4 * static_cast<size_t>(h.n);
  for (uint32_t k = 0; k < h.n; ++k) {
    int32_t item;
    float y;
    std::memcpy(&item, items + 4 * k, 4);
    std::memcpy(&y, successes + 4 * k, 4);
    if (!cell(item, y)) return absl::FailedPreconditionError("response row: cell refused");
  }
  return absl::OkStatus();
}

MergeCounts MergeRow(std::vector<PackedCell>& row, const std::vector<PackedCell>& updates) {
  MergeCounts counts;
  std::vector<PackedCell> merged;
  merged.reserve(row.size() + updates.size());
  size_t i = 0, j = 0;
  while (i < row.size() || j < updates.size()) {
    if (j == updates.size() || (i < row.size() && row[i].item < updates[j].item)) {
      merged.push_back(row[i++]);
    } else if (i == row.size() || updates[j].item < row[i].item) {
      merged.push_back(updates[j++]);
      ++counts.added;
    } else {
      ++(row[i] == updates[j] ? counts.unchanged : counts.changed);
      merged.push_back(updates[j++]);
      ++i;
    }
  }
  row = std::move(merged);
  return counts;
}

}  // namespace assay::server
