//! `GET events/{eventId}` and the eventIds the service makes for items sent
//! without one (DESIGN.md §3.4, §3b).

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    START_RENDERED, V1, assert_error, batch, json, ok_json, request_id, spawn_app,
};

/// Asserts `text` is a UUIDv7 and returns it parsed.
fn assert_uuid_v7(text: &str) -> Uuid {
    let uuid = Uuid::parse_str(text).unwrap_or_else(|err| panic!("{text:?}: {err}"));
    assert_eq!(uuid.get_version_num(), 7, "{text}");
    // The canonical hyphenated lowercase form, 8-4-4-4-12.
    assert_eq!(uuid.hyphenated().to_string(), text);
    uuid
}

#[tokio::test]
async fn event_reads_back_with_kind_entity_received_at_api_id_request_id_and_item() {
    let app = spawn_app().await;
    let cases = [
        (
            "convo",
            "conversation",
            json!({"externalConversationId": "c1", "eventId": "ev-c", "lobId": "l"}),
            "c1",
        ),
        (
            "customer",
            "customer",
            json!({"externalConversationId": "c1", "externalCustomerId": "u1", "eventId": "ev-u"}),
            "u1",
        ),
        (
            "agent",
            "agent",
            json!({"externalAgentId": "a1", "eventId": "ev-a"}),
            "a1",
        ),
    ];
    for (path_kind, kind, item, entity) in cases {
        let response = app
            .many(path_kind, &batch(std::slice::from_ref(&item)))
            .await;
        let posted_by = request_id(&response);
        ok_json(response).await;
        let event_id = item["eventId"].as_str().expect("eventId");
        let event = ok_json(app.event(event_id).await).await;
        assert_eq!(
            event,
            json!({
                "eventId": event_id,
                "kind": kind,
                "entityId": entity,
                "receivedAt": START_RENDERED,
                "apiId": app.key.api_id,
                "requestId": posted_by,
                "item": item,
            })
        );
    }
}

#[tokio::test]
async fn event_item_is_the_text_as_sent() {
    let app = spawn_app().await;
    let sent = r#"{ "externalConversationId" : "c1",   "eventId":"e1","zeta":1,"alpha":[ 1, 2 ] }"#;
    ok_json(app.single("convo", sent).await).await;
    let text = app.event("e1").await.text().await.expect("body");
    assert!(text.contains(sent), "{text}");
    let batched = r#"{"alpha" : true ,"externalConversationId":"c2","eventId":"e2"}"#;
    ok_json(
        app.many("convo", &format!("{{\"items\":[ {batched} ]}}"))
            .await,
    )
    .await;
    let text = app.event("e2").await.text().await.expect("body");
    assert!(text.contains(batched), "{text}");
}

#[tokio::test]
async fn each_request_gets_its_own_request_id_and_events_keep_theirs() {
    let app = spawn_app().await;
    let first = app
        .single(
            "agent",
            &json!({"externalAgentId": "a1", "eventId": "e1"}).to_string(),
        )
        .await;
    let first_id = request_id(&first);
    let second = app
        .single(
            "agent",
            &json!({"externalAgentId": "a1", "eventId": "e2"}).to_string(),
        )
        .await;
    let second_id = request_id(&second);
    assert_ne!(first_id, second_id);
    assert_uuid_v7(&first_id);
    let e1 = ok_json(app.event("e1").await).await;
    let e2 = ok_json(app.event("e2").await).await;
    assert_eq!(e1["requestId"], first_id.as_str());
    assert_eq!(e2["requestId"], second_id.as_str());
}

#[tokio::test]
async fn item_without_event_id_gets_a_uuid_v7_readable_as_an_event() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "lobId": "l1"});
    let body = ok_json(
        app.many("convo", &batch(&[item.clone(), item.clone()]))
            .await,
    )
    .await;
    let first = body["results"][0]["eventId"].as_str().expect("eventId");
    let second = body["results"][1]["eventId"].as_str().expect("eventId");
    assert_uuid_v7(first);
    assert_uuid_v7(second);
    assert_ne!(first, second);
    for generated in [first, second] {
        let event = ok_json(app.event(generated).await).await;
        assert_eq!(event["eventId"], generated);
        assert_eq!(event["entityId"], "c1");
        assert_eq!(event["item"], item);
    }
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(conversation["history"][0]["eventId"], first);
    assert_eq!(conversation["history"][1]["eventId"], second);
}

#[tokio::test]
async fn single_item_without_event_id_or_with_null_gets_a_uuid_v7() {
    let app = spawn_app().await;
    for item in [
        json!({"externalAgentId": "a1"}),
        json!({"externalAgentId": "a1", "eventId": null}),
    ] {
        let body = ok_json(app.single("agent", &item.to_string()).await).await;
        let generated = body["result"]["eventId"].as_str().expect("eventId");
        assert_uuid_v7(generated);
        assert_eq!(body["result"]["error"], "");
        let event = ok_json(app.event(generated).await).await;
        assert_eq!(event["kind"], "agent");
    }
}

#[tokio::test]
async fn failed_item_without_event_id_gets_a_generated_one_listed_in_rejections() {
    let app = spawn_app().await;
    let body = batch(&[
        json!({"lobId": "l1"}),
        json!({"externalConversationId": "c1"}),
    ]);
    let body = ok_json(app.many("convo", &body).await).await;
    let generated = body["results"][0]["eventId"].as_str().expect("eventId");
    assert_uuid_v7(generated);
    let rejections = ok_json(app.rejections("").await).await;
    assert_eq!(rejections["rejections"][0]["id"], generated);
    // A rejected item is not an event.
    assert_error(app.event(generated).await, 404, "404-01").await;
}

#[tokio::test]
async fn failed_item_with_an_invalid_event_id_gets_a_generated_one() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "eventId": "not valid!"});
    let (status, body) = json(app.single("convo", &item.to_string()).await).await;
    assert_eq!(status, 400);
    let answered = body["result"]["eventId"].as_str().expect("eventId");
    assert_uuid_v7(answered);
    let error = body["result"]["error"].as_str().expect("error");
    assert!(
        error.starts_with("FAIL_BAD_PARAMS: ERROR: eventId may contain only"),
        "{error}"
    );
}

#[tokio::test]
async fn failed_item_echoes_a_valid_client_event_id() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "eventId": "mine", "lobId": 5});
    let (status, body) = json(app.single("convo", &item.to_string()).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["result"]["eventId"], "mine");
    // The eventId stays free: the corrected item is stored under it.
    let fixed = json!({"externalConversationId": "c1", "eventId": "mine", "lobId": "5"});
    ok_json(app.single("convo", &fixed.to_string()).await).await;
    let event = ok_json(app.event("mine").await).await;
    assert_eq!(event["item"], fixed);
}

#[tokio::test]
async fn event_lookup_takes_the_event_id_exactly() {
    let app = spawn_app().await;
    ok_json(
        app.single(
            "agent",
            &json!({"externalAgentId": "a1", "eventId": "Case-1"}).to_string(),
        )
        .await,
    )
    .await;
    ok_json(app.event("Case-1").await).await;
    assert_error(app.event("case-1").await, 404, "404-01").await;
    let long: Value = json!("x".repeat(300));
    let path = format!("{V1}/events/{}", long.as_str().expect("text"));
    assert_error(app.get(&path).await, 404, "404-01").await;
}
