// FairQueue: work queued per team, served to the team served least recently.
//
// Each team has its own first-in-first-out queue. Pop takes the next item of the team, among those
// with work that may run now (e.g. below their concurrency limit), whose last item was taken
// longest ago (never beats ever; ties go to the team whose work arrived first). So a team that
// queues many jobs delays another team's next job by at most one job per slot, however many it
// queued and whenever the other team's job arrives.
//
// Thread safety: none; callers serialize access.
#ifndef ASSAY_SERVER_RUNTIME_FAIR_QUEUE_H_
#define ASSAY_SERVER_RUNTIME_FAIR_QUEUE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"

namespace assay::server {

template <typename T>
class FairQueue {
 public:
  void Push(int64_t team, T item) {
    Team& t = teams_[team];
    if (t.queue.empty()) t.arrived = ++clock_;
    t.queue.push_back(std::move(item));
    ++size_;
  }

  // Removes `item` (compared with ==) wherever it waits; false if it is not queued.
  bool Remove(const T& item) {
    for (auto& [id, team] : teams_) {
      auto it = std::find(team.queue.begin(), team.queue.end(), item);
      if (it == team.queue.end()) continue;
      team.queue.erase(it);
      --size_;
      return true;
    }
    return false;
  }

  // The first item of the team served least recently among those with work for which
  // `may_run(team)` holds, removed. None if no such team has work.
  std::optional<T> Pop(absl::FunctionRef<bool(int64_t)> may_run) {
    Team* next = Next(may_run);
    if (next == nullptr) return std::nullopt;
    T item = std::move(next->queue.front());
    next->queue.pop_front();
    next->served = ++clock_;
    --size_;
    return item;
  }

  // Whether Pop(may_run) would return an item.
  bool HasRunnable(absl::FunctionRef<bool(int64_t)> may_run) {
    return Next(may_run) != nullptr;
  }

  // Every item in the order Pop would return them if every team could always run.
  std::vector<T> Order() const {
    FairQueue copy = *this;
    std::vector<T> out;
    out.reserve(size_);
    while (std::optional<T> item = copy.Pop([](int64_t) { return true; })) {
      out.push_back(*std::move(item));
    }
    return out;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Team {
    std::deque<T> queue;
    uint64_t served = 0;   // clock when its last item was taken; 0: never
    uint64_t arrived = 0;  // clock when its queue last became non-empty
  };

  Team* Next(absl::FunctionRef<bool(int64_t)> may_run) {
    Team* best = nullptr;
    for (auto& [id, team] : teams_) {
      if (team.queue.empty() || !may_run(id)) continue;
      if (best == nullptr || std::make_pair(team.served, team.arrived) <
                                 std::make_pair(best->served, best->arrived)) {
        best = &team;
      }
    }
    return best;
  }

  absl::flat_hash_map<int64_t, Team> teams_;  // every team ever queued (its last service kept)
  uint64_t clock_ = 0;
  size_t size_ = 0;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RUNTIME_FAIR_QUEUE_H_
