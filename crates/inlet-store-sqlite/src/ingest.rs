//! The write transaction of one ingest batch.
//!
//! This runs on the single writer thread, so its cost per item bounds the
//! store's throughput: statements are prepared once per batch, a new
//! entity's profile arrives precomputed ([`AcceptedItem::new_profile`]), and
//! tables are keyed by their natural keys (`WITHOUT ROWID`) so an accepted
//! item touches three B-trees.
//!
//! `updated_at` only moves forward: a request received earlier but committed
//! later does not turn the clock back.

use inlet_domain::{conflict_message, merge_into};
use inlet_store::{AcceptedItem, EntryOutcome, IngestBatch, IngestEntry, RejectedItem};
use rusqlite::{CachedStatement, Connection, params};
use serde_json::{Map, Value};

use crate::credential::corrupt;

/// Writes every entry of `batch` inside `tx`, in order, and says what became
/// of each.
pub(crate) fn ingest_batch(
    tx: &Connection,
    batch: &IngestBatch,
) -> rusqlite::Result<Vec<EntryOutcome>> {
    let mut writer = BatchWriter::prepare(tx, batch)?;
    let outcomes = batch
        .entries
        .iter()
        .map(|entry| match entry {
            IngestEntry::Accepted(item) => writer.accept(item),
            IngestEntry::Rejected(item) => {
                writer.reject(item)?;
                Ok(EntryOutcome::Rejected)
            }
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    writer.finish()?;
    Ok(outcomes)
}

/// The statements of one batch and the event sequence it advances.
struct BatchWriter<'tx> {
    batch: &'tx IngestBatch,
    next_seq: i64,
    insert_event: CachedStatement<'tx>,
    event_hash: CachedStatement<'tx>,
    find_profile: CachedStatement<'tx>,
    insert_profile: CachedStatement<'tx>,
    update_profile: CachedStatement<'tx>,
    insert_rejection: CachedStatement<'tx>,
    tx: &'tx Connection,
}

impl<'tx> BatchWriter<'tx> {
    fn prepare(tx: &'tx Connection, batch: &'tx IngestBatch) -> rusqlite::Result<Self> {
        let last_seq: i64 = tx
            .prepare_cached("SELECT value FROM sequences WHERE name = 'events'")?
            .query_row([], |row| row.get(0))?;
        Ok(Self {
            batch,
            next_seq: last_seq + 1,
            insert_event: tx.prepare_cached(
                "INSERT INTO events (tenant, event_id, seq, kind, entity_id, content_hash, \
                 received_at, api_id, request_id, item) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                 ON CONFLICT (tenant, event_id) DO NOTHING",
            )?,
            event_hash: tx.prepare_cached(
                "SELECT content_hash FROM events WHERE tenant = ?1 AND event_id = ?2",
            )?,
            find_profile: tx.prepare_cached(
                "SELECT metadata FROM entities WHERE tenant = ?1 AND kind = ?2 AND entity_id = ?3",
            )?,
            insert_profile: tx.prepare_cached(
                "INSERT INTO entities (tenant, kind, entity_id, metadata, first_seen_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
                 ON CONFLICT (tenant, kind, entity_id) DO NOTHING",
            )?,
            update_profile: tx.prepare_cached(
                "UPDATE entities SET metadata = ?4, updated_at = MAX(updated_at, ?5) \
                 WHERE tenant = ?1 AND kind = ?2 AND entity_id = ?3",
            )?,
            insert_rejection: tx.prepare_cached(
                "INSERT INTO rejections (tenant, id, received_at, kind, request_id, api_id, \
                 errors, item, truncated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?,
            tx,
        })
    }

    fn accept(&mut self, accepted: &AcceptedItem) -> rusqlite::Result<EntryOutcome> {
        let (batch, item) = (self.batch, &accepted.item);
        let inserted = self.insert_event.execute(params![
            batch.tenant.as_str(),
            accepted.event_id.as_str(),
            self.next_seq,
            item.kind.as_str(),
            item.entity_id.as_str(),
            &item.content_hash[..],
            batch.received_at.as_micros(),
            batch.api_id.as_str(),
            batch.request_id,
            accepted.raw,
        ])?;
        if inserted == 0 {
            return self.repeated(accepted);
        }
        self.next_seq += 1;
        self.apply(accepted)?;
        if let Some(conversation) = &item.conversation_id {
            link(
                self.tx,
                batch,
                conversation.as_str(),
                item.entity_id.as_str(),
            )?;
        }
        Ok(EntryOutcome::Stored)
    }

    /// Creates the entity with the precomputed profile, or merges the item
    /// into the stored one. The insert comes first: most items name an
    /// entity not seen before, and for those the insert's own look-up is
    /// the only one.
    fn apply(&mut self, accepted: &AcceptedItem) -> rusqlite::Result<()> {
        let (batch, item) = (self.batch, &accepted.item);
        let now = batch.received_at.as_micros();
        let created = self.insert_profile.execute(params![
            batch.tenant.as_str(),
            item.kind.as_str(),
            item.entity_id.as_str(),
            accepted.new_profile(),
            now
        ])?;
        if created > 0 {
            return Ok(());
        }
        let key = params![
            batch.tenant.as_str(),
            item.kind.as_str(),
            item.entity_id.as_str()
        ];
        let stored: String = self.find_profile.query_row(key, |row| row.get(0))?;
        // A stored profile that no longer parses is an error, never
        // silently replaced by an empty one.
        let mut profile: Map<String, Value> =
            serde_json::from_str(&stored).map_err(|_| corrupt(0))?;
        merge_into(&mut profile, &item.changes);
        self.update_profile.execute(params![
            batch.tenant.as_str(),
            item.kind.as_str(),
            item.entity_id.as_str(),
            Value::Object(profile).to_string(),
            now
        ])?;
        Ok(())
    }

    /// The eventId is taken: a duplicate when the content matches, else a
    /// conflict, which is kept in the rejections list.
    fn repeated(&mut self, accepted: &AcceptedItem) -> rusqlite::Result<EntryOutcome> {
        let stored: Vec<u8> = self.event_hash.query_row(
            params![self.batch.tenant.as_str(), accepted.event_id.as_str()],
            |row| row.get(0),
        )?;
        if stored == accepted.item.content_hash {
            return Ok(EntryOutcome::Duplicate);
        }
        let (raw, truncated) = RejectedItem::cap(&accepted.raw);
        self.reject(&RejectedItem {
            event_id: accepted.event_id.clone(),
            kind: accepted.item.kind,
            errors: vec![conflict_message(&accepted.event_id)],
            raw,
            truncated,
        })?;
        Ok(EntryOutcome::Conflict)
    }

    fn reject(&mut self, item: &RejectedItem) -> rusqlite::Result<()> {
        let batch = self.batch;
        let errors = serde_json::to_string(&item.errors).unwrap_or_else(|_| "[]".into());
        self.insert_rejection.execute(params![
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

    fn finish(self) -> rusqlite::Result<()> {
        self.tx
            .prepare_cached("UPDATE sequences SET value = ?1 WHERE name = 'events'")?
            .execute([self.next_seq - 1])?;
        Ok(())
    }
}

/// Links a customer to a conversation; a conversation first named here
/// exists from now on, with empty metadata.
fn link(
    tx: &Connection,
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
             ON CONFLICT (tenant, kind, entity_id) \
             DO UPDATE SET updated_at = MAX(entities.updated_at, excluded.updated_at)",
        )?
        .execute(params![tenant, conversation_id, now])?;
    }
    Ok(())
}
