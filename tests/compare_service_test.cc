// CompareService through a real server, on MATH-500 uploaded as a benchmark: a comparison run to
// its decision equals the core comparison fed the same answers (exact doubles), with the baseline
// taken from the stored responses; a restart mid-way replays to the same state; retries count
// once; bad input is refused by field and changes nothing; watchers see every step; another team
// sees nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <thread>

#include "client/import/csv.h"
#include "core/compare/comparison.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/testing/service_fixture.h"

namespace assay::server {
namespace {

using absl_testing::StatusIs;
using google::protobuf::util::MessageDifferencer;
using testing::Ctx;
using ::testing::HasSubstr;
using testing::ToAbsl;

class CompareServiceTest : public testing::ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    auto data = import::ReadResponsesCsv(ASSAY_SHARED_DATA "/math500.csv");
    ASSERT_OK(data.status());
    data_.emplace(*std::move(data));
    v1::CreateBenchmarkRequest create;
    create.set_name("math500");
    fit_ = UploadAndFit(*data_, create, &benchmark_);
    ASSERT_EQ(fit_.state(), v1::FIT_STATE_SUCCEEDED);
    v1::ListItemParamsRequest req;
    req.set_fit_id(fit_.id());
    req.set_page_size(10000);
    v1::ListItemParamsResponse items;
    ASSERT_OK(ToAbsl(benchmarks_->ListItemParams(Ctx(alpha_).get(), req, &items)));
    bank_.a.resize(items.items_size());
    bank_.b.resize(items.items_size());
    for (int j = 0; j < items.items_size(); ++j) {
      bank_.a[j] = items.items(j).a(0);
      bank_.b[j] = items.items(j).b();
      names_.push_back(items.items(j).item());
    }
  }

  // Model `model`'s outcome on every bank item, in bank order.
  std::vector<double> Row(const std::string& model) const {
    const auto& ids = data_->model_ids();
    const auto i = std::find(ids.begin(), ids.end(), model) - ids.begin();
    std::vector<double> row;
    for (const std::string& item : names_) {
      const auto& items = data_->item_ids();
      const auto j = std::find(items.begin(), items.end(), item) - items.begin();
      row.push_back(data_->column(j).y[i]);
    }
    return row;
  }

  absl::StatusOr<v1::Comparison> Create(const v1::CompareOptions& options,
                                        const std::string& key = "") {
    v1::CreateComparisonRequest req;
    req.set_benchmark_id(benchmark_);
    req.set_model_a(kA);
    req.set_model_b(kB);
    *req.mutable_options() = options;
    v1::Comparison out;
    absl::Status s = ToAbsl(compare_->CreateComparison(Ctx(key.empty() ? alpha_ : key).get(), req, &out));
    if (!s.ok()) return s;
    return out;
  }

  absl::StatusOr<v1::NextComparisonItemsResponse> Next(const std::string& id, int count) {
    v1::NextComparisonItemsRequest req;
    req.set_comparison_id(id);
    req.set_count(count);
    v1::NextComparisonItemsResponse out;
    absl::Status s = ToAbsl(compare_->NextComparisonItems(Ctx(alpha_).get(), req, &out));
    if (!s.ok()) return s;
    return out;
  }

  absl::StatusOr<v1::Comparison> Submit(const v1::SubmitComparisonOutcomesRequest& req) {
    v1::Comparison out;
    absl::Status s = ToAbsl(compare_->SubmitComparisonOutcomes(Ctx(alpha_).get(), req, &out));
    if (!s.ok()) return s;
    return out;
  }

  v1::Comparison Get(const std::string& id, const std::string& key = "") {
    v1::GetComparisonRequest req;
    req.set_comparison_id(id);
    v1::Comparison out;
    EXPECT_OK(ToAbsl(compare_->GetComparison(Ctx(key.empty() ? alpha_ : key).get(), req, &out)));
    return out;
  }

  static constexpr const char* kA = "HuggingFaceTB_SmolLM3_3B_zero_shot";
  static constexpr const char* kB = "HuggingFaceTB_SmolLM3_3B_one_shot";
  std::optional<irt::ResponseMatrix> data_;
  v1::Fit fit_;
  std::string benchmark_;
  irt::ItemBank bank_;
  std::vector<std::string> names_;
};

TEST_F(CompareServiceTest, BaselineKnownRunEqualsTheCoreAndSurvivesRestart) {
  v1::CompareOptions options;
  options.set_baseline_known(true);
  options.set_seed(5);
  ASSERT_OK_AND_ASSIGN(v1::Comparison created, Create(options));
  EXPECT_EQ(created.fit_id(), fit_.id());
  EXPECT_EQ(created.benchmark_items(), 500);
  EXPECT_DOUBLE_EQ(created.options().delta(), 0.01);  // the core's defaults, echoed
  EXPECT_DOUBLE_EQ(created.options().alpha(), 0.05);
  EXPECT_EQ(created.options().design(), v1::COMPARE_DESIGN_UNIFORM);
  EXPECT_EQ(created.decision(), v1::COMPARE_DECISION_UNDECIDED);

  compare::CompareOptions core;
  core.seed = 5;
  const std::vector<double> a = Row(kA), b = Row(kB);
  ASSERT_OK_AND_ASSIGN(compare::Comparison offline, compare::Comparison::Start(&bank_, core, a));
  v1::Comparison last = created;
  int rounds = 0;
  while (!last.finished()) {
    ASSERT_OK_AND_ASSIGN(v1::NextComparisonItemsResponse next, Next(created.id(), 3));
    ASSERT_OK_AND_ASSIGN(std::vector<Eigen::Index> expected, offline.Next(3));
    ASSERT_EQ(next.items_size(), static_cast<int>(expected.size()));
    v1::SubmitComparisonOutcomesRequest submit;
    submit.set_comparison_id(created.id());
    for (int k = 0; k < next.items_size(); ++k) {
      const Eigen::Index j = expected[static_cast<size_t>(k)];
      ASSERT_EQ(next.items(k), names_[static_cast<size_t>(j)]);
      v1::CompareOutcome* o = submit.add_outcomes();
      o->set_item(next.items(k));
      o->set_b_successes(b[static_cast<size_t>(j)]);
      ASSERT_OK(offline.Submit(j, {b[static_cast<size_t>(j)], 1}));
    }
    ASSERT_OK_AND_ASSIGN(last, Submit(submit));
    ASSERT_OK_AND_ASSIGN(v1::Comparison retried, Submit(submit));  // a retry changes nothing
    EXPECT_EQ(retried.revision(), last.revision());
    const compare::CompareEstimate e = offline.Estimate();
    ASSERT_EQ(last.items(), e.items);
    EXPECT_EQ(last.lower(), e.lower);  // exact: the same arithmetic on the same numbers
    EXPECT_EQ(last.upper(), e.upper);
    EXPECT_EQ(last.estimate(), e.estimate);
    // What readers see (the published view, advanced step by step) is the full state.
    EXPECT_TRUE(MessageDifferencer::Equals(Get(created.id()), last));
    if (++rounds == 4) {
      RestartServer();
      EXPECT_TRUE(MessageDifferencer::Equals(Get(created.id(), alpha_read_), last));
    }
  }
  const compare::CompareEstimate e = offline.Estimate();
  EXPECT_EQ(last.decision(), static_cast<v1::CompareDecision>(e.decision));
  EXPECT_NE(last.decision(), v1::COMPARE_DECISION_UNDECIDED);
  EXPECT_EQ(last.steps_size(), static_cast<int>(offline.steps().size()));
  double truth = 0;
  for (size_t j = 0; j < a.size(); ++j) truth += (b[j] - a[j]) / static_cast<double>(a.size());
  for (const v1::CompareStep& s : last.steps()) {
    EXPECT_LE(s.lower(), truth + 1e-12);
    EXPECT_GE(s.upper(), truth - 1e-12);
  }
  std::printf("%s vs %s: true difference %+.1f points, %s after %lld items\n", kB, kA, 100 * truth,
              v1::CompareDecision_Name(last.decision()).c_str(),
              static_cast<long long>(last.items()));
  // Finished: no more items, and asking draws nothing.
  ASSERT_OK_AND_ASSIGN(v1::NextComparisonItemsResponse after, Next(created.id(), 1));
  EXPECT_EQ(after.items_size(), 0);
  EXPECT_EQ(after.comparison().revision(), last.revision());
}

TEST_F(CompareServiceTest, BothSampledWithWatcherAndTeamIsolation) {
  v1::CompareOptions options;
  options.set_max_items(12);
  ASSERT_OK_AND_ASSIGN(v1::Comparison created, Create(options));
  EXPECT_FALSE(created.options().baseline_known());
  // A watcher sees every committed step, in order, and the stream ends after the last.
  std::vector<int64_t> seen;
  std::thread watcher([&] {
    v1::WatchComparisonRequest w;
    w.set_comparison_id(created.id());
    auto context = Ctx(alpha_read_, absl::Seconds(60));
    auto reader = compare_->WatchComparison(context.get(), w);
    v1::Comparison update;
    while (reader->Read(&update)) seen.push_back(update.revision());
    EXPECT_OK(ToAbsl(reader->Finish()));
  });
  const std::vector<double> a = Row(kA), b = Row(kB);
  v1::Comparison last = created;
  v1::NextComparisonItemsResponse next;
  ASSERT_OK_AND_ASSIGN(next, Next(created.id(), 1));
  while (!last.finished()) {
    ASSERT_EQ(next.items_size(), 1);
    const auto j = std::find(names_.begin(), names_.end(), next.items(0)) - names_.begin();
    v1::SubmitComparisonOutcomesRequest submit;
    submit.set_comparison_id(created.id());
    submit.set_next_count(1);  // answer and draw the next in one step
    v1::CompareOutcome* o = submit.add_outcomes();
    o->set_item(next.items(0));
    o->set_b_successes(b[static_cast<size_t>(j)]);
    o->set_a_successes(a[static_cast<size_t>(j)]);
    ASSERT_OK_AND_ASSIGN(last, Submit(submit));
    next.clear_items();
    for (const std::string& item : last.pending_items()) next.add_items(item);
  }
  watcher.join();
  EXPECT_EQ(last.items(), 12);
  EXPECT_EQ(last.decision(), v1::COMPARE_DECISION_INCONCLUSIVE);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), last.revision());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));

  // Another team: not found, everywhere.
  v1::GetComparisonRequest get;
  get.set_comparison_id(created.id());
  v1::Comparison ignored;
  EXPECT_THAT(ToAbsl(compare_->GetComparison(Ctx(beta_).get(), get, &ignored)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("comparison_id")));
  v1::ListComparisonsRequest list;
  v1::ListComparisonsResponse listed;
  ASSERT_OK(ToAbsl(compare_->ListComparisons(Ctx(beta_).get(), list, &listed)));
  EXPECT_EQ(listed.comparisons_size(), 0);
  ASSERT_OK(ToAbsl(compare_->ListComparisons(Ctx(alpha_).get(), list, &listed)));
  EXPECT_EQ(listed.comparisons_size(), 1);
  // The read-only key cannot write.
  v1::NextComparisonItemsRequest nreq;
  nreq.set_comparison_id(created.id());
  v1::NextComparisonItemsResponse nresp;
  EXPECT_THAT(ToAbsl(compare_->NextComparisonItems(Ctx(alpha_read_).get(), nreq, &nresp)),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(CompareServiceTest, BadInputIsRefusedByFieldAndChangesNothing) {
  const auto create_error = [&](const std::function<void(v1::CreateComparisonRequest&)>& edit) {
    v1::CreateComparisonRequest req;
    req.set_benchmark_id(benchmark_);
    req.set_model_a(kA);
    req.set_model_b(kB);
    edit(req);
    v1::Comparison out;
    return ToAbsl(compare_->CreateComparison(Ctx(alpha_).get(), req, &out));
  };
  const auto invalid = [](const char* field) {
    return StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field));
  };
  EXPECT_THAT(create_error([](auto& r) { r.mutable_options()->set_delta(1); }),
              invalid("options.delta"));
  EXPECT_THAT(create_error([](auto& r) { r.mutable_options()->set_alpha(0); }),
              invalid("options.alpha"));
  EXPECT_THAT(create_error([](auto& r) { r.mutable_options()->set_max_items(-1); }),
              invalid("options.max_items"));
  EXPECT_THAT(create_error([](auto& r) { r.clear_model_a(); }), invalid("model_a"));
  EXPECT_THAT(create_error([](auto& r) { r.set_model_b(kA); }), invalid("model_b"));
  EXPECT_THAT(create_error([](auto& r) {
                r.set_model_a("no-such-model");
                r.mutable_options()->set_baseline_known(true);
              }),
              invalid("model_a: benchmark"));
  EXPECT_THAT(create_error([](auto& r) { r.set_benchmark_id("bm_nope"); }),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("benchmark_id")));
  v1::ListComparisonsRequest list;
  v1::ListComparisonsResponse listed;
  ASSERT_OK(ToAbsl(compare_->ListComparisons(Ctx(alpha_).get(), list, &listed)));
  EXPECT_EQ(listed.comparisons_size(), 0);  // nothing was created

  v1::CompareOptions options;
  options.set_baseline_known(true);
  ASSERT_OK_AND_ASSIGN(v1::Comparison created, Create(options));
  ASSERT_OK_AND_ASSIGN(v1::NextComparisonItemsResponse next, Next(created.id(), 2));
  const v1::Comparison before = Get(created.id());
  const auto submit_error = [&](const std::function<void(v1::CompareOutcome&)>& edit,
                                bool second_ok = true) {
    v1::SubmitComparisonOutcomesRequest req;
    req.set_comparison_id(created.id());
    if (second_ok) {  // a good outcome first: a request applies whole or not at all
      v1::CompareOutcome* good = req.add_outcomes();
      good->set_item(next.items(0));
      good->set_b_successes(1);
    }
    v1::CompareOutcome* o = req.add_outcomes();
    o->set_item(next.items(1));
    o->set_b_successes(1);
    edit(*o);
    return Submit(req).status();
  };
  EXPECT_THAT(submit_error([](auto& o) { o.set_item("nope"); }), invalid("outcomes[1].item"));
  EXPECT_THAT(submit_error([](auto& o) { o.set_b_successes(2); }), invalid("y_b"));
  EXPECT_THAT(submit_error([](auto& o) { o.set_a_successes(1); }), invalid("y_a"));
  std::string not_handed_out;
  for (const std::string& n : names_) {
    if (n != next.items(0) && n != next.items(1)) {
      not_handed_out = n;
      break;
    }
  }
  EXPECT_THAT(submit_error([&](auto& o) { o.set_item(not_handed_out); }),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not handed out")));
  EXPECT_TRUE(MessageDifferencer::Equals(Get(created.id()), before));
}

}  // namespace
}  // namespace assay::server
