// LiveCache<T>: the in-memory ("live") objects of one kind of stateful resource (audits, adaptive-
// testing sessions, monitors), keyed by public id, with a bound on how many are held.
//
// Bound: when more than `max_live` entries are held, the least recently used idle ones are dropped
// down to 90% of the bound (so the scan is not repeated on every insert). An entry is idle when
// nothing but the cache holds it (use_count() == 1); a call in progress, a commit callback or a
// watcher's token holding a shared_ptr keeps it. Writes hold their entry until their commit
// callbacks have run, so an idle entry always equals the database and dropping it loses nothing:
// the next use reloads it.
//
// Loads read the database outside the lock. So that a load never installs a state older than the
// database (the entry it would replace may have been written, then dropped, while it read), a
// loader takes generation() before reading and passes it to InsertLoaded, which refuses (returns
// null: read again) if any entry was dropped or evicted since. FindOrLoad does all of this.
// Evictions happen in batches, so this costs a reload only when a batch fell inside the read.
//
// Thread safety: all methods are thread safe.
#ifndef ASSAY_SERVER_RESOURCES_LIVE_CACHE_H_
#define ASSAY_SERVER_RESOURCES_LIVE_CACHE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace assay::server {

template <typename T>
class LiveCache {
 public:
  explicit LiveCache(size_t max_live) : max_live_(std::max<size_t>(1, max_live)) {}

  // The entry held for `id`, now the most recently used; null if none.
  std::shared_ptr<T> Find(const std::string& id) {
    absl::MutexLock lock(&mu_);
    auto it = map_.find(id);
    if (it == map_.end()) return nullptr;
    it->second.last_used = ++clock_;
    return it->second.value;
  }

  // Changes whenever an entry is dropped or evicted.
  int64_t generation() {
    absl::MutexLock lock(&mu_);
    return generation_;
  }

  // Holds `fresh`, loaded from the database after generation() returned `loaded_at`. Returns the
  // entry now held for `id`: an earlier loader's if one won the race, else `fresh`; null if an
  // entry was dropped or evicted since `loaded_at` (what was read may be stale: read again).
  std::shared_ptr<T> InsertLoaded(const std::string& id, std::shared_ptr<T> fresh,
                                  int64_t loaded_at) {
    absl::MutexLock lock(&mu_);
    auto it = map_.find(id);
    if (it != map_.end()) {
      it->second.last_used = ++clock_;
      return it->second.value;
    }
    if (generation_ != loaded_at) return nullptr;
    return HoldLocked(id, std::move(fresh));
  }

  // The entry for `id`: the one held, else what `load()` (an absl::StatusOr<std::shared_ptr<T>>
  // read from the database) returns, held from now on; a load that raced a drop or eviction is
  // repeated. Errors are load()'s.
  template <typename Load>
  absl::StatusOr<std::shared_ptr<T>> FindOrLoad(const std::string& id, Load load) {
    while (true) {
      if (std::shared_ptr<T> held = Find(id)) return held;
      const int64_t loaded_at = generation();
      absl::StatusOr<std::shared_ptr<T>> fresh = load();
      if (!fresh.ok()) return fresh.status();
      if (std::shared_ptr<T> held = InsertLoaded(id, *std::move(fresh), loaded_at)) return held;
    }
  }

  // Holds a resource just created (committed), which no load can have raced.
  std::shared_ptr<T> InsertCreated(const std::string& id, std::shared_ptr<T> fresh) {
    absl::MutexLock lock(&mu_);
    return HoldLocked(id, std::move(fresh));
  }

  // Stops holding `entry` if it is the one held for `id` (after a rolled-back write).
  void Erase(const std::string& id, const std::shared_ptr<T>& entry) {
    absl::MutexLock lock(&mu_);
    auto it = map_.find(id);
    if (it != map_.end() && it->second.value == entry) map_.erase(it);
    ++generation_;
  }

  size_t size() {
    absl::MutexLock lock(&mu_);
    return map_.size();
  }

 private:
  struct Entry {
    std::shared_ptr<T> value;
    int64_t last_used = 0;
  };

  std::shared_ptr<T> HoldLocked(const std::string& id, std::shared_ptr<T> fresh)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Entry& entry = map_[id];
    entry.value = std::move(fresh);
    entry.last_used = ++clock_;
    std::shared_ptr<T> held = entry.value;  // not idle while returned
    if (map_.size() > max_live_) EvictIdleLocked();
    return held;
  }

  void EvictIdleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<std::pair<int64_t, std::string>> idle;
    for (const auto& [id, entry] : map_) {
      if (entry.value.use_count() == 1) idle.emplace_back(entry.last_used, id);
    }
    std::sort(idle.begin(), idle.end());
    const size_t target = std::max<size_t>(1, max_live_ - max_live_ / 10);
    bool evicted = false;
    for (const auto& oldest : idle) {
      if (map_.size() <= target) break;
      map_.erase(oldest.second);
      evicted = true;
    }
    if (evicted) ++generation_;
  }

  const size_t max_live_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> map_ ABSL_GUARDED_BY(mu_);
  int64_t clock_ ABSL_GUARDED_BY(mu_) = 0;       // ticks once per use: least-recently-used order
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // bumped by every drop or eviction batch
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_LIVE_CACHE_H_
