// Access to the server as a whole, through a real server on loopback (port 0): API keys (missing,
// malformed, unknown, below the role, on unary and streaming calls), keys created, listed and
// revoked by a team's admin and stored only hashed, online backup and restore, and TLS.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "assay/v1/audit.grpc.pb.h"
#include "assay/v1/teams.grpc.pb.h"
#include "client/import/csv.h"
#include "server/admin.h"
#include "server/server.h"
#include "tests/testing/api.h"
#include "tests/testing/service_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace assay::server {
namespace {

using absl_testing::StatusIs;
using testing::Ctx;
using ::testing::HasSubstr;
using testing::ToAbsl;

using ServerAccessTest = testing::ServiceTest;

TEST_F(ServerAccessTest, RejectsMissingBadAndUnderprivilegedKeys) {
  v1::ListAuditsResponse list;
  EXPECT_THAT(ToAbsl(audits_->ListAudits(Ctx("").get(), {}, &list)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("authorization")));
  EXPECT_THAT(ToAbsl(audits_->ListAudits(Ctx("ak_not_a_real_key").get(), {}, &list)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("invalid or revoked")));
  auto raw = Ctx("");
  raw->AddMetadata("authorization", alpha_);  // no "Bearer "
  EXPECT_THAT(ToAbsl(audits_->ListAudits(raw.get(), {}, &list)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("Bearer")));
  EXPECT_OK(ToAbsl(audits_->ListAudits(Ctx(alpha_read_).get(), {}, &list)));
  v1::CreateAuditRequest create;
  v1::Audit audit;
  EXPECT_THAT(ToAbsl(audits_->CreateAudit(Ctx(alpha_read_).get(), create, &audit)),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("write role")));
  v1::CreateApiKeyRequest key_req;
  key_req.set_role(v1::ROLE_READ);
  v1::CreateApiKeyResponse key_resp;
  EXPECT_THAT(ToAbsl(teams_->CreateApiKey(Ctx(alpha_read_).get(), key_req, &key_resp)),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("admin role")));
  // The streaming calls check too.
  auto ctx = Ctx("");
  auto stream = audits_->StreamLabels(ctx.get());
  stream->WritesDone();
  EXPECT_THAT(ToAbsl(stream->Finish()), StatusIs(absl::StatusCode::kUnauthenticated));
  v1::WatchAuditRequest watch;
  watch.set_audit_id("aud_x");
  auto wctx = Ctx("");
  auto reader = audits_->WatchAudit(wctx.get(), watch);
  v1::AuditUpdate update;
  EXPECT_FALSE(reader->Read(&update));
  EXPECT_THAT(ToAbsl(reader->Finish()), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(ServerAccessTest, TeamKeysCanBeCreatedListedAndRevoked) {
  v1::WhoAmIResponse me;
  ASSERT_OK(ToAbsl(teams_->WhoAmI(Ctx(alpha_read_).get(), {}, &me)));
  EXPECT_EQ(me.team(), "alpha");
  EXPECT_EQ(me.role(), v1::ROLE_READ);

  v1::CreateApiKeyRequest req;
  req.set_role(v1::ROLE_WRITE);
  req.set_description("pipeline");
  v1::CreateApiKeyResponse created;
  ASSERT_OK(ToAbsl(teams_->CreateApiKey(Ctx(alpha_).get(), req, &created)));
  EXPECT_THAT(created.key(), ::testing::StartsWith("ak_"));
  EXPECT_EQ(created.info().prefix(), created.key().substr(0, 12));
  ASSERT_OK(ToAbsl(teams_->WhoAmI(Ctx(created.key()).get(), {}, &me)));
  EXPECT_EQ(me.role(), v1::ROLE_WRITE);

  v1::ListApiKeysResponse keys;
  ASSERT_OK(ToAbsl(teams_->ListApiKeys(Ctx(alpha_).get(), {}, &keys)));
  ASSERT_EQ(keys.keys_size(), 3);  // admin, read, the new one; never beta's
  for (const auto& k : keys.keys())
    EXPECT_EQ(k.SerializeAsString().find(created.key()), std::string::npos);

  v1::RevokeApiKeyRequest revoke;
  revoke.set_prefix(created.info().prefix());
  v1::RevokeApiKeyResponse revoked;
  // Another team cannot revoke it (nor learn that it exists).
  EXPECT_THAT(ToAbsl(teams_->RevokeApiKey(Ctx(beta_).get(), revoke, &revoked)),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(ToAbsl(teams_->RevokeApiKey(Ctx(alpha_).get(), revoke, &revoked)));
  EXPECT_TRUE(revoked.info().revoked());
  EXPECT_THAT(ToAbsl(teams_->WhoAmI(Ctx(created.key()).get(), {}, &me)),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // Keys are stored hashed: the secret appears nowhere in the database file.
  server_->Shutdown();
  ASSERT_OK_AND_ASSIGN(std::string bytes, import::ReadFile(db_));
  EXPECT_EQ(bytes.find(alpha_), std::string::npos);
  EXPECT_EQ(bytes.find(created.key()), std::string::npos);
}

TEST_F(ServerAccessTest, BackupIsAConsistentCopy) {
  v1::CreateAuditRequest create;
  v1::Audit audit;
  ASSERT_OK(ToAbsl(audits_->CreateAudit(Ctx(alpha_).get(), create, &audit)));
  v1::HandOutCasesRequest hand;
  hand.set_audit_id(audit.id());
  hand.add_cases()->set_case_id("a");
  v1::HandOutCasesResponse handed;
  ASSERT_OK(ToAbsl(audits_->HandOutCases(Ctx(alpha_).get(), hand, &handed)));
  v1::SubmitLabelRequest label;
  label.set_audit_id(audit.id());
  label.set_case_id("a");
  label.set_y(1);
  v1::SubmitLabelResponse labelled;
  ASSERT_OK(ToAbsl(audits_->SubmitLabel(Ctx(alpha_).get(), label, &labelled)));
  const std::string copy = dir_.path() + "/backup.db";
  ASSERT_OK(BackupDatabase(db_, copy));  // while the server runs
  EXPECT_THAT(BackupDatabase(db_, copy),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already exists")));
  // Restore = start a server on the copy.
  server_->Shutdown();
  db_ = copy;
  StartServer();
  v1::GetAuditRequest get;
  get.set_audit_id(audit.id());
  v1::Audit restored;
  ASSERT_OK(ToAbsl(audits_->GetAudit(Ctx(alpha_).get(), get, &restored)));
  EXPECT_EQ(restored.tested(), 1);
}

// With a certificate and key the server speaks TLS only.
TEST(TlsTest, ServesTlsWithCertificateAndRefusesPlaintext) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(const testing::TestCertificate made, testing::MakeTestCertificate(dir.path()));
  const std::string &cert = made.cert, &key = made.key;
  const std::string db = dir.path() + "/assay.db";
  ASSERT_OK_AND_ASSIGN(CreatedKey admin, CreateTeam(db, "alpha"));
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.db_path = db;
  options.tls_cert_path = cert;
  options.tls_key_path = key;
  ASSERT_OK_AND_ASSIGN(auto server, AssayServer::Start(options));

  ASSERT_OK_AND_ASSIGN(std::string pem, import::ReadFile(cert));
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto secure = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server->port()),
                                          grpc::SslCredentials(ssl), args);
  v1::WhoAmIResponse me;
  ASSERT_OK(ToAbsl(v1::TeamService::NewStub(secure)->WhoAmI(Ctx(admin.key).get(), {}, &me)));
  EXPECT_EQ(me.team(), "alpha");
  auto plain = testing::LocalChannel(server->port());
  EXPECT_THAT(ToAbsl(v1::TeamService::NewStub(plain)->WhoAmI(Ctx(admin.key, absl::Seconds(5)).get(),
                                                             {}, &me)),
              StatusIs(absl::StatusCode::kUnavailable));

  options.tls_key_path.clear();
  EXPECT_THAT(AssayServer::Start(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tls")));
}

}  // namespace
}  // namespace assay::server
