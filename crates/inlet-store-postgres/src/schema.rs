//! The PostgreSQL schema, applied in numbered steps at start and by
//! `inlet migrate`.
//!
//! Several nodes may start at once: the steps run under a session-level
//! advisory lock, so one node migrates while the others wait, then find
//! nothing left to do. Times are `bigint` microseconds since the epoch
//! (UTC), as on SQLite; items are stored as the JSON text the client sent.
//! Identifier columns compare bytes (`COLLATE "C"`): ids have no language,
//! and byte comparison makes every index insert and look-up cheaper than
//! the database's default locale would.

use tokio_postgres::Client;

/// The advisory lock key that serialises migrations ("inlet" in ASCII).
const MIGRATION_LOCK: i64 = 0x0069_6e6c_6574;

/// Each entry moves the schema from version `i` to `i + 1`. Never edit a
/// released step: append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE credentials (
    api_id          text COLLATE "C" PRIMARY KEY,
    tenant          text COLLATE "C" NOT NULL,
    secret_hash     bytea NOT NULL,
    roles           text NOT NULL,
    created_at      bigint NOT NULL,
    expires_at      bigint NOT NULL,
    revoked_at      bigint,
    rate_per_second double precision,
    burst           bigint,
    daily_quota     bigint
);

-- Every accepted submission. `version` is the event's place in its entity's
-- history, handed out while the entity's row is locked, so history order is
-- the order in which submissions were merged into the profile.
CREATE TABLE events (
    tenant       text COLLATE "C" NOT NULL,
    event_id     text COLLATE "C" NOT NULL,
    kind         text COLLATE "C" NOT NULL,
    entity_id    text COLLATE "C" NOT NULL,
    version      bigint NOT NULL,
    content_hash bytea NOT NULL,
    received_at  bigint NOT NULL,
    api_id       text COLLATE "C" NOT NULL,
    request_id   text NOT NULL,
    item         text NOT NULL,
    PRIMARY KEY (tenant, event_id)
);
CREATE INDEX events_by_entity ON events (tenant, kind, entity_id, version);

-- The current profile of each entity; `version` counts its events.
CREATE TABLE entities (
    tenant        text COLLATE "C" NOT NULL,
    kind          text COLLATE "C" NOT NULL,
    entity_id     text COLLATE "C" NOT NULL,
    metadata      text NOT NULL,
    version       bigint NOT NULL,
    first_seen_at bigint NOT NULL,
    updated_at    bigint NOT NULL,
    PRIMARY KEY (tenant, kind, entity_id)
);

CREATE TABLE links (
    tenant          text COLLATE "C" NOT NULL,
    conversation_id text COLLATE "C" NOT NULL,
    customer_id     text COLLATE "C" NOT NULL,
    created_at      bigint NOT NULL,
    PRIMARY KEY (tenant, conversation_id, customer_id)
);
CREATE INDEX links_by_customer ON links (tenant, customer_id, conversation_id);

-- Rejected items, listed in (tx, seq) order behind a safe horizon: see
-- inlet_store::Position.
CREATE TABLE rejections (
    tenant      text COLLATE "C" NOT NULL,
    tx          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    id          text COLLATE "C" NOT NULL,
    received_at bigint NOT NULL,
    kind        text COLLATE "C" NOT NULL,
    request_id  text NOT NULL,
    api_id      text COLLATE "C" NOT NULL,
    errors      text NOT NULL,
    item        text NOT NULL,
    truncated   boolean NOT NULL,
    PRIMARY KEY (tenant, tx, seq)
);
"#,
    r#"
-- Calls as registered; a call group is the calls sharing master_call_id.
CREATE TABLE calls (
    tenant         text COLLATE "C" NOT NULL,
    session_id     text COLLATE "C" NOT NULL,
    master_call_id text COLLATE "C",
    start_time     bigint NOT NULL,
    end_time       bigint,
    call           text NOT NULL,
    created_at     bigint NOT NULL,
    updated_at     bigint NOT NULL,
    PRIMARY KEY (tenant, session_id)
);
CREATE INDEX calls_by_group ON calls (tenant, master_call_id, session_id)
    WHERE master_call_id IS NOT NULL;

-- The normalised values rules compare, per call (see inlet_match::Key).
-- end_time is the call's end, or its start when it has none.
CREATE TABLE call_keys (
    tenant         text COLLATE "C" NOT NULL,
    kind           text COLLATE "C" NOT NULL,
    value          text COLLATE "C" NOT NULL,
    start_time     bigint NOT NULL,
    session_id     text COLLATE "C" NOT NULL,
    end_time       bigint NOT NULL,
    master_call_id text COLLATE "C",
    PRIMARY KEY (tenant, kind, value, start_time, session_id)
);

-- Out-of-band events, listed in (tx, seq) order behind a safe horizon.
CREATE TABLE call_events (
    tenant          text COLLATE "C" NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    tx              xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    content_hash    bytea NOT NULL,
    session_id      text COLLATE "C",
    event_time      bigint NOT NULL,
    received_at     bigint NOT NULL,
    api_id          text NOT NULL,
    request_id      text NOT NULL,
    metadata        text NOT NULL,
    matched_session text COLLATE "C",
    matched_group   text COLLATE "C",
    matched_by      text,
    ambiguous       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant, event_id)
);
CREATE INDEX call_events_by_position ON call_events (tenant, tx, seq);
CREATE INDEX call_events_on_call ON call_events (tenant, matched_session)
    WHERE matched_session IS NOT NULL AND matched_group IS NULL;
CREATE INDEX call_events_on_group ON call_events (tenant, matched_group)
    WHERE matched_group IS NOT NULL;
CREATE INDEX call_events_waiting ON call_events (tenant, session_id, received_at)
    WHERE matched_session IS NULL AND session_id IS NOT NULL;

-- The keys of events without a session id, per rule.
CREATE TABLE event_keys (
    tenant   text COLLATE "C" NOT NULL,
    kind     text COLLATE "C" NOT NULL,
    value    text COLLATE "C" NOT NULL,
    event_id text COLLATE "C" NOT NULL,
    rule     text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, kind, value, event_id, rule)
);
CREATE INDEX event_keys_by_event ON event_keys (tenant, event_id);

-- `version` changes with every replacement, so cached rules can be checked.
CREATE TABLE matching_rules (
    tenant     text COLLATE "C" PRIMARY KEY,
    rules      text NOT NULL,
    updated_at bigint NOT NULL,
    version    bigint NOT NULL
);

-- Server-wide secrets, such as the key that signs bearer tokens.
CREATE TABLE secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);
"#,
    r#"
-- Events not attached to any call, by receipt: the TTL sweep counts those
-- that crossed it.
CREATE INDEX call_events_unattached ON call_events (received_at)
    WHERE matched_session IS NULL;

-- How far a sweep has got: events received before `horizon` were counted.
CREATE TABLE sweeps (
    name    text PRIMARY KEY,
    horizon bigint NOT NULL
);
INSERT INTO sweeps (name, horizon) VALUES ('call_events_unmatched', 0);
"#,
    r#"
-- Event keys by time as well, so a new call finds only the events near it;
-- and each tenant's longest call, which bounds the calls an event looks at.
-- Without them a value many calls share (one hotline's number) made every
-- look-up read every call or event that had it.
ALTER TABLE event_keys ADD COLUMN event_time bigint;
UPDATE event_keys k SET event_time = e.event_time
    FROM call_events e WHERE e.tenant = k.tenant AND e.event_id = k.event_id;
DELETE FROM event_keys WHERE event_time IS NULL;
ALTER TABLE event_keys ALTER COLUMN event_time SET NOT NULL;
ALTER TABLE event_keys DROP CONSTRAINT event_keys_pkey;
ALTER TABLE event_keys ADD PRIMARY KEY (tenant, kind, value, event_time, event_id, rule);

CREATE TABLE call_spans (
    tenant  text COLLATE "C" PRIMARY KEY,
    longest bigint NOT NULL
);
INSERT INTO call_spans
    SELECT tenant, greatest(0, max(coalesce(end_time, start_time) - start_time))
    FROM calls GROUP BY tenant;
"#,
];

/// The newest schema version this build knows.
pub(crate) const LATEST: usize = MIGRATIONS.len();

/// Brings the database to the newest schema; the version it was at before.
pub(crate) async fn migrate(client: &mut Client) -> Result<usize, tokio_postgres::Error> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = apply(client).await;
    // Released even when a step failed; the session ends with the
    // connection anyway, which would release it too.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let before = result?;
    unlocked?;
    Ok(before)
}

async fn apply(client: &mut Client) -> Result<usize, tokio_postgres::Error> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS inlet_schema (
                 version    integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let row = client
        .query_one("SELECT COALESCE(max(version), 0) FROM inlet_schema", &[])
        .await?;
    let before = usize::try_from(row.get::<_, i32>(0)).unwrap_or(0);
    for (index, step) in MIGRATIONS.iter().enumerate().skip(before) {
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        let tx = client.transaction().await?;
        tx.batch_execute(step).await?;
        tx.execute(
            "INSERT INTO inlet_schema (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, "postgres schema migrated");
    }
    Ok(before)
}
