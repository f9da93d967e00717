//! The store conformance suite on the embedded SQLite backend.

use inlet_store_sqlite::SqliteStore;

async fn fresh_store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open store");
    (store, dir)
}

inlet_store::store_conformance_tests!(fresh_store());
