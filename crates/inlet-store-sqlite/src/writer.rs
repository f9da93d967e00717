//! The single writer: one thread owns the write connection and commits the
//! jobs waiting in its queue together (group commit).
//!
//! SQLite allows one writer at a time anyway; funnelling every write through
//! one thread turns N concurrent requests into one transaction and one fsync
//! instead of N, which is where the embedded store's throughput comes from.

use std::thread;
use std::time::{Duration, Instant};

use inlet_domain::{ApiId, Timestamp};
use inlet_store::{EntryOutcome, IngestBatch, NewCredential, StoreError};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::{self, CatchUp, Nudge};
use crate::error::store_error;
use crate::ingest::ingest_batch;

/// Most items one transaction takes from the queue: big enough to amortise
/// the fsync, small enough that a commit takes milliseconds, not seconds.
const MAX_GROUP_ITEMS: usize = 8_000;

/// One unit of work for the writer, with the channel its answer goes to.
pub(crate) enum Job {
    Ingest {
        batch: IngestBatch,
        reply: oneshot::Sender<Result<Vec<EntryOutcome>, StoreError>>,
    },
    InsertCredential {
        credential: NewCredential,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    RevokeCredential {
        api_id: ApiId,
        at: Timestamp,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// What a job produced inside a transaction, sent only after the commit.
enum Done {
    Ingest(Vec<EntryOutcome>),
    Unit(Result<(), StoreError>),
}

impl Job {
    /// How many items the job writes (at least 1).
    pub(crate) fn items(&self) -> usize {
        match self {
            Self::Ingest { batch, .. } => batch.entries.len().max(1),
            _ => 1,
        }
    }

    fn run(&self, tx: &Transaction<'_>) -> rusqlite::Result<Done> {
        match self {
            Self::Ingest { batch, .. } => ingest_batch(tx, batch).map(Done::Ingest),
            Self::InsertCredential { credential, .. } => {
                crate::credential::insert(tx, credential).map(Done::Unit)
            }
            Self::RevokeCredential { api_id, at, .. } => {
                crate::credential::revoke(tx, api_id, *at).map(Done::Unit)
            }
        }
    }

    fn answer(self, result: Result<Done, StoreError>) {
        // A send fails only when the caller stopped waiting (request timed
        // out or was cancelled); the data is committed either way.
        match (self, result) {
            (Self::Ingest { reply, .. }, Ok(Done::Ingest(outcomes))) => {
                let _ = reply.send(Ok(outcomes));
            }
            (Self::Ingest { reply, .. }, Err(err)) => {
                let _ = reply.send(Err(err));
            }
            (
                Self::InsertCredential { reply, .. } | Self::RevokeCredential { reply, .. },
                Ok(Done::Unit(result)),
            ) => {
                let _ = reply.send(result);
            }
            (
                Self::InsertCredential { reply, .. } | Self::RevokeCredential { reply, .. },
                Err(err),
            ) => {
                let _ = reply.send(Err(err));
            }
            (job, Ok(_)) => job.answer(Err(StoreError::Other("writer result mismatch".into()))),
        }
    }
}

/// Starts the writer thread on `conn`. The thread ends when every sender of
/// the returned queue is dropped, after finishing the jobs already queued.
pub(crate) fn spawn(
    conn: Connection,
    queue_jobs: usize,
    checkpoints: Nudge,
    catch_up: CatchUp,
    alive: std::sync::mpsc::Sender<()>,
) -> std::io::Result<mpsc::Sender<Job>> {
    let (sender, receiver) = mpsc::channel(queue_jobs);
    thread::Builder::new()
        .name("inlet-sqlite-writer".into())
        .spawn(move || {
            run(conn, receiver, &checkpoints, &catch_up);
            drop(alive);
        })?;
    Ok(sender)
}

fn run(
    mut conn: Connection,
    mut queue: mpsc::Receiver<Job>,
    checkpoints: &Nudge,
    catch_up: &CatchUp,
) {
    while let Some(first) = queue.blocking_recv() {
        let mut items = first.items();
        let mut group = vec![first];
        while items < MAX_GROUP_ITEMS {
            match queue.try_recv() {
                Ok(job) => {
                    items += job.items();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        commit_group(&mut conn, group);
        record_commit(items, started.elapsed());
        if catch_up.take() {
            if let Err(err) = checkpoint::passive(&conn) {
                tracing::warn!(error = %err, "writer wal checkpoint failed");
            }
        }
        checkpoints.send();
    }
    tracing::debug!("sqlite writer stopped");
}

/// Adds one group commit to `inlet_commit_items` and `inlet_commit_seconds`
/// (DESIGN.md §3b); a credential change counts as one item.
fn record_commit(items: usize, took: Duration) {
    metrics::histogram!("inlet_commit_items").record(items as f64);
    metrics::histogram!("inlet_commit_seconds").record(took.as_secs_f64());
}

/// Commits `group` in one transaction. If that fails, each job is retried in
/// a transaction of its own, so one failing job cannot fail its neighbours.
fn commit_group(conn: &mut Connection, group: Vec<Job>) {
    let err = match run_in_transaction(conn, &group) {
        Ok(results) => {
            for (job, result) in group.into_iter().zip(results) {
                job.answer(Ok(result));
            }
            return;
        }
        Err(err) => err,
    };
    tracing::warn!(error = %err, jobs = group.len(), "sqlite commit failed");
    let err = store_error(err);
    if group.len() == 1 || matches!(err, StoreError::Unavailable(_)) {
        // A busy, full or failing disk fails every job alike: answer them all
        // now (503 upstream) rather than retrying each into the same wall.
        for job in group {
            job.answer(Err(err.clone()));
        }
        return;
    }
    for job in group {
        let result =
            run_in_transaction(conn, std::slice::from_ref(&job)).map(|mut done| done.remove(0));
        job.answer(result.map_err(store_error));
    }
}

fn run_in_transaction(conn: &mut Connection, jobs: &[Job]) -> rusqlite::Result<Vec<Done>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let results = jobs
        .iter()
        .map(|job| job.run(&tx))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.commit()?;
    Ok(results)
}
