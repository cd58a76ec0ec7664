// Storage: the one class the server uses to reach its SQLite database. It owns the connection,
// applies the schema migrations on open, and exposes domain operations returning plain C++ values.
// Nothing else in the server touches SQL. The operations are declared here and implemented one
// file per domain: teams.cc (teams, keys, limits, holdings, stored replies), audits.cc,
// benchmarks.cc, fits.cc, sessions.cc, comparisons.cc, monitors.cc; storage.cc holds the
// transactions, the read pool and settings; query.h the helpers they share.
//
// Reads are the methods of a Reader, written once: `storage.Reads()` hands one out on a read-only
// connection of its own (file databases), a WriteTxn is one on the writer's connection. Writes
// happen inside Storage::Write(fn): fn gets a WriteTxn (the domain write operations and every read)
// inside one BEGIN IMMEDIATE transaction, committed durably
// (synchronous=FULL) when fn returns OK and rolled back otherwise. The server's CommitQueue groups
// many requests into one Write; each request runs inside a savepoint so a failing request undoes
// only its own changes.
//
// Thread safety: all Storage methods are safe to call from any thread. Writes serialize on the one
// writer connection (a Write holds it for the whole transaction); reads of a file database run
// beside them, each lease on a connection no other thread uses meanwhile.
#ifndef ASSAY_SERVER_STORAGE_STORAGE_H_
#define ASSAY_SERVER_STORAGE_STORAGE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/audit/audit.h"
#include "server/storage/sqlite.h"

namespace assay::storage {

struct ApiKeyRecord {
  int64_t id = 0;
  int64_t team_id = 0;
  std::string team_name;
  std::string prefix;
  int role = 0;  // 1 read, 2 write, 3 admin
  std::string description;
  int64_t created_at = 0;
  bool revoked = false;
};

struct AuditRecord {
  int64_t id = 0;  // row id (internal)
  std::string public_id;
  int64_t team_id = 0;
  std::string display_name;
  std::string config;  // serialized assay.v1.AuditConfig (opaque here)
  int64_t created_at = 0;
  std::string snapshot;  // core Audit::Serialize(), empty if none
  int64_t snapshot_revision = 0;
};

// What a team holds, counted for its limits (server/runtime/quotas.h).
enum class Holding : int {
  kOpenAudits = 0,   // audits not yet decided
  kOpenSessions,     // adaptive tests not yet finished
  kMonitors,         // monitors
  kOpenComparisons,  // comparisons not yet decided
  kUnfinishedFits,   // fits queued or running
  kCells,            // response cells over all its benchmarks
};
// The resources that close (MarkClosed).
enum class Closable : int { kAudit = 0, kSession, kComparison };

struct BenchmarkRecord {
  int64_t id = 0;  // row id (internal)
  std::string public_id;
  int64_t team_id = 0;
  std::string name;
  std::string description;
  int64_t created_at = 0;
  int64_t num_cells = 0;
  int64_t current_fit_id = 0;  // fits row id; 0 for none
  int64_t num_models = 0;      // kept by SetBenchmarkCounts
  int64_t num_items = 0;
};

// A benchmark's models or items, in index order.
enum class EntryKind : int { kModel = 0, kItem = 1 };
struct Entry {
  std::string name;
  std::string tags;  // items: tags joined by '\x1f'
};

struct FitRecord {
  int64_t id = 0;  // row id (internal)
  std::string public_id;
  int64_t benchmark_id = 0;
  int64_t team_id = 0;
  int64_t version = 0;
  int state = 0;       // assay.v1.FitState
  std::string record;  // serialized assay.v1.Fit (opaque here)
};

struct CatSessionRecord {
  int64_t id = 0;  // row id (internal)
  std::string public_id;
  int64_t team_id = 0;
  int64_t benchmark_id = 0;
  int64_t fit_id = 0;
  std::string model;
  std::string options;  // serialized assay.v1.CatOptions (opaque here)
  int64_t created_at = 0;
};

struct CatEvent {
  enum Kind : int { kNext = 1, kSubmit = 2 };
  Kind kind = kNext;
  int64_t item = 0;  // kNext: the count drawn
  double successes = 0, trials = 1;
};

struct ComparisonRecord {
  int64_t id = 0;  // row id (internal)
  std::string public_id;
  int64_t team_id = 0;
  int64_t benchmark_id = 0;
  int64_t fit_id = 0;
  std::string model_a, model_b;
  std::string options;   // serialized assay.v1.CompareOptions (opaque here)
  std::string baseline;  // A's outcomes when the baseline is known (opaque here)
  int64_t created_at = 0;
};

struct CompareEvent {
  enum Kind : int { kNext = 1, kSubmit = 2 };
  Kind kind = kNext;
  int64_t item = 0;  // kNext: the count drawn
  double b_successes = 0, b_trials = 1;
  std::optional<double> a_successes;  // absent when the baseline is known
  double a_trials = 1;
};

struct MonitorRecord {
  int64_t id = 0;  // row id (internal)
  std::string public_id;
  int64_t team_id = 0;
  std::string display_name;
  std::string config;  // serialized assay.v1.MonitorConfig (opaque here)
  int64_t created_at = 0;
  std::string snapshot;  // the state after the first snapshot_t scores; empty: none (opaque)
  int64_t snapshot_t = 0;
};

// The stored reply to a mutating call made with a request_id.
struct StoredReply {
  std::string method;
  std::string fingerprint;  // hash of the request without its request_id
  std::string response;     // serialized reply
};

// Reads, on the connection their owner hands out: a WriteTxn's own (seeing the transaction's
// writes) or a Storage::ReadLease's. One Reader is used by one thread at a time.
class Reader {
 public:
  // Server-wide key/value settings (e.g. the assay version that created the database).
  // GetSetting returns nullopt for an unknown key.
  absl::StatusOr<std::optional<std::string>> GetSetting(const std::string& key);

  // Teams and keys. FindTeam / FindApiKeyByHash: nullopt if unknown (a revoked key is returned
  // with revoked = true).
  absl::StatusOr<std::optional<int64_t>> FindTeam(const std::string& name);
  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByHash(const std::string& hash);
  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(int64_t team_id);
  // How much of `what` the team holds, as of this read (in a WriteTxn: this transaction).
  absl::StatusOr<int64_t> CountHolding(Holding what, int64_t team_id);
  // The team's limit overrides (name, value), by name.
  absl::StatusOr<std::vector<std::pair<std::string, double>>> TeamLimits(int64_t team_id);

  // Audits. FindAudit: nullopt unless `public_id` exists AND belongs to `team_id`.
  // ListAudits: the team's audits with row id < before_id (0: no bound), newest first.
  absl::StatusOr<std::optional<AuditRecord>> FindAudit(int64_t team_id,
                                                       const std::string& public_id);
  absl::StatusOr<std::vector<AuditRecord>> ListAudits(int64_t team_id, int64_t before_id,
                                                      int limit);
  // The audit's events with seq > after_seq, in order; DataLoss if the seqs are not consecutive.
  absl::StatusOr<std::vector<audit::Event>> AuditEvents(int64_t audit_id, int64_t after_seq);
  // Every event of one case, in log order: none, or its hand-out and then its label or void if it
  // has one. Cost: two index lookups, and for a case closed soon after its hand-out (or still
  // open) a scan of at most 8,192 events of the log.
  absl::StatusOr<std::vector<audit::Event>> CaseEvents(int64_t audit_id,
                                                       const std::string& case_id);

  // Benchmarks. ListBenchmarks: newest first, row id < before_id (0: no bound). ResponseRow: one
  // model's packed row (server/storage/response_rows.h), nullopt if it has none.
  absl::StatusOr<std::optional<BenchmarkRecord>> FindBenchmark(int64_t team_id,
                                                               const std::string& public_id);
  absl::StatusOr<std::optional<BenchmarkRecord>> FindBenchmarkById(int64_t id);
  absl::StatusOr<std::vector<BenchmarkRecord>> ListBenchmarks(int64_t team_id, int64_t before_id,
                                                              int limit);
  absl::StatusOr<std::vector<Entry>> BenchmarkEntries(int64_t benchmark_id, EntryKind kind);
  absl::StatusOr<std::optional<std::string>> ResponseRow(int64_t benchmark_id, int64_t model_idx);
  // Calls `row(model_idx, cells)` for every stored response row of the benchmark, in model order,
  // all from one consistent read (one SELECT). Through a Storage read lease of a file database
  // writes and other reads go on meanwhile.
  absl::Status ForEachResponseRow(int64_t benchmark_id,
                                  absl::FunctionRef<void(int64_t, const std::string&)> row);

  // Fits. ListFits: the benchmark's fits, newest first, row id < before_id (0: no bound).
  // FitsInState: every fit whose state is one of `states` (restart recovery), oldest first.
  // FitTables: nullopt if the fit has no tables.
  absl::StatusOr<std::optional<FitRecord>> FindFit(int64_t team_id, const std::string& public_id);
  absl::StatusOr<std::optional<FitRecord>> FindFitById(int64_t id);
  absl::StatusOr<std::vector<FitRecord>> ListFits(int64_t benchmark_id, int64_t before_id,
                                                  int limit);
  absl::StatusOr<std::vector<FitRecord>> FitsInState(const std::vector<int>& states);
  absl::StatusOr<std::optional<std::string>> FitTables(int64_t fit_id);

  // Adaptive-testing sessions. FindCatSession: nullopt unless it exists AND belongs to `team_id`.
  // ListCatSessions: newest first, row id < before_id (0: no bound). CatEvents: in order.
  absl::StatusOr<std::optional<CatSessionRecord>> FindCatSession(int64_t team_id,
                                                                 const std::string& public_id);
  absl::StatusOr<std::vector<CatSessionRecord>> ListCatSessions(int64_t team_id, int64_t before_id,
                                                                int limit);
  absl::StatusOr<std::vector<CatEvent>> CatEvents(int64_t session_id);

  // Comparisons, as sessions: FindComparison is scoped to the team; ListComparisons newest first;
  // CompareEvents in order (DataLoss on a gap).
  absl::StatusOr<std::optional<ComparisonRecord>> FindComparison(int64_t team_id,
                                                                 const std::string& public_id);
  absl::StatusOr<std::vector<ComparisonRecord>> ListComparisons(int64_t team_id, int64_t before_id,
                                                                int limit);
  absl::StatusOr<std::vector<CompareEvent>> CompareEvents(int64_t comparison_id);

  // Monitors. FindMonitor: nullopt unless it exists AND belongs to `team_id`. MonitorScores: the
  // scores with first_t <= t <= last_t, in order (DataLoss on a gap). ListMonitors: newest first.
  absl::StatusOr<std::optional<MonitorRecord>> FindMonitor(int64_t team_id,
                                                           const std::string& public_id);
  absl::StatusOr<std::vector<double>> MonitorScores(int64_t monitor_id, int64_t first_t,
                                                    int64_t last_t);
  absl::StatusOr<std::vector<MonitorRecord>> ListMonitors(int64_t team_id, int64_t before_id,
                                                          int limit);

  // Request ids (idempotent retries): nullopt if the team never used the id.
  absl::StatusOr<std::optional<StoredReply>> FindReply(int64_t team_id,
                                                       const std::string& request_id);

 protected:
  explicit Reader(Connection* connection) : connection_(connection) {}
  Connection* connection_;

 private:
  friend class Storage;
};

// Write operations, valid only inside Storage::Write's callback (same thread).
class WriteTxn : public Reader {
 public:
  // Nested savepoints: Savepoint() opens one; Release() keeps its changes, Rollback() undoes them.
  absl::Status Savepoint();
  absl::Status Release();
  absl::Status Rollback();
  // Rows changed so far on this connection: a work's changes are the difference.
  int64_t changes() const;

  // Teams and keys. InsertTeam: AlreadyExists for a taken name. InsertApiKey: AlreadyExists if the
  // prefix or hash is taken (the caller draws a new key). RevokeApiKey: NotFound unless the team
  // has a key with that prefix; revoking twice is fine.
  absl::StatusOr<int64_t> InsertTeam(const std::string& name, int64_t now);
  absl::StatusOr<ApiKeyRecord> InsertApiKey(int64_t team_id, const std::string& prefix,
                                            const std::string& hash, int role,
                                            const std::string& description, int64_t now);
  absl::StatusOr<ApiKeyRecord> RevokeApiKey(int64_t team_id, const std::string& prefix,
                                            int64_t now);
  // Marks row `id` of `what` as no longer open (idempotent).
  absl::Status MarkClosed(Closable what, int64_t id);
  // A team's limit override: sets `name` to `value`, or removes it (back to the server's
  // default) when nullopt.
  absl::Status SetTeamLimit(int64_t team_id, const std::string& name, std::optional<double> value);

  // Request ids (idempotent retries; FindReply is a read).
  absl::Status PutReply(int64_t team_id, const std::string& request_id, const StoredReply& reply,
                        int64_t now);

  // Audits. InsertAudit fills record.id. AppendAuditEvent: `seq` must be the audit's next (1, 2,
  // ...); AlreadyExists otherwise.
  absl::Status InsertAudit(AuditRecord& record);
  absl::Status AppendAuditEvent(int64_t audit_id, int64_t seq, const audit::Event& event);
  absl::Status PutAuditSnapshot(int64_t audit_id, int64_t revision, const std::string& snapshot);

  // Benchmarks. InsertBenchmark fills record.id; AlreadyExists if the team has one of that name.
  // InsertEntry: `idx` must be the kind's next index.
  absl::Status InsertBenchmark(BenchmarkRecord& record);
  absl::Status InsertEntry(int64_t benchmark_id, EntryKind kind, int64_t idx, const Entry& entry);
  absl::Status SetItemTags(int64_t benchmark_id, int64_t idx, const std::string& tags);
  absl::Status PutResponseRow(int64_t benchmark_id, int64_t model_idx, const std::string& cells);
  absl::Status SetBenchmarkCounts(int64_t benchmark_id, int64_t num_models, int64_t num_items,
                                  int64_t num_cells);
  absl::Status SetCurrentFit(int64_t benchmark_id, int64_t fit_id);

  // Fits. InsertFit fills record.id and record.version (the benchmark's next). UpdateFit stores
  // state and record, and `tables` unless it is nullopt.
  absl::Status InsertFit(FitRecord& record);
  absl::Status UpdateFit(int64_t fit_id, int state, const std::string& record,
                         const std::optional<std::string>& tables);

  // Adaptive-testing sessions. AppendCatEvent: `seq` must be the session's next (1, 2, ...).
  absl::Status InsertCatSession(CatSessionRecord& record);
  absl::Status AppendCatEvent(int64_t session_id, int64_t seq, const CatEvent& event);

  // Comparisons. AppendCompareEvent: `seq` must be the comparison's next (1, 2, ...).
  absl::Status InsertComparison(ComparisonRecord& record);
  absl::Status AppendCompareEvent(int64_t comparison_id, int64_t seq, const CompareEvent& event);

  // Monitors. AppendScore: `t` must be the monitor's next.
  absl::Status InsertMonitor(MonitorRecord& record);
  absl::Status AppendScore(int64_t monitor_id, int64_t t, double y);
  absl::Status PutMonitorSnapshot(int64_t monitor_id, int64_t t, const std::string& snapshot);

 private:
  friend class Storage;
  explicit WriteTxn(Connection* connection) : Reader(connection) {}
  int depth_ = 0;
};

class Storage {
 public:
  // Opens or creates the database at `path` (":memory:" for a private in-memory one) and migrates
  // it to the current schema. Errors: FailedPrecondition (cannot open; schema newer than this
  // build), DataLoss (not a database / corrupt), Unavailable (locked by another writer too long).
  static absl::StatusOr<std::unique_ptr<Storage>> Open(const std::string& path,
                                                       const ConnectionOptions& options = {});

  // The schema version this build creates and understands.
  static int CurrentSchemaVersion();

  // The database's schema version (equals CurrentSchemaVersion() after a successful Open).
  absl::StatusOr<int> SchemaVersion();
  // Caps the database at about `bytes` (SQLite's max_page_count; never below its size now); 0:
  // no cap. A write that would grow it beyond fails with ResourceExhausted ("storage full") and
  // changes nothing, as when the disk is full.
  absl::Status SetMaxBytes(int64_t bytes);

  // Runs `fn` in one write transaction; commits (durably) iff it returns OK. The commit's own
  // error is returned otherwise-unchanged (e.g. Unavailable for a full disk).
  absl::Status Write(absl::FunctionRef<absl::Status(WriteTxn&)> fn);

  // Online backup of the whole database to `dest_path` (a new file; FailedPrecondition if it
  // exists) with SQLite's backup API; writers keep going meanwhile.
  absl::Status Backup(const std::string& dest_path);

  // Server-wide key/value settings (GetSetting is a read).
  absl::Status PutSetting(const std::string& key, const std::string& value);

  // Reads, for as long as the lease lives: `storage.Reads()->FindAudit(...)`. File databases hand
  // out a read-only connection of their own (WAL: the last committed state, never waiting for the
  // writer; connections are kept for reuse); ":memory:" ones the writer's connection, between
  // write transactions. Hold a lease only for the reads at hand, never across a Write.
  class ReadLease {
   public:
    ReadLease(const ReadLease&) = delete;
    ReadLease& operator=(const ReadLease&) = delete;
    ~ReadLease();
    Reader* operator->() { return &reader_; }
    Reader& operator*() { return reader_; }

   private:
    friend class Storage;
    ReadLease(Storage* storage, std::unique_ptr<Connection> own, Connection* connection);
    Storage* storage_;
    std::unique_ptr<Connection> own_;  // null: the writer's connection, locked
    Reader reader_;
  };
  ReadLease Reads();

  // Forgets request ids older than `cutoff` (unix seconds). Returns how many.
  absl::StatusOr<int64_t> PurgeReplies(int64_t cutoff);

 private:
  explicit Storage(std::unique_ptr<Connection> connection)
      : path_(connection->path()), connection_(std::move(connection)) {}

  static constexpr size_t kIdleReaders = 16;  // read connections kept for reuse
  const std::string path_;
  absl::Mutex mu_;
  std::unique_ptr<Connection> connection_ ABSL_GUARDED_BY(mu_);
  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> idle_readers_ ABSL_GUARDED_BY(pool_mu_);
};

}  // namespace assay::storage

#endif  // ASSAY_SERVER_STORAGE_STORAGE_H_
