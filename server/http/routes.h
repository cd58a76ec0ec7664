// The JSON API's routes, in the style of gRPC-JSON transcoding (google.api.http): resources under
// /v1/..., GET for reads (paging and sorting as query parameters), POST for creates and actions
// (custom verbs as `:verb`), and GET .../events for every watch call as Server-Sent Events. Each
// route calls the same api:: function as the gRPC method (server/api/unary.h, watch.h); the route
// list is in routes.cc and in README.md.
//
// Errors: the gRPC status mapped to HTTP (HttpStatusOf) with the JSON body {code, message,
// details}; an unknown path is 404 and a known path with the wrong method 405 (with Allow).
//
// Thread safety: Handle may be called from many connection threads at once.
#ifndef ASSAY_SERVER_HTTP_ROUTES_H_
#define ASSAY_SERVER_HTTP_ROUTES_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "server/api/call.h"
#include "server/http/messages.h"

namespace assay::server::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded, without the query
  Params query;        // decoded, in order
  std::string body;
  std::string authorization;  // the Authorization header, "" if none
  std::string last_event_id;  // the Last-Event-ID header, "" if none
};

// The body of a Server-Sent Events response, produced as the resource changes.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Blocks until there is something to send (the next events, or a heartbeat comment when nothing
  // happened for a while) and copies up to `max` bytes of it into `buf`. Returns the bytes copied,
  // or -1 once the stream has ended (after its final event, an error event, or End()).
  virtual ssize_t Read(char* buf, size_t max) = 0;
  // Ends the stream at its next Read, with an event saying why. Thread safe.
  virtual void End(const std::string& reason) = 0;
};

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<EventStream> stream;  // when set, the body is this stream (text/event-stream)
};

// `status` (already public) as a JSON error reply; 429 carries Retry-After.
Reply ErrorReply(const absl::Status& status);

// What a route is, for the OpenAPI document (openapi.h).
struct RouteInfo {
  std::string method;   // "GET" or "POST"
  std::string pattern;  // "/v1/audits/{audit_id}/labels"
  const google::protobuf::Descriptor* request = nullptr;
  const google::protobuf::Descriptor* response = nullptr;  // each event's message for a stream
  bool events = false;                                     // a Server-Sent Events stream
  std::vector<std::string> path_vars;                      // "audit_id"
};

class Router {
 public:
  // `deps` must outlive the router; `heartbeat` is the event streams' idle interval.
  Router(const ServerDeps& deps, absl::Duration heartbeat);

  // Runs the request (blocking the calling connection thread until its call completes) and
  // returns the reply.
  Reply Handle(const Request& request);

  // Every route, in order.
  std::vector<RouteInfo> Describe() const;

  // Ends every open event stream with `reason` (server shutdown) and refuses new ones; waits up to
  // `grace` for their last events to be sent (each stream is released once its response is done).
  void EndStreams(const std::string& reason, absl::Duration grace);

 private:
  using Handler = std::function<Reply(const Request&, const Params& path)>;
  struct Route {
    RouteInfo info;
    std::vector<std::string> segments;  // "v1", "{audit_id}", "{fit_id}:cancel"
    Handler handler;
  };
  void Add(RouteInfo info, Handler handler);
  template <typename Req, typename Resp, typename Op>
  void Unary(const std::string& method, const std::string& pattern, Op op);
  template <typename Req, typename Msg, typename Source>
  void Events(const std::string& pattern, Source source);
  // Registers `stream` for EndStreams; false if the server is stopping.
  bool Track(const std::shared_ptr<EventStream>& stream);

  const ServerDeps deps_;
  const absl::Duration heartbeat_;
  std::vector<Route> routes_;
  absl::Mutex mu_;
  std::vector<std::weak_ptr<EventStream>> streams_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace assay::server::http

#endif  // ASSAY_SERVER_HTTP_ROUTES_H_
