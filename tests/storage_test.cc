#include "server/storage/storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "core/base/status_macros.h"
#include "server/storage/schema.h"
#include "server/storage/sqlite.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace assay::storage {
namespace {

using absl_testing::IsOk;
using absl_testing::IsOkAndHolds;
using absl_testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Optional;

absl::StatusOr<std::string> QueryText(Connection& c, const std::string& sql) {
  auto stmt = c.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError("no row");
  std::string value = (*stmt)->ColumnText(0);
  (*stmt)->Reset();
  return value;
}

TEST(StorageTest, InMemoryDatabaseIsMigratedToCurrentSchema) {
  ASSERT_OK_AND_ASSIGN(auto storage, Storage::Open(":memory:"));
  EXPECT_THAT(storage->SchemaVersion(), IsOkAndHolds(Storage::CurrentSchemaVersion()));
  EXPECT_GE(Storage::CurrentSchemaVersion(), 1);
  EXPECT_THAT(storage->GetSetting("nope"), IsOkAndHolds(std::nullopt));
  ASSERT_OK(storage->PutSetting("k", "v1"));
  ASSERT_OK(storage->PutSetting("k", "v2"));
  EXPECT_THAT(storage->GetSetting("k"), IsOkAndHolds(Optional(std::string("v2"))));
}

TEST(StorageTest, FileDatabaseKeepsDataAcrossReopen) {
  testing::TempDir dir;
  const std::string path = dir.File("assay.db");
  {
    ASSERT_OK_AND_ASSIGN(auto storage, Storage::Open(path));
    ASSERT_OK(storage->PutSetting("team", "red"));
  }
  ASSERT_OK_AND_ASSIGN(auto storage, Storage::Open(path));
  EXPECT_THAT(storage->GetSetting("team"), IsOkAndHolds(Optional(std::string("red"))));
  EXPECT_THAT(storage->SchemaVersion(), IsOkAndHolds(Storage::CurrentSchemaVersion()));
}

TEST(SqliteTest, FileConnectionUsesHousePragmas) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(dir.File("p.db")));
  EXPECT_THAT(QueryText(*c, "PRAGMA journal_mode"), IsOkAndHolds("wal"));
  EXPECT_THAT(QueryText(*c, "PRAGMA foreign_keys"), IsOkAndHolds("1"));
  EXPECT_THAT(QueryText(*c, "PRAGMA synchronous"), IsOkAndHolds("2"));  // FULL
  EXPECT_THAT(QueryText(*c, "PRAGMA busy_timeout"), IsOkAndHolds("5000"));
}

constexpr Migration kTwoSteps[] = {
    {1, "CREATE TABLE a (x INTEGER) STRICT;"},
    {2, "CREATE TABLE b (y INTEGER) STRICT; INSERT INTO b VALUES (7);"},
};

TEST(SqliteTest, MigrationsRunOnceInOrder) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(dir.File("m.db")));
  ASSERT_OK(Migrate(*c, absl::MakeConstSpan(kTwoSteps, 1)));
  EXPECT_THAT(c->UserVersion(), IsOkAndHolds(1));
  ASSERT_OK(Migrate(*c, kTwoSteps));
  EXPECT_THAT(c->UserVersion(), IsOkAndHolds(2));
  ASSERT_OK(Migrate(*c, kTwoSteps));  // again: nothing to do, no duplicate row
  EXPECT_THAT(QueryText(*c, "SELECT count(*) FROM b"), IsOkAndHolds("1"));
}

TEST(SqliteTest, FailedMigrationLeavesPreviousVersionIntact) {
  constexpr Migration kBroken[] = {
      {1, "CREATE TABLE a (x INTEGER) STRICT;"},
      {2, "CREATE TABLE b (y INTEGER) STRICT; INSERT INTO nosuchtable VALUES (1);"},
  };
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(":memory:"));
  EXPECT_THAT(Migrate(*c, kBroken),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("migration to schema 2 failed")));
  EXPECT_THAT(c->UserVersion(), IsOkAndHolds(1));
  // Table b was created inside the failed migration's transaction: rolled back with it.
  EXPECT_THAT(QueryText(*c, "SELECT count(*) FROM sqlite_schema WHERE name='b'"),
              IsOkAndHolds("0"));
  EXPECT_FALSE(c->in_transaction());
}

TEST(StorageTest, RefusesNewerSchemaAndLeavesItUntouched) {
  testing::TempDir dir;
  const std::string path = dir.File("new.db");
  {
    ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(path));
    ASSERT_OK(c->SetUserVersion(999));
  }
  EXPECT_THAT(Storage::Open(path), StatusIs(absl::StatusCode::kFailedPrecondition,
                                            HasSubstr("schema version 999, newer than")));
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(path));
  EXPECT_THAT(c->UserVersion(), IsOkAndHolds(999));
  EXPECT_THAT(QueryText(*c, "SELECT count(*) FROM sqlite_schema"), IsOkAndHolds("0"));
}

// Schema 7 rebuilt audit_events to check `kind` by a range instead of an IN list, which made
// SQLite build a temporary b-tree on every insert. Events stored under schema 6 survive the
// upgrade, with their index, and the CHECK still refuses an unknown kind.
TEST(StorageTest, SchemaSevenKeepsAuditEventsAndTheirCheck) {
  testing::TempDir dir;
  const std::string path = dir.File("v6.db");
  {
    ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(path));
    ASSERT_OK(Migrate(*c, SchemaMigrations().subspan(0, 6)));
    ASSERT_OK(
        c->Exec("INSERT INTO teams VALUES (1, 't', 0);"
                "INSERT INTO audits(id, public_id, team_id, display_name, config, created_at) "
                "VALUES (1, 'a', 1, '', x'00', 0);"
                "INSERT INTO audit_events VALUES (1, 1, 1, 'c1', 'g', 0, 0.5, 0.5),"
                " (1, 2, 2, 'c1', 'g', 1, 0.5, 0.5), (1, 3, 3, 'c2', '', 0, 0.25, 0.75);"));
  }
  ASSERT_OK_AND_ASSIGN(auto storage, Storage::Open(path));
  EXPECT_THAT(storage->SchemaVersion(), IsOkAndHolds(7));
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(path));
  EXPECT_THAT(
      QueryText(*c,
                "SELECT group_concat(audit_id || ':' || seq || ':' || kind || ':' || case_id || "
                "':' || subgroup || ':' || y || ':' || p_model || ':' || p_auditor, ' ') "
                "FROM audit_events"),
      IsOkAndHolds("1:1:1:c1:g:0.0:0.5:0.5 1:2:2:c1:g:1.0:0.5:0.5 "
                   "1:3:3:c2::0.0:0.25:0.75"));
  EXPECT_THAT(QueryText(*c,
                        "SELECT count(*) FROM sqlite_schema WHERE "
                        "name IN ('audit_events_by_case', 'audit_events_v7')"),
              IsOkAndHolds("1"));
  EXPECT_THAT(c->Exec("INSERT INTO audit_events VALUES (1, 4, 4, 'c3', '', 0, 0.5, 0.5)"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("CHECK")));
  EXPECT_THAT(c->Exec("INSERT INTO audit_events VALUES (1, 4, 0, 'c3', '', 0, 0.5, 0.5)"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("CHECK")));
  ASSERT_OK(c->Exec("INSERT INTO audit_events VALUES (1, 4, 2, 'c3', '', 0, 0.5, 0.5)"));
  // The insert's program opens no temporary b-tree any more.
  ASSERT_OK_AND_ASSIGN(
      Statement * plan,
      c->Prepare("EXPLAIN INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  int ephemeral = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(bool row, plan->Step());
    if (!row) break;
    ephemeral += plan->ColumnText(1) == "OpenEphemeral";
  }
  EXPECT_EQ(ephemeral, 0);
}

TEST(StorageTest, NotADatabaseIsDataLoss) {
  testing::TempDir dir;
  const std::string path = dir.File("junk.db");
  std::ofstream(path) << std::string(4096, 'x');
  EXPECT_THAT(Storage::Open(path), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(StorageTest, UnopenablePathIsFailedPrecondition) {
  EXPECT_THAT(Storage::Open("/nonexistent-dir/sub/assay.db"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("cannot open database")));
}

TEST(SqliteTest, BusyDatabaseIsUnavailableAfterTimeout) {
  testing::TempDir dir;
  const std::string path = dir.File("busy.db");
  ASSERT_OK_AND_ASSIGN(auto holder, Connection::Open(path));
  ASSERT_OK(holder->Exec("CREATE TABLE t (x INTEGER) STRICT"));
  ConnectionOptions impatient;
  impatient.busy_timeout = absl::Milliseconds(50);
  ASSERT_OK_AND_ASSIGN(auto waiter, Connection::Open(path, impatient));
  ASSERT_OK_AND_ASSIGN(Transaction held, Transaction::Begin(*holder));
  EXPECT_THAT(Transaction::Begin(*waiter),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("busy")));
  ASSERT_OK(held.Commit());
  EXPECT_THAT(Transaction::Begin(*waiter), IsOk());
}

TEST(StorageTest, BusyStorageWriteIsUnavailableAndWritesNothing) {
  testing::TempDir dir;
  const std::string path = dir.File("busy2.db");
  ConnectionOptions impatient;
  impatient.busy_timeout = absl::Milliseconds(50);
  ASSERT_OK_AND_ASSIGN(auto storage, Storage::Open(path, impatient));
  ASSERT_OK_AND_ASSIGN(auto other, Connection::Open(path));
  ASSERT_OK_AND_ASSIGN(Transaction held, Transaction::Begin(*other));
  EXPECT_THAT(storage->PutSetting("k", "v"), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK(held.Commit());
  EXPECT_THAT(storage->GetSetting("k"), IsOkAndHolds(std::nullopt));
}

TEST(SqliteTest, TransactionRollsBackOnScopeExit) {
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(":memory:"));
  ASSERT_OK(c->Exec("CREATE TABLE t (x INTEGER) STRICT"));
  {
    ASSERT_OK_AND_ASSIGN(Transaction txn, Transaction::Begin(*c));
    ASSERT_OK(c->Exec("INSERT INTO t VALUES (1)"));
    // no Commit()
  }
  EXPECT_FALSE(c->in_transaction());
  EXPECT_THAT(QueryText(*c, "SELECT count(*) FROM t"), IsOkAndHolds("0"));
  {
    ASSERT_OK_AND_ASSIGN(Transaction txn, Transaction::Begin(*c));
    ASSERT_OK(c->Exec("INSERT INTO t VALUES (2)"));
    ASSERT_OK(txn.Commit());
  }
  EXPECT_THAT(QueryText(*c, "SELECT count(*) FROM t"), IsOkAndHolds("1"));
}

TEST(SqliteTest, ConstraintViolationsMapToStatusCodes) {
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(":memory:"));
  ASSERT_OK(
      c->Exec("CREATE TABLE p (id INTEGER PRIMARY KEY) STRICT;"
              "CREATE TABLE ch (pid INTEGER REFERENCES p(id)) STRICT;"
              "INSERT INTO p VALUES (1);"));
  EXPECT_THAT(c->Exec("INSERT INTO p VALUES (1)"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(c->Exec("INSERT INTO ch VALUES (42)"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("FOREIGN KEY")));
  EXPECT_THAT(c->Exec("INSERT INTO p VALUES ('text')"),
              StatusIs(absl::StatusCode::kInvalidArgument));  // STRICT type check
}

TEST(SqliteTest, PreparedStatementsBindAndReuse) {
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(":memory:"));
  ASSERT_OK(c->Exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB) STRICT"));
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(Statement * ins, c->Prepare("INSERT INTO t VALUES (?, ?, ?, ?)"));
    ASSERT_OK(ins->BindInt(1, i));
    ASSERT_OK(ins->BindDouble(2, i + 0.5));
    ASSERT_OK(ins->BindText(3, "s" + std::to_string(i)));
    ASSERT_OK(ins->BindBlob(4, std::string("\0x", 2)));
    ASSERT_OK(ins->Run());
  }
  ASSERT_OK_AND_ASSIGN(Statement * sel, c->Prepare("SELECT i, d, s, b FROM t ORDER BY i"));
  int rows = 0;
  for (;;) {
    ASSERT_OK_AND_ASSIGN(bool row, sel->Step());
    if (!row) break;
    EXPECT_EQ(sel->ColumnInt(0), rows);
    EXPECT_DOUBLE_EQ(sel->ColumnDouble(1), rows + 0.5);
    EXPECT_EQ(sel->ColumnText(2), "s" + std::to_string(rows));
    EXPECT_EQ(sel->ColumnBlob(3), std::string("\0x", 2));
    ++rows;
  }
  EXPECT_EQ(rows, 3);
  EXPECT_THAT(c->Prepare("SELEC nonsense"), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(Statement * bad, c->Prepare("SELECT ?"));
  EXPECT_THAT(bad->BindInt(5, 1), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Loading a benchmark's matrix (seconds on large ones) does not hold up commits: a write issued
// from another thread while the scan is in its first row completes before the scan goes on.
TEST(StorageTest, WritesProceedWhileAMatrixIsRead) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto storage, Storage::Open(dir.path() + "/assay.db"));
  BenchmarkRecord bm;
  ASSERT_OK(storage->Write([&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t team, txn.InsertTeam("t", 1));
    bm.public_id = "bm_1";
    bm.team_id = team;
    bm.name = "b";
    RETURN_IF_ERROR(txn.InsertBenchmark(bm));
    for (int i = 0; i < 3; ++i) RETURN_IF_ERROR(txn.PutResponseRow(bm.id, i, "x"));
    return absl::OkStatus();
  }));
  std::vector<int64_t> seen;
  bool wrote_during_scan = false;
  absl::Notification done;
  std::thread writer;  // joined after the scan (a writer held up by it could not finish before)
  ASSERT_OK(storage->ForEachResponseRow(bm.id, [&](int64_t model, const std::string&) {
    if (seen.empty()) {
      writer = std::thread([&] {
        EXPECT_OK(storage->PutSetting("written", "during the scan"));
        done.Notify();
      });
      wrote_during_scan = done.WaitForNotificationWithTimeout(absl::Seconds(10));
    }
    seen.push_back(model);
  }));
  writer.join();
  EXPECT_TRUE(wrote_during_scan);
  EXPECT_THAT(seen, ::testing::ElementsAre(0, 1, 2));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> value, storage->GetSetting("written"));
  EXPECT_EQ(value, "during the scan");
}

}  // namespace
}  // namespace assay::storage
