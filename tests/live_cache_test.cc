// LiveCache: the bound on live objects, least-recently-used eviction of idle entries only, and the
// generation check that keeps a raced load from installing a stale state.
#include "server/resources/live_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace assay::server {
namespace {

struct State {
  int value = 0;
};

std::shared_ptr<State> Make(int value) { return std::make_shared<State>(State{value}); }

TEST(LiveCacheTest, EvictsLeastRecentlyUsedIdleEntriesDownToNinetyPercent) {
  LiveCache<State> cache(10);
  for (int i = 0; i < 10; ++i) cache.InsertCreated("s" + std::to_string(i), Make(i));
  ASSERT_EQ(cache.size(), 10u);
  std::shared_ptr<State> held = cache.Find("s0");  // s0 in use (and now most recent)
  ASSERT_NE(cache.Find("s1"), nullptr);            // s1 most recent but idle again
  const int64_t before = cache.generation();
  cache.InsertCreated("s10", Make(10));  // 11 > 10: drop the oldest idle down to 9
  EXPECT_EQ(cache.size(), 9u);
  EXPECT_NE(cache.generation(), before);
  EXPECT_NE(cache.Find("s0"), nullptr);  // held: never evicted
  EXPECT_NE(cache.Find("s1"), nullptr);
  EXPECT_NE(cache.Find("s10"), nullptr);
  EXPECT_EQ(cache.Find("s2"), nullptr);  // the two least recently used idle ones
  EXPECT_EQ(cache.Find("s3"), nullptr);
  EXPECT_NE(cache.Find("s4"), nullptr);
}

TEST(LiveCacheTest, HeldEntriesMayExceedTheBoundUntilReleased) {
  LiveCache<State> cache(2);
  std::shared_ptr<State> a = cache.InsertCreated("a", Make(1));
  std::shared_ptr<State> b = cache.InsertCreated("b", Make(2));
  std::shared_ptr<State> c = cache.InsertCreated("c", Make(3));
  EXPECT_EQ(cache.size(), 3u);  // all in use
  a.reset();
  b.reset();
  c.reset();
  cache.InsertCreated("d", Make(4));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.Find("d"), nullptr);
  EXPECT_NE(cache.Find("c"), nullptr);
}

TEST(LiveCacheTest, ALoadThatRacedADropOrEvictionIsRefused) {
  LiveCache<State> cache(1);
  std::shared_ptr<State> first = cache.InsertCreated("x", Make(1));
  // A loader of "y" starts reading while "x" is written and then dropped after a failed write.
  const int64_t loading = cache.generation();
  cache.Erase("x", first);
  EXPECT_EQ(cache.InsertLoaded("y", Make(7), loading), nullptr);  // what it read may be stale
  EXPECT_EQ(cache.size(), 0u);
  // Read again: accepted.
  std::shared_ptr<State> y = cache.InsertLoaded("y", Make(8), cache.generation());
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->value, 8);
  // An eviction during a load refuses it too; an entry already there wins over a late loader.
  const int64_t again = cache.generation();
  y.reset();
  cache.InsertCreated("z", Make(9));  // evicts idle "y"
  EXPECT_EQ(cache.Find("y"), nullptr);
  EXPECT_EQ(cache.InsertLoaded("y", Make(10), again), nullptr);
  std::shared_ptr<State> z = cache.InsertLoaded("z", Make(11), again);
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(z->value, 9);
}

TEST(LiveCacheTest, FindOrLoadReadsAgainAfterARacedDropAndPassesErrorsOn) {
  LiveCache<State> cache(4);
  std::shared_ptr<State> other = cache.InsertCreated("other", Make(0));
  int loads = 0;
  auto load = [&]() -> absl::StatusOr<std::shared_ptr<State>> {
    ++loads;
    if (loads == 1) cache.Erase("other", other);  // a write elsewhere failed while we read
    return Make(loads);
  };
  absl::StatusOr<std::shared_ptr<State>> got = cache.FindOrLoad("x", load);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(loads, 2);  // the first read was refused
  EXPECT_EQ((*got)->value, 2);
  got = cache.FindOrLoad("x", load);  // held now: no load
  EXPECT_EQ(loads, 2);
  EXPECT_EQ((*got)->value, 2);
  got = cache.FindOrLoad(
      "y", []() -> absl::StatusOr<std::shared_ptr<State>> { return absl::NotFoundError("no y"); });
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(cache.Find("y"), nullptr);
}

TEST(LiveCacheTest, EraseIgnoresAReplacedEntry) {
  LiveCache<State> cache(4);
  std::shared_ptr<State> old = cache.InsertCreated("x", Make(1));
  cache.Erase("x", old);
  std::shared_ptr<State> fresh = cache.InsertLoaded("x", Make(2), cache.generation());
  cache.Erase("x", old);  // a late drop of the old object must not remove the reloaded one
  ASSERT_NE(cache.Find("x"), nullptr);
  EXPECT_EQ(cache.Find("x")->value, 2);
}

}  // namespace
}  // namespace assay::server
