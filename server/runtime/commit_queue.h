// CommitQueue: group commit for every durable write of the server.
//
// Requests queue a Work; one committer thread takes up to `max_batch` queued works at a time, runs
// each inside its own savepoint of a single write transaction, commits once (one fsync for the
// whole batch), and only then calls each work's Done with OK. So an acknowledged write is durable,
// many concurrent small writes cost one commit, and writes are applied in submission order.
//
// A Work may change in-memory state (the live audits) as well as the database; it registers
// callbacks on its WriteContext:
//   OnCommit   - runs after the batch committed (publish to watchers);
//   OnRollback - runs if this work's changes are undone: the work itself failed after registering
//                it, or the commit failed (drop the in-memory object so it reloads from disk).
// Rule for works: check everything first, register OnRollback, then mutate.
//
// Every Work and OnCommit / OnRollback callback runs on the committer thread, one at a time:
// in-memory state that only works mutate needs no further locking against other works. Done
// callbacks (answering clients) run on a reply thread of their own, in submission order, so that
// the committer goes on with the next batch while the replies of the last one are sent.
//
// Thread safety: Submit and Shutdown are thread safe.
#ifndef ASSAY_SERVER_RUNTIME_COMMIT_QUEUE_H_
#define ASSAY_SERVER_RUNTIME_COMMIT_QUEUE_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/runtime/metrics.h"
#include "server/storage/storage.h"

namespace assay::server {

class WriteContext {
 public:
  explicit WriteContext(storage::WriteTxn& txn) : txn_(txn) {}
  storage::WriteTxn& txn() { return txn_; }
  void OnCommit(std::function<void()> f) { on_commit_.push_back(std::move(f)); }
  void OnRollback(std::function<void()> f) { on_rollback_.push_back(std::move(f)); }

  // Runs `fn` as part of this context's work without a savepoint of its own (one costs more than
  // a label's whole update), for a `fn` that follows the rule for works (every check before its
  // first change). If fn fails before changing anything (no row changed, no callback registered),
  // this context is as before and *failed_after_change is false: the caller may report the error
  // and go on. If fn fails after a change, that change cannot be undone alone:
  // *failed_after_change is true, fn's callbacks join this context's, and the caller must fail its
  // whole work (the commit queue then undoes all of it).
  template <typename Fn>
  absl::Status RunChecked(Fn fn, bool* failed_after_change) {
    const int64_t changes_before = txn_.changes();
    WriteContext nested(txn_);
    absl::Status status = fn(nested);
    *failed_after_change =
        !status.ok() && (txn_.changes() != changes_before || !nested.on_commit_.empty() ||
                         !nested.on_rollback_.empty());
    if (status.ok() || *failed_after_change) nested.MoveCallbacksTo(*this);
    return status;
  }

 private:
  friend class CommitQueue;
  void MoveCallbacksTo(WriteContext& parent) {
    for (auto& f : on_commit_) parent.on_commit_.push_back(std::move(f));
    for (auto& f : on_rollback_) parent.on_rollback_.push_back(std::move(f));
  }
  storage::WriteTxn& txn_;
  std::vector<std::function<void()>> on_commit_, on_rollback_;
};

class CommitQueue {
 public:
  using Work = std::function<absl::Status(WriteContext&)>;
  // Called exactly once, on the reply thread, in submission order: the work's own error, the
  // commit's error, or OK once durable. Keep it short (finish an RPC, queue a stream write).
  using Done = std::function<void(absl::Status)>;

  // Starts the committer and reply threads. `storage` (and `metrics`, which records every batch,
  // when given) must outlive the queue.
  CommitQueue(storage::Storage* storage, size_t capacity = 65536, size_t max_batch = 1024,
              Metrics* metrics = nullptr);
  ~CommitQueue();  // Shutdown()
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Queues a work. ResourceExhausted when `capacity` works are waiting; Unavailable after
  // Shutdown(). On error neither `work` nor `done` is called.
  absl::Status Submit(Work work, Done done);

  // Stops accepting works, commits everything queued, sends every reply, joins the threads.
  // Idempotent.
  void Shutdown();

 private:
  struct Item {
    Work work;
    Done done;
  };
  using Replies = std::vector<std::pair<Done, absl::Status>>;
  void Loop();
  void RunBatch(std::vector<Item>& batch);
  void ReplyLoop();

  storage::Storage* storage_;
  const size_t capacity_, max_batch_;
  Metrics* const metrics_;
  mutable absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex reply_mu_;
  std::deque<Replies> replies_ ABSL_GUARDED_BY(reply_mu_);
  bool replies_done_ ABSL_GUARDED_BY(reply_mu_) = false;  // the committer has finished
  absl::Mutex join_mu_;
  std::thread thread_, reply_thread_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RUNTIME_COMMIT_QUEUE_H_
