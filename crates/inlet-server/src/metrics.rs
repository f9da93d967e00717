//! Prometheus metrics (`/metrics`) and the unauthenticated probes
//! (`/livez`, `/readyz`).
//!
//! Code anywhere in the process records through the `metrics` facade macros;
//! they are no-ops until [`install_recorder`] puts the Prometheus recorder in
//! place. The handle that renders the scrape lives in a process-wide
//! `OnceLock` rather than in `AppState`: there is one global recorder per
//! process anyway, installing is idempotent (tests start many apps in one
//! process), and `/metrics` can then be served by the main router and by
//! [`metrics_router`] on a separate listener alike.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use inlet_domain::EntityKind;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};

use crate::{ApiError, AppState, context};

/// Upper bounds of the request latency buckets, in seconds: from a cached
/// read (~1 ms) to a 1000-item batch waiting on a busy disk, past the
/// default request timeout.
const REQUEST_SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds of the group-commit duration buckets, in seconds: one fsync
/// on an SSD is ~0.5 ms; a full 8000-item group on a slow disk, seconds.
const COMMIT_SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Upper bounds of the items-per-group-commit buckets: 1 is an idle server,
/// the writer's group cap is 8000 and one batch of up to 1000 may go past it.
const COMMIT_ITEMS_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];

/// How often buffered histogram samples are folded into their buckets when
/// nobody scrapes (the exporter's own default interval).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The Prometheus text exposition format.
const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the process's global `metrics`
/// recorder (once; later calls return the same handle) and starts a thread
/// that keeps its histograms drained between scrapes.
pub fn install_recorder() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = builder().build_recorder();
            let handle = recorder.handle();
            if let Err(err) = metrics::set_global_recorder(recorder) {
                // Only if something other than this function installed a
                // recorder first; `/metrics` then renders an empty page.
                tracing::warn!(error = %err, "cannot install the prometheus recorder");
            }
            describe();
            spawn_upkeep(handle.clone());
            handle
        })
        .clone()
}

/// The `# HELP` lines of every metric DESIGN.md §3b names, wherever it is
/// recorded; each shows once its metric has a sample.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "inlet_http_requests_total",
        "HTTP requests answered, by route template and status code"
    );
    describe_histogram!(
        "inlet_http_request_seconds",
        Unit::Seconds,
        "Time from a request's arrival to its answer, by route template"
    );
    describe_counter!(
        "inlet_items_total",
        "Ingested items by kind and outcome (accepted, rejected, duplicate, conflict)"
    );
    describe_counter!(
        "inlet_rate_limited_total",
        "Requests refused by a rate limit or quota"
    );
    describe_counter!(
        "inlet_shed_total",
        "Requests refused because the server was too busy"
    );
    describe_histogram!(
        "inlet_commit_items",
        Unit::Count,
        "Items written per group commit"
    );
    describe_histogram!(
        "inlet_commit_seconds",
        Unit::Seconds,
        "Time one group commit took, fsync included"
    );
    describe_gauge!(
        "inlet_write_queue_items",
        Unit::Count,
        "Items waiting for or being written by the store's writer"
    );
    describe_counter!(
        "inlet_call_events_total",
        "Out-of-band call events entering a status: matched (on arrival or later), \
         pending (on arrival), unmatched (past their TTL)"
    );
}

/// The exporter configuration: buckets for every histogram DESIGN.md §3b names.
fn builder() -> PrometheusBuilder {
    let buckets = [
        ("inlet_http_request_seconds", REQUEST_SECONDS_BUCKETS),
        ("inlet_commit_seconds", COMMIT_SECONDS_BUCKETS),
        ("inlet_commit_items", COMMIT_ITEMS_BUCKETS),
    ];
    buckets
        .into_iter()
        .fold(PrometheusBuilder::new(), |builder, (name, values)| {
            builder
                .set_buckets_for_metric(Matcher::Full(name.to_owned()), values)
                // Fails only for an empty list; the lists above are constants.
                .expect("bucket lists are not empty")
        })
}

/// Without upkeep, histogram samples pile up in memory until the next scrape;
/// a plain thread because installing may happen before any runtime exists.
fn spawn_upkeep(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name("inlet-metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
    if let Err(err) = started {
        tracing::warn!(error = %err, "cannot start the metrics upkeep thread; scrapes still drain");
    }
}

/// The request series of one route, registered once per thread: recording
/// through a kept handle is an atomic add, where the macros would build,
/// hash and look up a labelled key on every request. Each worker thread
/// keeps its own handles (of the same series), so no lock is shared.
struct RouteSeries {
    latency: Histogram,
    by_status: Vec<(u16, Counter)>,
}

thread_local! {
    static ROUTE_SERIES: RefCell<HashMap<String, RouteSeries>> = RefCell::default();
    static ITEM_COUNTERS: RefCell<Vec<((EntityKind, &'static str), Counter)>> = RefCell::default();
}

/// Counts one answered request and its latency in
/// `inlet_http_requests_total{route,status}` and
/// `inlet_http_request_seconds{route}`. `route` is a route template (or
/// `unmatched`), never a raw path, so ids cannot multiply the series.
/// Records nothing until [`install_recorder`] ran: handles taken before
/// would stay no-ops.
pub(crate) fn record_request(route: &str, status: u16, latency: Duration) {
    if HANDLE.get().is_none() {
        return;
    }
    ROUTE_SERIES.with_borrow_mut(|routes| {
        let series = match routes.get_mut(route) {
            Some(series) => series,
            None => routes.entry(route.to_owned()).or_insert_with(|| RouteSeries {
                latency: metrics::histogram!("inlet_http_request_seconds", "route" => route.to_owned()),
                by_status: Vec::new(),
            }),
        };
        series.latency.record(latency.as_secs_f64());
        kept(&mut series.by_status, status, || {
            metrics::counter!(
                "inlet_http_requests_total",
                "route" => route.to_owned(),
                "status" => status.to_string()
            )
        })
        .increment(1);
    });
}

/// Adds `count` to `inlet_items_total{kind,outcome}`, through a handle kept
/// per thread once [`install_recorder`] ran; before that (or under a
/// test's local recorder) through the facade, as any other metric.
pub(crate) fn count_items(kind: EntityKind, outcome: &'static str, count: u64) {
    let counter =
        || metrics::counter!("inlet_items_total", "kind" => kind.as_str(), "outcome" => outcome);
    if HANDLE.get().is_none() {
        counter().increment(count);
        return;
    }
    ITEM_COUNTERS.with_borrow_mut(|counters| {
        kept(counters, (kind, outcome), counter).increment(count);
    });
}

/// The handle kept under `key`, registered with `register` the first time.
/// The lists are a handful long (statuses of a route, outcomes), so a scan
/// beats hashing.
fn kept<K: PartialEq, H>(handles: &mut Vec<(K, H)>, key: K, register: impl FnOnce() -> H) -> &H {
    let index = match handles.iter().position(|(kept, _)| *kept == key) {
        Some(index) => index,
        None => {
            handles.push((key, register()));
            handles.len() - 1
        }
    };
    &handles[index].1
}

/// A router serving only `/metrics`, for a listener of its own
/// (`--metrics-listen`), with the same request ids, logs and error envelopes.
pub fn metrics_router() -> Router {
    Router::new()
        .route("/metrics", get(show_metrics))
        .fallback(|| async { ApiError::not_found("no such path") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::from_fn(context::request_context))
}

/// The probes and `/metrics`, merged into the main router; none needs a key.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/livez", get(show_liveness))
        .route("/readyz", get(show_readiness))
        .route("/metrics", get(show_metrics))
}

/// `GET /livez`: 200 while the process can answer at all.
async fn show_liveness() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 when the store answers, else 503 `503-01` so a load
/// balancer sends traffic elsewhere (a stopped writer fails the ping too).
async fn show_readiness(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(json!({"status": "ok"}))),
        Err(err) => {
            tracing::warn!(error = %err, "not ready: the store does not answer");
            Err(ApiError::unavailable())
        }
    }
}

/// `GET /metrics`: the Prometheus text page, or 404 `404-01` when this
/// process never installed the recorder.
async fn show_metrics() -> Response {
    render(HANDLE.get())
}

fn render(handle: Option<&PrometheusHandle>) -> Response {
    let Some(handle) = handle else {
        return ApiError::not_found("metrics are not enabled").into_response();
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROMETHEUS_CONTENT_TYPE),
        )],
        handle.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::http::StatusCode;
    use inlet_domain::{ApiId, EntityId, EntityKind, EventId, FixedClock, TenantId, Timestamp};
    use inlet_match::{RuleSet, SessionId};
    use inlet_store::{
        CallBatch, CallEventOutcome, CallEventQuery, CallEventView, CallView, CallsWritten,
        Credential, EntityView, EntryOutcome, IngestBatch, NewCallEvent, NewCredential, Page,
        Rejection, RejectionQuery, Store, StoreError, StoredEvent,
    };

    use super::*;
    use crate::Limits;

    /// A store whose writer has stopped: every call is `Unavailable`.
    struct StoppedStore;

    fn stopped<T>() -> Result<T, StoreError> {
        Err(StoreError::Unavailable("sqlite writer stopped".into()))
    }

    #[async_trait::async_trait]
    impl Store for StoppedStore {
        async fn ingest(&self, _: IngestBatch) -> Result<Vec<EntryOutcome>, StoreError> {
            stopped()
        }
        async fn get_entity(
            &self,
            _: &TenantId,
            _: EntityKind,
            _: &EntityId,
        ) -> Result<EntityView, StoreError> {
            stopped()
        }
        async fn get_event(&self, _: &TenantId, _: &EventId) -> Result<StoredEvent, StoreError> {
            stopped()
        }
        async fn list_rejections(
            &self,
            _: &TenantId,
            _: RejectionQuery,
        ) -> Result<Page<Rejection>, StoreError> {
            stopped()
        }
        async fn insert_credential(&self, _: NewCredential) -> Result<(), StoreError> {
            stopped()
        }
        async fn find_credential(&self, _: &ApiId) -> Result<Option<Credential>, StoreError> {
            stopped()
        }
        async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
            stopped()
        }
        async fn revoke_credential(&self, _: &ApiId, _: Timestamp) -> Result<(), StoreError> {
            stopped()
        }
        async fn ping(&self) -> Result<(), StoreError> {
            stopped()
        }
        async fn put_calls(&self, _: CallBatch) -> Result<CallsWritten, StoreError> {
            stopped()
        }
        async fn get_call(&self, _: &TenantId, _: &SessionId) -> Result<CallView, StoreError> {
            stopped()
        }
        async fn insert_call_event(
            &self,
            _: NewCallEvent,
            _: Timestamp,
        ) -> Result<CallEventOutcome, StoreError> {
            stopped()
        }
        async fn list_call_events(
            &self,
            _: &TenantId,
            _: CallEventQuery,
        ) -> Result<Page<CallEventView>, StoreError> {
            stopped()
        }
        async fn put_matching_rules(
            &self,
            _: &TenantId,
            _: RuleSet,
            _: Timestamp,
        ) -> Result<u64, StoreError> {
            stopped()
        }
        async fn get_matching_rules(&self, _: &TenantId) -> Result<RuleSet, StoreError> {
            stopped()
        }
        async fn sweep_unmatched(&self, _: Timestamp) -> Result<u64, StoreError> {
            stopped()
        }
        async fn token_secret(&self, _: [u8; 32]) -> Result<[u8; 32], StoreError> {
            stopped()
        }
    }

    #[tokio::test]
    async fn readiness_answers_503_01_when_the_store_does_not_answer() {
        let state = AppState::new(
            Arc::new(StoppedStore),
            Arc::new(FixedClock::new(Timestamp::from_micros(0))),
            Limits::default(),
        );
        let error = show_readiness(State(state))
            .await
            .expect_err("a stopped store is not ready");
        assert_eq!(
            (error.status(), error.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "503-01")
        );
    }

    #[test]
    fn metrics_without_a_recorder_answer_404_01() {
        let response = render(None);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let error = response
            .extensions()
            .get::<ApiError>()
            .expect("an ApiError");
        assert_eq!(error.code(), "404-01");
    }

    #[test]
    fn installing_the_recorder_twice_returns_a_working_handle_both_times() {
        let first = install_recorder();
        let second = install_recorder();
        metrics::counter!("inlet_test_installs_total").increment(1);
        assert!(first.render().contains("inlet_test_installs_total"));
        assert!(second.render().contains("inlet_test_installs_total"));
    }

    #[test]
    fn every_named_histogram_renders_with_its_buckets() {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!("inlet_http_request_seconds", "route" => "/livez").record(0.003);
            metrics::histogram!("inlet_commit_seconds").record(0.0007);
            metrics::histogram!("inlet_commit_items").record(1000.0);
        });
        let page = handle.render();
        for line in [
            r#"inlet_http_request_seconds_bucket{route="/livez",le="0.005"} 1"#,
            r#"inlet_http_request_seconds_bucket{route="/livez",le="0.0025"} 0"#,
            r#"inlet_commit_seconds_bucket{le="0.001"} 1"#,
            r#"inlet_commit_items_bucket{le="1000"} 1"#,
            r#"inlet_commit_items_bucket{le="500"} 0"#,
        ] {
            assert!(page.lines().any(|l| l == line), "no {line:?} in\n{page}");
        }
    }
}
