//! The raw limit: the same rows written straight through the store, with the
//! same durability (each ingest call returns after its commit is synced) and
//! no HTTP, parsing or validation in the timed part.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use inlet_domain::{ApiId, EntityKind, EventId, Json, TenantId, Timestamp, parse_item};
use inlet_store::{AcceptedItem, IngestBatch, IngestEntry, Store};
use inlet_store_sqlite::SqliteStore;

use crate::item;

/// Concurrent submitters, as the HTTP phase has concurrent clients.
const SUBMITTERS: usize = 4;

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
    let store = Arc::new(SqliteStore::open(dir).context("open the raw store")?);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..SUBMITTERS)
        .map(|_| {
            let (store, next) = (Arc::clone(&store), Arc::clone(&next));
            tokio::spawn(async move {
                let mut written = 0;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= batches || started.elapsed() > cap {
                        break;
                    }
                    let batch = prepared(n * size, size)?;
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

/// A validated batch, built before the clock for its commit starts.
fn prepared(first: usize, size: usize) -> anyhow::Result<IngestBatch> {
    let entries = (first..first + size)
        .map(|n| {
            let raw = item::conversation("r", n);
            let json = Json::parse(&raw).context("item json")?;
            let item = parse_item(EntityKind::Conversation, &json)
                .map_err(|err| anyhow::anyhow!(err.message()))?;
            Ok(IngestEntry::Accepted(AcceptedItem {
                event_id: item.event_id.clone().unwrap_or_else(EventId::generate),
                item,
                raw,
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(IngestBatch {
        tenant: TenantId::parse("bench").context("tenant")?,
        api_id: ApiId::parse("bench").context("api id")?,
        request_id: format!("raw-{first}"),
        received_at: Timestamp::from_micros(0),
        entries,
    })
}
