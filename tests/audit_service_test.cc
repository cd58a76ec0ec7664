// AuditService through a real server on loopback (port 0) over a database file: team isolation on
// every call, an audit to its decision with a watcher, idempotent retries, bad inputs that change
// nothing, streaming labels, restart = replay, snapshots and the bound on live audits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <thread>

#include "assay/v1/audit.grpc.pb.h"
#include "assay/v1/teams.grpc.pb.h"
#include "client/import/csv.h"
#include "core/audit/audit.h"
#include "core/base/status_macros.h"
#include "server/admin.h"
#include "server/resources/audits.h"
#include "server/server.h"
#include "server/storage/storage.h"
#include "tests/testing/api.h"
#include "tests/testing/service_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace assay::server {
namespace {

using absl_testing::IsOk;
using absl_testing::StatusIs;
using testing::Ctx;
using ::testing::HasSubstr;
using testing::ToAbsl;

class AuditServiceTest : public testing::ServiceTest {
 protected:
  v1::Audit Create(const std::string& token, v1::AuditConfig config = {}) {
    v1::CreateAuditRequest req;
    req.set_display_name("test audit");
    if (!config.has_cs_grid()) config.set_cs_grid(200);
    *req.mutable_config() = config;
    v1::Audit audit;
    EXPECT_OK(ToAbsl(audits_->CreateAudit(Ctx(token).get(), req, &audit)));
    return audit;
  }

  absl::StatusOr<v1::HandOutCasesResponse> HandOut(const std::string& token,
                                                   const std::string& audit_id,
                                                   std::vector<std::string> cases,
                                                   const std::string& subgroup = "") {
    v1::HandOutCasesRequest req;
    req.set_audit_id(audit_id);
    for (const auto& c : cases) {
      auto* x = req.add_cases();
      x->set_case_id(c);
      x->set_subgroup(subgroup);
    }
    v1::HandOutCasesResponse resp;
    absl::Status s = ToAbsl(audits_->HandOutCases(Ctx(token).get(), req, &resp));
    if (!s.ok()) return s;
    return resp;
  }

  // Hands out `cases` in calls of `per_call`.
  absl::Status HandOutInCalls(const std::string& audit_id, const std::vector<std::string>& cases,
                              size_t per_call) {
    for (size_t first = 0; first < cases.size(); first += per_call) {
      const auto begin = cases.begin() + static_cast<std::ptrdiff_t>(first);
      const auto end =
          cases.begin() + static_cast<std::ptrdiff_t>(std::min(cases.size(), first + per_call));
      RETURN_IF_ERROR(HandOut(alpha_, audit_id, std::vector<std::string>(begin, end)).status());
    }
    return absl::OkStatus();
  }

  absl::StatusOr<v1::SubmitLabelResponse> Label(const std::string& token,
                                                const std::string& audit_id,
                                                const std::string& case_id, double y,
                                                const std::string& request_id = "") {
    v1::SubmitLabelRequest req;
    req.set_audit_id(audit_id);
    req.set_case_id(case_id);
    req.set_y(y);
    req.set_request_id(request_id);
    v1::SubmitLabelResponse resp;
    absl::Status s = ToAbsl(audits_->SubmitLabel(Ctx(token).get(), req, &resp));
    if (!s.ok()) return s;
    return resp;
  }

  absl::StatusOr<v1::Audit> Get(const std::string& token, const std::string& audit_id) {
    v1::GetAuditRequest req;
    req.set_audit_id(audit_id);
    v1::Audit audit;
    absl::Status s = ToAbsl(audits_->GetAudit(Ctx(token).get(), req, &audit));
    if (!s.ok()) return s;
    return audit;
  }

  // Stops the server and reads team alpha's audit `audit_id` as stored, with its whole event log
  // if `events` is given. Call StartServer() to go on.
  absl::StatusOr<storage::AuditRecord> StopAndReadStoredAudit(
      const std::string& audit_id, std::vector<audit::Event>* events = nullptr) {
    server_->Shutdown();
    ASSIGN_OR_RETURN(std::unique_ptr<storage::Storage> storage, storage::Storage::Open(db_));
    ASSIGN_OR_RETURN(std::optional<int64_t> team, storage->Reads()->FindTeam("alpha"));
    if (!team.has_value()) return absl::NotFoundError("team alpha");
    ASSIGN_OR_RETURN(std::optional<storage::AuditRecord> record,
                     storage->Reads()->FindAudit(*team, audit_id));
    if (!record.has_value()) return absl::NotFoundError(audit_id);
    if (events != nullptr) {
      ASSIGN_OR_RETURN(*events, storage->Reads()->AuditEvents(record->id, 0));
    }
    return *std::move(record);
  }

};

// Drives an audit to its decision while a watcher follows it, and checks every number against the
// core audit fed the same labels offline.
TEST_F(AuditServiceTest, AuditReachesDecisionAndWatcherSeesEveryUpdateInOrder) {
  const v1::Audit audit = Create(alpha_);
  ASSERT_EQ(audit.decision(), v1::DECISION_NONE);
  EXPECT_EQ(audit.config().tau(), 0.85);  // defaults filled in
  EXPECT_EQ(audit.config().method(), v1::AUDIT_METHOD_SR);

  std::vector<v1::AuditUpdate> seen;
  absl::Status watch_status;
  auto wctx = Ctx(alpha_read_, absl::Seconds(60));
  v1::WatchAuditRequest wreq;
  wreq.set_audit_id(audit.id());
  auto reader = audits_->WatchAudit(wctx.get(), wreq);
  v1::AuditUpdate first;
  ASSERT_TRUE(reader->Read(&first));  // the current state comes first
  EXPECT_EQ(first.audit().revision(), 0);
  std::thread watcher([&] {
    v1::AuditUpdate u;
    while (reader->Read(&u)) seen.push_back(u);
    watch_status = ToAbsl(reader->Finish());
  });

  ASSERT_OK_AND_ASSIGN(audit::AuditConfig config, AuditConfigFromProto(audit.config()));
  ASSERT_OK_AND_ASSIGN(audit::Audit offline, audit::Audit::Create(config));
  std::mt19937_64 rng(7);
  std::bernoulli_distribution label(0.6);  // well below tau: a failure mode
  int t = 0;
  v1::SubmitLabelResponse last;
  while (last.decision() == v1::DECISION_NONE) {
    ASSERT_LT(t, 250);
    const std::string id = "case-" + std::to_string(t++);
    ASSERT_OK_AND_ASSIGN(auto handed, HandOut(alpha_, audit.id(), {id}));
    ASSERT_OK_AND_ASSIGN(audit::Event e, offline.HandOut(id));
    EXPECT_EQ(handed.cases(0).p_model(), e.p_model);
    const double y = label(rng) ? 1.0 : 0.0;
    ASSERT_OK_AND_ASSIGN(last, Label(alpha_, audit.id(), id, y));
    ASSERT_EQ(last.merged_size(), 1);
    std::vector<audit::Step> merged;
    ASSERT_OK(offline.SubmitLabel(id, y, &merged).status());
    EXPECT_EQ(last.merged(0).e_model(), merged[0].e_model);
    EXPECT_EQ(last.merged(0).t(), t);
  }
  EXPECT_EQ(last.decision(), v1::DECISION_FAILURE_MODE_FOUND);
  EXPECT_EQ(offline.decision(), audit::Decision::kFailureModeFound);
  watcher.join();
  EXPECT_OK(watch_status);  // the stream ends by itself after the decision

  ASSERT_OK_AND_ASSIGN(v1::Audit now, Get(alpha_read_, audit.id()));
  EXPECT_EQ(now.tested(), t);
  EXPECT_EQ(now.revision(), 2 * t);
  EXPECT_EQ(now.decision_time(), offline.decision_time());
  EXPECT_EQ(now.e_model(), std::exp(offline.log_e_model()));
  EXPECT_EQ(now.p_value_model(), offline.p_value_model());
  EXPECT_EQ(now.accuracy_lower(), offline.accuracy_lower());
  EXPECT_EQ(now.accuracy_upper(), offline.accuracy_upper());

  // Every committed change arrived once, in order; the merged steps are t = 1, 2, ... without gaps.
  ASSERT_EQ(static_cast<int>(seen.size()), 2 * t);
  int64_t expected_t = 1;
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].audit().revision(), static_cast<int64_t>(i) + 1);
    for (const auto& s : seen[i].steps()) EXPECT_EQ(s.t(), expected_t++);
  }
  EXPECT_EQ(expected_t, t + 1);
  EXPECT_EQ(seen.back().audit().decision(), v1::DECISION_FAILURE_MODE_FOUND);

  // Decided: no more cases.
  EXPECT_THAT(HandOut(alpha_, audit.id(), {"late"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already decided")));
}

TEST_F(AuditServiceTest, LabelsMergeInHandOutOrderAndVoidUnblocks) {
  const v1::Audit audit = Create(alpha_);
  ASSERT_OK(HandOut(alpha_, audit.id(), {"a", "b", "c"}).status());
  ASSERT_OK_AND_ASSIGN(auto rc, Label(alpha_, audit.id(), "c", 1));
  EXPECT_EQ(rc.merged_size(), 0);  // waits for a and b
  ASSERT_OK_AND_ASSIGN(auto ra, Label(alpha_, audit.id(), "a", 1));
  ASSERT_EQ(ra.merged_size(), 1);
  EXPECT_EQ(ra.merged(0).case_id(), "a");
  v1::VoidCaseRequest v;
  v.set_audit_id(audit.id());
  v.set_case_id("b");
  v1::VoidCaseResponse vr;
  ASSERT_OK(ToAbsl(audits_->VoidCase(Ctx(alpha_).get(), v, &vr)));
  ASSERT_OK_AND_ASSIGN(v1::Audit now, Get(alpha_, audit.id()));
  EXPECT_EQ(now.tested(), 2);  // a, then c once b was voided
  EXPECT_EQ(now.outstanding(), 0);
  EXPECT_THAT(Label(alpha_, audit.id(), "b", 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("voided")));
  // Voiding again is a harmless retry; voiding a labelled case is refused.
  EXPECT_OK(ToAbsl(audits_->VoidCase(Ctx(alpha_).get(), v, &vr)));
  v.set_case_id("a");
  EXPECT_THAT(ToAbsl(audits_->VoidCase(Ctx(alpha_).get(), v, &vr)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already has a label")));
}

TEST_F(AuditServiceTest, RetriesNeverDoubleCount) {
  const v1::Audit audit = Create(alpha_);
  ASSERT_OK_AND_ASSIGN(auto h1, HandOut(alpha_, audit.id(), {"a", "b"}, "math"));
  // Handing out an outstanding case again returns the same bets and changes nothing.
  ASSERT_OK_AND_ASSIGN(auto h2, HandOut(alpha_, audit.id(), {"a", "b"}, "math"));
  EXPECT_EQ(h2.cases(0).p_model(), h1.cases(0).p_model());
  EXPECT_EQ(h2.revision(), h1.revision());
  EXPECT_THAT(HandOut(alpha_, audit.id(), {"a"}, "code"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("subgroup 'math'")));

  ASSERT_OK_AND_ASSIGN(auto l1, Label(alpha_, audit.id(), "a", 1));
  ASSERT_OK_AND_ASSIGN(auto l2, Label(alpha_, audit.id(), "a", 1));  // retry
  EXPECT_TRUE(l2.duplicate());
  EXPECT_EQ(l2.revision(), l1.revision());
  EXPECT_THAT(Label(alpha_, audit.id(), "a", 0),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already has label 1")));
  // A closed case cannot be handed out again.
  EXPECT_THAT(HandOut(alpha_, audit.id(), {"a"}, "math"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already handed out")));

  // request_id: the retry gets the first reply and changes nothing; reuse for another request is
  // refused.
  ASSERT_OK_AND_ASSIGN(auto r1, Label(alpha_, audit.id(), "b", 0, "req-1"));
  EXPECT_FALSE(r1.duplicate());
  ASSERT_OK_AND_ASSIGN(auto r2, Label(alpha_, audit.id(), "b", 0, "req-1"));
  EXPECT_FALSE(r2.duplicate());  // the stored first reply, verbatim
  EXPECT_EQ(r2.SerializeAsString(), r1.SerializeAsString());
  EXPECT_THAT(Label(alpha_, audit.id(), "b", 1, "req-1"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("different request")));
  v1::CreateAuditRequest create;
  create.set_request_id("create-1");
  v1::Audit c1, c2;
  ASSERT_OK(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), create, &c1)));
  ASSERT_OK(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), create, &c2)));
  EXPECT_EQ(c1.id(), c2.id());
  // Request ids are per team: beta's "create-1" is a new request.
  v1::Audit c3;
  ASSERT_OK(ToAbsl(audits_->CreateAudit(Ctx(beta_).get(), create, &c3)));
  EXPECT_NE(c3.id(), c1.id());

  ASSERT_OK_AND_ASSIGN(v1::Audit now, Get(alpha_, audit.id()));
  EXPECT_EQ(now.handed_out(), 2);
  EXPECT_EQ(now.labelled(), 2);
  EXPECT_EQ(now.tested(), 2);
  EXPECT_EQ(now.revision(), 4);
  ASSERT_EQ(now.subgroups_size(), 1);
  EXPECT_EQ(now.subgroups(0).tested(), 2);
}

TEST_F(AuditServiceTest, BadInputsGetNamedErrorsAndChangeNothing) {
  const v1::Audit audit = Create(alpha_);
  ASSERT_OK(HandOut(alpha_, audit.id(), {"a"}).status());
  ASSERT_OK_AND_ASSIGN(v1::Audit before, Get(alpha_, audit.id()));

  EXPECT_THAT(Label(alpha_, audit.id(), "a", std::nan("")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("y: must be a number")));
  EXPECT_THAT(Label(alpha_, audit.id(), "a", 1.5),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("y:")));
  EXPECT_THAT(Label(alpha_, audit.id(), "", 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("case_id: required")));
  EXPECT_THAT(Label(alpha_, audit.id(), "zzz", 1),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("never handed out")));
  EXPECT_THAT(Label(alpha_, "aud_nope", "a", 1),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("audit_id: no audit 'aud_nope'")));
  EXPECT_THAT(Label(alpha_, "", "a", 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("audit_id: required")));
  EXPECT_THAT(HandOut(alpha_, audit.id(), {"x", "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cases[1].case_id")));
  EXPECT_THAT(HandOut(alpha_, audit.id(), {"ok", ""}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cases[1].case_id")));
  EXPECT_THAT(HandOut(alpha_, audit.id(), {std::string(300, 'x')}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 256")));
  EXPECT_THAT(HandOut(alpha_, audit.id(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cases: 1 to 1000")));
  EXPECT_THAT(Label(alpha_, audit.id(), "a", 1, std::string(200, 'r')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request_id")));

  v1::CreateAuditRequest bad;
  v1::Audit out;
  bad.mutable_config()->set_tau(1.5);
  EXPECT_THAT(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), bad, &out)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("config.tau")));
  bad.mutable_config()->set_tau(std::nan(""));
  EXPECT_THAT(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), bad, &out)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("config.tau")));
  bad.mutable_config()->set_tau(0.85);
  bad.mutable_config()->set_p_model(0.9);  // must be below tau
  EXPECT_THAT(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), bad, &out)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("config.")));
  bad.clear_config();
  bad.mutable_config()->set_method(static_cast<v1::AuditMethod>(42));
  EXPECT_THAT(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), bad, &out)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("config.method")));
  v1::ListAuditsRequest list;
  v1::ListAuditsResponse listed;
  list.set_page_size(5000);
  EXPECT_THAT(ToAbsl(audits_->ListAudits(Ctx(alpha_).get(), list, &listed)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  list.set_page_size(10);
  list.set_page_token("garbage");
  EXPECT_THAT(ToAbsl(audits_->ListAudits(Ctx(alpha_).get(), list, &listed)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  // An oversized message is refused by the transport before it reaches the audit.
  v1::HandOutCasesRequest huge;
  huge.set_audit_id(audit.id());
  huge.add_cases()->set_case_id(std::string(5 << 20, 'x'));
  v1::HandOutCasesResponse huge_out;
  EXPECT_THAT(ToAbsl(audits_->HandOutCases(Ctx(alpha_).get(), huge, &huge_out)),
              StatusIs(absl::StatusCode::kResourceExhausted));

  ASSERT_OK_AND_ASSIGN(v1::Audit after, Get(alpha_, audit.id()));
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
  listed.Clear();
  list.Clear();
  ASSERT_OK(ToAbsl(audits_->ListAudits(Ctx(alpha_).get(), list, &listed)));
  EXPECT_EQ(listed.audits_size(), 1);  // no audit was created by the bad configs
}

// Every audit call made with team beta's key on team alpha's audit answers exactly as for an id
// that does not exist, and changes nothing.
TEST_F(AuditServiceTest, TeamsCannotSeeOrTouchEachOthersAudits) {
  const v1::Audit audit = Create(alpha_);
  ASSERT_OK(HandOut(alpha_, audit.id(), {"a", "b"}).status());
  ASSERT_OK_AND_ASSIGN(v1::Audit before, Get(alpha_, audit.id()));

  auto expect_hidden = [&](const absl::Status& theirs, const absl::Status& missing) {
    EXPECT_EQ(theirs.code(), absl::StatusCode::kNotFound) << theirs;
    // Same message as for a missing id, up to the id itself.
    std::string a(theirs.message()), m(missing.message());
    a.replace(a.find(audit.id()), audit.id().size(), "ID");
    m.replace(m.find("aud_0000000000000000"), 20, "ID");
    EXPECT_EQ(a, m);
  };
  const std::string missing = "aud_0000000000000000";
  expect_hidden(Get(beta_, audit.id()).status(), Get(beta_, missing).status());
  expect_hidden(HandOut(beta_, audit.id(), {"c"}).status(),
                HandOut(beta_, missing, {"c"}).status());
  expect_hidden(Label(beta_, audit.id(), "a", 1).status(), Label(beta_, missing, "a", 1).status());
  v1::VoidCaseRequest v;
  v.set_case_id("b");
  v1::VoidCaseResponse vr;
  v.set_audit_id(audit.id());
  absl::Status void_theirs = ToAbsl(audits_->VoidCase(Ctx(beta_).get(), v, &vr));
  v.set_audit_id(missing);
  expect_hidden(void_theirs, ToAbsl(audits_->VoidCase(Ctx(beta_).get(), v, &vr)));
  {
    v1::WatchAuditRequest w;
    w.set_audit_id(audit.id());
    auto ctx = Ctx(beta_);
    auto reader = audits_->WatchAudit(ctx.get(), w);
    v1::AuditUpdate u;
    EXPECT_FALSE(reader->Read(&u));
    EXPECT_THAT(ToAbsl(reader->Finish()), StatusIs(absl::StatusCode::kNotFound));
  }
  {
    auto ctx = Ctx(beta_);
    auto stream = audits_->StreamLabels(ctx.get());
    v1::SubmitLabelRequest req;
    req.set_audit_id(audit.id());
    req.set_case_id("a");
    req.set_y(1);
    ASSERT_TRUE(stream->Write(req));
    v1::SubmitLabelResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_EQ(resp.error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
    stream->WritesDone();
    EXPECT_OK(ToAbsl(stream->Finish()));
  }
  v1::ListAuditsResponse listed;
  ASSERT_OK(ToAbsl(audits_->ListAudits(Ctx(beta_).get(), {}, &listed)));
  EXPECT_EQ(listed.audits_size(), 0);

  ASSERT_OK_AND_ASSIGN(v1::Audit after, Get(alpha_, audit.id()));
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
}

TEST_F(AuditServiceTest, StreamLabelsRepliesInOrderWithErrorsInline) {
  const v1::Audit audit = Create(alpha_);
  std::vector<std::string> ids;
  for (int i = 0; i < 600; ++i) ids.push_back("c" + std::to_string(i));
  ASSERT_OK(HandOutInCalls(audit.id(), ids, 300));
  auto ctx = Ctx(alpha_);
  auto stream = audits_->StreamLabels(ctx.get());
  std::thread writer([&] {
    for (int i = 0; i < 600; ++i) {
      v1::SubmitLabelRequest req;
      req.set_audit_id(audit.id());
      req.set_case_id(i == 300 ? "unknown" : ids[static_cast<size_t>(i)]);
      req.set_y(1.0);  // all successes: the audit will certify early
      if (!stream->Write(req)) break;
    }
    stream->WritesDone();
  });
  int replies = 0, ok = 0, decided_errors = 0;
  v1::SubmitLabelResponse resp;
  while (stream->Read(&resp)) {
    const std::string expected = replies == 300 ? "unknown" : ids[static_cast<size_t>(replies)];
    EXPECT_EQ(resp.case_id(), expected);
    if (replies == 300) {
      EXPECT_EQ(resp.error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
    }
    if (resp.error_code() == 0) ++ok;
    if (resp.error_code() == static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION)) {
      ++decided_errors;
    }
    ++replies;
  }
  writer.join();
  EXPECT_OK(ToAbsl(stream->Finish()));
  EXPECT_EQ(replies, 600);
  ASSERT_OK_AND_ASSIGN(v1::Audit now, Get(alpha_, audit.id()));
  EXPECT_EQ(now.decision(), v1::DECISION_CERTIFIED);
  EXPECT_EQ(now.tested(), now.decision_time());
  EXPECT_EQ(ok, now.labelled());
  EXPECT_EQ(ok + decided_errors + 1, 600);
}

// Label batches: one reply per batch, one result per label in order; a failed label fails alone;
// a bad batch is refused whole; isolation holds for batches too. Also exercises the in-flight
// window refilling (more batches in flight than the window), which must keep request order.
TEST_F(AuditServiceTest, StreamLabelBatchesFailLabelsAloneAndKeepOrder) {
  v1::AuditConfig config;
  config.set_alpha(1e-12);  // keeps running
  const v1::Audit audit = Create(alpha_, config);
  std::vector<std::string> ids;
  for (int i = 0; i < 3000; ++i) ids.push_back("c" + std::to_string(i));
  ASSERT_OK(HandOutInCalls(audit.id(), ids, 1000));
  auto ctx = Ctx(alpha_);
  auto stream = audits_->StreamLabelBatches(ctx.get());
  // Batch 0: good, good, duplicate of the second, unknown case, NaN, good.
  v1::LabelBatch first;
  for (auto [id, y] : std::vector<std::pair<std::string, double>>{
           {"c0", 1}, {"c1", 0}, {"c1", 0}, {"nope", 1}, {"c2", std::nan("")}, {"c3", 1}}) {
    v1::SubmitLabelRequest* label = first.add_labels();
    label->set_audit_id(audit.id());
    label->set_case_id(id);
    label->set_y(y);
  }
  ASSERT_TRUE(stream->Write(first));
  v1::LabelBatchResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  ASSERT_EQ(resp.results_size(), 6);
  EXPECT_EQ(resp.results(0).error_code(), 0);
  EXPECT_EQ(resp.results(1).error_code(), 0);
  EXPECT_TRUE(resp.results(2).duplicate());
  EXPECT_EQ(resp.results(3).error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(resp.results(4).error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(resp.results(4).case_id(), "c2");
  EXPECT_EQ(resp.results(5).error_code(), 0);
  // An empty batch is refused whole; the stream goes on.
  ASSERT_TRUE(stream->Write(v1::LabelBatch()));
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_EQ(resp.error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(resp.results_size(), 0);
  // 996 batches of 3 labels written without waiting (beyond the 256 in-flight window): the
  // replies come back in order.
  std::thread writer([&] {
    for (int b = 0; b < 996; ++b) {
      v1::LabelBatch batch;
      for (int k = 0; k < 3; ++k) {
        v1::SubmitLabelRequest* label = batch.add_labels();
        label->set_audit_id(audit.id());
        label->set_case_id(ids[static_cast<size_t>(4 + 3 * b + k)]);
        label->set_y((b + k) % 7 == 0 ? 0.0 : 1.0);
      }
      if (!stream->Write(batch)) break;
    }
    stream->WritesDone();
  });
  int b = 0;
  while (stream->Read(&resp)) {
    ASSERT_EQ(resp.results_size(), 3);
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(resp.results(k).case_id(), ids[static_cast<size_t>(4 + 3 * b + k)]);
      EXPECT_EQ(resp.results(k).error_code(), 0) << resp.results(k).error_message();
    }
    ++b;
  }
  writer.join();
  EXPECT_OK(ToAbsl(stream->Finish()));
  EXPECT_EQ(b, 996);
  ASSERT_OK_AND_ASSIGN(v1::Audit now, Get(alpha_, audit.id()));
  EXPECT_EQ(now.labelled(), 3 + 3 * 996);
  // Another team's batch: every label NOT_FOUND, nothing changed.
  auto beta_ctx = Ctx(beta_);
  auto beta_stream = audits_->StreamLabelBatches(beta_ctx.get());
  v1::LabelBatch theirs;
  v1::SubmitLabelRequest* label = theirs.add_labels();
  label->set_audit_id(audit.id());
  label->set_case_id("c2");
  label->set_y(1);
  ASSERT_TRUE(beta_stream->Write(theirs));
  ASSERT_TRUE(beta_stream->Read(&resp));
  EXPECT_EQ(resp.results(0).error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  beta_stream->WritesDone();
  EXPECT_OK(ToAbsl(beta_stream->Finish()));
  ASSERT_OK_AND_ASSIGN(v1::Audit after, Get(alpha_, audit.id()));
  EXPECT_EQ(after.labelled(), now.labelled());
}

// After a restart the audit is exactly where it was, and equals the replay of its event log (past
// a snapshot, which only shortens the replay).
TEST_F(AuditServiceTest, RestartRestoresStateEqualToReplayOfTheLog) {
  v1::AuditConfig config;
  config.set_max_samples(5000);
  config.set_budget(4000);  // keeps the audit running for many labels
  config.set_cs_grid(100);
  const v1::Audit audit = Create(alpha_, config);
  std::mt19937_64 rng(3);
  std::bernoulli_distribution label(0.86);
  int n = 0;
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<std::string> ids;
    for (int i = 0; i < 400; ++i) ids.push_back("c" + std::to_string(n++));
    ASSERT_OK(HandOut(alpha_, audit.id(), ids, batch == 1 ? "geometry" : "").status());
    for (const auto& id : ids) ASSERT_OK(Label(alpha_, audit.id(), id, label(rng)).status());
  }
  ASSERT_OK(HandOut(alpha_, audit.id(), {"open"}).status());  // one outstanding case
  ASSERT_OK_AND_ASSIGN(v1::Audit before, Get(alpha_, audit.id()));
  ASSERT_EQ(before.revision(), 2401);
  ASSERT_EQ(before.decision(), v1::DECISION_NONE);

  RestartServer();
  ASSERT_OK_AND_ASSIGN(v1::Audit after, Get(alpha_, audit.id()));
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());

  std::vector<audit::Event> events;
  ASSERT_OK_AND_ASSIGN(storage::AuditRecord record, StopAndReadStoredAudit(audit.id(), &events));
  // A snapshot was taken (at least 1,000 events in, and at least 4 events per outstanding case).
  EXPECT_GE(record.snapshot_revision, 1000);
  EXPECT_LE(record.snapshot_revision, 2400);
  ASSERT_EQ(events.size(), 2401u);
  v1::AuditConfig stored;
  ASSERT_TRUE(stored.ParseFromString(record.config));
  ASSERT_OK_AND_ASSIGN(audit::AuditConfig core_config, AuditConfigFromProto(stored));
  ASSERT_OK_AND_ASSIGN(audit::Audit replayed, audit::Audit::Replay(core_config, events));
  ASSERT_OK_AND_ASSIGN(audit::Audit from_snapshot, audit::Audit::Deserialize(record.snapshot));
  for (size_t i = static_cast<size_t>(record.snapshot_revision); i < events.size(); ++i) {
    ASSERT_OK(from_snapshot.Apply(events[i]));
  }
  EXPECT_TRUE(from_snapshot == replayed);
  EXPECT_EQ(after.tested(), replayed.tested());
  EXPECT_EQ(after.e_model(), std::exp(replayed.log_e_model()));
  EXPECT_EQ(after.e_auditor(), std::exp(replayed.log_e_auditor()));
  EXPECT_EQ(after.accuracy_lower(), replayed.accuracy_lower());
  EXPECT_EQ(after.outstanding(), 1);
}

// Snapshots follow the log-compaction rule: an audit with many outstanding cases (each in the
// snapshot) snapshots only once the events since its last snapshot are at least 4× its outstanding
// cases (times a stretch in [1, 2) fixed per audit), so the bytes written per event do not grow
// with them, and the replay on load stays bounded.
TEST_F(AuditServiceTest, SnapshotsWaitForFourEventsPerOutstandingCase) {
  v1::AuditConfig config;
  config.set_max_samples(5000);
  config.set_budget(4000);
  config.set_cs_grid(100);
  const v1::Audit audit = Create(alpha_, config);
  auto stored_snapshot_revision = [&]() -> int64_t {
    absl::StatusOr<storage::AuditRecord> record = StopAndReadStoredAudit(audit.id());
    StartServer();
    EXPECT_OK(record.status());
    return record.ok() ? record->snapshot_revision : -1;
  };
  std::vector<std::string> ids;
  for (int i = 0; i < 1500; ++i) ids.push_back("c" + std::to_string(i));
  ASSERT_OK(HandOutInCalls(audit.id(), ids, 500));
  std::mt19937_64 rng(5);
  std::bernoulli_distribution label(0.86);
  // 1,500 hand-outs and 800 labels: revision 2,300 with 700 outstanding, below 4 × 700. (The rule
  // of a fixed 1,000 to 2,000 events would have snapshotted during the hand-outs.)
  for (int i = 0; i < 800; ++i) ASSERT_OK(Label(alpha_, audit.id(), ids[i], label(rng)).status());
  EXPECT_EQ(stored_snapshot_revision(), 0);
  // Labelling the rest, revision r has 3,000 − r outstanding. The snapshot comes once r ≥ 4 (3,000
  // − r), i.e. r ≥ 2,400, and, stretched by less than 2, before r ≥ 8 (3,000 − r), i.e. r ≥ 2,667.
  for (int i = 800; i < 1500; ++i) {
    ASSERT_OK(Label(alpha_, audit.id(), ids[i], label(rng)).status());
  }
  ASSERT_OK_AND_ASSIGN(v1::Audit before, Get(alpha_, audit.id()));
  ASSERT_EQ(before.revision(), 3000);
  ASSERT_EQ(before.decision(), v1::DECISION_NONE);
  const int64_t snapshot = stored_snapshot_revision();
  EXPECT_GE(snapshot, 2400);
  EXPECT_LE(snapshot, 2667);
  // Restored from that snapshot, the audit is exactly where it was.
  ASSERT_OK_AND_ASSIGN(v1::Audit after, Get(alpha_, audit.id()));
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
}

// Memory stays bounded: with room for 2 audits in memory, 5 audits labelled in turn are evicted and
// rebuilt (snapshot + log) again and again, and every label's result equals the core audit's.
TEST_F(AuditServiceTest, IdleAuditsBeyondTheLimitAreDroppedAndRebuiltOnUse) {
  max_live_audits_ = 2;
  RestartServer();
  constexpr int kAudits = 5, kRounds = 30;
  std::vector<std::string> ids;
  std::vector<audit::Audit> offline;
  for (int a = 0; a < kAudits; ++a) {
    v1::AuditConfig config;
    config.set_budget(1000);
    const v1::Audit created = Create(alpha_, config);
    ids.push_back(created.id());
    ASSERT_OK_AND_ASSIGN(audit::AuditConfig core, AuditConfigFromProto(created.config()));
    ASSERT_OK_AND_ASSIGN(audit::Audit state, audit::Audit::Create(core));
    offline.push_back(std::move(state));
    EXPECT_LE(server_->live_audits(), 2u);
  }
  std::mt19937_64 rng(5);
  for (int round = 0; round < kRounds; ++round) {
    for (int a = 0; a < kAudits; ++a) {
      SCOPED_TRACE(::testing::Message() << "audit " << a << " round " << round);
      const std::string case_id = "c" + std::to_string(round);
      ASSERT_OK(HandOut(alpha_, ids[a], {case_id}).status());
      ASSERT_OK(offline[a].HandOut(case_id).status());
      const double y = std::bernoulli_distribution(0.6 + 0.08 * a)(rng) ? 1.0 : 0.0;
      ASSERT_OK_AND_ASSIGN(v1::SubmitLabelResponse labelled, Label(alpha_, ids[a], case_id, y));
      std::vector<audit::Step> merged;
      ASSERT_OK(offline[a].SubmitLabel(case_id, y, &merged).status());
      EXPECT_EQ(labelled.revision(), 2 * (round + 1));
      EXPECT_LE(server_->live_audits(), 2u);
    }
  }
  for (int a = 0; a < kAudits; ++a) {
    ASSERT_OK_AND_ASSIGN(v1::Audit got, Get(alpha_, ids[a]));
    EXPECT_EQ(got.labelled(), kRounds);
    EXPECT_EQ(got.e_model(), std::exp(offline[a].log_e_model()));
    EXPECT_EQ(got.e_auditor(), std::exp(offline[a].log_e_auditor()));
    EXPECT_EQ(got.accuracy_lower(), offline[a].accuracy_lower());
    EXPECT_EQ(got.accuracy_upper(), offline[a].accuracy_upper());
    EXPECT_LE(server_->live_audits(), 2u);
  }
}

}  // namespace
}  // namespace assay::server
