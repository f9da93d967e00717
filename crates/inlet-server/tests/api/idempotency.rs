//! One eventId names one submission (DESIGN.md §3.5, §3b): same content is a
//! duplicate (success, nothing written twice; 409 `409-01` on a single
//! endpoint), other content a conflict (`FAIL_CONFLICT`; 409 `409-02`), and
//! the first version always stays.

use serde_json::{Value, json};

use crate::helpers::{assert_error, batch, json, ok_json, spawn_app};

fn conflict(event_id: &str) -> String {
    format!(
        "FAIL_CONFLICT: ERROR: eventId {event_id} was already used for different content; \
         the first version is kept"
    )
}

fn history_len(entity: &Value) -> usize {
    entity["history"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn same_event_id_twice_in_one_batch_with_same_content_is_stored_once() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "l1"});
    let body = ok_json(app.many("convo", &batch(&[item.clone(), item])).await).await;
    assert_eq!(
        body,
        json!({"errorCount": 0, "results": [
            {"eventId": "e1", "error": ""},
            {"eventId": "e1", "error": "", "duplicate": true},
        ]})
    );
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(history_len(&conversation), 1);
}

#[tokio::test]
async fn same_content_is_recognised_whatever_the_key_order_or_spacing() {
    let app = spawn_app().await;
    let body = r#"{"items": [
        {"externalConversationId": "c1", "eventId": "e1", "lobId": "l1"},
        { "lobId" : "l1", "eventId" : "e1", "externalConversationId" : "c1" }
    ]}"#;
    let body = ok_json(app.many("convo", body).await).await;
    assert_eq!(body["errorCount"], 0);
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(history_len(&conversation), 1);
}

#[tokio::test]
async fn same_event_id_twice_in_one_batch_with_other_content_fails_the_later_item() {
    let app = spawn_app().await;
    let body = batch(&[
        json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "first"}),
        json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "second"}),
    ]);
    let body = ok_json(app.many("convo", &body).await).await;
    assert_eq!(
        body,
        json!({"errorCount": 1, "results": [
            {"eventId": "e1", "error": ""},
            {"eventId": "e1", "error": conflict("e1")},
        ]})
    );
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(conversation["metadata"], json!({"lobId": "first"}));
    assert_eq!(history_len(&conversation), 1);
}

#[tokio::test]
async fn resent_batch_item_with_same_content_succeeds_without_writing_again() {
    let app = spawn_app().await;
    let item = json!({"externalAgentId": "a1", "eventId": "e1", "agentName": "Ann"});
    ok_json(app.many("agent", &batch(std::slice::from_ref(&item))).await).await;
    app.clock.advance_seconds(30);
    let body = ok_json(app.many("agent", &batch(&[item])).await).await;
    assert_eq!(
        body,
        json!({"errorCount": 0, "results": [{"eventId": "e1", "error": "", "duplicate": true}]}),
        "a duplicate succeeds and says so (an additive field, like warnings)"
    );
    let agent = ok_json(app.agent("a1").await).await;
    assert_eq!(history_len(&agent), 1);
    // Nothing changed, so the profile kept its times.
    assert_eq!(agent["updatedAt"], agent["firstSeenAt"]);
}

#[tokio::test]
async fn resent_batch_item_with_other_content_fails_and_the_first_version_stays() {
    let app = spawn_app().await;
    let first = json!({"externalAgentId": "a1", "eventId": "e1", "agentName": "Ann"});
    ok_json(
        app.many("agent", &batch(std::slice::from_ref(&first)))
            .await,
    )
    .await;
    let body = batch(&[
        json!({"externalAgentId": "a1", "eventId": "e1", "agentName": "Bob"}),
        json!({"externalAgentId": "a2", "eventId": "e2"}),
    ]);
    let body = ok_json(app.many("agent", &body).await).await;
    assert_eq!(body["errorCount"], 1);
    assert_eq!(
        body["results"][0],
        json!({"eventId": "e1", "error": conflict("e1")})
    );
    let agent = ok_json(app.agent("a1").await).await;
    assert_eq!(agent["metadata"], json!({"agentName": "Ann"}));
    let event = ok_json(app.event("e1").await).await;
    assert_eq!(event["item"], first);
}

#[tokio::test]
async fn batch_in_which_every_item_conflicts_answers_400() {
    let app = spawn_app().await;
    let body = batch(&[
        json!({"externalConversationId": "c1", "eventId": "e1"}),
        json!({"externalConversationId": "c2", "eventId": "e2"}),
    ]);
    ok_json(app.many("convo", &body).await).await;
    let changed = batch(&[
        json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "x"}),
        json!({"externalConversationId": "c2", "eventId": "e2", "lobId": "x"}),
    ]);
    let (status, body) = json(app.many("convo", &changed).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body,
        json!({"errorCount": 2, "results": [
            {"eventId": "e1", "error": conflict("e1")},
            {"eventId": "e2", "error": conflict("e2")},
        ]})
    );
}

#[tokio::test]
async fn batch_failing_by_conflict_and_by_validation_answers_400() {
    let app = spawn_app().await;
    ok_json(
        app.single(
            "convo",
            &json!({"externalConversationId": "c1", "eventId": "e1"}).to_string(),
        )
        .await,
    )
    .await;
    let body = batch(&[
        json!({"externalConversationId": "c9", "eventId": "e1"}),
        json!({"externalConversationId": "c2", "lobId": 5}),
    ]);
    let (status, body) = json(app.many("convo", &body).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errorCount"], 2);
    assert_eq!(body["results"][0]["error"], conflict("e1"));
    assert_error(app.conversation("c9").await, 404, "404-01").await;
}

#[tokio::test]
async fn batch_with_one_duplicate_and_one_failure_answers_200() {
    // A duplicate is a success: "409 means the entity was already persisted".
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "eventId": "e1"});
    ok_json(app.many("convo", &batch(std::slice::from_ref(&item))).await).await;
    let body = batch(&[item, json!({"lobId": "orphan"})]);
    let body = ok_json(app.many("convo", &body).await).await;
    assert_eq!(body["errorCount"], 1);
    assert_eq!(
        body["results"][0],
        json!({"eventId": "e1", "error": "", "duplicate": true})
    );
}

#[tokio::test]
async fn event_id_reused_for_another_kind_is_a_conflict() {
    let app = spawn_app().await;
    ok_json(
        app.single(
            "convo",
            &json!({"externalConversationId": "x1", "eventId": "e1"}).to_string(),
        )
        .await,
    )
    .await;
    let agent = json!({"externalAgentId": "x1", "eventId": "e1"});
    let (status, body) = json(
        app.many("agent", &batch(std::slice::from_ref(&agent)))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["results"][0]["error"], conflict("e1"));
    let message = assert_error(app.single("agent", &agent.to_string()).await, 409, "409-02").await;
    assert_eq!(
        message,
        "eventId e1 was already used for different content; the first version is kept"
    );
    assert_error(app.agent("x1").await, 404, "404-01").await;
    let event = ok_json(app.event("e1").await).await;
    assert_eq!(event["kind"], "conversation");
}

#[tokio::test]
async fn single_endpoint_resend_answers_409_01_and_writes_nothing() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "externalCustomerId": "u1",
                      "eventId": "e1", "status": "new"});
    ok_json(app.single("customer", &item.to_string()).await).await;
    let message = assert_error(
        app.single("customer", &item.to_string()).await,
        409,
        "409-01",
    )
    .await;
    assert_eq!(message, "eventId e1 was already persisted");
    // A batch resend of the same item is a plain success.
    let body = ok_json(app.many("customer", &batch(&[item])).await).await;
    assert_eq!(body["results"][0]["error"], "");
    let customer = ok_json(app.customer("u1").await).await;
    assert_eq!(history_len(&customer), 1);
    let rejections = ok_json(app.rejections("").await).await;
    assert_eq!(rejections, json!({"rejections": []}));
}

#[tokio::test]
async fn single_endpoint_conflict_answers_409_02_and_keeps_the_first_version() {
    let app = spawn_app().await;
    let first = json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "l1"});
    ok_json(app.single("convo", &first.to_string()).await).await;
    let other = json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "l2"});
    let message = assert_error(app.single("convo", &other.to_string()).await, 409, "409-02").await;
    assert_eq!(
        message,
        "eventId e1 was already used for different content; the first version is kept"
    );
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(conversation["metadata"], json!({"lobId": "l1"}));
    assert_eq!(history_len(&conversation), 1);
    let rejections = ok_json(app.rejections("").await).await;
    assert_eq!(
        rejections["rejections"][0]["errors"],
        json!([conflict("e1")])
    );
    assert_eq!(rejections["rejections"][0]["item"], other);
}

#[tokio::test]
async fn batch_item_then_single_resend_answers_409_01() {
    let app = spawn_app().await;
    let item = json!({"externalAgentId": "a1", "eventId": "e1"});
    ok_json(app.many("agent", &batch(std::slice::from_ref(&item))).await).await;
    assert_error(app.single("agent", &item.to_string()).await, 409, "409-01").await;
}
