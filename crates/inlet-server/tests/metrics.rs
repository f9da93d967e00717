//! The Prometheus counters move by exactly what a known workload does.
//!
//! A test binary of its own with a single test: the `metrics` recorder is
//! global to the process, and the API tests (one binary, run concurrently)
//! ingest too, so in their process a delta could include their items. Here
//! nothing else runs, so every delta below is exact.

// `pub` inside a test binary only shares items between its modules.
#![allow(unreachable_pub)]

#[path = "api/helpers.rs"]
mod helpers;

use std::collections::BTreeMap;

use inlet_domain::Clock;
use serde_json::json;

use helpers::{TestApp, V1, assert_error, batch, ok_json, spawn_app};

/// One scrape: every sample by its series (`name{labels}`).
type Scrape = BTreeMap<String, f64>;

async fn scrape(app: &TestApp) -> Scrape {
    samples(&scrape_page(app).await)
}

/// The `/metrics` page as text.
async fn scrape_page(app: &TestApp) -> String {
    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.expect("body")
}

fn samples(page: &str) -> Scrape {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("series value");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

/// The series named `name` (with any labels) whose value changed, and by how much.
fn deltas(before: &Scrape, after: &Scrape, name: &str) -> BTreeMap<String, f64> {
    after
        .iter()
        .filter(|(series, _)| {
            series
                .strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('{'))
        })
        .map(|(series, value)| (series.clone(), value - before.get(series).unwrap_or(&0.0)))
        .filter(|(_, delta)| *delta != 0.0)
        .collect()
}

/// How much one unlabelled series moved.
fn moved(before: &Scrape, after: &Scrape, series: &str) -> f64 {
    let value = |scrape: &Scrape| scrape.get(series).copied().unwrap_or(0.0);
    value(after) - value(before)
}

fn expected(name: &str, rows: &[(&str, f64)]) -> BTreeMap<String, f64> {
    rows.iter()
        .map(|(labels, value)| (format!("{name}{{{labels}}}"), *value))
        .collect()
}

#[tokio::test]
async fn a_known_workload_moves_every_counter_by_exactly_its_size() {
    inlet_server::install_recorder();
    let app = spawn_app().await;
    let before = scrape(&app).await;

    // 3 accepted + 1 rejected conversation items in one batch.
    let items: Vec<_> = (1..=3)
        .map(|n| json!({"externalConversationId": format!("c-{n}"), "eventId": format!("m-{n}")}))
        .chain([json!({"eventId": "m-bad", "lobId": "1"})])
        .collect();
    ok_json(app.many("convo", &batch(&items)).await).await;
    // The first item again (duplicate), then its eventId with other content (conflict).
    let single = format!("{V1}/single-convo-metadata");
    assert_error(
        app.post(&single, &items[0].to_string()).await,
        409,
        "409-01",
    )
    .await;
    let changed = json!({"externalConversationId": "c-1", "eventId": "m-1", "lobId": "2"});
    assert_error(app.post(&single, &changed.to_string()).await, 409, "409-02").await;
    // One customer item.
    let customer = json!({"externalConversationId": "c-1", "externalCustomerId": "u-1"});
    ok_json(app.single("customer", &customer.to_string()).await).await;
    // Reads: two found, one not; a request without a key; an unknown path.
    ok_json(app.conversation("c-1").await).await;
    ok_json(app.conversation("c-2").await).await;
    assert_error(app.conversation("no-such-id").await, 404, "404-01").await;
    let no_key = app
        .post_with_headers(&format!("{V1}/many-convo-metadata"), &[], &batch(&items))
        .await;
    assert_error(no_key, 401, "401-01").await;
    assert_error(app.get("/no/such/path").await, 404, "404-01").await;

    let page = scrape_page(&app).await;
    let after = samples(&page);
    for line in [
        "# TYPE inlet_http_request_seconds histogram",
        "# TYPE inlet_commit_seconds histogram",
        "# TYPE inlet_commit_items histogram",
        "# HELP inlet_items_total Ingested items by kind and outcome (accepted, rejected, duplicate, conflict)",
    ] {
        assert!(page.lines().any(|l| l == line), "no {line:?} in\n{page}");
    }
    assert_eq!(
        deltas(&before, &after, "inlet_items_total"),
        expected(
            "inlet_items_total",
            &[
                (r#"kind="conversation",outcome="accepted""#, 3.0),
                (r#"kind="conversation",outcome="conflict""#, 1.0),
                (r#"kind="conversation",outcome="duplicate""#, 1.0),
                (r#"kind="conversation",outcome="rejected""#, 1.0),
                (r#"kind="customer",outcome="accepted""#, 1.0),
            ]
        )
    );
    let mut requests = deltas(&before, &after, "inlet_http_requests_total");
    // The first scrape is counted only once the second has been rendered.
    requests.retain(|series, _| !series.contains(r#"route="/metrics""#));
    assert_eq!(
        requests,
        expected(
            "inlet_http_requests_total",
            &[
                (
                    r#"route="/metadata-ingestion/v1/conversations/{id}",status="200""#,
                    2.0
                ),
                (
                    r#"route="/metadata-ingestion/v1/conversations/{id}",status="404""#,
                    1.0
                ),
                (
                    r#"route="/metadata-ingestion/v1/many-convo-metadata",status="200""#,
                    1.0
                ),
                (
                    r#"route="/metadata-ingestion/v1/many-convo-metadata",status="401""#,
                    1.0
                ),
                (
                    r#"route="/metadata-ingestion/v1/single-convo-metadata",status="409""#,
                    2.0
                ),
                (
                    r#"route="/metadata-ingestion/v1/single-customer-metadata",status="200""#,
                    1.0
                ),
                (r#"route="unmatched",status="404""#, 1.0),
            ]
        )
    );
    let mut latencies = deltas(&before, &after, "inlet_http_request_seconds_count");
    latencies.retain(|series, _| !series.contains(r#"route="/metrics""#));
    assert_eq!(
        latencies,
        expected(
            "inlet_http_request_seconds_count",
            &[
                (r#"route="/metadata-ingestion/v1/conversations/{id}""#, 3.0),
                (r#"route="/metadata-ingestion/v1/many-convo-metadata""#, 2.0),
                (
                    r#"route="/metadata-ingestion/v1/single-convo-metadata""#,
                    2.0
                ),
                (
                    r#"route="/metadata-ingestion/v1/single-customer-metadata""#,
                    1.0
                ),
                (r#"route="unmatched""#, 1.0),
            ]
        )
    );
    // Four writes, one after the other, so four group commits of 4 + 1 + 1 + 1 items.
    assert_eq!(moved(&before, &after, "inlet_commit_items_count"), 4.0);
    assert_eq!(moved(&before, &after, "inlet_commit_items_sum"), 7.0);
    assert_eq!(moved(&before, &after, "inlet_commit_seconds_count"), 4.0);
    // Every write has been answered: nothing is queued, nothing was shed.
    assert_eq!(after.get("inlet_write_queue_items"), Some(&0.0));
    assert!(deltas(&before, &after, "inlet_shed_total").is_empty());

    call_events_count_every_matching_outcome_once(&app).await;
}

/// Call events: one matched on arrival and four pending; a call then
/// attaches two of them (one by session id, one by rule), new rules attach
/// a third, and the fourth reaches its TTL.
async fn call_events_count_every_matching_outcome_once(app: &TestApp) {
    let before = scrape(app).await;
    let rule = |name: &str, field: &str| {
        json!({"name": name, "eventField": format!("/{name}"), "callField": field,
            "windowSeconds": 60})
    };
    let put_rules = |rules: Vec<serde_json::Value>| async move {
        app.client
            .put(app.url("/callevent/v1/matching-rules"))
            .header("asapp-api-id", &app.key.api_id)
            .header("asapp-api-secret", &app.key.secret)
            .json(&json!({ "rules": rules }))
            .send()
            .await
            .expect("request")
    };
    ok_json(put_rules(vec![rule("n", "numberDialed")]).await).await;
    let now = app.clock.now().to_string();
    let call = |id: &str, dialed: &str| {
        json!({"sessionId": id, "startTime": now, "numberDialed": dialed, "metaData": {"m": id}})
            .to_string()
    };
    ok_json(app.post("/callevent/v1/calls", &call("s0", "0")).await).await;
    let events = [
        (json!({"sessionId": "s0", "metadata": {}}), "matched"),
        (json!({"sessionId": "s1", "metadata": {}}), "pending"),
        (json!({"metadata": {"n": "1"}}), "pending"),
        (json!({"metadata": {"m": "s0"}}), "pending"),
        (json!({"metadata": {"n": "9"}}), "pending"),
    ];
    for (mut event, status) in events {
        event["eventTime"] = json!(now);
        let answer = ok_json(
            app.post("/callevent/v1/outofband/event", &event.to_string())
                .await,
        );
        assert_eq!(answer.await["status"], status, "{event}");
    }
    ok_json(app.post("/callevent/v1/calls", &call("s1", "1")).await).await;
    let both = vec![rule("n", "numberDialed"), rule("m", "metaData/m")];
    ok_json(put_rules(both).await).await;
    app.clock.advance_seconds(24 * 3600 + 1);
    // The server's own sweep may run first; either way each event counts once.
    let state = inlet_server::AppState::new(
        app.store.clone(),
        app.clock.clone(),
        inlet_server::Limits::default(),
    );
    inlet_server::sweep_unmatched(&state).await.expect("sweep");
    inlet_server::sweep_unmatched(&state).await.expect("sweep");

    let after = scrape(app).await;
    assert_eq!(
        deltas(&before, &after, "inlet_call_events_total"),
        expected(
            "inlet_call_events_total",
            &[
                (r#"outcome="matched""#, 1.0 + 2.0 + 1.0),
                (r#"outcome="pending""#, 4.0),
                (r#"outcome="unmatched""#, 1.0),
            ]
        )
    );
}
