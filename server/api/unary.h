// Every unary call of the API, written once: the gRPC services (server/grpc/) and the HTTP/JSON
// routes (server/http/) both call these, so an adapter only converts messages and statuses.
//
// Contract of each: runs the call for `call`'s caller (authenticating it on the executor), then
// calls `done` exactly once with its status, `*resp` filled when OK. `req` and `resp` must stay
// valid until `done` runs, and `deps` until the server stops (adapters pass their long-lived copy).
// Roles, validation and errors are the RPC's, documented in proto/.
#ifndef ASSAY_SERVER_API_UNARY_H_
#define ASSAY_SERVER_API_UNARY_H_

#include <cstdint>
#include <string>

#include "absl/time/clock.h"
#include "assay/v1/audit.pb.h"
#include "assay/v1/benchmarks.pb.h"
#include "assay/v1/cat.pb.h"
#include "assay/v1/compare.pb.h"
#include "assay/v1/monitor.pb.h"
#include "assay/v1/system.pb.h"
#include "assay/v1/teams.pb.h"
#include "google/protobuf/descriptor.h"
#include "server/api/call.h"

namespace assay::server::api {

// The signature every unary call has.
template <typename Req, typename Resp>
using Unary = void (*)(const ServerDeps& deps, Call call, const Req& req, Resp* resp, Done done);

// The RPC name of a request type ("GetAuditRequest" -> "GetAudit").
std::string MethodName(const google::protobuf::Descriptor* request);

// How an adapter runs a unary call: `op` with the call's outcome recorded in the metrics (by
// `transport`, the method and the status code) before `done` gets it.
template <typename Req, typename Resp>
void Invoke(const ServerDeps& deps, const char* transport, Unary<Req, Resp> op, Call call,
            const Req& req, Resp* resp, Done done) {
  if (deps.metrics == nullptr) {
    op(deps, std::move(call), req, resp, std::move(done));
    return;
  }
  op(deps, std::move(call), req, resp,
     [metrics = deps.metrics, transport, started = absl::Now(),
      done = std::move(done)](absl::Status status) {
       static const std::string* const method = new std::string(MethodName(Req::descriptor()));
       metrics->RecordRequest(transport, *method, status.code(), absl::Now() - started);
       done(std::move(status));
     });
}

// AuditService
void CreateAudit(const ServerDeps& deps, Call call, const v1::CreateAuditRequest& req,
                 v1::Audit* resp, Done done);
void GetAudit(const ServerDeps& deps, Call call, const v1::GetAuditRequest& req, v1::Audit* resp,
              Done done);
void ListAudits(const ServerDeps& deps, Call call, const v1::ListAuditsRequest& req,
                v1::ListAuditsResponse* resp, Done done);
void ListSessionSteps(const ServerDeps& deps, Call call, const v1::ListSessionStepsRequest& req,
                      v1::ListSessionStepsResponse* resp, Done done);
void ListAuditSteps(const ServerDeps& deps, Call call, const v1::ListAuditStepsRequest& req,
                    v1::ListAuditStepsResponse* resp, Done done);
void HandOutCases(const ServerDeps& deps, Call call, const v1::HandOutCasesRequest& req,
                  v1::HandOutCasesResponse* resp, Done done);
void SubmitLabel(const ServerDeps& deps, Call call, const v1::SubmitLabelRequest& req,
                 v1::SubmitLabelResponse* resp, Done done);
void SubmitLabelBatch(const ServerDeps& deps, Call call, const v1::LabelBatch& req,
                      v1::LabelBatchResponse* resp, Done done);
void VoidCase(const ServerDeps& deps, Call call, const v1::VoidCaseRequest& req,
              v1::VoidCaseResponse* resp, Done done);

// BenchmarkService
void CreateBenchmark(const ServerDeps& deps, Call call, const v1::CreateBenchmarkRequest& req,
                     v1::Benchmark* resp, Done done);
void GetBenchmark(const ServerDeps& deps, Call call, const v1::GetBenchmarkRequest& req,
                  v1::Benchmark* resp, Done done);
void ListBenchmarks(const ServerDeps& deps, Call call, const v1::ListBenchmarksRequest& req,
                    v1::ListBenchmarksResponse* resp, Done done);
// One chunk of UploadResponses as a call of its own (its benchmark_id is required): the chunk is
// durable when it returns, with the totals of this chunk and the benchmark as it is then.
void UploadChunk(const ServerDeps& deps, Call call, const v1::UploadResponsesRequest& req,
                 v1::UploadResponsesResponse* resp, Done done);
void ListBenchmarkItems(const ServerDeps& deps, Call call, const v1::ListBenchmarkItemsRequest& req,
                        v1::ListBenchmarkItemsResponse* resp, Done done);
void StartFit(const ServerDeps& deps, Call call, const v1::StartFitRequest& req, v1::Fit* resp,
              Done done);
void GetFit(const ServerDeps& deps, Call call, const v1::GetFitRequest& req, v1::Fit* resp,
            Done done);
void ListFits(const ServerDeps& deps, Call call, const v1::ListFitsRequest& req,
              v1::ListFitsResponse* resp, Done done);
void CancelFit(const ServerDeps& deps, Call call, const v1::CancelFitRequest& req, v1::Fit* resp,
               Done done);
void SetCurrentFit(const ServerDeps& deps, Call call, const v1::SetCurrentFitRequest& req,
                   v1::Benchmark* resp, Done done);
void ListAbilities(const ServerDeps& deps, Call call, const v1::ListAbilitiesRequest& req,
                   v1::ListAbilitiesResponse* resp, Done done);
void ListItemParams(const ServerDeps& deps, Call call, const v1::ListItemParamsRequest& req,
                    v1::ListItemParamsResponse* resp, Done done);
void ScoreModel(const ServerDeps& deps, Call call, const v1::ScoreModelRequest& req,
                v1::ScoreModelResponse* resp, Done done);

// CatService
void StartSession(const ServerDeps& deps, Call call, const v1::StartSessionRequest& req,
                  v1::CatSession* resp, Done done);
void NextItems(const ServerDeps& deps, Call call, const v1::NextItemsRequest& req,
               v1::NextItemsResponse* resp, Done done);
void SubmitOutcomes(const ServerDeps& deps, Call call, const v1::SubmitOutcomesRequest& req,
                    v1::CatSession* resp, Done done);
void GetSession(const ServerDeps& deps, Call call, const v1::GetSessionRequest& req,
                v1::CatSession* resp, Done done);
void ListSessions(const ServerDeps& deps, Call call, const v1::ListSessionsRequest& req,
                  v1::ListSessionsResponse* resp, Done done);

// CompareService
void CreateComparison(const ServerDeps& deps, Call call, const v1::CreateComparisonRequest& req,
                      v1::Comparison* resp, Done done);
void NextComparisonItems(const ServerDeps& deps, Call call,
                         const v1::NextComparisonItemsRequest& req,
                         v1::NextComparisonItemsResponse* resp, Done done);
void SubmitComparisonOutcomes(const ServerDeps& deps, Call call,
                              const v1::SubmitComparisonOutcomesRequest& req,
                              v1::Comparison* resp, Done done);
void GetComparison(const ServerDeps& deps, Call call, const v1::GetComparisonRequest& req,
                   v1::Comparison* resp, Done done);
void ListComparisons(const ServerDeps& deps, Call call, const v1::ListComparisonsRequest& req,
                     v1::ListComparisonsResponse* resp, Done done);

// MonitorService
void CreateMonitor(const ServerDeps& deps, Call call, const v1::CreateMonitorRequest& req,
                   v1::Monitor* resp, Done done);
void GetMonitor(const ServerDeps& deps, Call call, const v1::GetMonitorRequest& req,
                v1::Monitor* resp, Done done);
void ListMonitors(const ServerDeps& deps, Call call, const v1::ListMonitorsRequest& req,
                  v1::ListMonitorsResponse* resp, Done done);
void SubmitScores(const ServerDeps& deps, Call call, const v1::SubmitScoresRequest& req,
                  v1::SubmitScoresResponse* resp, Done done);

// SystemService
void GetServerInfo(const ServerDeps& deps, Call call, const v1::GetServerInfoRequest& req,
                   v1::GetServerInfoResponse* resp, Done done);

// TeamService
void WhoAmI(const ServerDeps& deps, Call call, const v1::WhoAmIRequest& req,
            v1::WhoAmIResponse* resp, Done done);
void CreateApiKey(const ServerDeps& deps, Call call, const v1::CreateApiKeyRequest& req,
                  v1::CreateApiKeyResponse* resp, Done done);
void ListApiKeys(const ServerDeps& deps, Call call, const v1::ListApiKeysRequest& req,
                 v1::ListApiKeysResponse* resp, Done done);
void RevokeApiKey(const ServerDeps& deps, Call call, const v1::RevokeApiKeyRequest& req,
                  v1::RevokeApiKeyResponse* resp, Done done);

// The writes that streams pipeline (StreamLabels, StreamScores), as CommitQueue works: each is the
// whole write of its unary call.
absl::Status SubmitLabelWork(const ServerDeps& deps, WriteContext& ctx, const Principal& who,
                             const v1::SubmitLabelRequest& req, v1::SubmitLabelResponse* resp);
absl::Status SubmitScoresWork(const ServerDeps& deps, WriteContext& ctx, const Principal& who,
                              const v1::SubmitScoresRequest& req, v1::SubmitScoresResponse* resp);

// The work of one label batch (StreamLabelBatches, SubmitLabelBatch) inside a CommitQueue work:
// a label rejected by its checks fails alone (its result carries the error); one that failed after
// a change fails the whole batch.
absl::Status LabelBatchWork(const ServerDeps& deps, WriteContext& ctx, const Principal& who,
                            const v1::LabelBatch& batch, v1::LabelBatchResponse* resp);

// UploadResponses, a stream of chunks: the work of chunk number `chunk_no` (from 1) of an upload to
// `benchmark_id`, inside a CommitQueue work (totals accumulate in `*resp`); and, on the executor
// once the client has sent every chunk, the reply's benchmark as it is then.
absl::Status UploadChunkWork(const ServerDeps& deps, WriteContext& ctx, const Principal& who,
                             const std::string& benchmark_id,
                             const v1::UploadResponsesRequest& chunk, int64_t chunk_no,
                             v1::UploadResponsesResponse* resp);
absl::Status FinishUpload(const ServerDeps& deps, const Principal& who,
                          const std::string& benchmark_id, v1::UploadResponsesResponse* resp);

}  // namespace assay::server::api

#endif  // ASSAY_SERVER_API_UNARY_H_
