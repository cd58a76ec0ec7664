#include "client/compare.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/call.h"
#include "core/base/status_macros.h"
#include "proto/convert/compare_options.h"

namespace assay::client {

using Stub = v1::CompareService::Stub;

absl::StatusOr<v1::Comparison> CompareClient::Create(
    const v1::CreateComparisonRequest& request) const {
  return Call(client_, *stub_, &Stub::CreateComparison, request, "CreateComparison");
}

absl::StatusOr<v1::NextComparisonItemsResponse> CompareClient::Next(
    const std::string& id, int count, v1::ComparisonView view) const {
  v1::NextComparisonItemsRequest request;
  request.set_comparison_id(id);
  request.set_count(count);
  request.set_view(view);
  return Call(client_, *stub_, &Stub::NextComparisonItems, request, "NextComparisonItems");
}

absl::StatusOr<v1::Comparison> CompareClient::Submit(
    const v1::SubmitComparisonOutcomesRequest& request) const {
  return Call(client_, *stub_, &Stub::SubmitComparisonOutcomes, request,
              "SubmitComparisonOutcomes");
}

absl::StatusOr<v1::Comparison> CompareClient::Get(const std::string& id,
                                                  v1::ComparisonView view) const {
  v1::GetComparisonRequest request;
  request.set_comparison_id(id);
  request.set_view(view);
  return Call(client_, *stub_, &Stub::GetComparison, request, "GetComparison",
              CallKind::kIdempotent);
}

absl::StatusOr<v1::ListComparisonsResponse> CompareClient::List(int limit,
                                                                v1::ComparisonView view) const {
  v1::ListComparisonsRequest request;
  request.set_view(view);
  v1::ListComparisonsResponse all;
  while (true) {
    const int want = limit > 0 ? std::min(1000, limit - all.comparisons_size()) : 1000;
    if (want <= 0) break;
    request.set_page_size(want);
    ASSIGN_OR_RETURN(v1::ListComparisonsResponse page,
                     Call(client_, *stub_, &Stub::ListComparisons, request, "ListComparisons",
                          CallKind::kIdempotent));
    for (v1::Comparison& c : *page.mutable_comparisons()) *all.add_comparisons() = std::move(c);
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  return all;
}

absl::StatusOr<v1::Comparison> CompareClient::RunToDecision(
    const std::string& id, const Evaluate& evaluate, int batch,
    const std::function<void(const v1::Comparison&)>& on_step) const {
  ASSIGN_OR_RETURN(v1::NextComparisonItemsResponse next,
                   Next(id, batch, v1::COMPARISON_VIEW_BASIC));
  v1::Comparison state = next.comparison();
  std::vector<std::string> items(next.items().begin(), next.items().end());
  while (!state.finished() && !items.empty()) {
    v1::SubmitComparisonOutcomesRequest submit;
    submit.set_comparison_id(id);
    submit.set_next_count(batch);
    submit.set_view(v1::COMPARISON_VIEW_BASIC);
    for (const std::string& item : items) {
      v1::CompareOutcome* o = submit.add_outcomes();
      o->set_item(item);
      RETURN_IF_ERROR(evaluate(item, *o));
    }
    ASSIGN_OR_RETURN(state, Submit(submit));
    if (on_step) on_step(state);
    items.assign(state.pending_items().begin(), state.pending_items().end());
  }
  return Get(id);
}

const char* DecisionWord(v1::CompareDecision decision) { return convert::DecisionName(decision); }

std::string ComparisonLine(const v1::Comparison& c) {
  return absl::StrFormat(
      "comparison %s: %s vs %s, %d of %d items, difference %+.2f points [%+.2f, %+.2f], %s%s%s",
      c.id(), c.model_b(), c.model_a(), c.items(), c.benchmark_items(), 100 * c.estimate(),
      100 * c.lower(), 100 * c.upper(), DecisionWord(c.decision()),
      c.exact() ? " (exact)" : "",
      c.pending_items().empty() ? ""
                                : absl::StrCat(", next: ", absl::StrJoin(c.pending_items(), " ")));
}

}  // namespace assay::client
