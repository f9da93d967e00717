//! The store conformance suite on PostgreSQL, each case in a fresh database
//! on the server `INLET_TEST_PG_URL` names (skipped, saying so, without it).

use inlet_store_postgres::scratch::ScratchDatabase;
use inlet_store_postgres::{PgSettings, PgStore};
use tokio::sync::{Mutex, MutexGuard};

/// Cases run one at a time. Listings show only rows of transactions older
/// than every write transaction still running on the server (the safe
/// horizon), so another case's transaction in flight would delay what a
/// case has just written past its immediate read.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// The guard: the database is dropped before the next case may start, as
/// tuple fields drop in order (a `DROP DATABASE` is a write transaction too).
async fn fresh_store() -> Option<(PgStore, (ScratchDatabase, MutexGuard<'static, ()>))> {
    let turn = ONE_AT_A_TIME.lock().await;
    let database = ScratchDatabase::create("the PostgreSQL store conformance cases").await?;
    let store = PgStore::connect(&PgSettings::new(database.url()))
        .await
        .expect("connect to the test database");
    Some((store, (database, turn)))
}

inlet_store::store_conformance_tests!(optional fresh_store());
