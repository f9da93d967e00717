//! Every row of the outcome → status table (DESIGN.md §3.9) that the server
//! implements today, on the write endpoints and the read endpoints. Auth rows
//! (401, 403) live in `auth.rs`, body size (413-01) in `body_limit.rs`, 409 in
//! `idempotency.rs`.

use serde_json::{Value, json};

use crate::helpers::{V1, assert_error, batch, json, ok_json, spawn_app};

/// The batch endpoints, by kind name in the path.
const KINDS: [&str; 3] = ["convo", "customer", "agent"];

/// A valid item of each kind in [`KINDS`] order.
fn valid_item(kind: &str, n: usize) -> Value {
    match kind {
        "convo" => {
            json!({"externalConversationId": format!("c{n}"), "eventId": format!("{kind}-ok-{n}")})
        }
        "customer" => json!({
            "externalConversationId": format!("c{n}"),
            "externalCustomerId": format!("u{n}"),
            "eventId": format!("{kind}-ok-{n}"),
        }),
        _ => json!({"externalAgentId": format!("a{n}"), "eventId": format!("{kind}-ok-{n}")}),
    }
}

/// An item of each kind that fails validation: its required id is missing.
fn invalid_item(kind: &str, n: usize) -> (Value, &'static str) {
    let event_id = format!("{kind}-bad-{n}");
    match kind {
        "convo" => (
            json!({"eventId": event_id, "lobId": "1"}),
            "FAIL_BAD_PARAMS: ERROR: externalConversationId is required",
        ),
        "customer" => (
            json!({"eventId": event_id, "externalConversationId": "c1"}),
            "FAIL_BAD_PARAMS: ERROR: externalCustomerId is required",
        ),
        _ => (
            json!({"eventId": event_id, "agentName": "Ann"}),
            "FAIL_BAD_PARAMS: ERROR: externalAgentId is required",
        ),
    }
}

#[tokio::test]
async fn batch_with_every_item_accepted_answers_200_and_error_count_0() {
    let app = spawn_app().await;
    for kind in KINDS {
        let body = batch(&[valid_item(kind, 1), valid_item(kind, 2)]);
        let body = ok_json(app.many(kind, &body).await).await;
        assert_eq!(
            body,
            json!({"errorCount": 0, "results": [
                {"eventId": format!("{kind}-ok-1"), "error": ""},
                {"eventId": format!("{kind}-ok-2"), "error": ""},
            ]}),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn batch_with_some_items_failing_answers_200_with_positional_results() {
    let app = spawn_app().await;
    for kind in KINDS {
        let (bad, message) = invalid_item(kind, 1);
        let body = batch(&[bad, valid_item(kind, 1), valid_item(kind, 2)]);
        let body = ok_json(app.many(kind, &body).await).await;
        assert_eq!(
            body,
            json!({"errorCount": 1, "results": [
                {"eventId": format!("{kind}-bad-1"), "error": message},
                {"eventId": format!("{kind}-ok-1"), "error": ""},
                {"eventId": format!("{kind}-ok-2"), "error": ""},
            ]}),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn batch_with_every_item_failing_answers_400_with_per_item_results() {
    let app = spawn_app().await;
    for kind in KINDS {
        let (first, message) = invalid_item(kind, 1);
        let (second, _) = invalid_item(kind, 2);
        let (status, body) = json(app.many(kind, &batch(&[first, second])).await).await;
        assert_eq!(status, 400, "{kind}: {body}");
        assert_eq!(
            body,
            json!({"errorCount": 2, "results": [
                {"eventId": format!("{kind}-bad-1"), "error": message},
                {"eventId": format!("{kind}-bad-2"), "error": message},
            ]}),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn single_item_accepted_answers_200_with_its_result() {
    let app = spawn_app().await;
    for kind in KINDS {
        let body = ok_json(app.single(kind, &valid_item(kind, 1).to_string()).await).await;
        assert_eq!(
            body,
            json!({"result": {"eventId": format!("{kind}-ok-1"), "error": ""}}),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn single_item_failing_answers_400_with_its_result() {
    let app = spawn_app().await;
    for kind in KINDS {
        let (item, message) = invalid_item(kind, 1);
        let (status, body) = json(app.single(kind, &item.to_string()).await).await;
        assert_eq!(status, 400, "{kind}: {body}");
        assert_eq!(
            body,
            json!({"result": {"eventId": format!("{kind}-bad-1"), "error": message}}),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn empty_object_on_a_single_endpoint_is_an_item_missing_its_id() {
    let app = spawn_app().await;
    let (status, body) = json(app.single("convo", "{}").await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["result"]["error"],
        "FAIL_BAD_PARAMS: ERROR: externalConversationId is required"
    );
}

#[tokio::test]
async fn batch_body_of_the_wrong_shape_answers_400_01() {
    let app = spawn_app().await;
    let cases: [(&str, &str); 17] = [
        ("{}", "items is required"),
        ("[]", "must be a JSON object, got an array"),
        (
            r#"[{"items": [{"externalConversationId": "c"}]}]"#,
            "got an array",
        ),
        (r#""items""#, "got a string"),
        ("42", "got a number"),
        ("-1.5", "got a number"),
        ("true", "got a boolean"),
        ("null", "got null"),
        (r#"{"items": {}}"#, "items must be an array, got an object"),
        (r#"{"items": "x"}"#, "items must be an array, got a string"),
        (r#"{"items": 3}"#, "items must be an array, got a number"),
        (r#"{"items": null}"#, "items must be an array, got null"),
        (
            r#"{"items": [{"externalConversationId": "c"}], "items": []}"#,
            "duplicate key items",
        ),
        (r#"{"items": ["#, "not valid JSON"),
        (
            r#"{"items": [{"externalConversationId": "c"},]}"#,
            "not valid JSON",
        ),
        (
            r#"{"items": [{"externalConversationId": "c"}]} trailing"#,
            "not valid JSON",
        ),
        (
            r#"{"items": [{"externalConversationId": "c"}], "extra": 1}"#,
            "unknown top-level field \"extra\"",
        ),
    ];
    for kind in KINDS {
        for (body, expected) in cases {
            let message = assert_error(app.many(kind, body).await, 400, "400-01").await;
            assert!(
                message.contains(expected),
                "{kind} {body}: {message:?} should contain {expected:?}"
            );
        }
    }
    // None of those wrote anything.
    assert_error(app.conversation("c").await, 404, "404-01").await;
    let rejections = ok_json(app.rejections("").await).await;
    assert_eq!(rejections, json!({"rejections": []}));
}

#[tokio::test]
async fn single_body_of_the_wrong_shape_answers_400_01() {
    let app = spawn_app().await;
    let cases = [
        ("[]", "must be a JSON object, got an array"),
        (r#"[{"externalConversationId": "c"}]"#, "got an array"),
        (r#""c""#, "got a string"),
        ("7", "got a number"),
        ("false", "got a boolean"),
        ("null", "got null"),
        (r#"{"externalConversationId": "c""#, "not valid JSON"),
        (r#"{"externalConversationId": "c"} {}"#, "not valid JSON"),
    ];
    for kind in KINDS {
        for (body, expected) in cases {
            let message = assert_error(app.single(kind, body).await, 400, "400-01").await;
            assert!(
                message.contains(expected),
                "{kind} {body}: {message:?} should contain {expected:?}"
            );
        }
    }
    assert_error(app.conversation("c").await, 404, "404-01").await;
}

#[tokio::test]
async fn empty_or_blank_body_answers_400_01() {
    let app = spawn_app().await;
    for path in [
        format!("{V1}/many-convo-metadata"),
        format!("{V1}/single-agent-metadata"),
    ] {
        for body in ["", "  \r\n\t "] {
            let message = assert_error(app.post(&path, body).await, 400, "400-01").await;
            assert_eq!(message, "request body is empty; send a JSON object");
        }
    }
}

#[tokio::test]
async fn body_that_is_not_utf8_answers_400_01() {
    let app = spawn_app().await;
    let body = b"{\"items\": [{\"externalConversationId\": \"\xff\xfe\"}]}".to_vec();
    let response = app
        .post_bytes(
            &format!("{V1}/many-convo-metadata"),
            Some("application/json"),
            body,
        )
        .await;
    let message = assert_error(response, 400, "400-01").await;
    assert_eq!(message, "request body is not valid UTF-8");
}

#[tokio::test]
async fn empty_items_answers_422_01() {
    let app = spawn_app().await;
    for kind in KINDS {
        let message = assert_error(app.many(kind, r#"{"items": []}"#).await, 422, "422-01").await;
        assert_eq!(message, "items is empty; send 1 to 1000 items");
    }
}

#[tokio::test]
async fn more_than_1000_items_answers_413_02() {
    let app = spawn_app().await;
    let items: Vec<Value> = (0..1001).map(|n| valid_item("convo", n)).collect();
    let message = assert_error(app.many("convo", &batch(&items)).await, 413, "413-02").await;
    assert_eq!(
        message,
        "items has 1001 entries; a batch holds at most 1000"
    );
    // Refused as a whole: not even the first item was stored.
    assert_error(app.conversation("c0").await, 404, "404-01").await;
}

#[tokio::test]
async fn exactly_1000_items_are_accepted() {
    let app = spawn_app().await;
    let items: Vec<Value> = (0..1000).map(|n| valid_item("convo", n)).collect();
    let body = ok_json(app.many("convo", &batch(&items)).await).await;
    assert_eq!(body["errorCount"], 0);
    assert_eq!(body["results"].as_array().map(Vec::len), Some(1000));
    assert_eq!(body["results"][999]["eventId"], "convo-ok-999");
    ok_json(app.conversation("c999").await).await;
}

#[tokio::test]
async fn content_type_that_is_not_json_answers_422_02() {
    let app = spawn_app().await;
    let body = batch(&[valid_item("convo", 1)]);
    let cases = [
        (
            Some("text/plain"),
            "Content-Type must be application/json, got \"text/plain\"",
        ),
        (
            Some("application/x-www-form-urlencoded"),
            "Content-Type must be application/json, got \"application/x-www-form-urlencoded\"",
        ),
        (None, "Content-Type must be application/json, got none"),
    ];
    for path in [
        format!("{V1}/many-convo-metadata"),
        format!("{V1}/single-convo-metadata"),
    ] {
        for (content_type, expected) in cases {
            let response = app.post_bytes(&path, content_type, body.clone()).await;
            let message = assert_error(response, 422, "422-02").await;
            assert_eq!(message, expected, "{path} {content_type:?}");
        }
    }
    assert_error(app.conversation("c1").await, 404, "404-01").await;
}

#[tokio::test]
async fn json_content_type_with_parameters_or_suffix_is_accepted() {
    let app = spawn_app().await;
    let path = format!("{V1}/many-convo-metadata");
    for (n, content_type) in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.asapp+json",
    ]
    .into_iter()
    .enumerate()
    {
        let body = batch(&[valid_item("convo", n)]);
        let response = app.post_bytes(&path, Some(content_type), body).await;
        let body = ok_json(response).await;
        assert_eq!(body["errorCount"], 0, "{content_type}");
    }
}

#[tokio::test]
async fn unknown_path_answers_404_01() {
    let app = spawn_app().await;
    for path in [
        "/".to_owned(),
        "/nope".to_owned(),
        format!("{V1}/many-convo-metadata/extra"),
        format!("{V1}/many-conversation-metadata"),
        format!("{V1}/conversations/"),
        "/metadata-ingestion/v2/many-convo-metadata".to_owned(),
    ] {
        let message = assert_error(app.get(&path).await, 404, "404-01").await;
        assert_eq!(message, "no such path", "{path}");
        assert_error(app.post(&path, "{}").await, 404, "404-01").await;
    }
}

#[tokio::test]
async fn unknown_path_answers_404_01_even_without_a_key() {
    let app = spawn_app().await;
    let response = app.post_with_headers("/nope", &[], "{}").await;
    assert_error(response, 404, "404-01").await;
}

#[tokio::test]
async fn wrong_method_on_a_known_path_answers_405_01_in_the_envelope() {
    let app = spawn_app().await;
    assert_error(
        app.get(&format!("{V1}/many-convo-metadata")).await,
        405,
        "405-01",
    )
    .await;
    assert_error(
        app.post(&format!("{V1}/conversations/c1"), "{}").await,
        405,
        "405-01",
    )
    .await;
}

#[tokio::test]
async fn unknown_ids_answer_404_01_naming_the_id() {
    let app = spawn_app().await;
    let cases = [
        (
            app.conversation("nope").await,
            "no conversation with id \"nope\"",
        ),
        (app.customer("nope").await, "no customer with id \"nope\""),
        (app.agent("nope").await, "no agent with id \"nope\""),
        (app.event("nope").await, "no event with eventId \"nope\""),
        // Not even a possible eventId: still just not found.
        (
            app.event("has%20space").await,
            "no event with eventId \"has space\"",
        ),
    ];
    for (response, expected) in cases {
        let message = assert_error(response, 404, "404-01").await;
        assert_eq!(message, expected);
    }
}

#[tokio::test]
async fn an_id_of_one_kind_is_not_found_as_another_kind() {
    let app = spawn_app().await;
    let body = batch(&[json!({"externalAgentId": "same"})]);
    ok_json(app.many("agent", &body).await).await;
    ok_json(app.agent("same").await).await;
    assert_error(app.conversation("same").await, 404, "404-01").await;
    assert_error(app.customer("same").await, 404, "404-01").await;
}

#[tokio::test]
async fn id_that_is_not_utf8_when_decoded_answers_in_the_envelope() {
    let app = spawn_app().await;
    for path in [
        "conversations/%FF",
        "customers/%C3",
        "agents/a%FFb",
        "events/%FF",
    ] {
        let message = assert_error(app.get(&format!("{V1}/{path}")).await, 404, "404-01").await;
        assert_eq!(
            message, "no such id: the id in the path is not UTF-8 once percent-decoded",
            "{path}"
        );
    }
}
