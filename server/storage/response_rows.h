// The stored form of a benchmark's responses: one packed row per (benchmark, model) holding that
// model's observed cells sorted by item index. Uploads merge cells into rows (upserts); fits read
// every row.
//
// Encoding (host byte order, like core/base/bytes.h): u8 format (1), u8 flags (bit 0: trials
// present), u32 count, then count × i32 item, count × f32 successes, [count × f32 trials].
// 8 bytes per binary cell, 12 with trials.
#ifndef ASSAY_SERVER_STORAGE_RESPONSE_ROWS_H_
#define ASSAY_SERVER_STORAGE_RESPONSE_ROWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace assay::server {

struct PackedCell {
  int32_t item = 0;
  float successes = 0;
  float trials = 1;
  bool operator==(const PackedCell& o) const {
    return item == o.item && successes == o.successes && trials == o.trials;
  }
};

// `cells` sorted by item, items unique.
std::string PackRow(const std::vector<PackedCell>& cells);
// DataLoss for a malformed row.
absl::StatusOr<std::vector<PackedCell>> UnpackRow(absl::string_view bytes);
// Calls `cell(item, successes)` for each cell of a row whose trials are all 1, in item order,
// without unpacking it, until `cell` returns false. DataLoss for a malformed row;
// FailedPrecondition if the row carries trials (read it with UnpackRow) or `cell` returned false.
absl::Status ForEachUnitTrialCell(absl::string_view bytes,
                                  absl::FunctionRef<bool(int32_t item, float successes)> cell);

struct MergeCounts {
  int64_t added = 0, changed = 0, unchanged = 0;
};
// Upserts `updates` (sorted by item, unique) into `row` (sorted, unique); counts what changed.
MergeCounts MergeRow(std::vector<PackedCell>& row, const std::vector<PackedCell>& updates);

}  // namespace assay::server

#endif  // ASSAY_SERVER_STORAGE_RESPONSE_ROWS_H_
