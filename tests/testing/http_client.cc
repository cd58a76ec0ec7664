#include "tests/testing/http_client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace assay::testing {
namespace {

absl::StatusOr<int> Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect to port ", port, ": ", strerror(errno)));
  }
  return fd;
}

absl::Status SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Reads what is available (waiting until `deadline`) and appends it; 0 at the peer's close, -1 on
// timeout or error.
ssize_t ReadSome(int fd, std::string* out, absl::Time deadline) {
  pollfd p{fd, POLLIN, 0};
  const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
  if (poll(&p, 1, static_cast<int>(ms)) <= 0) return -1;
  char buf[16384];
  const ssize_t n = recv(fd, buf, sizeof(buf), 0);
  if (n > 0) out->append(buf, static_cast<size_t>(n));
  return n < 0 ? -1 : n;
}

std::string Request(const std::string& method, const std::string& target, const Headers& headers,
                    const std::string& body) {
  std::string r = absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                               "Connection: close\r\n");
  for (const auto& [k, v] : headers) absl::StrAppend(&r, k, ": ", v, "\r\n");
  if (!body.empty() || method == "POST") absl::StrAppend(&r, "Content-Length: ", body.size(), "\r\n");
  absl::StrAppend(&r, "\r\n", body);
  return r;
}

// Parses "HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\n" off the front of `raw`.
bool ParseHead(std::string* raw, int* status, std::map<std::string, std::string>* headers) {
  const size_t end = raw->find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::vector<std::string> lines = absl::StrSplit(raw->substr(0, end), "\r\n");
  std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
  if (first.size() < 2 || !absl::SimpleAtoi(first[1], status)) *status = -1;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    (*headers)[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  raw->erase(0, end + 4);
  return true;
}

// Decodes complete chunks off the front of `raw` into `out`; true once the last chunk was seen.
bool Dechunk(std::string* raw, std::string* out) {
  while (true) {
    const size_t eol = raw->find("\r\n");
    if (eol == std::string::npos) return false;
    size_t size = 0;
    if (!absl::SimpleHexAtoi(raw->substr(0, raw->find_first_of(";\r")), &size)) return true;
    if (size == 0) return true;
    if (raw->size() < eol + 2 + size + 2) return false;
    out->append(*raw, eol + 2, size);
    raw->erase(0, eol + 2 + size + 2);
  }
}

}  // namespace

absl::StatusOr<int> ConnectForTest(int port) { return Connect(port); }

void CloseForTest(int fd) { close(fd); }

absl::StatusOr<HttpResponse> Http(int port, const std::string& method, const std::string& target,
                                  const Headers& headers, const std::string& body,
                                  absl::Duration timeout) {
  absl::StatusOr<int> fd = Connect(port);
  if (!fd.ok()) return fd.status();
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status sent = SendAll(*fd, Request(method, target, headers, body));
  std::string raw;
  while (true) {  // Connection: close: the response ends when the server closes
    const ssize_t n = ReadSome(*fd, &raw, deadline);
    if (n == 0) break;
    if (n < 0) {
      close(*fd);
      return absl::DeadlineExceededError(absl::StrCat(method, " ", target, ": no complete reply"));
    }
  }
  close(*fd);
  if (raw.empty() && !sent.ok()) return sent;
  HttpResponse response;
  if (!ParseHead(&raw, &response.status, &response.headers)) {
    return absl::DataLossError(absl::StrCat("malformed response: ", raw));
  }
  if (response.headers["transfer-encoding"] == "chunked") {
    Dechunk(&raw, &response.body);
  } else {
    response.body = std::move(raw);
  }
  return response;
}

absl::StatusOr<std::string> RawExchange(int port, const std::string& bytes, bool half_close,
                                        absl::Duration timeout) {
  absl::StatusOr<int> fd = Connect(port);
  if (!fd.ok()) return fd.status();
  (void)SendAll(*fd, bytes);
  if (half_close) shutdown(*fd, SHUT_WR);
  std::string out;
  const absl::Time deadline = absl::Now() + timeout;
  while (ReadSome(*fd, &out, deadline) > 0) {
  }
  close(*fd);
  return out;
}

std::optional<absl::Duration> TimeUntilClosed(int port, const std::string& partial_request,
                                              absl::Duration timeout) {
  absl::StatusOr<int> fd = Connect(port);
  if (!fd.ok()) return absl::ZeroDuration();
  const absl::Time start = absl::Now();
  (void)SendAll(*fd, partial_request);
  std::string out;
  while (true) {
    const ssize_t n = ReadSome(*fd, &out, start + timeout);
    if (n == 0 || (n < 0 && absl::Now() < start + timeout)) break;  // closed (or reset)
    if (n < 0) {
      close(*fd);
      return std::nullopt;
    }
  }
  close(*fd);
  return absl::Now() - start;
}

absl::StatusOr<std::unique_ptr<SseClient>> SseClient::Open(int port, const std::string& target,
                                                           const Headers& headers) {
  absl::StatusOr<int> fd = Connect(port);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<SseClient> c(new SseClient());
  c->fd_ = *fd;
  Headers all = headers;
  all.emplace_back("Accept", "text/event-stream");
  if (absl::Status s = SendAll(c->fd_, Request("GET", target, all, "")); !s.ok()) return s;
  std::map<std::string, std::string> response_headers;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!ParseHead(&c->raw_, &c->status_, &response_headers)) {
    if (ReadSome(c->fd_, &c->raw_, deadline) <= 0) {
      return absl::DataLossError("event stream: no response head");
    }
  }
  if (c->status_ != 200) {  // an error reply: read it whole
    while (ReadSome(c->fd_, &c->raw_, deadline) > 0) {
    }
    if (response_headers["transfer-encoding"] == "chunked") {
      Dechunk(&c->raw_, &c->body_);
    } else {
      c->body_ = c->raw_;
    }
  }
  return c;
}

SseClient::~SseClient() { Close(); }

void SseClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool SseClient::Fill(absl::Time deadline) {
  while (true) {
    if (Dechunk(&raw_, &text_)) {
      ended_ = true;
      return false;
    }
    if (text_.find("\n\n") != std::string::npos) return true;
    const ssize_t n = fd_ < 0 ? 0 : ReadSome(fd_, &raw_, deadline);
    if (n == 0) return false;  // closed without the last chunk
    if (n < 0) {
      timed_out_ = true;
      return false;
    }
  }
}

std::optional<SseClient::Event> SseClient::Next(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  timed_out_ = false;
  while (true) {
    size_t end = text_.find("\n\n");
    if (end == std::string::npos) {
      if (!Fill(deadline)) {
        end = text_.find("\n\n");
        if (end == std::string::npos) return std::nullopt;
      } else {
        end = text_.find("\n\n");
      }
    }
    const std::string block = text_.substr(0, end);
    text_.erase(0, end + 2);
    Event e;
    bool any = false;
    for (absl::string_view line : absl::StrSplit(block, '\n')) {
      if (line.empty() || line[0] == ':') continue;  // a comment (heartbeat)
      const size_t colon = line.find(':');
      const absl::string_view field = line.substr(0, colon);
      absl::string_view value = colon == absl::string_view::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
      any = true;
      if (field == "id") e.id = std::string(value);
      if (field == "event") e.event = std::string(value);
      if (field == "data") absl::StrAppend(&e.data, e.data.empty() ? "" : "\n", value);
    }
    if (any) return e;
  }
}

}  // namespace assay::testing
