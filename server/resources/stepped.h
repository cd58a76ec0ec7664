// The steps shared by the resources that hand out items a draw at a time and take outcomes on
// them: adaptive-testing sessions (cat_sessions.cc) and comparisons (comparisons.cc). Each is a
// core object rebuilt by replaying a log of events numbered 1, 2, ... per resource: draws (an
// event of kind kNext whose `item` is how many were drawn) and outcomes. One place for logging an
// event, drawing (and closing a finished resource), the NextItems work and the write half of the
// Submit work; the managers keep what is their own (their checks of an outcome, conversions,
// replay).
//
// A manager supplies a policy P (where its Live is complete):
//   using Live = ...;   // LiveSet's Live, with record.id (the resource's row)
//   using Core = ...;   // the core object: pending(), finished(), Next(int) -> StatusOr<...>
//   using Event = ...;  // its storage event: kind (Event::kNext for a draw), item
//   using View = ...;   // the served message
//   static constexpr storage::Closable kClosable;
//   static Core& CoreOf(Live&);
//   static int64_t& Revision(Live&);  // events logged
//   static absl::Status Append(storage::WriteTxn&, int64_t row_id, int64_t seq, const Event&);
//   static size_t Progress(const Live&);  // what the reply adds from (outcomes or steps so far)
//   static void Reply(WriteContext&, const std::shared_ptr<Live>&, bool basic, size_t before,
//                     View* out);  // the reply in its view; publishes the FULL view on commit
//
// Thread safety: as the managers' writes, on the committer thread only.
#ifndef ASSAY_SERVER_RESOURCES_STEPPED_H_
#define ASSAY_SERVER_RESOURCES_STEPPED_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/resources/live_set.h"
#include "server/resources/request_ids.h"
#include "server/runtime/auth.h"
#include "server/runtime/commit_queue.h"

namespace assay::server {

template <typename P>
class Stepped {
 public:
  using Live = typename P::Live;
  using Core = typename P::Core;
  using Event = typename P::Event;
  using View = typename P::View;

  explicit Stepped(LiveSet<Live>* live) : live_(live) {}

  // Appends `event` as the resource's next.
  absl::Status Log(WriteContext& ctx, Live& live, const Event& event) {
    RETURN_IF_ERROR(P::Append(ctx.txn(), live.record.id, P::Revision(live) + 1, event));
    ++P::Revision(live);
    return absl::OkStatus();
  }

  // Hands out items until `count` are pending (or the resource has finished), logging the draw.
  // Every write ends here: a finished resource no longer counts as open.
  absl::Status Draw(WriteContext& ctx, const std::shared_ptr<Live>& live, int count) {
    Core& core = P::CoreOf(*live);
    const int pending = static_cast<int>(core.pending().size());
    if (pending < count && !core.finished()) {
      live_->DropOnRollback(ctx, live);
      RETURN_IF_ERROR(core.Next(count - pending).status());
      Event event;
      event.kind = Event::kNext;
      event.item = count - pending;
      RETURN_IF_ERROR(Log(ctx, *live, event));
    }
    if (!core.finished()) return absl::OkStatus();
    return ctx.txn().MarkClosed(P::kClosable, live->record.id);
  }

  // The checks of a NextItems request, before the manager's own: the resource is current, `count`
  // (0: 1) in [1, 100]. Returns the count.
  template <typename Request>
  absl::StatusOr<int> CheckNext(const Live& live, const Request& req) const {
    RETURN_IF_ERROR(live_->CheckCurrent(live));
    const int count = req.count() == 0 ? 1 : req.count();
    if (count < 1 || count > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("count: must be in [1, 100], got ", req.count()));
    }
    return count;
  }

  // The NextItems work (`method` names it for request ids): `count` items pending, `body` (inside
  // `out`) the resource after the draw in `basic` or the FULL view, out's items the first `count`
  // pending.
  template <typename Request, typename Response>
  absl::Status Next(WriteContext& ctx, const Principal& who, const char* method,
                    const Request& req, int count, bool basic, const std::shared_ptr<Live>& live,
                    Response* out, View* body) {
    return WithRequestId(ctx.txn(), who.team_id, method, req, out, [&]() -> absl::Status {
      const size_t before = P::Progress(*live);
      RETURN_IF_ERROR(Draw(ctx, live, count));
      P::Reply(ctx, live, basic, before, body);
      const auto& items = body->pending_items();
      for (int k = 0; k < std::min(count, items.size()); ++k) out->add_items(items[k]);
      return absl::OkStatus();
    });
  }

  // The checks of a Submit request, before the manager's own: the resource is current, at least
  // one outcome, at most `max_outcomes`, next_count in [0, 100].
  template <typename Request>
  absl::Status CheckSubmit(const Live& live, const Request& req, int max_outcomes) const {
    RETURN_IF_ERROR(live_->CheckCurrent(live));
    if (req.outcomes().empty()) {
      return absl::InvalidArgumentError("outcomes: at least one is needed");
    }
    if (req.outcomes_size() > max_outcomes) {
      return absl::InvalidArgumentError(absl::StrCat("outcomes: at most ", max_outcomes,
                                                     " per request, got ", req.outcomes_size()));
    }
    if (req.next_count() < 0 || req.next_count() > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("next_count: must be in [0, 100], got ", req.next_count()));
    }
    return absl::OkStatus();
  }

  // Where a Submit applies its outcomes: a copy of the core when there are several (a request
  // applies whole or not at all), else the core itself (which checks everything before changing
  // anything).
  struct Target {
    std::optional<Core> copy;
    Live* live = nullptr;
    Core& core() { return copy.has_value() ? *copy : P::CoreOf(*live); }
  };
  Target TargetOf(Live& live, int outcomes) const {
    Target t;
    t.live = &live;
    if (outcomes > 1) t.copy.emplace(P::CoreOf(live));
    return t;
  }
  // Before applying an outcome to `target`: a change in place must be undone by reloading if the
  // write rolls back.
  void BeforeChange(WriteContext& ctx, const std::shared_ptr<Live>& live, const Target& target) {
    if (!target.copy.has_value()) live_->DropOnRollback(ctx, live);
  }

  // The write half of Submit, once every outcome has been applied to `target`: logs `events` (the
  // outcomes that changed something; a retried one does not), installs the copy, draws
  // next_count and replies from `before` (P::Progress before the request).
  template <typename Request>
  absl::Status CommitSubmit(WriteContext& ctx, const Principal& who, const char* method,
                            const Request& req, bool basic, const std::shared_ptr<Live>& live,
                            Target& target, const std::vector<Event>& events, size_t before,
                            View* out) {
    return WithRequestId(ctx.txn(), who.team_id, method, req, out, [&]() -> absl::Status {
      if (!events.empty()) {
        live_->DropOnRollback(ctx, live);
        for (const Event& e : events) RETURN_IF_ERROR(Log(ctx, *live, e));
        if (target.copy.has_value()) P::CoreOf(*live) = std::move(*target.copy);
      }
      RETURN_IF_ERROR(Draw(ctx, live, req.next_count()));
      P::Reply(ctx, live, basic, before, out);
      return absl::OkStatus();
    });
  }

 private:
  LiveSet<Live>* live_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_STEPPED_H_
