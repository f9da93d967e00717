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
    r#"
-- Calls as registered; a call group is the calls sharing master_call_id.
CREATE TABLE calls (
    tenant         TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    master_call_id TEXT,
    start_time     INTEGER NOT NULL,
    end_time       INTEGER,
    call           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant, session_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX calls_by_group ON calls (tenant, master_call_id, session_id)
    WHERE master_call_id IS NOT NULL;

-- The normalised values rules compare, per call (see inlet_match::Key).
-- `end_time` is the call's end, or its start when it has none.
CREATE TABLE call_keys (
    tenant         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    value          TEXT NOT NULL,
    start_time     INTEGER NOT NULL,
    session_id     TEXT NOT NULL,
    end_time       INTEGER NOT NULL,
    master_call_id TEXT,
    PRIMARY KEY (tenant, kind, value, start_time, session_id)
) STRICT, WITHOUT ROWID;

-- Out-of-band events. An attached event has matched_session (and, when it
-- belongs to a call group, matched_group); a pending one has neither.
CREATE TABLE call_events (
    tenant          TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    content_hash    BLOB NOT NULL,
    session_id      TEXT,
    event_time      INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    api_id          TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    matched_session TEXT,
    matched_group   TEXT,
    matched_by      TEXT,
    ambiguous       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, event_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX call_events_by_seq ON call_events (tenant, seq);
CREATE INDEX call_events_on_call ON call_events (tenant, matched_session)
    WHERE matched_session IS NOT NULL AND matched_group IS NULL;
CREATE INDEX call_events_on_group ON call_events (tenant, matched_group)
    WHERE matched_group IS NOT NULL;
CREATE INDEX call_events_waiting ON call_events (tenant, session_id, received_at)
    WHERE matched_session IS NULL AND session_id IS NOT NULL;
INSERT INTO sequences (name, value) VALUES ('call_events', 0);

-- The keys of events without a session id, per rule.
CREATE TABLE event_keys (
    tenant   TEXT NOT NULL,
    kind     TEXT NOT NULL,
    value    TEXT NOT NULL,
    event_id TEXT NOT NULL,
    rule     TEXT NOT NULL,
    PRIMARY KEY (tenant, kind, value, event_id, rule)
) STRICT, WITHOUT ROWID;
CREATE INDEX event_keys_by_event ON event_keys (tenant, event_id);

-- `version` changes with every replacement, so cached rules can be checked.
CREATE TABLE matching_rules (
    tenant     TEXT PRIMARY KEY,
    rules      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Server-wide secrets, such as the key that signs bearer tokens.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
"#,
    r#"
-- Events not attached to any call, by receipt: the TTL sweep counts those
-- that crossed it.
CREATE INDEX call_events_unattached ON call_events (received_at)
    WHERE matched_session IS NULL;

-- How far a sweep has got: events received before `horizon` were counted.
CREATE TABLE sweeps (
    name    TEXT PRIMARY KEY,
    horizon INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO sweeps (name, horizon) VALUES ('call_events_unmatched', 0);
"#,
    r#"
-- Event keys by time as well, so a new call finds only the events near it;
-- and each tenant's longest call, which bounds the calls an event looks at.
-- Without them a value many calls share (one hotline's number) made every
-- look-up read every call or event that had it.
CREATE TABLE event_keys_by_time (
    tenant     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    event_time INTEGER NOT NULL,
    event_id   TEXT NOT NULL,
    rule       TEXT NOT NULL,
    PRIMARY KEY (tenant, kind, value, event_time, event_id, rule)
) STRICT, WITHOUT ROWID;
INSERT INTO event_keys_by_time
    SELECT k.tenant, k.kind, k.value, e.event_time, k.event_id, k.rule
    FROM event_keys k JOIN call_events e ON e.tenant = k.tenant AND e.event_id = k.event_id;
DROP TABLE event_keys;
ALTER TABLE event_keys_by_time RENAME TO event_keys;
CREATE INDEX event_keys_by_event ON event_keys (tenant, event_id);

CREATE TABLE call_spans (
    tenant  TEXT PRIMARY KEY,
    longest INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO call_spans
    SELECT tenant, max(0, max(coalesce(end_time, start_time) - start_time))
    FROM calls GROUP BY tenant;
"#,
    r#"
-- Out-of-band events keyed by their sequence number (the rowid) instead of
-- by (tenant, event_id). New rows append at the B-tree's right edge, a
-- split there moves no page, and the other indexes point at an event by an
-- integer rather than by its tenant and id. Keyed by id, each split of the
-- table renumbered pages, and SQLite then walked its whole page cache at
-- the next commit (see the README, "Call matching"); event ids a client
-- chose also scattered whole rows across the table.
--
-- An insert takes the rowid one past the largest, so the counter in
-- `sequences` goes: events are never deleted, so seqs still only grow, in
-- commit order.
CREATE TABLE call_events_new (
    seq             INTEGER PRIMARY KEY,
    tenant          TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    content_hash    BLOB NOT NULL,
    session_id      TEXT,
    event_time      INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    api_id          TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    matched_session TEXT,
    matched_group   TEXT,
    matched_by      TEXT,
    ambiguous       INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO call_events_new (seq, tenant, event_id, content_hash, session_id, event_time,
    received_at, api_id, request_id, metadata, matched_session, matched_group, matched_by,
    ambiguous)
    SELECT seq, tenant, event_id, content_hash, session_id, event_time, received_at, api_id,
    request_id, metadata, matched_session, matched_group, matched_by, ambiguous
    FROM call_events ORDER BY seq;
DROP TABLE call_events;
ALTER TABLE call_events_new RENAME TO call_events;
CREATE UNIQUE INDEX call_events_by_id ON call_events (tenant, event_id);
-- Each entry holds the rowid, so this orders a tenant's events by seq.
CREATE INDEX call_events_by_seq ON call_events (tenant);
CREATE INDEX call_events_on_call ON call_events (tenant, matched_session)
    WHERE matched_session IS NOT NULL AND matched_group IS NULL;
CREATE INDEX call_events_on_group ON call_events (tenant, matched_group)
    WHERE matched_group IS NOT NULL;
CREATE INDEX call_events_waiting ON call_events (tenant, session_id, received_at)
    WHERE matched_session IS NULL AND session_id IS NOT NULL;
CREATE INDEX call_events_unattached ON call_events (received_at)
    WHERE matched_session IS NULL;
DELETE FROM sequences WHERE name = 'call_events';
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

/// After the WAL starts over, its file is cut back to this size: twice the
/// size at which the writer makes it start over (see
/// [`CATCH_UP_FRAMES`](crate::checkpoint::CATCH_UP_FRAMES)), so that under
/// steady load the file is reused as it is. Cutting it at each start-over
/// freed and reallocated its blocks, each cut a synchronous discard on the
/// writer's thread.
const JOURNAL_SIZE_LIMIT_BYTES: i64 = 2 * crate::checkpoint::CATCH_UP_FRAMES * PAGE_SIZE_BYTES;

/// Page cache per connection, in KiB.
const CACHE_KIB: i64 = 64 * 1024;

/// Connection settings every connection gets: WAL for concurrent readers,
/// `synchronous=FULL` so a commit (a migration's, say) is on disk when it
/// returns, and a busy timeout so the CLI and the server can share one file.
/// The writer then turns to `NORMAL` and syncs on a thread of its own
/// (see [`durable`](crate::durable)).
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A database at schema version `version`, in memory.
    fn at_version(version: usize) -> Connection {
        let conn = Connection::open_in_memory().expect("open");
        for (done, step) in MIGRATIONS[..version].iter().enumerate() {
            conn.execute_batch(step).expect("step");
            conn.pragma_update(None, "user_version", done + 1)
                .expect("version");
        }
        conn
    }

    #[test]
    fn keying_events_by_seq_keeps_every_event_and_its_order() {
        let mut conn = at_version(5);
        // Inserted out of seq order, with ids that sort the other way.
        for (seq, id, session) in [(2, "a-late", Some("s1")), (1, "z-early", None)] {
            conn.execute(
                "INSERT INTO call_events (tenant, event_id, seq, content_hash, session_id, \
                 event_time, received_at, api_id, request_id, metadata, matched_session, \
                 matched_by) VALUES ('t', ?1, ?2, x'00', ?3, 10, 20, 'k', 'r', '{}', ?3, \
                 CASE WHEN ?3 IS NULL THEN NULL ELSE 'sessionId' END)",
                rusqlite::params![id, seq, session],
            )
            .expect("insert");
        }
        migrate(&mut conn).expect("migrate");

        let version: usize = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len());
        let rows: Vec<(i64, String, Option<String>)> = conn
            .prepare("SELECT rowid, event_id, matched_session FROM call_events ORDER BY rowid")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                    .collect()
            })
            .expect("rows");
        assert_eq!(
            rows,
            [
                (1, "z-early".to_owned(), None),
                (2, "a-late".to_owned(), Some("s1".to_owned())),
            ]
        );
        let insert = "INSERT INTO call_events (tenant, event_id, content_hash, event_time, \
             received_at, api_id, request_id, metadata) \
             VALUES ('t', ?1, x'00', 1, 1, 'k', 'r', '{}')";
        assert!(
            conn.execute(insert, ["a-late"]).is_err(),
            "an event id is still unique per tenant"
        );
        conn.execute(insert, ["m-next"]).expect("insert");
        let next: i64 = conn
            .query_row(
                "SELECT seq FROM call_events WHERE event_id = 'm-next'",
                [],
                |row| row.get(0),
            )
            .expect("seq");
        assert_eq!(next, 3, "the next event takes the seq after the last");
        let indexes: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'index' \
                 AND tbl_name = 'call_events' ORDER BY name",
            )
            .and_then(|mut statement| statement.query_map([], |row| row.get(0))?.collect())
            .expect("indexes");
        assert_eq!(
            indexes,
            [
                "call_events_by_id",
                "call_events_by_seq",
                "call_events_on_call",
                "call_events_on_group",
                "call_events_unattached",
                "call_events_waiting",
            ]
        );
    }
}
