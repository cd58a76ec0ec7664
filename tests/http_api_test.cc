// The HTTP/JSON adapter through a real server on loopback (HTTP and gRPC on port 0): every JSON
// route returns what its gRPC call returns (MATH-500 uploaded and fitted; messages compared field by
// field); errors map to HTTP codes with the field named; team isolation and keys hold; an event
// stream delivers every audit update in order while labels arrive over gRPC, resumes after a
// dropped connection without gaps or repeats, and ends on shutdown; malformed requests change
// nothing and the server goes on serving.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "assay/v1/system.pb.h"
#include "assay/v1/teams.pb.h"
#include "client/import/csv.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "nlohmann/json.hpp"
#include "server/admin.h"
#include "server/http/messages.h"
#include "server/http/routes.h"
#include "tests/testing/http_client.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/service_fixture.h"

namespace assay::server {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::Ctx;
using testing::Headers;
using testing::HttpResponse;
using testing::SseClient;
using testing::ToAbsl;
using ::testing::HasSubstr;

constexpr char kMath500[] = ASSAY_SHARED_DATA "/math500.csv";

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(m, &out).ok());
  return out;
}

class HttpApiTest : public testing::ServiceTest {
 protected:
  void SetUp() override {
    http_address_ = "127.0.0.1:0";
    http_idle_timeout_ = absl::Seconds(1);
    http_max_body_bytes_ = 64 << 10;
    ServiceTest::SetUp();
  }

  int port() const { return server_->http_port(); }

  // The Authorization header of `key`; none for "".
  static Headers Auth(const std::string& key) {
    if (key.empty()) return {};
    return {{"Authorization", "Bearer " + key}};
  }

  HttpResponse Get(const std::string& target, const std::string& key) {
    absl::StatusOr<HttpResponse> r = testing::Http(port(), "GET", target, Auth(key));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpResponse{};
  }
  HttpResponse Post(const std::string& target, const std::string& key, const std::string& body) {
    Headers h = Auth(key);
    h.emplace_back("Content-Type", "application/json");
    absl::StatusOr<HttpResponse> r = testing::Http(port(), "POST", target, h, body);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpResponse{};
  }

  template <typename M>
  static M Parse(const HttpResponse& r) {
    M m;
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "",
              "application/json");
    const auto parsed = google::protobuf::util::JsonStringToMessage(r.body, &m);
    EXPECT_TRUE(parsed.ok()) << parsed.ToString() << " in " << r.body;
    return m;
  }

  template <typename M>
  static void ExpectSame(const M& over_http, const M& over_grpc) {
    std::string diff;
    MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    EXPECT_TRUE(d.Compare(over_http, over_grpc)) << M::descriptor()->name() << ": " << diff;
  }

  // The error body of `r`: checks its shape, returns it.
  static nlohmann::json ErrorOf(const HttpResponse& r) {
    nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
    EXPECT_TRUE(body.is_object()) << r.body;
    if (!body.is_object()) return {};
    EXPECT_TRUE(body.contains("code") && body.contains("message") && body.contains("details"))
        << r.body;
    return body;
  }

  v1::Audit CreateAuditOverGrpc(int cases) {
    v1::CreateAuditRequest create;
    create.set_display_name("stream");
    create.mutable_config()->set_method(v1::AUDIT_METHOD_SR);
    create.mutable_config()->set_budget(10000);
    create.mutable_config()->set_max_samples(10000);
    v1::Audit audit;
    EXPECT_OK(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), create, &audit)));
    v1::HandOutCasesRequest hand;
    hand.set_audit_id(audit.id());
    for (int c = 0; c < cases; ++c) hand.add_cases()->set_case_id("c" + std::to_string(c));
    v1::HandOutCasesResponse handed;
    EXPECT_OK(ToAbsl(audits_->HandOutCases(Ctx(alpha_).get(), hand, &handed)));
    return audit;
  }

  void Label(const std::string& audit_id, int c) {
    v1::SubmitLabelRequest label;
    label.set_audit_id(audit_id);
    label.set_case_id("c" + std::to_string(c));
    label.set_y(c % 3 == 0 ? 0.0 : 1.0);
    v1::SubmitLabelResponse out;
    ASSERT_OK(ToAbsl(audits_->SubmitLabel(Ctx(alpha_).get(), label, &out)));
  }
};

TEST_F(HttpApiTest, EveryJsonRouteReturnsWhatTheGrpcCallReturns) {
  ASSERT_OK_AND_ASSIGN(irt::ResponseMatrix data, import::ReadResponsesCsv(kMath500));
  v1::CreateBenchmarkRequest create;
  create.set_name("MATH-500");
  std::string bm;
  const v1::Fit fit = UploadAndFit(data, create, &bm);
  ASSERT_EQ(fit.state(), v1::FIT_STATE_SUCCEEDED);

  {
    v1::ListBenchmarksResponse grpc;
    ASSERT_OK(ToAbsl(benchmarks_->ListBenchmarks(Ctx(alpha_read_).get(), {}, &grpc)));
    ExpectSame(Parse<v1::ListBenchmarksResponse>(Get("/v1/benchmarks", alpha_read_)), grpc);
    v1::GetBenchmarkRequest req;
    req.set_benchmark_id(bm);
    v1::Benchmark one;
    ASSERT_OK(ToAbsl(benchmarks_->GetBenchmark(Ctx(alpha_read_).get(), req, &one)));
    EXPECT_EQ(one.num_models(), data.num_models());
    ExpectSame(Parse<v1::Benchmark>(Get("/v1/benchmarks/" + bm, alpha_read_)), one);
  }
  {  // paging by query parameters, following the token
    v1::ListBenchmarkItemsRequest req;
    req.set_benchmark_id(bm);
    req.set_page_size(200);
    v1::ListBenchmarkItemsResponse first, second;
    ASSERT_OK(ToAbsl(benchmarks_->ListBenchmarkItems(Ctx(alpha_read_).get(), req, &first)));
    ASSERT_FALSE(first.next_page_token().empty());
    req.set_page_token(first.next_page_token());
    ASSERT_OK(ToAbsl(benchmarks_->ListBenchmarkItems(Ctx(alpha_read_).get(), req, &second)));
    ExpectSame(Parse<v1::ListBenchmarkItemsResponse>(
                   Get("/v1/benchmarks/" + bm + "/items?pageSize=200", alpha_read_)),
               first);
    ExpectSame(Parse<v1::ListBenchmarkItemsResponse>(
                   Get("/v1/benchmarks/" + bm + "/items?page_size=200&pageToken=" +
                           first.next_page_token(),
                       alpha_read_)),
               second);
  }
  {  // sorting by query parameters (enum by name, bool), by benchmark and by fit
    v1::ListAbilitiesRequest req;
    req.set_benchmark_id(bm);
    req.set_sort(v1::ABILITY_SORT_ACCURACY);
    req.set_descending(false);
    req.set_page_size(25);
    v1::ListAbilitiesResponse grpc;
    ASSERT_OK(ToAbsl(benchmarks_->ListAbilities(Ctx(alpha_read_).get(), req, &grpc)));
    ASSERT_EQ(grpc.abilities_size(), 25);
    ExpectSame(Parse<v1::ListAbilitiesResponse>(
                   Get("/v1/benchmarks/" + bm +
                           "/abilities?sort=ABILITY_SORT_ACCURACY&descending=false&pageSize=25",
                       alpha_read_)),
               grpc);
    v1::ListAbilitiesRequest by_fit;
    by_fit.set_fit_id(fit.id());
    by_fit.set_page_size(1000);
    ASSERT_OK(ToAbsl(benchmarks_->ListAbilities(Ctx(alpha_read_).get(), by_fit, &grpc)));
    ExpectSame(Parse<v1::ListAbilitiesResponse>(
                   Get("/v1/fits/" + fit.id() + "/abilities?pageSize=1000", alpha_read_)),
               grpc);
    v1::ListItemParamsRequest items;
    items.set_fit_id(fit.id());
    items.set_page_size(1000);
    v1::ListItemParamsResponse params;
    ASSERT_OK(ToAbsl(benchmarks_->ListItemParams(Ctx(alpha_read_).get(), items, &params)));
    ASSERT_EQ(params.items_size(), data.num_items());
    ExpectSame(Parse<v1::ListItemParamsResponse>(
                   Get("/v1/fits/" + fit.id() + "/itemParams?pageSize=1000", alpha_read_)),
               params);
    items.clear_fit_id();
    items.set_benchmark_id(bm);
    ExpectSame(Parse<v1::ListItemParamsResponse>(
                   Get("/v1/benchmarks/" + bm + "/itemParams?pageSize=1000", alpha_read_)),
               params);
  }
  {
    v1::GetFitRequest req;
    req.set_fit_id(fit.id());
    v1::Fit grpc;
    ASSERT_OK(ToAbsl(benchmarks_->GetFit(Ctx(alpha_read_).get(), req, &grpc)));
    ExpectSame(Parse<v1::Fit>(Get("/v1/fits/" + fit.id(), alpha_read_)), grpc);
    v1::ListFitsRequest list;
    list.set_benchmark_id(bm);
    v1::ListFitsResponse fits;
    ASSERT_OK(ToAbsl(benchmarks_->ListFits(Ctx(alpha_read_).get(), list, &fits)));
    ExpectSame(Parse<v1::ListFitsResponse>(Get("/v1/benchmarks/" + bm + "/fits", alpha_read_)),
               fits);
  }
  {  // a read with a body: scoring a model from its responses
    v1::ScoreModelRequest req;
    req.set_benchmark_id(bm);
    for (int j = 0; j < 40; ++j) {
      v1::ItemResponse* r = req.add_responses();
      r->set_item(data.item_ids()[static_cast<size_t>(j)]);
      r->set_successes(j % 3 == 0 ? 0 : 1);
    }
    v1::ScoreModelResponse grpc;
    ASSERT_OK(ToAbsl(benchmarks_->ScoreModel(Ctx(alpha_read_).get(), req, &grpc)));
    req.clear_benchmark_id();
    ExpectSame(Parse<v1::ScoreModelResponse>(Post("/v1/benchmarks/" + bm + ":score", alpha_read_,
                                                  Json(req))),
               grpc);
  }
  {  // an audit driven over HTTP reads the same over gRPC
    const v1::Audit created = Parse<v1::Audit>(Post(
        "/v1/audits", alpha_,
        R"({"displayName":"web","config":{"method":"AUDIT_METHOD_SR","budget":500}})"));
    ASSERT_FALSE(created.id().empty());
    const v1::HandOutCasesResponse handed = Parse<v1::HandOutCasesResponse>(
        Post("/v1/audits/" + created.id() + "/cases", alpha_,
             R"({"cases":[{"caseId":"a"},{"caseId":"b","subgroup":"g"}]})"));
    EXPECT_EQ(handed.cases_size(), 2);
    const v1::SubmitLabelResponse labelled = Parse<v1::SubmitLabelResponse>(
        Post("/v1/audits/" + created.id() + "/labels", alpha_, R"({"caseId":"a","y":1})"));
    EXPECT_EQ(labelled.merged_size(), 1);
    Parse<v1::VoidCaseResponse>(
        Post("/v1/audits/" + created.id() + "/cases/b:void", alpha_, ""));
    Parse<v1::HandOutCasesResponse>(Post("/v1/audits/" + created.id() + "/cases", alpha_,
                                         R"({"cases":[{"caseId":"c"},{"caseId":"d"}]})"));
    const v1::LabelBatchResponse batch = Parse<v1::LabelBatchResponse>(Post(
        "/v1/labels:batch", alpha_,
        absl::StrCat(R"({"labels":[{"auditId":")", created.id(), R"(","caseId":"c","y":1},)",
                     R"({"auditId":")", created.id(), R"(","caseId":"zz","y":1}]})")));
    ASSERT_EQ(batch.results_size(), 2);
    EXPECT_EQ(batch.results(0).error_code(), 0);
    EXPECT_EQ(batch.results(1).error_code(), static_cast<int>(absl::StatusCode::kNotFound));
    v1::GetAuditRequest get;
    get.set_audit_id(created.id());
    v1::Audit grpc;
    ASSERT_OK(ToAbsl(audits_->GetAudit(Ctx(alpha_read_).get(), get, &grpc)));
    EXPECT_EQ(grpc.labelled(), 2);
    ExpectSame(Parse<v1::Audit>(Get("/v1/audits/" + created.id(), alpha_read_)), grpc);
    v1::ListAuditsResponse list;
    ASSERT_OK(ToAbsl(audits_->ListAudits(Ctx(alpha_read_).get(), {}, &list)));
    ExpectSame(Parse<v1::ListAuditsResponse>(Get("/v1/audits", alpha_read_)), list);
    // Its history: every step from the first (what a chart draws), the steps the labels merged,
    // paged, the same over gRPC.
    v1::ListAuditStepsRequest steps_req;
    steps_req.set_audit_id(created.id());
    v1::ListAuditStepsResponse steps;
    ASSERT_OK(ToAbsl(audits_->ListAuditSteps(Ctx(alpha_read_).get(), steps_req, &steps)));
    ASSERT_EQ(steps.steps_size(), 2);
    ExpectSame(steps.steps(0), labelled.merged(0));
    EXPECT_EQ(steps.steps(1).case_id(), "c");
    EXPECT_EQ(steps.steps(1).t(), 2);
    // The last step's confidence sequence is the audit's.
    EXPECT_EQ(steps.steps(1).accuracy_lower(), grpc.accuracy_lower());
    EXPECT_EQ(steps.steps(1).accuracy_upper(), grpc.accuracy_upper());
    EXPECT_EQ(steps.revision(), grpc.revision());
    ExpectSame(Parse<v1::ListAuditStepsResponse>(
                   Get("/v1/audits/" + created.id() + "/steps", alpha_read_)),
               steps);
    const v1::ListAuditStepsResponse first = Parse<v1::ListAuditStepsResponse>(
        Get("/v1/audits/" + created.id() + "/steps?pageSize=1", alpha_read_));
    ASSERT_EQ(first.steps_size(), 1);
    ExpectSame(first.steps(0), steps.steps(0));
    const v1::ListAuditStepsResponse second = Parse<v1::ListAuditStepsResponse>(
        Get("/v1/audits/" + created.id() + "/steps?pageSize=1&pageToken=" + first.next_page_token(),
            alpha_read_));
    ASSERT_EQ(second.steps_size(), 1);
    ExpectSame(second.steps(0), steps.steps(1));
    EXPECT_EQ(second.next_page_token(), "");
    EXPECT_EQ(Get("/v1/audits/" + created.id() + "/steps", beta_).status, 404);  // another team's
  }
  {  // a monitor
    const v1::Monitor created = Parse<v1::Monitor>(
        Post("/v1/monitors", alpha_, R"({"displayName":"prod","config":{"tau":0.8}})"));
    const v1::SubmitScoresResponse scored = Parse<v1::SubmitScoresResponse>(Post(
        "/v1/monitors/" + created.id() + "/scores", alpha_, R"({"scores":[1,0,1,1,0.5]})"));
    EXPECT_EQ(scored.monitor().t(), 5);
    v1::GetMonitorRequest get;
    get.set_monitor_id(created.id());
    v1::Monitor grpc;
    ASSERT_OK(ToAbsl(monitors_->GetMonitor(Ctx(alpha_read_).get(), get, &grpc)));
    ExpectSame(Parse<v1::Monitor>(Get("/v1/monitors/" + created.id(), alpha_read_)), grpc);
  }
  {  // an adaptive test
    const v1::CatSession started = Parse<v1::CatSession>(Post(
        "/v1/sessions", alpha_, absl::StrCat(R"({"benchmarkId":")", bm, R"(","model":"new"})")));
    const v1::NextItemsResponse next = Parse<v1::NextItemsResponse>(
        Post("/v1/sessions/" + started.id() + ":next", alpha_, R"({"count":2})"));
    ASSERT_EQ(next.items_size(), 2);
    const v1::CatSession after = Parse<v1::CatSession>(
        Post("/v1/sessions/" + started.id() + "/outcomes", alpha_,
             absl::StrCat(R"({"outcomes":[{"item":")", next.items(0),
                          R"(","successes":1}],"nextCount":1})")));
    EXPECT_EQ(after.answered(), 1);
    v1::GetSessionRequest get;
    get.set_session_id(started.id());
    v1::CatSession grpc;
    ASSERT_OK(ToAbsl(cat_->GetSession(Ctx(alpha_read_).get(), get, &grpc)));
    ExpectSame(after, grpc);
    ExpectSame(Parse<v1::CatSession>(Get("/v1/sessions/" + started.id(), alpha_read_)), grpc);
    // Its event stream: the state now, then each committed step.
    ASSERT_OK_AND_ASSIGN(auto events,
                         SseClient::Open(port(), "/v1/sessions/" + started.id() + "/events",
                                         Auth(alpha_read_)));
    ASSERT_EQ(events->status(), 200) << events->error_body();
    std::optional<SseClient::Event> now = events->Next();
    ASSERT_TRUE(now.has_value());
    EXPECT_EQ(now->id, std::to_string(grpc.steps()));
    const v1::CatSession stepped = Parse<v1::CatSession>(
        Post("/v1/sessions/" + started.id() + "/outcomes", alpha_,
             absl::StrCat(R"({"outcomes":[{"item":")", after.pending_items(0),
                          R"(","successes":0}]})")));
    std::optional<SseClient::Event> step = events->Next();
    ASSERT_TRUE(step.has_value());
    v1::CatSession streamed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(step->data, &streamed).ok());
    ExpectSame(streamed, stepped);
    EXPECT_EQ(step->id, std::to_string(stepped.steps()));
    // Its trajectory: the estimate after each outcome, the last one the session's own.
    const v1::ListSessionStepsResponse trajectory = Parse<v1::ListSessionStepsResponse>(
        Get("/v1/sessions/" + started.id() + "/steps", alpha_read_));
    ASSERT_EQ(trajectory.steps_size(), 2);
    EXPECT_EQ(trajectory.steps(0).outcome().item(), next.items(0));
    EXPECT_DOUBLE_EQ(trajectory.steps(0).theta(), after.theta());
    EXPECT_DOUBLE_EQ(trajectory.steps(0).se(), after.se());
    EXPECT_EQ(trajectory.steps(1).answered(), 2);
    EXPECT_DOUBLE_EQ(trajectory.steps(1).theta(), stepped.theta());
    EXPECT_DOUBLE_EQ(trajectory.steps(1).predicted_accuracy(), stepped.predicted_accuracy());
    EXPECT_EQ(trajectory.revision(), stepped.steps());
    v1::ListSessionStepsRequest traj_req;
    traj_req.set_session_id(started.id());
    v1::ListSessionStepsResponse traj_grpc;
    ASSERT_OK(ToAbsl(cat_->ListSessionSteps(Ctx(alpha_read_).get(), traj_req, &traj_grpc)));
    ExpectSame(trajectory, traj_grpc);
  }
  {  // a comparison, baseline known (A's stored row), driven over HTTP, read the same over gRPC
    const v1::Comparison created = Parse<v1::Comparison>(Post(
        "/v1/comparisons", alpha_,
        absl::StrCat(R"({"benchmarkId":")", bm,
                     R"(","modelA":"HuggingFaceTB_SmolLM3_3B_zero_shot",)"
                     R"("modelB":"candidate","options":{"baselineKnown":true,"delta":0.02}})")));
    EXPECT_DOUBLE_EQ(created.options().delta(), 0.02);
    const v1::NextComparisonItemsResponse next = Parse<v1::NextComparisonItemsResponse>(
        Post("/v1/comparisons/" + created.id() + ":next", alpha_, R"({"count":2})"));
    ASSERT_EQ(next.items_size(), 2);
    ASSERT_OK_AND_ASSIGN(auto events,
                         SseClient::Open(port(), "/v1/comparisons/" + created.id() + "/events",
                                         Auth(alpha_read_)));
    ASSERT_EQ(events->status(), 200) << events->error_body();
    ASSERT_TRUE(events->Next().has_value());  // the state now
    const v1::Comparison after = Parse<v1::Comparison>(
        Post("/v1/comparisons/" + created.id() + "/outcomes", alpha_,
             absl::StrCat(R"({"outcomes":[{"item":")", next.items(0), R"(","bSuccesses":1},)",
                          R"({"item":")", next.items(1), R"(","bSuccesses":0}]})")));
    EXPECT_EQ(after.items(), 2);
    EXPECT_EQ(after.steps_size(), 2);
    std::optional<SseClient::Event> step = events->Next();
    ASSERT_TRUE(step.has_value());
    v1::Comparison streamed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(step->data, &streamed).ok());
    ExpectSame(streamed, after);
    EXPECT_EQ(step->id, std::to_string(after.revision()));
    v1::GetComparisonRequest get;
    get.set_comparison_id(created.id());
    v1::Comparison grpc;
    ASSERT_OK(ToAbsl(compare_->GetComparison(Ctx(alpha_read_).get(), get, &grpc)));
    ExpectSame(after, grpc);
    ExpectSame(Parse<v1::Comparison>(Get("/v1/comparisons/" + created.id(), alpha_read_)), grpc);
    v1::ListComparisonsResponse list;
    ASSERT_OK(ToAbsl(compare_->ListComparisons(Ctx(alpha_read_).get(), {}, &list)));
    ExpectSame(Parse<v1::ListComparisonsResponse>(Get("/v1/comparisons", alpha_read_)), list);
  }
  {  // responses uploaded over HTTP, one chunk per request
    const v1::Benchmark small =
        Parse<v1::Benchmark>(Post("/v1/benchmarks", alpha_, R"({"name":"small"})"));
    const v1::UploadResponsesResponse up = Parse<v1::UploadResponsesResponse>(
        Post("/v1/benchmarks/" + small.id() + "/responses", alpha_,
             R"({"models":["m1","m2"],"items":["i1","i2","i3"],"modelIndex":[0,0,1,1],)"
             R"("itemIndex":[0,1,1,2],"successes":[1,0,1,1]})"));
    EXPECT_EQ(up.cells_added(), 4);
    EXPECT_EQ(up.benchmark().num_cells(), 4);
    v1::GetBenchmarkRequest get;
    get.set_benchmark_id(small.id());
    v1::Benchmark grpc;
    ASSERT_OK(ToAbsl(benchmarks_->GetBenchmark(Ctx(alpha_read_).get(), get, &grpc)));
    ExpectSame(up.benchmark(), grpc);
    const v1::UploadResponsesResponse again = Parse<v1::UploadResponsesResponse>(
        Post("/v1/benchmarks/" + small.id() + "/responses", alpha_,
             R"({"models":["m1","m2"],"items":["i1","i2","i3"],"modelIndex":[0,0,1,1],)"
             R"("itemIndex":[0,1,1,2],"successes":[1,0,1,1]})"));
    EXPECT_EQ(again.cells_unchanged(), 4);
  }
  {  // a second fit over HTTP, followed to its end as Server-Sent Events
    const v1::Fit started = Parse<v1::Fit>(Post("/v1/benchmarks/" + bm + "/fits", alpha_,
                                                R"({"makeCurrent":false})"));
    ASSERT_OK_AND_ASSIGN(auto events, SseClient::Open(port(), "/v1/fits/" + started.id() + "/events",
                                                      Auth(alpha_read_)));
    ASSERT_EQ(events->status(), 200) << events->error_body();
    v1::Fit last;
    int seen = 0;
    while (std::optional<SseClient::Event> e = events->Next(absl::Seconds(60))) {
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(e->data, &last).ok()) << e->data;
      ++seen;
    }
    EXPECT_TRUE(events->ended());  // the stream ends after the final state
    EXPECT_GE(seen, 1);
    EXPECT_EQ(last.state(), v1::FIT_STATE_SUCCEEDED);
    EXPECT_EQ(last.iteration(), fit.iteration());  // the same data, the same fit
  }
  const v1::WhoAmIResponse me = Parse<v1::WhoAmIResponse>(Get("/v1/whoami", alpha_read_));
  EXPECT_EQ(me.team(), "alpha");
  EXPECT_EQ(me.role(), v1::ROLE_READ);
  EXPECT_FALSE(Parse<v1::GetServerInfoResponse>(Get("/v1/info", "")).version().empty());
}

TEST_F(HttpApiTest, ErrorsMapToHttpCodesNameTheFieldAndChangeNothing) {
  const auto expect_error = [&](const HttpResponse& r, int http, int grpc_code,
                                const std::string& in_message) {
    EXPECT_EQ(r.status, http) << r.body;
    const nlohmann::json e = ErrorOf(r);
    EXPECT_EQ(e.value("code", -1), grpc_code) << r.body;
    EXPECT_THAT(e.value("message", ""), HasSubstr(in_message)) << r.body;
    return e;
  };
  expect_error(Get("/v1/audits", ""), 401, 16, "missing API key");
  expect_error(Get("/v1/audits", "ak_not_a_key"), 401, 16, "invalid or revoked");
  expect_error(Post("/v1/audits", alpha_read_, "{}"), 403, 7, "write role");
  const nlohmann::json bad_json = expect_error(Post("/v1/audits", alpha_, "{bad"), 400, 3, "body");
  EXPECT_EQ(bad_json["details"][0]["fieldViolations"][0]["field"], "body");
  expect_error(Post("/v1/audits", alpha_, R"({"config":{"alpha":"high"}})"), 400, 3, "alpha");
  expect_error(Post("/v1/audits", alpha_, R"({"colour":"red"})"), 400, 3, "colour");
  const nlohmann::json out_of_range =
      expect_error(Post("/v1/audits", alpha_, R"({"config":{"alpha":2}})"), 400, 3, "alpha");
  EXPECT_THAT(out_of_range["details"][0]["fieldViolations"][0]["field"].get<std::string>(),
              HasSubstr("alpha"));
  expect_error(Get("/v1/benchmarks?pageSize=many", alpha_), 400, 3, "pageSize");
  expect_error(Get("/v1/benchmarks?colour=red", alpha_), 400, 3, "colour");

  const v1::Audit audit =
      Parse<v1::Audit>(Post("/v1/audits", alpha_, R"({"config":{"method":"AUDIT_METHOD_SR"}})"));
  Parse<v1::HandOutCasesResponse>(
      Post("/v1/audits/" + audit.id() + "/cases", alpha_, R"({"cases":[{"caseId":"x"}]})"));
  Parse<v1::SubmitLabelResponse>(
      Post("/v1/audits/" + audit.id() + "/labels", alpha_, R"({"caseId":"x","y":1})"));
  // Another team's id answers exactly as an id that does not exist.
  const HttpResponse theirs = Get("/v1/audits/" + audit.id(), beta_);
  const HttpResponse nobody = Get("/v1/audits/aud_0000000000000000", beta_);
  expect_error(theirs, 404, 5, audit.id());
  EXPECT_EQ(ErrorOf(theirs)["message"].get<std::string>(),
            ErrorOf(nobody)["message"].get<std::string>().replace(
                ErrorOf(nobody)["message"].get<std::string>().find("aud_0000000000000000"), 20,
                audit.id()));
  expect_error(
      Post("/v1/audits/" + audit.id() + "/labels", beta_, R"({"caseId":"x","y":0})"), 404, 5,
      audit.id());
  // A conflicting label: 409; an unknown case: 404; the path and the body disagreeing: 400.
  expect_error(Post("/v1/audits/" + audit.id() + "/labels", alpha_, R"({"caseId":"x","y":0})"),
               409, 6, "already has label");
  expect_error(Post("/v1/audits/" + audit.id() + "/labels", alpha_, R"({"caseId":"zz","y":0})"),
               404, 5, "zz");
  expect_error(Post("/v1/audits/" + audit.id() + "/labels", alpha_,
                    R"({"auditId":"aud_other","caseId":"x","y":1})"),
               400, 3, "the path says");
  // A state that refuses the call: 412 (a session on a benchmark with no calibration).
  const v1::Benchmark empty =
      Parse<v1::Benchmark>(Post("/v1/benchmarks", alpha_, R"({"name":"empty"})"));
  expect_error(Post("/v1/sessions", alpha_,
                    absl::StrCat(R"({"benchmarkId":")", empty.id(), R"(","model":"m"})")),
               412, 9, "");
  // Routes: unknown path 404; wrong method 405 with Allow.
  expect_error(Get("/v1/nothing/here", alpha_), 404, 5, "no route");
  absl::StatusOr<HttpResponse> del = testing::Http(port(), "DELETE", "/v1/audits", Auth(alpha_));
  ASSERT_OK(del.status());
  EXPECT_EQ(del->status, 405);
  EXPECT_EQ(del->headers["allow"], "GET, POST");
  // A body beyond the limit: 413 naming it.
  const HttpResponse huge = Post(
      "/v1/audits", alpha_,
      absl::StrCat(R"({"displayName":")", std::string(100 << 10, 'x'), R"("})"));
  expect_error(huge, 413, 3, "--http-max-body-bytes");

  // None of the refused calls changed anything: the one audit, its one label.
  v1::ListAuditsResponse list;
  ASSERT_OK(ToAbsl(audits_->ListAudits(Ctx(alpha_).get(), {}, &list)));
  ASSERT_EQ(list.audits_size(), 1);
  EXPECT_EQ(list.audits(0).labelled(), 1);
  EXPECT_EQ(list.audits(0).handed_out(), 1);
  v1::ListAuditsResponse beta_list;
  ASSERT_OK(ToAbsl(audits_->ListAudits(Ctx(beta_).get(), {}, &beta_list)));
  EXPECT_EQ(beta_list.audits_size(), 0);
}

// The steps (t) carried by the update events read from `sse` until `until_t` has been seen.
std::vector<int64_t> ReadSteps(SseClient& sse, int64_t until_t, std::string* last_id) {
  std::vector<int64_t> ts;
  while (ts.empty() || ts.back() < until_t) {
    std::optional<SseClient::Event> e = sse.Next(absl::Seconds(30));
    if (!e.has_value()) break;
    EXPECT_EQ(e->event, "update");
    v1::AuditUpdate u;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(e->data, &u).ok()) << e->data;
    EXPECT_EQ(e->id, std::to_string(u.audit().revision()));
    *last_id = e->id;
    for (const v1::Step& s : u.steps()) ts.push_back(s.t());
  }
  return ts;
}

TEST_F(HttpApiTest, EventStreamSeesEveryUpdateInOrderResumesWithoutGapsAndEndsOnShutdown) {
  const v1::Audit audit = CreateAuditOverGrpc(40);
  const std::string target = "/v1/audits/" + audit.id() + "/events";
  {  // no key, another team: no stream
    ASSERT_OK_AND_ASSIGN(auto none, SseClient::Open(port(), target));
    EXPECT_EQ(none->status(), 401);
    ASSERT_OK_AND_ASSIGN(auto other, SseClient::Open(port(), target, Auth(beta_)));
    EXPECT_EQ(other->status(), 404);
  }
  ASSERT_OK_AND_ASSIGN(auto sse, SseClient::Open(port(), target, Auth(alpha_read_)));
  ASSERT_EQ(sse->status(), 200) << sse->error_body();
  std::optional<SseClient::Event> first = sse->Next();  // the state now
  ASSERT_TRUE(first.has_value());
  v1::AuditUpdate now;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(first->data, &now).ok());
  EXPECT_EQ(now.audit().handed_out(), 40);
  EXPECT_EQ(now.steps_size(), 0);

  std::thread labeller([&] {
    for (int c = 0; c < 12; ++c) Label(audit.id(), c);
  });
  std::string last_id;
  std::vector<int64_t> seen = ReadSteps(*sse, 12, &last_id);
  labeller.join();
  // The client goes away; labels go on arriving meanwhile.
  sse->Close();
  for (int c = 12; c < 20; ++c) Label(audit.id(), c);
  ASSERT_OK_AND_ASSIGN(auto resumed,
                       SseClient::Open(port(), target,
                                       {{"Authorization", "Bearer " + alpha_read_},
                                        {"Last-Event-ID", last_id}}));
  ASSERT_EQ(resumed->status(), 200) << resumed->error_body();
  std::thread more([&] {
    for (int c = 20; c < 30; ++c) Label(audit.id(), c);
  });
  const std::vector<int64_t> after = ReadSteps(*resumed, 30, &last_id);
  more.join();
  seen.insert(seen.end(), after.begin(), after.end());
  std::vector<int64_t> expected(30);
  for (int t = 0; t < 30; ++t) expected[static_cast<size_t>(t)] = t + 1;
  EXPECT_EQ(seen, expected);  // every step once, in order, across the reconnection

  // Heartbeats keep an idle stream open (the idle timeout is 1 s, the heartbeat 200 ms).
  absl::SleepFor(absl::Milliseconds(1500));
  Label(audit.id(), 30);
  EXPECT_EQ(ReadSteps(*resumed, 31, &last_id), std::vector<int64_t>{31});

  // Shutdown ends the stream cleanly: an error event saying why, then the end of the body.
  std::thread stopper([&] { server_->Shutdown(); });
  std::optional<SseClient::Event> bye = resumed->Next(absl::Seconds(30));
  stopper.join();
  ASSERT_TRUE(bye.has_value());
  EXPECT_EQ(bye->event, "error");
  EXPECT_THAT(bye->data, HasSubstr("shutting down"));
  EXPECT_FALSE(resumed->Next(absl::Seconds(10)).has_value());
  EXPECT_TRUE(resumed->ended());
}

// Every $ref in `node` names a schema of `schemas`.
void ExpectRefsResolve(const nlohmann::json& node, const nlohmann::json& schemas, int* refs) {
  if (node.is_object()) {
    if (node.contains("$ref")) {
      const std::string ref = node["$ref"];
      const std::string prefix = "#/components/schemas/";
      ASSERT_EQ(ref.rfind(prefix, 0), 0u) << ref;
      EXPECT_TRUE(schemas.contains(ref.substr(prefix.size()))) << "unresolved " << ref;
      ++*refs;
    }
    for (const auto& [k, v] : node.items()) ExpectRefsResolve(v, schemas, refs);
  } else if (node.is_array()) {
    for (const auto& v : node) ExpectRefsResolve(v, schemas, refs);
  }
}

TEST_F(HttpApiTest, OpenApiDocumentDescribesEveryRouteAndResolves) {
  ASSERT_OK_AND_ASSIGN(HttpResponse r, testing::Http(port(), "GET", "/openapi.json"));
  ASSERT_EQ(r.status, 200);
  const nlohmann::json doc = nlohmann::json::parse(r.body);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_FALSE(doc["info"]["version"].get<std::string>().empty());
  const nlohmann::json& schemas = doc["components"]["schemas"];
  int refs = 0;
  ExpectRefsResolve(doc, schemas, &refs);
  EXPECT_GT(refs, 50);
  // The routes the issue asks for, with their methods, path parameters and schemas.
  const std::vector<std::pair<std::string, std::string>> required = {
      {"get", "/v1/benchmarks"},
      {"get", "/v1/benchmarks/{benchmark_id}"},
      {"get", "/v1/benchmarks/{benchmark_id}/abilities"},
      {"get", "/v1/benchmarks/{benchmark_id}/items"},
      {"get", "/v1/fits/{fit_id}"},
      {"get", "/v1/audits"},
      {"get", "/v1/audits/{audit_id}"},
      {"get", "/v1/monitors/{monitor_id}"},
      {"get", "/v1/sessions/{session_id}"},
      {"post", "/v1/audits"},
      {"post", "/v1/audits/{audit_id}/cases"},
      {"post", "/v1/audits/{audit_id}/labels"},
      {"get", "/v1/audits/{audit_id}/events"},
      {"get", "/v1/fits/{fit_id}/events"},
      {"get", "/v1/monitors/{monitor_id}/events"},
      {"get", "/v1/sessions/{session_id}/events"}};
  for (const auto& [method, path] : required) {
    SCOPED_TRACE(method + " " + path);
    ASSERT_TRUE(doc["paths"].contains(path));
    ASSERT_TRUE(doc["paths"][path].contains(method));
    const nlohmann::json& op = doc["paths"][path][method];
    EXPECT_TRUE(op["responses"].contains("200"));
    EXPECT_EQ(op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
              "#/components/schemas/Error");
    for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1)) {
      const std::string var = path.substr(open + 1, path.find('}', open) - open - 1);
      bool found = false;
      for (const auto& p : op["parameters"]) found |= p["in"] == "path" && p["name"] == var;
      EXPECT_TRUE(found) << var;
    }
  }
  // Query parameters of a list call are its request's fields, in JSON names.
  std::set<std::string> query;
  for (const auto& p : doc["paths"]["/v1/benchmarks/{benchmark_id}/abilities"]["get"]["parameters"]) {
    if (p["in"] == "query") query.insert(p["name"].get<std::string>());
  }
  EXPECT_EQ(query, (std::set<std::string>{"fitId", "sort", "descending", "pageSize", "pageToken"}));
  // A message schema has every field of the proto, 64-bit integers as strings, enums by name.
  const nlohmann::json& audit = schemas["assay.v1.Audit"]["properties"];
  EXPECT_EQ(audit.size(), static_cast<size_t>(v1::Audit::descriptor()->field_count()));
  EXPECT_EQ(audit["revision"]["type"], "string");
  EXPECT_EQ(audit["revision"]["format"], "int64");
  EXPECT_EQ(audit["decision"]["enum"][0], "DECISION_NONE");
  EXPECT_EQ(audit["subgroups"]["items"]["$ref"], "#/components/schemas/assay.v1.SubgroupState");
}

TEST_F(HttpApiTest, CorsIsOffByDefault) {
  ASSERT_OK_AND_ASSIGN(
      HttpResponse r,
      testing::Http(port(), "GET", "/v1/whoami",
                    {{"Origin", "https://dash.example.com"}, {"Authorization", "Bearer " + alpha_}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.count("access-control-allow-origin"), 0u);
}

TEST_F(HttpApiTest, CorsAllowsOnlyTheConfiguredOrigin) {
  http_cors_origin_ = "https://dash.example.com";
  RestartServer();
  ASSERT_OK_AND_ASSIGN(HttpResponse preflight,
                       testing::Http(port(), "OPTIONS", "/v1/audits",
                                     {{"Origin", "https://dash.example.com"},
                                      {"Access-Control-Request-Method", "POST"},
                                      {"Access-Control-Request-Headers", "authorization"}}));
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.headers["access-control-allow-origin"], "https://dash.example.com");
  EXPECT_THAT(preflight.headers["access-control-allow-headers"], HasSubstr("Authorization"));
  EXPECT_THAT(preflight.headers["access-control-allow-methods"], HasSubstr("POST"));
  ASSERT_OK_AND_ASSIGN(HttpResponse allowed,
                       testing::Http(port(), "GET", "/v1/whoami",
                                     {{"Origin", "https://dash.example.com"},
                                      {"Authorization", "Bearer " + alpha_}}));
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(allowed.headers["access-control-allow-origin"], "https://dash.example.com");
  ASSERT_OK_AND_ASSIGN(HttpResponse other,
                       testing::Http(port(), "GET", "/v1/whoami",
                                     {{"Origin", "https://evil.example.com"},
                                      {"Authorization", "Bearer " + alpha_}}));
  EXPECT_EQ(other.headers.count("access-control-allow-origin"), 0u);
}

// /metrics counts, per team, the audits that reach a decision and the alarms monitors raise.
TEST_F(HttpApiTest, MetricsCountDecisionsAndAlarmsPerTeam) {
  v1::CreateAuditRequest create;
  create.mutable_config()->set_method(v1::AUDIT_METHOD_SR);
  v1::Audit audit;
  ASSERT_OK(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), create, &audit)));
  v1::HandOutCasesRequest hand;
  hand.set_audit_id(audit.id());
  for (int c = 0; c < 250; ++c) hand.add_cases()->set_case_id("c" + std::to_string(c));
  v1::HandOutCasesResponse handed;
  ASSERT_OK(ToAbsl(audits_->HandOutCases(Ctx(alpha_).get(), hand, &handed)));
  v1::SubmitLabelResponse labelled;
  for (int c = 0; c < 250 && labelled.decision() == v1::DECISION_NONE; ++c) {
    v1::SubmitLabelRequest label;  // a model that is always right
    label.set_audit_id(audit.id());
    label.set_case_id("c" + std::to_string(c));
    label.set_y(1);
    ASSERT_OK(ToAbsl(audits_->SubmitLabel(Ctx(alpha_).get(), label, &labelled)));
  }
  ASSERT_EQ(labelled.decision(), v1::DECISION_CERTIFIED);
  v1::CreateMonitorRequest monitor;
  monitor.mutable_config()->set_tau(0.8);
  v1::Monitor created;
  ASSERT_OK(ToAbsl(monitors_->CreateMonitor(Ctx(beta_).get(), monitor, &created)));
  v1::SubmitScoresRequest scores;  // a model that is always wrong
  scores.set_monitor_id(created.id());
  for (int t = 0; t < 200; ++t) scores.add_scores(0);
  v1::SubmitScoresResponse scored;
  ASSERT_OK(ToAbsl(monitors_->SubmitScores(Ctx(beta_).get(), scores, &scored)));
  ASSERT_GE(scored.alarm_ts_size(), 1);

  ASSERT_OK_AND_ASSIGN(HttpResponse metrics, testing::Http(port(), "GET", "/metrics"));
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body,
              HasSubstr("assay_audit_decisions_total{team=\"alpha\",decision=\"certified\"} 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr(absl::StrCat("assay_monitor_alarms_total{team=\"beta\"} ",
                                                   scored.alarm_ts_size(), "\n")));
  EXPECT_THAT(metrics.body, HasSubstr("assay_live_resources{kind=\"audit\"} 1\n"));
}

// Beyond --http-max-connections open connections a request is refused with 503 naming the limit
// (and when to retry); once connections close, requests are served again.
TEST_F(HttpApiTest, ConnectionsBeyondTheLimitAreRefusedNamingIt) {
  http_max_connections_ = 2;
  http_idle_timeout_ = absl::Seconds(30);
  RestartServer();
  std::vector<int> held;
  for (int i = 0; i < 2; ++i) {  // two clients that connect and send nothing yet
    absl::StatusOr<int> fd = testing::ConnectForTest(port());
    ASSERT_OK(fd.status());
    held.push_back(*fd);
  }
  absl::StatusOr<HttpResponse> refused = absl::UnavailableError("not sent");
  for (int attempt = 0; attempt < 100; ++attempt) {  // until the server has counted the two
    refused = testing::Http(port(), "GET", "/v1/whoami", Auth(alpha_));
    ASSERT_OK(refused.status());
    if (refused->status == 503) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(ErrorOf(*refused)["code"], 14);
  EXPECT_THAT(ErrorOf(*refused)["message"].get<std::string>(),
              HasSubstr("--http-max-connections"));
  EXPECT_EQ(refused->headers["retry-after"], "1");
  for (int fd : held) testing::CloseForTest(fd);
  absl::StatusOr<HttpResponse> served = absl::UnavailableError("not sent");
  for (int attempt = 0; attempt < 100; ++attempt) {  // until the server has seen them close
    served = testing::Http(port(), "GET", "/v1/whoami", Auth(alpha_));
    ASSERT_OK(served.status());
    if (served->status == 200) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(served->status, 200) << served->body;
}

TEST_F(HttpApiTest, MalformedRequestsCrashNothingAndChangeNothing) {
  // Not HTTP at all, a bad request line, a header without a colon.
  for (const std::string& garbage :
       {std::string("\x16\x03\x01\x02\x00garbage\r\n\r\n", 16), std::string("GET\r\n\r\n"),
        std::string("GET /v1/audits HTTP/1.1\r\nno colon here\r\n\r\n"),
        std::string("POST /v1/audits HTTP/1.1\r\nContent-Length: -5\r\n\r\n")}) {
    ASSERT_OK_AND_ASSIGN(std::string reply,
                         testing::RawExchange(port(), garbage, true, absl::Seconds(10)));
    if (!reply.empty()) {
      EXPECT_THAT(reply, HasSubstr("HTTP/1.1 4"));
    }
  }
  // A truncated body: the client promises 100 bytes, sends 2 and goes away.
  ASSERT_OK(testing::RawExchange(port(),
                                 "POST /v1/audits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                     alpha_ + "\r\nContent-Length: 100\r\n\r\n{\"",
                                 true, absl::Seconds(10))
                .status());
  // Slow clients (a header never finished, a body never sent) are closed after the idle timeout.
  const std::optional<absl::Duration> slow_header = testing::TimeUntilClosed(
      port(), "GET /v1/benchmarks HTTP/1.1\r\nHost: x\r\nAuthoriz", absl::Seconds(20));
  ASSERT_TRUE(slow_header.has_value()) << "a slow header was never closed";
  EXPECT_LT(*slow_header, absl::Seconds(10));
  const std::optional<absl::Duration> slow_body = testing::TimeUntilClosed(
      port(), "POST /v1/audits HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{",
      absl::Seconds(20));
  ASSERT_TRUE(slow_body.has_value()) << "a slow body was never closed";
  EXPECT_LT(*slow_body, absl::Seconds(10));
  // Headers beyond the limit are refused.
  ASSERT_OK_AND_ASSIGN(
      std::string big_header,
      testing::RawExchange(port(),
                           "GET /v1/benchmarks HTTP/1.1\r\nHost: x\r\nX-Big: " +
                               std::string(200 << 10, 'h') + "\r\n\r\n",
                           true, absl::Seconds(10)));
  if (!big_header.empty()) {
    EXPECT_THAT(big_header, HasSubstr("HTTP/1.1 4"));
  }

  // The server goes on serving, and nothing was created.
  ASSERT_OK_AND_ASSIGN(HttpResponse health, testing::Http(port(), "GET", "/healthz"));
  EXPECT_EQ(health.status, 200);
  ASSERT_OK_AND_ASSIGN(HttpResponse ready, testing::Http(port(), "GET", "/readyz"));
  EXPECT_EQ(ready.status, 200);
  v1::ListAuditsResponse list;
  ASSERT_OK(ToAbsl(audits_->ListAudits(Ctx(alpha_).get(), {}, &list)));
  EXPECT_EQ(list.audits_size(), 0);
}

// Every canonical code has its HTTP status (the gRPC-gateway's, with 412 for a refusing state), and
// RESOURCE_EXHAUSTED tells the client when to retry.
TEST(HttpStatusTest, CodesMapAsTheGatewayDoes) {
  const std::vector<std::pair<absl::StatusCode, int>> expected = {
      {absl::StatusCode::kOk, 200},
      {absl::StatusCode::kCancelled, 499},
      {absl::StatusCode::kUnknown, 500},
      {absl::StatusCode::kInvalidArgument, 400},
      {absl::StatusCode::kDeadlineExceeded, 504},
      {absl::StatusCode::kNotFound, 404},
      {absl::StatusCode::kAlreadyExists, 409},
      {absl::StatusCode::kPermissionDenied, 403},
      {absl::StatusCode::kResourceExhausted, 429},
      {absl::StatusCode::kFailedPrecondition, 412},
      {absl::StatusCode::kAborted, 409},
      {absl::StatusCode::kOutOfRange, 400},
      {absl::StatusCode::kUnimplemented, 501},
      {absl::StatusCode::kInternal, 500},
      {absl::StatusCode::kUnavailable, 503},
      {absl::StatusCode::kDataLoss, 500},
      {absl::StatusCode::kUnauthenticated, 401}};
  for (const auto& [code, http] : expected) EXPECT_EQ(http::HttpStatusOf(code), http) << code;
  const http::Reply busy = http::ErrorReply(absl::ResourceExhaustedError("queue: full"));
  EXPECT_EQ(busy.status, 429);
  ASSERT_EQ(busy.headers.size(), 1u);
  EXPECT_EQ(busy.headers[0], std::make_pair(std::string("Retry-After"), std::string("1")));
  EXPECT_EQ(nlohmann::json::parse(busy.body)["details"][0]["@type"],
            "type.googleapis.com/google.rpc.QuotaFailure");
  EXPECT_EQ(nlohmann::json::parse(busy.body)["details"][0]["violations"][0]["subject"], "queue");
  // Over a rate limit: the delay, rounded up to whole seconds, and exactly in RetryInfo.
  const http::Reply rate = http::ErrorReply(server::WithRetryDelay(
      absl::ResourceExhaustedError("write_rate: over"), absl::Milliseconds(1250)));
  EXPECT_EQ(rate.status, 429);
  ASSERT_EQ(rate.headers.size(), 1u);
  EXPECT_EQ(rate.headers[0], std::make_pair(std::string("Retry-After"), std::string("2")));
  const nlohmann::json rate_body = nlohmann::json::parse(rate.body);
  EXPECT_EQ(rate_body["details"][0]["@type"], "type.googleapis.com/google.rpc.RetryInfo");
  EXPECT_EQ(rate_body["details"][0]["retryDelay"], "1.25s");
  EXPECT_EQ(rate_body["details"][1]["violations"][0]["subject"], "write_rate");
  // Over a capacity limit: retrying will not help, so no Retry-After.
  const http::Reply full = http::ErrorReply(server::WithRetryDelay(
      absl::ResourceExhaustedError("cells: at the limit"), -absl::Milliseconds(1)));
  EXPECT_EQ(full.status, 429);
  EXPECT_TRUE(full.headers.empty());
}

// With --tls-cert/--tls-key the HTTP listener speaks HTTPS with the same certificate, and only that.
TEST(HttpTlsTest, ServesHttpsWithTheServersCertificate) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(const testing::TestCertificate made, testing::MakeTestCertificate(dir.path()));
  const std::string &cert = made.cert, &key = made.key;
  const std::string db = dir.path() + "/assay.db";
  ASSERT_OK_AND_ASSIGN(CreatedKey admin, CreateTeam(db, "alpha"));
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.http_address = "127.0.0.1:0";
  options.db_path = db;
  options.tls_cert_path = cert;
  options.tls_key_path = key;
  ASSERT_OK_AND_ASSIGN(auto server, AssayServer::Start(options));
  const std::string url = absl::StrCat("https://localhost:", server->http_port(), "/v1/whoami");
  // Python's TLS client, verifying the certificate against the one we made.
  ASSERT_OK_AND_ASSIGN(
      testing::RunResult got,
      testing::Run({"/usr/bin/python3", "-c",
                    "import ssl, sys, urllib.request\n"
                    "ctx = ssl.create_default_context(cafile=sys.argv[2])\n"
                    "req = urllib.request.Request(sys.argv[1], headers={'Authorization': "
                    "'Bearer ' + sys.argv[3]})\n"
                    "print(urllib.request.urlopen(req, context=ctx, timeout=10).read().decode())",
                    url, cert, admin.key}));
  ASSERT_EQ(got.exit_code, 0) << got.output;
  EXPECT_THAT(got.output, HasSubstr(R"("team":"alpha")"));
  // Plain HTTP to the TLS port gets no HTTP answer.
  absl::StatusOr<HttpResponse> plain =
      testing::Http(server->http_port(), "GET", "/healthz", {}, "", absl::Seconds(5));
  EXPECT_FALSE(plain.ok() && plain->status == 200);
}

}  // namespace
}  // namespace assay::server
