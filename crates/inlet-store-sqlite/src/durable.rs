//! Making committed groups durable, on a thread of its own.
//!
//! The writer commits with `synchronous=NORMAL`: SQLite appends the group's
//! frames to the WAL and returns without an fsync. The group then comes
//! here; this thread syncs the WAL file and only then answers the group's
//! callers. A commit is therefore on disk before anyone is told it
//! succeeded, exactly as with `synchronous=FULL`, but the writer prepares
//! the next group while the disk works on the last one, and one sync covers
//! every group that committed while the previous sync ran.
//!
//! SQLite itself still syncs the WAL header when the log starts over and
//! the WAL and database around every checkpoint (`NORMAL` keeps those), so
//! the file stays consistent; this thread adds the sync that `FULL` would
//! have made at each commit.
//!
//! A failed sync is final. The kernel may have dropped the pages it could
//! not write, and a later sync that succeeds says nothing about them, while
//! every later frame in the WAL depends on them (the frames' checksums are
//! chained). So once a sync fails, no further write is acknowledged and the
//! writer stops: `/readyz` turns 503 until inlet is restarted and SQLite
//! recovers the WAL.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;
use std::time::{Duration, Instant};

use inlet_store::StoreError;

use crate::writer::Job;

/// Committed groups that may wait for their sync; past this the writer
/// waits for the disk instead of running further ahead of it.
const WAITING_GROUPS: usize = 1;

/// A group the writer has run: each job with its failure, if it had one.
pub(crate) struct Committed {
    pub(crate) jobs: Vec<(Job, Option<StoreError>)>,
    /// Items in the group, and when the writer began it, for the metrics.
    pub(crate) items: usize,
    pub(crate) started: Instant,
}

impl Committed {
    /// Whether any job's writes were committed (and so need the sync).
    fn wrote(&self) -> bool {
        self.jobs.iter().any(|(_, failed)| failed.is_none())
    }

    /// Answers every job; a job that committed fails with `unsynced` when
    /// the sync did not succeed.
    fn answer(self, unsynced: Option<&StoreError>) {
        for (job, failed) in self.jobs {
            job.answer(failed.or_else(|| unsynced.cloned()));
        }
    }
}

/// Where the writer hands committed groups over, and whether a sync has
/// failed (then the writer stops taking jobs).
pub(crate) struct Handoff {
    pub(crate) groups: SyncSender<Committed>,
    pub(crate) failed: Arc<AtomicBool>,
}

impl Handoff {
    /// Whether a sync has failed: nothing more may be acknowledged.
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }
}

/// Starts the sync thread for the WAL of the database at `database`. The
/// thread ends after answering the last group, once the writer has dropped
/// the [`Handoff`].
pub(crate) fn spawn(
    database: &Path,
    alive: std::sync::mpsc::Sender<()>,
) -> std::io::Result<Handoff> {
    let (groups, committed) = sync_channel(WAITING_GROUPS);
    let failed = Arc::new(AtomicBool::new(false));
    let wal = wal_path(database);
    let flag = Arc::clone(&failed);
    thread::Builder::new()
        .name("inlet-sqlite-sync".into())
        .spawn(move || {
            run(&wal, &committed, &flag);
            drop(alive);
        })?;
    Ok(Handoff { groups, failed })
}

/// SQLite's name for the WAL of `database`.
fn wal_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

fn run(wal: &Path, committed: &Receiver<Committed>, failed: &AtomicBool) {
    while let Ok(first) = committed.recv() {
        let mut groups = vec![first];
        groups.extend(committed.try_iter());
        let result = if failed.load(Ordering::Acquire) {
            Err(stopped())
        } else if groups.iter().any(Committed::wrote) {
            sync(wal).inspect_err(|err| {
                failed.store(true, Ordering::Release);
                tracing::error!(error = %err, "sqlite wal sync failed; writes stop until restart");
            })
        } else {
            Ok(())
        };
        let synced = Instant::now();
        for group in groups {
            record_commit(group.items, synced.duration_since(group.started));
            group.answer(result.as_ref().err());
        }
    }
    tracing::debug!("sqlite sync thread stopped");
}

/// Syncs the WAL's data to disk. The file is opened anew each time, so the
/// sync reaches the file that holds the frames just written, whatever
/// SQLite did with the name before.
fn sync(wal: &Path) -> Result<(), StoreError> {
    File::open(wal)
        .and_then(|file| file.sync_data())
        .map_err(|err| {
            StoreError::Unavailable(format!(
                "cannot sync {} to disk: {err}; the write may not be on disk, and inlet takes \
                 no more writes until it is restarted",
                wal.display()
            ))
        })
}

/// The error every write gets once a sync has failed.
pub(crate) fn stopped() -> StoreError {
    StoreError::Unavailable(
        "an earlier sync to disk failed; inlet takes no more writes until it is restarted".into(),
    )
}

/// Adds one group commit to `inlet_commit_items` and `inlet_commit_seconds`
/// (DESIGN.md §3b): from the group's start until it is on disk. A credential
/// change counts as one item.
fn record_commit(items: usize, took: Duration) {
    metrics::histogram!("inlet_commit_items").record(items as f64);
    metrics::histogram!("inlet_commit_seconds").record(took.as_secs_f64());
}
