// The write token bucket's retry delays (server/runtime/quotas.h), on a clock the test moves.
#include "server/runtime/quotas.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "tests/testing/status_matchers.h"

namespace assay::server {
namespace {

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
  absl::Duration Refused() {
    const absl::Status status = quotas_->TakeWrite(who_);
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
  EXPECT_EQ(quotas_->TakeWrite(who_).code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace assay::server
