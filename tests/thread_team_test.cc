#include "core/base/thread_team.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/base/thread_name.h"
#include "core/base/yield.h"
#include "gtest/gtest.h"

namespace assay {
namespace {

TEST(ThreadTeamTest, EveryMemberRunsOncePerRunOnItsOwnThreadAndItsWritesAreVisible) {
  for (int size : {1, 2, 3}) {
    ThreadTeam team(size);
    ASSERT_EQ(team.size(), size);
    std::vector<int> calls(size, 0);  // plain ints: Run() must publish the members' writes
    std::vector<std::thread::id> ids(size);
    for (int run = 0; run < 2000; ++run) {
      team.Run([&](int m) {
        ++calls[m];
        ids[m] = std::this_thread::get_id();
      });
      for (int m = 0; m < size; ++m) ASSERT_EQ(calls[m], run + 1) << "member " << m;
    }
    EXPECT_EQ(ids[0], std::this_thread::get_id());  // member 0 is the caller
    for (int m = 1; m < size; ++m) {
      EXPECT_NE(ids[m], std::this_thread::get_id());
      for (int o = 1; o < m; ++o) EXPECT_NE(ids[m], ids[o]);
    }
  }
}

// assayd turns yielding on in its fit runners only; the fit's sweep threads must follow it.
TEST(ThreadTeamTest, MembersTakeTheCreatorsYieldSetting) {
  EXPECT_FALSE(YieldOften());  // off unless asked for
  for (bool on : {true, false}) {
    SetYieldOften(on);
    ThreadTeam team(3);
    std::vector<int> seen(3, -1);
    team.Run([&](int m) {
      seen[m] = YieldOften() ? 1 : 0;
      YieldPoint(3 * kYieldUnits);  // yields (or not) and goes on
    });
    for (int m = 0; m < 3; ++m) EXPECT_EQ(seen[m], on ? 1 : 0) << "member " << m << ", on " << on;
  }
  std::thread other([] { EXPECT_FALSE(YieldOften()); });  // a plain thread: per thread, off
  other.join();
}

TEST(ThreadTeamTest, RunWaitsForTheSlowestMember) {
  ThreadTeam team(3);
  std::atomic<int> done{0};
  team.Run([&](int m) {
    if (m == 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    done.fetch_add(1);
  });
  EXPECT_EQ(done.load(), 3);
}

// Operators tell the threads apart in `top -H` and `perf` by these names.
TEST(ThreadTeamTest, MembersAreNamedAndTheCallerKeepsItsName) {
  const std::string before = CurrentThreadName();
  NameCurrentThread("team-caller");
  ThreadTeam team(3);
  std::vector<std::string> names(3);
  team.Run([&](int m) { names[m] = CurrentThreadName(); });
  EXPECT_EQ(names[0], "team-caller");
  EXPECT_EQ(names[1], "assay-team-1");
  EXPECT_EQ(names[2], "assay-team-2");
  NameCurrentThread(before);
}

TEST(ThreadNameTest, NamesLongerThanLinuxKeepsAreCutTo15Bytes) {
  std::string name;
  std::thread([&] {
    NameCurrentThread("assay-a-very-long-thread-name");
    name = CurrentThreadName();
  }).join();
  EXPECT_EQ(name, "assay-a-very-lo");
}

TEST(ThreadTeamTest, DestroysWithoutEverRunning) {
  ThreadTeam team(4);
  EXPECT_EQ(team.size(), 4);
}

}  // namespace
}  // namespace assay
