#include "server/resources/fits.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "core/base/thread_name.h"
#include "core/base/yield.h"
#include "core/irt/report.h"
#include "server/resources/paging.h"
#include "server/resources/request_ids.h"
#include "server/runtime/log.h"
#include "server/runtime/scheduling.h"

namespace assay::server {
namespace {

constexpr size_t kCachedTables = 8;

absl::Status FitNotFound(const std::string& fit_id) {
  return absl::NotFoundError(absl::StrCat("fit_id: no fit '", fit_id, "'"));
}

const v1::Fit& Identity(const v1::Fit& fit) { return fit; }

bool Final(v1::FitState state) {
  return state == v1::FIT_STATE_SUCCEEDED || state == v1::FIT_STATE_FAILED ||
         state == v1::FIT_STATE_CANCELLED;
}
bool IsFinal(const v1::Fit& fit) { return Final(fit.state()); }

// The result tables of a fit (normalized parameters, report, tags).
v1::FitTables BuildTables(const irt::ResponseMatrix& data, const irt::FitResult& fit,
                          const irt::FitReport& report,
                          const std::vector<std::vector<std::string>>& tags) {
  v1::FitTables out;
  const Eigen::Index n = data.num_models(), k = fit.params.dims();
  std::vector<Eigen::Index> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](Eigen::Index x, Eigen::Index y) {
    return fit.params.theta(x, 0) > fit.params.theta(y, 0);
  });
  std::vector<int> rank(static_cast<size_t>(n));
  for (size_t r = 0; r < order.size(); ++r) {
    const bool tie = r > 0 && fit.params.theta(order[r], 0) == fit.params.theta(order[r - 1], 0);
    rank[static_cast<size_t>(order[r])] =
        tie ? rank[static_cast<size_t>(order[r - 1])] : static_cast<int>(r) + 1;
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    v1::Ability* a = out.add_abilities();
    a->set_model(data.model_ids()[static_cast<size_t>(i)]);
    for (Eigen::Index d = 0; d < k; ++d) {
      a->add_theta(fit.params.theta(i, d));
      a->add_se(report.theta_se(i, d));
    }
    a->set_rank(rank[static_cast<size_t>(i)]);
    a->set_accuracy(report.model_accuracy[i]);
    a->set_predicted_accuracy(report.predicted_accuracy[i]);
    a->set_num_items(data.model_cells()[i]);
    a->set_flags(irt::ModelFlagNames(report.model_flags[static_cast<size_t>(i)]));
  }
  for (Eigen::Index j = 0; j < data.num_items(); ++j) {
    v1::ItemParams* p = out.add_items();
    p->set_item(data.item_ids()[static_cast<size_t>(j)]);
    for (Eigen::Index d = 0; d < k; ++d) {
      p->add_a(fit.params.a(j, d));
      p->add_se_a(report.a_se(j, d));
    }
    p->set_b(fit.params.b[j]);
    p->set_difficulty(-fit.params.b[j]);
    p->set_se_b(report.b_se[j]);
    if (fit.marginal.has_value() && fit.marginal->ab_cov.size() != 0) {
      p->set_cov_ab(fit.marginal->ab_cov[j]);
    }
    p->set_p_correct(report.item_p_correct[j]);
    p->set_num_models(data.item_cells()[j]);
    p->set_infit(report.infit[j]);
    p->set_outfit(report.outfit[j]);
    p->set_flags(irt::ItemFlagNames(report.item_flags[static_cast<size_t>(j)]));
    if (static_cast<size_t>(j) < tags.size()) {
      for (const std::string& t : tags[static_cast<size_t>(j)]) p->add_tags(t);
    }
  }
  return out;
}

// Sorted, paged view of `rows` (indices), by `less`; `descending` reverses. Ties by `name`.
template <typename Row, typename Key, typename Name>
std::vector<int> SortedPage(const google::protobuf::RepeatedPtrField<Row>& rows, Key key, Name name,
                            bool descending) {
  std::vector<int> order(static_cast<size_t>(rows.size()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    const double kx = key(rows[x]), ky = key(rows[y]);
    // NaN sorts last.
    if (std::isnan(kx) != std::isnan(ky)) return std::isnan(ky);
    if (kx != ky) return descending ? kx > ky : kx < ky;
    return name(rows[x]) < name(rows[y]);
  });
  return order;
}

}  // namespace

FitJobs::FitJobs(storage::Storage* storage, CommitQueue* commits, BenchmarkManager* benchmarks,
                 int fit_threads, int slots, Quotas* quotas)
    : storage_(storage),
      commits_(commits),
      benchmarks_(benchmarks),
      fit_threads_(std::max(1, fit_threads)),
      slots_(std::max(1, slots)),
      quotas_(quotas) {}

FitJobs::~FitJobs() { Shutdown(); }

absl::Status FitJobs::Start() {
  ASSIGN_OR_RETURN(std::vector<storage::FitRecord> unfinished,
                   storage_->Reads()->FitsInState({v1::FIT_STATE_QUEUED, v1::FIT_STATE_RUNNING}));
  {
    absl::MutexLock lock(&mu_);
    for (const storage::FitRecord& r : unfinished) {
      auto job = std::make_shared<Job>();
      job->row_id = r.id;
      job->benchmark_row_id = r.benchmark_id;
      job->team_id = r.team_id;
      if (!job->fit.ParseFromString(r.record)) {
        return absl::DataLossError(absl::StrCat("fit ", r.public_id, ": stored record is corrupt"));
      }
      job->make_current = job->fit.current();  // stored: the start's make_current
      job->fit.set_current(false);
      job->fit.set_state(v1::FIT_STATE_QUEUED);
      job->published.Set(job->fit, 0);
      active_[r.public_id] = job;
      queue_.Push(job->team_id, job);
    }
    NumberQueue();
  }
  if (!unfinished.empty())
    Log(LogLevel::kInfo, "re-queued %d unfinished fit(s)", unfinished.size());
  for (int slot = 0; slot < slots_; ++slot) {
    runners_.emplace_back([this] {
      NameCurrentThread("assay-fits");
      // Below the request path: nice kFitNice and the kernel's default slice (per thread,
      // inherited by the sweep threads a fit starts; runtime/scheduling.h). Not SCHED_IDLE: that
      // starved fits whenever anything else on the machine kept the cores busy. Failure only
      // costs responsiveness, so it is not an error. And the fit's loops yield their core every
      // few tens of microseconds (core/base/yield.h, taken by the fit's threads too): a request
      // thread woken on a core running a fit then waits that long, not until the next tick.
      RunInBackground(kFitNice);
      SetYieldOften(true);
      RunLoop();
    });
  }
  return absl::OkStatus();
}

void FitJobs::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& runner : runners_) {
    if (runner.joinable()) runner.join();
  }
}

bool FitJobs::MayRun(int64_t team_id) {
  auto it = running_.find(team_id);
  // The cached limits: this runs under mu_ and must not read the database.
  const int limit =
      quotas_ == nullptr
          ? 1
          : static_cast<int>(quotas_->Cached(team_id).Get(Limit::kConcurrentFits));
  return it == running_.end() || it->second < std::max(1, limit);
}

void FitJobs::RunLoop() {
  while (true) {
    std::shared_ptr<Job> job;
    {
      absl::MutexLock lock(&mu_);
      const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ ||
               queue_.HasRunnable([this](int64_t team) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                 return MayRun(team);
               });
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      job = *queue_.Pop([this](int64_t team) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return MayRun(team);
      });
      if (job->cancel) {  // Cancel stored CANCELLED already; its commit removes it from the queue
        NumberQueue();
        continue;
      }
      ++running_[job->team_id];
      job->fit.set_state(v1::FIT_STATE_RUNNING);
      job->fit.set_queue_position(0);
      NumberQueue();
      Publish(*job);
    }
    Run(job);
    absl::MutexLock lock(&mu_);
    if (--running_[job->team_id] == 0) running_.erase(job->team_id);
  }
}

void FitJobs::NumberQueue() {
  int position = 0;
  for (const std::shared_ptr<Job>& job : queue_.Order()) {
    if (job->fit.queue_position() != position) {
      job->fit.set_queue_position(position);
      Publish(*job);
    }
    ++position;
  }
}

void FitJobs::Run(const std::shared_ptr<Job>& job) {
  const absl::Time start = absl::Now();
  v1::FitOptions proto_options;
  {
    absl::MutexLock lock(&mu_);
    proto_options = job->fit.options();
  }
  absl::StatusOr<irt::FitOptions> options = FitOptionsFromProto(proto_options);
  absl::StatusOr<irt::ResponseMatrix> data = benchmarks_->LoadMatrix(job->benchmark_row_id);
  absl::StatusOr<std::vector<std::vector<std::string>>> tags =
      benchmarks_->ItemTags(job->benchmark_row_id);
  absl::StatusOr<irt::FitResult> result = absl::UnknownError("not run");
  if (!options.ok()) {
    result = options.status();
  } else if (!data.ok()) {
    result = data.status();
  } else if (!tags.ok()) {
    result = tags.status();
  } else {
    options->threads = fit_threads_;
    options->keep_loss_history = false;
    options->on_iteration = [&](int iteration, double loss) {
      absl::MutexLock lock(&mu_);
      job->fit.set_iteration(iteration);
      job->fit.set_loss(loss);
      job->fit.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
      Publish(*job);
      return !job->cancel && !stopping_;
    };
    result = irt::Fit(*data, *options);
  }
  v1::Fit final;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;  // abandoned: stays RUNNING on disk, runs again on the next start
    final = job->fit;
  }
  final.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  final.set_finished_at(absl::ToUnixSeconds(absl::Now()));
  std::optional<std::string> tables;
  if (data.ok()) {
    final.set_num_models(data->num_models());
    final.set_num_items(data->num_items());
    final.set_num_cells(data->num_observed());
  }
  if (result.ok()) {
    convert::FitResultToProto(*data, *result, fit_threads_, final);
    const irt::FitReport report = irt::MakeReport(*data, *result, *options);
    tables = BuildTables(*data, *result, report, *tags).SerializeAsString();
  } else if (absl::IsCancelled(result.status())) {
    final.set_state(v1::FIT_STATE_CANCELLED);
    final.set_error("cancelled by CancelFit");
  } else {
    final.set_state(v1::FIT_STATE_FAILED);
    final.set_error(std::string(result.status().message()));
  }
  const bool make_current = job->make_current && final.state() == v1::FIT_STATE_SUCCEEDED;
  final.set_current(make_current);
  absl::Notification stored;
  absl::Status store_status;
  const absl::Status queued = commits_->Submit(
      [&](WriteContext& ctx) -> absl::Status {
        RETURN_IF_ERROR(
            ctx.txn().UpdateFit(job->row_id, final.state(), final.SerializeAsString(), tables));
        if (make_current)
          RETURN_IF_ERROR(ctx.txn().SetCurrentFit(job->benchmark_row_id, job->row_id));
        return absl::OkStatus();
      },
      [&](absl::Status status) {
        store_status = std::move(status);
        stored.Notify();
      });
  if (queued.ok()) {
    stored.WaitForNotification();
  } else {
    store_status = queued;
  }
  absl::MutexLock lock(&mu_);
  if (!store_status.ok()) {
    // Still RUNNING on disk: it runs again on the next start. Until then the job stays in memory,
    // so that the fit reads as failed (and why) rather than as the stale record.
    Log(LogLevel::kError, "fit %s: could not store the result: %s", final.id(),
        store_status.ToString());
    final.set_state(v1::FIT_STATE_FAILED);
    final.set_error(absl::StrCat("the result could not be stored (", store_status.message(),
                                 "); the fit runs again when the server restarts"));
    final.set_current(false);
  }
  job->fit = final;
  Publish(*job);
  if (store_status.ok()) active_.erase(final.id());
}

// Fits keep no history (published{0}): their stream is coalesced progress, and a watcher that
// resumes gets the current state; the sequence is the iteration.
void FitJobs::Publish(Job& job) {
  job.published.Publish(job.fit, job.fit, IsFinal(job.fit), job.fit.iteration());
}

absl::Status FitJobs::RecordToProto(const storage::FitRecord& r, v1::Fit* out) {
  if (!out->ParseFromString(r.record)) {
    return absl::DataLossError(absl::StrCat("fit ", r.public_id, ": stored record is corrupt"));
  }
  out->set_id(r.public_id);
  out->set_version(r.version);
  out->set_state(static_cast<v1::FitState>(r.state));
  ASSIGN_OR_RETURN(std::optional<storage::BenchmarkRecord> benchmark,
                   storage_->Reads()->FindBenchmarkById(r.benchmark_id));
  out->set_current(benchmark.has_value() && benchmark->current_fit_id == r.id);
  return absl::OkStatus();
}

absl::StatusOr<storage::FitRecord> FitJobs::FindRecord(const Principal& who,
                                                       const std::string& fit_id) {
  ASSIGN_OR_RETURN(std::optional<storage::FitRecord> record,
                   storage_->Reads()->FindFit(who.team_id, fit_id));
  if (!record.has_value()) return FitNotFound(fit_id);
  return *std::move(record);
}

absl::Status FitJobs::StartFit(WriteContext& ctx, const Principal& who,
                               const v1::StartFitRequest& req, v1::Fit* out) {
  v1::FitOptions options = req.options();
  RETURN_IF_ERROR(FitOptionsFromProto(options).status());
  ASSIGN_OR_RETURN(std::optional<storage::BenchmarkRecord> benchmark,
                   ctx.txn().FindBenchmark(who.team_id, req.benchmark_id()));
  if (!benchmark.has_value()) return BenchmarkNotFound(req.benchmark_id());
  if (benchmark->num_cells == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "benchmark_id: benchmark '", req.benchmark_id(), "' has no responses yet; upload first"));
  }
  return WithRequestId(ctx.txn(), who.team_id, "StartFit", req, out, [&]() -> absl::Status {
    RETURN_IF_ERROR(Admit(quotas_, ctx.txn(), who, Limit::kQueuedFits));
    v1::Fit fit;
    fit.set_id(absl::StrCat("fit_", RandomHex(8)));
    fit.set_benchmark_id(req.benchmark_id());
    *fit.mutable_options() = options;
    fit.set_state(v1::FIT_STATE_QUEUED);
    fit.set_created_at(absl::ToUnixSeconds(absl::Now()));
    fit.set_current(!req.has_make_current() || req.make_current());  // stored: make_current
    storage::FitRecord record;
    record.public_id = fit.id();
    record.benchmark_id = benchmark->id;
    record.team_id = who.team_id;
    record.state = v1::FIT_STATE_QUEUED;
    record.record = fit.SerializeAsString();
    RETURN_IF_ERROR(ctx.txn().InsertFit(record));
    auto job = std::make_shared<Job>();
    job->row_id = record.id;
    job->benchmark_row_id = benchmark->id;
    job->team_id = who.team_id;
    job->make_current = fit.current();
    fit.set_current(false);
    fit.set_version(record.version);
    job->fit = fit;
    job->published.Set(fit, 0);
    *out = fit;
    ctx.OnCommit([this, job] {
      absl::MutexLock lock(&mu_);
      active_[job->fit.id()] = job;
      queue_.Push(job->team_id, job);
      NumberQueue();
    });
    return absl::OkStatus();
  });
}

absl::Status FitJobs::Cancel(WriteContext& ctx, const Principal& who,
                             const v1::CancelFitRequest& req, v1::Fit* out) {
  ASSIGN_OR_RETURN(std::optional<storage::FitRecord> record,
                   ctx.txn().FindFit(who.team_id, req.fit_id()));
  if (!record.has_value()) return FitNotFound(req.fit_id());
  return WithRequestId(ctx.txn(), who.team_id, "CancelFit", req, out, [&]() -> absl::Status {
    absl::MutexLock lock(&mu_);
    auto it = active_.find(req.fit_id());
    if (it == active_.end()) {  // finished: nothing to cancel
      if (!out->ParseFromString(record->record)) return absl::DataLossError("corrupt fit record");
      out->set_id(record->public_id);
      out->set_version(record->version);
      out->set_state(static_cast<v1::FitState>(record->state));
      return absl::OkStatus();
    }
    std::shared_ptr<Job> job = it->second;
    const bool was_cancelled = job->cancel;
    job->cancel = true;
    ctx.OnRollback([this, job, was_cancelled] {
      absl::MutexLock relock(&mu_);
      job->cancel = was_cancelled;
    });
    if (job->fit.state() == v1::FIT_STATE_QUEUED) {
      v1::Fit cancelled = job->fit;
      cancelled.set_state(v1::FIT_STATE_CANCELLED);
      cancelled.set_error("cancelled by CancelFit before it started");
      cancelled.set_finished_at(absl::ToUnixSeconds(absl::Now()));
      RETURN_IF_ERROR(ctx.txn().UpdateFit(job->row_id, cancelled.state(),
                                          cancelled.SerializeAsString(), std::nullopt));
      ctx.OnCommit([this, job, cancelled] {
        absl::MutexLock relock(&mu_);
        job->fit = cancelled;
        Publish(*job);
        active_.erase(cancelled.id());
        queue_.Remove(job);
        NumberQueue();
      });
      *out = cancelled;
    } else {
      *out = job->fit;  // RUNNING: the runner stops within an iteration and stores CANCELLED
    }
    return absl::OkStatus();
  });
}

absl::Status FitJobs::SetCurrent(WriteContext& ctx, const Principal& who,
                                 const v1::SetCurrentFitRequest& req, v1::Benchmark* out) {
  ASSIGN_OR_RETURN(std::optional<storage::FitRecord> record,
                   ctx.txn().FindFit(who.team_id, req.fit_id()));
  if (!record.has_value()) return FitNotFound(req.fit_id());
  if (record->state != v1::FIT_STATE_SUCCEEDED) {
    return absl::FailedPreconditionError(
        absl::StrCat("fit_id: fit '", req.fit_id(), "' is ",
                     v1::FitState_Name(static_cast<v1::FitState>(record->state)),
                     "; only a succeeded fit can be current"));
  }
  return WithRequestId(ctx.txn(), who.team_id, "SetCurrentFit", req, out, [&]() -> absl::Status {
    RETURN_IF_ERROR(ctx.txn().SetCurrentFit(record->benchmark_id, record->id));
    ASSIGN_OR_RETURN(std::optional<storage::BenchmarkRecord> benchmark,
                     ctx.txn().FindBenchmarkById(record->benchmark_id));
    if (!benchmark.has_value()) return absl::DataLossError("fit without its benchmark");
    BenchmarkManager::ToProtoWithCurrent(*benchmark, record->public_id, out);
    return absl::OkStatus();
  });
}

absl::Status FitJobs::Get(const Principal& who, const std::string& fit_id, v1::Fit* out) {
  {
    absl::MutexLock lock(&mu_);
    auto it = active_.find(fit_id);
    if (it != active_.end() && it->second->team_id == who.team_id) {
      *out = it->second->fit;
      return absl::OkStatus();
    }
  }
  ASSIGN_OR_RETURN(storage::FitRecord record, FindRecord(who, fit_id));
  return RecordToProto(record, out);
}

absl::Status FitJobs::List(const Principal& who, const v1::ListFitsRequest& req,
                           v1::ListFitsResponse* out) {
  if (req.benchmark_id().empty()) {
    if (!req.page_token().empty()) {
      return absl::InvalidArgumentError(
          "page_token: the fit queue is not paged (give page_size to see its head)");
    }
    absl::MutexLock lock(&mu_);
    ListQueue(who, req.page_size() > 0 ? req.page_size() : std::numeric_limits<int>::max(), out);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(storage::BenchmarkRecord benchmark, benchmarks_->Find(who, req.benchmark_id()));
  ASSIGN_OR_RETURN(
      std::string next,
      ListNewestFirst(
          req.page_size(), req.page_token(),
          [&](int64_t before, int limit) {
            return storage_->Reads()->ListFits(benchmark.id, before, limit);
          },
          [&](const storage::FitRecord& r) { return Get(who, r.public_id, out->add_fits()); }));
  out->set_next_page_token(next);
  return absl::OkStatus();
}

void FitJobs::ListQueue(const Principal& who, int limit, v1::ListFitsResponse* out) {
  std::vector<const Job*> running;
  for (const auto& [id, job] : active_) {
    if (job->team_id == who.team_id && job->fit.state() == v1::FIT_STATE_RUNNING)
      running.push_back(job.get());
  }
  std::sort(running.begin(), running.end(),
            [](const Job* x, const Job* y) { return x->row_id < y->row_id; });
  for (const Job* job : running) {
    if (out->fits_size() >= limit) return;
    *out->add_fits() = job->fit;
  }
  for (const std::shared_ptr<Job>& job : queue_.Order()) {
    if (out->fits_size() >= limit) return;
    if (job->team_id == who.team_id) *out->add_fits() = job->fit;
  }
}

FitJobs::Counts FitJobs::Count() { return CountWhere([](int64_t) { return true; }); }

FitJobs::Counts FitJobs::CountOfTeam(int64_t team_id) {
  return CountWhere([team_id](int64_t team) { return team == team_id; });
}

FitJobs::Counts FitJobs::CountWhere(absl::FunctionRef<bool(int64_t)> team) {
  absl::MutexLock lock(&mu_);
  Counts counts;
  for (const auto& [id, job] : active_) {
    if (!team(job->team_id)) continue;
    if (job->fit.state() == v1::FIT_STATE_RUNNING) ++counts.running;
    if (job->fit.state() == v1::FIT_STATE_QUEUED) ++counts.queued;
  }
  return counts;
}

absl::StatusOr<std::shared_ptr<void>> FitJobs::Watch(
    const Principal& who, const std::string& fit_id, FitWatcher* watcher,
    std::optional<int64_t> /*after: fits resume with their current state*/) {
  {
    absl::MutexLock lock(&mu_);
    auto it = active_.find(fit_id);
    if (it != active_.end() && it->second->team_id == who.team_id &&
        it->second->published.Watch(watcher, Identity, &IsFinal)) {
      return std::shared_ptr<void>(it->second);
    }
  }
  v1::Fit fit;
  RETURN_IF_ERROR(Get(who, fit_id, &fit));
  absl::MutexLock lock(&mu_);
  auto it = active_.find(fit_id);  // started meanwhile (restart recovery)
  if (it != active_.end() && it->second->published.Watch(watcher, Identity, &IsFinal)) {
    return std::shared_ptr<void>(it->second);
  }
  watcher->Push(fit, IsFinal(fit));
  return std::shared_ptr<void>();
}

void FitJobs::Unwatch(const std::shared_ptr<void>& token, FitWatcher* watcher) {
  if (token == nullptr) return;
  static_cast<Job*>(token.get())->published.Unwatch(watcher);
}

absl::StatusOr<std::shared_ptr<const FitJobs::Tables>> FitJobs::FindBankTables(
    const Principal& who, const std::string& benchmark_id, const std::string& fit_id,
    const char* users) {
  ASSIGN_OR_RETURN(storage::BenchmarkRecord benchmark, benchmarks_->Find(who, benchmark_id));
  ASSIGN_OR_RETURN(std::shared_ptr<const Tables> tables, FindTables(who, fit_id, benchmark_id));
  if (tables->benchmark_row_id != benchmark.id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fit_id: fit '", fit_id, "' is not a fit of benchmark '", benchmark_id, "'"));
  }
  if (tables->bank.items.size() == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "fit_id: fit '", tables->fit_id, "' is multidimensional; ", users, " need dims = 1"));
  }
  return tables;
}

absl::StatusOr<FitJobs::BoundTables> FitJobs::TablesOfRows(const Principal& who,
                                                           int64_t fit_row_id,
                                                           int64_t benchmark_row_id,
                                                           const std::string& what) {
  ASSIGN_OR_RETURN(std::optional<storage::FitRecord> fit,
                   storage_->Reads()->FindFitById(fit_row_id));
  ASSIGN_OR_RETURN(std::optional<storage::BenchmarkRecord> benchmark,
                   storage_->Reads()->FindBenchmarkById(benchmark_row_id));
  if (!fit.has_value() || !benchmark.has_value()) {
    return absl::DataLossError(absl::StrCat(what, ": its fit or benchmark is missing"));
  }
  BoundTables out;
  out.fit_id = fit->public_id;
  out.benchmark_id = benchmark->public_id;
  ASSIGN_OR_RETURN(out.tables, FindTables(who, out.fit_id, ""));
  return out;
}

absl::StatusOr<std::shared_ptr<const FitJobs::Tables>> FitJobs::FindTables(
    const Principal& who, const std::string& fit_id, const std::string& benchmark_id) {
  storage::FitRecord record;
  if (!fit_id.empty()) {
    ASSIGN_OR_RETURN(record, FindRecord(who, fit_id));
  } else {
    if (benchmark_id.empty()) {
      return absl::InvalidArgumentError("fit_id or benchmark_id: one is required");
    }
    ASSIGN_OR_RETURN(storage::BenchmarkRecord benchmark, benchmarks_->Find(who, benchmark_id));
    if (benchmark.current_fit_id == 0) {
      return absl::FailedPreconditionError(absl::StrCat("benchmark_id: benchmark '", benchmark_id,
                                                        "' has no current calibration; run a fit"));
    }
    ASSIGN_OR_RETURN(std::optional<storage::FitRecord> current,
                     storage_->Reads()->FindFitById(benchmark.current_fit_id));
    if (!current.has_value()) return absl::DataLossError("current fit is missing");
    record = *std::move(current);
  }
  {
    absl::MutexLock lock(&cache_mu_);
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if ((*it)->fit_row_id == record.id) {
        cache_.splice(cache_.begin(), cache_, it);
        return cache_.front();
      }
    }
  }
  if (record.state != v1::FIT_STATE_SUCCEEDED) {
    return absl::FailedPreconditionError(
        absl::StrCat("fit_id: fit '", record.public_id, "' is ",
                     v1::FitState_Name(static_cast<v1::FitState>(record.state)),
                     "; tables exist once it succeeded"));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, storage_->Reads()->FitTables(record.id));
  auto tables = std::make_shared<Tables>();
  if (!bytes.has_value() || !tables->tables.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("fit ", record.public_id, ": tables are corrupt"));
  }
  tables->fit_row_id = record.id;
  tables->fit_id = record.public_id;
  v1::Fit fit;
  if (!fit.ParseFromString(record.record)) return absl::DataLossError("corrupt fit record");
  const auto& items = tables->tables.items();
  tables->benchmark_row_id = record.benchmark_id;
  if (fit.options().dims() == 1) {
    irt::ItemBank& bank = tables->bank.items;
    bank.sigma = fit.options().sigma();
    bank.a.resize(items.size());
    bank.b.resize(items.size());
    bool tagged = false;
    // A marginal-items fit reports items by posterior mean and SD: predictions average over them.
    const bool posteriors = fit.method() == v1::FIT_METHOD_MARGINAL_ITEMS;
    if (posteriors) {
      bank.a_sd.resize(items.size());
      bank.b_sd.resize(items.size());
      bank.ab_cov.resize(items.size());
    }
    for (int j = 0; j < items.size(); ++j) {
      bank.a[j] = items[j].a(0);
      bank.b[j] = items[j].b();
      if (posteriors) {
        bank.a_sd[j] = items[j].se_a(0);
        bank.b_sd[j] = items[j].se_b();
        bank.ab_cov[j] = items[j].cov_ab();
      }
      tagged |= !items[j].tags().empty();
    }
    if (tagged) {  // every item gets its first tag; untagged ones share the tag ""
      absl::flat_hash_map<std::string, int32_t> tag_index;
      for (int j = 0; j < items.size(); ++j) {
        const std::string tag = items[j].tags().empty() ? "" : items[j].tags(0);
        auto [it, added] =
            tag_index.try_emplace(tag, static_cast<int32_t>(tables->tag_names.size()));
        if (added) tables->tag_names.push_back(tag);
        tables->bank.tags.push_back(it->second);
      }
    }
    tables->bank.num_tags = static_cast<int>(tables->tag_names.size());
  }
  for (int j = 0; j < items.size(); ++j) tables->item_index[items[j].item()] = j;
  for (const v1::Ability& a : tables->tables.abilities()) {
    tables->sorted_theta.push_back(a.theta(0));
  }
  std::sort(tables->sorted_theta.begin(), tables->sorted_theta.end());
  absl::MutexLock lock(&cache_mu_);
  cache_.push_front(tables);
  if (cache_.size() > kCachedTables) cache_.pop_back();
  return std::shared_ptr<const Tables>(tables);
}

absl::Status FitJobs::ListAbilities(const Principal& who, const v1::ListAbilitiesRequest& req,
                                    v1::ListAbilitiesResponse* out) {
  ASSIGN_OR_RETURN(const Page page, ParsePage(req.page_size(), req.page_token(), 100, 10000));
  ASSIGN_OR_RETURN(std::shared_ptr<const Tables> t,
                   FindTables(who, req.fit_id(), req.benchmark_id()));
  const auto& rows = t->tables.abilities();
  const auto name = [](const v1::Ability& a) -> const std::string& { return a.model(); };
  std::vector<int> order;
  switch (req.sort()) {
    case v1::ABILITY_SORT_UNSPECIFIED:
    case v1::ABILITY_SORT_RANK:
      order = SortedPage(
          rows, [](const v1::Ability& a) { return double(a.rank()); }, name, req.descending());
      break;
    case v1::ABILITY_SORT_MODEL:
      order = SortedPage(
          rows, [](const v1::Ability&) { return 0.0; }, name, false);
      if (req.descending()) std::reverse(order.begin(), order.end());
      break;
    case v1::ABILITY_SORT_ACCURACY:
      order = SortedPage(
          rows, [](const v1::Ability& a) { return a.accuracy(); }, name, !req.descending());
      break;
    case v1::ABILITY_SORT_SE:
      order = SortedPage(
          rows, [](const v1::Ability& a) { return a.se(0); }, name, !req.descending());
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("sort: unknown value ", req.sort()));
  }
  const int64_t end = std::min<int64_t>(page.cursor + page.size, rows.size());
  for (int64_t r = page.cursor; r < end; ++r) *out->add_abilities() = rows[order[r]];
  if (end < rows.size()) out->set_next_page_token(absl::StrCat(end));
  out->set_fit_id(t->fit_id);
  out->set_total(rows.size());
  return absl::OkStatus();
}

absl::Status FitJobs::ListItemParams(const Principal& who, const v1::ListItemParamsRequest& req,
                                     v1::ListItemParamsResponse* out) {
  ASSIGN_OR_RETURN(const Page page, ParsePage(req.page_size(), req.page_token(), 100, 10000));
  ASSIGN_OR_RETURN(std::shared_ptr<const Tables> t,
                   FindTables(who, req.fit_id(), req.benchmark_id()));
  const auto& rows = t->tables.items();
  const auto name = [](const v1::ItemParams& p) -> const std::string& { return p.item(); };
  std::vector<int> order;
  switch (req.sort()) {
    case v1::ITEM_SORT_UNSPECIFIED:
      order.resize(static_cast<size_t>(rows.size()));
      std::iota(order.begin(), order.end(), 0);
      if (req.descending()) std::reverse(order.begin(), order.end());
      break;
    case v1::ITEM_SORT_ITEM:
      order = SortedPage(
          rows, [](const v1::ItemParams&) { return 0.0; }, name, false);
      if (req.descending()) std::reverse(order.begin(), order.end());
      break;
    case v1::ITEM_SORT_DIFFICULTY:
      order = SortedPage(
          rows, [](const v1::ItemParams& p) { return p.difficulty(); }, name, !req.descending());
      break;
    case v1::ITEM_SORT_DISCRIMINATION:
      order = SortedPage(
          rows, [](const v1::ItemParams& p) { return p.a(0); }, name, !req.descending());
      break;
    case v1::ITEM_SORT_P_CORRECT:
      order = SortedPage(
          rows, [](const v1::ItemParams& p) { return p.p_correct(); }, name, req.descending());
      break;
    case v1::ITEM_SORT_MISFIT:
      order = SortedPage(
          rows, [](const v1::ItemParams& p) { return p.outfit(); }, name, !req.descending());
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("sort: unknown value ", req.sort()));
  }
  const int64_t end = std::min<int64_t>(page.cursor + page.size, rows.size());
  for (int64_t r = page.cursor; r < end; ++r) *out->add_items() = rows[order[r]];
  if (end < rows.size()) out->set_next_page_token(absl::StrCat(end));
  out->set_fit_id(t->fit_id);
  out->set_total(rows.size());
  return absl::OkStatus();
}

absl::Status FitJobs::Score(const Principal& who, const v1::ScoreModelRequest& req,
                            v1::ScoreModelResponse* out) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Tables> t,
                   FindTables(who, req.fit_id(), req.benchmark_id()));
  const irt::ItemBank& bank = t->bank.items;
  if (bank.size() == 0 && !t->tables.items().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("fit_id: fit '", t->fit_id, "' is multidimensional; scoring needs dims = 1"));
  }
  if (req.responses_size() == 0) {
    return absl::InvalidArgumentError("responses: at least one response is needed");
  }
  std::vector<irt::Response> responses;
  for (int r = 0; r < req.responses_size(); ++r) {
    const v1::ItemResponse& in = req.responses(r);
    auto it = t->item_index.find(in.item());
    if (it == t->item_index.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("responses[", r, "].item: the calibration has no item '", in.item(), "'"));
    }
    const double trials = in.trials() == 0 ? 1.0 : in.trials();
    if (!(trials > 0) || !std::isfinite(trials) || !(in.successes() >= 0) ||
        !(in.successes() <= trials)) {
      return absl::InvalidArgumentError(
          absl::StrCat("responses[", r, "]: successes must be in [0, trials] and trials > 0; got ",
                       in.successes(), " of ", trials));
    }
    responses.push_back(irt::Response{it->second, in.successes(), trials});
  }
  ASSIGN_OR_RETURN(irt::AbilityEstimate estimate, irt::ScoreMap(bank, responses));
  out->set_fit_id(t->fit_id);
  out->set_theta(estimate.theta);
  out->set_se(estimate.se);
  out->set_predicted_accuracy(irt::PredictedAccuracy(bank, estimate.theta));
  out->set_predicted_accuracy_lower(
      irt::PredictedAccuracy(bank, estimate.theta - 1.96 * estimate.se));
  out->set_predicted_accuracy_upper(
      irt::PredictedAccuracy(bank, estimate.theta + 1.96 * estimate.se));
  const auto below =
      std::lower_bound(t->sorted_theta.begin(), t->sorted_theta.end(), estimate.theta) -
      t->sorted_theta.begin();
  out->set_percentile(t->sorted_theta.empty() ? 0.0
                                              : static_cast<double>(below) /
                                                    static_cast<double>(t->sorted_theta.size()));
  out->set_num_responses(req.responses_size());
  return absl::OkStatus();
}

}  // namespace assay::server
