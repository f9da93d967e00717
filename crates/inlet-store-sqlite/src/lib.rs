//! inlet's embedded default store: one SQLite file in WAL mode.
//!
//! Writes go through one writer thread that commits whatever is queued in a
//! single transaction (group commit, see [`writer`](crate::writer)); a
//! second thread syncs each commit to disk before its callers hear of it
//! ([`durable`](crate::durable)); reads run on a small pool of reader
//! connections in `spawn_blocking`, so neither ever blocks the async runtime.

mod call;
mod checkpoint;
mod credential;
mod durable;
mod error;
mod ingest;
mod read;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::executor::block_on;
use inlet_domain::{ApiId, EntityId, EntityKind, EventId, TenantId, Timestamp};
use inlet_match::{RuleSet, SessionId};
use inlet_store::matching::RuleCache;
use inlet_store::{
    CallBatch, CallEventOutcome, CallEventQuery, CallEventView, CallView, CallsWritten, Credential,
    EntityView, EntryOutcome, IngestBatch, NewCallEvent, NewCredential, Page, Rejection,
    RejectionQuery, Store, StoreError, StoredEvent, WriteQueue, matching,
};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::call::SqliteMatch;
use crate::error::store_error;
use crate::writer::{Job, Task};

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "inlet.db";

/// Items that may wait for the writer before further writes are told the
/// store is busy (503). A queued item holds its parsed form and raw text,
/// a few KiB, so this bounds the memory of waiting writes to tens of MiB
/// (DESIGN.md `limits.write_queue_items`).
pub const DEFAULT_QUEUE_ITEMS: usize = 20_000;

/// Default [`SqliteSettings::mmap_bytes`]: 2000 MiB, near SQLite's own
/// limit of 2047 MiB ([`MAX_MMAP_BYTES`]).
pub const DEFAULT_MMAP_BYTES: u64 = 2000 << 20;

/// The most of the database SQLite maps into memory, whatever is asked
/// (its compile-time `SQLITE_MAX_MMAP_SIZE`).
pub const MAX_MMAP_BYTES: u64 = 0x7fff_0000;

/// How the embedded store runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteSettings {
    /// Items that may wait for the writer before further writes are told
    /// the store is busy (see [`DEFAULT_QUEUE_ITEMS`]).
    pub queue_items: usize,
    /// How much of the database file the writer maps into memory (SQLite's
    /// `mmap_size`); 0 reads every page with `pread`. Mapped, the pages the
    /// writer's cache lacks are read in place instead of copied: with a
    /// million calls stored, the calls scenario's raw limit rose 7–21 %.
    /// The pages read this way count in the process's resident size (they
    /// are the kernel's page cache of the file either way), and a disk
    /// error reading one kills the process (`SIGBUS`) rather than failing
    /// the write; nothing acknowledged is lost, since commits are synced.
    pub mmap_bytes: u64,
}

impl Default for SqliteSettings {
    fn default() -> Self {
        Self {
            queue_items: DEFAULT_QUEUE_ITEMS,
            mmap_bytes: DEFAULT_MMAP_BYTES,
        }
    }
}

/// Requests that may wait for the writer, whatever their size; a second
/// bound behind [`DEFAULT_QUEUE_ITEMS`] for writes whose callers went away.
const MAX_QUEUE_JOBS: usize = 4096;

/// Reader connections kept open between reads.
const MAX_IDLE_READERS: usize = 8;

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::Sender<Job>,
    /// One permit per item waiting for (or with) the writer.
    queue: Arc<WriteQueue>,
    closed: Arc<Mutex<Option<Closed>>>,
    readers: Arc<ReaderPool>,
    /// Parsed matching rules, checked against their stored version.
    rules: Arc<RuleCache>,
    /// Set when a sync to disk failed: the store takes no more writes.
    sync_failed: Arc<AtomicBool>,
}

/// Tells when the store's writer and checkpoint threads have ended: after
/// every clone of the store is dropped, the last commit made and the WAL
/// checkpointed into the database file.
pub struct Closed(std::sync::mpsc::Receiver<()>);

impl Closed {
    /// Blocks until the threads have ended or `timeout` passes; whether
    /// they ended.
    pub fn wait(self, timeout: std::time::Duration) -> bool {
        matches!(
            self.0.recv_timeout(timeout),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        )
    }
}

/// The schema version of the store in `data_dir`; 0 when there is none yet.
pub fn schema_version(data_dir: &Path) -> Result<usize, StoreError> {
    let path = data_dir.join(DATABASE_FILE);
    if !path.exists() {
        return Ok(0);
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(store_error)?;
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(store_error)
}

struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`, applies
    /// migrations and starts the writer thread.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, &SqliteSettings::default())
    }

    /// [`SqliteStore::open`] with `settings`; past `settings.queue_items`
    /// items waiting for the writer, writes fail at once with `Unavailable`.
    pub fn open_with(data_dir: &Path, settings: &SqliteSettings) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|err| {
            StoreError::Unavailable(format!("cannot create {}: {err}", data_dir.display()))
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let mut conn = Connection::open(&path).map_err(store_error)?;
        schema::configure(&conn).map_err(store_error)?;
        schema::migrate(&mut conn).map_err(store_error)?;
        // Checkpoints run on their own thread (see checkpoint.rs), and so
        // does the sync that makes each commit durable (see durable.rs).
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(store_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(store_error)?;
        let mmap_bytes = i64::try_from(settings.mmap_bytes.min(MAX_MMAP_BYTES)).unwrap_or(0);
        conn.pragma_update(None, "mmap_size", mmap_bytes)
            .map_err(store_error)?;
        let thread_error = |err| StoreError::Other(format!("cannot start a store thread: {err}"));
        // Each thread holds a sender; when both have ended, the channel closes.
        let (alive, closed) = std::sync::mpsc::channel();
        let (checkpoints, catch_up) =
            checkpoint::spawn(&path, alive.clone()).map_err(thread_error)?;
        let handoff = durable::spawn(&path, alive.clone()).map_err(thread_error)?;
        let sync_failed = Arc::clone(&handoff.failed);
        let writer = writer::spawn(conn, MAX_QUEUE_JOBS, handoff, checkpoints, catch_up, alive)
            .map_err(thread_error)?;

        Ok(Self {
            writer,
            queue: Arc::new(WriteQueue::new(settings.queue_items, "sqlite")),
            closed: Arc::new(Mutex::new(Some(Closed(closed)))),
            readers: Arc::new(ReaderPool {
                path,
                idle: Mutex::new(Vec::new()),
            }),
            rules: Arc::default(),
            sync_failed,
        })
    }

    /// The handle that tells when this store has shut down; `None` after
    /// the first call.
    pub fn closed(&self) -> Option<Closed> {
        self.closed.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Queues `work` (writing `items` items) for the writer and waits for
    /// its answer, which comes after the group it ran in is on disk.
    /// `work` comes back with the answer and is dropped here, off the
    /// writer's thread.
    async fn write<T: Send + 'static>(
        &self,
        items: usize,
        work: impl FnMut(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Task::boxed(items, work, reply);
        // The room is held until the writer has answered.
        let _queued = self.queue.enter(job.items())?;
        self.writer.try_send(job).map_err(|err| match err {
            mpsc::error::TrySendError::Full(_) => self.queue.full(),
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::Unavailable("sqlite writer stopped".into())
            }
        })?;
        let (result, work) = answer
            .await
            .map_err(|_| StoreError::Unavailable("sqlite writer stopped".into()))?;
        drop(work);
        result
    }

    /// Runs `query` on a reader connection in the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.read_with(move |conn| query(conn).map_err(store_error))
            .await
    }

    /// [`SqliteStore::read`] for a query that reports a [`StoreError`].
    async fn read_with<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let conn = readers.take().map_err(store_error)?;
            let result = query(&conn);
            readers.give_back(conn);
            result
        })
        .await
        .map_err(|err| StoreError::Other(format!("read task failed: {err}")))?
    }
}

impl ReaderPool {
    fn take(&self) -> rusqlite::Result<Connection> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }
}

fn found<T>(value: Option<T>) -> Result<T, StoreError> {
    value.ok_or(StoreError::NotFound)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ingest(&self, batch: IngestBatch) -> Result<Vec<EntryOutcome>, StoreError> {
        let items = batch.entries.len();
        self.write(items, move |tx| {
            ingest::ingest_batch(tx, &batch).map_err(store_error)
        })
        .await
    }

    async fn get_entity(
        &self,
        tenant: &TenantId,
        kind: EntityKind,
        id: &EntityId,
    ) -> Result<EntityView, StoreError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        found(
            self.read(move |conn| read::entity(conn, &tenant, kind, &id))
                .await?,
        )
    }

    async fn get_event(
        &self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<StoredEvent, StoreError> {
        let (tenant, event_id) = (tenant.clone(), event_id.clone());
        found(
            self.read(move |conn| read::event(conn, &tenant, &event_id))
                .await?,
        )
    }

    async fn list_rejections(
        &self,
        tenant: &TenantId,
        query: RejectionQuery,
    ) -> Result<Page<Rejection>, StoreError> {
        let tenant = tenant.clone();
        self.read(move |conn| read::rejections(conn, &tenant, query))
            .await
    }

    async fn insert_credential(&self, credential: NewCredential) -> Result<(), StoreError> {
        self.write(1, move |tx| {
            credential::insert(tx, &credential).map_err(store_error)?
        })
        .await
    }

    async fn find_credential(&self, api_id: &ApiId) -> Result<Option<Credential>, StoreError> {
        let api_id = api_id.clone();
        self.read(move |conn| credential::find(conn, &api_id)).await
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        self.read(credential::list).await
    }

    async fn revoke_credential(&self, api_id: &ApiId, at: Timestamp) -> Result<(), StoreError> {
        let api_id = api_id.clone();
        self.write(1, move |tx| {
            credential::revoke(tx, &api_id, at).map_err(store_error)?
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if self.sync_failed.load(Ordering::Acquire) {
            return Err(durable::stopped());
        }
        if self.writer.is_closed() {
            return Err(StoreError::Unavailable("sqlite writer stopped".into()));
        }
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }

    async fn put_calls(&self, batch: CallBatch) -> Result<CallsWritten, StoreError> {
        let items = batch.calls.len();
        let rules = Arc::clone(&self.rules);
        self.write(items, move |tx| {
            block_on(matching::put_calls(&mut SqliteMatch(tx), &rules, &batch))
        })
        .await
    }

    async fn get_call(
        &self,
        tenant: &TenantId,
        session_id: &SessionId,
    ) -> Result<CallView, StoreError> {
        let (tenant, session_id) = (tenant.clone(), session_id.clone());
        found(
            self.read_with(move |conn| call::call_view(conn, &tenant, &session_id))
                .await?,
        )
    }

    async fn insert_call_event(
        &self,
        event: NewCallEvent,
        expired_before: Timestamp,
    ) -> Result<CallEventOutcome, StoreError> {
        // Taken here so that the writer, whose time bounds the store,
        // need not (5 % of its time under 20 rules). A retry of the
        // job alone takes them again.
        let mut prepared = self.rules.prepare_keys(&event);
        let rules = Arc::clone(&self.rules);
        self.write(1, move |tx| {
            block_on(matching::insert_call_event(
                &mut SqliteMatch(tx),
                &rules,
                &event,
                prepared.take(),
                expired_before,
            ))
        })
        .await
    }

    async fn list_call_events(
        &self,
        tenant: &TenantId,
        query: CallEventQuery,
    ) -> Result<Page<CallEventView>, StoreError> {
        let tenant = tenant.clone();
        self.read_with(move |conn| call::call_events(conn, &tenant, query))
            .await
    }

    async fn put_matching_rules(
        &self,
        tenant: &TenantId,
        rules: RuleSet,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let tenant = tenant.clone();
        self.write(1, move |tx| {
            block_on(matching::put_rules(
                &mut SqliteMatch(tx),
                &tenant,
                &rules,
                at,
            ))
        })
        .await
    }

    async fn get_matching_rules(&self, tenant: &TenantId) -> Result<RuleSet, StoreError> {
        let tenant = tenant.clone();
        self.read_with(move |conn| call::rules(conn, &tenant)).await
    }

    async fn sweep_unmatched(&self, expired_before: Timestamp) -> Result<u64, StoreError> {
        // The horizon stays put while nothing expires; the count is exact
        // only under the writer.
        if !self
            .read_with(move |conn| call::sweep_would_count(conn, expired_before))
            .await?
        {
            return Ok(0);
        }
        self.write(1, move |tx| call::sweep_unmatched(tx, expired_before))
            .await
    }

    async fn token_secret(&self, candidate: [u8; 32]) -> Result<[u8; 32], StoreError> {
        self.write(1, move |tx| call::token_secret(tx, candidate))
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::task::Poll;

    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    fn empty_batch(n: usize) -> IngestBatch {
        IngestBatch {
            tenant: TenantId::parse("t1").expect("tenant"),
            api_id: ApiId::parse("key").expect("api id"),
            request_id: format!("req-{n}"),
            received_at: Timestamp::from_micros(0),
            entries: Vec::new(),
        }
    }

    fn line<'a>(page: &'a str, series: &str) -> Option<&'a str> {
        page.lines().find(|line| line.starts_with(series))
    }

    /// Records the name of the thread that drops it.
    struct DropSpy(std::sync::mpsc::Sender<Option<String>>);

    impl Drop for DropSpy {
        fn drop(&mut self) {
            let name = std::thread::current().name().map(str::to_owned);
            let _ = self.0.send(name);
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_writer_maps_what_the_settings_ask_up_to_sqlites_limit() {
        for (asked, mapped) in [(0, 0), (64 << 20, 64 << 20), (u64::MAX, MAX_MMAP_BYTES)] {
            let dir = tempfile::tempdir().expect("temp dir");
            let settings = SqliteSettings {
                mmap_bytes: asked,
                ..SqliteSettings::default()
            };
            let store = SqliteStore::open_with(dir.path(), &settings).expect("open");
            let size: i64 = store
                .write(1, |conn| {
                    conn.query_row("PRAGMA mmap_size", [], |row| row.get(0))
                        .map_err(store_error)
                })
                .await
                .expect("read on the writer");
            assert_eq!(u64::try_from(size).ok(), Some(mapped), "asked {asked}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn what_a_job_captured_is_freed_by_the_caller_not_the_writer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = SqliteSettings {
            queue_items: 8,
            ..SqliteSettings::default()
        };
        let store = SqliteStore::open_with(dir.path(), &settings).expect("open");
        let (dropped, on) = std::sync::mpsc::channel();
        let spy = DropSpy(dropped);
        let caller = std::thread::current().name().map(str::to_owned);
        store
            .write(1, move |_| {
                let _captured = &spy;
                Ok(())
            })
            .await
            .expect("write");
        assert_eq!(on.try_recv().expect("dropped by now"), caller);
    }

    #[test]
    fn queued_items_show_in_the_gauge_and_refused_writes_count_as_shed() {
        const QUEUE: usize = 2;
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // A current-thread runtime keeps every facade call of `write` on this
        // thread, where the local recorder sees it.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        metrics::with_local_recorder(&recorder, || {
            runtime.block_on(async {
                let dir = tempfile::tempdir().expect("temp dir");
                let settings = SqliteSettings {
                    queue_items: QUEUE,
                    ..SqliteSettings::default()
                };
                let store = SqliteStore::open_with(dir.path(), &settings).expect("open");
                // Another connection holds the write lock: the writer stalls
                // on the first job and the queue fills behind it.
                let blocker = Connection::open(dir.path().join(DATABASE_FILE)).expect("blocker");
                blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
                let mut pending = Vec::new();
                for n in 0..QUEUE {
                    let mut write = store.ingest(empty_batch(n));
                    assert!(futures::poll!(&mut write).is_pending(), "write {n} queued");
                    pending.push(write);
                }
                let page = handle.render();
                assert_eq!(
                    line(&page, "inlet_write_queue_items "),
                    Some("inlet_write_queue_items 2")
                );
                let refused = futures::poll!(store.ingest(empty_batch(QUEUE)));
                assert!(matches!(
                    refused,
                    Poll::Ready(Err(StoreError::Unavailable(_)))
                ));
                blocker.execute_batch("ROLLBACK").expect("unlock");
                for write in pending {
                    write.await.expect("queued writes complete");
                }
            });
        });
        let page = handle.render();
        assert_eq!(
            line(&page, "inlet_write_queue_items "),
            Some("inlet_write_queue_items 0")
        );
        assert_eq!(line(&page, "inlet_shed_total "), Some("inlet_shed_total 1"));
    }
}
