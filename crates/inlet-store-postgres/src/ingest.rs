//! The write transaction of one ingest batch on PostgreSQL.
//!
//! Many nodes write at once, so the order of merges is decided by row locks:
//!
//! 1. on a second run, read which of the batch's eventIds are already
//!    stored (duplicates and conflicts are decided before anything is
//!    written). A first run assumes none is, which saves an index probe per
//!    item in the common case, and step 4 tells when one was;
//! 2. upsert every entity the new items touch, in one statement over the
//!    keys in sorted order: each row is locked (or created) in the same
//!    order by every transaction, so two batches never deadlock on them;
//! 3. with the rows locked, merge in Rust and give each new event the next
//!    `version` of its entity: history order is merge order, whatever the
//!    order transactions commit in;
//! 4. insert the events, links and rejections as one multi-row statement
//!    each (`unnest` over arrays: one round trip, one plan, any batch size).
//!
//! If one of the eventIds was stored before (a resent batch), or another
//! node stored it between step 1 and step 4, the insert skips it; the
//! transaction then rolls back and runs again, and step 1 sees the stored
//! event. A resent batch costs two runs, a new one a single run.

use std::collections::{BTreeMap, HashMap, HashSet};

use deadpool_postgres::{Client, Transaction};
use inlet_domain::{EntityKind, conflict_message, merge_into};
use inlet_store::{AcceptedItem, EntryOutcome, IngestBatch, IngestEntry, RejectedItem, StoreError};
use serde_json::{Map, Value};
use tokio_postgres::Row;

use crate::error::{is_retryable, store_error};

/// Runs of one batch's transaction before giving up on racing writers.
/// A race needs another node to store the same eventId in the same
/// milliseconds, so a second run almost always settles it.
const MAX_ATTEMPTS: usize = 5;

/// Writes every entry of `batch` in one transaction and says what became of
/// each, positionally.
pub(crate) async fn ingest(
    client: &mut Client,
    batch: &IngestBatch,
) -> Result<Vec<EntryOutcome>, StoreError> {
    // Whether to read the stored eventIds first: not until a run found one.
    let mut look_up = false;
    for attempt in 1..=MAX_ATTEMPTS {
        let tx = client.transaction().await.map_err(store_error)?;
        let result = attempt_once(&tx, batch, look_up).await;
        match result {
            Ok(Some(outcomes)) => {
                tx.commit().await.map_err(store_error)?;
                return Ok(outcomes);
            }
            // Dropping `tx` rolls it back.
            Ok(None) => {
                tracing::debug!(attempt, "ingest met a stored eventId; running again");
                look_up = true;
            }
            Err(Failure::Db(err)) if is_retryable(&err) && attempt < MAX_ATTEMPTS => {
                tracing::debug!(attempt, error = %err, "ingest transaction retried");
            }
            Err(Failure::Db(err)) => return Err(store_error(err)),
            Err(Failure::Store(err)) => return Err(err),
        }
    }
    Err(StoreError::Unavailable(
        "postgres: ingest kept racing concurrent writers; retry the request".into(),
    ))
}

/// One run of the transaction: `None` when one of the batch's eventIds was
/// stored already (by an earlier request, or a concurrent writer) without
/// `look_up` having read it, and the run must be rolled back.
async fn attempt_once(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
    look_up: bool,
) -> Result<Option<Vec<EntryOutcome>>, Failure> {
    let stored = if look_up {
        stored_hashes(tx, batch).await?
    } else {
        HashMap::new()
    };
    let mut plan = Plan::new(batch, &stored);
    if !plan.entities.is_empty() {
        let rows = lock_entities(tx, batch, &plan).await?;
        plan.apply_locked(&rows)?;
        if !insert_events(tx, batch, &plan).await? {
            return Ok(None);
        }
        let relinked = insert_links(tx, batch, &plan).await?;
        update_entities(tx, batch, &plan, &relinked).await?;
    }
    insert_rejections(tx, batch, &plan.rejections).await?;
    Ok(Some(plan.outcomes))
}

/// Why a run of the transaction failed.
enum Failure {
    Db(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Db(err)
    }
}

/// What the batch writes, decided from the stored eventIds before the
/// first write.
struct Plan<'a> {
    outcomes: Vec<EntryOutcome>,
    /// Validation failures and conflicts, in batch order.
    rejections: Vec<RejectedItem>,
    /// Every entity a new item touches, in lock order.
    entities: BTreeMap<(&'static str, &'a str), EntityPlan<'a>>,
    /// New events in batch order, with the key of their entity.
    events: Vec<(&'a AcceptedItem, (&'static str, &'a str))>,
    /// New customer → conversation links, first occurrence only.
    links: Vec<(&'a str, &'a str)>,
    /// The links already in `links`, to keep a 1000-item batch linear.
    linked: HashSet<(&'a str, &'a str)>,
}

#[derive(Default)]
struct EntityPlan<'a> {
    /// Its new items, in batch order.
    items: Vec<&'a AcceptedItem>,
    /// Its version before this batch; 0 for an entity this batch creates.
    base_version: i64,
    /// The merged profile to write over an existing one; `None` when the
    /// entity is new (the upsert wrote it) or only linked.
    merged: Option<String>,
    /// Whether the upsert created it.
    created: bool,
}

impl<'a> Plan<'a> {
    fn new(batch: &'a IngestBatch, stored: &HashMap<String, Vec<u8>>) -> Self {
        let mut plan = Self {
            outcomes: Vec::with_capacity(batch.entries.len()),
            rejections: Vec::new(),
            entities: BTreeMap::new(),
            events: Vec::new(),
            links: Vec::new(),
            linked: HashSet::new(),
        };
        // eventId → content hash of the items this batch stores.
        let mut new: HashMap<&str, &[u8]> = HashMap::new();
        for entry in &batch.entries {
            let outcome = match entry {
                IngestEntry::Rejected(item) => {
                    plan.rejections.push(item.clone());
                    EntryOutcome::Rejected
                }
                IngestEntry::Accepted(accepted) => {
                    let event_id = accepted.event_id.as_str();
                    let hash = &accepted.item.content_hash[..];
                    let earlier = stored
                        .get(event_id)
                        .map(Vec::as_slice)
                        .or_else(|| new.get(event_id).copied());
                    match earlier {
                        Some(earlier) if earlier == hash => EntryOutcome::Duplicate,
                        Some(_) => {
                            plan.rejections.push(conflict(accepted));
                            EntryOutcome::Conflict
                        }
                        None => {
                            new.insert(event_id, hash);
                            plan.add(accepted);
                            EntryOutcome::Stored
                        }
                    }
                }
            };
            plan.outcomes.push(outcome);
        }
        plan
    }

    fn add(&mut self, accepted: &'a AcceptedItem) {
        let item = &accepted.item;
        let key = (item.kind.as_str(), item.entity_id.as_str());
        self.entities.entry(key).or_default().items.push(accepted);
        self.events.push((accepted, key));
        if let Some(conversation) = &item.conversation_id {
            let link = (conversation.as_str(), item.entity_id.as_str());
            if self.linked.insert(link) {
                self.links.push(link);
            }
            // Locked with the others, in order: the link may create it.
            self.entities
                .entry((EntityKind::Conversation.as_str(), conversation.as_str()))
                .or_default();
        }
    }

    /// Takes in the rows the upsert locked: merges new items into existing
    /// profiles and sets each entity's base version.
    fn apply_locked(&mut self, rows: &[Row]) -> Result<(), Failure> {
        // The map's keys in order, to find a returned row's key by binary
        // search (the rows come back in no promised order).
        let keys: Vec<(&'static str, &'a str)> = self.entities.keys().copied().collect();
        for row in rows {
            let (kind, id): (&str, &str) = (row.get(0), row.get(1));
            let Ok(index) = keys.binary_search_by(|probe| (probe.0, probe.1).cmp(&(kind, id)))
            else {
                continue;
            };
            let Some(entity) = self.entities.get_mut(&keys[index]) else {
                continue;
            };
            entity.created = row.get(2);
            if entity.created {
                continue;
            }
            entity.base_version = row.get(4);
            if entity.items.is_empty() {
                continue;
            }
            // A stored profile that no longer parses is an error, never
            // silently replaced by an empty one.
            let mut profile: Map<String, Value> =
                serde_json::from_str(row.get(3)).map_err(|err| {
                    Failure::Store(StoreError::Other(format!(
                        "stored {kind} profile is not a JSON object: {err}"
                    )))
                })?;
            for item in &entity.items {
                merge_into(&mut profile, &item.item.changes);
            }
            entity.merged = Some(Value::Object(profile).to_string());
        }
        Ok(())
    }
}

/// The rejection kept for an item whose eventId is taken by other content.
fn conflict(accepted: &AcceptedItem) -> RejectedItem {
    let (raw, truncated) = RejectedItem::cap(&accepted.raw);
    RejectedItem {
        event_id: accepted.event_id.clone(),
        kind: accepted.item.kind,
        errors: vec![conflict_message(&accepted.event_id)],
        raw,
        truncated,
    }
}

/// The content hash of each of the batch's eventIds that is already stored.
async fn stored_hashes(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
) -> Result<HashMap<String, Vec<u8>>, tokio_postgres::Error> {
    let ids: Vec<&str> = batch
        .entries
        .iter()
        .filter_map(|entry| match entry {
            IngestEntry::Accepted(accepted) => Some(accepted.event_id.as_str()),
            IngestEntry::Rejected(_) => None,
        })
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let statement = tx
        .prepare_cached(
            "SELECT event_id, content_hash FROM events \
             WHERE tenant = $1 AND event_id = ANY($2::text[])",
        )
        .await?;
    let rows = tx
        .query(&statement, &[&batch.tenant.as_str(), &ids])
        .await?;
    Ok(rows
        .iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, Vec<u8>>(1)))
        .collect())
}

/// Creates or locks every entity of the plan, in key order. A created row
/// already holds its final profile; an existing one is answered with its
/// profile and version to merge into.
async fn lock_entities(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
    plan: &Plan<'_>,
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let count = plan.entities.len();
    let (mut kinds, mut ids, mut profiles, mut versions) = (
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
    );
    for ((kind, id), entity) in &plan.entities {
        kinds.push(*kind);
        ids.push(*id);
        profiles.push(first_profile(&entity.items));
        versions.push(i64::try_from(entity.items.len()).unwrap_or(i64::MAX));
    }
    // `xmax = 0` marks a row this statement inserted rather than locked; an
    // inserted row's profile is not sent back, it is the one just written.
    let statement = tx
        .prepare_cached(
            "INSERT INTO entities AS e \
             (tenant, kind, entity_id, metadata, version, first_seen_at, updated_at) \
             SELECT $1, u.kind, u.entity_id, u.metadata, u.version, $2, $2 \
             FROM unnest($3::text[], $4::text[], $5::text[], $6::int8[]) \
               AS u(kind, entity_id, metadata, version) \
             ON CONFLICT (tenant, kind, entity_id) DO UPDATE SET version = e.version \
             RETURNING e.kind, e.entity_id, (e.xmax = 0) AS created, \
               CASE WHEN e.xmax = 0 THEN '' ELSE e.metadata END, e.version",
        )
        .await?;
    tx.query(
        &statement,
        &[
            &batch.tenant.as_str(),
            &batch.received_at.as_micros(),
            &kinds,
            &ids,
            &profiles,
            &versions,
        ],
    )
    .await
}

/// The profile of an entity created by `items`: their changes merged, in
/// order, into an empty one.
fn first_profile(items: &[&AcceptedItem]) -> String {
    match items {
        [] => "{}".to_owned(),
        [only] => only.new_profile().to_owned(),
        many => {
            let mut profile = Map::new();
            for item in many {
                merge_into(&mut profile, &item.item.changes);
            }
            Value::Object(profile).to_string()
        }
    }
}

/// Inserts the new events with their versions; `false` when another writer
/// stored one of their eventIds first.
async fn insert_events(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
    plan: &Plan<'_>,
) -> Result<bool, tokio_postgres::Error> {
    let count = plan.events.len();
    let mut next_version: HashMap<(&str, &str), i64> = HashMap::with_capacity(count);
    let (mut event_ids, mut kinds, mut ids, mut versions, mut hashes, mut items) = (
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
    );
    for (accepted, key) in &plan.events {
        let base = plan
            .entities
            .get(key)
            .map_or(0, |entity| entity.base_version);
        let version = next_version.entry(*key).or_insert(base);
        *version += 1;
        event_ids.push(accepted.event_id.as_str());
        kinds.push(key.0);
        ids.push(key.1);
        versions.push(*version);
        hashes.push(&accepted.item.content_hash[..]);
        items.push(accepted.raw.as_str());
    }
    let statement = tx
        .prepare_cached(
            "INSERT INTO events (tenant, event_id, kind, entity_id, version, content_hash, \
               received_at, api_id, request_id, item) \
             SELECT $1, u.event_id, u.kind, u.entity_id, u.version, u.hash, $2, $3, $4, u.item \
             FROM unnest($5::text[], $6::text[], $7::text[], $8::int8[], $9::bytea[], $10::text[]) \
               AS u(event_id, kind, entity_id, version, hash, item) \
             ON CONFLICT (tenant, event_id) DO NOTHING",
        )
        .await?;
    let inserted = tx
        .execute(
            &statement,
            &[
                &batch.tenant.as_str(),
                &batch.received_at.as_micros(),
                &batch.api_id.as_str(),
                &batch.request_id.as_str(),
                &event_ids,
                &kinds,
                &ids,
                &versions,
                &hashes,
                &items,
            ],
        )
        .await?;
    Ok(usize::try_from(inserted).is_ok_and(|n| n == count))
}

/// Adds the new links; the conversations that gained a customer.
async fn insert_links<'a>(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
    plan: &Plan<'a>,
) -> Result<Vec<String>, tokio_postgres::Error> {
    if plan.links.is_empty() {
        return Ok(Vec::new());
    }
    let (conversations, customers): (Vec<&str>, Vec<&str>) = plan.links.iter().copied().unzip();
    let statement = tx
        .prepare_cached(
            "INSERT INTO links (tenant, conversation_id, customer_id, created_at) \
             SELECT $1, u.conversation_id, u.customer_id, $2 \
             FROM unnest($3::text[], $4::text[]) AS u(conversation_id, customer_id) \
             ON CONFLICT DO NOTHING RETURNING conversation_id",
        )
        .await?;
    let rows = tx
        .query(
            &statement,
            &[
                &batch.tenant.as_str(),
                &batch.received_at.as_micros(),
                &conversations,
                &customers,
            ],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Writes merged profiles, versions and `updated_at` of the existing
/// entities that changed: new items, or a new linked customer.
async fn update_entities(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
    plan: &Plan<'_>,
    relinked: &[String],
) -> Result<(), tokio_postgres::Error> {
    let (mut kinds, mut ids, mut profiles, mut versions) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((kind, id), entity) in &plan.entities {
        if entity.created {
            continue;
        }
        let linked = *kind == EntityKind::Conversation.as_str()
            && relinked.iter().any(|conversation| conversation == id);
        if entity.items.is_empty() && !linked {
            continue;
        }
        kinds.push(*kind);
        ids.push(*id);
        profiles.push(entity.merged.as_deref());
        let added = i64::try_from(entity.items.len()).unwrap_or(i64::MAX);
        versions.push(entity.base_version + added);
    }
    if kinds.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached(
            "UPDATE entities AS e SET metadata = COALESCE(u.metadata, e.metadata), \
               version = u.version, updated_at = GREATEST(e.updated_at, $2) \
             FROM unnest($3::text[], $4::text[], $5::text[], $6::int8[]) \
               AS u(kind, entity_id, metadata, version) \
             WHERE e.tenant = $1 AND e.kind = u.kind AND e.entity_id = u.entity_id",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &batch.tenant.as_str(),
            &batch.received_at.as_micros(),
            &kinds,
            &ids,
            &profiles,
            &versions,
        ],
    )
    .await?;
    Ok(())
}

/// Keeps the rejected items, in batch order.
async fn insert_rejections(
    tx: &Transaction<'_>,
    batch: &IngestBatch,
    rejections: &[RejectedItem],
) -> Result<(), tokio_postgres::Error> {
    if rejections.is_empty() {
        return Ok(());
    }
    let count = rejections.len();
    let (mut ids, mut kinds, mut errors, mut items, mut truncated) = (
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
    );
    for rejection in rejections {
        ids.push(rejection.event_id.as_str());
        kinds.push(rejection.kind.as_str());
        // A list of strings always serialises.
        errors.push(serde_json::to_string(&rejection.errors).unwrap_or_else(|_| "[]".into()));
        items.push(rejection.raw.as_str());
        truncated.push(rejection.truncated);
    }
    let statement = tx
        .prepare_cached(
            "INSERT INTO rejections (tenant, id, received_at, kind, request_id, api_id, \
               errors, item, truncated) \
             SELECT $1, u.id, $2, u.kind, $3, $4, u.errors, u.item, u.truncated \
             FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::bool[]) \
               WITH ORDINALITY AS u(id, kind, errors, item, truncated, n) \
             ORDER BY u.n",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &batch.tenant.as_str(),
            &batch.received_at.as_micros(),
            &batch.request_id.as_str(),
            &batch.api_id.as_str(),
            &ids,
            &kinds,
            &errors,
            &items,
            &truncated,
        ],
    )
    .await?;
    Ok(())
}
