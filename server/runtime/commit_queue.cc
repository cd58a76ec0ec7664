#include "server/runtime/commit_queue.h"

#include <utility>

#include "core/base/thread_name.h"
#include "server/runtime/log.h"

namespace assay::server {

CommitQueue::CommitQueue(storage::Storage* storage, size_t capacity, size_t max_batch,
                         Metrics* metrics)
    : storage_(storage), capacity_(capacity), max_batch_(max_batch), metrics_(metrics) {
  thread_ = std::thread([this] {
    NameCurrentThread("assay-commit");
    Loop();
  });
  reply_thread_ = std::thread([this] {
    NameCurrentThread("assay-reply");
    ReplyLoop();
  });
}

CommitQueue::~CommitQueue() { Shutdown(); }

absl::Status CommitQueue::Submit(Work work, Done done) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("server is shutting down");
  if (queue_.size() >= capacity_) {
    return absl::ResourceExhaustedError("write queue is full; retry with backoff");
  }
  queue_.push_back(Item{std::move(work), std::move(done)});
  return absl::OkStatus();
}

void CommitQueue::Shutdown() {
  absl::MutexLock join_lock(&join_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock lock(&reply_mu_);
    replies_done_ = true;
  }
  if (reply_thread_.joinable()) reply_thread_.join();
}

void CommitQueue::ReplyLoop() {
  while (true) {
    Replies replies;
    {
      absl::MutexLock lock(&reply_mu_);
      reply_mu_.Await(absl::Condition(
          +[](CommitQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->reply_mu_) {
            return q->replies_done_ || !q->replies_.empty();
          },
          this));
      if (replies_.empty()) return;  // the committer has finished and every reply is sent
      replies = std::move(replies_.front());
      replies_.pop_front();
    }
    for (auto& [done, status] : replies) done(std::move(status));
  }
}

void CommitQueue::Loop() {
  std::vector<Item> batch;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](CommitQueue* q)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) { return q->stopping_ || !q->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    RunBatch(batch);
    batch.clear();
  }
}

void CommitQueue::RunBatch(std::vector<Item>& batch) {
  // Per item: its status (set when its work fails) and the callbacks of the works that succeeded.
  std::vector<absl::Status> results(batch.size());
  std::vector<std::function<void()>> on_commit, on_rollback;
  const absl::Time started = absl::Now();
  const absl::Status committed = storage_->Write([&](storage::WriteTxn& txn) -> absl::Status {
    for (size_t i = 0; i < batch.size(); ++i) {
      absl::Status sp = txn.Savepoint();
      if (!sp.ok()) return sp;  // the database itself is failing: abandon the batch
      WriteContext context(txn);
      results[i] = batch[i].work(context);
      if (results[i].ok()) {
        absl::Status released = txn.Release();
        if (!released.ok()) {
          for (auto& f : context.on_rollback_) on_rollback.push_back(std::move(f));
          return released;
        }
        for (auto& f : context.on_commit_) on_commit.push_back(std::move(f));
        for (auto& f : context.on_rollback_) on_rollback.push_back(std::move(f));
      } else {
        for (auto& f : context.on_rollback_) f();
        absl::Status rolled_back = txn.Rollback();
        if (!rolled_back.ok()) return rolled_back;
      }
    }
    return absl::OkStatus();
  });
  if (metrics_ != nullptr) metrics_->RecordCommit(batch.size(), absl::Now() - started);
  // Works and callbacks are released before anyone is answered, so whatever they captured (a live
  // audit, session or monitor) is idle by the time a client can send its next call.
  auto release = [&] {
    on_commit.clear();
    on_rollback.clear();
    for (Item& item : batch) item.work = nullptr;
  };
  if (committed.ok()) {
    for (auto& f : on_commit) f();
  } else {
    Log(LogLevel::kError, "write batch of %d failed and was rolled back: %s",
        static_cast<int>(batch.size()), committed.ToString());
    for (auto& f : on_rollback) f();
  }
  release();
  Replies replies;
  replies.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    replies.emplace_back(std::move(batch[i].done), results[i].ok() ? committed : results[i]);
  }
  absl::MutexLock lock(&reply_mu_);
  replies_.push_back(std::move(replies));
}

}  // namespace assay::server
