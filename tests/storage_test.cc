#include "server/storage/storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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
  EXPECT_THAT(storage->Reads()->GetSetting("nope"), IsOkAndHolds(std::nullopt));
  ASSERT_OK(storage->PutSetting("k", "v1"));
  ASSERT_OK(storage->PutSetting("k", "v2"));
  EXPECT_THAT(storage->Reads()->GetSetting("k"), IsOkAndHolds(Optional(std::string("v2"))));
}

TEST(StorageTest, FileDatabaseKeepsDataAcrossReopen) {
  testing::TempDir dir;
  const std::string path = dir.File("assay.db");
  {
    ASSERT_OK_AND_ASSIGN(auto storage, Storage::Open(path));
    ASSERT_OK(storage->PutSetting("team", "red"));
  }
  ASSERT_OK_AND_ASSIGN(auto storage, Storage::Open(path));
  EXPECT_THAT(storage->Reads()->GetSetting("team"), IsOkAndHolds(Optional(std::string("red"))));
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

// Statement::Bind binds by type, in order: what each value is stored as (typeof) and reads back.
TEST(SqliteTest, BindBindsEachValueByItsType) {
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(":memory:"));
  enum class Kind { kFirst, kSecond };
  ASSERT_OK_AND_ASSIGN(
      Statement * stmt,
      c->Prepare("SELECT typeof(?1) || ' ' || typeof(?2) || ' ' || typeof(?3) || ' ' || "
                 "typeof(?4) || ' ' || typeof(?5) || ' ' || typeof(?6) || ' ' || typeof(?7) || "
                 "' ' || typeof(?8) || ' ' || typeof(?9), ?1, ?2, ?3, ?4, ?5, ?8"));
  const std::string text = "abc";
  const std::optional<double> empty, full = 2.5;
  ASSERT_OK(stmt->Bind(int64_t{-7}, 0.25, text, Statement::Blob{"\x01\x02"}, Kind::kSecond,
                       std::nullopt, empty, full, true));
  ASSERT_THAT(stmt->Step(), IsOkAndHolds(true));
  EXPECT_EQ(stmt->ColumnText(0), "integer real text blob integer null null real integer");
  EXPECT_EQ(stmt->ColumnInt(1), -7);
  EXPECT_EQ(stmt->ColumnDouble(2), 0.25);
  EXPECT_EQ(stmt->ColumnText(3), "abc");
  EXPECT_EQ(stmt->ColumnBlob(4), "\x01\x02");
  EXPECT_EQ(stmt->ColumnInt(5), 1);
  EXPECT_EQ(stmt->ColumnDouble(6), 2.5);
  stmt->Reset();
  // More values than parameters: the first one beyond is refused, named by index.
  EXPECT_FALSE(stmt->Bind(1, 2, 3, 4, 5, 6, 7, 8, 9, 10).ok());
}

// A read left mid-result keeps a transaction (and its snapshot) open until it is reset: what the
// read connections' pool checks before reusing one.
TEST(SqliteTest, AStatementLeftMidResultKeepsATransactionOpen) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(dir.path() + "/t.db"));
  ASSERT_OK(c->Exec("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2)"));
  EXPECT_FALSE(c->has_open_transaction());
  ASSERT_OK_AND_ASSIGN(Statement * stmt, c->Prepare("SELECT x FROM t"));
  ASSERT_THAT(stmt->Step(), IsOkAndHolds(true));
  EXPECT_TRUE(c->has_open_transaction());
  stmt->Reset();
  EXPECT_FALSE(c->has_open_transaction());
}

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

// Schema 7 rebuilt audit_events: `kind` is checked by a range instead of an IN list, which made
// SQLite build a temporary b-tree on every insert, and the by-case index holds hand-outs only.
// Events stored under schema 6 survive the upgrade and the CHECK still refuses an unknown kind.
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
                " (1, 2, 1, 'c2', '', 0, 0.25, 0.75), (1, 3, 2, 'c1', '', 1, 0, 0),"
                " (1, 4, 3, 'c2', '', 0, 0, 0);"));
  }
  ASSERT_OK_AND_ASSIGN(auto storage, Storage::Open(path));
  EXPECT_THAT(storage->SchemaVersion(), IsOkAndHolds(Storage::CurrentSchemaVersion()));
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(path));
  EXPECT_THAT(
      QueryText(*c,
                "SELECT group_concat(audit_id || ':' || seq || ':' || kind || ':' || case_id || "
                "':' || subgroup || ':' || y || ':' || p_model || ':' || p_auditor || ':' || "
                "ifnull(hand_out, '-'), ' ') "
                "FROM audit_events"),
      IsOkAndHolds("1:1:1:c1:g:0.0:0.5:0.5:- 1:2:1:c2::0.0:0.25:0.75:- "
                   "1:3:2:c1::1.0:0.0:0.0:1 1:4:3:c2::0.0:0.0:0.0:2"));
  // Besides the primary key: hand-outs by case; migrated labels and voids by their hand-out.
  EXPECT_THAT(QueryText(*c,
                        "SELECT group_concat(name) FROM sqlite_schema WHERE "
                        "tbl_name = 'audit_events' AND type = 'index' AND sql IS NOT NULL"),
              IsOkAndHolds("audit_hand_outs,audit_late_closes"));
  EXPECT_THAT(QueryText(*c,
                        "SELECT count(*) FROM audit_events INDEXED BY audit_hand_outs "
                        "WHERE audit_id = 1 AND case_id > '' AND kind = 1"),
              IsOkAndHolds("2"));
  EXPECT_THAT(c->Exec("INSERT INTO audit_events VALUES (1, 5, 4, 'c3', '', 0, 0.5, 0.5, 1)"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("CHECK")));
  EXPECT_THAT(c->Exec("INSERT INTO audit_events VALUES (1, 5, 0, 'c3', '', 0, 0.5, 0.5, 1)"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("CHECK")));
  // A case is handed out once per audit.
  EXPECT_THAT(c->Exec("INSERT INTO audit_events VALUES (1, 5, 1, 'c1', '', 0, 0.5, 0.5, NULL)"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(c->Exec("INSERT INTO audit_events VALUES (1, 5, 2, 'c1', '', 0, 0, 0, 1)"),
              StatusIs(absl::StatusCode::kAlreadyExists));  // c1 has its label
  EXPECT_THAT(c->Exec("INSERT INTO audit_events VALUES (1, 5, 1, 'c3', '', 0, 0.5, 0.5, 1)"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("CHECK")));
  ASSERT_OK(c->Exec("INSERT INTO audit_events VALUES (1, 5, 1, 'c3', '', 0, 0.5, 0.5, NULL)"));
  // The insert's program opens no temporary b-tree any more.
  ASSERT_OK_AND_ASSIGN(
      Statement * plan,
      c->Prepare("EXPLAIN INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  int ephemeral = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(bool row, plan->Step());
    if (!row) break;
    ephemeral += plan->ColumnText(1) == "OpenEphemeral";
  }
  EXPECT_EQ(ephemeral, 0);
}

// A case's events are its hand-out and then the first later event of the same case (its label or
// void), whatever the other cases did in between; a case never handed out has none. A label or
// void more than 8,192 events after its hand-out is found through the late-close index, a nearer
// one by scanning the log: both sides of that line.
TEST(StorageTest, CaseEventsFindTheHandOutAndTheCasesNextEvent) {
  testing::TempDir dir;
  const std::string path = dir.File("cases.db");
  ASSERT_OK_AND_ASSIGN(auto storage, Storage::Open(path));
  using Kind = audit::Event::Kind;
  auto event = [](Kind kind, const std::string& case_id, double y = 0) {
    audit::Event e;
    e.kind = kind;
    e.case_id = case_id;
    e.subgroup = kind == Kind::kHandOut ? "g" : "";
    e.y = y;
    return e;
  };
  ASSERT_OK(storage->Write([&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t team, txn.InsertTeam("t", 0));
    AuditRecord other{.public_id = "aud_other", .team_id = team};
    AuditRecord audit{.public_id = "aud_1", .team_id = team};
    RETURN_IF_ERROR(txn.InsertAudit(other));
    RETURN_IF_ERROR(txn.InsertAudit(audit));
    // Another audit with the same case ids: never mixed in.
    RETURN_IF_ERROR(txn.AppendAuditEvent(other.id, 1, event(Kind::kHandOut, "b")));
    RETURN_IF_ERROR(txn.AppendAuditEvent(other.id, 2, event(Kind::kVoid, "b")));
    std::vector<audit::Event> log = {
        event(Kind::kHandOut, "a"),     event(Kind::kHandOut, "b"),   event(Kind::kHandOut, "c"),
        event(Kind::kLabel, "c", 1),    event(Kind::kHandOut, "d"),   event(Kind::kVoid, "a"),
        event(Kind::kLabel, "b", 0.25), event(Kind::kLabel, "d", 0),  event(Kind::kHandOut, "e"),
        event(Kind::kHandOut, "near"),  event(Kind::kHandOut, "late")};  // seq 11
    while (log.size() < 10 + 8192 - 1) {
      log.push_back(event(Kind::kHandOut, absl::StrCat("x", log.size())));
    }
    log.push_back(event(Kind::kLabel, "near", 1));  // seq 10 + 8192
    log.push_back(event(Kind::kHandOut, "x"));
    log.push_back(event(Kind::kVoid, "late"));  // seq 11 + 8193
    for (size_t i = 0; i < log.size(); ++i) {
      RETURN_IF_ERROR(txn.AppendAuditEvent(audit.id, static_cast<int64_t>(i) + 1, log[i]));
    }
    auto summary = [&](const std::string& case_id) -> absl::StatusOr<std::string> {
      ASSIGN_OR_RETURN(std::vector<audit::Event> events, txn.CaseEvents(audit.id, case_id));
      std::string out;
      for (const audit::Event& e : events) {
        absl::StrAppend(&out, static_cast<int>(e.kind), e.case_id, e.subgroup, e.y, " ");
      }
      return out;
    };
    EXPECT_THAT(summary("a"), IsOkAndHolds("1ag0 3a0 "));
    EXPECT_THAT(summary("b"), IsOkAndHolds("1bg0 2b0.25 "));
    EXPECT_THAT(summary("c"), IsOkAndHolds("1cg0 2c1 "));
    EXPECT_THAT(summary("d"), IsOkAndHolds("1dg0 2d0 "));
    EXPECT_THAT(summary("e"), IsOkAndHolds("1eg0 "));  // still open
    EXPECT_THAT(summary("zz"), IsOkAndHolds(""));
    EXPECT_THAT(summary("near"), IsOkAndHolds("1nearg0 2near1 "));
    EXPECT_THAT(summary("late"), IsOkAndHolds("1lateg0 3late0 "));
    return absl::OkStatus();
  }));
  // Only the late one went into the index.
  ASSERT_OK_AND_ASSIGN(auto c, Connection::Open(path));
  EXPECT_THAT(QueryText(*c,
                        "SELECT group_concat(case_id || '@' || hand_out) FROM audit_events "
                        "INDEXED BY audit_late_closes WHERE audit_id = 2 AND hand_out > 0"),
              IsOkAndHolds("late@11"));
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
  EXPECT_THAT(storage->Reads()->GetSetting("k"), IsOkAndHolds(std::nullopt));
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

// Reads of a file database do not wait for the writer: inside a write transaction (which holds
// the writer's connection), another thread's read completes and sees the last committed state,
// not the transaction's uncommitted row; after the commit a new read sees it.
TEST(StorageTest, ReadsRunBesideAWriteTransactionAndSeeCommittedState) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto storage, Storage::Open(dir.path() + "/assay.db"));
  ASSERT_OK(storage->Write([&](WriteTxn& txn) { return txn.InsertTeam("before", 1).status(); }));
  bool read_during_write = false;
  ASSERT_OK(storage->Write([&](WriteTxn& txn) -> absl::Status {
    RETURN_IF_ERROR(txn.InsertTeam("during", 2).status());
    EXPECT_TRUE(txn.FindTeam("during")->has_value());  // the transaction sees its own write
    absl::Notification done;
    std::thread reader([&] {
      EXPECT_TRUE(storage->Reads()->FindTeam("before")->has_value());
      EXPECT_FALSE(storage->Reads()->FindTeam("during")->has_value());  // not committed yet
      done.Notify();
    });
    read_during_write = done.WaitForNotificationWithTimeout(absl::Seconds(10));
    reader.join();
    return absl::OkStatus();
  }));
  EXPECT_TRUE(read_during_write);
  EXPECT_TRUE(storage->Reads()->FindTeam("during")->has_value());
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
  ASSERT_OK(storage->Reads()->ForEachResponseRow(bm.id, [&](int64_t model, const std::string&) {
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
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> value, storage->Reads()->GetSetting("written"));
  EXPECT_EQ(value, "during the scan");
}

}  // namespace
}  // namespace assay::storage
