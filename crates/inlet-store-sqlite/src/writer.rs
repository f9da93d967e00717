//! The single writer: one thread owns the write connection and commits the
//! jobs waiting in its queue together (group commit).
//!
//! SQLite allows one writer at a time anyway; funnelling every write through
//! one thread turns N concurrent requests into one transaction and one fsync
//! instead of N, which is where the embedded store's throughput comes from.
//! The fsync itself runs on the next thread along (see
//! [`durable`](crate::durable)), which answers the callers.

use std::thread;
use std::time::Instant;

use inlet_store::StoreError;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::{self, CatchUp, Nudge};
use crate::durable::{Committed, Handoff};
use crate::error::store_error;

/// Most items one transaction takes from the queue: big enough to amortise
/// the fsync, small enough that a commit takes milliseconds, not seconds.
const MAX_GROUP_ITEMS: usize = 8_000;

/// One unit of work for the writer: what it writes inside the group's
/// transaction, and where its answer goes once the group is on disk.
pub(crate) type Job = Box<dyn Work>;

/// A job, with its result type erased so one queue carries every kind.
pub(crate) trait Work: Send {
    /// How many items the job writes (at least 1), for the queue bound.
    fn items(&self) -> usize;
    /// Runs the job inside `tx`. An `Err` may leave the job half written:
    /// the transaction must then be rolled back (the group's jobs are
    /// retried one by one, so the failing one fails alone).
    fn run(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError>;
    /// Sends the job's result, or `failed` when the group did not commit.
    fn answer(self: Box<Self>, failed: Option<StoreError>);
}

/// What a [`Task`] sends back: its result, and its function with whatever
/// that captured. The caller drops the function, so a batch of a thousand
/// parsed items is freed on the caller's thread, not on the writer's, whose
/// time bounds the store's throughput (freeing one cost a tenth of it).
pub(crate) type Reply<T, F> = (Result<T, StoreError>, F);

/// A job made of a function over the transaction and the channel its
/// result goes to.
pub(crate) struct Task<T, F> {
    items: usize,
    work: F,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Reply<T, F>>,
}

impl<T, F> Task<T, F>
where
    T: Send + 'static,
    F: FnMut(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    /// A job writing `items` items with `work`, answering on `reply`.
    pub(crate) fn boxed(items: usize, work: F, reply: oneshot::Sender<Reply<T, F>>) -> Job {
        Box::new(Self {
            items: items.max(1),
            work,
            result: None,
            reply,
        })
    }
}

impl<T, F> Work for Task<T, F>
where
    T: Send + 'static,
    F: FnMut(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    fn items(&self) -> usize {
        self.items
    }

    fn run(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        // No savepoint per job: SQLite would copy every page a job first
        // touches into a sub-journal, which cost more than the job itself.
        let result = (self.work)(tx);
        let failed = result.as_ref().err().cloned();
        self.result = Some(result);
        failed.map_or(Ok(()), Err)
    }

    fn answer(self: Box<Self>, failed: Option<StoreError>) {
        let result = match (failed, self.result) {
            (Some(err), _) => Err(err),
            (None, Some(result)) => result,
            (None, None) => Err(StoreError::Other("the writer lost a job's result".into())),
        };
        // A send fails only when the caller stopped waiting (request timed
        // out or was cancelled); the data is committed either way.
        let _ = self.reply.send((result, self.work));
    }
}

/// Starts the writer thread on `conn`, which hands what it commits to
/// `handoff` (see [`durable`](crate::durable)). The thread ends when every
/// sender of the returned queue is dropped, after finishing the jobs
/// already queued, or when a sync has failed.
pub(crate) fn spawn(
    conn: Connection,
    queue_jobs: usize,
    handoff: Handoff,
    checkpoints: Nudge,
    catch_up: CatchUp,
    alive: std::sync::mpsc::Sender<()>,
) -> std::io::Result<mpsc::Sender<Job>> {
    let (sender, receiver) = mpsc::channel(queue_jobs);
    thread::Builder::new()
        .name("inlet-sqlite-writer".into())
        .spawn(move || {
            run(conn, receiver, &handoff, &checkpoints, &catch_up);
            drop(alive);
        })?;
    Ok(sender)
}

fn run(
    mut conn: Connection,
    mut queue: mpsc::Receiver<Job>,
    handoff: &Handoff,
    checkpoints: &Nudge,
    catch_up: &CatchUp,
) {
    while let Some(first) = queue.blocking_recv() {
        if handoff.failed() {
            // Dropping the queue fails the waiting jobs, and closes the
            // store for readiness checks.
            break;
        }
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
        let jobs = commit_group(&mut conn, group);
        let committed = Committed {
            jobs,
            items,
            started,
        };
        if handoff.groups.send(committed).is_err() {
            tracing::error!("sqlite sync thread stopped; the writer stops");
            break;
        }
        if catch_up.take() {
            if let Err(err) = checkpoint::passive(&conn) {
                tracing::warn!(error = %err, "writer wal checkpoint failed");
            }
        }
        checkpoints.send();
    }
    tracing::debug!("sqlite writer stopped");
}

/// Commits `group` in one transaction. If a job or the commit fails, the
/// transaction is rolled back and each job is retried in a transaction of
/// its own, so one failing job cannot fail its neighbours. Returns each
/// job with its failure, if any.
fn commit_group(conn: &mut Connection, mut group: Vec<Job>) -> Vec<(Job, Option<StoreError>)> {
    let err = match run_in_transaction(conn, &mut group) {
        Ok(()) => return group.into_iter().map(|job| (job, None)).collect(),
        Err(err) => err,
    };
    if group.len() > 1 {
        tracing::warn!(error = %err, jobs = group.len(), "sqlite group commit failed");
    }
    if group.len() == 1 || matches!(err, StoreError::Unavailable(_)) {
        // A busy, full or failing disk fails every job alike: answer them all
        // now (503 upstream) rather than retrying each into the same wall.
        return group
            .into_iter()
            .map(|job| (job, Some(err.clone())))
            .collect();
    }
    group
        .into_iter()
        .map(|job| {
            let mut alone = [job];
            let failed = run_in_transaction(conn, &mut alone).err();
            let [job] = alone;
            (job, failed)
        })
        .collect()
}

/// Runs `jobs` in one transaction and commits it; on any failure the
/// transaction is rolled back (by dropping it).
fn run_in_transaction(conn: &mut Connection, jobs: &mut [Job]) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(store_error)?;
    for job in jobs.iter_mut() {
        job.run(&tx)?;
    }
    tx.commit().map_err(store_error)
}
