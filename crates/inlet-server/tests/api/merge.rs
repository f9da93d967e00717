//! How submissions merge into the current profile and stay in the history
//! (DESIGN.md §3.6, §3.7), read back over HTTP.

use serde_json::{Value, json};

use crate::helpers::{START_RENDERED, batch, ok_json, spawn_app};

/// Sends items one request at a time, each accepted.
async fn send_all(app: &crate::helpers::TestApp, kind: &str, items: &[Value]) {
    for item in items {
        let body = ok_json(app.many(kind, &batch(std::slice::from_ref(item))).await).await;
        assert_eq!(body["errorCount"], 0, "{item}: {body}");
    }
}

#[tokio::test]
async fn absent_field_leaves_the_stored_value() {
    let app = spawn_app().await;
    send_all(
        &app,
        "convo",
        &[
            json!({"externalConversationId": "c1", "lobId": "l1", "campaign": "k1"}),
            json!({"externalConversationId": "c1", "campaign": "k2"}),
        ],
    )
    .await;
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(
        conversation["metadata"],
        json!({"lobId": "l1", "campaign": "k2"})
    );
}

#[tokio::test]
async fn explicit_null_clears_the_stored_value() {
    let app = spawn_app().await;
    send_all(
        &app,
        "convo",
        &[
            json!({"externalConversationId": "c1", "lobId": "l1", "campaign": "k1",
               "companySegment": ["a"], "attributes": [{"name": "n", "value": "v"}]}),
            json!({"externalConversationId": "c1", "lobId": null, "companySegment": null,
               "attributes": null}),
        ],
    )
    .await;
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(conversation["metadata"], json!({"campaign": "k1"}));
    // Clearing what was never set is fine too.
    send_all(
        &app,
        "convo",
        &[json!({"externalConversationId": "c1", "groupId": null})],
    )
    .await;
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(conversation["metadata"], json!({"campaign": "k1"}));
}

#[tokio::test]
async fn attributes_merge_by_name() {
    let app = spawn_app().await;
    send_all(
        &app,
        "customer",
        &[
            json!({"externalConversationId": "c1", "externalCustomerId": "u1", "attributes": [
                {"name": "tier", "value": "gold"},
                {"name": "region", "value": "eu"},
            ]}),
            json!({"externalConversationId": "c1", "externalCustomerId": "u1", "attributes": [
                {"name": "region", "value": "us"},
                {"name": "plan", "value": "pro"},
            ]}),
            // An empty list changes nothing.
            json!({"externalConversationId": "c1", "externalCustomerId": "u1", "attributes": []}),
        ],
    )
    .await;
    let customer = ok_json(app.customer("u1").await).await;
    assert_eq!(
        customer["metadata"]["attributes"],
        json!([
            {"name": "tier", "value": "gold"},
            {"name": "region", "value": "us"},
            {"name": "plan", "value": "pro"},
        ])
    );
}

#[tokio::test]
async fn company_segment_is_replaced_not_merged() {
    let app = spawn_app().await;
    send_all(
        &app,
        "convo",
        &[
            json!({"externalConversationId": "c1", "companySegment": ["Sales", "Marketing"]}),
            json!({"externalConversationId": "c1", "companySegment": ["Finance"]}),
        ],
    )
    .await;
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(
        conversation["metadata"]["companySegment"],
        json!(["Finance"])
    );
    send_all(
        &app,
        "convo",
        &[json!({"externalConversationId": "c1", "companySegment": []})],
    )
    .await;
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(conversation["metadata"]["companySegment"], json!([]));
}

#[tokio::test]
async fn agent_languages_are_replaced_not_merged() {
    let app = spawn_app().await;
    send_all(
        &app,
        "agent",
        &[
            json!({"externalAgentId": "a1", "languages": ["en-US", "fr"], "ranking": 2}),
            json!({"externalAgentId": "a1", "languages": ["de"]}),
        ],
    )
    .await;
    let agent = ok_json(app.agent("a1").await).await;
    assert_eq!(
        agent["metadata"],
        json!({"languages": ["de"], "ranking": 2})
    );
}

#[tokio::test]
async fn later_commit_wins_within_one_batch() {
    let app = spawn_app().await;
    let body = batch(&[
        json!({"externalConversationId": "c1", "lobId": "first"}),
        json!({"externalConversationId": "c1", "lobId": "second"}),
    ]);
    ok_json(app.many("convo", &body).await).await;
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(conversation["metadata"], json!({"lobId": "second"}));
    assert_eq!(conversation["history"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn history_is_oldest_first_with_event_id_received_at_and_item_as_sent() {
    let app = spawn_app().await;
    let first = json!({"externalAgentId": "a1", "eventId": "e1", "agentName": "Ann"});
    let second = json!({"externalAgentId": "a1", "eventId": "e2", "agentName": null,
                        "jobTitle": "lead"});
    let third = json!({"externalAgentId": "a1", "agentLocation": "Lisbon"});
    send_all(&app, "agent", std::slice::from_ref(&first)).await;
    app.clock.advance_seconds(60);
    ok_json(app.single("agent", &second.to_string()).await).await;
    app.clock.advance_seconds(60);
    send_all(&app, "agent", std::slice::from_ref(&third)).await;

    let agent = ok_json(app.agent("a1").await).await;
    assert_eq!(agent["externalAgentId"], "a1");
    assert_eq!(
        agent["metadata"],
        json!({"jobTitle": "lead", "agentLocation": "Lisbon"})
    );
    assert_eq!(agent["firstSeenAt"], START_RENDERED);
    assert_eq!(agent["updatedAt"], "2026-11-22T10:02:00.000000Z");
    let history = agent["history"].as_array().expect("history");
    assert_eq!(history.len(), 3);
    assert_eq!(
        history[0],
        json!({"eventId": "e1", "receivedAt": START_RENDERED, "item": first})
    );
    assert_eq!(
        history[1],
        json!({"eventId": "e2", "receivedAt": "2026-11-22T10:01:00.000000Z", "item": second})
    );
    assert_eq!(history[2]["receivedAt"], "2026-11-22T10:02:00.000000Z");
    assert_eq!(history[2]["item"], third);
    let generated = history[2]["eventId"].as_str().expect("generated eventId");
    assert!(!generated.is_empty());
}

#[tokio::test]
async fn rejected_and_duplicate_submissions_stay_out_of_the_history() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "l1"});
    send_all(&app, "convo", &[item.clone(), item]).await;
    let bad = batch(&[json!({"externalConversationId": "c1", "lobId": 5})]);
    app.many("convo", &bad).await;
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(conversation["history"].as_array().map(Vec::len), Some(1));
    assert_eq!(conversation["metadata"], json!({"lobId": "l1"}));
}

#[tokio::test]
async fn unknown_fields_warn_and_stay_in_the_raw_item() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "eventId": "e1", "lobname": "retail",
                      "lobId": "l1"});
    let body = ok_json(app.many("convo", &batch(std::slice::from_ref(&item))).await).await;
    assert_eq!(
        body,
        json!({"errorCount": 0, "results": [
            {"eventId": "e1", "error": "", "warnings": ["unknown field lobname"]}
        ]})
    );
    let single = json!({"externalAgentId": "a1", "eventId": "e2", "nickname": "Al",
                        "attributes": [{"name": "n", "value": "v", "note": "x"}]});
    let body = ok_json(app.single("agent", &single.to_string()).await).await;
    assert_eq!(
        body["result"]["warnings"],
        json!(["unknown field nickname", "unknown field attributes[0].note"])
    );

    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(conversation["metadata"], json!({"lobId": "l1"}));
    assert_eq!(conversation["history"][0]["item"], item);
    let event = ok_json(app.event("e1").await).await;
    assert_eq!(event["item"]["lobname"], "retail");
    let agent = ok_json(app.agent("a1").await).await;
    assert_eq!(
        agent["metadata"],
        json!({"attributes": [{"name": "n", "value": "v"}]})
    );
    assert_eq!(agent["history"][0]["item"], single);
}

#[tokio::test]
async fn warnings_are_answered_on_failed_items_too() {
    let app = spawn_app().await;
    let item = json!({"lobname": "retail"});
    let (status, body) = crate::helpers::json(app.single("convo", &item.to_string()).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["result"]["warnings"], json!(["unknown field lobname"]));
    assert_eq!(
        body["result"]["error"],
        "FAIL_BAD_PARAMS: ERROR: externalConversationId is required"
    );
}

#[tokio::test]
async fn accepted_items_without_warnings_carry_no_warnings_key() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "eventId": "e1"});
    let body = ok_json(app.single("convo", &item.to_string()).await).await;
    assert_eq!(body, json!({"result": {"eventId": "e1", "error": ""}}));
}
