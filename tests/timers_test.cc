// Timers (server/runtime/timers.h): callbacks run once each, not before their time, in order of
// time; Shutdown runs the ones still waiting at once; after it, RunAt runs on the caller.
#include "server/runtime/timers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace assay::server {
namespace {

TEST(TimersTest, RunsEachCallbackOnceNotBeforeItsTimeInOrderOfTime) {
  Timers timers;
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<absl::Duration> late;  // how long after its time each ran
  absl::Notification all_ran;
  const absl::Time start = absl::Now();
  // Added out of order; two due at the same time run in the order added.
  for (int k : {3, 1, 2, 4, 0}) {
    const absl::Time when = start + absl::Milliseconds(k == 4 ? 60 : 20 * k);
    timers.RunAt(when, [&, k, when] {
      absl::MutexLock lock(&mu);
      order.push_back(k);
      late.push_back(absl::Now() - when);
      if (order.size() == 5) all_ran.Notify();
    });
  }
  ASSERT_TRUE(all_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(order, ::testing::ElementsAre(0, 1, 2, 3, 4));
  for (absl::Duration d : late) EXPECT_GE(d, absl::ZeroDuration());
  EXPECT_EQ(timers.waiting(), 0u);
}

TEST(TimersTest, AnEarlierCallbackAddedWhileWaitingRunsFirst) {
  Timers timers;
  absl::Notification late_ran, early_ran;
  bool early_first = false;
  timers.RunAt(absl::Now() + absl::Seconds(2), [&] {
    early_first = early_ran.HasBeenNotified();
    late_ran.Notify();
  });
  absl::SleepFor(absl::Milliseconds(20));  // the thread sleeps until the late one's time
  timers.RunAt(absl::Now() + absl::Milliseconds(10), [&] { early_ran.Notify(); });
  ASSERT_TRUE(late_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(early_first);
}

TEST(TimersTest, ShutdownRunsWhatIsWaitingAtOnceAndLaterCallbacksRunOnTheCaller) {
  Timers timers;
  int ran = 0;
  timers.RunAt(absl::Now() + absl::Hours(1), [&] { ++ran; });
  timers.RunAt(absl::Now() + absl::Hours(2), [&] { ++ran; });
  EXPECT_EQ(timers.waiting(), 2u);
  timers.Shutdown();
  EXPECT_EQ(ran, 2);
  timers.RunAt(absl::Now() + absl::Hours(1), [&] { ++ran; });
  EXPECT_EQ(ran, 3);
  timers.Shutdown();  // idempotent
}

}  // namespace
}  // namespace assay::server
