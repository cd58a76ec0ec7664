// CatService through a real server: a session run to completion equals the core session fed the
// same answers (exact doubles), content balancing by item tags, restart mid-session = replay,
// retries that change nothing, bad inputs, and team isolation on every call.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/cat/session.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/testing/irt_sim.h"
#include "tests/testing/service_fixture.h"

namespace assay::server {
namespace {

using absl_testing::StatusIs;
using google::protobuf::util::MessageDifferencer;
using testing::Ctx;
using ::testing::HasSubstr;
using testing::ToAbsl;

class CatServiceTest : public testing::ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    testing::SimOptions sim;
    sim.models = 300;
    sim.items = 400;
    sim.missing = 0.1;
    const testing::Simulated sim_data = testing::Simulate(sim);
    v1::CreateBenchmarkRequest create;
    create.set_name("sim");
    for (const std::string& item : sim_data.data.item_ids()) {
      v1::BenchmarkItem* declared = create.add_items();
      declared->set_id(item);
      declared->add_tags(item.back() % 2 == 0 ? "algebra" : "geometry");
    }
    fit_ = UploadAndFit(sim_data.data, create, &benchmark_);
    ASSERT_EQ(fit_.state(), v1::FIT_STATE_SUCCEEDED);
    // The calibrated bank as served, in item order.
    v1::ListItemParamsRequest req;
    req.set_fit_id(fit_.id());
    req.set_page_size(10000);
    v1::ListItemParamsResponse items;
    ASSERT_OK(ToAbsl(benchmarks_->ListItemParams(Ctx(alpha_).get(), req, &items)));
    bank_.items.a.resize(items.items_size());
    bank_.items.b.resize(items.items_size());
    for (int j = 0; j < items.items_size(); ++j) {
      bank_.items.a[j] = items.items(j).a(0);
      bank_.items.b[j] = items.items(j).b();
      names_.push_back(items.items(j).item());
      bank_.tags.push_back(items.items(j).tags(0) == "algebra" ? 0 : 1);
    }
    bank_.num_tags = 2;
  }

  v1::CatSession Start(const v1::CatOptions& options, const std::string& token = "") {
    v1::StartSessionRequest req;
    req.set_benchmark_id(benchmark_);
    req.set_model("new-model");
    *req.mutable_options() = options;
    v1::CatSession session;
    EXPECT_OK(ToAbsl(cat_->StartSession(Ctx(token.empty() ? alpha_ : token).get(), req, &session)));
    return session;
  }

  absl::StatusOr<v1::NextItemsResponse> Next(const std::string& id, int count) {
    v1::NextItemsRequest req;
    req.set_session_id(id);
    req.set_count(count);
    v1::NextItemsResponse resp;
    absl::Status s = ToAbsl(cat_->NextItems(Ctx(alpha_).get(), req, &resp));
    if (!s.ok()) return s;
    return resp;
  }

  absl::StatusOr<v1::CatSession> Submit(const std::string& id, const std::string& item, double y,
                                        int next_count = 0) {
    v1::SubmitOutcomesRequest req;
    req.set_session_id(id);
    req.set_next_count(next_count);
    v1::CatOutcome* o = req.add_outcomes();
    o->set_item(item);
    o->set_successes(y);
    v1::CatSession resp;
    absl::Status s = ToAbsl(cat_->SubmitOutcomes(Ctx(alpha_).get(), req, &resp));
    if (!s.ok()) return s;
    return resp;
  }

  // The answer of a model with ability `theta` (deterministic per item).
  double Answer(const std::string& item, double theta) const {
    const auto j = std::find(names_.begin(), names_.end(), item) - names_.begin();
    const double p = 1 / (1 + std::exp(-(bank_.items.a[j] * theta + bank_.items.b[j])));
    return std::hash<std::string>{}(item) % 1000 < p * 1000 ? 1.0 : 0.0;
  }

  v1::Fit fit_;
  std::string benchmark_;
  cat::Bank bank_;
  std::vector<std::string> names_;
};

// The model-assisted design through the API: the items and the prediction equal the core
// session's; locate_items defaults to 15 and is echoed; a negative one is refused by name.
// The default session: goal accuracy, hence the model-assisted design.
TEST_F(CatServiceTest, ModelAssistedSessionEqualsTheCoreSession) {
  v1::CatOptions options;
  options.set_max_items(25);
  options.set_seed(3);
  const v1::CatSession started = Start(options);
  EXPECT_EQ(started.options().goal(), v1::CAT_GOAL_ACCURACY);
  EXPECT_EQ(started.options().selection(), v1::CAT_SELECTION_MODEL_ASSISTED);
  EXPECT_EQ(started.options().locate_items(), 15);
  cat::CatOptions core_options;
  core_options.max_items = 25;
  core_options.selection = cat::Selection::kModelAssisted;
  core_options.seed = 3;
  ASSERT_OK_AND_ASSIGN(cat::CatSession offline, cat::CatSession::Start(&bank_, core_options));
  v1::CatSession last = started;
  while (!last.finished()) {
    ASSERT_OK_AND_ASSIGN(v1::NextItemsResponse next, Next(started.id(), 1));
    ASSERT_EQ(next.items_size(), 1);
    ASSERT_OK_AND_ASSIGN(std::vector<Eigen::Index> expected, offline.Next(1));
    ASSERT_EQ(next.items(0), names_[static_cast<size_t>(expected[0])]);
    const double y = Answer(next.items(0), 0.2);
    ASSERT_OK(offline.Submit(expected[0], y));
    ASSERT_OK_AND_ASSIGN(last, Submit(started.id(), next.items(0), y, 0));
  }
  EXPECT_EQ(last.answered(), 25);
  EXPECT_DOUBLE_EQ(last.predicted_accuracy(), offline.Estimate().predicted_accuracy);

  v1::StartSessionRequest bad;
  bad.set_benchmark_id(benchmark_);
  bad.mutable_options()->set_locate_items(-1);
  v1::CatSession ignored;
  EXPECT_THAT(ToAbsl(cat_->StartSession(Ctx(alpha_).get(), bad, &ignored)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.locate_items")));
}

TEST_F(CatServiceTest, SessionToCompletionEqualsTheCoreSessionAndSurvivesRestart) {
  v1::CatOptions options;
  options.set_goal(v1::CAT_GOAL_ABILITY);  // maximum information
  options.set_max_items(30);
  options.set_randomesque(3);
  options.set_seed(7);
  (*options.mutable_tag_targets())["algebra"] = 0.5;
  (*options.mutable_tag_targets())["geometry"] = 0.5;
  const v1::CatSession started = Start(options);
  EXPECT_EQ(started.fit_id(), fit_.id());
  EXPECT_EQ(started.options().max_items(), 30);
  EXPECT_EQ(started.options().selection(), v1::CAT_SELECTION_FISHER);  // the goal's default
  EXPECT_FALSE(started.finished());

  cat::CatOptions core_options;
  core_options.selection = cat::Selection::kFisher;
  core_options.max_items = 30;
  core_options.randomesque = 3;
  core_options.seed = 7;
  core_options.tag_targets = {0.5, 0.5};
  ASSERT_OK_AND_ASSIGN(cat::CatSession offline, cat::CatSession::Start(&bank_, core_options));

  v1::CatSession last = started;
  int steps = 0, algebra = 0;
  while (!last.finished()) {
    ASSERT_OK_AND_ASSIGN(v1::NextItemsResponse next, Next(started.id(), 2));
    if (next.items().empty()) break;
    ASSERT_OK_AND_ASSIGN(std::vector<Eigen::Index> expected, offline.Next(2));
    ASSERT_EQ(next.items_size(), static_cast<int>(expected.size()));
    for (int k = 0; k < next.items_size(); ++k) {
      EXPECT_EQ(next.items(k), names_[static_cast<size_t>(expected[static_cast<size_t>(k)])]);
      const double y = Answer(next.items(k), 0.7);
      ASSERT_OK(offline.Submit(expected[static_cast<size_t>(k)], y));
      // On odd steps the last answer also asks for the next two items (one round trip per step);
      // the NextItems that follows then returns those without drawing.
      const int next_count = (steps % 2 == 1 && k + 1 == next.items_size()) ? 2 : 0;
      ASSERT_OK_AND_ASSIGN(last, Submit(started.id(), next.items(k), y, next_count));
      if (next_count > 0 && !last.finished()) {
        EXPECT_EQ(last.pending_items_size(), 2);
      }
      algebra += bank_.tags[static_cast<size_t>(expected[static_cast<size_t>(k)])] == 0;
    }
    const cat::CatEstimate e = offline.Estimate();
    EXPECT_EQ(last.theta(), e.theta);  // exact: the same arithmetic on the same numbers
    EXPECT_EQ(last.se(), e.se);
    EXPECT_EQ(last.predicted_accuracy(), e.predicted_accuracy);
    if (++steps == 5) {  // a restart mid-session replays the log to the same state
      RestartServer();
      v1::GetSessionRequest get;
      get.set_session_id(started.id());
      v1::CatSession reloaded;
      ASSERT_OK(ToAbsl(cat_->GetSession(Ctx(alpha_read_).get(), get, &reloaded)));
      EXPECT_TRUE(MessageDifferencer::Equals(reloaded, last));
    }
  }
  EXPECT_TRUE(last.finished());
  EXPECT_EQ(last.stop_reason(), "max_items");
  EXPECT_EQ(last.answered(), 30);
  EXPECT_EQ(last.outcomes_size(), 30);
  EXPECT_EQ(algebra, 15);  // content balancing held the shares
  EXPECT_LE(last.lower(), last.predicted_accuracy());
  EXPECT_GE(last.upper(), last.predicted_accuracy());
  ASSERT_OK_AND_ASSIGN(v1::NextItemsResponse after, Next(started.id(), 1));
  EXPECT_TRUE(after.items().empty());

  v1::ListSessionsResponse list;
  ASSERT_OK(ToAbsl(cat_->ListSessions(Ctx(alpha_read_).get(), {}, &list)));
  ASSERT_EQ(list.sessions_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(list.sessions(0), last));
}

TEST_F(CatServiceTest, RetriesChangeNothingAndBadInputsAreRefused) {
  const v1::CatSession s = Start({});
  ASSERT_OK_AND_ASSIGN(v1::NextItemsResponse first, Next(s.id(), 1));
  ASSERT_EQ(first.items_size(), 1);
  // Asking again before answering returns the same item (a retried call draws nothing).
  ASSERT_OK_AND_ASSIGN(v1::NextItemsResponse again, Next(s.id(), 1));
  EXPECT_EQ(again.items(0), first.items(0));
  EXPECT_EQ(again.session().steps(), first.session().steps());
  ASSERT_OK_AND_ASSIGN(v1::CatSession answered, Submit(s.id(), first.items(0), 1));
  ASSERT_OK_AND_ASSIGN(v1::CatSession retried, Submit(s.id(), first.items(0), 1));
  EXPECT_TRUE(MessageDifferencer::Equals(retried, answered));
  EXPECT_THAT(Submit(s.id(), first.items(0), 0).status(),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("outcomes[0]")));
  const std::string other = first.items(0) == names_[0] ? names_[1] : names_[0];
  EXPECT_THAT(Submit(s.id(), other, 1).status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Submit(s.id(), "no-such-item", 1).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("outcomes[0].item: the calibration has no item 'no-such-item'")));
  ASSERT_OK_AND_ASSIGN(v1::NextItemsResponse next, Next(s.id(), 1));
  EXPECT_THAT(Submit(s.id(), next.items(0), std::nan("")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Submit(s.id(), next.items(0), 2).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Next(s.id(), 101).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("count")));
  v1::GetSessionRequest get;
  get.set_session_id(s.id());
  v1::CatSession now;
  ASSERT_OK(ToAbsl(cat_->GetSession(Ctx(alpha_).get(), get, &now)));
  EXPECT_EQ(now.answered(), 1);
  EXPECT_EQ(now.pending_items_size(), 1);

  v1::StartSessionRequest bad;
  bad.set_benchmark_id(benchmark_);
  v1::CatSession ignored;
  bad.mutable_options()->set_max_items(-1);
  EXPECT_THAT(ToAbsl(cat_->StartSession(Ctx(alpha_).get(), bad, &ignored)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.")));
  bad.mutable_options()->set_max_items(10);
  (*bad.mutable_options()->mutable_tag_targets())["calculus"] = 1;
  EXPECT_THAT(ToAbsl(cat_->StartSession(Ctx(alpha_).get(), bad, &ignored)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown tag 'calculus'")));
  bad.mutable_options()->clear_tag_targets();
  bad.mutable_options()->add_excluded_items("nope");
  EXPECT_THAT(ToAbsl(cat_->StartSession(Ctx(alpha_).get(), bad, &ignored)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("excluded_items[0]")));
  bad.set_benchmark_id("bm_missing");
  EXPECT_THAT(ToAbsl(cat_->StartSession(Ctx(alpha_).get(), bad, &ignored)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ToAbsl(cat_->StartSession(Ctx(alpha_read_).get(), bad, &ignored)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  v1::ListSessionsResponse list;
  ASSERT_OK(ToAbsl(cat_->ListSessions(Ctx(alpha_).get(), {}, &list)));
  EXPECT_EQ(list.sessions_size(), 1);
}

// The BASIC view: step replies leave out the options and the outcomes (constant size) and
// otherwise equal the FULL view; GetSession in FULL still has every outcome in order, before and
// after a restart; an unknown view is refused by name and changes nothing.
TEST_F(CatServiceTest, BasicViewLeavesOutOptionsAndOutcomesOnly) {
  v1::CatOptions options;
  options.set_max_items(12);
  options.set_seed(5);
  options.add_excluded_items(names_[0]);
  (*options.mutable_tag_targets())["algebra"] = 0.5;
  (*options.mutable_tag_targets())["geometry"] = 0.5;
  const v1::CatSession started = Start(options);
  const auto get = [&](v1::CatSessionView view) {
    v1::GetSessionRequest req;
    req.set_session_id(started.id());
    req.set_view(view);
    v1::CatSession out;
    EXPECT_OK(ToAbsl(cat_->GetSession(Ctx(alpha_read_).get(), req, &out)));
    return out;
  };
  // `full` with the parts BASIC leaves out cleared.
  const auto as_basic = [](v1::CatSession full) {
    full.clear_options();
    full.clear_outcomes();
    return full;
  };
  v1::NextItemsRequest next;
  next.set_session_id(started.id());
  next.set_view(v1::CAT_SESSION_VIEW_BASIC);
  v1::NextItemsResponse first;
  ASSERT_OK(ToAbsl(cat_->NextItems(Ctx(alpha_).get(), next, &first)));
  ASSERT_EQ(first.items_size(), 1);
  EXPECT_FALSE(first.session().has_options());
  EXPECT_TRUE(
      MessageDifferencer::Equals(first.session(), as_basic(get(v1::CAT_SESSION_VIEW_FULL))));

  std::vector<std::pair<std::string, double>> sent;
  std::string item = first.items(0);
  v1::CatSession reply;
  for (int step = 0; !reply.finished(); ++step) {
    v1::SubmitOutcomesRequest submit;
    submit.set_session_id(started.id());
    submit.set_next_count(1);
    // Every third step asks for the FULL view, which must equal GetSession's.
    submit.set_view(step % 3 == 2 ? v1::CAT_SESSION_VIEW_FULL : v1::CAT_SESSION_VIEW_BASIC);
    v1::CatOutcome* o = submit.add_outcomes();
    o->set_item(item);
    o->set_successes(Answer(item, 0.3));
    sent.emplace_back(item, o->successes());
    ASSERT_OK(ToAbsl(cat_->SubmitOutcomes(Ctx(alpha_).get(), submit, &reply)));
    const v1::CatSession full = get(v1::CAT_SESSION_VIEW_FULL);
    ASSERT_EQ(full.outcomes_size(), static_cast<int>(sent.size()));
    for (size_t k = 0; k < sent.size(); ++k) {
      EXPECT_EQ(full.outcomes(static_cast<int>(k)).item(), sent[k].first);
      EXPECT_EQ(full.outcomes(static_cast<int>(k)).successes(), sent[k].second);
    }
    EXPECT_TRUE(MessageDifferencer::Equals(full.options(), started.options()));
    if (step % 3 == 2) {
      EXPECT_TRUE(MessageDifferencer::Equals(reply, full));
    } else {
      EXPECT_FALSE(reply.has_options());
      EXPECT_EQ(reply.outcomes_size(), 0);
      EXPECT_TRUE(MessageDifferencer::Equals(reply, as_basic(full)));
      EXPECT_TRUE(MessageDifferencer::Equals(get(v1::CAT_SESSION_VIEW_BASIC), reply));
    }
    if (!reply.finished()) {
      ASSERT_EQ(reply.pending_items_size(), 1);
      item = reply.pending_items(0);
    }
  }
  EXPECT_EQ(reply.answered(), 12);

  // What a session's steps published equals its replay after a restart.
  const v1::CatSession before = get(v1::CAT_SESSION_VIEW_FULL);
  RestartServer();
  EXPECT_TRUE(MessageDifferencer::Equals(get(v1::CAT_SESSION_VIEW_FULL), before));

  v1::ListSessionsRequest list;
  list.set_view(v1::CAT_SESSION_VIEW_BASIC);
  v1::ListSessionsResponse listed;
  ASSERT_OK(ToAbsl(cat_->ListSessions(Ctx(alpha_read_).get(), list, &listed)));
  ASSERT_EQ(listed.sessions_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(listed.sessions(0), as_basic(before)));

  // An unknown view: InvalidArgument naming the field, from every call; nothing changes.
  const auto bad_view = static_cast<v1::CatSessionView>(7);
  const auto refused = [](const grpc::Status& status) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("view: unknown value 7"));
  };
  const v1::CatSession second = Start({});
  next.set_session_id(second.id());
  next.set_view(bad_view);
  refused(cat_->NextItems(Ctx(alpha_).get(), next, &first));
  v1::SubmitOutcomesRequest submit;
  submit.set_session_id(started.id());
  submit.set_view(bad_view);
  submit.add_outcomes()->set_item(names_[1]);
  refused(cat_->SubmitOutcomes(Ctx(alpha_).get(), submit, &reply));
  v1::GetSessionRequest get_bad;
  get_bad.set_session_id(started.id());
  get_bad.set_view(bad_view);
  refused(cat_->GetSession(Ctx(alpha_).get(), get_bad, &reply));
  list.set_view(bad_view);
  refused(cat_->ListSessions(Ctx(alpha_).get(), list, &listed));
  EXPECT_TRUE(MessageDifferencer::Equals(get(v1::CAT_SESSION_VIEW_FULL), before));
  v1::GetSessionRequest get_second;
  get_second.set_session_id(second.id());
  ASSERT_OK(ToAbsl(cat_->GetSession(Ctx(alpha_).get(), get_second, &reply)));
  EXPECT_EQ(reply.steps(), 0);
}

// Memory stays bounded: with room for 3 sessions in memory, 8 sessions used in turn are evicted
// and replayed from the database again and again, and every step still equals the core session.
TEST_F(CatServiceTest, IdleSessionsBeyondTheLimitAreDroppedAndReplayedOnUse) {
  max_live_sessions_ = 3;
  RestartServer();
  constexpr int kSessions = 8, kSteps = 6;
  std::vector<std::string> ids;
  std::vector<cat::CatSession> offline;
  for (int s = 0; s < kSessions; ++s) {
    v1::CatOptions options;
    options.set_max_items(kSteps);
    options.set_randomesque(2);
    options.set_seed(100 + s);
    ids.push_back(Start(options).id());
    cat::CatOptions core;
    core.max_items = kSteps;
    core.randomesque = 2;
    core.seed = 100 + s;
    ASSERT_OK_AND_ASSIGN(cat::CatSession session, cat::CatSession::Start(&bank_, core));
    offline.push_back(std::move(session));
    EXPECT_LE(server_->live_sessions(), 3u);
  }
  for (int step = 0; step < kSteps; ++step) {
    for (int s = 0; s < kSessions; ++s) {
      SCOPED_TRACE(::testing::Message() << "session " << s << " step " << step);
      ASSERT_OK_AND_ASSIGN(v1::NextItemsResponse next, Next(ids[s], 1));
      ASSERT_EQ(next.items_size(), 1);
      ASSERT_OK_AND_ASSIGN(std::vector<Eigen::Index> expected, offline[s].Next(1));
      ASSERT_EQ(next.items(0), names_[static_cast<size_t>(expected[0])]);
      const double y = Answer(next.items(0), -0.4 + 0.1 * s);
      ASSERT_OK(offline[s].Submit(expected[0], y));
      ASSERT_OK_AND_ASSIGN(v1::CatSession after, Submit(ids[s], next.items(0), y));
      EXPECT_EQ(after.theta(), offline[s].Estimate().theta);
      EXPECT_EQ(after.answered(), step + 1);
      EXPECT_LE(server_->live_sessions(), 3u);
    }
  }
  for (int s = 0; s < kSessions; ++s) {
    v1::GetSessionRequest get;
    get.set_session_id(ids[s]);
    v1::CatSession got;
    ASSERT_OK(ToAbsl(cat_->GetSession(Ctx(alpha_).get(), get, &got)));
    EXPECT_TRUE(got.finished());
    EXPECT_EQ(got.se(), offline[s].Estimate().se);
  }
  EXPECT_LE(server_->live_sessions(), 3u);
}

// A watcher sees the session now, then every committed step in order, and the stream ends OK after
// the step that finishes it; another team's watch is NOT_FOUND.
TEST_F(CatServiceTest, WatcherSeesEveryStepAndTheStreamEndsWhenTheSessionFinishes) {
  v1::CatOptions options;
  options.set_max_items(6);
  options.set_seed(3);
  const v1::CatSession started = Start(options);
  v1::WatchSessionRequest w;
  w.set_session_id(started.id());
  {
    auto other = Ctx(beta_, absl::Seconds(30));
    auto reader = cat_->WatchSession(other.get(), w);
    v1::CatSession u;
    EXPECT_FALSE(reader->Read(&u));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  auto context = Ctx(alpha_read_, absl::Seconds(60));
  auto reader = cat_->WatchSession(context.get(), w);
  v1::CatSession first;
  ASSERT_TRUE(reader->Read(&first));  // registered: the state now
  EXPECT_TRUE(MessageDifferencer::Equals(first, started));
  std::vector<v1::CatSession> replies;  // FULL views returned by the steps that answer
  for (int step = 0; step < 6; ++step) {
    ASSERT_OK_AND_ASSIGN(v1::NextItemsResponse next, Next(started.id(), 1));
    ASSERT_EQ(next.items_size(), 1);
    ASSERT_OK_AND_ASSIGN(v1::CatSession after,
                         Submit(started.id(), next.items(0), Answer(next.items(0), 0.3)));
    replies.push_back(after);
  }
  ASSERT_TRUE(replies.back().finished());
  std::vector<v1::CatSession> seen;
  for (v1::CatSession u; reader->Read(&u);) seen.push_back(u);
  EXPECT_TRUE(reader->Finish().ok());
  ASSERT_EQ(seen.size(), 12u);  // one per committed step: 6 draws, 6 answers
  for (int step = 0; step < 6; ++step) {
    SCOPED_TRACE(step);
    EXPECT_EQ(seen[2 * step].pending_items_size(), 1);
    EXPECT_EQ(seen[2 * step].answered(), step);
    EXPECT_TRUE(MessageDifferencer::Equals(seen[2 * step + 1], replies[step]));
  }
}

TEST_F(CatServiceTest, TeamsCannotSeeEachOthersSessions) {
  const v1::CatSession s = Start({});
  const auto not_found = [](const grpc::Status& status, const std::string& id) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("'" + id + "'"));
  };
  v1::StartSessionRequest start;
  start.set_benchmark_id(benchmark_);
  v1::CatSession out;
  not_found(cat_->StartSession(Ctx(beta_).get(), start, &out), benchmark_);
  start.set_fit_id(fit_.id());
  not_found(cat_->StartSession(Ctx(beta_).get(), start, &out), benchmark_);
  v1::NextItemsRequest next;
  next.set_session_id(s.id());
  v1::NextItemsResponse items;
  not_found(cat_->NextItems(Ctx(beta_).get(), next, &items), s.id());
  v1::SubmitOutcomesRequest submit;
  submit.set_session_id(s.id());
  submit.add_outcomes()->set_item(names_[0]);
  not_found(cat_->SubmitOutcomes(Ctx(beta_).get(), submit, &out), s.id());
  v1::GetSessionRequest get;
  get.set_session_id(s.id());
  not_found(cat_->GetSession(Ctx(beta_).get(), get, &out), s.id());
  v1::ListSessionsResponse list;
  ASSERT_OK(ToAbsl(cat_->ListSessions(Ctx(beta_).get(), {}, &list)));
  EXPECT_EQ(list.sessions_size(), 0);
  EXPECT_EQ(cat_->GetSession(Ctx("").get(), get, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_OK(ToAbsl(cat_->GetSession(Ctx(alpha_).get(), get, &out)));
  EXPECT_EQ(out.steps(), 0);
}

}  // namespace
}  // namespace assay::server
