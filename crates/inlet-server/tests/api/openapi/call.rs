//! The call-metadata operations of the document against the server: the
//! request schemas describe what the server takes (the seed example of an
//! out-of-band event included), every documented bound is the one enforced,
//! and real answers have the documented shapes.

use inlet_domain::{ID_PATTERN, Timestamp};
use reqwest::Response;
use serde_json::{Value, json};

use super::{assert_conforms, component, names, operation, request_schema, resolve, string_list};
use crate::helpers::{START, TestApp, assert_error, json, ok_json, spawn_app};

/// Seed 004's example body, exactly as printed.
const SEED_EVENT: &str = include_str!("../../../../../tests/fixtures/seeds/outofband-event.json");

const TOKEN: &str = "/Token";
const CALLS: &str = "/callevent/v1/calls";
const EVENT: &str = "/callevent/v1/outofband/event";
const EVENTS: &str = "/callevent/v1/outofband/events";
const RULES: &str = "/callevent/v1/matching-rules";

/// The document `app` serves.
async fn document_of(app: &TestApp) -> Value {
    ok_json(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .expect("request"),
    )
    .await
}

/// The component schema `name`.
fn schema<'a>(document: &'a Value, name: &str) -> &'a Value {
    let schema = &document["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name}");
    schema
}

/// `START` plus `seconds`, as RFC 3339.
fn at(seconds: i64) -> String {
    Timestamp::parse_rfc3339(START)
        .expect("start")
        .plus_seconds(seconds)
        .to_string()
}

/// `PUT` of the matching rules with the app's key.
async fn put_rules(app: &TestApp, body: &Value) -> Response {
    app.client
        .put(app.url(RULES))
        .header("asapp-api-id", &app.key.api_id)
        .header("asapp-api-secret", &app.key.secret)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request")
}

/// `POST /Token` with a form body.
async fn request_token(app: &TestApp, form: &str) -> Response {
    app.client
        .post(app.url(TOKEN))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .expect("request")
}

/// The per-call error of registering `call` alone (empty when accepted).
async fn call_error(app: &TestApp, call: &Value) -> String {
    let (_, body) = json(app.post(CALLS, &call.to_string()).await).await;
    body["result"]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no per-call result: {body}"))
        .to_owned()
}

#[tokio::test]
async fn the_out_of_band_event_schema_has_the_seed_examples_keys_and_requires_event_time_and_metadata()
 {
    let app = spawn_app().await;
    let document = document_of(&app).await;
    let seed: Value = serde_json::from_str(SEED_EVENT).expect("the seed example is JSON");
    let body = request_schema(&document, EVENT);
    let sent: Vec<&String> = seed.as_object().expect("object").keys().collect();
    assert_eq!(sent, ["SessionId", "EventTime", "Metadata"]);
    assert_eq!(
        names(body),
        ["SessionId", "EventTime", "Metadata", "eventId"],
        "the seed's spelling, then the idempotency key"
    );
    assert_eq!(string_list(&body["required"]), ["EventTime", "Metadata"]);
    let property = |name: &str| &body["properties"][name];
    assert_eq!(property("SessionId")["type"], "string");
    assert_eq!(property("Metadata")["type"], "object");
    assert!(
        property("EventTime")["format"].is_null(),
        "the seed's 2018/10/15T09:00:00.000Z is no RFC 3339 date-time; a format would refuse it"
    );
    assert_eq!(property("eventId")["pattern"], ID_PATTERN);
    assert_eq!(property("eventId")["maxLength"], 256);
    for spelling in ["sessionID", "eventTime", "metaData"] {
        assert!(
            body["description"]
                .as_str()
                .is_some_and(|text| text.contains(spelling)),
            "{spelling} is not mentioned"
        );
    }
    // The example is the seed's, it conforms, and the server takes it.
    let media = &operation(&document, EVENT, "post")["requestBody"]["content"]["application/json"];
    assert_eq!(media["example"], seed);
    assert_conforms(&document, &media["schema"], &seed, "the seed example");
    let answer = ok_json(app.post(EVENT, SEED_EVENT).await).await;
    assert_conforms(
        &document,
        component(&document, EVENT, "post", "200"),
        &answer,
        "answer",
    );
    assert_eq!(answer["status"], "pending", "no call abc123 yet");
    // Either required field left out is refused.
    for required in ["EventTime", "Metadata"] {
        let mut event = seed.clone();
        event.as_object_mut().expect("object").remove(required);
        assert_error(app.post(EVENT, &event.to_string()).await, 400, "400-01").await;
    }
}

#[tokio::test]
async fn the_call_schema_has_every_call_field_and_requires_session_id_and_start_time() {
    let app = spawn_app().await;
    let document = document_of(&app).await;
    let body = &operation(&document, CALLS, "post")["requestBody"]["content"]["application/json"]["schema"];
    let choices = body["oneOf"].as_array().expect("one call or a batch");
    let call = resolve(&document, &choices[0]);
    assert_eq!(
        names(call),
        [
            "sessionId",
            "masterCallId",
            "startTime",
            "endTime",
            "direction",
            "numberDialed",
            "contacts",
            "metaData",
        ]
    );
    assert_eq!(string_list(&call["required"]), ["sessionId", "startTime"]);
    for time in ["startTime", "endTime"] {
        assert_eq!(call["properties"][time]["format"], "date-time", "{time}");
    }
    let batch = resolve(&document, &choices[1]);
    let items = &batch["properties"]["items"];
    assert_eq!(items["items"], choices[0], "a batch holds calls");
    assert_eq!(
        (&items["minItems"], &items["maxItems"]),
        (&json!(1), &json!(1000))
    );
    assert_eq!(string_list(&batch["required"]), ["items"]);
    let contact = resolve(&document, &call["properties"]["contacts"]["items"]);
    assert_eq!(
        names(contact),
        [
            "type",
            "phoneNumber",
            "referenceId",
            "firstName",
            "lastName"
        ]
    );
    assert_eq!(string_list(&contact["required"]), ["type"]);
    assert_eq!(
        string_list(&contact["properties"]["type"]["enum"]),
        ["agent", "customer"]
    );

    // A call with every documented field is registered without warnings
    // (an unknown field would be one) and read back with each of them.
    let full = json!({
        "sessionId": "s-1", "masterCallId": "g-1", "startTime": at(0), "endTime": at(300),
        "direction": "inbound", "numberDialed": "+1 555 0100",
        "contacts": [{"type": "customer", "phoneNumber": "+1 555 0199", "referenceId": "C-9",
                      "firstName": "Ann", "lastName": "Lee"}],
        "metaData": {"crm": {"caseId": "CASE-1"}},
    });
    let used: Vec<&String> = full.as_object().expect("object").keys().collect();
    assert_eq!(used, names(call).iter().collect::<Vec<_>>(), "every field");
    assert_conforms(&document, &choices[0], &full, "call");
    let answer = ok_json(app.post(CALLS, &full.to_string()).await).await;
    assert_eq!(answer, json!({"result": {"sessionId": "s-1", "error": ""}}));
    let read = ok_json(app.get(&format!("{CALLS}/s-1")).await).await;
    for name in names(call) {
        assert!(read.get(&name).is_some(), "{name} is not read back");
    }
    // Either required field left out fails the call, naming it.
    for required in ["sessionId", "startTime"] {
        let mut partial = full.clone();
        partial.as_object_mut().expect("object").remove(required);
        let error = call_error(&app, &partial).await;
        assert!(
            error.contains(&format!("{required} is required")),
            "{error}"
        );
    }
}

#[tokio::test]
async fn the_documented_call_lengths_and_counts_are_the_ones_enforced() {
    let app = spawn_app().await;
    let document = document_of(&app).await;
    let base = json!({"sessionId": "s-1", "startTime": at(0)});
    // Each bounded string of a call: at its maxLength accepted, one past it
    // refused naming the field.
    let call = schema(&document, "Call");
    for (name, field) in call["properties"].as_object().expect("properties") {
        let Some(max) = field["maxLength"].as_u64() else {
            continue;
        };
        let max = usize::try_from(max).expect("small");
        for (length, accepted) in [(max, true), (max + 1, false)] {
            let mut sent = base.clone();
            sent[name] = json!("x".repeat(length));
            let error = call_error(&app, &sent).await;
            assert_eq!(error.is_empty(), accepted, "{name} of {length}: {error}");
            if !accepted {
                assert!(error.contains(name.as_str()), "{error}");
            }
        }
    }
    let contact = schema(&document, "Contact");
    for (name, field) in contact["properties"].as_object().expect("properties") {
        let Some(max) = field["maxLength"].as_u64() else {
            continue;
        };
        let max = usize::try_from(max).expect("small");
        for (length, accepted) in [(max, true), (max + 1, false)] {
            let mut sent = base.clone();
            sent["contacts"] = json!([{"type": "agent", name.as_str(): "x".repeat(length)}]);
            let error = call_error(&app, &sent).await;
            assert_eq!(error.is_empty(), accepted, "{name} of {length}: {error}");
            if !accepted {
                assert!(error.contains(&format!("contacts[0].{name}")), "{error}");
            }
        }
    }
    let max = call["properties"]["contacts"]["maxItems"]
        .as_u64()
        .expect("maxItems");
    let max = usize::try_from(max).expect("small");
    for (count, accepted) in [(max, true), (max + 1, false)] {
        let mut sent = base.clone();
        sent["contacts"] = json!(vec![json!({"type": "customer"}); count]);
        let error = call_error(&app, &sent).await;
        assert_eq!(error.is_empty(), accepted, "{count} contacts: {error}");
    }
    // The documented id pattern: its characters accepted, others refused.
    let mut sent = base.clone();
    sent["sessionId"] = json!("call.1:leg-2_b");
    assert_eq!(call_error(&app, &sent).await, "");
    sent["sessionId"] = json!("a/b");
    assert!(call_error(&app, &sent).await.contains("sessionId"));
}

#[tokio::test]
async fn the_documented_rule_bounds_and_defaults_are_the_ones_enforced() {
    let app = spawn_app().await;
    let document = document_of(&app).await;
    let rule_schema = schema(&document, "MatchingRule");
    let field = |name: &str| &rule_schema["properties"][name];
    let rule = |extra: Value| {
        let mut rule = json!({"name": "r", "eventField": "/x", "callField": "numberDialed"});
        for (key, value) in extra.as_object().expect("object") {
            rule[key] = value.clone();
        }
        json!({"rules": [rule]})
    };
    let refused = |message: String, field: &str| {
        assert!(
            message.contains(&format!("rules[0].{field}")),
            "{field}: {message}"
        );
    };

    // Left-out fields read back as their documented defaults.
    let answer = ok_json(put_rules(&app, &rule(json!({}))).await).await;
    for name in ["priority", "normalize", "windowSeconds", "target"] {
        assert_eq!(answer["rules"][0][name], field(name)["default"], "{name}");
    }
    assert_conforms(
        &document,
        component(&document, RULES, "put", "200"),
        &answer,
        "rules",
    );
    // Each required field is required.
    for name in string_list(&rule_schema["required"]) {
        let mut body = rule(json!({}));
        body["rules"][0]
            .as_object_mut()
            .expect("object")
            .remove(&name);
        refused(
            assert_error(put_rules(&app, &body).await, 400, "400-01").await,
            &name,
        );
    }
    // The name's length, the window's range, and every documented option.
    let max = usize::try_from(field("name")["maxLength"].as_u64().expect("max")).expect("small");
    ok_json(put_rules(&app, &rule(json!({"name": "n".repeat(max)}))).await).await;
    let body = rule(json!({"name": "n".repeat(max + 1)}));
    refused(
        assert_error(put_rules(&app, &body).await, 400, "400-01").await,
        "name",
    );
    let window = field("windowSeconds");
    let (min, max) = (
        window["minimum"].as_i64().expect("minimum"),
        window["maximum"].as_i64().expect("maximum"),
    );
    for ok in [min, max] {
        ok_json(put_rules(&app, &rule(json!({"windowSeconds": ok}))).await).await;
    }
    for bad in [min - 1, max + 1] {
        let body = rule(json!({"windowSeconds": bad}));
        refused(
            assert_error(put_rules(&app, &body).await, 400, "400-01").await,
            "windowSeconds",
        );
    }
    for name in ["normalize", "target"] {
        for option in string_list(&field(name)["enum"]) {
            let answer = ok_json(put_rules(&app, &rule(json!({name: option}))).await).await;
            assert_eq!(answer["rules"][0][name], option.as_str());
        }
    }
    for call_field in ["customerPhoneNumber", "metaData/crm/caseId"] {
        ok_json(put_rules(&app, &rule(json!({"callField": call_field}))).await).await;
    }
    // At most maxItems rules.
    let max = schema(&document, "MatchingRules")["properties"]["rules"]["maxItems"]
        .as_u64()
        .expect("maxItems");
    let set = |count: u64| {
        let rules: Vec<Value> = (0..count)
            .map(|i| json!({"name": format!("r{i}"), "eventField": "/x", "callField": "numberDialed"}))
            .collect();
        json!({ "rules": rules })
    };
    ok_json(put_rules(&app, &set(max)).await).await;
    assert_error(put_rules(&app, &set(max + 1)).await, 400, "400-01").await;
}

#[tokio::test]
async fn the_documented_event_list_limits_are_the_ones_enforced() {
    let app = spawn_app().await;
    let document = document_of(&app).await;
    let parameters = operation(&document, EVENTS, "get")["parameters"]
        .as_array()
        .expect("parameters");
    let parameter = |name: &str| {
        parameters
            .iter()
            .find(|parameter| parameter["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
    };
    let limit = &parameter("limit")["schema"];
    let (min, max, default) = (
        limit["minimum"].as_u64().expect("minimum"),
        limit["maximum"].as_u64().expect("maximum"),
        limit["default"].as_u64().expect("default"),
    );
    for bad in [min - 1, max + 1] {
        assert_error(
            app.get(&format!("{EVENTS}?limit={bad}")).await,
            400,
            "400-01",
        )
        .await;
    }
    ok_json(app.get(&format!("{EVENTS}?limit={max}")).await).await;
    for status in string_list(&parameter("status")["schema"]["enum"]) {
        ok_json(app.get(&format!("{EVENTS}?status={status}")).await).await;
    }
    assert_error(
        app.get(&format!("{EVENTS}?status=lost")).await,
        400,
        "400-01",
    )
    .await;
    for i in 0..=default {
        let event = json!({"eventTime": at(0), "metadata": {"i": i}});
        ok_json(app.post(EVENT, &event.to_string()).await).await;
    }
    let page = ok_json(app.get(EVENTS).await).await;
    let listed = page["events"].as_array().expect("events").len();
    assert_eq!(u64::try_from(listed).expect("small"), default);
    assert!(page["nextCursor"].is_string());
}

#[tokio::test]
async fn real_call_metadata_answers_have_the_documented_shapes() {
    let app = spawn_app().await;
    let document = document_of(&app).await;
    // Of several documented alternatives, the body must fit exactly one:
    // the one whose required fields it has.
    let conforms = |path: &str, method: &str, status: &str, body: &Value| {
        let at = format!("{method} {path} {status}");
        let mut schema = component(&document, path, method, status);
        if let Some(choices) = schema["oneOf"].as_array() {
            let fitting: Vec<&Value> = choices
                .iter()
                .filter(|choice| {
                    string_list(&resolve(&document, choice)["required"])
                        .iter()
                        .all(|name| body.get(name).is_some())
                })
                .collect();
            assert_eq!(fitting.len(), 1, "{at}: {body} fits {fitting:?}");
            schema = fitting[0];
        }
        assert_conforms(&document, schema, body, &at);
    };

    // Tokens, and the OAuth2 errors.
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        app.key.api_id, app.key.secret
    );
    let response = request_token(&app, &form).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    conforms(TOKEN, "post", "200", &ok_json(response).await);
    let (status, body) = json(request_token(&app, "grant_type=password").await).await;
    assert_eq!(status.as_u16(), 400);
    conforms(TOKEN, "post", "400", &body);
    let wrong = "grant_type=client_credentials&client_id=ak_x&client_secret=y";
    let (status, body) = json(request_token(&app, wrong).await).await;
    assert_eq!(status.as_u16(), 401);
    conforms(TOKEN, "post", "401", &body);

    // Rules, then calls of one group, then events they match.
    let rules = json!({"rules": [{"name": "by-phone", "eventField": "/ani",
        "callField": "customerPhoneNumber", "normalize": "digits", "windowSeconds": 3600,
        "target": "callGroup"}]});
    conforms(
        RULES,
        "put",
        "200",
        &ok_json(put_rules(&app, &rules).await).await,
    );
    conforms(RULES, "get", "200", &ok_json(app.get(RULES).await).await);
    let customer = json!([{"type": "customer", "phoneNumber": "+1 555 0100"}]);
    let calls = json!({"items": [
        {"sessionId": "c-1", "masterCallId": "g-1", "startTime": at(0), "endTime": at(300),
         "contacts": customer, "metaData": {"queue": "sales"}, "agentName": "x"},
        {"sessionId": "c-2", "masterCallId": "g-1", "startTime": at(600), "contacts": customer},
        {"sessionId": "c-3", "startTime": at(0)},
    ]});
    let answer = ok_json(app.post(CALLS, &calls.to_string()).await).await;
    assert_eq!(
        answer["results"][0]["warnings"],
        json!(["unknown field agentName"])
    );
    conforms(CALLS, "post", "200", &answer);
    let single = json!({"sessionId": "c-4", "startTime": at(0)});
    conforms(
        CALLS,
        "post",
        "200",
        &ok_json(app.post(CALLS, &single.to_string()).await).await,
    );
    let (status, body) = json(app.post(CALLS, r#"{"sessionId": "c-5"}"#).await).await;
    assert_eq!(status.as_u16(), 400);
    conforms(CALLS, "post", "400", &body);

    let by_rule = json!({"eventTime": at(60), "metadata": {"ani": "(1) 555-0100"}});
    let answer = ok_json(app.post(EVENT, &by_rule.to_string()).await).await;
    assert_eq!(answer["status"], "matched", "{answer}");
    conforms(EVENT, "post", "200", &answer);
    let by_session =
        json!({"sessionId": "c-1", "eventTime": at(30), "metadata": {"a": 1}, "eventId": "e-1"});
    conforms(
        EVENT,
        "post",
        "200",
        &ok_json(app.post(EVENT, &by_session.to_string()).await).await,
    );
    ok_json(app.post(EVENT, SEED_EVENT).await).await;

    // Read back: the call with its group and events, and the list.
    let call = ok_json(app.get(&format!("{CALLS}/c-1")).await).await;
    let events = call["events"].as_array().expect("events");
    assert!(
        events
            .iter()
            .any(|event| event["via"] == "callGroup" && event["ambiguous"] == true),
        "the optional fields are exercised: {call}"
    );
    conforms(&format!("{CALLS}/{{sessionId}}"), "get", "200", &call);
    let alone = ok_json(app.get(&format!("{CALLS}/c-3")).await).await;
    assert!(alone["callGroup"].is_null());
    conforms(&format!("{CALLS}/{{sessionId}}"), "get", "200", &alone);
    let page = ok_json(app.get(EVENTS).await).await;
    assert!(
        page["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|event| event["match"]["callGroup"] == "g-1"),
        "{page}"
    );
    conforms(EVENTS, "get", "200", &page);
    let (status, body) = json(app.get(&format!("{CALLS}/nobody")).await).await;
    assert_eq!(status.as_u16(), 404);
    conforms(&format!("{CALLS}/{{sessionId}}"), "get", "404", &body);
}
