#include "server/api/unary.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "core/base/version.h"
#include "server/api/public_status.h"
#include "server/resources/audits.h"
#include "server/resources/benchmarks.h"
#include "server/resources/cat_sessions.h"
#include "server/resources/comparisons.h"
#include "server/resources/fits.h"
#include "server/resources/monitors.h"

namespace assay::server::api {
namespace {

v1::ApiKeyInfo ApiKeyInfoFromRecord(const storage::ApiKeyRecord& record) {
  v1::ApiKeyInfo info;
  info.set_prefix(record.prefix);
  info.set_role(static_cast<v1::Role>(record.role));
  info.set_description(record.description);
  info.set_created_at(record.created_at);
  info.set_revoked(record.revoked);
  return info;
}

// A step of a live resource (a session, a comparison): brings it into memory on the executor
// (`manager->Load(who, id)`), then runs `step` as a CommitQueue work.
template <typename Manager, typename Req, typename Resp, typename Step>
void LiveStep(const ServerDeps& deps, Manager* manager, const std::string& (Req::*id)() const,
              Call call, const Req& req, Resp* resp, Done done, Step step) {
  RunPreparedWrite(
      deps, std::move(call), Role::kWrite,
      [manager, id, &req](const Principal& who) { return manager->Load(who, (req.*id)()); },
      [manager, &req, resp, step](WriteContext& ctx, const Principal& who,
                                  const std::shared_ptr<typename Manager::Live>& live) {
        return (manager->*step)(ctx, who, req, live, resp);
      },
      std::move(done));
}

template <typename Req, typename Resp, typename Step>
void SessionStep(const ServerDeps& deps, Call call, const Req& req, Resp* resp, Done done,
                 Step step) {
  LiveStep(deps, deps.cat, &Req::session_id, std::move(call), req, resp, std::move(done), step);
}

}  // namespace

std::string MethodName(const google::protobuf::Descriptor* request) {
  absl::string_view name = request->name();
  if (name == "LabelBatch") return "SubmitLabelBatch";
  absl::ConsumeSuffix(&name, "Request");
  return std::string(name);
}

// AuditService

void CreateAudit(const ServerDeps& deps, Call call, const v1::CreateAuditRequest& req,
                 v1::Audit* resp, Done done) {
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return deps.audits->Create(ctx, who, req, resp);
      },
      std::move(done));
}

void GetAudit(const ServerDeps& deps, Call call, const v1::GetAuditRequest& req, v1::Audit* resp,
              Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) {
        return deps.audits->Get(who, req.audit_id(), resp);
      },
      std::move(done));
}

void ListAudits(const ServerDeps& deps, Call call, const v1::ListAuditsRequest& req,
                v1::ListAuditsResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) { return deps.audits->List(who, req, resp); },
      std::move(done));
}

void ListSessionSteps(const ServerDeps& deps, Call call, const v1::ListSessionStepsRequest& req,
                      v1::ListSessionStepsResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) { return deps.cat->ListSteps(who, req, resp); },
      std::move(done));
}

void ListAuditSteps(const ServerDeps& deps, Call call, const v1::ListAuditStepsRequest& req,
                    v1::ListAuditStepsResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) { return deps.audits->ListSteps(who, req, resp); },
      std::move(done));
}

void HandOutCases(const ServerDeps& deps, Call call, const v1::HandOutCasesRequest& req,
                  v1::HandOutCasesResponse* resp, Done done) {
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return deps.audits->HandOut(ctx, who, req, resp);
      },
      std::move(done));
}

absl::Status SubmitLabelWork(const ServerDeps& deps, WriteContext& ctx, const Principal& who,
                             const v1::SubmitLabelRequest& req, v1::SubmitLabelResponse* resp) {
  return deps.audits->Label(ctx, who, req, resp);
}

void SubmitLabel(const ServerDeps& deps, Call call, const v1::SubmitLabelRequest& req,
                 v1::SubmitLabelResponse* resp, Done done) {
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return SubmitLabelWork(deps, ctx, who, req, resp);
      },
      std::move(done));
}

absl::Status LabelBatchWork(const ServerDeps& deps, WriteContext& ctx, const Principal& who,
                            const v1::LabelBatch& batch, v1::LabelBatchResponse* resp) {
  if (batch.labels().empty() || batch.labels_size() > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels: 1 to 1000 per batch, got ", batch.labels_size()));
  }
  for (const v1::SubmitLabelRequest& label : batch.labels()) {
    v1::SubmitLabelResponse* result = resp->add_results();
    // A label rejected by its checks has changed nothing and fails alone; one that failed after a
    // change (the database failing) fails the whole batch, which is then undone.
    bool failed_after_change = false;
    const absl::Status status = ctx.RunChecked(
        [&](WriteContext& nested) { return SubmitLabelWork(deps, nested, who, label, result); },
        &failed_after_change);
    if (failed_after_change) return status;
    if (!status.ok()) {
      const absl::Status shown = PublicStatus(status);
      result->Clear();
      result->set_case_id(label.case_id());
      result->set_error_code(static_cast<int>(shown.code()));
      result->set_error_message(std::string(shown.message()));
    }
  }
  return absl::OkStatus();
}

void SubmitLabelBatch(const ServerDeps& deps, Call call, const v1::LabelBatch& req,
                      v1::LabelBatchResponse* resp, Done done) {
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return LabelBatchWork(deps, ctx, who, req, resp);
      },
      std::move(done));
}

void VoidCase(const ServerDeps& deps, Call call, const v1::VoidCaseRequest& req,
              v1::VoidCaseResponse* resp, Done done) {
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return deps.audits->Void(ctx, who, req, resp);
      },
      std::move(done));
}

// BenchmarkService

void CreateBenchmark(const ServerDeps& deps, Call call, const v1::CreateBenchmarkRequest& req,
                     v1::Benchmark* resp, Done done) {
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return deps.benchmarks->Create(ctx, who, req, resp);
      },
      std::move(done));
}

void GetBenchmark(const ServerDeps& deps, Call call, const v1::GetBenchmarkRequest& req,
                  v1::Benchmark* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) {
        return deps.benchmarks->Get(who, req.benchmark_id(), resp);
      },
      std::move(done));
}

void ListBenchmarks(const ServerDeps& deps, Call call, const v1::ListBenchmarksRequest& req,
                    v1::ListBenchmarksResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) { return deps.benchmarks->List(who, req, resp); },
      std::move(done));
}

void ListBenchmarkItems(const ServerDeps& deps, Call call, const v1::ListBenchmarkItemsRequest& req,
                        v1::ListBenchmarkItemsResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) {
        return deps.benchmarks->ListItems(who, req, resp);
      },
      std::move(done));
}

absl::Status UploadChunkWork(const ServerDeps& deps, WriteContext& ctx, const Principal& who,
                             const std::string& benchmark_id,
                             const v1::UploadResponsesRequest& chunk, int64_t chunk_no,
                             v1::UploadResponsesResponse* resp) {
  return deps.benchmarks->UploadChunk(ctx, who, benchmark_id, chunk, chunk_no, resp);
}

absl::Status FinishUpload(const ServerDeps& deps, const Principal& who,
                          const std::string& benchmark_id, v1::UploadResponsesResponse* resp) {
  return deps.benchmarks->Get(who, benchmark_id, resp->mutable_benchmark());
}

void UploadChunk(const ServerDeps& deps, Call call, const v1::UploadResponsesRequest& req,
                 v1::UploadResponsesResponse* resp, Done done) {
  if (req.benchmark_id().empty()) {
    done(absl::InvalidArgumentError("benchmark_id: required"));
    return;
  }
  Call reply_call{call.authorization, call.cancelled};
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return UploadChunkWork(deps, ctx, who, req.benchmark_id(), req, 1, resp);
      },
      // Once durable, the reply's benchmark is read on the executor (works must not read).
      [&deps, &req, resp, reply_call = std::move(reply_call), done](absl::Status written) mutable {
        if (!written.ok()) {
          done(written);
          return;
        }
        RunRead(
            deps, std::move(reply_call), Role::kWrite,
            [&deps, &req, resp](const Principal& who) {
              return FinishUpload(deps, who, req.benchmark_id(), resp);
            },
            std::move(done));
      });
}

void StartFit(const ServerDeps& deps, Call call, const v1::StartFitRequest& req, v1::Fit* resp,
              Done done) {
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return deps.fits->StartFit(ctx, who, req, resp);
      },
      std::move(done));
}

void GetFit(const ServerDeps& deps, Call call, const v1::GetFitRequest& req, v1::Fit* resp,
            Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) { return deps.fits->Get(who, req.fit_id(), resp); },
      std::move(done));
}

void ListFits(const ServerDeps& deps, Call call, const v1::ListFitsRequest& req,
              v1::ListFitsResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) { return deps.fits->List(who, req, resp); },
      std::move(done));
}

void CancelFit(const ServerDeps& deps, Call call, const v1::CancelFitRequest& req, v1::Fit* resp,
               Done done) {
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return deps.fits->Cancel(ctx, who, req, resp);
      },
      std::move(done));
}

void SetCurrentFit(const ServerDeps& deps, Call call, const v1::SetCurrentFitRequest& req,
                   v1::Benchmark* resp, Done done) {
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return deps.fits->SetCurrent(ctx, who, req, resp);
      },
      std::move(done));
}

void ListAbilities(const ServerDeps& deps, Call call, const v1::ListAbilitiesRequest& req,
                   v1::ListAbilitiesResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) {
        return deps.fits->ListAbilities(who, req, resp);
      },
      std::move(done));
}

void ListItemParams(const ServerDeps& deps, Call call, const v1::ListItemParamsRequest& req,
                    v1::ListItemParamsResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) {
        return deps.fits->ListItemParams(who, req, resp);
      },
      std::move(done));
}

void ScoreModel(const ServerDeps& deps, Call call, const v1::ScoreModelRequest& req,
                v1::ScoreModelResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) { return deps.fits->Score(who, req, resp); },
      std::move(done));
}

// CatService

void StartSession(const ServerDeps& deps, Call call, const v1::StartSessionRequest& req,
                  v1::CatSession* resp, Done done) {
  CatManager* cat = deps.cat;
  RunPreparedWrite(
      deps, std::move(call), Role::kWrite,
      [cat, &req](const Principal& who) { return cat->PrepareStart(who, req); },
      [cat, &req, resp](WriteContext& ctx, const Principal& who,
                        const CatManager::StartPlan& plan) {
        return cat->Start(ctx, who, req, plan, resp);
      },
      std::move(done));
}

void NextItems(const ServerDeps& deps, Call call, const v1::NextItemsRequest& req,
               v1::NextItemsResponse* resp, Done done) {
  SessionStep(deps, std::move(call), req, resp, std::move(done), &CatManager::Next);
}

void SubmitOutcomes(const ServerDeps& deps, Call call, const v1::SubmitOutcomesRequest& req,
                    v1::CatSession* resp, Done done) {
  SessionStep(deps, std::move(call), req, resp, std::move(done), &CatManager::Submit);
}

void GetSession(const ServerDeps& deps, Call call, const v1::GetSessionRequest& req,
                v1::CatSession* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) {
        return deps.cat->Get(who, req.session_id(), req.view(), resp);
      },
      std::move(done));
}

void ListSessions(const ServerDeps& deps, Call call, const v1::ListSessionsRequest& req,
                  v1::ListSessionsResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) { return deps.cat->List(who, req, resp); },
      std::move(done));
}

// CompareService

void CreateComparison(const ServerDeps& deps, Call call, const v1::CreateComparisonRequest& req,
                      v1::Comparison* resp, Done done) {
  CompareManager* comparisons = deps.comparisons;
  RunPreparedWrite(
      deps, std::move(call), Role::kWrite,
      [comparisons, &req](const Principal& who) { return comparisons->PrepareCreate(who, req); },
      [comparisons, &req, resp](WriteContext& ctx, const Principal& who,
                                const CompareManager::CreatePlan& plan) {
        return comparisons->Create(ctx, who, req, plan, resp);
      },
      std::move(done));
}

void NextComparisonItems(const ServerDeps& deps, Call call,
                         const v1::NextComparisonItemsRequest& req,
                         v1::NextComparisonItemsResponse* resp, Done done) {
  LiveStep(deps, deps.comparisons, &v1::NextComparisonItemsRequest::comparison_id,
           std::move(call), req, resp, std::move(done), &CompareManager::Next);
}

void SubmitComparisonOutcomes(const ServerDeps& deps, Call call,
                              const v1::SubmitComparisonOutcomesRequest& req,
                              v1::Comparison* resp, Done done) {
  LiveStep(deps, deps.comparisons, &v1::SubmitComparisonOutcomesRequest::comparison_id,
           std::move(call), req, resp, std::move(done), &CompareManager::Submit);
}

void GetComparison(const ServerDeps& deps, Call call, const v1::GetComparisonRequest& req,
                   v1::Comparison* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) {
        return deps.comparisons->Get(who, req.comparison_id(), req.view(), resp);
      },
      std::move(done));
}

void ListComparisons(const ServerDeps& deps, Call call, const v1::ListComparisonsRequest& req,
                     v1::ListComparisonsResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) { return deps.comparisons->List(who, req, resp); },
      std::move(done));
}

// MonitorService

void CreateMonitor(const ServerDeps& deps, Call call, const v1::CreateMonitorRequest& req,
                   v1::Monitor* resp, Done done) {
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return deps.monitors->Create(ctx, who, req, resp);
      },
      std::move(done));
}

void GetMonitor(const ServerDeps& deps, Call call, const v1::GetMonitorRequest& req,
                v1::Monitor* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) {
        return deps.monitors->Get(who, req.monitor_id(), resp);
      },
      std::move(done));
}

void ListMonitors(const ServerDeps& deps, Call call, const v1::ListMonitorsRequest& req,
                  v1::ListMonitorsResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, &req, resp](const Principal& who) { return deps.monitors->List(who, req, resp); },
      std::move(done));
}

absl::Status SubmitScoresWork(const ServerDeps& deps, WriteContext& ctx, const Principal& who,
                              const v1::SubmitScoresRequest& req, v1::SubmitScoresResponse* resp) {
  return deps.monitors->Submit(ctx, who, req, resp);
}

void SubmitScores(const ServerDeps& deps, Call call, const v1::SubmitScoresRequest& req,
                  v1::SubmitScoresResponse* resp, Done done) {
  RunWrite(
      deps, std::move(call), Role::kWrite,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) {
        return SubmitScoresWork(deps, ctx, who, req, resp);
      },
      std::move(done));
}

// SystemService

void GetServerInfo(const ServerDeps& deps, Call call, const v1::GetServerInfoRequest& /*req*/,
                   v1::GetServerInfoResponse* resp, Done done) {
  // No key needed: clients check the version before they have one.
  RunOnExecutor(
      deps, std::move(call),
      [&deps, resp]() -> absl::Status {
        ASSIGN_OR_RETURN(int schema, deps.storage->SchemaVersion());
        resp->set_version(Version());
        resp->set_schema_version(schema);
        resp->set_uptime_seconds(absl::ToInt64Seconds(absl::Now() - deps.started));
        return absl::OkStatus();
      },
      std::move(done));
}

// TeamService

// WhoAmI's limits: each with what the team uses of it.
absl::Status TeamUsage(const ServerDeps& deps, const Principal& who, v1::WhoAmIResponse* resp) {
  const TeamLimits limits = deps.quotas->Of(who.team_id);
  for (const LimitInfo& info : AllLimits()) {
    v1::TeamLimit& out = *resp->add_limits();
    out.set_name(info.name);
    out.set_description(info.help);
    out.set_limit(limits.Get(info.limit));
    const std::optional<storage::Holding> holding = HoldingOf(info.limit);
    if (info.limit == Limit::kWriteBurst && limits.Get(Limit::kWriteRate) > 0) {
      out.set_used(std::max(0.0, limits.Burst() - deps.quotas->WriteTokens(who.team_id)));
    } else if (info.limit == Limit::kConcurrentFits) {
      out.set_used(static_cast<double>(deps.fits->CountOfTeam(who.team_id).running));
    } else if (holding.has_value()) {
      ASSIGN_OR_RETURN(int64_t used, deps.storage->Reads()->CountHolding(*holding, who.team_id));
      out.set_used(static_cast<double>(used));
    }
  }
  return absl::OkStatus();
}

void WhoAmI(const ServerDeps& deps, Call call, const v1::WhoAmIRequest& /*req*/,
            v1::WhoAmIResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kRead,
      [&deps, resp](const Principal& who) -> absl::Status {
        resp->set_team(who.team);
        resp->set_role(static_cast<v1::Role>(who.role));
        resp->set_key_prefix(who.key_prefix);
        if (deps.quotas == nullptr) return absl::OkStatus();
        return TeamUsage(deps, who, resp);
      },
      std::move(done));
}

void CreateApiKey(const ServerDeps& deps, Call call, const v1::CreateApiKeyRequest& req,
                  v1::CreateApiKeyResponse* resp, Done done) {
  RunWrite(
      deps, std::move(call), Role::kAdmin,
      [&req, resp](WriteContext& ctx, const Principal& who) -> absl::Status {
        const int role = req.role();
        if (role < 1 || role > 3) {
          return absl::InvalidArgumentError("role: must be ROLE_READ, ROLE_WRITE or ROLE_ADMIN");
        }
        if (req.description().size() > 200) {
          return absl::InvalidArgumentError("description: at most 200 bytes");
        }
        ASSIGN_OR_RETURN(auto created,
                         server::CreateApiKey(ctx.txn(), who.team_id, static_cast<Role>(role),
                                              req.description(), absl::ToUnixSeconds(absl::Now())));
        resp->set_key(created.first);
        *resp->mutable_info() = ApiKeyInfoFromRecord(created.second);
        return absl::OkStatus();
      },
      std::move(done));
}

void ListApiKeys(const ServerDeps& deps, Call call, const v1::ListApiKeysRequest& /*req*/,
                 v1::ListApiKeysResponse* resp, Done done) {
  RunRead(
      deps, std::move(call), Role::kAdmin,
      [&deps, resp](const Principal& who) -> absl::Status {
        ASSIGN_OR_RETURN(std::vector<storage::ApiKeyRecord> keys,
                         deps.storage->Reads()->ListApiKeys(who.team_id));
        for (const auto& k : keys) *resp->add_keys() = ApiKeyInfoFromRecord(k);
        return absl::OkStatus();
      },
      std::move(done));
}

void RevokeApiKey(const ServerDeps& deps, Call call, const v1::RevokeApiKeyRequest& req,
                  v1::RevokeApiKeyResponse* resp, Done done) {
  RunWrite(
      deps, std::move(call), Role::kAdmin,
      [&deps, &req, resp](WriteContext& ctx, const Principal& who) -> absl::Status {
        if (req.prefix().empty()) return absl::InvalidArgumentError("prefix: required");
        ASSIGN_OR_RETURN(
            storage::ApiKeyRecord key,
            ctx.txn().RevokeApiKey(who.team_id, req.prefix(), absl::ToUnixSeconds(absl::Now())));
        *resp->mutable_info() = ApiKeyInfoFromRecord(key);
        Authenticator* auth = deps.auth;
        ctx.OnCommit([auth] { auth->ClearCache(); });
        return absl::OkStatus();
      },
      std::move(done));
}

}  // namespace assay::server::api
