//! The raw limit: the same rows written straight through the store, with the
//! same durability (each ingest call returns after its commit is synced) and
//! no HTTP, parsing or validation in the timed part.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use inlet_domain::{ApiId, EntityId, EntityKind, EventId, Json, TenantId, Timestamp, parse_item};
use inlet_store::{AcceptedItem, IngestBatch, IngestEntry, Store};
use inlet_store_sqlite::SqliteStore;

use crate::item;

/// Concurrent submitters, as the HTTP phase has concurrent clients.
pub(crate) const SUBMITTERS: usize = 4;

/// What the raw phase measured.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub(crate) items: usize,
    pub(crate) elapsed: Duration,
}

impl Raw {
    pub(crate) fn items_per_second(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64()
    }
}

pub(crate) async fn store_limit(
    dir: &Path,
    batches: usize,
    size: usize,
    cap: Duration,
) -> anyhow::Result<Raw> {
    let settings = crate::server::sqlite_settings()?;
    let store = Arc::new(SqliteStore::open_with(dir, &settings).context("open the raw store")?);
    let template = Arc::new(template(size)?);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..SUBMITTERS)
        .map(|_| {
            let (store, next, template) =
                (Arc::clone(&store), Arc::clone(&next), Arc::clone(&template));
            tokio::spawn(async move {
                let mut written = 0;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= batches || started.elapsed() > cap {
                        break;
                    }
                    let batch = numbered(&template, n)?;
                    store.ingest(batch).await.context("raw ingest")?;
                    written += size;
                }
                Ok::<_, anyhow::Error>(written)
            })
        })
        .collect();
    let mut items = 0;
    for task in tasks {
        items += task.await??;
    }
    Ok(Raw {
        items,
        elapsed: started.elapsed(),
    })
}

/// Batch `n`: a copy of `template` with fresh event and entity ids, so the
/// timed part is the store's work only (validation was done once).
pub(crate) fn numbered(template: &IngestBatch, n: usize) -> anyhow::Result<IngestBatch> {
    let mut batch = template.clone();
    batch.request_id = format!("raw-{n}");
    let size = batch.entries.len();
    for (i, entry) in batch.entries.iter_mut().enumerate() {
        if let IngestEntry::Accepted(accepted) = entry {
            let id = n * size + i;
            accepted.event_id = EventId::parse(format!("evt-r-{id:010}")).context("event id")?;
            accepted.item.entity_id = EntityId::new(format!("conv-r-{id:010}"));
        }
    }
    Ok(batch)
}

/// One validated batch of `size` benchmark items.
pub(crate) fn template(size: usize) -> anyhow::Result<IngestBatch> {
    let entries = (0..size)
        .map(|n| {
            let raw = item::conversation("r", n);
            let json = Json::parse(&raw).context("item json")?;
            let item = parse_item(EntityKind::Conversation, &json)
                .map_err(|err| anyhow::anyhow!(err.message()))?;
            let event_id = item.event_id.clone().unwrap_or_else(EventId::generate);
            Ok(IngestEntry::Accepted(AcceptedItem::new(
                event_id, item, raw,
            )))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(IngestBatch {
        tenant: TenantId::parse(crate::server::TENANT).context("tenant")?,
        api_id: ApiId::parse("bench").context("api id")?,
        request_id: String::new(),
        received_at: Timestamp::from_micros(0),
        entries,
    })
}
