// Comparisons of two models through the service (assay.v1.CompareService), typed, with the
// client's conventions (call.h: deadline per attempt, idempotency keys, retries of transient
// failures). Thread safety: as AssayClient.
#ifndef ASSAY_CLIENT_COMPARE_H_
#define ASSAY_CLIENT_COMPARE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "assay/v1/compare.grpc.pb.h"
#include "client/client.h"

namespace assay::client {

class CompareClient {
 public:
  explicit CompareClient(const AssayClient& client)
      : client_(client), stub_(v1::CompareService::NewStub(client.channel())) {}

  absl::StatusOr<v1::Comparison> Create(const v1::CreateComparisonRequest& request) const;
  // Up to `count` items to evaluate (those handed out and not yet answered first).
  absl::StatusOr<v1::NextComparisonItemsResponse> Next(
      const std::string& id, int count,
      v1::ComparisonView view = v1::COMPARISON_VIEW_FULL) const;
  absl::StatusOr<v1::Comparison> Submit(const v1::SubmitComparisonOutcomesRequest& request) const;
  absl::StatusOr<v1::Comparison> Get(const std::string& id,
                                     v1::ComparisonView view = v1::COMPARISON_VIEW_FULL) const;
  // Every comparison of the team, newest first (at most `limit`; 0: all).
  absl::StatusOr<v1::ListComparisonsResponse> List(int limit = 0,
                                                   v1::ComparisonView view =
                                                       v1::COMPARISON_VIEW_BASIC) const;

  // Runs comparison `id` until it finishes: `batch` items at a time, each evaluated by
  // `evaluate(item, outcome)` (which fills b's outcome, and a's when both are sampled), the
  // outcomes of a batch submitted in one durable step that also asks for the next batch.
  // `on_step` (optional) sees the comparison after every submission. Returns the final state.
  using Evaluate = std::function<absl::Status(const std::string& item, v1::CompareOutcome& out)>;
  absl::StatusOr<v1::Comparison> RunToDecision(
      const std::string& id, const Evaluate& evaluate, int batch = 1,
      const std::function<void(const v1::Comparison&)>& on_step = nullptr) const;

 private:
  const AssayClient& client_;
  std::unique_ptr<v1::CompareService::Stub> stub_;
};

// "regression", "pass", "better", "inconclusive", "undecided".
const char* DecisionWord(v1::CompareDecision decision);
// One line for people: id, items, estimate and interval in points, decision.
std::string ComparisonLine(const v1::Comparison& c);

}  // namespace assay::client

#endif  // ASSAY_CLIENT_COMPARE_H_
