// Publication: watchers see every update in order; a watcher that resumes with the sequence number
// of the last update it saw gets exactly what followed (no gap, no repeat) while the history covers
// it, and the current state otherwise; a final update ends the watch; Close drops watchers.
#include "server/resources/live_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace assay::server {
namespace {

struct Recorder : Watcher<int> {
  void Push(const int& message, bool final) override {
    seen.push_back(message);
    ended = ended || final;
  }
  void Drop(absl::string_view reason) override { dropped = std::string(reason); }
  std::vector<int> seen;
  bool ended = false;
  std::string dropped;
};

int Current(const int& view) { return view; }
bool IsFinal(const int& view) { return view >= 1000; }

TEST(PublicationTest, ResumesExactlyAfterTheLastSeenUpdate) {
  Publication<int, int> pub(/*history=*/5);
  pub.Set(10, /*seq=*/10);
  Recorder live;
  ASSERT_TRUE(pub.Watch(&live, Current, IsFinal));
  for (int seq = 11; seq <= 20; ++seq) pub.Publish(seq, seq, false, seq);
  EXPECT_EQ(live.seen, (std::vector<int>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}));

  Recorder resumed;  // saw up to 17: gets 18, 19, 20
  ASSERT_TRUE(pub.Watch(&resumed, Current, IsFinal, 17));
  EXPECT_EQ(resumed.seen, (std::vector<int>{18, 19, 20}));
  Recorder up_to_date;  // saw the current state: gets nothing until the next update
  ASSERT_TRUE(pub.Watch(&up_to_date, Current, IsFinal, 20));
  EXPECT_TRUE(up_to_date.seen.empty());
  pub.Publish(21, 21, false, 21);
  EXPECT_EQ(up_to_date.seen, (std::vector<int>{21}));
  EXPECT_EQ(resumed.seen.back(), 21);

  Recorder too_old;  // 12 is no longer covered by the 5 kept updates: the current state
  ASSERT_TRUE(pub.Watch(&too_old, Current, IsFinal, 12));
  EXPECT_EQ(too_old.seen, (std::vector<int>{21}));
  Recorder from_the_future;  // a sequence the resource never had: the current state
  ASSERT_TRUE(pub.Watch(&from_the_future, Current, IsFinal, 99));
  EXPECT_EQ(from_the_future.seen, (std::vector<int>{21}));

  pub.Publish(1000, 1000, true, 22);  // final: every watcher ends and is forgotten
  EXPECT_TRUE(live.ended && resumed.ended && up_to_date.ended);
  pub.Publish(1001, 1001, true, 23);
  EXPECT_EQ(live.seen.back(), 1000);
  Recorder late;  // a watch of a finished resource gets its final state and ends
  ASSERT_TRUE(pub.Watch(&late, Current, IsFinal, 23));
  EXPECT_EQ(late.seen, (std::vector<int>{1001}));
  EXPECT_TRUE(late.ended);
}

TEST(PublicationTest, ChangeWithoutWatchersRestartsTheHistoryAndCloseDropsWatchers) {
  Publication<int, int> pub;
  pub.Set(0, 0);
  pub.Change([](int& v) { v = 1; }, Current, false, 1);  // no watcher: no history kept
  Recorder resumed;
  ASSERT_TRUE(pub.Watch(&resumed, Current, IsFinal, 0));
  EXPECT_EQ(resumed.seen, (std::vector<int>{1}));  // 0 is not covered: the current state
  pub.Change([](int& v) { v = 2; }, Current, false, 2);
  EXPECT_EQ(resumed.seen, (std::vector<int>{1, 2}));
  Recorder again;
  ASSERT_TRUE(pub.Watch(&again, Current, IsFinal, 1));
  EXPECT_EQ(again.seen, (std::vector<int>{2}));
  pub.Close("reloaded");
  EXPECT_EQ(resumed.dropped, "reloaded");
  Recorder after_close;
  EXPECT_FALSE(pub.Watch(&after_close, Current, IsFinal));
  EXPECT_TRUE(after_close.seen.empty());
}

TEST(PublicationTest, UnwatchedWatcherIsNeverCalledAgain) {
  Publication<int, int> pub;
  pub.Set(0, 0);
  Recorder w;
  ASSERT_TRUE(pub.Watch(&w, Current, IsFinal));
  pub.Unwatch(&w);
  pub.Publish(1, 1, false, 1);
  EXPECT_EQ(w.seen, (std::vector<int>{0}));
}

}  // namespace
}  // namespace assay::server
