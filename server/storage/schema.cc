#include "server/storage/schema.h"

#include <iterator>

namespace assay::storage {
namespace {

constexpr Migration kMigrations[] = {
    {1, R"sql(
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    )sql"},
    {2, R"sql(
      CREATE TABLE teams (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      ) STRICT;

      -- API keys are stored as SHA-256 hashes; `prefix` (the key's first characters) names a key
      -- in listings and revocations without revealing it.
      CREATE TABLE api_keys (
        id          INTEGER PRIMARY KEY,
        team_id     INTEGER NOT NULL REFERENCES teams(id),
        prefix      TEXT NOT NULL UNIQUE,
        hash        BLOB NOT NULL UNIQUE,
        role        INTEGER NOT NULL CHECK (role BETWEEN 1 AND 3),
        description TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        revoked_at  INTEGER
      ) STRICT;

      -- Replies to mutating calls that carried a request_id, for safe client retries.
      CREATE TABLE request_ids (
        team_id     INTEGER NOT NULL REFERENCES teams(id),
        request_id  TEXT NOT NULL,
        method      TEXT NOT NULL,
        fingerprint BLOB NOT NULL,
        response    BLOB NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (team_id, request_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX request_ids_by_age ON request_ids(created_at);

      -- An audit is its config plus its append-only event log; `snapshot` (core Audit::Serialize
      -- after `snapshot_revision` events) only shortens the replay on load.
      CREATE TABLE audits (
        id                INTEGER PRIMARY KEY,
        public_id         TEXT NOT NULL UNIQUE,
        team_id           INTEGER NOT NULL REFERENCES teams(id),
        display_name      TEXT NOT NULL,
        config            BLOB NOT NULL,
        created_at        INTEGER NOT NULL,
        snapshot          BLOB,
        snapshot_revision INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX audits_by_team ON audits(team_id, id);

      CREATE TABLE audit_events (
        audit_id  INTEGER NOT NULL REFERENCES audits(id),
        seq       INTEGER NOT NULL,
        kind      INTEGER NOT NULL CHECK (kind IN (1, 2, 3)),
        case_id   TEXT NOT NULL,
        subgroup  TEXT NOT NULL,
        y         REAL NOT NULL,
        p_model   REAL NOT NULL,
        p_auditor REAL NOT NULL,
        PRIMARY KEY (audit_id, seq)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX audit_events_by_case ON audit_events(audit_id, case_id);
    )sql"},
    {3, R"sql(
      CREATE TABLE benchmarks (
        id             INTEGER PRIMARY KEY,
        public_id      TEXT NOT NULL UNIQUE,
        team_id        INTEGER NOT NULL REFERENCES teams(id),
        name           TEXT NOT NULL,
        description    TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        num_models     INTEGER NOT NULL DEFAULT 0,
        num_items      INTEGER NOT NULL DEFAULT 0,
        num_cells      INTEGER NOT NULL DEFAULT 0,
        current_fit_id INTEGER,
        UNIQUE (team_id, name)
      ) STRICT;

      -- A benchmark's models (kind 0) and items (kind 1), numbered 0, 1, ... in order of arrival;
      -- `tags` (items only) joined by U+001F.
      CREATE TABLE benchmark_entries (
        benchmark_id INTEGER NOT NULL REFERENCES benchmarks(id),
        kind         INTEGER NOT NULL CHECK (kind IN (0, 1)),
        idx          INTEGER NOT NULL,
        name         TEXT NOT NULL,
        tags         TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (benchmark_id, kind, idx),
        UNIQUE (benchmark_id, kind, name)
      ) STRICT, WITHOUT ROWID;

      -- One row per (benchmark, model): that model's observed cells, packed (server/responses.h).
      CREATE TABLE response_rows (
        id           INTEGER PRIMARY KEY,
        benchmark_id INTEGER NOT NULL REFERENCES benchmarks(id),
        model_idx    INTEGER NOT NULL,
        cells        BLOB NOT NULL,
        UNIQUE (benchmark_id, model_idx)
      ) STRICT;

      -- Calibrations. `record` is the serialized assay.v1.Fit, `tables` its result tables
      -- (assay.v1.FitTables) once it succeeded.
      CREATE TABLE fits (
        id           INTEGER PRIMARY KEY,
        public_id    TEXT NOT NULL UNIQUE,
        benchmark_id INTEGER NOT NULL REFERENCES benchmarks(id),
        team_id      INTEGER NOT NULL REFERENCES teams(id),
        version      INTEGER NOT NULL,
        state        INTEGER NOT NULL,
        record       BLOB NOT NULL,
        tables       BLOB,
        UNIQUE (benchmark_id, version)
      ) STRICT;
      CREATE INDEX fits_by_state ON fits(state);
    )sql"},
    {4, R"sql(
      -- Adaptive-testing sessions: the start (fit, options) plus a log of steps; the state is the
      -- replay of the log (core/cat/session.h is deterministic given its seed).
      CREATE TABLE cat_sessions (
        id           INTEGER PRIMARY KEY,
        public_id    TEXT NOT NULL UNIQUE,
        team_id      INTEGER NOT NULL REFERENCES teams(id),
        benchmark_id INTEGER NOT NULL REFERENCES benchmarks(id),
        fit_id       INTEGER NOT NULL REFERENCES fits(id),
        model        TEXT NOT NULL,
        options      BLOB NOT NULL,
        created_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX cat_sessions_by_team ON cat_sessions(team_id, id);

      -- kind 1: Next(count = item); kind 2: Submit(item, successes, trials).
      CREATE TABLE cat_events (
        session_id INTEGER NOT NULL REFERENCES cat_sessions(id),
        seq        INTEGER NOT NULL,
        kind       INTEGER NOT NULL CHECK (kind IN (1, 2)),
        item       INTEGER NOT NULL,
        successes  REAL NOT NULL,
        trials     REAL NOT NULL,
        PRIMARY KEY (session_id, seq)
      ) STRICT, WITHOUT ROWID;
    )sql"},
    {5, R"sql(
      -- Monitors of deployed models: config plus the append-only score log (t = 1, 2, ...).
      CREATE TABLE monitors (
        id           INTEGER PRIMARY KEY,
        public_id    TEXT NOT NULL UNIQUE,
        team_id      INTEGER NOT NULL REFERENCES teams(id),
        display_name TEXT NOT NULL,
        config       BLOB NOT NULL,
        created_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX monitors_by_team ON monitors(team_id, id);

      CREATE TABLE monitor_scores (
        monitor_id INTEGER NOT NULL REFERENCES monitors(id),
        t          INTEGER NOT NULL,
        y          REAL NOT NULL,
        PRIMARY KEY (monitor_id, t)
      ) STRICT, WITHOUT ROWID;
    )sql"},
    {6, R"sql(
      -- A monitor's state after its first `snapshot_t` scores (server/resources/monitors.cc encoding); it
      -- only shortens the replay on load, like audits.snapshot.
      ALTER TABLE monitors ADD COLUMN snapshot BLOB;
      ALTER TABLE monitors ADD COLUMN snapshot_t INTEGER NOT NULL DEFAULT 0;
    )sql"},
    {7, R"sql(
      -- audit_events as in schema 2 with two changes for the label path (the table is rebuilt,
      -- once: SQLite cannot alter a CHECK):
      -- - `kind BETWEEN 1 AND 3` for `kind IN (1, 2, 3)`, which SQLite checked by building a
      --   temporary b-tree on every insert;
      -- - the by-case index held every event, so each label also wrote an index page at its
      --   case's place in the key order. Now it holds hand-outs only. A label or void is the first
      --   event of its case after the hand-out: found by scanning the log from there if it came
      --   soon after, or by `hand_out` (the hand-out's seq) if it came late (WriteTxn::CaseEvents
      --   has the rule). Here every stored label and void gets its `hand_out`.
      CREATE TABLE audit_events_v7 (
        audit_id  INTEGER NOT NULL REFERENCES audits(id),
        seq       INTEGER NOT NULL,
        kind      INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),
        case_id   TEXT NOT NULL,
        subgroup  TEXT NOT NULL,
        y         REAL NOT NULL,
        p_model   REAL NOT NULL,
        p_auditor REAL NOT NULL,
        hand_out  INTEGER CHECK (kind != 1 OR hand_out IS NULL),
        PRIMARY KEY (audit_id, seq)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO audit_events_v7
        SELECT e.audit_id, e.seq, e.kind, e.case_id, e.subgroup, e.y, e.p_model, e.p_auditor,
               CASE WHEN e.kind = 1 THEN NULL ELSE
                 (SELECT h.seq FROM audit_events h INDEXED BY audit_events_by_case
                  WHERE h.audit_id = e.audit_id AND h.case_id = e.case_id AND h.kind = 1) END
        FROM audit_events e;
      DROP TABLE audit_events;
      ALTER TABLE audit_events_v7 RENAME TO audit_events;
      -- A case is handed out once per audit, and labelled or voided once.
      CREATE UNIQUE INDEX audit_hand_outs ON audit_events(audit_id, case_id) WHERE kind = 1;
      CREATE UNIQUE INDEX audit_late_closes ON audit_events(audit_id, hand_out)
        WHERE hand_out IS NOT NULL;
    )sql"},
    {8, R"sql(
      -- Comparisons of two models: creation (options, A's frozen outcomes when the baseline is
      -- known) plus the step log. kind 1: Next(count = item); kind 2: Submit(item, outcomes;
      -- a_successes NULL when the baseline is known).
      CREATE TABLE comparisons (
        id           INTEGER PRIMARY KEY,
        public_id    TEXT NOT NULL UNIQUE,
        team_id      INTEGER NOT NULL REFERENCES teams(id),
        benchmark_id INTEGER NOT NULL REFERENCES benchmarks(id),
        fit_id       INTEGER NOT NULL REFERENCES fits(id),
        model_a      TEXT NOT NULL,
        model_b      TEXT NOT NULL,
        options      BLOB NOT NULL,
        baseline     BLOB NOT NULL,
        created_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX comparisons_by_team ON comparisons(team_id, id);
      CREATE TABLE compare_events (
        comparison_id INTEGER NOT NULL REFERENCES comparisons(id),
        seq           INTEGER NOT NULL,
        kind          INTEGER NOT NULL CHECK (kind IN (1, 2)),
        item          INTEGER NOT NULL,
        b_successes   REAL NOT NULL,
        b_trials      REAL NOT NULL,
        a_successes   REAL,
        a_trials      REAL NOT NULL,
        PRIMARY KEY (comparison_id, seq)
      ) STRICT, WITHOUT ROWID;
    )sql"},
    {9, R"sql(
      -- A team's overrides of the server's default limits (server/runtime/quotas.h), by name.
      CREATE TABLE team_limits (
        team_id INTEGER NOT NULL REFERENCES teams(id),
        name    TEXT NOT NULL,
        value   REAL NOT NULL,
        PRIMARY KEY (team_id, name)
      ) STRICT, WITHOUT ROWID;
    )sql"},
    {10, R"sql(
      -- Whether an audit, session or comparison is still open (undecided, unfinished), for the
      -- teams' limits on open resources; cleared by the write that finishes it. (Rows finished
      -- before this schema stay counted as open.)
      ALTER TABLE audits ADD COLUMN open INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE cat_sessions ADD COLUMN open INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE comparisons ADD COLUMN open INTEGER NOT NULL DEFAULT 1;
      CREATE INDEX open_audits ON audits(team_id) WHERE open = 1;
      CREATE INDEX open_cat_sessions ON cat_sessions(team_id) WHERE open = 1;
      CREATE INDEX open_comparisons ON comparisons(team_id) WHERE open = 1;
    )sql"},
};

}  // namespace

absl::Span<const Migration> SchemaMigrations() {
  return absl::MakeConstSpan(kMigrations, std::size(kMigrations));
}

}  // namespace assay::storage
