// Helpers for tests that call the assay.v1 API directly through generated stubs.
#ifndef ASSAY_TESTS_TESTING_API_H_
#define ASSAY_TESTS_TESTING_API_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace assay::testing {

// A client context with `authorization: Bearer token` (none if token is empty) and a deadline.
inline std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token,
                                                absl::Duration timeout = absl::Seconds(30)) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

inline absl::Status ToAbsl(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

inline std::shared_ptr<grpc::Channel> LocalChannel(int port) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureChannelCredentials());
}

// As LocalChannel, on a TCP connection of its own: channels to one address otherwise share a
// connection. Benchmarks use it to play separate clients (separate processes or machines).
inline std::shared_ptr<grpc::Channel> OwnConnection(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials(), args);
}

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_API_H_
