// The stored form of a benchmark's responses: one packed row per (benchmark, model) holding that
// model's observed cells sorted by item index. Uploads merge cells into rows (upserts); fits read
// every row.
//
// Encoding (host byte order, like core/base/bytes.h), one of two formats, whichever is smaller
// (PackRow chooses; readers take both):
//   1 (cell list): u8 1, u8 flags (bit 0: trials present), u32 count, then count × i32 item,
//     count × f32 successes, [count × f32 trials]. 8 bytes per cell, 12 with trials.
//   2 (bitmaps, rows of 0/1 outcomes with trials 1): u8 2, u8 0, u32 count, i32 first item,
//     u32 span, then two bitmaps of span bits, least significant bit first: bit k of the first is
//     set where item first + k is observed, of the second where it is correct (a subset of the
//     first). A quarter byte per item of the span: 2,211 full rows of 12,032 items take 6.7 MB
//     where the cell list takes 213 MB.
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

// `cells` sorted by item, items unique, item ≥ 0.
std::string PackRow(const std::vector<PackedCell>& cells);
// PackRow of the 0/1 cells of items first .. first + span − 1 given as bits [offset, offset +
// span) of two bitmaps (bytes, least significant bit first): set in `observed` where observed
// (empty: every item), in `correct` where correct; `count` gets its number of cells. Without a
// PackedCell per cell.
std::string PackBitRow(int32_t first, uint32_t span, absl::string_view observed,
                       absl::string_view correct, size_t offset, uint32_t& count);
// DataLoss for a malformed row.
absl::StatusOr<std::vector<PackedCell>> UnpackRow(absl::string_view bytes);
// Writes each cell of a row whose trials are all 1 to y[item] (other entries untouched).
// DataLoss for a malformed row; FailedPrecondition if the row carries trials or an item ≥ width.
absl::Status DecodeUnitTrialRow(absl::string_view bytes, float* y, size_t width);

struct MergeCounts {
  int64_t added = 0, changed = 0, unchanged = 0;
};
// Upserts `updates` (sorted by item, unique) into `row` (sorted, unique); counts what changed.
MergeCounts MergeRow(std::vector<PackedCell>& row, const std::vector<PackedCell>& updates);

}  // namespace assay::server

#endif  // ASSAY_SERVER_STORAGE_RESPONSE_ROWS_H_
