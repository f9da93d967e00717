//! The SQLite schema, applied by `PRAGMA user_version` steps at open.
//!
//! Times are `INTEGER` microseconds since the epoch (UTC); items are stored as
//! the JSON text the client sent.

use rusqlite::Connection;

/// Each entry moves the schema from version `i` to `i + 1`. Never edit a
/// released step: append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE credentials (
    api_id      TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    roles       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

CREATE TABLE events (
    tenant       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    received_at  INTEGER NOT NULL,
    api_id       TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    item         TEXT NOT NULL,
    PRIMARY KEY (tenant, event_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX events_by_entity ON events (tenant, kind, entity_id, seq);

-- The commit order of events, for history; one row, advanced per batch.
CREATE TABLE sequences (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO sequences (name, value) VALUES ('events', 0);

CREATE TABLE entities (
    tenant        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant, kind, entity_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE links (
    tenant          TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant, conversation_id, customer_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX links_by_customer ON links (tenant, customer_id, conversation_id);

CREATE TABLE rejections (
    seq         INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL,
    id          TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    api_id      TEXT NOT NULL,
    errors      TEXT NOT NULL,
    item        TEXT NOT NULL,
    truncated   INTEGER NOT NULL
) STRICT;
CREATE INDEX rejections_by_tenant ON rejections (tenant, seq);
"#,
    r#"
-- Per-key overrides of the request limits; NULL means the server default.
ALTER TABLE credentials ADD COLUMN rate_per_second REAL;
ALTER TABLE credentials ADD COLUMN burst INTEGER;
ALTER TABLE credentials ADD COLUMN daily_quota INTEGER;
"#,
];

/// Brings the database to the newest schema. Safe to run on every open and
/// from several processes: each step runs in an immediate transaction that
/// re-reads the version first.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: usize = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        let Some(step) = MIGRATIONS.get(version) else {
            return tx.commit();
        };
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

/// Page size of a new database. Rows are about 1 KiB (the item as sent plus
/// its keys); 16 KiB pages cut B-tree depth and splits, and measured 50%
/// more items/s than 4 KiB on the ingest benchmark (8, 32, 64 KiB: less).
const PAGE_SIZE_BYTES: i64 = 16 * 1024;

/// After the WAL starts over, its file is cut back to this size.
const JOURNAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// Page cache per connection, in KiB.
const CACHE_KIB: i64 = 64 * 1024;

/// Connection settings every connection gets: WAL for concurrent readers,
/// `synchronous=FULL` so a commit is on disk before `ingest` returns, and a
/// busy timeout so the CLI and the server can share one file.
pub(crate) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Takes effect only on a database that has no tables yet.
    conn.pragma_update(None, "page_size", PAGE_SIZE_BYTES)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES)?;
    // Negative: a size in KiB rather than in pages.
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    Ok(())
}
