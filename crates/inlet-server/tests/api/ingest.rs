//! The six write endpoints: outcomes, per-item results, idempotency.

use serde_json::json;

use crate::helpers::{assert_error, json, spawn_app};

#[tokio::test]
async fn batch_with_one_bad_item_returns_200_and_one_error() {
    let app = spawn_app().await;
    let body = json!({"items": [
        {"externalConversationId": "c1", "eventId": "e1", "lobId": "1038"},
        {"externalConversationId": "c2", "lobId": 5},
    ]});
    let (status, body) = json(app.many("convo", &body.to_string()).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["errorCount"], 1);
    assert_eq!(body["results"][0], json!({"eventId": "e1", "error": ""}));
    assert_eq!(
        body["results"][1]["error"],
        "FAIL_BAD_PARAMS: ERROR: lobId must be a string, got a number"
    );
}

#[tokio::test]
async fn single_item_sent_twice_answers_409_01_then_409_02_for_other_content() {
    let app = spawn_app().await;
    let item = json!({"externalAgentId": "a1", "eventId": "e1", "agentName": "Ann"});
    let (status, body) = json(app.single("agent", &item.to_string()).await).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"result": {"eventId": "e1", "error": ""}}));
    assert_error(app.single("agent", &item.to_string()).await, 409, "409-01").await;
    let changed = json!({"externalAgentId": "a1", "eventId": "e1", "agentName": "Bob"});
    assert_error(
        app.single("agent", &changed.to_string()).await,
        409,
        "409-02",
    )
    .await;
}
