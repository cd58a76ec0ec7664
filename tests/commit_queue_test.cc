#include "server/runtime/commit_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "core/base/thread_name.h"
#include "server/storage/storage.h"
#include "tests/testing/status_matchers.h"

namespace assay::server {
namespace {

using absl_testing::IsOk;
using absl_testing::IsOkAndHolds;
using absl_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Optional;

// Runs `work` as one work of its own batch; returns what its Done received.
absl::Status RunWork(CommitQueue& queue, CommitQueue::Work work) {
  absl::Status result;
  absl::Notification done;
  absl::Status queued = queue.Submit(std::move(work), [&](absl::Status s) {
    result = s;
    done.Notify();
  });
  if (!queued.ok()) return queued;
  done.WaitForNotification();
  return result;
}

class CommitQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = storage::Storage::Open(":memory:");
    ASSERT_THAT(opened.status(), IsOk());
    storage_ = *std::move(opened);
    queue_ = std::make_unique<CommitQueue>(storage_.get());
  }
  bool TeamExists(const std::string& name) {
    auto found = storage_->Reads()->FindTeam(name);
    EXPECT_THAT(found.status(), IsOk());
    return found.ok() && found->has_value();
  }
  std::unique_ptr<storage::Storage> storage_;
  std::unique_ptr<CommitQueue> queue_;
};

TEST_F(CommitQueueTest, RunCheckedPartRejectedByItsChecksFailsAloneAndChangesNothing) {
  std::vector<std::string> events;
  absl::Status rejected;
  bool failed_after_change = true;
  ASSERT_THAT(RunWork(*queue_,
                      [&](WriteContext& ctx) -> absl::Status {
                        auto first = ctx.txn().InsertTeam("a", 1);
                        if (!first.ok()) return first.status();
                        ctx.OnCommit([&] { events.push_back("commit a"); });
                        rejected = ctx.RunChecked(
                            [](WriteContext&) { return absl::InvalidArgumentError("bad"); },
                            &failed_after_change);
                        EXPECT_FALSE(failed_after_change);
                        auto last = ctx.txn().InsertTeam("c", 1);
                        return last.status();
                      }),
              IsOk());
  EXPECT_THAT(rejected, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(TeamExists("a"));
  EXPECT_TRUE(TeamExists("c"));
  EXPECT_THAT(events, ElementsAre("commit a"));
}

TEST_F(CommitQueueTest, RunCheckedPartThatSucceedsKeepsItsChangesAndCallbacks) {
  std::vector<std::string> events;
  ASSERT_THAT(RunWork(*queue_,
                      [&](WriteContext& ctx) -> absl::Status {
                        bool failed_after_change = true;
                        absl::Status s = ctx.RunChecked(
                            [&](WriteContext& part) -> absl::Status {
                              part.OnCommit([&] { events.push_back("commit b"); });
                              return ctx.txn().InsertTeam("b", 1).status();
                            },
                            &failed_after_change);
                        EXPECT_FALSE(failed_after_change);
                        return s;
                      }),
              IsOk());
  EXPECT_TRUE(TeamExists("b"));
  EXPECT_THAT(events, ElementsAre("commit b"));
}

// A part that fails after changing a row cannot be undone alone: it says so, its OnRollback joins
// the work's, and the work that then fails is undone as a whole (the earlier part too).
TEST_F(CommitQueueTest, RunCheckedPartFailingAfterAChangeMakesTheWholeWorkFail) {
  std::vector<std::string> events;
  bool failed_after_change = false;
  EXPECT_THAT(RunWork(*queue_,
                      [&](WriteContext& ctx) -> absl::Status {
                        auto first = ctx.txn().InsertTeam("d", 1);
                        if (!first.ok()) return first.status();
                        absl::Status s = ctx.RunChecked(
                            [&](WriteContext& part) -> absl::Status {
                              part.OnRollback([&] { events.push_back("rollback e"); });
                              auto inserted = part.txn().InsertTeam("e", 1);
                              if (!inserted.ok()) return inserted.status();
                              return absl::InternalError("disk failed after the insert");
                            },
                            &failed_after_change);
                        return s;
                      }),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_TRUE(failed_after_change);
  EXPECT_FALSE(TeamExists("d"));
  EXPECT_FALSE(TeamExists("e"));
  EXPECT_THAT(events, ElementsAre("rollback e"));
}

// A part that registered a rollback callback (it changed in-memory state) counts as changed even
// if no row changed.
TEST_F(CommitQueueTest, RunCheckedPartFailingAfterRegisteringARollbackCountsAsChanged) {
  bool failed_after_change = false;
  int rollbacks = 0;
  EXPECT_THAT(RunWork(*queue_,
                      [&](WriteContext& ctx) -> absl::Status {
                        return ctx.RunChecked(
                            [&](WriteContext& part) -> absl::Status {
                              part.OnRollback([&] { ++rollbacks; });
                              return absl::InternalError("in-memory update failed");
                            },
                            &failed_after_change);
                      }),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_TRUE(failed_after_change);
  EXPECT_EQ(rollbacks, 1);
}

// Replies come from the reply thread in submission order, each after its work committed (the row
// is visible to a read by then); Shutdown sends every reply still due.
TEST_F(CommitQueueTest, RepliesComeInSubmissionOrderAfterTheCommitAndAllBeforeShutdownReturns) {
  absl::Mutex mu;
  std::vector<int> order;
  int visible = 0;
  for (int i = 0; i < 500; ++i) {
    const std::string name = "t" + std::to_string(i);
    ASSERT_THAT(
        queue_->Submit([name](WriteContext& ctx) { return ctx.txn().InsertTeam(name, 1).status(); },
                       [&, i, name](absl::Status s) {
                         EXPECT_THAT(s, IsOk());
                         const bool found = TeamExists(name);
                         absl::MutexLock lock(&mu);
                         order.push_back(i);
                         if (found) ++visible;
                       }),
        IsOk());
  }
  queue_->Shutdown();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(order.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
  EXPECT_EQ(visible, 500);
}

// Works run on the committer and replies on the reply thread, each named for `top -H` and `perf`.
TEST_F(CommitQueueTest, WorksRunOnTheCommitterAndRepliesOnTheReplyThread) {
  std::string work_thread, reply_thread;
  absl::Notification replied;
  ASSERT_THAT(queue_->Submit(
                  [&](WriteContext&) {
                    work_thread = CurrentThreadName();
                    return absl::OkStatus();
                  },
                  [&](absl::Status) {
                    reply_thread = CurrentThreadName();
                    replied.Notify();
                  }),
              IsOk());
  replied.WaitForNotification();
  EXPECT_EQ(work_thread, "assay-commit");
  EXPECT_EQ(reply_thread, "assay-reply");
}

}  // namespace
}  // namespace assay::server
