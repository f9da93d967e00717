//! Dropping the store ends its threads after the last commit, and the final
//! checkpoint leaves the WAL empty.

mod common;

use std::time::Duration;

use inlet_store::Store;
use inlet_store_sqlite::{DATABASE_FILE, SqliteStore};

use common::empty_batch;

#[tokio::test]
async fn dropping_every_clone_ends_the_threads_and_empties_the_wal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let closed = store.closed().expect("the first call gets the handle");
    assert!(store.closed().is_none(), "only one caller can wait");
    let batch = empty_batch(0);
    let clone = store.clone();
    store.ingest(batch).await.expect("ingest");
    drop(store);
    drop(clone);
    let ended = tokio::task::spawn_blocking(move || closed.wait(Duration::from_secs(10)))
        .await
        .expect("join");
    assert!(ended, "the threads end once no clone is left");
    let wal = dir.path().join(format!("{DATABASE_FILE}-wal"));
    let size = std::fs::metadata(&wal).map_or(0, |meta| meta.len());
    assert_eq!(size, 0, "the final checkpoint truncates the WAL");
}
