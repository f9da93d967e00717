//! A write is acknowledged only after the WAL is synced to disk, and a sync
//! that fails stops the store: nothing written after it may be acknowledged.

mod common;

use inlet_store::{Store, StoreError};
use inlet_store_sqlite::{DATABASE_FILE, SqliteStore};

use common::empty_batch;

#[tokio::test]
async fn a_failed_sync_fails_the_write_and_every_write_after_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    store.ingest(empty_batch(0)).await.expect("a write before");
    store.ping().await.expect("ready before");

    // SQLite keeps writing through its open descriptor; the sync, which
    // opens the WAL by name, cannot reach the file any more.
    let wal = dir.path().join(format!("{DATABASE_FILE}-wal"));
    std::fs::remove_file(&wal).expect("remove the WAL");

    let failed = store.ingest(empty_batch(1)).await;
    assert!(
        matches!(&failed, Err(StoreError::Unavailable(message)) if message.contains("cannot sync")),
        "{failed:?}"
    );
    let ping = store.ping().await;
    assert!(
        matches!(&ping, Err(StoreError::Unavailable(message)) if message.contains("restarted")),
        "not ready after a failed sync: {ping:?}"
    );
    let after = store.ingest(empty_batch(2)).await;
    assert!(
        matches!(after, Err(StoreError::Unavailable(_))),
        "{after:?}"
    );
}
