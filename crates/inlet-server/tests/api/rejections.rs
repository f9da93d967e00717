//! `GET rejections`: every failed item (validation or conflict) with who sent
//! it, when, why and what; cursor paging; `since`; bad parameters.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{
    START_RENDERED, TestApp, assert_error, batch, json, ok_json, request_id, spawn_app,
};

/// Sends `count` failing conversation items, one request each, with eventIds
/// `r0`, `r1`, ...
async fn reject_many(app: &TestApp, count: usize) {
    for n in 0..count {
        let item = json!({"eventId": format!("r{n}"), "lobId": "l"});
        let (status, _) = json(app.single("convo", &item.to_string()).await).await;
        assert_eq!(status, 400);
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["rejections"]
        .as_array()
        .expect("rejections")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn no_rejections_lists_an_empty_page() {
    let app = spawn_app().await;
    let page = ok_json(app.rejections("").await).await;
    assert_eq!(page, json!({"rejections": []}));
}

#[tokio::test]
async fn rejected_items_are_listed_with_everything_about_them() {
    let app = spawn_app().await;
    let bad = json!({"externalConversationId": "c1", "eventId": "bad-1", "lobId": 5});
    let good = json!({"externalConversationId": "c2", "eventId": "ok-1"});
    let response = app.many("convo", &batch(&[bad.clone(), good])).await;
    let sent_by = request_id(&response);
    ok_json(response).await;
    app.clock.advance_seconds(1);
    let agent = json!({"agentName": "nobody"});
    let response = app.single("agent", &agent.to_string()).await;
    let agent_request = request_id(&response);
    let (_, answer) = json(response).await;
    let agent_event_id = answer["result"]["eventId"].clone();

    let page = ok_json(app.rejections("").await).await;
    assert_eq!(
        page,
        json!({"rejections": [
            {
                "id": "bad-1",
                "receivedAt": START_RENDERED,
                "kind": "conversation",
                "requestId": sent_by,
                "apiId": app.key.api_id,
                "errors": ["FAIL_BAD_PARAMS: ERROR: lobId must be a string, got a number"],
                "item": bad,
            },
            {
                "id": agent_event_id,
                "receivedAt": "2026-11-22T10:00:01.000000Z",
                "kind": "agent",
                "requestId": agent_request,
                "apiId": app.key.api_id,
                "errors": ["FAIL_BAD_PARAMS: ERROR: externalAgentId is required"],
                "item": agent,
            },
        ]})
    );
}

#[tokio::test]
async fn conflicts_are_listed_as_rejections() {
    let app = spawn_app().await;
    let body = batch(&[
        json!({"externalCustomerId": "u1", "externalConversationId": "c1", "eventId": "e1"}),
        json!({"externalCustomerId": "u2", "externalConversationId": "c1", "eventId": "e1"}),
    ]);
    let response = app.many("customer", &body).await;
    let sent_by = request_id(&response);
    ok_json(response).await;
    let page = ok_json(app.rejections("").await).await;
    let rejections = page["rejections"].as_array().expect("rejections");
    assert_eq!(rejections.len(), 1);
    assert_eq!(rejections[0]["id"], "e1");
    assert_eq!(rejections[0]["kind"], "customer");
    assert_eq!(rejections[0]["requestId"], sent_by.as_str());
    assert_eq!(
        rejections[0]["errors"],
        json!([
            "FAIL_CONFLICT: ERROR: eventId e1 was already used for different content; \
             the first version is kept"
        ])
    );
    assert_eq!(rejections[0]["item"]["externalCustomerId"], "u2");
}

#[tokio::test]
async fn rejected_item_is_listed_exactly_as_sent_even_with_duplicate_keys() {
    let app = spawn_app().await;
    let item = r#"{"externalConversationId": "c1", "lobId": "a", "lobId": "b"}"#;
    let (status, _) = json(
        app.many("convo", &format!(r#"{{"items": [{item}]}}"#))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    let text = app.rejections("").await.text().await.expect("body");
    assert!(text.contains(item), "{text}");
}

#[tokio::test]
async fn rejected_item_that_is_not_an_object_is_listed_as_sent() {
    let app = spawn_app().await;
    let (status, _) = json(app.many("convo", r#"{"items": [42, "text"]}"#).await).await;
    assert_eq!(status, 400);
    let page = ok_json(app.rejections("").await).await;
    assert_eq!(page["rejections"][0]["item"], 42);
    assert_eq!(page["rejections"][1]["item"], "text");
}

#[tokio::test]
async fn paging_with_limit_and_cursor_gives_every_rejection_exactly_once() {
    let app = spawn_app().await;
    reject_many(&app, 7).await;
    let mut seen = Vec::new();
    let mut query = "?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = ok_json(app.rejections(&query).await).await;
        pages += 1;
        assert!(pages <= 3, "too many pages");
        let got = ids(&page);
        assert!(got.len() <= 3);
        seen.extend(got);
        match page.get("nextCursor") {
            Some(cursor) => {
                let cursor = cursor.as_str().expect("cursor is a string");
                query = format!("?limit=3&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..7).map(|n| format!("r{n}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn last_page_has_no_next_cursor_even_when_it_is_full() {
    let app = spawn_app().await;
    reject_many(&app, 4).await;
    let first = ok_json(app.rejections("?limit=2").await).await;
    assert_eq!(ids(&first), ["r0", "r1"]);
    let cursor = first["nextCursor"].as_str().expect("nextCursor");
    let second = ok_json(app.rejections(&format!("?limit=2&cursor={cursor}")).await).await;
    assert_eq!(ids(&second), ["r2", "r3"]);
    assert!(second.get("nextCursor").is_none(), "{second}");
    let all = ok_json(app.rejections("?limit=4").await).await;
    assert_eq!(ids(&all).len(), 4);
    assert!(all.get("nextCursor").is_none(), "{all}");
}

#[tokio::test]
async fn rejections_arriving_between_pages_are_not_lost() {
    let app = spawn_app().await;
    reject_many(&app, 2).await;
    let first = ok_json(app.rejections("?limit=2").await).await;
    assert!(first.get("nextCursor").is_none());
    // A client resuming from its last seen item gets what came since.
    let more = ok_json(app.rejections("?limit=1").await).await;
    let cursor = more["nextCursor"].as_str().expect("nextCursor").to_owned();
    let item = json!({"eventId": "late"});
    json(app.single("convo", &item.to_string()).await).await;
    let rest = ok_json(app.rejections(&format!("?cursor={cursor}")).await).await;
    assert_eq!(ids(&rest), ["r1", "late"]);
}

#[tokio::test]
async fn since_lists_only_rejections_received_at_or_after_it() {
    let app = spawn_app().await;
    reject_many(&app, 2).await;
    app.clock.advance_seconds(3_600);
    let item = json!({"eventId": "later"});
    json(app.single("convo", &item.to_string()).await).await;

    let page = ok_json(app.rejections("?since=2026-11-22T10:30:00Z").await).await;
    assert_eq!(ids(&page), ["later"]);
    // Inclusive, and any offset is understood.
    let page = ok_json(app.rejections("?since=2026-11-22T12:00:00%2B01:00").await).await;
    assert_eq!(ids(&page), ["later"]);
    let page = ok_json(app.rejections("?since=2026-11-22T10:00:00Z").await).await;
    assert_eq!(ids(&page), ["r0", "r1", "later"]);
    let page = ok_json(app.rejections("?since=2026-11-22T11:00:00.000001Z").await).await;
    assert_eq!(ids(&page), Vec::<String>::new());
}

#[tokio::test]
async fn since_and_paging_combine() {
    let app = spawn_app().await;
    reject_many(&app, 1).await;
    app.clock.advance_seconds(60);
    for n in 0..3 {
        json(
            app.single("convo", &json!({"eventId": format!("s{n}")}).to_string())
                .await,
        )
        .await;
    }
    let since = "since=2026-11-22T10:01:00Z";
    let first = ok_json(app.rejections(&format!("?{since}&limit=2")).await).await;
    assert_eq!(ids(&first), ["s0", "s1"]);
    let cursor = first["nextCursor"].as_str().expect("nextCursor");
    let second = ok_json(
        app.rejections(&format!("?{since}&limit=2&cursor={cursor}"))
            .await,
    )
    .await;
    assert_eq!(ids(&second), ["s2"]);
    assert!(second.get("nextCursor").is_none());
}

#[tokio::test]
async fn bad_since_answers_400_01_naming_since() {
    let app = spawn_app().await;
    for since in [
        "yesterday",
        "2026-11-22",
        "2026-11-22T10:00:00",
        "2026-13-01T00:00:00Z",
        "",
    ] {
        let response = app.rejections(&format!("?since={since}")).await;
        let message = assert_error(response, 400, "400-01").await;
        assert!(
            message.starts_with("since must be an RFC 3339 date-time"),
            "{since}: {message}"
        );
    }
}

#[tokio::test]
async fn bad_limit_answers_400_01_naming_limit() {
    let app = spawn_app().await;
    for limit in ["0", "1001", "-1", "ten", "1.5", ""] {
        let response = app.rejections(&format!("?limit={limit}")).await;
        let message = assert_error(response, 400, "400-01").await;
        assert_eq!(
            message,
            format!("limit must be an integer from 1 to 1000, got {limit:?}")
        );
    }
    ok_json(app.rejections("?limit=1000").await).await;
    ok_json(app.rejections("?limit=1").await).await;
}

#[tokio::test]
async fn bad_cursor_answers_400_01_naming_cursor() {
    let app = spawn_app().await;
    for cursor in ["abc", "-3", "1.", "1.-5", "", "99999999999999999999"] {
        let response = app.rejections(&format!("?cursor={cursor}")).await;
        let message = assert_error(response, 400, "400-01").await;
        assert!(
            message.starts_with(&format!("cursor {cursor:?}")),
            "{message}"
        );
    }
}

#[tokio::test]
async fn repeated_query_parameter_answers_400_01_in_the_envelope() {
    let app = spawn_app().await;
    let message = assert_error(app.rejections("?limit=1&limit=2").await, 400, "400-01").await;
    assert!(message.contains("limit"), "{message}");
}

#[tokio::test]
async fn rejections_of_every_kind_share_one_list_in_order() {
    let app = spawn_app().await;
    json(app.single("agent", r#"{"eventId": "k1"}"#).await).await;
    json(app.single("customer", r#"{"eventId": "k2"}"#).await).await;
    json(
        app.many(
            "convo",
            r#"{"items": [{"eventId": "k3"}, {"eventId": "k4"}]}"#,
        )
        .await,
    )
    .await;
    let page = ok_json(app.rejections("").await).await;
    assert_eq!(ids(&page), ["k1", "k2", "k3", "k4"]);
    let kinds: HashSet<&str> = page["rejections"]
        .as_array()
        .expect("rejections")
        .iter()
        .map(|r| r["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, HashSet::from(["agent", "customer", "conversation"]));
}

#[tokio::test]
async fn rejected_item_over_64_kib_is_listed_cut_and_marked_truncated() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "lobName": "x".repeat(70_000)});
    let (status, _) = json(app.many("convo", &batch(&[item])).await).await;
    assert_eq!(status, 400);
    let page = ok_json(app.rejections("").await).await;
    let entry = &page["rejections"][0];
    assert_eq!(entry["itemTruncated"], true);
    let cut = entry["item"]
        .as_str()
        .expect("a cut item is answered as text");
    assert_eq!(cut.len(), 64 * 1024);
    assert!(cut.starts_with(r#"{"externalConversationId":"c1","lobName":"xxx"#));
    assert_eq!(
        entry["errors"],
        json!(["FAIL_BAD_PARAMS: ERROR: lobName must be at most 256 characters, got 70000"])
    );
}
