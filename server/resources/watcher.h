// Watcher<Msg>: what a source of updates (an audit, a fit) pushes to each of its watchers; the
// server's watch streams (server/grpc/watch_stream.h) implement it.
#ifndef ASSAY_SERVER_RESOURCES_WATCHER_H_
#define ASSAY_SERVER_RESOURCES_WATCHER_H_

#include "absl/strings/string_view.h"

namespace assay::server {

template <typename Msg>
class Watcher {
 public:
  virtual ~Watcher() = default;
  // The next message, in order; `final`: none follows. Called with the source's lock held: must
  // not block or call back into the source.
  virtual void Push(const Msg& message, bool final) = 0;
  // The source went away (e.g. reloaded after a failed write); no further messages come.
  virtual void Drop(absl::string_view reason) = 0;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_WATCHER_H_
