//! inlet's HTTP surface: authentication (headers or bearer tokens), the
//! ASAPP-compatible ingestion endpoints, read-back, health, and the
//! Creovai-compatible call metadata (tokens, calls, out-of-band events,
//! matching rules). No SQL here: everything goes through
//! `Arc<dyn Store>`, so the same router runs on either backend.
//!
//! [`app`] builds the router from an [`AppState`]; [`serve`] runs it on a
//! listener until a shutdown future resolves, finishing in-flight requests.

mod auth;
mod batch;
mod body;
mod call;
mod call_event;
mod context;
mod error;
mod health;
mod ingest;
mod key;
mod limit;
mod metrics;
mod openapi;
mod page;
mod read;
mod rules;
mod timeout;
mod token;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use inlet_domain::Clock;
use inlet_store::Store;
use tokio::net::TcpListener;

pub use auth::{API_ID_HEADER, API_SECRET_HEADER, Caller, CredentialCache};
pub use batch::MAX_BATCH_ITEMS;
pub use call_event::{UNMATCHED_SWEEP_INTERVAL, sweep_unmatched};
pub use context::REQUEST_ID_HEADER;
pub use error::ApiError;
pub use key::{IssuedKey, issue_key};
pub use limit::{DEFAULT_BURST, DEFAULT_RATE_PER_SECOND, Limiter, RateLimits};
pub use metrics::{install_recorder, metrics_router};
pub use token::{DEFAULT_TOKEN_LIFETIME, TokenKey};

/// How long a pending call event waits for a call before it is reported
/// unmatched (DESIGN.md §6: 24 h).
pub const DEFAULT_PENDING_TTL: Duration = Duration::from_secs(24 * 3600);

/// Settings of the call-metadata endpoints.
#[derive(Debug, Clone, Copy)]
pub struct CallSettings {
    /// How long a pending event waits for a call, from its receipt.
    pub pending_ttl: Duration,
    /// How long a bearer token from `POST /Token` lives.
    pub token_lifetime: Duration,
}

impl Default for CallSettings {
    fn default() -> Self {
        Self {
            pending_ttl: DEFAULT_PENDING_TTL,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
        }
    }
}

impl CallSettings {
    /// Pending events received before this are unmatched at `now`: an
    /// event's TTL is over once `now` reaches its receipt plus the TTL.
    pub fn expired_before(&self, now: inlet_domain::Timestamp) -> inlet_domain::Timestamp {
        let seconds = i64::try_from(self.pending_ttl.as_secs()).unwrap_or(i64::MAX);
        inlet_domain::Timestamp::from_micros(now.plus_seconds(-seconds).as_micros() + 1)
    }
}

/// The default request body cap: 8 MiB (DESIGN.md §6).
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The default pause allowed while a request body arrives (DESIGN.md §6).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The default time a request may take from its first byte to its answer:
/// a full body read plus a slow commit.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Limits the server enforces on every request.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body in bytes; larger answers 413 `413-01`.
    pub max_body_bytes: usize,
    /// Per-key rate and quota defaults; a key's own limits override them.
    pub rate: RateLimits,
    /// Longest pause while reading a body; longer answers 408 `408-01`.
    pub body_read_timeout: Duration,
    /// Longest a request may take; longer answers 503 `503-01`.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            rate: RateLimits::default(),
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Everything a handler needs, behind one reference count: axum clones the
/// state for every middleware and extractor that takes it, several times a
/// request, and each clone of a struct of `Arc`s was an atomic update per
/// field, on counters every worker thread shares.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of an [`AppState`]; its fields are reached through it.
#[derive(Clone)]
pub struct Shared {
    /// Where data lives.
    pub store: Arc<dyn Store>,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Recently looked-up keys.
    pub credentials: Arc<CredentialCache>,
    /// Request limits.
    pub limits: Limits,
    /// Per-key rate and quota state.
    pub limiter: Arc<Limiter>,
    /// Settings of the call-metadata endpoints.
    pub calls: CallSettings,
    /// The secret bearer tokens are signed with, read on first use.
    pub tokens: Arc<TokenKey>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// State over `store` with the given clock and limits.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, limits: Limits) -> Self {
        Self(Arc::new(Shared {
            store,
            clock,
            credentials: Arc::default(),
            limits,
            limiter: Arc::default(),
            calls: CallSettings::default(),
            tokens: Arc::default(),
        }))
    }

    /// This state with other call-metadata settings.
    #[must_use]
    pub fn with_call_settings(mut self, calls: CallSettings) -> Self {
        Arc::make_mut(&mut self.0).calls = calls;
        self
    }
}

/// The router with every route and the request-context middleware.
pub fn app(state: AppState) -> Router {
    const V1: &str = "/metadata-ingestion/v1";
    Router::new()
        .route(
            &format!("{V1}/single-convo-metadata"),
            post(ingest::ingest_conversation),
        )
        .route(
            &format!("{V1}/many-convo-metadata"),
            post(ingest::ingest_conversations),
        )
        .route(
            &format!("{V1}/single-customer-metadata"),
            post(ingest::ingest_customer),
        )
        .route(
            &format!("{V1}/many-customer-metadata"),
            post(ingest::ingest_customers),
        )
        .route(
            &format!("{V1}/single-agent-metadata"),
            post(ingest::ingest_agent),
        )
        .route(
            &format!("{V1}/many-agent-metadata"),
            post(ingest::ingest_agents),
        )
        .route(
            &format!("{V1}/conversations/{{id}}"),
            get(read::show_conversation),
        )
        .route(&format!("{V1}/customers/{{id}}"), get(read::show_customer))
        .route(&format!("{V1}/agents/{{id}}"), get(read::show_agent))
        .route(&format!("{V1}/events/{{event_id}}"), get(read::show_event))
        .route(&format!("{V1}/rejections"), get(read::list_rejections))
        .route("/v1/health", get(health::health_check))
        .route("/Token", post(token::issue_token))
        .route("/callevent/v1/calls", post(call::register_calls))
        .route("/callevent/v1/calls/{session_id}", get(call::show_call))
        .route(
            "/callevent/v1/outofband/event",
            post(call_event::receive_event),
        )
        .route(
            "/callevent/v1/outofband/events",
            get(call_event::list_events),
        )
        .route(
            "/callevent/v1/matching-rules",
            get(rules::show_rules).put(rules::replace_rules),
        )
        .merge(openapi::routes())
        .merge(metrics::routes())
        .fallback(|| async { ApiError::not_found("no such path") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::from_fn(limit::rate_limit_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            timeout::request_timeout,
        ))
        .layer(axum::middleware::from_fn(context::request_context))
        .with_state(state)
}

/// Serves only `/metrics` on `listener` (the `--metrics-listen` address)
/// until `shutdown` resolves.
pub async fn serve_metrics(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, metrics_router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then stops
/// accepting and waits for in-flight requests (and so their commits).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(sweep_unmatched_events(state.clone()));
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await;
    // Waiting for the aborted task drops its state, and with it its handle
    // on the store, before the caller waits for the store to close.
    sweeper.abort();
    let _ = sweeper.await;
    served
}

/// Every [`UNMATCHED_SWEEP_INTERVAL`], counts the call events that reached
/// their TTL unattached; a failed sweep is retried at the next tick (the
/// events stay counted by the next one).
async fn sweep_unmatched_events(state: AppState) {
    let mut ticks = tokio::time::interval(UNMATCHED_SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(err) = call_event::sweep_unmatched(&state).await {
            tracing::warn!(error = %err, "cannot count the unmatched call events");
        }
    }
}
