#include "server/http/routes.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/api/public_status.h"
#include "server/api/unary.h"
#include "server/api/watch.h"

namespace assay::server::http {
namespace {

// Server-Sent Events from one api::WatchSource: each message is an event
// `id: <sequence>\nevent: update\ndata: <proto3 JSON>\n\n`; a client that reconnects with
// Last-Event-ID resumes after that message (WatchSource::start's `after`).
template <typename Msg>
class SseStream final : public EventStream, public Watcher<Msg> {
 public:
  SseStream(api::WatchSource<Msg> source, absl::Duration heartbeat)
      : source_(std::move(source)), heartbeat_(heartbeat) {}

  ~SseStream() override {
    std::shared_ptr<void> token;
    {
      absl::MutexLock lock(&mu_);
      token = token_;
    }
    if (token != nullptr) source_.unwatch(token, this);
  }

  // Authenticates and registers with the source (on the executor); blocks until done.
  absl::Status Start(const ServerDeps& deps, const std::string& authorization,
                     std::optional<int64_t> after) {
    absl::Notification started;
    absl::Status status;
    AuthenticateThen(deps, authorization, Role::kRead, [&](absl::StatusOr<Principal> who) {
      absl::StatusOr<std::shared_ptr<void>> token =
          who.ok() ? source_.start(*who, this, after) : who.status();
      if (token.ok()) {
        absl::MutexLock lock(&mu_);
        token_ = *token;
      }
      status = token.status();
      started.Notify();
    });
    started.WaitForNotification();
    return status;
  }

  void Push(const Msg& message, bool final) override {
    absl::MutexLock lock(&mu_);
    if (ending_) return;
    if (source_.coalesce && !pending_.empty()) pending_.pop_back();
    if (pending_.size() >= source_.max_queued) {
      EndLocked(absl::ResourceExhaustedError("watcher fell too far behind; watch again"));
      return;
    }
    pending_.push_back(message);
    if (final) ending_ = true;
  }

  void Drop(absl::string_view reason) override {
    absl::MutexLock lock(&mu_);
    EndLocked(absl::UnavailableError(reason));
  }

  void End(const std::string& reason) override {
    absl::MutexLock lock(&mu_);
    EndLocked(absl::UnavailableError(reason));
  }

  ssize_t Read(char* buf, size_t max) override {
    absl::MutexLock lock(&mu_);
    if (sent_ == out_.size()) {
      out_.clear();
      sent_ = 0;
      const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !pending_.empty() || error_.has_value() || ending_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), heartbeat_);
      if (!pending_.empty()) {
        const Msg message = std::move(pending_.front());
        pending_.pop_front();
        absl::StrAppend(&out_, "id: ", source_.sequence(message),
                        "\nevent: update\ndata: ", ToJson(message), "\n\n");
      } else if (error_.has_value()) {
        absl::StrAppend(&out_, "event: error\ndata: ", ErrorJson(*error_), "\n\n");
        error_.reset();
        ending_ = true;
      } else if (ending_) {
        return -1;  // the final event has been sent
      } else {
        out_ = ": heartbeat\n\n";
      }
    }
    const size_t n = std::min(max, out_.size() - sent_);
    std::memcpy(buf, out_.data() + sent_, n);
    sent_ += n;
    return static_cast<ssize_t>(n);
  }

 private:
  void EndLocked(absl::Status why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (ending_) return;
    pending_.clear();
    error_ = std::move(why);
  }

  const api::WatchSource<Msg> source_;
  const absl::Duration heartbeat_;
  absl::Mutex mu_;
  std::shared_ptr<void> token_ ABSL_GUARDED_BY(mu_);
  std::deque<Msg> pending_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> error_ ABSL_GUARDED_BY(mu_);  // to send, then end
  bool ending_ ABSL_GUARDED_BY(mu_) = false;  // nothing is queued after what is pending
  std::string out_ ABSL_GUARDED_BY(mu_);      // the event being sent
  size_t sent_ ABSL_GUARDED_BY(mu_) = 0;
};

// Splits "/v1/audits/x" into {"v1", "audits", "x"}; "" for a trailing slash's empty segment.
std::vector<std::string> Segments(const std::string& path) {
  absl::string_view p = path;
  absl::ConsumePrefix(&p, "/");
  return absl::StrSplit(p, '/');
}

// Matches `path` against a route's segments, filling the path variables.
bool Match(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
           Params* vars) {
  if (pattern.size() != path.size()) return false;
  vars->clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    const std::string& want = pattern[i];
    absl::string_view got = path[i];
    if (want.empty() || want[0] != '{') {
      if (got != want) return false;
      continue;
    }
    const size_t close = want.find('}');
    const absl::string_view verb = absl::string_view(want).substr(close + 1);  // "" or ":cancel"
    if (!verb.empty() && !absl::ConsumeSuffix(&got, verb)) return false;
    if (got.empty() || got.find(':') != absl::string_view::npos) return false;
    vars->emplace_back(want.substr(1, close - 1), std::string(got));
  }
  return true;
}

}  // namespace

Reply ErrorReply(const absl::Status& status) {
  Reply reply;
  reply.status = HttpStatusOf(status.code());
  reply.body = ErrorJson(status);
  // Over a rate limit: when to retry (whole seconds, rounded up; the JSON's RetryInfo has the
  // exact delay). Over a capacity limit (a negative delay): nothing, retrying will not help.
  const std::optional<absl::Duration> delay = RetryDelayOf(status);
  if (delay.has_value() && *delay > absl::ZeroDuration()) {
    reply.headers.emplace_back(
        "Retry-After", absl::StrCat(absl::ToInt64Seconds(absl::Ceil(*delay, absl::Seconds(1)))));
  } else if (!delay.has_value() && status.code() == absl::StatusCode::kResourceExhausted) {
    reply.headers.emplace_back("Retry-After", "1");  // a full queue: busy for a moment
  }
  return reply;
}

void Router::Add(RouteInfo info, Handler handler) {
  std::vector<std::string> segments = Segments(info.pattern);
  for (const std::string& s : segments) {
    if (!s.empty() && s[0] == '{') info.path_vars.push_back(s.substr(1, s.find('}') - 1));
  }
  routes_.push_back(Route{std::move(info), std::move(segments), std::move(handler)});
}

std::vector<RouteInfo> Router::Describe() const {
  std::vector<RouteInfo> out;
  for (const Route& r : routes_) out.push_back(r.info);
  return out;
}

template <typename Req, typename Resp, typename Op>
void Router::Unary(const std::string& method, const std::string& pattern, Op op) {
  Add(RouteInfo{method, pattern, Req::descriptor(), Resp::descriptor(), false, {}},
      [this, op](const Request& r, const Params& path) {
        Req req;
        if (absl::Status filled = FillRequest(r.body, r.query, path, &req); !filled.ok()) {
          return ErrorReply(filled);
        }
        Resp resp;
        absl::Notification done;
        absl::Status status;
        api::Invoke<Req, Resp>(deps_, "http", op, Call{r.authorization, nullptr}, req, &resp,
                               [&](absl::Status s) {
                                 status = std::move(s);
                                 done.Notify();
                               });
        done.WaitForNotification();
        if (!status.ok()) return ErrorReply(PublicStatus(status));
        Reply reply;
        reply.body = ToJson(resp);
        return reply;
      });
}

template <typename Req, typename Msg, typename Source>
void Router::Events(const std::string& pattern, Source source) {
  Add(RouteInfo{"GET", pattern, Req::descriptor(), Msg::descriptor(), true, {}},
      [this, source](const Request& r, const Params& path) {
        Req req;
        if (absl::Status filled = FillRequest("", r.query, path, &req); !filled.ok()) {
          return ErrorReply(filled);
        }
        std::optional<int64_t> after;
        if (!r.last_event_id.empty()) {
          int64_t id;
          if (!absl::SimpleAtoi(r.last_event_id, &id)) {
            return ErrorReply(absl::InvalidArgumentError(absl::StrCat(
                "Last-Event-ID: '", r.last_event_id, "' is not an event id of this stream")));
          }
          after = id;
        }
        auto stream = std::make_shared<SseStream<Msg>>(source(deps_, req), heartbeat_);
        if (absl::Status started = stream->Start(deps_, r.authorization, after); !started.ok()) {
          return ErrorReply(PublicStatus(started));
        }
        if (!Track(stream))
          return ErrorReply(absl::UnavailableError("the server is shutting down"));
        Reply reply;
        reply.content_type = "text/event-stream";
        reply.headers.emplace_back("Cache-Control", "no-cache");
        reply.stream = std::move(stream);
        return reply;
      });
}

bool Router::Track(const std::shared_ptr<EventStream>& stream) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [](const std::weak_ptr<EventStream>& s) { return s.expired(); }),
                 streams_.end());
  streams_.push_back(stream);
  return true;
}

void Router::EndStreams(const std::string& reason, absl::Duration grace) {
  std::vector<std::weak_ptr<EventStream>> open;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    open.swap(streams_);
  }
  for (const auto& weak : open) {
    if (auto s = weak.lock()) s->End(reason);
  }
  const absl::Time deadline = absl::Now() + grace;
  for (const auto& weak : open) {
    while (!weak.expired() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  }
}

Reply Router::Handle(const Request& request) {
  const std::vector<std::string> path = Segments(request.path);
  Params vars;
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    if (!Match(route.segments, path, &vars)) continue;
    if (route.info.method == request.method) return route.handler(request, vars);
    allowed.push_back(route.info.method);
  }
  if (allowed.empty()) {
    return ErrorReply(absl::NotFoundError(absl::StrCat("path: no route ", request.path)));
  }
  Reply reply = ErrorReply(absl::UnimplementedError(
      absl::StrCat("method: ", request.path, " answers ", absl::StrJoin(allowed, ", "))));
  reply.status = 405;
  reply.headers.emplace_back("Allow", absl::StrJoin(allowed, ", "));
  return reply;
}

Router::Router(const ServerDeps& deps, absl::Duration heartbeat)
    : deps_(deps), heartbeat_(heartbeat) {
  // Keep this list and README.md's route table in step.
  // Benchmarks and calibrations.
  Unary<v1::ListBenchmarksRequest, v1::ListBenchmarksResponse>("GET", "/v1/benchmarks",
                                                               &api::ListBenchmarks);
  Unary<v1::CreateBenchmarkRequest, v1::Benchmark>("POST", "/v1/benchmarks", &api::CreateBenchmark);
  Unary<v1::GetBenchmarkRequest, v1::Benchmark>("GET", "/v1/benchmarks/{benchmark_id}",
                                                &api::GetBenchmark);
  Unary<v1::UploadResponsesRequest, v1::UploadResponsesResponse>(
      "POST", "/v1/benchmarks/{benchmark_id}/responses", &api::UploadChunk);
  Unary<v1::ListBenchmarkItemsRequest, v1::ListBenchmarkItemsResponse>(
      "GET", "/v1/benchmarks/{benchmark_id}/items", &api::ListBenchmarkItems);
  Unary<v1::ListAbilitiesRequest, v1::ListAbilitiesResponse>(
      "GET", "/v1/benchmarks/{benchmark_id}/abilities", &api::ListAbilities);
  Unary<v1::ListItemParamsRequest, v1::ListItemParamsResponse>(
      "GET", "/v1/benchmarks/{benchmark_id}/itemParams", &api::ListItemParams);
  Unary<v1::ScoreModelRequest, v1::ScoreModelResponse>(
      "POST", "/v1/benchmarks/{benchmark_id}:score", &api::ScoreModel);
  Unary<v1::ListFitsRequest, v1::ListFitsResponse>("GET", "/v1/benchmarks/{benchmark_id}/fits",
                                                   &api::ListFits);
  Unary<v1::StartFitRequest, v1::Fit>("POST", "/v1/benchmarks/{benchmark_id}/fits", &api::StartFit);
  // The team's fit queue: ListFits without a benchmark.
  Unary<v1::ListFitsRequest, v1::ListFitsResponse>("GET", "/v1/fits", &api::ListFits);
  Unary<v1::GetFitRequest, v1::Fit>("GET", "/v1/fits/{fit_id}", &api::GetFit);
  Unary<v1::ListAbilitiesRequest, v1::ListAbilitiesResponse>("GET", "/v1/fits/{fit_id}/abilities",
                                                             &api::ListAbilities);
  Unary<v1::ListItemParamsRequest, v1::ListItemParamsResponse>(
      "GET", "/v1/fits/{fit_id}/itemParams", &api::ListItemParams);
  Unary<v1::CancelFitRequest, v1::Fit>("POST", "/v1/fits/{fit_id}:cancel", &api::CancelFit);
  Unary<v1::SetCurrentFitRequest, v1::Benchmark>("POST", "/v1/fits/{fit_id}:setCurrent",
                                                 &api::SetCurrentFit);
  Events<v1::WatchFitRequest, v1::Fit>("/v1/fits/{fit_id}/events", &api::WatchFit);
  // Audits.
  Unary<v1::ListAuditsRequest, v1::ListAuditsResponse>("GET", "/v1/audits", &api::ListAudits);
  Unary<v1::CreateAuditRequest, v1::Audit>("POST", "/v1/audits", &api::CreateAudit);
  Unary<v1::GetAuditRequest, v1::Audit>("GET", "/v1/audits/{audit_id}", &api::GetAudit);
  Unary<v1::HandOutCasesRequest, v1::HandOutCasesResponse>("POST", "/v1/audits/{audit_id}/cases",
                                                           &api::HandOutCases);
  Unary<v1::SubmitLabelRequest, v1::SubmitLabelResponse>("POST", "/v1/audits/{audit_id}/labels",
                                                         &api::SubmitLabel);
  Unary<v1::LabelBatch, v1::LabelBatchResponse>("POST", "/v1/labels:batch",
                                                &api::SubmitLabelBatch);
  Unary<v1::VoidCaseRequest, v1::VoidCaseResponse>(
      "POST", "/v1/audits/{audit_id}/cases/{case_id}:void", &api::VoidCase);
  Unary<v1::ListAuditStepsRequest, v1::ListAuditStepsResponse>(
      "GET", "/v1/audits/{audit_id}/steps", &api::ListAuditSteps);
  Events<v1::WatchAuditRequest, v1::AuditUpdate>("/v1/audits/{audit_id}/events", &api::WatchAudit);
  // Monitors.
  Unary<v1::ListMonitorsRequest, v1::ListMonitorsResponse>("GET", "/v1/monitors",
                                                           &api::ListMonitors);
  Unary<v1::CreateMonitorRequest, v1::Monitor>("POST", "/v1/monitors", &api::CreateMonitor);
  Unary<v1::GetMonitorRequest, v1::Monitor>("GET", "/v1/monitors/{monitor_id}", &api::GetMonitor);
  Unary<v1::SubmitScoresRequest, v1::SubmitScoresResponse>(
      "POST", "/v1/monitors/{monitor_id}/scores", &api::SubmitScores);
  Events<v1::WatchMonitorRequest, v1::MonitorUpdate>("/v1/monitors/{monitor_id}/events",
                                                     &api::WatchMonitor);
  // Adaptive-testing sessions.
  Unary<v1::ListSessionsRequest, v1::ListSessionsResponse>("GET", "/v1/sessions",
                                                           &api::ListSessions);
  Unary<v1::StartSessionRequest, v1::CatSession>("POST", "/v1/sessions", &api::StartSession);
  Unary<v1::GetSessionRequest, v1::CatSession>("GET", "/v1/sessions/{session_id}",
                                               &api::GetSession);
  Unary<v1::NextItemsRequest, v1::NextItemsResponse>("POST", "/v1/sessions/{session_id}:next",
                                                     &api::NextItems);
  Unary<v1::SubmitOutcomesRequest, v1::CatSession>("POST", "/v1/sessions/{session_id}/outcomes",
                                                   &api::SubmitOutcomes);
  Unary<v1::ListSessionStepsRequest, v1::ListSessionStepsResponse>(
      "GET", "/v1/sessions/{session_id}/steps", &api::ListSessionSteps);
  Events<v1::WatchSessionRequest, v1::CatSession>("/v1/sessions/{session_id}/events",
                                                  &api::WatchSession);
  // Comparisons.
  Unary<v1::ListComparisonsRequest, v1::ListComparisonsResponse>("GET", "/v1/comparisons",
                                                                 &api::ListComparisons);
  Unary<v1::CreateComparisonRequest, v1::Comparison>("POST", "/v1/comparisons",
                                                     &api::CreateComparison);
  Unary<v1::GetComparisonRequest, v1::Comparison>("GET", "/v1/comparisons/{comparison_id}",
                                                  &api::GetComparison);
  Unary<v1::NextComparisonItemsRequest, v1::NextComparisonItemsResponse>(
      "POST", "/v1/comparisons/{comparison_id}:next", &api::NextComparisonItems);
  Unary<v1::SubmitComparisonOutcomesRequest, v1::Comparison>(
      "POST", "/v1/comparisons/{comparison_id}/outcomes", &api::SubmitComparisonOutcomes);
  Events<v1::WatchComparisonRequest, v1::Comparison>("/v1/comparisons/{comparison_id}/events",
                                                     &api::WatchComparison);
  // Teams and the server.
  Unary<v1::WhoAmIRequest, v1::WhoAmIResponse>("GET", "/v1/whoami", &api::WhoAmI);
  Unary<v1::ListApiKeysRequest, v1::ListApiKeysResponse>("GET", "/v1/keys", &api::ListApiKeys);
  Unary<v1::CreateApiKeyRequest, v1::CreateApiKeyResponse>("POST", "/v1/keys", &api::CreateApiKey);
  Unary<v1::RevokeApiKeyRequest, v1::RevokeApiKeyResponse>("POST", "/v1/keys/{prefix}:revoke",
                                                           &api::RevokeApiKey);
  Unary<v1::GetServerInfoRequest, v1::GetServerInfoResponse>("GET", "/v1/info",
                                                             &api::GetServerInfo);
}

}  // namespace assay::server::http
