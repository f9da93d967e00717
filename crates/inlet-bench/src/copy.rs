//! The raw limit on PostgreSQL: the rows one benchmark batch stores (events
//! and entity profiles, the same values as the HTTP phase writes) sent with
//! binary `COPY` into the same tables, one transaction per batch, from the
//! same number of concurrent submitters. No HTTP, parsing, validation,
//! duplicate check or merge: what the database alone can take.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use inlet_store::{IngestBatch, IngestEntry};
use tokio_postgres::NoTls;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use crate::raw::{Raw, SUBMITTERS, numbered, template};

/// Writes `batches` batches of `size` items to the (migrated, empty)
/// database at `url` with `COPY`.
pub(crate) async fn copy_limit(
    url: &str,
    batches: usize,
    size: usize,
    cap: Duration,
) -> anyhow::Result<Raw> {
    let template = Arc::new(template(size)?);
    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..SUBMITTERS {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .context("connect for COPY")?;
        tokio::spawn(connection);
        clients.push(client);
    }
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let (next, template) = (Arc::clone(&next), Arc::clone(&template));
            tokio::spawn(async move {
                let mut written = 0;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= batches || started.elapsed() > cap {
                        break;
                    }
                    let batch = numbered(&template, n)?;
                    let tx = client.transaction().await?;
                    copy_events(&tx, &batch).await?;
                    copy_entities(&tx, &batch).await?;
                    tx.commit().await?;
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

async fn copy_events(
    tx: &tokio_postgres::Transaction<'_>,
    batch: &IngestBatch,
) -> anyhow::Result<()> {
    let sink = tx
        .copy_in(
            "COPY events (tenant, event_id, kind, entity_id, version, content_hash, received_at, \
             api_id, request_id, item) FROM STDIN BINARY",
        )
        .await?;
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::BYTEA,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    let (tenant, api_id) = (batch.tenant.as_str(), batch.api_id.as_str());
    let received_at = batch.received_at.as_micros();
    for entry in &batch.entries {
        let IngestEntry::Accepted(accepted) = entry else {
            continue;
        };
        let item = &accepted.item;
        let row: [&(dyn ToSql + Sync); 10] = [
            &tenant,
            &accepted.event_id.as_str(),
            &item.kind.as_str(),
            &item.entity_id.as_str(),
            &1_i64,
            &&item.content_hash[..],
            &received_at,
            &api_id,
            &batch.request_id.as_str(),
            &accepted.raw.as_str(),
        ];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    Ok(())
}

async fn copy_entities(
    tx: &tokio_postgres::Transaction<'_>,
    batch: &IngestBatch,
) -> anyhow::Result<()> {
    let sink = tx
        .copy_in(
            "COPY entities (tenant, kind, entity_id, metadata, version, first_seen_at, \
             updated_at) FROM STDIN BINARY",
        )
        .await?;
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::INT8,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    let tenant = batch.tenant.as_str();
    let received_at = batch.received_at.as_micros();
    for entry in &batch.entries {
        let IngestEntry::Accepted(accepted) = entry else {
            continue;
        };
        let item = &accepted.item;
        let row: [&(dyn ToSql + Sync); 7] = [
            &tenant,
            &item.kind.as_str(),
            &item.entity_id.as_str(),
            &accepted.new_profile(),
            &1_i64,
            &received_at,
            &received_at,
        ];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    Ok(())
}
