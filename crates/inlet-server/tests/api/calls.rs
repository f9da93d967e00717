//! Creovai's call metadata over HTTP: tokens, calls, out-of-band events,
//! matching rules, and the TTL and token expiry on the injected clock.

use std::time::{Duration, Instant};

use inlet_domain::{Role, Timestamp};
use inlet_store::Store;
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{Key, START_RENDERED, TestApp, assert_error, json, ok_json, spawn_app};

/// Seed 004's example body, exactly as printed.
const SEED_EVENT: &str = include_str!("../../../../tests/fixtures/seeds/outofband-event.json");

const EVENT: &str = "/callevent/v1/outofband/event";
const CALLS: &str = "/callevent/v1/calls";
const RULES: &str = "/callevent/v1/matching-rules";

impl TestApp {
    /// `POST /Token` with a form body (and optional extra headers).
    async fn token_request(&self, form: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = self
            .client
            .post(self.url("/Token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request")
    }

    /// A bearer token for `key`.
    async fn token(&self, key: &Key) -> String {
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            key.api_id, key.secret
        );
        let body = ok_json(self.token_request(&form, &[]).await).await;
        body["access_token"].as_str().expect("token").to_owned()
    }

    async fn bearer_get(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    async fn bearer_post(&self, token: &str, path: &str, body: &str) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("request")
    }

    async fn put_rules(&self, rules: Value) -> Response {
        self.client
            .put(self.url(RULES))
            .header("asapp-api-id", &self.key.api_id)
            .header("asapp-api-secret", &self.key.secret)
            .header("content-type", "application/json")
            .body(json!({ "rules": rules }).to_string())
            .send()
            .await
            .expect("request")
    }
}

fn at(offset_seconds: i64) -> String {
    Timestamp::parse_rfc3339(crate::helpers::START)
        .expect("start")
        .plus_seconds(offset_seconds)
        .to_string()
}

#[tokio::test]
async fn a_token_is_issued_as_creovai_documents_and_works_on_every_endpoint() {
    let app = spawn_app().await;
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        app.key.api_id, app.key.secret
    );
    let response = app.token_request(&form, &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = ok_json(response).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1799);
    let token = body["access_token"].as_str().expect("token");
    let health = app.bearer_get(token, "/v1/health").await;
    assert_eq!(ok_json(health).await, json!({"healthCheck": "SUCCESS"}));
    let asapp = app
        .bearer_post(
            token,
            "/metadata-ingestion/v1/single-convo-metadata",
            r#"{"externalConversationId": "c1"}"#,
        )
        .await;
    assert_eq!(asapp.status(), 200, "an ASAPP endpoint takes the token too");
}

#[tokio::test]
async fn token_errors_follow_rfc_6749() {
    let app = spawn_app().await;
    let id = &app.key.api_id;
    let cases = [
        (
            format!("grant_type=client_credentials&client_id={id}&client_secret=wrong"),
            401,
            "invalid_client",
        ),
        (
            format!(
                "grant_type=client_credentials&client_id=ak_nobody&client_secret={}",
                app.key.secret
            ),
            401,
            "invalid_client",
        ),
        (
            format!("client_id={id}&client_secret=x"),
            400,
            "invalid_request",
        ),
        (
            format!("grant_type=password&client_id={id}&client_secret=x"),
            400,
            "unsupported_grant_type",
        ),
        (
            "grant_type=client_credentials".to_owned(),
            400,
            "invalid_request",
        ),
        (
            format!(
                "grant_type=client_credentials&grant_type=client_credentials&client_id={id}&client_secret=x"
            ),
            400,
            "invalid_request",
        ),
    ];
    for (form, status, error) in cases {
        let response = app.token_request(&form, &[]).await;
        assert_eq!(response.status(), status, "{form}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], error, "{form}");
        assert!(body["error_description"].is_string());
    }
    let as_json = app
        .client
        .post(app.url("/Token"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("request");
    assert_eq!(as_json.status(), 400);
    let basic = app
        .token_request("grant_type=client_credentials", &[])
        .await;
    assert_eq!(basic.status(), 400);
    let credentials = format!("{}:{}", app.key.api_id, app.key.secret);
    let response = app
        .client
        .post(app.url("/Token"))
        .basic_auth(&app.key.api_id, Some(&app.key.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status(),
        200,
        "HTTP Basic carries {credentials:?} too"
    );
}

#[tokio::test]
async fn a_token_expires_on_the_injected_clock() {
    let app = spawn_app().await;
    let token = app.token(&app.key).await;
    app.clock.advance_seconds(1798);
    assert_eq!(app.bearer_get(&token, "/v1/health").await.status(), 200);
    app.clock.advance_seconds(1);
    let message = assert_error(app.bearer_get(&token, "/v1/health").await, 401, "401-01").await;
    assert!(message.contains("expired"), "{message}");
    let forged = token.replace("v1.", "v1.x");
    assert_error(app.bearer_get(&forged, "/v1/health").await, 401, "401-01").await;
}

#[tokio::test]
async fn a_token_never_outlives_its_key_and_a_huge_form_is_refused() {
    let app = spawn_app().await;
    let key = app.create_key_expiring("acme", &[Role::Read], 1).await;
    app.clock.advance_seconds(24 * 3600 - 100);
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        key.api_id, key.secret
    );
    let body = ok_json(app.token_request(&form, &[]).await).await;
    assert_eq!(body["expires_in"], 100, "the key expires in 100 s");
    let token = body["access_token"].as_str().expect("token").to_owned();
    app.clock.advance_seconds(100);
    assert_error(app.bearer_get(&token, "/v1/health").await, 401, "401-01").await;

    let huge = format!("{form}&padding={}", "x".repeat(10_000));
    let response = app.token_request(&huge, &[]).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn a_token_dies_with_its_key_within_a_second() {
    let app = spawn_app().await;
    let key = app.create_key("acme", &[Role::Read]).await;
    let token = app.token(&key).await;
    assert_eq!(app.bearer_get(&token, "/v1/health").await.status(), 200);
    let api_id = inlet_domain::ApiId::parse(key.api_id.as_str()).expect("api id");
    app.store
        .revoke_credential(
            &api_id,
            Timestamp::parse_rfc3339(crate::helpers::START).expect("now"),
        )
        .await
        .expect("revoke");
    // Bounded poll: the key cache may answer from memory for 500 ms.
    let revoked = Instant::now();
    let mut status = 200;
    while status == 200 && revoked.elapsed() < Duration::from_secs(3) {
        status = app.bearer_get(&token, "/v1/health").await.status().as_u16();
    }
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_seed_event_is_accepted_exactly_as_printed_and_waits_for_its_call() {
    let app = spawn_app().await;
    let token = app.token(&app.key).await;
    let body = ok_json(app.bearer_post(&token, EVENT, SEED_EVENT).await).await;
    assert_eq!(body["status"], "pending");
    assert_eq!(body["sessionIds"], json!([]));
    let event_id = body["eventId"].as_str().expect("eventId").to_owned();
    let call = json!({"sessionId": "abc123", "startTime": "2018-10-15T08:59:00Z"});
    let registered = ok_json(app.post(CALLS, &call.to_string()).await).await;
    assert_eq!(
        registered,
        json!({"result": {"sessionId": "abc123", "error": ""}})
    );
    let view = ok_json(app.bearer_get(&token, "/callevent/v1/calls/abc123").await).await;
    assert_eq!(view["asyncMetadata"]["customerDataField1"], "someData");
    assert_eq!(view["events"][0]["eventId"], event_id);
    assert_eq!(
        view["events"][0]["eventTime"],
        "2018-10-15T09:00:00.000000Z"
    );
    assert_eq!(view["events"][0]["receivedAt"], START_RENDERED);
    assert_eq!(view["events"][0]["matchedBy"], "sessionId");
    assert_eq!(view["events"][0]["via"], "call");
    assert_eq!(view["callGroup"], Value::Null);
}

#[tokio::test]
async fn a_bad_event_answers_400_naming_the_problem() {
    let app = spawn_app().await;
    let cases = [
        (r#"{"metadata": {}}"#, "EventTime is required"),
        (
            r#"{"EventTime": "10/15/2018", "metadata": {}}"#,
            "EventTime must be a date-time",
        ),
        (
            r#"{"eventTime": "2018-10-15T09:00:00Z", "metadata": "x"}"#,
            "metadata must be a JSON object, got a string",
        ),
        (
            r#"{"eventTime": "2018-10-15T09:00:00Z"}"#,
            "metadata is required",
        ),
        (r#"[]"#, "request body must be a JSON object"),
    ];
    for (body, start) in cases {
        let message = assert_error(app.post(EVENT, body).await, 400, "400-01").await;
        assert!(message.starts_with(start), "{body}: {message}");
    }
    let deep = format!("{}1{}", "{\"a\":".repeat(33), "}".repeat(33));
    let body = format!(r#"{{"eventTime": "2018-10-15T09:00:00Z", "metadata": {deep}}}"#);
    let message = assert_error(app.post(EVENT, &body).await, 400, "400-01").await;
    assert_eq!(message, "metadata nests 33 levels deep; at most 32");
}

#[tokio::test]
async fn each_endpoint_needs_its_role() {
    let app = spawn_app().await;
    let reader = app.create_key("acme", &[Role::Read]).await;
    let body = r#"{"eventTime": "2018-10-15T09:00:00Z", "metadata": {}}"#;
    assert_error(app.post_as(&reader, EVENT, body).await, 403, "403-01").await;
    let call = r#"{"sessionId": "s", "startTime": "2018-10-15T09:00:00Z"}"#;
    assert_error(app.post_as(&reader, CALLS, call).await, 403, "403-01").await;
    assert_error(app.get_as(&reader, RULES).await, 403, "403-01").await;
    let sender = app.create_key("acme", &[Role::AsyncMetaData]).await;
    assert_eq!(app.post_as(&sender, EVENT, body).await.status(), 200);
    assert_error(
        app.get_as(&sender, "/callevent/v1/calls/s").await,
        403,
        "403-01",
    )
    .await;
}

#[tokio::test]
async fn a_resent_event_answers_its_outcome_and_other_content_conflicts() {
    let app = spawn_app().await;
    let body = r#"{"eventId": "ev-1", "eventTime": "2018-10-15T09:00:00Z", "metadata": {"a": 1}}"#;
    let first = ok_json(app.post(EVENT, body).await).await;
    let again = ok_json(app.post(EVENT, body).await).await;
    assert_eq!(first, again);
    assert_eq!(first["eventId"], "ev-1");
    let other = r#"{"eventId": "ev-1", "eventTime": "2018-10-15T09:00:00Z", "metadata": {"a": 2}}"#;
    assert_error(app.post(EVENT, other).await, 409, "409-02").await;
}

#[tokio::test]
async fn calls_answer_per_item_and_fail_together_only_when_all_fail() {
    let app = spawn_app().await;
    let good = json!({"sessionId": "s1", "startTime": "2018-10-15T09:00:00Z", "agentName": "x"});
    let bad = json!({"sessionId": "s2"});
    let (status, body) = json(
        app.post(CALLS, &json!({"items": [good, bad]}).to_string())
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["errorCount"], 1);
    assert_eq!(
        body["results"][0],
        json!({"sessionId": "s1", "error": "", "warnings": ["unknown field agentName"]})
    );
    assert_eq!(
        body["results"][1],
        json!({"sessionId": "s2", "error": "FAIL_BAD_PARAMS: ERROR: startTime is required"})
    );
    let (status, _) = json(app.post(CALLS, &json!({"items": [bad]}).to_string()).await).await;
    assert_eq!(status, 400);
    let (status, body) = json(app.post(CALLS, &bad.to_string()).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["result"]["error"],
        "FAIL_BAD_PARAMS: ERROR: startTime is required"
    );
    assert_error(app.post(CALLS, r#"{"items": []}"#).await, 422, "422-01").await;
    assert_error(app.post(CALLS, "[1, 2]").await, 400, "400-01").await;
    assert_error(app.get("/callevent/v1/calls/nope").await, 404, "404-01").await;
}

#[tokio::test]
async fn rules_are_refused_naming_the_field_and_read_back_as_set() {
    let app = spawn_app().await;
    let message = assert_error(
        app.put_rules(json!([{"name": "r", "eventField": "ani", "callField": "phone"}]))
            .await,
        400,
        "400-01",
    )
    .await;
    assert!(
        message.contains("rules[0].eventField must be a JSON pointer"),
        "{message}"
    );
    assert!(
        message.contains("rules[0].callField must be numberDialed"),
        "{message}"
    );
    let rules = json!([{"name": "r", "priority": 1, "eventField": "/ani", "callField": "customerPhoneNumber",
        "normalize": "digits", "windowSeconds": 300, "target": "callGroup"}]);
    assert_eq!(
        ok_json(app.put_rules(rules.clone()).await).await,
        json!({"rules": rules})
    );
    assert_eq!(ok_json(app.get(RULES).await).await, json!({"rules": rules}));
}

#[tokio::test]
async fn a_pending_event_is_unmatched_after_the_ttl_on_the_injected_clock() {
    let app = spawn_app().await;
    let body = json!({"eventId": "late", "sessionId": "s9", "eventTime": at(0), "metadata": {}});
    assert_eq!(
        ok_json(app.post(EVENT, &body.to_string()).await).await["status"],
        "pending"
    );
    let listed = |status: &'static str| {
        let app = &app;
        async move {
            let page = ok_json(
                app.get(&format!("/callevent/v1/outofband/events?status={status}"))
                    .await,
            )
            .await;
            page["events"]
                .as_array()
                .expect("events")
                .iter()
                .map(|event| event["eventId"].as_str().expect("id").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("pending").await, ["late"]);
    app.clock.advance_seconds(24 * 3600 - 1);
    assert_eq!(listed("pending").await, ["late"]);
    app.clock.advance_seconds(1);
    assert!(listed("pending").await.is_empty());
    assert_eq!(listed("unmatched").await, ["late"]);
    // Its call arriving now no longer binds it.
    let call = json!({"sessionId": "s9", "startTime": at(0)});
    ok_json(app.post(CALLS, &call.to_string()).await).await;
    let view = ok_json(app.get("/callevent/v1/calls/s9").await).await;
    assert_eq!(view["events"], json!([]));
    assert_error(
        app.get("/callevent/v1/outofband/events?status=lost").await,
        400,
        "400-01",
    )
    .await;
}
