//! The write transaction of one ingest batch.

use inlet_domain::{EntityKind, conflict_message, merge_into};
use inlet_store::{AcceptedItem, EntryOutcome, IngestBatch, IngestEntry, RejectedItem};
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::{Map, Value};

/// Writes every entry of `batch` inside `tx`, in order, and says what became
/// of each. Runs on the writer thread only.
pub(crate) fn ingest_batch(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
) -> rusqlite::Result<Vec<EntryOutcome>> {
    batch
        .entries
        .iter()
        .map(|entry| match entry {
            IngestEntry::Accepted(item) => accept(tx, batch, item),
            IngestEntry::Rejected(item) => {
                reject(tx, batch, item, &item.errors)?;
                Ok(EntryOutcome::Rejected)
            }
        })
        .collect()
}

fn accept(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
    accepted: &AcceptedItem,
) -> rusqlite::Result<EntryOutcome> {
    let item = &accepted.item;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO events (tenant, event_id, kind, entity_id, content_hash, received_at, \
             api_id, request_id, item) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (tenant, event_id) DO NOTHING",
        )?
        .execute(params![
            batch.tenant.as_str(),
            accepted.event_id.as_str(),
            item.kind.as_str(),
            item.entity_id.as_str(),
            &item.content_hash[..],
            batch.received_at.as_micros(),
            batch.api_id.as_str(),
            batch.request_id,
            accepted.raw,
        ])?;
    if inserted == 0 {
        return repeated(tx, batch, accepted);
    }
    update_profile(tx, batch, item.kind, item.entity_id.as_str(), |profile| {
        merge_into(profile, &item.changes);
    })?;
    if let Some(conversation) = &item.conversation_id {
        link(tx, batch, conversation.as_str(), item.entity_id.as_str())?;
    }
    Ok(EntryOutcome::Stored)
}

/// The eventId is taken: a duplicate when the content matches, else a conflict.
fn repeated(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
    accepted: &AcceptedItem,
) -> rusqlite::Result<EntryOutcome> {
    let stored: Vec<u8> = tx
        .prepare_cached("SELECT content_hash FROM events WHERE tenant = ?1 AND event_id = ?2")?
        .query_row(
            params![batch.tenant.as_str(), accepted.event_id.as_str()],
            |row| row.get(0),
        )?;
    if stored == accepted.item.content_hash {
        return Ok(EntryOutcome::Duplicate);
    }
    let (raw, truncated) = RejectedItem::cap(&accepted.raw);
    let rejected = RejectedItem {
        event_id: accepted.event_id.clone(),
        kind: accepted.item.kind,
        errors: vec![conflict_message(&accepted.event_id)],
        raw,
        truncated,
    };
    reject(tx, batch, &rejected, &rejected.errors)?;
    Ok(EntryOutcome::Conflict)
}

fn reject(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
    item: &RejectedItem,
    errors: &[String],
) -> rusqlite::Result<()> {
    let errors = serde_json::to_string(errors).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO rejections (tenant, id, received_at, kind, request_id, api_id, errors, \
         item, truncated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        batch.tenant.as_str(),
        item.event_id.as_str(),
        batch.received_at.as_micros(),
        item.kind.as_str(),
        batch.request_id,
        batch.api_id.as_str(),
        errors,
        item.raw,
        item.truncated,
    ])?;
    Ok(())
}

/// Reads the entity's profile (or an empty one), applies `change` and writes
/// it back; creates the entity on first sight.
fn update_profile(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
    kind: EntityKind,
    entity_id: &str,
    change: impl FnOnce(&mut Map<String, Value>),
) -> rusqlite::Result<()> {
    let tenant = batch.tenant.as_str();
    let stored: Option<String> = tx
        .prepare_cached(
            "SELECT metadata FROM entities WHERE tenant = ?1 AND kind = ?2 AND entity_id = ?3",
        )?
        .query_row(params![tenant, kind.as_str(), entity_id], |row| row.get(0))
        .optional()?;
    let mut profile = stored
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    change(&mut profile);
    let metadata = Value::Object(profile).to_string();
    let now = batch.received_at.as_micros();
    tx.prepare_cached(
        "INSERT INTO entities (tenant, kind, entity_id, metadata, first_seen_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
         ON CONFLICT (tenant, kind, entity_id) DO UPDATE SET metadata = excluded.metadata, \
         updated_at = excluded.updated_at",
    )?
    .execute(params![tenant, kind.as_str(), entity_id, metadata, now])?;
    Ok(())
}

/// Links a customer to a conversation; a conversation first named here
/// exists from now on, with empty metadata.
fn link(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
    conversation_id: &str,
    customer_id: &str,
) -> rusqlite::Result<()> {
    let now = batch.received_at.as_micros();
    let tenant = batch.tenant.as_str();
    let added = tx
        .prepare_cached(
            "INSERT INTO links (tenant, conversation_id, customer_id, created_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )?
        .execute(params![tenant, conversation_id, customer_id, now])?;
    if added > 0 {
        tx.prepare_cached(
            "INSERT INTO entities (tenant, kind, entity_id, metadata, first_seen_at, updated_at) \
             VALUES (?1, 'conversation', ?2, '{}', ?3, ?3) \
             ON CONFLICT (tenant, kind, entity_id) DO UPDATE SET updated_at = excluded.updated_at",
        )?
        .execute(params![tenant, conversation_id, now])?;
    }
    Ok(())
}
