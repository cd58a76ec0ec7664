// In-process server tests: health, reflection, the first RPC, shutdown, startup errors.
#include "server/server.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "client/lib/client.h"
#include "core/base/version.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "server/storage/storage.h"
#include "tests/testing/status_matchers.h"

namespace assay::server {
namespace {

using absl_testing::IsOkAndHolds;
using absl_testing::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;

ServerOptions TestOptions() {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.db_path = ":memory:";
  options.shutdown_grace = absl::Seconds(2);
  return options;
}

client::AssayClient ClientFor(const AssayServer& server) {
  client::ClientOptions options;
  options.server = "127.0.0.1:" + std::to_string(server.port());
  options.timeout = absl::Seconds(10);
  return client::AssayClient(options);
}

TEST(ServerTest, AnswersHealthAndServerInfo) {
  ASSERT_OK_AND_ASSIGN(auto server, AssayServer::Start(TestOptions()));
  EXPECT_GT(server->port(), 0);
  auto client = ClientFor(*server);
  EXPECT_THAT(client.Health(), IsOkAndHolds("SERVING"));
  ASSERT_OK_AND_ASSIGN(auto info, client.ServerInfo());
  EXPECT_EQ(info.version(), Version());
  EXPECT_EQ(info.schema_version(), storage::Storage::CurrentSchemaVersion());
  server->Shutdown();
  EXPECT_THAT(client.Health(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(ServerTest, ReflectionListsServices) {
  ASSERT_OK_AND_ASSIGN(auto server, AssayServer::Start(TestOptions()));
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server->port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  stream->WritesDone();
  std::vector<std::string> names;
  for (const auto& s : response.list_services_response().service()) names.push_back(s.name());
  EXPECT_THAT(names, Contains("assay.v1.SystemService"));
  EXPECT_THAT(names, Contains("grpc.health.v1.Health"));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(ServerTest, RejectsInvalidOptions) {
  ServerOptions options = TestOptions();
  options.worker_threads = 0;
  EXPECT_THAT(AssayServer::Start(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("workers")));
}

TEST(ServerTest, PortInUseIsUnavailable) {
  ASSERT_OK_AND_ASSIGN(auto first, AssayServer::Start(TestOptions()));
  ServerOptions options = TestOptions();
  options.listen_address = "127.0.0.1:" + std::to_string(first->port());
  EXPECT_THAT(AssayServer::Start(options),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot listen")));
}

// A second Shutdown (and the destructor's) leaves the server stopped: no crash, no hang, and the
// port stays closed to calls.
TEST(ServerTest, ShutdownIsIdempotent) {
  ASSERT_OK_AND_ASSIGN(auto server, AssayServer::Start(TestOptions()));
  auto client = ClientFor(*server);
  ASSERT_THAT(client.Health(), IsOkAndHolds("SERVING"));
  server->Shutdown();
  EXPECT_THAT(client.Health(), StatusIs(absl::StatusCode::kUnavailable));
  server->Shutdown();
  EXPECT_THAT(client.Health(), StatusIs(absl::StatusCode::kUnavailable));
  server.reset();  // the destructor's Shutdown, a third one
}

}  // namespace
}  // namespace assay::server
