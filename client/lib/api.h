// The typed client library: one class per service, one method per unary call, named as the RPC,
// taking the API's request message and returning its reply. Every call follows call.h's
// conventions: a deadline per attempt and the token, an idempotency key filled in where the
// request has a `request_id` and none was given, retries of transient failures where safe. Which
// calls are reads (retried without a key) is decided here, once, not by callers. List calls fetch
// every page, or the first `limit` rows (0: all), and return them merged into one reply.
// Streams: upload.h (UploadResponses), watch.h (the Watch* calls).
//
// Errors keep the server's code; the message is prefixed by the call's name, e.g.
// "GetBenchmark: benchmark_id: no benchmark 'bm_x'".
// Thread safety: as AssayClient (methods may be called concurrently). Each object keeps a
// reference to its AssayClient, which must outlive it.
#ifndef ASSAY_CLIENT_LIB_API_H_
#define ASSAY_CLIENT_LIB_API_H_

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "assay/v1/audit.grpc.pb.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "assay/v1/cat.grpc.pb.h"
#include "assay/v1/compare.grpc.pb.h"
#include "assay/v1/monitor.grpc.pb.h"
#include "assay/v1/teams.grpc.pb.h"
#include "client/lib/call.h"
#include "client/lib/client.h"
#include "core/base/status_macros.h"

namespace assay::client {

// The stub of `Service` on `client`'s channel, and the two ways of calling it.
template <typename Service>
class ServiceClient {
 public:
  explicit ServiceClient(const AssayClient& client)
      : client_(client), stub_(Service::NewStub(client.channel())) {}

 protected:
  using Stub = typename Service::Stub;
  template <typename Request, typename Response>
  using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

  template <typename Request, typename Response>
  absl::StatusOr<Response> Unary(Method<Request, Response> method, const Request& request,
                                 const char* what, CallKind kind) const {
    return Call(client_, *stub_, method, request, what, kind);
  }

  // Fetches pages (page_size / page_token / next_page_token) until the last one or `limit` rows
  // of the reply's repeated field `rows` (0 = all), merged into one reply.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Pages(Method<Request, Response> method, Request request,
                                 const char* what, int limit, const char* rows) const {
    const google::protobuf::FieldDescriptor* field = Response::descriptor()->FindFieldByName(rows);
    Response all;
    while (true) {
      const int have = all.GetReflection()->FieldSize(all, field);
      const int want = limit > 0 ? std::min(1000, limit - have) : 1000;
      if (want <= 0) break;
      request.set_page_size(want);
      ASSIGN_OR_RETURN(Response page, Unary(method, request, what, CallKind::kIdempotent));
      const std::string next = page.next_page_token();
      all.MergeFrom(page);
      all.clear_next_page_token();
      if (next.empty()) break;
      request.set_page_token(next);
    }
    return all;
  }

  const AssayClient& client_;
  std::unique_ptr<Stub> stub_;
};

// Benchmarks, their items and responses, fit jobs and their tables (assay.v1.BenchmarkService).
class BenchmarksClient : public ServiceClient<v1::BenchmarkService> {
 public:
  using ServiceClient::ServiceClient;
  absl::StatusOr<v1::Benchmark> CreateBenchmark(const v1::CreateBenchmarkRequest& request) const;
  absl::StatusOr<v1::Benchmark> GetBenchmark(const std::string& benchmark_id) const;
  absl::StatusOr<v1::ListBenchmarksResponse> ListBenchmarks(int limit = 0) const;
  absl::StatusOr<v1::ListBenchmarkItemsResponse> ListBenchmarkItems(const std::string& benchmark_id,
                                                                    int limit = 0) const;
  absl::StatusOr<v1::Fit> StartFit(const v1::StartFitRequest& request) const;
  absl::StatusOr<v1::Fit> GetFit(const std::string& fit_id) const;
  // A benchmark's fits, newest first; with an empty id, the team's fit queue.
  absl::StatusOr<v1::ListFitsResponse> ListFits(const std::string& benchmark_id,
                                                int limit = 0) const;
  absl::StatusOr<v1::Fit> CancelFit(const std::string& fit_id) const;
  absl::StatusOr<v1::Benchmark> SetCurrentFit(const std::string& fit_id) const;
  absl::StatusOr<v1::ListAbilitiesResponse> ListAbilities(const v1::ListAbilitiesRequest& request,
                                                          int limit = 0) const;
  absl::StatusOr<v1::ListItemParamsResponse> ListItemParams(
      const v1::ListItemParamsRequest& request, int limit = 0) const;
  absl::StatusOr<v1::ScoreModelResponse> ScoreModel(const v1::ScoreModelRequest& request) const;
};

// Adaptive-testing sessions (assay.v1.CatService).
class CatClient : public ServiceClient<v1::CatService> {
 public:
  using ServiceClient::ServiceClient;
  absl::StatusOr<v1::CatSession> StartSession(const v1::StartSessionRequest& request) const;
  absl::StatusOr<v1::NextItemsResponse> NextItems(
      const std::string& session_id, int count = 1,
      v1::CatSessionView view = v1::CAT_SESSION_VIEW_FULL) const;
  absl::StatusOr<v1::CatSession> SubmitOutcomes(const v1::SubmitOutcomesRequest& request) const;
  absl::StatusOr<v1::CatSession> GetSession(const std::string& session_id) const;
  absl::StatusOr<v1::ListSessionsResponse> ListSessions(const v1::ListSessionsRequest& request,
                                                        int limit = 0) const;
};

// Audits (assay.v1.AuditService).
class AuditsClient : public ServiceClient<v1::AuditService> {
 public:
  using ServiceClient::ServiceClient;
  absl::StatusOr<v1::Audit> CreateAudit(const v1::CreateAuditRequest& request) const;
  absl::StatusOr<v1::Audit> GetAudit(const std::string& audit_id) const;
  absl::StatusOr<v1::ListAuditsResponse> ListAudits(int limit = 0) const;
  absl::StatusOr<v1::HandOutCasesResponse> HandOutCases(
      const v1::HandOutCasesRequest& request) const;
  absl::StatusOr<v1::SubmitLabelResponse> SubmitLabel(const v1::SubmitLabelRequest& request) const;
  absl::StatusOr<v1::VoidCaseResponse> VoidCase(const v1::VoidCaseRequest& request) const;
};

// Monitors of deployed models (assay.v1.MonitorService).
class MonitorsClient : public ServiceClient<v1::MonitorService> {
 public:
  using ServiceClient::ServiceClient;
  absl::StatusOr<v1::Monitor> CreateMonitor(const v1::CreateMonitorRequest& request) const;
  absl::StatusOr<v1::Monitor> GetMonitor(const std::string& monitor_id) const;
  absl::StatusOr<v1::ListMonitorsResponse> ListMonitors(int limit = 0) const;
  absl::StatusOr<v1::SubmitScoresResponse> SubmitScores(
      const v1::SubmitScoresRequest& request) const;
};

// The caller's team and its API keys (assay.v1.TeamService).
class TeamsClient : public ServiceClient<v1::TeamService> {
 public:
  using ServiceClient::ServiceClient;
  absl::StatusOr<v1::WhoAmIResponse> WhoAmI() const;
  absl::StatusOr<v1::CreateApiKeyResponse> CreateApiKey(
      const v1::CreateApiKeyRequest& request) const;
  absl::StatusOr<v1::ListApiKeysResponse> ListApiKeys() const;
  // Revoking twice changes nothing, so it is retried like a read.
  absl::StatusOr<v1::RevokeApiKeyResponse> RevokeApiKey(const std::string& prefix) const;
};

// Comparisons of two models (assay.v1.CompareService).
class CompareClient : public ServiceClient<v1::CompareService> {
 public:
  using ServiceClient::ServiceClient;
  absl::StatusOr<v1::Comparison> CreateComparison(const v1::CreateComparisonRequest& request) const;
  // Up to `count` items to evaluate (those handed out and not yet answered first).
  absl::StatusOr<v1::NextComparisonItemsResponse> NextComparisonItems(
      const std::string& comparison_id, int count,
      v1::ComparisonView view = v1::COMPARISON_VIEW_FULL) const;
  absl::StatusOr<v1::Comparison> SubmitComparisonOutcomes(
      const v1::SubmitComparisonOutcomesRequest& request) const;
  absl::StatusOr<v1::Comparison> GetComparison(
      const std::string& comparison_id, v1::ComparisonView view = v1::COMPARISON_VIEW_FULL) const;
  absl::StatusOr<v1::ListComparisonsResponse> ListComparisons(
      int limit = 0, v1::ComparisonView view = v1::COMPARISON_VIEW_BASIC) const;

  // Runs comparison `id` until it finishes: `batch` items at a time, each evaluated by
  // `evaluate(item, outcome)` (which fills b's outcome, and a's when both are sampled), the
  // outcomes of a batch submitted in one durable step that also asks for the next batch.
  // `on_step` (optional) sees the comparison after every submission. Returns the final state.
  using Evaluate = std::function<absl::Status(const std::string& item, v1::CompareOutcome& out)>;
  absl::StatusOr<v1::Comparison> RunToDecision(
      const std::string& id, const Evaluate& evaluate, int batch = 1,
      const std::function<void(const v1::Comparison&)>& on_step = nullptr) const;
};

}  // namespace assay::client

#endif  // ASSAY_CLIENT_LIB_API_H_
