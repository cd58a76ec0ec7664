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
};

}  // namespace

absl::Span<const Migration> SchemaMigrations() {
  return absl::MakeConstSpan(kMigrations, std::size(kMigrations));
}

}  // namespace assay::storage
