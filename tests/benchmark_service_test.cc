// BenchmarkService through a real server on loopback (port 0) over a database file: MATH-500
// uploaded in chunks and fitted as a job matches the offline `assay fit`; idempotent re-uploads;
// progress stream, cancel, versions and the current calibration; sorted and paged tables; scoring;
// bad chunks and options that change nothing; team isolation on every call; restart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>

#include "absl/strings/match.h"
#include "assay/v1/benchmarks.grpc.pb.h"
#include "client/cli/fit_command.h"
#include "client/import/csv.h"
#include "client/lib/upload.h"
#include "core/irt/fit.h"
#include "core/irt/report.h"
#include "tests/testing/api.h"
#include "tests/testing/irt_sim.h"
#include "tests/testing/service_fixture.h"
#include "tests/testing/status_matchers.h"

namespace assay::server {
namespace {

using absl_testing::IsOk;
using absl_testing::StatusIs;
using testing::Ctx;
using ::testing::HasSubstr;
using testing::ToAbsl;

constexpr char kMath500[] = ASSAY_SHARED_DATA "/math500.csv";

class BenchmarkServiceTest : public testing::ServiceTest {
 protected:
  v1::Benchmark Create(const std::string& name, const std::string& token = "") {
    v1::CreateBenchmarkRequest req;
    req.set_name(name);
    v1::Benchmark out;
    EXPECT_OK(
        ToAbsl(benchmarks_->CreateBenchmark(Ctx(token.empty() ? alpha_ : token).get(), req, &out)));
    return out;
  }

  absl::StatusOr<v1::UploadResponsesResponse> Upload(const irt::ResponseMatrix& data,
                                                     const std::string& benchmark_id,
                                                     size_t chunk_cells) {
    auto context = Ctx(alpha_, absl::Seconds(60));
    return client::UploadResponses(*benchmarks_, *context, data, benchmark_id, chunk_cells);
  }

  std::vector<v1::Fit> FitAndWatch(const std::string& benchmark_id, v1::FitOptions options = {}) {
    v1::StartFitRequest req;
    req.set_benchmark_id(benchmark_id);
    *req.mutable_options() = options;
    v1::Fit started;
    EXPECT_OK(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), req, &started)));
    return Watch(started.id());
  }

  std::vector<v1::Fit> Watch(const std::string& fit_id) {
    v1::WatchFitRequest w;
    w.set_fit_id(fit_id);
    auto context = Ctx(alpha_, absl::Seconds(120));
    auto reader = benchmarks_->WatchFit(context.get(), w);
    std::vector<v1::Fit> seen;
    v1::Fit fit;
    while (reader->Read(&fit)) seen.push_back(fit);
    EXPECT_OK(ToAbsl(reader->Finish()));
    return seen;
  }

  std::vector<v1::Ability> AllAbilities(const std::string& benchmark_id, v1::AbilitySort sort,
                                        int page_size) {
    std::vector<v1::Ability> all;
    v1::ListAbilitiesRequest req;
    req.set_benchmark_id(benchmark_id);
    req.set_sort(sort);
    req.set_page_size(page_size);
    do {
      v1::ListAbilitiesResponse page;
      EXPECT_OK(ToAbsl(benchmarks_->ListAbilities(Ctx(alpha_read_).get(), req, &page)));
      if (page.abilities().empty()) break;
      all.insert(all.end(), page.abilities().begin(), page.abilities().end());
      req.set_page_token(page.next_page_token());
    } while (!req.page_token().empty());
    return all;
  }
};

TEST_F(BenchmarkServiceTest, Math500UploadAndFitMatchesOfflineAssayFit) {
  ASSERT_OK_AND_ASSIGN(irt::ResponseMatrix data, import::ReadResponsesCsv(kMath500));
  const v1::Benchmark bm = Create("MATH-500");
  ASSERT_OK_AND_ASSIGN(v1::UploadResponsesResponse up, Upload(data, bm.id(), 7000));
  EXPECT_EQ(up.cells(), data.num_observed());
  EXPECT_EQ(up.cells_added(), data.num_observed());
  EXPECT_GT(up.chunks(), 5);
  EXPECT_EQ(up.benchmark().num_models(), data.num_models());
  EXPECT_EQ(up.benchmark().num_items(), data.num_items());
  EXPECT_EQ(up.benchmark().num_cells(), data.num_observed());
  // Re-uploading (other chunk boundaries) changes nothing.
  ASSERT_OK_AND_ASSIGN(v1::UploadResponsesResponse again, Upload(data, bm.id(), 3000));
  EXPECT_EQ(again.cells_unchanged(), data.num_observed());
  EXPECT_EQ(
      again.cells_added() + again.cells_changed() + again.models_added() + again.items_added(), 0);

  const std::vector<v1::Fit> progress = FitAndWatch(bm.id());
  ASSERT_GE(progress.size(), 2u);
  const v1::Fit& final = progress.back();
  ASSERT_EQ(final.state(), v1::FIT_STATE_SUCCEEDED) << final.error();
  EXPECT_TRUE(final.current());
  EXPECT_TRUE(final.converged());
  EXPECT_EQ(final.version(), 1);
  for (size_t k = 1; k + 1 < progress.size(); ++k) {  // iterations in order, loss non-increasing
    EXPECT_GE(progress[k].iteration(), progress[k - 1].iteration());
    if (progress[k].iteration() > 0 && progress[k - 1].iteration() > 0) {
      EXPECT_LE(progress[k].loss(), progress[k - 1].loss() * (1 + 1e-12));
    }
  }

  // The offline command on the same file.
  client::FitArgs args;
  args.responses = kMath500;
  args.out_dir = dir_.path() + "/offline";
  ASSERT_OK(client::RunFit(args));
  ASSERT_OK_AND_ASSIGN(std::string csv, import::ReadFile(args.out_dir + "/abilities.csv"));
  ASSERT_OK_AND_ASSIGN(std::vector<import::CsvRow> rows, import::ParseCsv(csv, "abilities.csv"));
  std::map<std::string, std::pair<double, double>> offline;  // model → (theta, se)
  for (size_t r = 1; r < rows.size(); ++r) {
    offline[rows[r].fields[0]] = {std::stod(rows[r].fields[1]), std::stod(rows[r].fields[2])};
  }
  const std::vector<v1::Ability> served = AllAbilities(bm.id(), v1::ABILITY_SORT_RANK, 37);
  ASSERT_EQ(served.size(), offline.size());
  double max_diff = 0;
  for (size_t r = 0; r < served.size(); ++r) {
    const v1::Ability& a = served[r];
    ASSERT_TRUE(offline.count(a.model())) << a.model();
    max_diff = std::max(max_diff, std::abs(a.theta(0) - offline[a.model()].first));
    max_diff = std::max(max_diff, std::abs(a.se(0) - offline[a.model()].second));
    if (r > 0) {
      EXPECT_LE(a.theta(0), served[r - 1].theta(0));  // rank order
    }
    EXPECT_GE(a.rank(), 1);
  }
  EXPECT_LT(max_diff, 1e-6);

  // Items sorted by difficulty, hardest first; the never-solved ones are flagged and finite.
  v1::ListItemParamsRequest items_req;
  items_req.set_benchmark_id(bm.id());
  items_req.set_sort(v1::ITEM_SORT_DIFFICULTY);
  items_req.set_page_size(10000);
  v1::ListItemParamsResponse items;
  ASSERT_OK(ToAbsl(benchmarks_->ListItemParams(Ctx(alpha_read_).get(), items_req, &items)));
  ASSERT_EQ(items.items_size(), data.num_items());
  EXPECT_EQ(items.total(), data.num_items());
  int never_solved = 0;
  for (int j = 0; j < items.items_size(); ++j) {
    EXPECT_TRUE(std::isfinite(items.items(j).b()));
    if (j > 0) {
      EXPECT_LE(items.items(j).difficulty(), items.items(j - 1).difficulty());
    }
    never_solved += absl::StrContains(items.items(j).flags(), "never_solved");
  }
  EXPECT_EQ(never_solved, 11);

  // Scoring a fitted model's own responses against the calibration lands within one SE.
  const v1::Ability& median = served[served.size() / 2];
  v1::ScoreModelRequest score_req;
  score_req.set_benchmark_id(bm.id());
  const auto row = std::find(data.model_ids().begin(), data.model_ids().end(), median.model()) -
                   data.model_ids().begin();
  for (Eigen::Index j = 0; j < data.num_items(); ++j) {
    const irt::ResponseMatrix::Column col = data.column(j);
    for (Eigen::Index k = 0; k < col.size; ++k) {
      if ((col.rows == nullptr ? k : col.rows[k]) != row) continue;
      v1::ItemResponse* r = score_req.add_responses();
      r->set_item(data.item_ids()[static_cast<size_t>(j)]);
      r->set_successes(col.y[k]);
    }
  }
  v1::ScoreModelResponse scored;
  ASSERT_OK(ToAbsl(benchmarks_->ScoreModel(Ctx(alpha_read_).get(), score_req, &scored)));
  EXPECT_NEAR(scored.theta(), median.theta(0), median.se(0));
  EXPECT_LE(scored.predicted_accuracy_lower(), scored.predicted_accuracy());
  EXPECT_GE(scored.predicted_accuracy_upper(), scored.predicted_accuracy());
  EXPECT_NEAR(scored.percentile(), 0.5, 0.1);

  // A restart keeps everything: the fit, its tables, the current calibration.
  RestartServer();
  v1::GetBenchmarkRequest get;
  get.set_benchmark_id(bm.id());
  v1::Benchmark reloaded;
  ASSERT_OK(ToAbsl(benchmarks_->GetBenchmark(Ctx(alpha_read_).get(), get, &reloaded)));
  EXPECT_EQ(reloaded.current_fit_id(), final.id());
  EXPECT_EQ(reloaded.num_cells(), data.num_observed());
  const std::vector<v1::Ability> after = AllAbilities(bm.id(), v1::ABILITY_SORT_RANK, 1000);
  ASSERT_EQ(after.size(), served.size());
  for (size_t r = 0; r < after.size(); ++r) {
    EXPECT_EQ(after[r].SerializeAsString(), served[r].SerializeAsString());
  }
}

// The fit job reads the stored responses back by one of two paths (staged N×J for matrices at
// least a quarter full with unit trials; the cell list otherwise): on each the served abilities
// are those of the core's fit of the uploaded matrix.
TEST_F(BenchmarkServiceTest, FitJobsReadBackTheUploadedMatrixWhateverItsShape) {
  struct Case {
    const char* name;
    double missing;
    int trials;
    double theta_tol = 1e-4;
  };
  // Uploaded as bitmaps (full blocks; with an observed bitmap; rows sparse enough to be stored as
  // cell lists), and as columnar cells (binary but sparser than 1 in 28; k of n).
  for (const Case& c :
       {Case{"dense", 0.0, 1}, Case{"30% missing", 0.3, 1}, Case{"90% missing", 0.9, 1},
        Case{"97% missing", 0.97, 1, 0.05}, Case{"k of 3", 0.2, 3}}) {
    SCOPED_TRACE(c.name);
    testing::SimOptions sim;
    sim.models = 120;
    sim.items = 150;
    sim.missing = c.missing;
    sim.trials = c.trials;
    const testing::Simulated s = testing::Simulate(sim);
    const v1::Benchmark bm = Create(c.name);
    ASSERT_OK(Upload(s.data, bm.id(), 5000).status());
    const std::vector<v1::Fit> progress = FitAndWatch(bm.id());
    ASSERT_EQ(progress.back().state(), v1::FIT_STATE_SUCCEEDED) << progress.back().error();
    EXPECT_EQ(progress.back().num_cells(), s.data.num_observed());
    ASSERT_OK_AND_ASSIGN(irt::FitResult core, irt::Fit(s.data, irt::FitOptions()));
    double max_diff = 0;
    for (const v1::Ability& a : AllAbilities(bm.id(), v1::ABILITY_SORT_MODEL, 1000)) {
      const auto i = std::find(s.data.model_ids().begin(), s.data.model_ids().end(), a.model()) -
                     s.data.model_ids().begin();
      ASSERT_LT(i, s.data.num_models());
      // What was read back: each model's observed cells and accuracy, exactly.
      EXPECT_EQ(a.num_items(), s.data.model_cells()[i]) << a.model();
      EXPECT_NEAR(a.accuracy(), s.data.model_successes()[i] / s.data.model_trials()[i], 1e-12)
          << a.model();
      max_diff = std::max(max_diff, std::abs(a.theta(0) - core.params.theta(i, 0)));
    }
    // The same fit up to summation order (the job's threads and item order are its own; with 90%
    // missing the optimum is flat enough for that to show in the fifth decimal, with 97% missing
    // (four or five cells a model, SEs near 1) the precision rule's stop in the second).
    std::printf("%s: largest theta difference from the core's fit %.2e\n", c.name, max_diff);
    EXPECT_LT(max_diff, c.theta_tol);
  }
}

// Rows written by one form are merged with cells of the other: scores (columnar) first, then the
// 0/1 matrix (bitmaps) over them; what the fit reads back is the 0/1 matrix, cell for cell.
TEST_F(BenchmarkServiceTest, BitmapAndColumnarUploadsMergeIntoTheSameRows) {
  testing::SimOptions sim;
  sim.models = 30;
  sim.items = 40;
  sim.missing = 0.2;
  const testing::Simulated s = testing::Simulate(sim);
  ASSERT_TRUE(s.data.binary());
  std::vector<irt::Cell> scores;  // 0.5 on items 0..19 of models 0..9
  for (int32_t i = 0; i < 10; ++i) {
    for (int32_t j = 0; j < 20; ++j) scores.push_back(irt::Cell{i, j, 0.5f, 1.0f});
  }
  ASSERT_OK_AND_ASSIGN(
      irt::ResponseMatrix first,
      irt::ResponseMatrix::FromCells(s.data.model_ids(), s.data.item_ids(), scores));
  const v1::Benchmark bm = Create("merged forms");
  ASSERT_OK_AND_ASSIGN(v1::UploadResponsesResponse up1, Upload(first, bm.id(), 0));
  EXPECT_EQ(up1.cells_added(), 200);
  int64_t overlap = 0;  // cells of the 0/1 matrix among the 200 scores
  for (Eigen::Index j = 0; j < 20; ++j) {
    const irt::ResponseMatrix::Column col = s.data.column(j);
    for (Eigen::Index k = 0; k < col.size; ++k) overlap += col.rows[k] < 10 ? 1 : 0;
  }
  ASSERT_OK_AND_ASSIGN(v1::UploadResponsesResponse up2, Upload(s.data, bm.id(), 0));
  EXPECT_EQ(up2.cells(), s.data.num_observed());
  EXPECT_EQ(up2.cells_changed(), overlap);  // 0.5 -> 0 or 1
  EXPECT_EQ(up2.cells_added(), s.data.num_observed() - overlap);
  // The scores the 0/1 matrix leaves missing stay; the fit reads the rest exactly.
  const std::vector<v1::Fit> progress = FitAndWatch(bm.id());
  ASSERT_EQ(progress.back().state(), v1::FIT_STATE_SUCCEEDED) << progress.back().error();
  EXPECT_EQ(progress.back().num_cells(), s.data.num_observed() + 200 - overlap);
  for (const v1::Ability& a : AllAbilities(bm.id(), v1::ABILITY_SORT_MODEL, 1000)) {
    const auto i = std::find(s.data.model_ids().begin(), s.data.model_ids().end(), a.model()) -
                   s.data.model_ids().begin();
    ASSERT_LT(i, s.data.num_models());
    if (i < 10) continue;  // holds scores too
    EXPECT_EQ(a.num_items(), s.data.model_cells()[i]) << a.model();
    EXPECT_NEAR(a.accuracy(), s.data.model_successes()[i] / s.data.model_trials()[i], 1e-12);
  }
}

TEST_F(BenchmarkServiceTest, VersionsCurrentCalibrationAndCancel) {
  testing::SimOptions sim;
  sim.models = 400;
  sim.items = 600;
  ASSERT_OK_AND_ASSIGN(auto up, Upload(testing::Simulate(sim).data, Create("sim").id(), 50000));
  v1::ListBenchmarksResponse list;
  ASSERT_OK(ToAbsl(benchmarks_->ListBenchmarks(Ctx(alpha_).get(), {}, &list)));
  ASSERT_EQ(list.benchmarks_size(), 1);
  const std::string bm = list.benchmarks(0).id();

  const v1::Fit first = FitAndWatch(bm).back();
  ASSERT_EQ(first.state(), v1::FIT_STATE_SUCCEEDED);
  v1::FitOptions paper;
  paper.set_paper_mode(true);
  const v1::Fit second = FitAndWatch(bm, paper).back();
  ASSERT_EQ(second.state(), v1::FIT_STATE_SUCCEEDED);
  EXPECT_EQ(second.version(), 2);
  EXPECT_EQ(second.options().tol(), 1e-4);  // paper defaults filled in
  EXPECT_EQ(second.options().ridge(), 0.0);

  // Both kept; the newest succeeded one is current until SetCurrentFit says otherwise.
  v1::ListFitsRequest fits_req;
  fits_req.set_benchmark_id(bm);
  v1::ListFitsResponse fits;
  ASSERT_OK(ToAbsl(benchmarks_->ListFits(Ctx(alpha_read_).get(), fits_req, &fits)));
  ASSERT_EQ(fits.fits_size(), 2);
  EXPECT_EQ(fits.fits(0).id(), second.id());
  EXPECT_TRUE(fits.fits(0).current());
  EXPECT_FALSE(fits.fits(1).current());
  v1::SetCurrentFitRequest set;
  set.set_fit_id(first.id());
  v1::Benchmark after_set;
  ASSERT_OK(ToAbsl(benchmarks_->SetCurrentFit(Ctx(alpha_).get(), set, &after_set)));
  EXPECT_EQ(after_set.current_fit_id(), first.id());
  v1::ListAbilitiesRequest abil;
  abil.set_benchmark_id(bm);
  v1::ListAbilitiesResponse current;
  ASSERT_OK(ToAbsl(benchmarks_->ListAbilities(Ctx(alpha_read_).get(), abil, &current)));
  EXPECT_EQ(current.fit_id(), first.id());
  EXPECT_EQ(current.total(), 400);

  // A long fit (tiny tolerance, no acceleration: paper mode) cancelled while running.
  paper.set_tol(1e-300);
  paper.set_max_iter(100000);
  v1::StartFitRequest start;
  start.set_benchmark_id(bm);
  *start.mutable_options() = paper;
  start.set_make_current(false);
  v1::Fit long_fit;
  ASSERT_OK(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), start, &long_fit)));
  {
    v1::WatchFitRequest w;
    w.set_fit_id(long_fit.id());
    auto context = Ctx(alpha_, absl::Seconds(120));
    auto reader = benchmarks_->WatchFit(context.get(), w);
    v1::Fit seen;
    bool cancelled = false;
    while (reader->Read(&seen)) {
      if (!cancelled && seen.state() == v1::FIT_STATE_RUNNING && seen.iteration() >= 3) {
        v1::CancelFitRequest cancel;
        cancel.set_fit_id(long_fit.id());
        v1::Fit reply;
        ASSERT_OK(ToAbsl(benchmarks_->CancelFit(Ctx(alpha_).get(), cancel, &reply)));
        cancelled = true;
      }
    }
    ASSERT_OK(ToAbsl(reader->Finish()));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(seen.state(), v1::FIT_STATE_CANCELLED);
    EXPECT_LT(seen.iteration(), 100000);
  }
  v1::GetFitRequest get;
  get.set_fit_id(long_fit.id());
  v1::Fit stored;
  ASSERT_OK(ToAbsl(benchmarks_->GetFit(Ctx(alpha_read_).get(), get, &stored)));
  EXPECT_EQ(stored.state(), v1::FIT_STATE_CANCELLED);
  EXPECT_FALSE(stored.current());
  // Tables of a cancelled fit do not exist; making it current is refused.
  abil.set_fit_id(long_fit.id());
  EXPECT_THAT(ToAbsl(benchmarks_->ListAbilities(Ctx(alpha_read_).get(), abil, &current)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("CANCELLED")));
  set.set_fit_id(long_fit.id());
  EXPECT_THAT(ToAbsl(benchmarks_->SetCurrentFit(Ctx(alpha_).get(), set, &after_set)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// options.shrink_items: the served tables are the core's shrunk fit, with posterior SEs and the
// estimated prior on the Fit; paper mode refuses it.
TEST_F(BenchmarkServiceTest, ShrinkItemsFitServesTheCoresShrunkTables) {
  testing::SimOptions sim;
  sim.models = 300;
  sim.items = 200;
  const irt::ResponseMatrix data = testing::Simulate(sim).data;
  const std::string bm = Create("shrink").id();
  ASSERT_OK(Upload(data, bm, 50000).status());
  v1::FitOptions options;
  options.set_shrink_items(true);
  const v1::Fit fit = FitAndWatch(bm, options).back();
  ASSERT_EQ(fit.state(), v1::FIT_STATE_SUCCEEDED) << fit.error();
  EXPECT_TRUE(fit.options().shrink_items());

  // The server fits the same cells in its own order and thread split: equal within the
  // convergence tolerance (param_tol 1e-5).
  constexpr double kTol = 1e-4;
  irt::FitOptions core;
  core.shrink_items = true;
  ASSERT_OK_AND_ASSIGN(const irt::FitResult offline, irt::Fit(data, core));
  ASSERT_TRUE(offline.item_prior.has_value());
  ASSERT_EQ(fit.item_prior_mean_size(), 1);
  EXPECT_NEAR(fit.item_prior_mean(0), offline.item_prior->mean[0], kTol);
  EXPECT_NEAR(fit.item_prior_sd(0), std::sqrt(offline.item_prior->variance[0]), kTol);
  const irt::FitReport report =
      irt::MakeReport(data, offline.params, 1.0, core.ridge, &*offline.item_prior);
  std::map<std::string, Eigen::Index> column;
  for (size_t j = 0; j < data.item_ids().size(); ++j) {
    column[data.item_ids()[j]] = static_cast<Eigen::Index>(j);
  }
  v1::ListItemParamsRequest req;
  req.set_fit_id(fit.id());
  req.set_page_size(1000);
  v1::ListItemParamsResponse items;
  ASSERT_OK(ToAbsl(benchmarks_->ListItemParams(Ctx(alpha_read_).get(), req, &items)));
  ASSERT_EQ(items.items_size(), data.num_items());
  for (const v1::ItemParams& item : items.items()) {
    const Eigen::Index j = column.at(item.item());
    EXPECT_NEAR(item.a(0), offline.params.a(j, 0), kTol) << item.item();
    EXPECT_NEAR(item.b(), offline.params.b[j], kTol) << item.item();
    EXPECT_NEAR(item.se_a(0), report.a_se(j, 0), kTol) << item.item();
  }

  options.set_paper_mode(true);
  v1::StartFitRequest start;
  start.set_benchmark_id(bm);
  *start.mutable_options() = options;
  v1::Fit refused;
  EXPECT_THAT(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), start, &refused)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.shrink_items")));
}

// A fit job chooses the estimator by shape like `assay fit`, stores which ran and why, and serves
// the marginal estimator's tables (EAP abilities with posterior SDs); FitOptions.method forces
// one, and a marginal method with options it cannot honour is refused naming the field.
TEST_F(BenchmarkServiceTest, FitJobsChooseTheEstimatorByShapeAndStoreIt) {
  ASSERT_OK_AND_ASSIGN(irt::ResponseMatrix data,
                       import::ReadResponsesCsv(ASSAY_SHARED_DATA "/lsat7.csv"));
  const std::string bm = Create("LSAT7").id();
  ASSERT_OK(Upload(data, bm, 1000).status());
  const v1::Fit fit = FitAndWatch(bm).back();
  ASSERT_EQ(fit.state(), v1::FIT_STATE_SUCCEEDED) << fit.error();
  EXPECT_EQ(fit.method(), v1::FIT_METHOD_MARGINAL_MODELS);
  EXPECT_EQ(fit.options().method(), v1::FIT_METHOD_UNSPECIFIED);  // as given
  EXPECT_THAT(fit.method_reason(), HasSubstr("5 items < 100"));
  EXPECT_EQ(fit.normalization(), "theta_population_n01");
  EXPECT_TRUE(fit.converged());

  irt::FitOptions core;
  ASSERT_OK_AND_ASSIGN(const irt::FitResult offline, irt::Fit(data, core));
  const irt::FitReport report = irt::MakeReport(data, offline, core);
  // The record carries the same outcome as `assay fit`'s fit.json (one conversion for both).
  EXPECT_EQ(fit.iteration(), offline.diagnostics.iterations);
  EXPECT_EQ(fit.diagnostics().sweeps(), offline.diagnostics.sweeps);
  EXPECT_EQ(fit.diagnostics().threads(), irt::ResolvedThreads(0));
  std::map<std::string, Eigen::Index> row;
  for (size_t i = 0; i < data.model_ids().size(); ++i) row[data.model_ids()[i]] = i;
  const std::vector<v1::Ability> served = AllAbilities(bm, v1::ABILITY_SORT_RANK, 1000);
  ASSERT_EQ(served.size(), 1000u);
  for (const v1::Ability& a : served) {
    const Eigen::Index i = row.at(a.model());
    ASSERT_NEAR(a.theta(0), offline.params.theta(i, 0), 1e-6) << a.model();
    ASSERT_NEAR(a.se(0), report.theta_se(i, 0), 1e-6) << a.model();
    ASSERT_NEAR(a.predicted_accuracy(), report.predicted_accuracy[i], 1e-6) << a.model();
  }

  v1::FitOptions joint;
  joint.set_method(v1::FIT_METHOD_JOINT);
  const v1::Fit forced = FitAndWatch(bm, joint).back();
  ASSERT_EQ(forced.state(), v1::FIT_STATE_SUCCEEDED) << forced.error();
  EXPECT_EQ(forced.method(), v1::FIT_METHOD_JOINT);
  EXPECT_THAT(forced.method_reason(), HasSubstr("forced"));

  v1::GetBenchmarkRequest get;
  get.set_benchmark_id(bm);
  v1::Benchmark before;
  ASSERT_OK(ToAbsl(benchmarks_->GetBenchmark(Ctx(alpha_read_).get(), get, &before)));
  for (auto [set, field] : std::vector<std::pair<std::function<void(v1::FitOptions&)>, const char*>>{
           {[](v1::FitOptions& o) { o.set_dims(2); }, "options.method"},
           {[](v1::FitOptions& o) { o.set_paper_mode(true); }, "options.method"},
           {[](v1::FitOptions& o) { o.set_shrink_items(true); }, "options.shrink_items"},
           {[](v1::FitOptions& o) { o.set_method(static_cast<v1::FitMethod>(42)); },
            "options.method"}}) {
    v1::StartFitRequest start;
    start.set_benchmark_id(bm);
    start.mutable_options()->set_method(v1::FIT_METHOD_MARGINAL_ITEMS);
    set(*start.mutable_options());
    v1::Fit refused;
    EXPECT_THAT(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), start, &refused)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)));
  }
  v1::Benchmark after;
  ASSERT_OK(ToAbsl(benchmarks_->GetBenchmark(Ctx(alpha_read_).get(), get, &after)));
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
}

// A dozen models: the fit job runs marginal-items, serves the items' posteriors (se_a, se_b,
// cov_ab), and ScoreModel scores a new model against them exactly as the core does with the
// offline fit's bank (posterior-predictive item probabilities).
TEST_F(BenchmarkServiceTest, FewModelFitsServeItemPosteriorsThatScoringUses) {
  testing::SimOptions sim;
  sim.models = 13;
  sim.items = 3000;
  sim.missing = 0;
  const testing::Simulated s = testing::Simulate(sim);
  std::vector<irt::Cell> cells;
  for (Eigen::Index j = 0; j < s.data.num_items(); ++j) {
    for (int32_t i = 0; i < 12; ++i) {
      cells.push_back({i, static_cast<int32_t>(j), s.data.column(j).y[i], 1.0});
    }
  }
  std::vector<std::string> twelve(s.data.model_ids().begin(), s.data.model_ids().begin() + 12);
  ASSERT_OK_AND_ASSIGN(const irt::ResponseMatrix data,
                       irt::ResponseMatrix::FromCells(twelve, s.data.item_ids(), cells));
  const std::string bm = Create("twelve").id();
  ASSERT_OK(Upload(data, bm, 50000).status());
  const v1::Fit fit = FitAndWatch(bm).back();
  ASSERT_EQ(fit.state(), v1::FIT_STATE_SUCCEEDED) << fit.error();
  EXPECT_EQ(fit.method(), v1::FIT_METHOD_MARGINAL_ITEMS);

  irt::FitOptions core;
  ASSERT_OK_AND_ASSIGN(const irt::FitResult offline, irt::Fit(data, core));
  const irt::FitReport report = irt::MakeReport(data, offline, core);
  ASSERT_OK_AND_ASSIGN(const irt::ItemBank bank, irt::MakeItemBank(offline, report, 1.0));
  ASSERT_TRUE(bank.has_posteriors());
  v1::ListItemParamsRequest items_req;
  items_req.set_fit_id(fit.id());
  items_req.set_page_size(10000);
  v1::ListItemParamsResponse items;
  ASSERT_OK(ToAbsl(benchmarks_->ListItemParams(Ctx(alpha_read_).get(), items_req, &items)));
  ASSERT_EQ(items.items_size(), data.num_items());
  std::map<std::string, Eigen::Index> column;
  for (size_t j = 0; j < data.item_ids().size(); ++j) column[data.item_ids()[j]] = j;
  double nonzero_cov = 0;
  for (const v1::ItemParams& item : items.items()) {
    const Eigen::Index j = column.at(item.item());
    ASSERT_NEAR(item.a(0), bank.a[j], 1e-6);
    ASSERT_NEAR(item.se_a(0), bank.a_sd[j], 1e-6);
    ASSERT_NEAR(item.se_b(), bank.b_sd[j], 1e-6);
    ASSERT_NEAR(item.cov_ab(), bank.ab_cov[j], 1e-6);
    nonzero_cov += item.cov_ab() != 0;
  }
  EXPECT_GT(nonzero_cov, 0);

  // The 13th model, never uploaded, scored on its first 200 items.
  v1::ScoreModelRequest score_req;
  score_req.set_benchmark_id(bm);
  std::vector<irt::Response> responses;
  for (Eigen::Index j = 0; j < 200; ++j) {
    const double y = s.data.column(j).y[12];
    v1::ItemResponse* r = score_req.add_responses();
    r->set_item(data.item_ids()[j]);
    r->set_successes(y);
    responses.push_back({j, y, 1.0});
  }
  v1::ScoreModelResponse scored;
  ASSERT_OK(ToAbsl(benchmarks_->ScoreModel(Ctx(alpha_read_).get(), score_req, &scored)));
  ASSERT_OK_AND_ASSIGN(const irt::AbilityEstimate expected, irt::ScoreMap(bank, responses));
  EXPECT_NEAR(scored.theta(), expected.theta, 1e-6);
  EXPECT_NEAR(scored.se(), expected.se, 1e-6);
  EXPECT_NEAR(scored.predicted_accuracy(), irt::PredictedAccuracy(bank, expected.theta), 1e-6);
  // Against its true expected accuracy: within the interval.
  const double truth = testing::TrueAccuracy(s.truth)[12];
  EXPECT_LE(scored.predicted_accuracy_lower(), truth);
  EXPECT_GE(scored.predicted_accuracy_upper(), truth);
}

TEST_F(BenchmarkServiceTest, BadChunksAndOptionsChangeNothing) {
  const v1::Benchmark bm = Create("bad inputs");
  // A good chunk, then a bad one on the same stream: the stream ends with the bad chunk's error,
  // the good chunk stays.
  auto context = Ctx(alpha_);
  v1::UploadResponsesResponse resp;
  auto writer = benchmarks_->UploadResponses(context.get(), &resp);
  v1::UploadResponsesRequest good;
  good.set_benchmark_id(bm.id());
  good.add_models("m1");
  good.add_items("q1");
  good.add_items("q2");
  for (int j = 0; j < 2; ++j) {
    good.add_model_index(0);
    good.add_item_index(static_cast<uint32_t>(j));
    good.add_successes(1.0f * static_cast<float>(j));
  }
  ASSERT_TRUE(writer->Write(good));
  v1::UploadResponsesRequest bad = good;
  bad.clear_benchmark_id();
  bad.set_models(0, "m2");
  bad.set_successes(1, 1.5f);
  writer->Write(bad);
  writer->WritesDone();
  EXPECT_THAT(ToAbsl(writer->Finish()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("chunk 2: successes[1]: must be in [0, trials = 1], got 1.5")));
  v1::GetBenchmarkRequest get;
  get.set_benchmark_id(bm.id());
  v1::Benchmark after;
  ASSERT_OK(ToAbsl(benchmarks_->GetBenchmark(Ctx(alpha_).get(), get, &after)));
  EXPECT_EQ(after.num_models(), 1);  // m2 never got in
  EXPECT_EQ(after.num_cells(), 2);

  struct Case {
    std::function<void(v1::UploadResponsesRequest&)> spoil;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto& c) { c.set_model_index(0, 5); }, "model_index[0]: 5 but the chunk lists 1 models"},
      {[](auto& c) { c.add_item_index(0); }, "must have the same length"},
      {[](auto& c) {
         c.add_trials(0);
         c.add_trials(1);
       },
       "trials[0]: must be in (0, 1e6]"},
      {[](auto& c) { c.set_successes(0, std::nanf("")); }, "successes[0]"},
      {[](auto& c) { c.set_item_index(1, 0); }, "cells 0 and 1 are both"},
      {[](auto& c) { c.add_items("q1"); }, "items[2]: 'q1' appears twice"},
      {[](auto& c) { c.set_models(0, ""); }, "models[0]: must be 1 to 256 characters"},
      {[](auto& c) { c.set_benchmark_id("bm_nope"); }, "no benchmark 'bm_nope'"},
      {[](auto& c) { c.clear_benchmark_id(); }, "benchmark_id: required"},
      {[](auto& c) { c.add_item_tags()->set_id("q9"); }, "item_tags[0].id: unknown item 'q9'"},
  };
  const auto rejected = [&](const v1::UploadResponsesRequest& chunk, const std::string& message) {
    auto ctx = Ctx(alpha_);
    v1::UploadResponsesResponse r;
    auto w = benchmarks_->UploadResponses(ctx.get(), &r);
    w->Write(chunk);
    w->WritesDone();
    const absl::Status s = ToAbsl(w->Finish());
    EXPECT_FALSE(s.ok()) << message;
    EXPECT_THAT(std::string(s.message()), HasSubstr(message));
  };
  for (const Case& c : cases) {
    v1::UploadResponsesRequest chunk = good;
    chunk.set_models(0, "m3");
    c.spoil(chunk);
    rejected(chunk, c.message);
  }
  // The bitmap form: m3 right on q2, wrong on q1.
  v1::UploadResponsesRequest bits;
  bits.set_benchmark_id(bm.id());
  bits.add_models("m3");
  bits.add_items("q1");
  bits.add_items("q2");
  bits.mutable_bitmaps()->set_correct(std::string(1, '\x02'));
  const std::vector<Case> bitmap_cases = {
      {[](auto& c) { c.add_model_index(0); },
       "bitmaps: a chunk carries either bitmaps or columnar"},
      {[](auto& c) { c.mutable_bitmaps()->set_correct("ab"); },
       "bitmaps.correct: 2 bytes, but a block of 1 models x 2 items takes 1"},
      {[](auto& c) { c.mutable_bitmaps()->set_observed("ab"); },
       "bitmaps.observed: 2 bytes, but a block of 1 models x 2 items takes 1 (or 0: every cell "
       "observed)"},
      {[](auto& c) { c.mutable_bitmaps()->set_correct(std::string(1, '\x06')); },
       "bitmaps: bit 2 is set, past the block's 2 bits"},
      {[](auto& c) { c.mutable_bitmaps()->set_observed(std::string(1, '\x01')); },
       "bitmaps.correct: bit 1 (models[0] 'm3', items[1] 'q2') is set but the cell is not "
       "observed"},
  };
  for (const Case& c : bitmap_cases) {
    v1::UploadResponsesRequest chunk = bits;
    c.spoil(chunk);
    rejected(chunk, c.message);
  }
  ASSERT_OK(ToAbsl(benchmarks_->GetBenchmark(Ctx(alpha_).get(), get, &after)));
  EXPECT_EQ(after.num_models(), 1);
  EXPECT_EQ(after.num_cells(), 2);

  // Options, names, empty benchmark.
  v1::StartFitRequest start;
  start.set_benchmark_id(bm.id());
  start.mutable_options()->set_dims(9);
  v1::Fit fit;
  EXPECT_THAT(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), start, &fit)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.dims")));
  start.mutable_options()->set_dims(1);
  start.mutable_options()->set_sigma(-1);
  EXPECT_THAT(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), start, &fit)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.sigma")));
  const v1::Benchmark empty = Create("empty");
  start.set_benchmark_id(empty.id());
  start.clear_options();
  EXPECT_THAT(ToAbsl(benchmarks_->StartFit(Ctx(alpha_).get(), start, &fit)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no responses yet")));
  v1::CreateBenchmarkRequest dup;
  dup.set_name("empty");
  v1::Benchmark ignored;
  EXPECT_THAT(ToAbsl(benchmarks_->CreateBenchmark(Ctx(alpha_).get(), dup, &ignored)),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("name:")));
  v1::ListFitsRequest fits_req;
  fits_req.set_benchmark_id(bm.id());
  v1::ListFitsResponse fits;
  ASSERT_OK(ToAbsl(benchmarks_->ListFits(Ctx(alpha_).get(), fits_req, &fits)));
  EXPECT_EQ(fits.fits_size(), 0);
  // A read key cannot write.
  EXPECT_THAT(ToAbsl(benchmarks_->CreateBenchmark(Ctx(alpha_read_).get(), dup, &ignored)),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(BenchmarkServiceTest, TeamsCannotSeeEachOthersBenchmarksOrFits) {
  ASSERT_OK_AND_ASSIGN(irt::ResponseMatrix data, import::ReadResponsesCsv(kMath500));
  const v1::Benchmark bm = Create("MATH-500");
  ASSERT_OK(Upload(data, bm.id(), 100000).status());
  const v1::Fit fit = FitAndWatch(bm.id()).back();
  ASSERT_EQ(fit.state(), v1::FIT_STATE_SUCCEEDED);

  const auto not_found = [](const grpc::Status& s, const std::string& id) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("'" + id + "'"));
  };
  // Beta, with a fully valid admin key, names alpha's ids in every call.
  v1::GetBenchmarkRequest get;
  get.set_benchmark_id(bm.id());
  v1::Benchmark b;
  not_found(benchmarks_->GetBenchmark(Ctx(beta_).get(), get, &b), bm.id());
  v1::ListBenchmarksResponse list;
  ASSERT_OK(ToAbsl(benchmarks_->ListBenchmarks(Ctx(beta_).get(), {}, &list)));
  EXPECT_EQ(list.benchmarks_size(), 0);
  v1::ListBenchmarkItemsRequest items_req;
  items_req.set_benchmark_id(bm.id());
  v1::ListBenchmarkItemsResponse items;
  not_found(benchmarks_->ListBenchmarkItems(Ctx(beta_).get(), items_req, &items), bm.id());
  {
    auto context = Ctx(beta_);
    v1::UploadResponsesResponse r;
    auto w = benchmarks_->UploadResponses(context.get(), &r);
    v1::UploadResponsesRequest chunk;
    chunk.set_benchmark_id(bm.id());
    w->Write(chunk);
    w->WritesDone();
    not_found(w->Finish(), bm.id());
  }
  v1::StartFitRequest start;
  start.set_benchmark_id(bm.id());
  v1::Fit f;
  not_found(benchmarks_->StartFit(Ctx(beta_).get(), start, &f), bm.id());
  v1::GetFitRequest get_fit;
  get_fit.set_fit_id(fit.id());
  not_found(benchmarks_->GetFit(Ctx(beta_).get(), get_fit, &f), fit.id());
  v1::ListFitsRequest list_fits;
  list_fits.set_benchmark_id(bm.id());
  v1::ListFitsResponse fits;
  not_found(benchmarks_->ListFits(Ctx(beta_).get(), list_fits, &fits), bm.id());
  {
    v1::WatchFitRequest w;
    w.set_fit_id(fit.id());
    auto context = Ctx(beta_);
    auto reader = benchmarks_->WatchFit(context.get(), w);
    v1::Fit seen;
    EXPECT_FALSE(reader->Read(&seen));
    not_found(reader->Finish(), fit.id());
  }
  v1::CancelFitRequest cancel;
  cancel.set_fit_id(fit.id());
  not_found(benchmarks_->CancelFit(Ctx(beta_).get(), cancel, &f), fit.id());
  v1::SetCurrentFitRequest set;
  set.set_fit_id(fit.id());
  not_found(benchmarks_->SetCurrentFit(Ctx(beta_).get(), set, &b), fit.id());
  v1::ListAbilitiesRequest abil;
  abil.set_fit_id(fit.id());
  v1::ListAbilitiesResponse abilities;
  not_found(benchmarks_->ListAbilities(Ctx(beta_).get(), abil, &abilities), fit.id());
  abil.clear_fit_id();
  abil.set_benchmark_id(bm.id());
  not_found(benchmarks_->ListAbilities(Ctx(beta_).get(), abil, &abilities), bm.id());
  v1::ListItemParamsRequest params;
  params.set_fit_id(fit.id());
  v1::ListItemParamsResponse item_params;
  not_found(benchmarks_->ListItemParams(Ctx(beta_).get(), params, &item_params), fit.id());
  v1::ScoreModelRequest score;
  score.set_benchmark_id(bm.id());
  score.add_responses()->set_item(data.item_ids()[0]);
  v1::ScoreModelResponse scored;
  not_found(benchmarks_->ScoreModel(Ctx(beta_).get(), score, &scored), bm.id());

  // Unauthenticated calls are rejected.
  EXPECT_EQ(benchmarks_->GetBenchmark(Ctx("").get(), get, &b).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Alpha still sees everything unchanged.
  ASSERT_OK(ToAbsl(benchmarks_->GetBenchmark(Ctx(alpha_read_).get(), get, &b)));
  EXPECT_EQ(b.current_fit_id(), fit.id());
  EXPECT_EQ(b.num_cells(), data.num_observed());
}

}  // namespace
}  // namespace assay::server
