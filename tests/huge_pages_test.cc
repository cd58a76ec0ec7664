// The huge-page hint changes nothing a caller can see but speed: sizes, contents and capacities
// are as without it, for every size and alignment (core/base/huge_pages.h).
#include "core/base/huge_pages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace assay {
namespace {

TEST(HugePagesTest, ReserveKeepsSizeAndContentsAndGivesTheCapacity) {
  for (const size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{3} << 20, size_t{9} << 20}) {
    std::vector<float> v = {1.0f, 2.0f};
    ReserveHugePages(v, n);
    EXPECT_EQ(v.size(), 2u);
    EXPECT_GE(v.capacity(), n);
    EXPECT_EQ(v[0], 1.0f);
    EXPECT_EQ(v[1], 2.0f);
    v.resize(n + 3, 7.0f);  // the advised memory is ordinary memory
    EXPECT_EQ(v.back(), 7.0f);
  }
}

TEST(HugePagesTest, AdviceOnAnyRangeIsHarmless) {
  std::vector<uint8_t> buffer(size_t{20} << 20, 3);
  AdviseHugePages(nullptr, size_t{64} << 20);
  AdviseHugePages(buffer.data(), 0);
  AdviseHugePages(buffer.data() + 1, buffer.size() - 1);  // unaligned: only whole pages inside
  AdviseHugePages(buffer.data() + 4096, size_t{5} << 20);
  for (const uint8_t b : buffer) ASSERT_EQ(b, 3);
}

}  // namespace
}  // namespace assay
