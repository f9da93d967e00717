//! The writer queue is bounded: when the writer cannot keep up, writes fail
//! at once with `Unavailable` instead of piling up in memory.

mod common;

use std::task::Poll;

use inlet_store::{Store, StoreError};
use inlet_store_sqlite::{DATABASE_FILE, SqliteSettings, SqliteStore};

use common::empty_batch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_write_queue_answers_unavailable_at_once_and_drains_after() {
    const QUEUE: usize = 3;
    let dir = tempfile::tempdir().expect("temp dir");
    // Nothing mapped: the store works the same without it.
    let settings = SqliteSettings {
        queue_items: QUEUE,
        mmap_bytes: 0,
    };
    let store = SqliteStore::open_with(dir.path(), &settings).expect("open");

    // Another connection holds the write lock, so the writer stalls on its
    // first job while the queue fills behind it.
    let blocker = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).expect("blocker");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");

    // Poll each write once: a queued one stays pending, a refused one is
    // ready at once. Each empty batch counts as one item.
    let mut pending = Vec::new();
    let refused = loop {
        assert!(pending.len() < 100, "the queue never filled");
        let mut write = store.ingest(empty_batch(pending.len()));
        match futures::poll!(&mut write) {
            Poll::Ready(result) => break result,
            Poll::Pending => pending.push(write),
        }
    };
    assert!(
        matches!(&refused, Err(StoreError::Unavailable(message)) if message.contains("queue is full")),
        "{refused:?}"
    );
    assert_eq!(pending.len(), QUEUE, "one item each, QUEUE items admitted");

    blocker.execute_batch("ROLLBACK").expect("unlock");
    for write in pending {
        let result = write.await;
        assert!(result.is_ok(), "queued writes complete: {result:?}");
    }
}
