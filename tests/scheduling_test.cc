#include "server/runtime/scheduling.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

namespace assay::server {
namespace {

int CurrentNice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); }

// Each case runs on a thread of its own: the calls change the calling thread only.
template <typename F>
void OnThread(F f) {
  std::thread t(f);
  t.join();
}

TEST(SchedulingTest, ShortSliceIsTakenAndInheritedOrLeavesTheThreadAlone) {
  OnThread([] {
    const absl::Duration before = CurrentSlice();
    const int nice = CurrentNice();
    if (!RequestShortSlice()) {
      // A kernel without custom slices (before 6.12): nothing changed.
      EXPECT_EQ(CurrentSlice(), before);
      EXPECT_EQ(CurrentNice(), nice);
      GTEST_SKIP() << "this kernel has no custom scheduling slices";
    }
    EXPECT_EQ(CurrentSlice(), kRequestSlice);
    EXPECT_EQ(CurrentNice(), nice);  // the policy and nice are kept
    // A thread started afterwards (gRPC's, the executor's) inherits the slice.
    absl::Duration child = absl::ZeroDuration();
    std::thread t([&] { child = CurrentSlice(); });
    t.join();
    EXPECT_EQ(child, kRequestSlice);
  });
}

TEST(SchedulingTest, BackgroundThreadsGetTheNiceAndTheDefaultSlice) {
  OnThread([] {
    const absl::Duration default_slice = CurrentSlice();
    const bool short_slices = RequestShortSlice();
    ASSERT_TRUE(RunInBackground(7));
    EXPECT_EQ(CurrentNice(), 7);
    // The slice is the kernel's default again, not the request path's inherited one.
    if (short_slices) {
      EXPECT_EQ(CurrentSlice(), default_slice);
    }
    int child_nice = 0;
    std::thread t([&] { child_nice = CurrentNice(); });
    t.join();
    EXPECT_EQ(child_nice, 7);  // the fit's sweep threads inherit it
  });
}

}  // namespace
}  // namespace assay::server
