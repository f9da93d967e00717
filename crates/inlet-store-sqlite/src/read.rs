//! The read queries. They run on reader connections, never on the writer.

use inlet_domain::{ApiId, EntityId, EntityKind, EventId, TenantId, Timestamp};
use inlet_store::{
    EntityView, HistoryEntry, Page, Position, Rejection, RejectionQuery, StoredEvent,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::credential::{corrupt, parse};

/// The entity, its links and its history, read from one snapshot so the
/// three agree even while the writer commits.
pub(crate) fn entity(
    conn: &Connection,
    tenant: &TenantId,
    kind: EntityKind,
    id: &EntityId,
) -> rusqlite::Result<Option<EntityView>> {
    let snapshot = conn.unchecked_transaction()?;
    let conn: &Connection = &snapshot;
    let row = conn
        .prepare_cached(
            "SELECT metadata, first_seen_at, updated_at FROM entities \
             WHERE tenant = ?1 AND kind = ?2 AND entity_id = ?3",
        )?
        .query_row(
            params![tenant.as_str(), kind.as_str(), id.as_str()],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((metadata, first_seen_at, updated_at)) = row else {
        return Ok(None);
    };
    Ok(Some(EntityView {
        kind,
        entity_id: id.clone(),
        metadata: serde_json::from_str(&metadata).map_err(|_| corrupt(0))?,
        links: links(conn, tenant, kind, id)?,
        first_seen_at: Timestamp::from_micros(first_seen_at),
        updated_at: Timestamp::from_micros(updated_at),
        history: history(conn, tenant, kind, id)?,
    }))
}

fn links(
    conn: &Connection,
    tenant: &TenantId,
    kind: EntityKind,
    id: &EntityId,
) -> rusqlite::Result<Vec<EntityId>> {
    let sql = match kind {
        EntityKind::Conversation => {
            "SELECT customer_id FROM links WHERE tenant = ?1 AND conversation_id = ?2 \
             ORDER BY created_at, customer_id"
        }
        EntityKind::Customer => CUSTOMER_LINKS,
        EntityKind::Agent => return Ok(Vec::new()),
    };
    conn.prepare_cached(sql)?
        .query_map(params![tenant.as_str(), id.as_str()], |row| {
            row.get::<_, String>(0).map(EntityId::new)
        })?
        .collect()
}

fn history(
    conn: &Connection,
    tenant: &TenantId,
    kind: EntityKind,
    id: &EntityId,
) -> rusqlite::Result<Vec<HistoryEntry>> {
    conn.prepare_cached(
        "SELECT event_id, received_at, item FROM events \
         WHERE tenant = ?1 AND kind = ?2 AND entity_id = ?3 ORDER BY seq",
    )?
    .query_map(
        params![tenant.as_str(), kind.as_str(), id.as_str()],
        |row| {
            Ok(HistoryEntry {
                event_id: parse(row, 0, EventId::parse)?,
                received_at: Timestamp::from_micros(row.get(1)?),
                item: row.get(2)?,
            })
        },
    )?
    .collect()
}

/// A customer's conversations. Without statistics, SQLite would read every
/// link of the tenant by primary key rather than this customer's by index.
pub(crate) const CUSTOMER_LINKS: &str = "SELECT conversation_id FROM links \
     INDEXED BY links_by_customer WHERE tenant = ?1 AND customer_id = ?2 \
     ORDER BY created_at, conversation_id";

pub(crate) fn event(
    conn: &Connection,
    tenant: &TenantId,
    event_id: &EventId,
) -> rusqlite::Result<Option<StoredEvent>> {
    conn.prepare_cached(
        "SELECT event_id, kind, entity_id, received_at, api_id, request_id, item FROM events \
         WHERE tenant = ?1 AND event_id = ?2",
    )?
    .query_row(params![tenant.as_str(), event_id.as_str()], |row| {
        Ok(StoredEvent {
            event_id: parse(row, 0, EventId::parse)?,
            kind: parse(row, 1, |text| EntityKind::parse(&text).ok_or(()))?,
            entity_id: EntityId::new(row.get::<_, String>(2)?),
            received_at: Timestamp::from_micros(row.get(3)?),
            api_id: parse(row, 4, ApiId::parse)?,
            request_id: row.get(5)?,
            item: row.get(6)?,
        })
    })
    .optional()
}

pub(crate) fn rejections(
    conn: &Connection,
    tenant: &TenantId,
    query: RejectionQuery,
) -> rusqlite::Result<Page<Rejection>> {
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let mut items = conn
        .prepare_cached(
            "SELECT seq, id, received_at, kind, request_id, api_id, errors, item, truncated \
             FROM rejections WHERE tenant = ?1 AND seq > ?2 AND received_at >= ?3 \
             ORDER BY seq LIMIT ?4",
        )?
        .query_map(
            params![
                tenant.as_str(),
                query.after.map_or(0, |after| after.seq),
                query.since.map_or(i64::MIN, Timestamp::as_micros),
                limit.saturating_add(1),
            ],
            |row| {
                let errors: String = row.get(6)?;
                Ok(Rejection {
                    position: Position {
                        epoch: 0,
                        seq: row.get(0)?,
                    },
                    id: parse(row, 1, EventId::parse)?,
                    received_at: Timestamp::from_micros(row.get(2)?),
                    kind: parse(row, 3, |text| EntityKind::parse(&text).ok_or(()))?,
                    request_id: row.get(4)?,
                    api_id: parse(row, 5, ApiId::parse)?,
                    errors: serde_json::from_str(&errors).map_err(|_| corrupt(6))?,
                    item: row.get(7)?,
                    truncated: row.get(8)?,
                })
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let has_more = items.len() > query.limit;
    items.truncate(query.limit);
    Ok(Page { items, has_more })
}
