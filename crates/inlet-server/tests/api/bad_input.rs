//! Items that fail validation: each answers `FAIL_BAD_PARAMS: ERROR: ..`
//! naming the field (DESIGN.md §3.2), fails only itself, and leaves the
//! server serving.

use serde_json::{Value, json};

use crate::helpers::{assert_error, batch, json, ok_json, spawn_app};

/// Sends `item` alone in a batch of `kind` and returns its error (the batch
/// answers 400 when the item fails, 200 when it passes).
async fn error_of(app: &crate::helpers::TestApp, kind: &str, item: Value) -> String {
    let (status, body) = json(app.many(kind, &batch(&[item])).await).await;
    let error = body["results"][0]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no result: {body}"))
        .to_owned();
    let expected = if error.is_empty() { 200 } else { 400 };
    assert_eq!(status, expected, "{body}");
    error
}

#[tokio::test]
async fn lob_id_as_a_number_fails_naming_lob_id() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "lobId": 5});
    assert_eq!(
        error_of(&app, "convo", item).await,
        "FAIL_BAD_PARAMS: ERROR: lobId must be a string, got a number"
    );
    assert_error(app.conversation("c1").await, 404, "404-01").await;
}

#[tokio::test]
async fn agent_concurrency_as_a_string_fails_naming_concurrency() {
    let app = spawn_app().await;
    let item = json!({"externalAgentId": "a1", "concurrency": "3"});
    assert_eq!(
        error_of(&app, "agent", item).await,
        "FAIL_BAD_PARAMS: ERROR: concurrency must be an integer, got a string"
    );
    let item = json!({"externalAgentId": "a1", "concurrency": 3.5});
    assert!(
        error_of(&app, "agent", item)
            .await
            .contains("concurrency must be an integer")
    );
    let item = json!({"externalAgentId": "a1", "concurrency": 3});
    assert_eq!(error_of(&app, "agent", item).await, "");
    let agent = ok_json(app.agent("a1").await).await;
    assert_eq!(agent["metadata"], json!({"concurrency": 3}));
}

#[tokio::test]
async fn id_of_257_characters_fails_naming_the_field_and_256_passes() {
    let app = spawn_app().await;
    let long = "x".repeat(257);
    let cases = [
        (
            "convo",
            json!({"externalConversationId": long}),
            "externalConversationId",
        ),
        (
            "convo",
            json!({"externalConversationId": "c1", "eventId": long}),
            "eventId",
        ),
        (
            "convo",
            json!({"externalConversationId": "c1", "lobId": long}),
            "lobId",
        ),
        (
            "customer",
            json!({"externalConversationId": "c1", "externalCustomerId": long}),
            "externalCustomerId",
        ),
        ("agent", json!({"externalAgentId": long}), "externalAgentId"),
    ];
    for (kind, item, field) in cases {
        assert_eq!(
            error_of(&app, kind, item).await,
            format!("FAIL_BAD_PARAMS: ERROR: {field} must be at most 256 characters, got 257")
        );
    }
    let fits = "y".repeat(256);
    let item = json!({"externalConversationId": fits, "eventId": fits, "lobId": fits});
    assert_eq!(error_of(&app, "convo", item).await, "");
    let conversation = ok_json(app.conversation(&fits).await).await;
    assert_eq!(conversation["metadata"]["lobId"], fits.as_str());
    ok_json(app.event(&fits).await).await;
}

#[tokio::test]
async fn free_text_length_counts_characters_not_bytes() {
    let app = spawn_app().await;
    // 256 × "é" is 512 bytes: still 256 characters, so it fits.
    let at_limit = "é".repeat(256);
    let item = json!({"externalConversationId": "c1", "lobName": at_limit});
    assert_eq!(error_of(&app, "convo", item).await, "");
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(conversation["metadata"]["lobName"], at_limit.as_str());

    let over = "é".repeat(257);
    let item = json!({"externalConversationId": "c2", "lobName": over});
    assert_eq!(
        error_of(&app, "convo", item).await,
        "FAIL_BAD_PARAMS: ERROR: lobName must be at most 256 characters, got 257"
    );
    // Four-byte characters count as one each too.
    let emoji = "🙂".repeat(256);
    let item = json!({"externalAgentId": "a1", "agentName": emoji});
    assert_eq!(error_of(&app, "agent", item).await, "");
}

#[tokio::test]
async fn strings_are_stored_untrimmed() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "lobName": "  padded  "});
    assert_eq!(error_of(&app, "convo", item).await, "");
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(conversation["metadata"]["lobName"], "  padded  ");
}

#[tokio::test]
async fn id_patterns_are_anchored_and_name_the_field() {
    let app = spawn_app().await;
    for bad in ["a b", "a.b", "é", "id\n", "c1;drop"] {
        let item = json!({"externalConversationId": "c1", "campaign": bad});
        let error = error_of(&app, "convo", item).await;
        assert!(
            error.starts_with("FAIL_BAD_PARAMS: ERROR: campaign may contain only"),
            "{bad:?}: {error}"
        );
    }
    let item = json!({"externalConversationId": "", "lobId": ""});
    assert_eq!(
        error_of(&app, "convo", item).await,
        "FAIL_BAD_PARAMS: ERROR: externalConversationId must not be empty; lobId must not be empty"
    );
}

#[tokio::test]
async fn eleven_attributes_fail_naming_attributes_and_ten_pass() {
    let app = spawn_app().await;
    let attributes = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"name": format!("n{i}"), "value": "v"}))
            .collect()
    };
    let item = json!({"externalConversationId": "c1", "attributes": attributes(11)});
    assert_eq!(
        error_of(&app, "convo", item).await,
        "FAIL_BAD_PARAMS: ERROR: attributes must have at most 10 entries, got 11"
    );
    let item = json!({"externalConversationId": "c1", "attributes": attributes(10)});
    assert_eq!(error_of(&app, "convo", item).await, "");
    let conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(
        conversation["metadata"]["attributes"],
        json!(attributes(10))
    );
}

#[tokio::test]
async fn attribute_without_a_name_fails_naming_the_attribute() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "attributes": [
        {"name": "ok", "value": "v"},
        {"value": "orphan"},
    ]});
    assert_eq!(
        error_of(&app, "convo", item).await,
        "FAIL_BAD_PARAMS: ERROR: attributes[1].name is required"
    );
    let item = json!({"externalConversationId": "c1", "attributes": [{"name": "", "value": "v"}]});
    assert_eq!(
        error_of(&app, "convo", item).await,
        "FAIL_BAD_PARAMS: ERROR: attributes[0].name must not be empty"
    );
    let item = json!({"externalConversationId": "c1", "attributes": {"name": "n", "value": "v"}});
    assert!(
        error_of(&app, "convo", item)
            .await
            .contains("attributes must be an array")
    );
    assert_error(app.conversation("c1").await, 404, "404-01").await;
}

#[tokio::test]
async fn duplicate_key_inside_an_item_fails_that_item_naming_the_key() {
    let app = spawn_app().await;
    // Written by hand: a JSON library would never produce the duplicate.
    let body = r#"{"items": [
        {"externalConversationId": "c1", "eventId": "e1", "lobId": "a", "lobId": "b"},
        {"externalConversationId": "c2", "eventId": "e2"}
    ]}"#;
    let body = ok_json(app.many("convo", body).await).await;
    assert_eq!(
        body,
        json!({"errorCount": 1, "results": [
            {"eventId": "e1", "error": "FAIL_BAD_PARAMS: ERROR: duplicate key lobId"},
            {"eventId": "e2", "error": ""},
        ]})
    );
    assert_error(app.conversation("c1").await, 404, "404-01").await;
    ok_json(app.conversation("c2").await).await;
}

#[tokio::test]
async fn duplicate_key_nested_in_an_attribute_is_named_by_its_path() {
    let app = spawn_app().await;
    let body = r#"{"items": [{"externalConversationId": "c1",
        "attributes": [{"name": "x", "value": "1"}, {"name": "a", "name": "b", "value": "2"}]}]}"#;
    let (status, body) = json(app.many("convo", body).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["results"][0]["error"],
        "FAIL_BAD_PARAMS: ERROR: duplicate key attributes[1].name"
    );
}

#[tokio::test]
async fn duplicate_key_on_a_single_endpoint_fails_the_item_with_400() {
    let app = spawn_app().await;
    let body = r#"{"externalAgentId": "a1", "eventId": "e1", "agentName": "A", "agentName": "B"}"#;
    let (status, body) = json(app.single("agent", body).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"result": {"eventId": "e1", "error": "FAIL_BAD_PARAMS: ERROR: duplicate key agentName"}})
    );
    assert_error(app.agent("a1").await, 404, "404-01").await;
}

#[tokio::test]
async fn deeply_nested_value_where_a_string_belongs_fails_naming_the_field() {
    let app = spawn_app().await;
    let nested = format!("{}\"x\"{}", "[".repeat(50), "]".repeat(50));
    let body = format!(r#"{{"items": [{{"externalConversationId": "c1", "lobId": {nested}}}]}}"#);
    let (status, body) = json(app.many("convo", &body).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["results"][0]["error"],
        "FAIL_BAD_PARAMS: ERROR: lobId must be a string, got an array"
    );
}

#[tokio::test]
async fn nesting_past_the_parser_limit_fails_only_that_item() {
    let app = spawn_app().await;
    let nested = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let body = format!(
        r#"{{"items": [{{"externalConversationId": "c1", "lobId": {nested}}},
            {{"externalConversationId": "c2"}}]}}"#
    );
    let body = ok_json(app.many("convo", &body).await).await;
    assert_eq!(body["errorCount"], 1);
    let error = body["results"][0]["error"].as_str().expect("error");
    assert!(error.starts_with("FAIL_BAD_PARAMS: ERROR: "), "{error}");
    assert_eq!(body["results"][1]["error"], "");
    // On a single endpoint the item is the body: refused as a whole.
    let single = format!(r#"{{"externalConversationId": "c3", "lobId": {nested}}}"#);
    assert_error(app.single("convo", &single).await, 400, "400-01").await;
}

#[tokio::test]
async fn item_that_is_not_an_object_fails_as_an_item() {
    let app = spawn_app().await;
    let body = r#"{"items": [7, "c1", null, [], {"externalConversationId": "c1"}]}"#;
    let body = ok_json(app.many("convo", body).await).await;
    assert_eq!(body["errorCount"], 4);
    let errors: Vec<&str> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["error"].as_str().expect("error"))
        .collect();
    assert_eq!(
        errors,
        [
            "FAIL_BAD_PARAMS: ERROR: item must be a JSON object, got a number",
            "FAIL_BAD_PARAMS: ERROR: item must be a JSON object, got a string",
            "FAIL_BAD_PARAMS: ERROR: item must be a JSON object, got null",
            "FAIL_BAD_PARAMS: ERROR: item must be a JSON object, got an array",
            "",
        ]
    );
}

#[tokio::test]
async fn an_item_reports_every_problem_joined_with_semicolons() {
    let app = spawn_app().await;
    let item = json!({"lobId": 5, "deviceType": "TV", "companySegment": ["ok", "not ok"]});
    assert_eq!(
        error_of(&app, "convo", item).await,
        "FAIL_BAD_PARAMS: ERROR: externalConversationId is required; \
         lobId must be a string, got a number; \
         deviceType must be one of TABLET, PHONE, DESKTOP, WATCH, OTHER, got \"TV\"; \
         companySegment[1] may contain only letters, digits, - and _ (pattern [a-zA-Z0-9\\-\\_]+), found ' '"
    );
}

#[tokio::test]
async fn required_id_sent_as_null_fails_naming_it() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "externalCustomerId": null});
    assert_eq!(
        error_of(&app, "customer", item).await,
        "FAIL_BAD_PARAMS: ERROR: externalCustomerId is required and must not be null"
    );
}

#[tokio::test]
async fn server_still_serves_after_every_kind_of_bad_input() {
    let app = spawn_app().await;
    let bad_bodies = [
        batch(&[json!({"externalConversationId": "c1", "lobId": 5})]),
        batch(&[json!({"externalConversationId": "x".repeat(257)})]),
        batch(&[json!({"externalConversationId": "c1", "lobName": "é".repeat(257)})]),
        r#"{"items": []}"#.to_owned(),
        batch(&vec![json!({"externalConversationId": "c1"}); 1001]),
        r#"{"items": [{"externalConversationId": "c1", "lobId": "a", "lobId": "b"}]}"#.to_owned(),
        format!(
            r#"{{"items": [{{"externalConversationId": "c1", "lobId": {}{}}}]}}"#,
            "[".repeat(50),
            "]".repeat(50)
        ),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        "{\"items\": [".to_owned(),
        "\u{0}".to_owned(),
    ];
    for body in &bad_bodies {
        let response = app.many("convo", body).await;
        assert!(
            response.status().is_client_error(),
            "{}: {}",
            response.status(),
            &body[..body.len().min(80)]
        );
    }
    let item = json!({"externalAgentId": "a1", "concurrency": "3"});
    let (status, _) = json(app.single("agent", &item.to_string()).await).await;
    assert_eq!(status, 400);

    let good = batch(&[json!({"externalConversationId": "c1", "eventId": "good"})]);
    let body = ok_json(app.many("convo", &good).await).await;
    assert_eq!(
        body,
        json!({"errorCount": 0, "results": [{"eventId": "good", "error": ""}]})
    );
    ok_json(app.conversation("c1").await).await;
}
