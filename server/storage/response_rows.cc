#include "server/storage/response_rows.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace assay::server {
namespace {
constexpr uint8_t kCellList = 1;
constexpr uint8_t kBitmaps = 2;
constexpr size_t kListHeader = 6;     // format, flags, count
constexpr size_t kBitmapHeader = 14;  // format, flags, count, first, span

size_t BitmapBytes(uint64_t span) { return static_cast<size_t>((span + 7) / 8); }

// A packed row parsed and checked, not yet decoded. DataLoss if malformed.
struct RowView {
  uint8_t format = kCellList;
  uint32_t n = 0;
  bool with_trials = false;       // format 1
  const char* body = nullptr;     // format 1: the items; format 2: the observed bitmap
  int32_t first = 0;              // format 2
  uint32_t span = 0;              // format 2
  const char* correct = nullptr;  // format 2: the second bitmap
};

absl::StatusOr<RowView> Parse(absl::string_view bytes) {
  RowView v;
  if (bytes.size() < kListHeader) return absl::DataLossError("response row: bad header");
  v.format = static_cast<uint8_t>(bytes[0]);
  const uint8_t flags = static_cast<uint8_t>(bytes[1]);
  std::memcpy(&v.n, bytes.data() + 2, 4);
  if (v.format == kCellList && (flags & ~1u) == 0) {
    v.with_trials = flags == 1;
    v.body = bytes.data() + kListHeader;
    if (bytes.size() != kListHeader + static_cast<size_t>(v.n) * (v.with_trials ? 12 : 8)) {
      return absl::DataLossError(
          absl::StrCat("response row: ", bytes.size(), " bytes for ", v.n, " cells"));
    }
    return v;
  }
  if (v.format != kBitmaps || flags != 0 || bytes.size() < kBitmapHeader) {
    return absl::DataLossError("response row: bad header");
  }
  std::memcpy(&v.first, bytes.data() + 6, 4);
  std::memcpy(&v.span, bytes.data() + 10, 4);
  const size_t width = BitmapBytes(v.span);
  if (v.first < 0 || bytes.size() != kBitmapHeader + 2 * width ||
      static_cast<uint64_t>(v.first) + v.span > (uint64_t{1} << 31)) {
    return absl::DataLossError(absl::StrCat("response row: ", bytes.size(), " bytes for a span of ",
                                            v.span, " items from ", v.first));
  }
  v.body = bytes.data() + kBitmapHeader;
  v.correct = v.body + width;
  if (v.span % 8 != 0) {  // bits past the span (readers write 64 items a step) must be clear
    const unsigned tail = ~((1u << (v.span % 8)) - 1) & 0xffu;
    if ((static_cast<uint8_t>(v.body[width - 1]) & tail) != 0 ||
        (static_cast<uint8_t>(v.correct[width - 1]) & tail) != 0) {
      return absl::DataLossError("response row: bits set past the span");
    }
  }
  uint64_t count = 0;
  for (size_t b = 0; b < width; ++b) {
    const auto seen = static_cast<uint8_t>(v.body[b]);
    const auto right = static_cast<uint8_t>(v.correct[b]);
    if ((right & ~seen) != 0) return absl::DataLossError("response row: a correct cell unobserved");
    count += static_cast<uint64_t>(__builtin_popcount(seen));
  }
  if (count != v.n) {
    return absl::DataLossError(
        absl::StrCat("response row: ", count, " observed bits for ", v.n, " cells"));
  }
  return v;
}

// Calls `word(first_item, seen, right)` for each 64 items of a format-2 row's span, in order:
// bit b of `seen` is set where item first_item + b is observed, of `right` where it is correct.
// Stops (returning false) when `word` returns false.
template <typename Word>
bool ForEachWord(const RowView& v, Word&& word) {
  const size_t width = BitmapBytes(v.span);
  for (size_t w = 0; w < width; w += 8) {
    uint64_t seen = 0, right = 0;
    const size_t take = std::min<size_t>(8, width - w);
    std::memcpy(&seen, v.body + w, take);
    std::memcpy(&right, v.correct + w, take);
    if (!word(v.first + static_cast<int32_t>(8 * w), seen, right)) return false;
  }
  return true;
}

// Calls `cell(item, y)` for each cell of a format-2 row in item order until it returns false;
// returns whether it went through every cell.
template <typename Cell>
bool ForEachBit(const RowView& v, Cell&& cell) {
  return ForEachWord(v, [&](int32_t first, uint64_t seen, uint64_t right) {
    for (; seen != 0; seen &= seen - 1) {
      const int bit = __builtin_ctzll(seen);
      if (!cell(first + bit, static_cast<float>((right >> bit) & 1))) return false;
    }
    return true;
  });
}

// As ForEachBit, for either format of a row without trials (checked by the caller).
template <typename Cell>
bool ForEachUnitCell(const RowView& v, Cell&& cell) {
  if (v.format == kBitmaps) return ForEachBit(v, cell);
  const char* items = v.body;
  const char* successes = items + 4 * static_cast<size_t>(v.n);
  for (size_t k = 0; k < v.n; ++k) {
    int32_t item;
    float y;
    std::memcpy(&item, items + 4 * k, 4);
    std::memcpy(&y, successes + 4 * k, 4);
    if (!cell(item, y)) return false;
  }
  return true;
}
}  // namespace

std::string PackRow(const std::vector<PackedCell>& cells) {
  bool with_trials = false, binary = !cells.empty();
  for (const PackedCell& c : cells) {
    with_trials |= c.trials != 1.0f;
    binary &= c.successes == 0.0f || c.successes == 1.0f;
  }
  const uint32_t n = static_cast<uint32_t>(cells.size());
  const size_t list_bytes = kListHeader + static_cast<size_t>(n) * (with_trials ? 12 : 8);
  if (binary && !with_trials) {
    const int32_t first = cells.front().item;
    const uint32_t span = static_cast<uint32_t>(cells.back().item - first) + 1;
    const size_t width = BitmapBytes(span);
    if (kBitmapHeader + 2 * width < list_bytes) {
      std::string out(kBitmapHeader + 2 * width, '\0');
      out[0] = static_cast<char>(kBitmaps);
      std::memcpy(&out[2], &n, 4);
      std::memcpy(&out[6], &first, 4);
      std::memcpy(&out[10], &span, 4);
      char* seen = &out[kBitmapHeader];
      char* right = seen + width;
      for (const PackedCell& c : cells) {
        const uint32_t k = static_cast<uint32_t>(c.item - first);
        const char bit = static_cast<char>(1u << (k % 8));
        seen[k / 8] = static_cast<char>(seen[k / 8] | bit);
        if (c.successes == 1.0f) right[k / 8] = static_cast<char>(right[k / 8] | bit);
      }
      return out;
    }
  }
  std::string out(list_bytes, '\0');
  out[0] = static_cast<char>(kCellList);
  out[1] = static_cast<char>(with_trials ? 1 : 0);
  std::memcpy(&out[2], &n, 4);
  char* items = &out[kListHeader];
  char* successes = items + 4 * n;
  char* trials = successes + 4 * n;
  for (size_t k = 0; k < n; ++k) {
    std::memcpy(items + 4 * k, &cells[k].item, 4);
    std::memcpy(successes + 4 * k, &cells[k].successes, 4);
    if (with_trials) std::memcpy(trials + 4 * k, &cells[k].trials, 4);
  }
  return out;
}

namespace {
// Bits [offset, offset + count) of `src` (LSB first), as bytes of which the last is zero-padded.
std::string CopyBits(absl::string_view src, size_t offset, size_t count) {
  std::string out(BitmapBytes(count), '\0');
  const size_t shift = offset % 8;
  const char* from = src.data() + offset / 8;
  const size_t available = src.size() - offset / 8;  // bytes readable from `from`
  for (size_t w = 0; 8 * w < out.size(); ++w) {      // 64 output bits a step
    uint64_t lo = 0;
    uint8_t next = 0;
    const size_t at = 8 * w;
    std::memcpy(&lo, from + at, std::min<size_t>(8, available - at));
    if (at + 8 < available) next = static_cast<uint8_t>(from[at + 8]);
    const uint64_t bits = shift == 0 ? lo : (lo >> shift) | (uint64_t{next} << (64 - shift));
    std::memcpy(&out[at], &bits, std::min<size_t>(8, out.size() - at));
  }
  if (count % 8 != 0) out.back() = static_cast<char>(out.back() & ((1u << (count % 8)) - 1));
  return out;
}
}  // namespace

std::string PackBitRow(int32_t first, uint32_t span, absl::string_view observed,
                       absl::string_view correct, size_t offset, uint32_t& count) {
  std::string seen =
      observed.empty() ? std::string(BitmapBytes(span), '\xff') : CopyBits(observed, offset, span);
  if (observed.empty() && span % 8 != 0) seen.back() = static_cast<char>((1u << (span % 8)) - 1);
  uint32_t n = 0;
  for (const char byte : seen)
    n += static_cast<uint32_t>(__builtin_popcount(static_cast<uint8_t>(byte)));
  count = n;
  std::string out(kBitmapHeader, '\0');
  out[0] = static_cast<char>(kBitmaps);
  std::memcpy(&out[2], &n, 4);
  std::memcpy(&out[6], &first, 4);
  std::memcpy(&out[10], &span, 4);
  out += seen;
  out += CopyBits(correct, offset, span);
  if (kListHeader + 8 * static_cast<size_t>(n) <= out.size()) {
    return PackRow(*UnpackRow(out));  // sparse: the cell list is smaller (as PackRow decides)
  }
  return out;
}

absl::StatusOr<std::vector<PackedCell>> UnpackRow(absl::string_view bytes) {
  ASSIGN_OR_RETURN(const RowView v, Parse(bytes));
  std::vector<PackedCell> cells(v.n);
  if (v.format == kBitmaps) {
    size_t k = 0;
    ForEachBit(v, [&](int32_t item, float y) {
      cells[k++] = PackedCell{item, y, 1.0f};
      return true;
    });
    return cells;
  }
  const char* items = v.body;
  const char* successes = items + 4 * static_cast<size_t>(v.n);
  const char* trials = successes + 4 * static_cast<size_t>(v.n);
  for (size_t k = 0; k < v.n; ++k) {
    std::memcpy(&cells[k].item, items + 4 * k, 4);
    std::memcpy(&cells[k].successes, successes + 4 * k, 4);
    if (v.with_trials) std::memcpy(&cells[k].trials, trials + 4 * k, 4);
  }
  return cells;
}

absl::Status DecodeUnitTrialRow(absl::string_view bytes, float* y, size_t width) {
  ASSIGN_OR_RETURN(const RowView v, Parse(bytes));
  if (v.with_trials) return absl::FailedPreconditionError("response row: carries trials");
  const auto beyond = [width] {
    return absl::FailedPreconditionError(
        absl::StrCat("response row: an item beyond the ", width, " known"));
  };
  if (v.format == kBitmaps) {  // 64 items a step; a fully observed word without a branch per bit
    if (v.n == 0) return absl::OkStatus();
    if (static_cast<uint64_t>(v.first) + v.span > width) return beyond();
    ForEachWord(v, [y](int32_t first, uint64_t seen, uint64_t right) {
      float* at = y + first;
      if (seen == ~uint64_t{0}) {
        for (int bit = 0; bit < 64; ++bit) at[bit] = static_cast<float>((right >> bit) & 1);
        return true;
      }
      for (; seen != 0; seen &= seen - 1) {
        const int bit = __builtin_ctzll(seen);
        at[bit] = static_cast<float>((right >> bit) & 1);
      }
      return true;
    });
    return absl::OkStatus();
  }
  if (!ForEachUnitCell(v, [&](int32_t item, float value) {
        if (item < 0 || static_cast<size_t>(item) >= width) return false;
        y[item] = value;
        return true;
      })) {
    return beyond();
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
