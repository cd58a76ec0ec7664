// A small blocking HTTP/1.1 client over loopback for tests: whole requests, raw bytes (for
// malformed input), and a Server-Sent Events reader. Not a general client: one request per
// connection (Connection: close), identity or chunked bodies.
#ifndef ASSAY_TESTS_TESTING_HTTP_CLIENT_H_
#define ASSAY_TESTS_TESTING_HTTP_CLIENT_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace assay::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// Sends one request to 127.0.0.1:`port` and reads the whole response.
absl::StatusOr<HttpResponse> Http(int port, const std::string& method, const std::string& target,
                                  const Headers& headers = {}, const std::string& body = "",
                                  absl::Duration timeout = absl::Seconds(30));

// Sends `bytes` as they are (then, with `half_close`, shuts down writing) and returns everything
// the server sends until it closes the connection or `timeout` passes.
absl::StatusOr<std::string> RawExchange(int port, const std::string& bytes, bool half_close,
                                        absl::Duration timeout);

// A raw connection to 127.0.0.1:`port` that the test holds open, and its closing.
absl::StatusOr<int> ConnectForTest(int port);
void CloseForTest(int fd);

// Connects and sends nothing: how long until the server closes the connection (an idle client),
// or nullopt if it is still open after `timeout`.
std::optional<absl::Duration> TimeUntilClosed(int port, const std::string& partial_request,
                                              absl::Duration timeout);

// A text/event-stream response read event by event.
class SseClient {
 public:
  struct Event {
    std::string id, event, data;
  };
  // Opens GET `target`; the status and headers are read at once.
  static absl::StatusOr<std::unique_ptr<SseClient>> Open(int port, const std::string& target,
                                                         const Headers& headers = {});
  ~SseClient();

  int status() const { return status_; }
  const std::string& error_body() const { return body_; }  // when status != 200

  // The next event (comments skipped); nullopt once the stream has ended cleanly (the server sent
  // the last chunk) or after `timeout` (then timed_out() is true).
  std::optional<Event> Next(absl::Duration timeout = absl::Seconds(30));
  bool ended() const { return ended_; }
  bool timed_out() const { return timed_out_; }
  // Drops the connection without reading further (a client that went away).
  void Close();

 private:
  SseClient() = default;
  // Decodes more of the chunked body into text_; false at its end or on timeout.
  bool Fill(absl::Time deadline);
  int fd_ = -1;
  int status_ = 0;
  std::string body_;
  std::string raw_;   // received, not yet decoded
  std::string text_;  // decoded body, not yet parsed into events
  bool ended_ = false;
  bool timed_out_ = false;
};

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_HTTP_CLIENT_H_
