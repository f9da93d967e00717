//! inlet's scale-out store: PostgreSQL, shared by any number of stateless
//! inlet nodes.
//!
//! Every operation takes a connection from a bounded pool and runs one
//! transaction; PostgreSQL's own group commit makes concurrent requests share
//! WAL flushes, and `synchronous_commit` (on by default) makes a returned
//! `ingest` durable. Correctness across nodes comes from the database alone:
//! entity rows are locked in one global order ([`ingest`](crate::ingest)),
//! eventIds are a primary key, and listings read behind a safe horizon
//! ([`inlet_store::Position`]).
//!
//! No operation waits forever: getting a connection, connecting, and each
//! operation as a whole have deadlines, past which the store answers
//! `Unavailable` (503 upstream) and the pool replaces broken connections by
//! itself when the server is back.

mod call;
mod credential;
mod error;
mod ingest;
mod read;
mod schema;

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Client, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use inlet_domain::{ApiId, EntityId, EntityKind, EventId, TenantId, Timestamp};
use inlet_match::{RuleSet, SessionId};
use inlet_store::{
    CallBatch, CallEventOutcome, CallEventQuery, CallEventView, CallView, CallsWritten, Credential,
    EntityView, EntryOutcome, IngestBatch, NewCallEvent, NewCredential, Page, Rejection,
    RejectionQuery, Store, StoreError, StoredEvent, WriteQueue, matching,
};
use tokio_postgres::NoTls;

use inlet_store::matching::RuleCache;

use crate::call::PgMatch;
use crate::error::{pool_error, store_error};

/// Connections each node keeps at most. PostgreSQL's default
/// `max_connections` is 100; 16 per node leaves room for several nodes and
/// for operators, and is more than a 2–8 core database can run at once.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// Longest one SQL statement may run on the server before it is cancelled.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest a new connection may take to open.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How to reach PostgreSQL and how many resources to take there.
#[derive(Debug, Clone)]
pub struct PgSettings {
    /// A `postgres://user:password@host:port/database` URL (or key=value
    /// connection string). TLS is not supported: connect over a private
    /// network or a local socket.
    pub url: String,
    /// Connections this node keeps at most.
    pub pool_size: usize,
    /// Longest one statement may run (server-side `statement_timeout`).
    pub statement_timeout: Duration,
    /// Longest a new connection may take to open.
    pub connect_timeout: Duration,
    /// Items that may wait for a connection or be written at once; past
    /// that, writes answer `Unavailable` at once.
    pub queue_items: usize,
}

impl PgSettings {
    /// Settings with the defaults for everything but the URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: DEFAULT_POOL_SIZE,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            queue_items: 20_000,
        }
    }
}

/// The PostgreSQL store. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Deadline of one whole store operation, past which it answers
    /// `Unavailable` even if the network went silent (no reset, no
    /// answer), where neither the server's timeout nor TCP would notice.
    operation_timeout: Duration,
    /// Room for items being written or waiting to be.
    queue: Arc<WriteQueue>,
    /// Parsed matching rules, checked against their stored version.
    rules: Arc<RuleCache>,
}

impl PgStore {
    /// Connects, applies migrations and returns the store. Fails with
    /// `Unavailable` when the server cannot be reached.
    pub async fn connect(settings: &PgSettings) -> Result<Self, StoreError> {
        let store = Self::connect_without_migrating(settings)?;
        store.migrate().await?;
        Ok(store)
    }

    /// Builds the pool without touching the server; connections are opened
    /// on first use.
    pub fn connect_without_migrating(settings: &PgSettings) -> Result<Self, StoreError> {
        let config = pg_config(settings)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // A connection that a failure closed is replaced; the
                // server's health is not probed on every checkout.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(settings.statement_timeout))
            .create_timeout(Some(settings.connect_timeout))
            .recycle_timeout(Some(settings.connect_timeout))
            .build()
            .map_err(|err| StoreError::Other(format!("postgres connection pool: {err}")))?;
        Ok(Self {
            pool,
            operation_timeout: settings.statement_timeout + settings.connect_timeout,
            queue: Arc::new(WriteQueue::new(settings.queue_items, "postgres")),
            rules: Arc::default(),
        })
    }

    /// Brings the schema up to date; the version it was at before. Safe
    /// while other nodes start or run: they wait for the migration lock.
    pub async fn migrate(&self) -> Result<Migration, StoreError> {
        let mut client = self.client().await?;
        let before = schema::migrate(&mut client).await.map_err(store_error)?;
        if before > schema::LATEST {
            return Err(StoreError::Other(format!(
                "the database schema is at version {before}, newer than this inlet knows \
                 ({}); run a newer inlet",
                schema::LATEST
            )));
        }
        Ok(Migration {
            before,
            after: schema::LATEST.max(before),
        })
    }

    async fn client(&self) -> Result<Client, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Runs `operation` within the operation deadline.
    async fn timed<T>(
        &self,
        operation: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.operation_timeout, operation)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "postgres did not answer within {} s",
                    self.operation_timeout.as_secs()
                )))
            })
    }
}

/// What [`PgStore::migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The schema version found.
    pub before: usize,
    /// The schema version now.
    pub after: usize,
}

/// The driver's configuration from the URL and the settings' timeouts.
fn pg_config(settings: &PgSettings) -> Result<tokio_postgres::Config, StoreError> {
    // The URL may hold a password: the error names the problem, not the URL.
    let mut config = tokio_postgres::Config::from_str(&settings.url).map_err(|err| {
        StoreError::Other(format!(
            "the database URL is not a PostgreSQL connection string \
             (postgres://user:password@host:port/database): {err}"
        ))
    })?;
    let statement_ms = settings.statement_timeout.as_millis();
    config
        .application_name("inlet")
        .connect_timeout(settings.connect_timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        // NOTICEs (such as "relation already exists, skipping") are not
        // worth a log line on every start.
        .options(format!(
            "-c statement_timeout={statement_ms} -c client_min_messages=warning"
        ));
    Ok(config)
}

fn found<T>(value: Option<T>) -> Result<T, StoreError> {
    value.ok_or(StoreError::NotFound)
}

#[async_trait]
impl Store for PgStore {
    async fn ingest(&self, batch: IngestBatch) -> Result<Vec<EntryOutcome>, StoreError> {
        let _queued = self.queue.enter(batch.entries.len())?;
        self.timed(async {
            let started = std::time::Instant::now();
            let mut client = self.client().await?;
            let outcomes = ingest::ingest(&mut client, &batch).await?;
            metrics::histogram!("inlet_commit_items").record(batch.entries.len() as f64);
            metrics::histogram!("inlet_commit_seconds").record(started.elapsed().as_secs_f64());
            Ok(outcomes)
        })
        .await
    }

    async fn get_entity(
        &self,
        tenant: &TenantId,
        kind: EntityKind,
        id: &EntityId,
    ) -> Result<EntityView, StoreError> {
        self.timed(async {
            let mut client = self.client().await?;
            found(read::entity(&mut client, tenant, kind, id).await?)
        })
        .await
    }

    async fn get_event(
        &self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<StoredEvent, StoreError> {
        self.timed(async {
            let client = self.client().await?;
            found(read::event(&client, tenant, event_id).await?)
        })
        .await
    }

    async fn list_rejections(
        &self,
        tenant: &TenantId,
        query: RejectionQuery,
    ) -> Result<Page<Rejection>, StoreError> {
        self.timed(async {
            let client = self.client().await?;
            read::rejections(&client, tenant, query).await
        })
        .await
    }

    async fn insert_credential(&self, credential: NewCredential) -> Result<(), StoreError> {
        self.timed(async {
            let client = self.client().await?;
            credential::insert(&client, &credential).await
        })
        .await
    }

    async fn find_credential(&self, api_id: &ApiId) -> Result<Option<Credential>, StoreError> {
        self.timed(async {
            let client = self.client().await?;
            credential::find(&client, api_id).await
        })
        .await
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        self.timed(async {
            let client = self.client().await?;
            credential::list(&client).await
        })
        .await
    }

    async fn revoke_credential(&self, api_id: &ApiId, at: Timestamp) -> Result<(), StoreError> {
        self.timed(async {
            let client = self.client().await?;
            credential::revoke(&client, api_id, at).await
        })
        .await
    }

    async fn put_calls(&self, batch: CallBatch) -> Result<CallsWritten, StoreError> {
        self.timed(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(store_error)?;
            let mut reads = PgMatch(&tx);
            reads.lock_tenant(&batch.tenant).await?;
            let outcomes = matching::put_calls(&mut reads, &self.rules, &batch).await?;
            tx.commit().await.map_err(store_error)?;
            Ok(outcomes)
        })
        .await
    }

    async fn get_call(
        &self,
        tenant: &TenantId,
        session_id: &SessionId,
    ) -> Result<CallView, StoreError> {
        self.timed(async {
            let mut client = self.client().await?;
            found(call::call_view(&mut client, tenant, session_id).await?)
        })
        .await
    }

    async fn insert_call_event(
        &self,
        event: NewCallEvent,
        expired_before: Timestamp,
    ) -> Result<CallEventOutcome, StoreError> {
        self.timed(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(store_error)?;
            let mut reads = PgMatch(&tx);
            reads.lock_tenant(&event.tenant).await?;
            let outcome =
                matching::insert_call_event(&mut reads, &self.rules, &event, None, expired_before)
                    .await?;
            tx.commit().await.map_err(store_error)?;
            Ok(outcome)
        })
        .await
    }

    async fn list_call_events(
        &self,
        tenant: &TenantId,
        query: CallEventQuery,
    ) -> Result<Page<CallEventView>, StoreError> {
        self.timed(async {
            let client = self.client().await?;
            call::call_events(&client, tenant, query).await
        })
        .await
    }

    async fn put_matching_rules(
        &self,
        tenant: &TenantId,
        rules: RuleSet,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        // Re-keying every call of a large tenant takes longer than one
        // request: this one runs without the operation deadline (each
        // statement still has the statement timeout).
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(store_error)?;
        let mut reads = PgMatch(&tx);
        reads.lock_tenant(tenant).await?;
        let late_matches = matching::put_rules(&mut reads, tenant, &rules, at).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(late_matches)
    }

    async fn get_matching_rules(&self, tenant: &TenantId) -> Result<RuleSet, StoreError> {
        self.timed(async {
            let client = self.client().await?;
            call::rules(&client, tenant).await
        })
        .await
    }

    async fn sweep_unmatched(&self, expired_before: Timestamp) -> Result<u64, StoreError> {
        self.timed(async {
            let mut client = self.client().await?;
            call::sweep_unmatched(&mut client, expired_before).await
        })
        .await
    }

    async fn token_secret(&self, candidate: [u8; 32]) -> Result<[u8; 32], StoreError> {
        self.timed(async {
            let client = self.client().await?;
            call::token_secret(&client, candidate).await
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed(async {
            let client = self.client().await?;
            client.simple_query("SELECT 1").await.map_err(store_error)?;
            Ok(())
        })
        .await
    }
}

#[cfg(feature = "scratch")]
pub mod scratch;
