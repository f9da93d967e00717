//! The unauthenticated probes, `/livez` and `/readyz`, and `/metrics` in a
//! process that never installed the recorder. The counters themselves are
//! checked in their own test binary (`tests/metrics.rs`), where no other test
//! moves them.

use serde_json::json;

use crate::helpers::{assert_error, json, request_id, spawn_app};

#[tokio::test]
async fn livez_answers_200_ok_without_a_key() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/livez"))
        .send()
        .await
        .expect("request");
    assert!(!request_id(&response).is_empty());
    let (status, body) = json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_answers_200_ok_without_a_key_while_the_store_answers() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("request");
    let (status, body) = json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn probes_refuse_other_methods_with_405_01() {
    let app = spawn_app().await;
    for path in ["/livez", "/readyz", "/metrics"] {
        let response = app
            .client
            .post(app.url(path))
            .send()
            .await
            .expect("request");
        assert_error(response, 405, "405-01").await;
    }
}

// No test in this binary installs the recorder, so this one is deterministic.
#[tokio::test]
async fn metrics_answer_404_01_when_the_recorder_is_not_installed() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("request");
    assert_error(response, 404, "404-01").await;
}
