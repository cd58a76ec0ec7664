// The generic part of every stateful resource the server keeps in memory and rebuilds from its log
// (audits, monitors, adaptive-testing sessions): one place for finding or loading it scoped to the
// caller's team, dropping it after a rolled-back write, holding a created one once it is
// committed, publishing its committed state to readers and watchers, and watching it.
//
// A manager's in-memory resource is a struct `Live` deriving from LiveResource<View, Update>, with
// a `record` whose `public_id` and `team_id` name it, and two static functions:
//   static Update CurrentUpdate(const View&);  // what a new watcher receives first
//   static bool IsFinal(const View&);          // no update follows this state
// The manager supplies only what is its own: how to replay a resource from the database (the
// `load` callables below), how to convert it (View), and its writes.
//
// Memory: LiveSet holds at most about `max_live` resources (LiveCache's rule); a dropped or evicted
// one is reloaded on next use.
//
// Thread safety: all methods are thread safe. Writes (CommitQueue works) run on the committer
// thread, which alone mutates a Live's own state; readers see only what Publication holds.
#ifndef ASSAY_SERVER_RESOURCES_LIVE_SET_H_
#define ASSAY_SERVER_RESOURCES_LIVE_SET_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/resources/live_cache.h"
#include "server/resources/watcher.h"
#include "server/runtime/auth.h"
#include "server/runtime/commit_queue.h"

namespace assay::server {

// The committed state of one resource as readers see it (View), the watchers told about each new
// one (Update), and the last few updates, so that a watcher that lost its connection can resume
// where it stopped. Every state carries the resource's own sequence number (an audit's revision, a
// monitor's t, a session's steps), strictly increasing from update to update.
template <typename View, typename Update>
class Publication {
 public:
  // Keeps the last `history` updates for resuming watchers (0: none; a resume then gets the
  // current state).
  explicit Publication(size_t history = 64) : history_limit_(history) {}

  // A copy of the committed state.
  View Get() const {
    absl::MutexLock lock(&mu_);
    return view_;
  }
  // Calls `read(const View&)` with the committed state, under the lock (no copy).
  template <typename Reader>
  void Read(Reader&& read) const {
    absl::MutexLock lock(&mu_);
    read(view_);
  }
  // Calls `use(View&)` under the lock, for a read that moves parts out and back to avoid copying
  // them: it must leave the state as it found it.
  template <typename User>
  void Use(User&& use) {
    absl::MutexLock lock(&mu_);
    use(view_);
  }
  // Replaces the state (number `seq`) without telling watchers: before the resource is shared.
  void Set(View view, int64_t seq) {
    absl::MutexLock lock(&mu_);
    view_ = std::move(view);
    seq_ = seq;
    history_.clear();
  }
  // Changes the state in place with `change(View&)` to number `seq`, then tells every watcher
  // `current(const View&) -> Update` (built only when someone watches; when no one does, the
  // history restarts here).
  template <typename Changer, typename CurrentUpdate>
  void Change(Changer&& change, CurrentUpdate&& current, bool final, int64_t seq) {
    absl::MutexLock lock(&mu_);
    change(view_);
    if (watchers_.empty()) {
      seq_ = seq;
      history_.clear();
      return;
    }
    PublishLocked(current(view_), final, seq);
  }
  // Replaces the state with `view` (number `seq`) and tells every watcher `update`; after a final
  // one no watcher is told more.
  void Publish(View view, const Update& update, bool final, int64_t seq) {
    absl::MutexLock lock(&mu_);
    view_ = std::move(view);
    PublishLocked(update, final, seq);
  }
  // Registers `watcher` and pushes to it at once: with `after` (the number of the last state the
  // watcher saw) still covered by the history, every update after it (none if it is current);
  // otherwise `current(const View&) -> Update`. False (nothing registered) if the resource was
  // closed: the caller watches the reloaded one.
  template <typename CurrentUpdate>
  bool Watch(Watcher<Update>* watcher, CurrentUpdate&& current, bool (*is_final)(const View&),
             std::optional<int64_t> after = std::nullopt) {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    const bool final = is_final(view_);
    const int64_t floor = history_.empty() ? seq_ : history_.front().before;
    if (after.has_value() && *after >= floor && *after <= seq_ && !(final && *after == seq_)) {
      for (const Entry& e : history_) {
        if (e.seq > *after) watcher->Push(e.update, e.final);
      }
    } else {
      watcher->Push(current(view_), final);
    }
    if (!final) watchers_.insert(watcher);
    return true;
  }
  // After it returns `watcher` is never called again.
  void Unwatch(Watcher<Update>* watcher) {
    absl::MutexLock lock(&mu_);
    watchers_.erase(watcher);
  }
  // Drops every watcher with `reason`; Watch fails from now on.
  void Close(absl::string_view reason) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (Watcher<Update>* w : watchers_) w->Drop(reason);
    watchers_.clear();
  }

 private:
  struct Entry {
    int64_t before;  // the number of the state this update followed
    int64_t seq;
    Update update;
    bool final;
  };

  void PublishLocked(const Update& update, bool final, int64_t seq)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (history_limit_ > 0) {
      if (history_.size() == history_limit_) history_.pop_front();
      history_.push_back(Entry{seq_, seq, update, final});
    }
    seq_ = seq;
    for (Watcher<Update>* w : watchers_) w->Push(update, final);
    if (final) watchers_.clear();
  }

  const size_t history_limit_;
  mutable absl::Mutex mu_;
  View view_ ABSL_GUARDED_BY(mu_);
  int64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Entry> history_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<Watcher<Update>*> watchers_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// The base of a manager's Live struct.
template <typename ViewT, typename UpdateT>
struct LiveResource {
  using View = ViewT;
  using Update = UpdateT;
  // Set (by the committer) when a failed write dropped this copy: writes holding it must retry.
  std::atomic<bool> dropped{false};
  Publication<View, Update> published;
};

// `Live` may be incomplete where a LiveSet<Live> member is declared; it must be complete where the
// methods are used.
template <typename Live>
class LiveSet {
 public:
  // `id_field` names the request field in errors ("audit_id"), `noun` the resource ("audit").
  LiveSet(std::string id_field, std::string noun, size_t max_live)
      : id_field_(std::move(id_field)), noun_(std::move(noun)), cache_(max_live) {}

  // NOT_FOUND for `id`; another team's resource answers exactly this too.
  absl::Status NotFound(absl::string_view id) const {
    return absl::NotFoundError(absl::StrCat(id_field_, ": no ", noun_, " '", id, "'"));
  }

  // The resource `id` of the caller's team: the one held, else `load()` (an
  // absl::StatusOr<std::shared_ptr<Live>> replayed from the database, NotFound(id) if none),
  // held from now on.
  template <typename Load>
  absl::StatusOr<std::shared_ptr<Live>> Find(const Principal& who, const std::string& id,
                                             Load load) {
    absl::StatusOr<std::shared_ptr<Live>> live = cache_.FindOrLoad(id, std::move(load));
    if (!live.ok()) return live.status();
    if ((*live)->record.team_id != who.team_id) return NotFound(id);
    return live;
  }

  // ABORTED if a failed write dropped `live` since the caller found it (the client retries).
  absl::Status CheckCurrent(const Live& live) const {
    if (!live.dropped.load()) return absl::OkStatus();
    return absl::AbortedError(absl::StrCat(noun_, " was reloaded; retry"));
  }

  // Holds `live`, created in `ctx`, once the write has committed.
  void HoldOnCommit(WriteContext& ctx, std::shared_ptr<Live> live) {
    ctx.OnCommit(
        [this, live = std::move(live)] { cache_.InsertCreated(live->record.public_id, live); });
  }

  // Call before changing `live` in `ctx`: if the write rolls back, the changed copy is dropped (its
  // watchers told to watch again) and the next use reloads it from the database, so memory never
  // runs ahead of disk.
  void DropOnRollback(WriteContext& ctx, const std::shared_ptr<Live>& live) {
    ctx.OnRollback([this, live] {
      live->dropped = true;
      cache_.Erase(live->record.public_id, live);
      live->published.Close(absl::StrCat(noun_, " was reloaded after a failed write; watch again"));
    });
  }

  // Registers `watcher` with the resource `id` (found as Find does) and pushes its current state at
  // once, or, with `after`, what followed that state (Publication::Watch). Returns the token for
  // Unwatch.
  template <typename Load, typename Update>
  absl::StatusOr<std::shared_ptr<void>> Watch(const Principal& who, const std::string& id,
                                              Load load, Watcher<Update>* watcher,
                                              std::optional<int64_t> after = std::nullopt) {
    while (true) {
      absl::StatusOr<std::shared_ptr<Live>> live = Find(who, id, load);
      if (!live.ok()) return live.status();
      if ((*live)->published.Watch(watcher, &Live::CurrentUpdate, &Live::IsFinal, after)) {
        return std::shared_ptr<void>(*std::move(live));
      }
      // Raced with a failed write: watch the reloaded one.
    }
  }

  // After it returns `watcher` is never called again.
  template <typename Update>
  void Unwatch(const std::shared_ptr<void>& token, Watcher<Update>* watcher) {
    if (token == nullptr) return;
    static_cast<Live*>(token.get())->published.Unwatch(watcher);
  }

  // Resources held in memory now.
  size_t size() { return cache_.size(); }

 private:
  const std::string id_field_;
  const std::string noun_;
  LiveCache<Live> cache_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_LIVE_SET_H_
