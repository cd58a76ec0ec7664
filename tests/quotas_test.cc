// The write token bucket's retry delays (server/runtime/quotas.h), on a clock the test moves.
#include "server/runtime/quotas.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "tests/testing/status_matchers.h"

namespace assay::server {
namespace {

using absl_testing::IsOkAndHolds;

class QuotasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(storage_, storage::Storage::Open(":memory:"));
    TeamLimits limits;
    limits.Set(Limit::kWriteRate, 10);  // a token every 100 ms
    limits.Set(Limit::kWriteBurst, 2);
    quotas_ = std::make_unique<Quotas>(storage_.get(), limits, absl::Hours(1), nullptr,
                                       [this] { return now_; });
    who_.team_id = 1;
    who_.team = "alpha";
  }

  // The delay a refused TakeWrite asks for; fails the test if the take succeeded.
  absl::Duration Refused(absl::Duration may_wait = absl::ZeroDuration()) {
    const absl::Status status = quotas_->TakeWrite(who_, may_wait).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("write_rate"));
    return RetryDelayOf(status).value_or(absl::ZeroDuration());
  }

  absl::Time now_ = absl::FromUnixSeconds(1000000);
  std::unique_ptr<storage::Storage> storage_;
  std::unique_ptr<Quotas> quotas_;
  Principal who_;
};

TEST_F(QuotasTest, CallsRefusedTogetherAreToldToComeBackOneTokenApart) {
  ASSERT_OK(quotas_->TakeWrite(who_));
  ASSERT_OK(quotas_->TakeWrite(who_));  // the burst is spent
  // Four clients refused at the same instant: the next four tokens, one each, not the same one.
  std::vector<absl::Duration> delays;
  delays.reserve(4);
  for (int k = 0; k < 4; ++k) delays.push_back(Refused());
  EXPECT_THAT(delays, ::testing::ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200),
                                             absl::Milliseconds(300), absl::Milliseconds(400)));
  // Each comes back at its time and finds a token.
  for (int k = 0; k < 4; ++k) {
    now_ += absl::Milliseconds(100);
    EXPECT_OK(quotas_->TakeWrite(who_)) << "client " << k;
  }
  // The promises have passed: a refused call waits for the next token only.
  now_ += absl::Milliseconds(50);
  EXPECT_EQ(Refused(), absl::Milliseconds(50));
}

TEST_F(QuotasTest, APromiseReservesNothing) {
  ASSERT_OK(quotas_->TakeWrite(who_));
  ASSERT_OK(quotas_->TakeWrite(who_));
  EXPECT_EQ(Refused(), absl::Milliseconds(100));
  EXPECT_EQ(Refused(), absl::Milliseconds(200));
  // Whoever calls when a token is there takes it, promised or not; the rate holds either way.
  now_ += absl::Milliseconds(100);
  EXPECT_OK(quotas_->TakeWrite(who_));
  EXPECT_EQ(Refused(), absl::Milliseconds(200));  // after the slot promised at 200 ms
  now_ += absl::Milliseconds(100);
  EXPECT_OK(quotas_->TakeWrite(who_));
  EXPECT_EQ(quotas_->TakeWrite(who_).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(QuotasTest, AWriteWhoseTokenIsDueWithinItsHoldTakesItAndWaits) {
  const absl::Duration hold = absl::Milliseconds(250);
  EXPECT_THAT(quotas_->TakeWrite(who_, hold), IsOkAndHolds(absl::ZeroDuration()));
  EXPECT_THAT(quotas_->TakeWrite(who_, hold), IsOkAndHolds(absl::ZeroDuration()));
  // The burst is spent: the next tokens are taken in advance, each write told when its is due.
  EXPECT_THAT(quotas_->TakeWrite(who_, hold), IsOkAndHolds(absl::Milliseconds(100)));
  EXPECT_THAT(quotas_->TakeWrite(who_, hold), IsOkAndHolds(absl::Milliseconds(200)));
  EXPECT_EQ(quotas_->WriteTokens(who_.team_id), 0);  // none left to show
  // The next token not yet taken is 300 ms away, beyond the hold: refused, told to come back
  // when it would be held no longer than 250 ms, the next refused call a token later.
  EXPECT_EQ(Refused(hold), absl::Milliseconds(50));
  EXPECT_EQ(Refused(hold), absl::Milliseconds(150));
  // A write that may not wait is refused until a token not yet taken is there.
  EXPECT_EQ(Refused(), absl::Milliseconds(300));
  now_ += absl::Milliseconds(50);
  EXPECT_THAT(quotas_->TakeWrite(who_, hold), IsOkAndHolds(absl::Milliseconds(250)));
}

TEST_F(QuotasTest, HeldWritesKeepTheRate) {
  // A caller that takes whatever it is allowed, every millisecond for 10 s, with a 50 ms hold: the
  // writes go ahead at most the burst plus one per token, each (after the burst's and the first
  // token's) a token after the one before.
  std::vector<absl::Time> ahead;  // when each admitted write may go ahead
  for (int ms = 0; ms < 10000; ++ms) {
    absl::StatusOr<absl::Duration> wait = quotas_->TakeWrite(who_, absl::Milliseconds(50));
    if (wait.ok()) {
      EXPECT_LE(*wait, absl::Milliseconds(50));
      ahead.push_back(now_ + *wait);
    }
    now_ += absl::Milliseconds(1);
  }
  // By 10.05 s (the last call's hold): the burst of 2 and 100 tokens at 10 per second.
  EXPECT_EQ(ahead.size(), 102u);
  for (size_t k = 3; k < ahead.size(); ++k) {
    EXPECT_GE(ahead[k] - ahead[k - 1], absl::Milliseconds(100) - absl::Microseconds(1)) << k;
  }
}

TEST_F(QuotasTest, TakeWriteCachedWaitsForTheLimitsToBeRead) {
  // Never read: the cached path cannot tell the team's limits and takes nothing.
  EXPECT_EQ(quotas_->TakeWriteCached(who_, absl::ZeroDuration()), std::nullopt);
  ASSERT_OK(quotas_->TakeWrite(who_));  // reads them
  const auto taken = quotas_->TakeWriteCached(who_, absl::ZeroDuration());
  ASSERT_TRUE(taken.has_value());
  EXPECT_THAT(*taken, IsOkAndHolds(absl::ZeroDuration()));
  EXPECT_EQ(Refused(), absl::Milliseconds(100));  // both tokens of the burst taken
  now_ += absl::Hours(2);                         // past the refresh interval: due to be read again
  EXPECT_EQ(quotas_->TakeWriteCached(who_, absl::ZeroDuration()), std::nullopt);
}

}  // namespace
}  // namespace assay::server
