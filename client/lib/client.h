// AssayClient: the C++ client library. One channel per client; every call carries a deadline.
// Thread safety: methods may be called concurrently (gRPC channels and stubs are thread safe).
#ifndef ASSAY_CLIENT_LIB_CLIENT_H_
#define ASSAY_CLIENT_LIB_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "assay/v1/system.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace assay::client {

struct ClientOptions {
  std::string server = "127.0.0.1:50051";      // host:port
  absl::Duration timeout = absl::Seconds(10);  // deadline of each call
  std::string token;                           // API key, sent as `authorization: Bearer KEY`
  int attempts = 4;  // tries of a call that fails transiently and is safe to repeat (call.h)
  // The team, sent as `x-assay-team` metadata so that a proxy in front of several servers
  // (deploy/haproxy/) routes the call to the team's shard; empty: not sent.
  std::string team;
};

// The gRPC status as an absl::Status with the same code, message prefixed by what was called.
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view call);

class AssayClient {
 public:
  explicit AssayClient(const ClientOptions& options);

  // grpc.health.v1 status of `service` ("" = the whole server): "SERVING", "NOT_SERVING", ...
  // Unavailable / DeadlineExceeded if the server cannot be reached in time.
  absl::StatusOr<std::string> Health(const std::string& service = "");

  absl::StatusOr<assay::v1::GetServerInfoResponse> ServerInfo();

  const std::string& server() const { return options_.server; }
  int attempts() const { return options_.attempts; }
  // The channel, for the generated stubs of the other services.
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // A context for one call: the token and a deadline of `timeout` (the options' by default).
  std::unique_ptr<grpc::ClientContext> Context(
      absl::Duration timeout = absl::InfiniteDuration()) const;

 private:
  void SetDeadline(grpc::ClientContext& context) const;

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  std::unique_ptr<assay::v1::SystemService::Stub> system_;
};

}  // namespace assay::client

#endif  // ASSAY_CLIENT_LIB_CLIENT_H_
