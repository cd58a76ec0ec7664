// The stored form of a model's responses (server/storage/response_rows.h): both formats round-trip
// exactly, the smaller one is chosen, malformed rows are DataLoss, and merging counts changes.
#include "server/storage/response_rows.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace assay::server {
namespace {

std::vector<PackedCell> RandomRow(std::mt19937& rng, int first, int span, double density,
                                  bool binary) {
  std::vector<PackedCell> cells;
  std::bernoulli_distribution observed(density), correct(0.6);
  std::uniform_real_distribution<float> score(0, 1);
  for (int j = first; j < first + span; ++j) {
    if (!observed(rng)) continue;
    cells.push_back(PackedCell{j, binary ? (correct(rng) ? 1.0f : 0.0f) : score(rng), 1.0f});
  }
  return cells;
}

TEST(ResponseRowsTest, DenseBinaryRowsUseBitmapsAndRoundTrip) {
  std::mt19937 rng(7);
  for (const int span : {1, 7, 8, 9, 63, 64, 65, 12032}) {
    for (const double density : {1.0, 0.5}) {
      const std::vector<PackedCell> cells = RandomRow(rng, 3, span, density, true);
      if (cells.empty()) continue;
      const std::string packed = PackRow(cells);
      const size_t bitmap = 14 + 2 * ((cells.back().item - cells.front().item + 1 + 7) / 8);
      EXPECT_EQ(packed.size(), std::min(bitmap, 6 + 8 * cells.size())) << span << " " << density;
      absl::StatusOr<std::vector<PackedCell>> back = UnpackRow(packed);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(*back, cells);
      const size_t width = static_cast<size_t>(cells.back().item) + 1;
      std::vector<float> y(width, -1.0f);
      ASSERT_TRUE(DecodeUnitTrialRow(packed, y.data(), width).ok());
      std::vector<PackedCell> seen;
      for (size_t item = 0; item < width; ++item) {
        if (y[item] >= 0) seen.push_back(PackedCell{static_cast<int32_t>(item), y[item], 1.0f});
      }
      EXPECT_EQ(seen, cells);
      EXPECT_TRUE(absl::IsFailedPrecondition(DecodeUnitTrialRow(packed, y.data(), width - 1)));
    }
  }
  // 2,211 x 12,032 full rows: a quarter byte per cell instead of 8 bytes.
  const std::vector<PackedCell> full = RandomRow(rng, 0, 12032, 1.0, true);
  EXPECT_EQ(PackRow(full).size(), 14u + 2 * 1504);
}

TEST(ResponseRowsTest, SparseScoredAndWeightedRowsUseTheCellList) {
  std::mt19937 rng(8);
  const std::vector<PackedCell> sparse = RandomRow(rng, 0, 12032, 0.01, true);
  EXPECT_EQ(PackRow(sparse).size(), 6 + 8 * sparse.size());
  const std::vector<PackedCell> scored = RandomRow(rng, 0, 500, 1.0, false);
  EXPECT_EQ(PackRow(scored).size(), 6 + 8 * scored.size());
  std::vector<PackedCell> weighted = RandomRow(rng, 0, 500, 1.0, true);
  weighted[10].trials = 5;
  weighted[10].successes = 3;
  const std::string packed = PackRow(weighted);
  EXPECT_EQ(packed.size(), 6 + 12 * weighted.size());
  EXPECT_EQ(*UnpackRow(packed), weighted);
  std::vector<float> y(500);
  EXPECT_TRUE(absl::IsFailedPrecondition(DecodeUnitTrialRow(packed, y.data(), y.size())));
  for (const auto& row : {sparse, scored}) EXPECT_EQ(*UnpackRow(PackRow(row)), row);
  EXPECT_TRUE(UnpackRow(PackRow({}))->empty());
}

TEST(ResponseRowsTest, MalformedRowsAreDataLoss) {
  std::mt19937 rng(9);
  const std::string bitmap = PackRow(RandomRow(rng, 0, 100, 1.0, true));
  const std::string list = PackRow(RandomRow(rng, 0, 100, 1.0, false));
  std::vector<std::string> bad = {"", "x", bitmap.substr(0, bitmap.size() - 1),
                                  list.substr(0, list.size() - 4), list + "abcd"};
  std::string wrong_format = bitmap;
  wrong_format[0] = 3;
  bad.push_back(wrong_format);
  std::string wrong_count = bitmap;
  wrong_count[2] = static_cast<char>(wrong_count[2] + 1);
  bad.push_back(wrong_count);
  std::string unobserved_correct = PackRow({{0, 1, 1}, {2, 0, 1}, {9, 1, 1}});
  ASSERT_EQ(unobserved_correct[0], 2);
  unobserved_correct[14 + 2] = 0x02;  // item 1 correct but not observed
  bad.push_back(unobserved_correct);
  std::string past_span = PackRow({{0, 1, 1}, {2, 0, 1}, {9, 1, 1}});  // span 10: 2 bytes a map
  past_span[14 + 1] = static_cast<char>(past_span[14 + 1] | 0x04);  // observed item 10
  past_span[2] = 4;                                                 // and counted
  bad.push_back(past_span);
  std::vector<float> y(1000);
  for (const std::string& row : bad) {
    EXPECT_TRUE(absl::IsDataLoss(UnpackRow(row).status())) << row.size();
    EXPECT_TRUE(absl::IsDataLoss(DecodeUnitTrialRow(row, y.data(), y.size()))) << row.size();
  }
}

TEST(ResponseRowsTest, MergeUpsertsAndCounts) {
  std::vector<PackedCell> row = {{1, 1, 1}, {3, 0, 1}, {5, 1, 1}};
  const MergeCounts c = MergeRow(row, {{0, 1, 1}, {3, 1, 1}, {5, 1, 1}, {9, 0, 1}});
  EXPECT_EQ(c.added, 2);
  EXPECT_EQ(c.changed, 1);
  EXPECT_EQ(c.unchanged, 1);
  EXPECT_EQ(row, (std::vector<PackedCell>{{0, 1, 1}, {1, 1, 1}, {3, 1, 1}, {5, 1, 1}, {9, 0, 1}}));
}

}  // namespace
}  // namespace assay::server
