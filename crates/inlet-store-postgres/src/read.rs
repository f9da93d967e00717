//! The read queries.

use deadpool_postgres::Client;
use inlet_domain::{ApiId, EntityId, EntityKind, EventId, TenantId, Timestamp};
use inlet_store::{
    EntityView, HistoryEntry, Page, Position, Rejection, RejectionQuery, StoreError, StoredEvent,
};
use tokio_postgres::{IsolationLevel, Row};

use crate::error::store_error;

/// The entity, its links and its history, read in one repeatable-read
/// snapshot so the three agree even while other nodes commit.
pub(crate) async fn entity(
    client: &mut Client,
    tenant: &TenantId,
    kind: EntityKind,
    id: &EntityId,
) -> Result<Option<EntityView>, StoreError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(store_error)?;
    let statement = tx
        .prepare_cached(
            "SELECT metadata, first_seen_at, updated_at FROM entities \
             WHERE tenant = $1 AND kind = $2 AND entity_id = $3",
        )
        .await
        .map_err(store_error)?;
    let key: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&tenant.as_str(), &kind.as_str(), &id.as_str()];
    let Some(row) = tx.query_opt(&statement, &key).await.map_err(store_error)? else {
        return Ok(None);
    };
    let metadata: &str = row.get(0);
    let links_sql = match kind {
        EntityKind::Conversation => Some(
            "SELECT customer_id FROM links WHERE tenant = $1 AND conversation_id = $2 \
             ORDER BY created_at, customer_id",
        ),
        EntityKind::Customer => Some(
            "SELECT conversation_id FROM links WHERE tenant = $1 AND customer_id = $2 \
             ORDER BY created_at, conversation_id",
        ),
        EntityKind::Agent => None,
    };
    let mut links = Vec::new();
    if let Some(sql) = links_sql {
        let statement = tx.prepare_cached(sql).await.map_err(store_error)?;
        links = tx
            .query(&statement, &[&tenant.as_str(), &id.as_str()])
            .await
            .map_err(store_error)?
            .iter()
            .map(|row| EntityId::new(row.get::<_, String>(0)))
            .collect();
    }
    let statement = tx
        .prepare_cached(
            "SELECT event_id, received_at, item FROM events \
             WHERE tenant = $1 AND kind = $2 AND entity_id = $3 ORDER BY version",
        )
        .await
        .map_err(store_error)?;
    let history = tx
        .query(&statement, &key)
        .await
        .map_err(store_error)?
        .iter()
        .map(|row| {
            Ok(HistoryEntry {
                event_id: parse(row, 0, EventId::parse)?,
                received_at: Timestamp::from_micros(row.get(1)),
                item: row.get(2),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some(EntityView {
        kind,
        entity_id: id.clone(),
        metadata: serde_json::from_str(metadata).map_err(|_| corrupt("entities.metadata"))?,
        links,
        first_seen_at: Timestamp::from_micros(row.get(1)),
        updated_at: Timestamp::from_micros(row.get(2)),
        history,
    }))
}

pub(crate) async fn event(
    client: &Client,
    tenant: &TenantId,
    event_id: &EventId,
) -> Result<Option<StoredEvent>, StoreError> {
    let statement = client
        .prepare_cached(
            "SELECT event_id, kind, entity_id, received_at, api_id, request_id, item FROM events \
             WHERE tenant = $1 AND event_id = $2",
        )
        .await
        .map_err(store_error)?;
    let Some(row) = client
        .query_opt(&statement, &[&tenant.as_str(), &event_id.as_str()])
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    Ok(Some(StoredEvent {
        event_id: parse(&row, 0, EventId::parse)?,
        kind: parse(&row, 1, |text| EntityKind::parse(&text).ok_or(()))?,
        entity_id: EntityId::new(row.get::<_, String>(2)),
        received_at: Timestamp::from_micros(row.get(3)),
        api_id: parse(&row, 4, ApiId::parse)?,
        request_id: row.get(5),
        item: row.get(6),
    }))
}

/// A page of rejections in `(tx, seq)` order, only from transactions older
/// than every transaction still running: a row committed later can then
/// never land behind a cursor already handed out.
pub(crate) async fn rejections(
    client: &Client,
    tenant: &TenantId,
    query: RejectionQuery,
) -> Result<Page<Rejection>, StoreError> {
    let after = query.after.unwrap_or(Position::START);
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let statement = client
        .prepare_cached(
            "SELECT tx::text::int8, seq, id, received_at, kind, request_id, api_id, errors, \
               item, truncated \
             FROM rejections \
             WHERE tenant = $1 AND (tx, seq) > ($2::int8::text::xid8, $3) \
               AND tx < pg_snapshot_xmin(pg_current_snapshot()) AND received_at >= $4 \
             ORDER BY tx, seq LIMIT $5",
        )
        .await
        .map_err(store_error)?;
    let rows = client
        .query(
            &statement,
            &[
                &tenant.as_str(),
                &i64::try_from(after.epoch).unwrap_or(i64::MAX),
                &after.seq,
                &query.since.map_or(i64::MIN, Timestamp::as_micros),
                &limit.saturating_add(1),
            ],
        )
        .await
        .map_err(store_error)?;
    let mut items = rows
        .iter()
        .map(|row| {
            let errors: &str = row.get(7);
            Ok(Rejection {
                position: Position {
                    epoch: u64::try_from(row.get::<_, i64>(0)).unwrap_or(0),
                    seq: row.get(1),
                },
                id: parse(row, 2, EventId::parse)?,
                received_at: Timestamp::from_micros(row.get(3)),
                kind: parse(row, 4, |text| EntityKind::parse(&text).ok_or(()))?,
                request_id: row.get(5),
                api_id: parse(row, 6, ApiId::parse)?,
                errors: serde_json::from_str(errors).map_err(|_| corrupt("rejections.errors"))?,
                item: row.get(8),
                truncated: row.get(9),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let has_more = items.len() > query.limit;
    items.truncate(query.limit);
    Ok(Page { items, has_more })
}

/// Reads column `index` as text and parses it with `parse`; a value that no
/// longer parses is reported, naming the column.
pub(crate) fn parse<T, E>(
    row: &Row,
    index: usize,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> Result<T, StoreError> {
    let name = row.columns()[index].name().to_owned();
    parse(row.get(index)).map_err(|_| corrupt(&name))
}

/// A stored value that no longer parses.
pub(crate) fn corrupt(column: &str) -> StoreError {
    StoreError::Other(format!("postgres: stored value of {column} does not parse"))
}
