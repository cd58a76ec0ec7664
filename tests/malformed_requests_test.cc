// Fuzz-style robustness: random bytes, truncated messages and random field values sent to every
// AuditService and TeamService method (unary and streaming, streams cut off mid-way). The server
// must answer every call with a status (no crash, no hang), and the stored state must not change:
// a control audit reads back identical, and no audit or key appears except through calls that
// answered OK (random bytes can happen to parse as a valid CreateAudit).
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>

#include "absl/synchronization/notification.h"
#include "assay/v1/audit.grpc.pb.h"
#include "assay/v1/teams.grpc.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "server/admin.h"
#include "server/server.h"
#include "tests/testing/api.h"
#include "tests/testing/irt_sim.h"
#include "tests/testing/service_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace assay::server {
namespace {

using testing::Ctx;
using testing::ToAbsl;

grpc::ByteBuffer Bytes(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

bool ParseBytes(const grpc::ByteBuffer& buffer, google::protobuf::Message* message) {
  grpc::Slice slice;
  return buffer.TrySingleSlice(&slice).ok() || buffer.DumpToSingleSlice(&slice).ok()
             ? message->ParseFromArray(slice.begin(), static_cast<int>(slice.size()))
             : false;
}

// A random message: random bytes, a valid request truncated, or a valid request with random field
// values (NaN, huge, negative, empty, very long strings).
std::string RandomPayload(std::mt19937_64& rng, const std::string& audit_id) {
  std::uniform_int_distribution<int> pick(0, 2);
  switch (pick(rng)) {
    case 0: {
      std::string bytes(std::uniform_int_distribution<size_t>(0, 300)(rng), '\0');
      for (char& c : bytes) c = static_cast<char>(rng());
      return bytes;
    }
    case 1: {
      v1::SubmitLabelRequest req;
      req.set_audit_id(audit_id);
      req.set_case_id("c0");
      req.set_y(0.5);
      std::string bytes = req.SerializeAsString();
      bytes.resize(std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng));
      return bytes;
    }
    default: {
      const double doubles[] = {std::nan(""), -1, 2, 1e308, -0.0, INFINITY};
      v1::HandOutCasesRequest req;
      req.set_audit_id(rng() % 2 ? audit_id : std::string(rng() % 600, 'a'));
      for (int i = 0; i < static_cast<int>(rng() % 3); ++i) {
        req.add_cases()->set_case_id(std::string(rng() % 400, 'x'));
      }
      req.set_request_id(std::string(rng() % 200, 'r'));
      std::string bytes = req.SerializeAsString();
      v1::SubmitLabelRequest label;  // append fields of another message type: unknown-field soup
      label.set_y(doubles[rng() % 6]);
      label.set_case_id(std::string(rng() % 300, 'y'));
      return bytes + label.SerializeAsString();
    }
  }
}

// A well-formed request of `type` with random field values: special doubles (NaN, ±inf, huge,
// out-of-range), random and extreme integers and enum numbers, strings that are empty, huge, or
// real ids (`ids`), repeated fields of 0-3 elements, nested messages filled the same way.
void FillRandom(google::protobuf::Message* m, std::mt19937_64& rng,
                const std::vector<std::string>& ids, int depth = 0) {
  using google::protobuf::FieldDescriptor;
  const auto* d = m->GetDescriptor();
  const auto* r = m->GetReflection();
  const double doubles[] = {std::nan(""), -1, 0, 0.5, 1, 2, 1e308, -INFINITY, INFINITY};
  const int64_t ints[] = {0, 1, -1, 7, 1000, 1001, INT32_MAX, INT32_MIN, 42};
  auto random_string = [&]() -> std::string {
    switch (rng() % 4) {
      case 0:
        return "";
      case 1:
        return std::string(rng() % 2000, static_cast<char>('a' + rng() % 26));
      default:
        return ids[rng() % ids.size()];
    }
  };
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (rng() % 4 == 0) continue;  // leave some fields unset
    const int n = f->is_repeated() ? static_cast<int>(rng() % 4) : 1;
    for (int k = 0; k < n; ++k) {
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_DOUBLE: {
          const double v = doubles[rng() % 9];
          f->is_repeated() ? r->AddDouble(m, f, v) : r->SetDouble(m, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_INT32: {
          const auto v = static_cast<int32_t>(ints[rng() % 9]);
          f->is_repeated() ? r->AddInt32(m, f, v) : r->SetInt32(m, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_INT64: {
          const int64_t v = ints[rng() % 9];
          f->is_repeated() ? r->AddInt64(m, f, v) : r->SetInt64(m, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_FLOAT: {
          const auto v = static_cast<float>(doubles[rng() % 9]);
          f->is_repeated() ? r->AddFloat(m, f, v) : r->SetFloat(m, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_UINT32: {
          const auto v = static_cast<uint32_t>(ints[rng() % 9]);
          f->is_repeated() ? r->AddUInt32(m, f, v) : r->SetUInt32(m, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_UINT64: {
          const auto v = static_cast<uint64_t>(ints[rng() % 9]);
          f->is_repeated() ? r->AddUInt64(m, f, v) : r->SetUInt64(m, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_BOOL:
          f->is_repeated() ? r->AddBool(m, f, rng() % 2) : r->SetBool(m, f, rng() % 2);
          break;
        case FieldDescriptor::CPPTYPE_ENUM: {
          const int v = static_cast<int>(ints[rng() % 9] % 5);
          f->is_repeated() ? r->AddEnumValue(m, f, v) : r->SetEnumValue(m, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_STRING: {
          const std::string v = random_string();
          f->is_repeated() ? r->AddString(m, f, v) : r->SetString(m, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth < 3) {
            FillRandom(f->is_repeated() ? r->AddMessage(m, f) : r->MutableMessage(m, f), rng, ids,
                       depth + 1);
          }
          break;
        default:
          break;
      }
    }
  }
}

TEST(MalformedRequestsTest, RandomAndTruncatedRequestsCrashNothingAndChangeNothing) {
  testing::TempDir dir;
  const std::string db = dir.path() + "/assay.db";
  ASSERT_OK_AND_ASSIGN(CreatedKey admin, CreateTeam(db, "alpha"));
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.db_path = db;
  options.shutdown_grace = absl::Seconds(2);
  ASSERT_OK_AND_ASSIGN(auto server, AssayServer::Start(options));
  auto channel = testing::LocalChannel(server->port());
  auto audits = v1::AuditService::NewStub(channel);
  auto teams = v1::TeamService::NewStub(channel);

  // A control audit whose state must survive the storm: one case closed, one outstanding.
  v1::CreateAuditRequest create;
  create.mutable_config()->set_cs_grid(50);
  v1::Audit control;
  ASSERT_OK(ToAbsl(audits->CreateAudit(Ctx(admin.key).get(), create, &control)));
  v1::HandOutCasesRequest hand_out;
  hand_out.set_audit_id(control.id());
  hand_out.add_cases()->set_case_id("c0");
  hand_out.add_cases()->set_case_id("c1");
  v1::HandOutCasesResponse handed;
  ASSERT_OK(ToAbsl(audits->HandOutCases(Ctx(admin.key).get(), hand_out, &handed)));
  v1::SubmitLabelRequest label;
  label.set_audit_id(control.id());
  label.set_case_id("c0");
  label.set_y(1);
  v1::SubmitLabelResponse labelled;
  ASSERT_OK(ToAbsl(audits->SubmitLabel(Ctx(admin.key).get(), label, &labelled)));
  v1::GetAuditRequest get;
  get.set_audit_id(control.id());
  v1::Audit before;
  ASSERT_OK(ToAbsl(audits->GetAudit(Ctx(admin.key).get(), get, &before)));

  const std::vector<std::string> unary = {
      "/assay.v1.AuditService/CreateAudit", "/assay.v1.AuditService/GetAudit",
      "/assay.v1.AuditService/ListAudits",  "/assay.v1.AuditService/HandOutCases",
      "/assay.v1.AuditService/SubmitLabel", "/assay.v1.AuditService/VoidCase",
      "/assay.v1.TeamService/WhoAmI",       "/assay.v1.TeamService/CreateApiKey",
      "/assay.v1.TeamService/ListApiKeys",  "/assay.v1.TeamService/RevokeApiKey"};
  // A second audit that well-formed random requests may legitimately change.
  v1::Audit target;
  ASSERT_OK(ToAbsl(audits->CreateAudit(Ctx(admin.key).get(), create, &target)));
  const std::vector<std::string> ids = {target.id(), "c0", "c1", "aud_missing", admin.prefix};
  grpc::GenericStub generic(channel);
  std::mt19937_64 rng(99);
  // Distinct resources created: a random request_id may repeat, and a retried create returns the
  // stored reply without creating anything.
  std::set<std::string> created_audits, created_keys;
  int calls = 0, handled = 0;
  for (int round = 0; round < 40; ++round) {
    for (const std::string& method : unary) {
      // Malformed bytes may name the control audit; well-formed random requests (which can be
      // legitimate changes) only name the target audit.
      std::string payload = RandomPayload(rng, control.id());
      if (method.find("VoidCase") != std::string::npos) {
        v1::VoidCaseRequest v;
        if (v.ParseFromString(payload) && v.case_id() == "c1") continue;
      }
      if (rng() % 2 == 0) {
        const std::string name = method.substr(method.rfind('/') + 1);
        const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            method.substr(1, method.rfind('/') - 1));
        const auto* type = service->FindMethodByName(name)->input_type();
        std::unique_ptr<google::protobuf::Message> m(
            google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
        FillRandom(m.get(), rng, ids);
        // RevokeApiKey on the admin's own key would lock the test out: a legitimate change.
        if (name == "RevokeApiKey") m->Clear();
        payload = m->SerializeAsString();
      }
      const grpc::ByteBuffer request = Bytes(payload);
      grpc::ByteBuffer response;
      auto context = Ctx(admin.key, absl::Seconds(10));
      absl::Notification done;
      grpc::Status status;
      generic.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                        [&](grpc::Status s) {
                          status = std::move(s);
                          done.Notify();
                        });
      ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20))) << method;
      EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << method;
      EXPECT_NE(status.error_code(), grpc::StatusCode::UNKNOWN) << method;
      if (status.error_code() != grpc::StatusCode::UNIMPLEMENTED) ++handled;  // parsed
      if (status.ok() && method.find("CreateAudit") != std::string::npos) {
        v1::Audit created;
        ASSERT_TRUE(ParseBytes(response, &created));
        created_audits.insert(created.id());
      }
      if (status.ok() && method.find("CreateApiKey") != std::string::npos) {
        v1::CreateApiKeyResponse created;
        ASSERT_TRUE(ParseBytes(response, &created));
        created_keys.insert(created.info().prefix());
      }
      ++calls;
    }
    // A label stream with garbage messages, cut off without WritesDone.
    {
      auto context = Ctx(admin.key, absl::Seconds(10));
      auto stream = audits->StreamLabels(context.get());
      for (int i = 0; i < 5; ++i) {
        v1::SubmitLabelRequest req;
        if (!req.ParseFromString(RandomPayload(rng, control.id()))) req.set_y(std::nan(""));
        if (req.audit_id() == control.id() && (req.case_id() == "c1" || req.case_id() == "c0")) {
          req.set_y(std::nan(""));  // never a valid label for the control's cases
        }
        if (!stream->Write(req)) break;
      }
      context->TryCancel();
      stream->Finish();
    }
    // A watch cancelled straight away.
    {
      auto context = Ctx(admin.key, absl::Seconds(10));
      v1::WatchAuditRequest w;
      w.set_audit_id(control.id());
      auto reader = audits->WatchAudit(context.get(), w);
      context->TryCancel();
      reader->Finish();
    }
  }
  EXPECT_GT(calls, 350);    // (a few VoidCase payloads aimed at the control's open case skipped)
  EXPECT_GT(handled, 100);  // enough requests got past parsing into the handlers

  v1::Audit after;
  ASSERT_OK(ToAbsl(audits->GetAudit(Ctx(admin.key).get(), get, &after)));
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
  v1::ListAuditsResponse listed;
  ASSERT_OK(ToAbsl(audits->ListAudits(Ctx(admin.key).get(), {}, &listed)));
  EXPECT_EQ(listed.audits_size(), 2 + static_cast<int>(created_audits.size()));
  v1::ListApiKeysResponse keys;
  ASSERT_OK(ToAbsl(teams->ListApiKeys(Ctx(admin.key).get(), {}, &keys)));
  EXPECT_EQ(keys.keys_size(), 1 + static_cast<int>(created_keys.size()));
  get.set_audit_id(target.id());
  v1::Audit target_served;
  ASSERT_OK(ToAbsl(audits->GetAudit(Ctx(admin.key).get(), get, &target_served)));
  // And after a restart, from disk: the control unchanged, the target exactly as served (memory
  // never ran ahead of disk, whatever the random requests did).
  server->Shutdown();
  ASSERT_OK_AND_ASSIGN(server, AssayServer::Start(options));
  audits = v1::AuditService::NewStub(testing::LocalChannel(server->port()));
  v1::Audit target_reloaded;
  ASSERT_OK(ToAbsl(audits->GetAudit(Ctx(admin.key).get(), get, &target_reloaded)));
  EXPECT_EQ(target_reloaded.SerializeAsString(), target_served.SerializeAsString());
  get.set_audit_id(control.id());
  ASSERT_OK(ToAbsl(audits->GetAudit(Ctx(admin.key).get(), get, &after)));
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
}

// One random unary call through the generic stub: random bytes, a truncated well-formed request,
// or a well-formed request with random values naming `ids`. Returns the status.
grpc::Status RandomCall(grpc::GenericStub& generic, const std::string& token,
                        const std::string& method, std::mt19937_64& rng,
                        const std::vector<std::string>& ids) {
  const std::string name = method.substr(method.rfind('/') + 1);
  const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      method.substr(1, method.rfind('/') - 1));
  const auto* type = service->FindMethodByName(name)->input_type();
  std::unique_ptr<google::protobuf::Message> m(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
  FillRandom(m.get(), rng, ids);
  std::string payload = m->SerializeAsString();
  switch (rng() % 3) {
    case 0:  // random bytes
      payload.assign(rng() % 300, '\0');
      for (char& c : payload) c = static_cast<char>(rng());
      break;
    case 1:  // cut short
      payload.resize(payload.size() * (rng() % 100) / 100);
      break;
    default:
      break;
  }
  const grpc::ByteBuffer request = Bytes(payload);
  grpc::ByteBuffer response;
  auto context = Ctx(token, absl::Seconds(20));
  absl::Notification done;
  grpc::Status status;
  generic.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) {
                      status = std::move(s);
                      done.Notify();
                    });
  done.WaitForNotification();
  return status;
}

// The benchmark, adaptive-testing and monitor services under random and truncated requests and
// cut-off upload/score streams: no crash, every call answered with a proper status, control
// resources (never named by the fuzz) unchanged, and the fuzzed ones reload from disk exactly as
// served (memory never ran ahead of disk).
class MalformedServiceRequestsTest : public testing::ServiceTest {};

TEST_F(MalformedServiceRequestsTest, BenchmarksSessionsAndMonitorsSurviveGarbage) {
  testing::SimOptions sim;
  sim.models = 80;
  sim.items = 120;
  const testing::Simulated data = testing::Simulate(sim);
  // Control and target resources of each kind.
  std::string control_bm, target_bm;
  v1::CreateBenchmarkRequest create;
  create.set_name("control");
  ASSERT_EQ(UploadAndFit(data.data, create, &control_bm).state(), v1::FIT_STATE_SUCCEEDED);
  create.set_name("target");
  const v1::Fit target_fit = UploadAndFit(data.data, create, &target_bm);
  const auto start_session = [&](const std::string& bm) {
    v1::StartSessionRequest req;
    req.set_benchmark_id(bm);
    v1::CatSession s;
    EXPECT_OK(ToAbsl(cat_->StartSession(Ctx(alpha_).get(), req, &s)));
    v1::NextItemsRequest next;
    next.set_session_id(s.id());
    v1::NextItemsResponse items;
    EXPECT_OK(ToAbsl(cat_->NextItems(Ctx(alpha_).get(), next, &items)));
    return items.session();
  };
  const v1::CatSession control_session = start_session(control_bm);
  const v1::CatSession target_session = start_session(target_bm);
  const auto create_monitor = [&] {
    v1::CreateMonitorRequest req;
    v1::Monitor m;
    EXPECT_OK(ToAbsl(monitors_->CreateMonitor(Ctx(alpha_).get(), req, &m)));
    v1::SubmitScoresRequest scores;
    scores.set_monitor_id(m.id());
    scores.add_scores(1);
    scores.add_scores(0);
    v1::SubmitScoresResponse resp;
    EXPECT_OK(ToAbsl(monitors_->SubmitScores(Ctx(alpha_).get(), scores, &resp)));
    return resp.monitor();
  };
  const v1::Monitor control_monitor = create_monitor();
  const v1::Monitor target_monitor = create_monitor();

  // The state of a benchmark, session and monitor as served.
  const auto snapshot = [&](const std::string& bm, const std::string& session,
                            const std::string& monitor) {
    std::string out;
    v1::GetBenchmarkRequest get_bm;
    get_bm.set_benchmark_id(bm);
    v1::Benchmark b;
    EXPECT_OK(ToAbsl(benchmarks_->GetBenchmark(Ctx(alpha_).get(), get_bm, &b)));
    v1::ListAbilitiesRequest abilities;
    abilities.set_benchmark_id(bm);
    abilities.set_page_size(1000);
    v1::ListAbilitiesResponse table;
    EXPECT_OK(ToAbsl(benchmarks_->ListAbilities(Ctx(alpha_).get(), abilities, &table)));
    v1::GetSessionRequest get_session;
    get_session.set_session_id(session);
    v1::CatSession cs;
    EXPECT_OK(ToAbsl(cat_->GetSession(Ctx(alpha_).get(), get_session, &cs)));
    cs.mutable_options()->clear_tag_targets();  // (a map: serialization order is not fixed)
    v1::GetMonitorRequest get_monitor;
    get_monitor.set_monitor_id(monitor);
    v1::Monitor m;
    EXPECT_OK(ToAbsl(monitors_->GetMonitor(Ctx(alpha_).get(), get_monitor, &m)));
    return b.SerializeAsString() + table.SerializeAsString() + cs.SerializeAsString() +
           m.SerializeAsString();
  };
  const std::string control_before =
      snapshot(control_bm, control_session.id(), control_monitor.id());

  const std::vector<std::string> methods = {
      "/assay.v1.BenchmarkService/CreateBenchmark", "/assay.v1.BenchmarkService/GetBenchmark",
      "/assay.v1.BenchmarkService/ListBenchmarks",  "/assay.v1.BenchmarkService/ListBenchmarkItems",
      "/assay.v1.BenchmarkService/StartFit",        "/assay.v1.BenchmarkService/GetFit",
      "/assay.v1.BenchmarkService/ListFits",        "/assay.v1.BenchmarkService/CancelFit",
      "/assay.v1.BenchmarkService/SetCurrentFit",   "/assay.v1.BenchmarkService/ListAbilities",
      "/assay.v1.BenchmarkService/ListItemParams",  "/assay.v1.BenchmarkService/ScoreModel",
      "/assay.v1.CatService/StartSession",          "/assay.v1.CatService/NextItems",
      "/assay.v1.CatService/SubmitOutcomes",        "/assay.v1.CatService/GetSession",
      "/assay.v1.CatService/ListSessions",          "/assay.v1.MonitorService/CreateMonitor",
      "/assay.v1.MonitorService/GetMonitor",        "/assay.v1.MonitorService/ListMonitors",
      "/assay.v1.MonitorService/SubmitScores"};
  const std::vector<std::string> ids = {target_bm,
                                        target_fit.id(),
                                        target_session.id(),
                                        target_monitor.id(),
                                        target_session.pending_items(0),
                                        "q7",
                                        "m3",
                                        "bm_x"};
  grpc::GenericStub generic(testing::LocalChannel(server_->port()));
  std::mt19937_64 rng(2026);
  int handled = 0;
  std::map<int, int> codes;
  for (int round = 0; round < 45; ++round) {
    for (const std::string& method : methods) {
      const grpc::Status status = RandomCall(generic, alpha_, method, rng, ids);
      EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << method;
      EXPECT_NE(status.error_code(), grpc::StatusCode::UNKNOWN) << method;
      EXPECT_NE(status.error_code(), grpc::StatusCode::INTERNAL) << method;
      EXPECT_NE(status.error_code(), grpc::StatusCode::DATA_LOSS) << method;
      handled += status.error_code() != grpc::StatusCode::UNIMPLEMENTED;
      ++codes[status.error_code()];
    }
    // An upload of random chunks, cut off without WritesDone.
    {
      auto context = Ctx(alpha_, absl::Seconds(10));
      v1::UploadResponsesResponse resp;
      auto writer = benchmarks_->UploadResponses(context.get(), &resp);
      for (int k = 0; k < 3; ++k) {
        v1::UploadResponsesRequest chunk;
        FillRandom(&chunk, rng, ids);
        if (!writer->Write(chunk)) break;
      }
      context->TryCancel();
      writer->Finish();
    }
    // A score stream of random batches, cut off.
    {
      auto context = Ctx(alpha_, absl::Seconds(10));
      auto stream = monitors_->StreamScores(context.get());
      for (int k = 0; k < 3; ++k) {
        v1::SubmitScoresRequest batch;
        FillRandom(&batch, rng, ids);
        if (!stream->Write(batch)) break;
      }
      context->TryCancel();
      stream->Finish();
    }
  }
  for (auto [code, n] : codes) std::printf("status %d: %d calls\n", code, n);
  // (Messages that do not parse, about 2/3 of them, are refused by gRPC before any handler.)
  EXPECT_GT(handled, 250);
  EXPECT_EQ(snapshot(control_bm, control_session.id(), control_monitor.id()), control_before);
  // Let fits started by the fuzz finish, then compare the fuzzed resources before and after a
  // restart.
  v1::ListFitsRequest fits_req;
  fits_req.set_benchmark_id(target_bm);
  for (int wait = 0; wait < 600; ++wait) {
    v1::ListFitsResponse fits;
    ASSERT_OK(ToAbsl(benchmarks_->ListFits(Ctx(alpha_).get(), fits_req, &fits)));
    bool busy = false;
    for (const v1::Fit& f : fits.fits()) {
      busy |= f.state() == v1::FIT_STATE_QUEUED || f.state() == v1::FIT_STATE_RUNNING;
    }
    if (!busy) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  const std::string target_served = snapshot(target_bm, target_session.id(), target_monitor.id());
  RestartServer();
  EXPECT_EQ(snapshot(target_bm, target_session.id(), target_monitor.id()), target_served);
  EXPECT_EQ(snapshot(control_bm, control_session.id(), control_monitor.id()), control_before);
}

}  // namespace
}  // namespace assay::server
