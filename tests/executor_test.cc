#include "server/runtime/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "absl/synchronization/notification.h"
#include "core/base/thread_name.h"
#include "tests/testing/status_matchers.h"

namespace assay::server {
namespace {

using absl_testing::StatusIs;

TEST(BoundedExecutorTest, RejectsWhenQueueIsFullAndDrainsOnShutdown) {
  BoundedExecutor executor(/*threads=*/1, /*queue_capacity=*/2);
  absl::Notification started, release;
  std::atomic<int> ran{0};
  ASSERT_OK(executor.Submit([&] {
    started.Notify();
    release.WaitForNotification();
    ++ran;
  }));
  started.WaitForNotification();  // the worker is busy, the queue is empty
  ASSERT_OK(executor.Submit([&] { ++ran; }));
  ASSERT_OK(executor.Submit([&] { ++ran; }));
  bool rejected_ran = false;
  EXPECT_THAT(executor.Submit([&] { rejected_ran = true; }),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(executor.queued(), 2u);
  release.Notify();
  executor.Shutdown();  // runs the two queued tasks before returning
  EXPECT_EQ(ran.load(), 3);
  EXPECT_FALSE(rejected_ran);
  EXPECT_THAT(executor.Submit([] {}), StatusIs(absl::StatusCode::kUnavailable));
  executor.Shutdown();  // idempotent
}

TEST(BoundedExecutorTest, WorkersAreNamed) {
  BoundedExecutor executor(/*threads=*/1, /*queue_capacity=*/1);
  std::string name;
  absl::Notification ran;
  ASSERT_OK(executor.Submit([&] {
    name = CurrentThreadName();
    ran.Notify();
  }));
  ran.WaitForNotification();
  EXPECT_EQ(name, "assay-exec-0");
}

TEST(BoundedExecutorTest, RunsTasksOnAllWorkers) {
  BoundedExecutor executor(/*threads=*/2, /*queue_capacity=*/100);
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) ASSERT_OK(executor.Submit([&] { ++ran; }));
  executor.Shutdown();
  EXPECT_EQ(ran.load(), 100);
}

}  // namespace
}  // namespace assay::server
