#include "client/lib/api.h"

#include <vector>

namespace assay::client {

namespace {
constexpr CallKind kWrite = CallKind::kMutating;
constexpr CallKind kRead = CallKind::kIdempotent;
}  // namespace

// ---- benchmarks and fits ----

using BenchmarkStub = v1::BenchmarkService::Stub;

absl::StatusOr<v1::Benchmark> BenchmarksClient::CreateBenchmark(
    const v1::CreateBenchmarkRequest& request) const {
  return Unary(&BenchmarkStub::CreateBenchmark, request, "CreateBenchmark", kWrite);
}

absl::StatusOr<v1::Benchmark> BenchmarksClient::GetBenchmark(
    const std::string& benchmark_id) const {
  v1::GetBenchmarkRequest request;
  request.set_benchmark_id(benchmark_id);
  return Unary(&BenchmarkStub::GetBenchmark, request, "GetBenchmark", kRead);
}

absl::StatusOr<v1::ListBenchmarksResponse> BenchmarksClient::ListBenchmarks(int limit) const {
  return Pages(&BenchmarkStub::ListBenchmarks, v1::ListBenchmarksRequest(), "ListBenchmarks", limit,
               "benchmarks");
}

absl::StatusOr<v1::ListBenchmarkItemsResponse> BenchmarksClient::ListBenchmarkItems(
    const std::string& benchmark_id, int limit) const {
  v1::ListBenchmarkItemsRequest request;
  request.set_benchmark_id(benchmark_id);
  return Pages(&BenchmarkStub::ListBenchmarkItems, request, "ListBenchmarkItems", limit, "items");
}

absl::StatusOr<v1::Fit> BenchmarksClient::StartFit(const v1::StartFitRequest& request) const {
  return Unary(&BenchmarkStub::StartFit, request, "StartFit", kWrite);
}

absl::StatusOr<v1::Fit> BenchmarksClient::GetFit(const std::string& fit_id) const {
  v1::GetFitRequest request;
  request.set_fit_id(fit_id);
  return Unary(&BenchmarkStub::GetFit, request, "GetFit", kRead);
}

absl::StatusOr<v1::ListFitsResponse> BenchmarksClient::ListFits(const std::string& benchmark_id,
                                                                int limit) const {
  v1::ListFitsRequest request;
  request.set_benchmark_id(benchmark_id);
  return Pages(&BenchmarkStub::ListFits, request, "ListFits", limit, "fits");
}

absl::StatusOr<v1::Fit> BenchmarksClient::CancelFit(const std::string& fit_id) const {
  v1::CancelFitRequest request;
  request.set_fit_id(fit_id);
  return Unary(&BenchmarkStub::CancelFit, request, "CancelFit", kWrite);
}

absl::StatusOr<v1::Benchmark> BenchmarksClient::SetCurrentFit(const std::string& fit_id) const {
  v1::SetCurrentFitRequest request;
  request.set_fit_id(fit_id);
  return Unary(&BenchmarkStub::SetCurrentFit, request, "SetCurrentFit", kWrite);
}

absl::StatusOr<v1::ListAbilitiesResponse> BenchmarksClient::ListAbilities(
    const v1::ListAbilitiesRequest& request, int limit) const {
  return Pages(&BenchmarkStub::ListAbilities, request, "ListAbilities", limit, "abilities");
}

absl::StatusOr<v1::ListItemParamsResponse> BenchmarksClient::ListItemParams(
    const v1::ListItemParamsRequest& request, int limit) const {
  return Pages(&BenchmarkStub::ListItemParams, request, "ListItemParams", limit, "items");
}

absl::StatusOr<v1::ScoreModelResponse> BenchmarksClient::ScoreModel(
    const v1::ScoreModelRequest& request) const {
  return Unary(&BenchmarkStub::ScoreModel, request, "ScoreModel", kRead);
}

// ---- sessions ----

using CatStub = v1::CatService::Stub;

absl::StatusOr<v1::CatSession> CatClient::StartSession(
    const v1::StartSessionRequest& request) const {
  return Unary(&CatStub::StartSession, request, "StartSession", kWrite);
}

absl::StatusOr<v1::NextItemsResponse> CatClient::NextItems(const std::string& session_id, int count,
                                                           v1::CatSessionView view) const {
  v1::NextItemsRequest request;
  request.set_session_id(session_id);
  request.set_count(count);
  request.set_view(view);
  return Unary(&CatStub::NextItems, request, "NextItems", kWrite);
}

absl::StatusOr<v1::CatSession> CatClient::SubmitOutcomes(
    const v1::SubmitOutcomesRequest& request) const {
  return Unary(&CatStub::SubmitOutcomes, request, "SubmitOutcomes", kWrite);
}

absl::StatusOr<v1::CatSession> CatClient::GetSession(const std::string& session_id) const {
  v1::GetSessionRequest request;
  request.set_session_id(session_id);
  return Unary(&CatStub::GetSession, request, "GetSession", kRead);
}

absl::StatusOr<v1::ListSessionsResponse> CatClient::ListSessions(
    const v1::ListSessionsRequest& request, int limit) const {
  return Pages(&CatStub::ListSessions, request, "ListSessions", limit, "sessions");
}

// ---- audits ----

using AuditStub = v1::AuditService::Stub;

absl::StatusOr<v1::Audit> AuditsClient::CreateAudit(const v1::CreateAuditRequest& request) const {
  return Unary(&AuditStub::CreateAudit, request, "CreateAudit", kWrite);
}

absl::StatusOr<v1::Audit> AuditsClient::GetAudit(const std::string& audit_id) const {
  v1::GetAuditRequest request;
  request.set_audit_id(audit_id);
  return Unary(&AuditStub::GetAudit, request, "GetAudit", kRead);
}

absl::StatusOr<v1::ListAuditsResponse> AuditsClient::ListAudits(int limit) const {
  return Pages(&AuditStub::ListAudits, v1::ListAuditsRequest(), "ListAudits", limit, "audits");
}

absl::StatusOr<v1::HandOutCasesResponse> AuditsClient::HandOutCases(
    const v1::HandOutCasesRequest& request) const {
  return Unary(&AuditStub::HandOutCases, request, "HandOutCases", kWrite);
}

absl::StatusOr<v1::SubmitLabelResponse> AuditsClient::SubmitLabel(
    const v1::SubmitLabelRequest& request) const {
  return Unary(&AuditStub::SubmitLabel, request, "SubmitLabel", kWrite);
}

absl::StatusOr<v1::VoidCaseResponse> AuditsClient::VoidCase(
    const v1::VoidCaseRequest& request) const {
  return Unary(&AuditStub::VoidCase, request, "VoidCase", kWrite);
}

// ---- monitors ----

using MonitorStub = v1::MonitorService::Stub;

absl::StatusOr<v1::Monitor> MonitorsClient::CreateMonitor(
    const v1::CreateMonitorRequest& request) const {
  return Unary(&MonitorStub::CreateMonitor, request, "CreateMonitor", kWrite);
}

absl::StatusOr<v1::Monitor> MonitorsClient::GetMonitor(const std::string& monitor_id) const {
  v1::GetMonitorRequest request;
  request.set_monitor_id(monitor_id);
  return Unary(&MonitorStub::GetMonitor, request, "GetMonitor", kRead);
}

absl::StatusOr<v1::ListMonitorsResponse> MonitorsClient::ListMonitors(int limit) const {
  return Pages(&MonitorStub::ListMonitors, v1::ListMonitorsRequest(), "ListMonitors", limit,
               "monitors");
}

absl::StatusOr<v1::SubmitScoresResponse> MonitorsClient::SubmitScores(
    const v1::SubmitScoresRequest& request) const {
  return Unary(&MonitorStub::SubmitScores, request, "SubmitScores", kWrite);
}

// ---- teams ----

using TeamStub = v1::TeamService::Stub;

absl::StatusOr<v1::WhoAmIResponse> TeamsClient::WhoAmI() const {
  return Unary(&TeamStub::WhoAmI, v1::WhoAmIRequest(), "WhoAmI", kRead);
}

absl::StatusOr<v1::CreateApiKeyResponse> TeamsClient::CreateApiKey(
    const v1::CreateApiKeyRequest& request) const {
  return Unary(&TeamStub::CreateApiKey, request, "CreateApiKey", kWrite);
}

absl::StatusOr<v1::ListApiKeysResponse> TeamsClient::ListApiKeys() const {
  return Unary(&TeamStub::ListApiKeys, v1::ListApiKeysRequest(), "ListApiKeys", kRead);
}

absl::StatusOr<v1::RevokeApiKeyResponse> TeamsClient::RevokeApiKey(
    const std::string& prefix) const {
  v1::RevokeApiKeyRequest request;
  request.set_prefix(prefix);
  return Unary(&TeamStub::RevokeApiKey, request, "RevokeApiKey", kRead);
}

// ---- comparisons ----

using CompareStub = v1::CompareService::Stub;

absl::StatusOr<v1::Comparison> CompareClient::CreateComparison(
    const v1::CreateComparisonRequest& request) const {
  return Unary(&CompareStub::CreateComparison, request, "CreateComparison", kWrite);
}

absl::StatusOr<v1::NextComparisonItemsResponse> CompareClient::NextComparisonItems(
    const std::string& comparison_id, int count, v1::ComparisonView view) const {
  v1::NextComparisonItemsRequest request;
  request.set_comparison_id(comparison_id);
  request.set_count(count);
  request.set_view(view);
  return Unary(&CompareStub::NextComparisonItems, request, "NextComparisonItems", kWrite);
}

absl::StatusOr<v1::Comparison> CompareClient::SubmitComparisonOutcomes(
    const v1::SubmitComparisonOutcomesRequest& request) const {
  return Unary(&CompareStub::SubmitComparisonOutcomes, request, "SubmitComparisonOutcomes", kWrite);
}

absl::StatusOr<v1::Comparison> CompareClient::GetComparison(const std::string& comparison_id,
                                                            v1::ComparisonView view) const {
  v1::GetComparisonRequest request;
  request.set_comparison_id(comparison_id);
  request.set_view(view);
  return Unary(&CompareStub::GetComparison, request, "GetComparison", kRead);
}

absl::StatusOr<v1::ListComparisonsResponse> CompareClient::ListComparisons(
    int limit, v1::ComparisonView view) const {
  v1::ListComparisonsRequest request;
  request.set_view(view);
  return Pages(&CompareStub::ListComparisons, request, "ListComparisons", limit, "comparisons");
}

absl::StatusOr<v1::Comparison> CompareClient::RunToDecision(
    const std::string& id, const Evaluate& evaluate, int batch,
    const std::function<void(const v1::Comparison&)>& on_step) const {
  ASSIGN_OR_RETURN(v1::NextComparisonItemsResponse next,
                   NextComparisonItems(id, batch, v1::COMPARISON_VIEW_BASIC));
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
    ASSIGN_OR_RETURN(state, SubmitComparisonOutcomes(submit));
    if (on_step) on_step(state);
    items.assign(state.pending_items().begin(), state.pending_items().end());
  }
  return GetComparison(id);
}

}  // namespace assay::client
