//! `/openapi.json` and `/docs`: served without a key, covering every route,
//! and agreeing with what the server really answers; [`seed`] compares the
//! document with the seed specs, [`call`] checks the call-metadata
//! operations against the server.

mod call;
mod seed;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{V1, assert_error, batch, json, ok_json, spawn_app};

/// Every API route the app registers, as `(method, path)`; path parameters
/// are written `{}`. `/docs`, `/openapi.json`, `/metrics`, `/livez` and
/// `/readyz` are left out of the document (DESIGN.md §3b).
const ROUTES: &[(&str, &str)] = &[
    ("post", "/metadata-ingestion/v1/single-convo-metadata"),
    ("post", "/metadata-ingestion/v1/many-convo-metadata"),
    ("post", "/metadata-ingestion/v1/single-customer-metadata"),
    ("post", "/metadata-ingestion/v1/many-customer-metadata"),
    ("post", "/metadata-ingestion/v1/single-agent-metadata"),
    ("post", "/metadata-ingestion/v1/many-agent-metadata"),
    ("get", "/metadata-ingestion/v1/conversations/{}"),
    ("get", "/metadata-ingestion/v1/customers/{}"),
    ("get", "/metadata-ingestion/v1/agents/{}"),
    ("get", "/metadata-ingestion/v1/events/{}"),
    ("get", "/metadata-ingestion/v1/rejections"),
    ("get", "/v1/health"),
    ("post", "/Token"),
    ("post", "/callevent/v1/calls"),
    ("get", "/callevent/v1/calls/{}"),
    ("post", "/callevent/v1/outofband/event"),
    ("get", "/callevent/v1/outofband/events"),
    ("get", "/callevent/v1/matching-rules"),
    ("put", "/callevent/v1/matching-rules"),
];

/// The methods probed on every documented path.
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

pub async fn fetch_document() -> Value {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("request");
    ok_json(response).await
}

/// `schema` with every `$ref` followed.
pub fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(target) => {
            let pointer = target.strip_prefix('#').expect("local $ref");
            resolve(document, document.pointer(pointer).expect("$ref resolves"))
        }
        None => schema,
    }
}

pub fn operation<'a>(document: &'a Value, path: &str, method: &str) -> &'a Value {
    let operation = &document["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is not documented");
    operation
}

pub fn request_schema<'a>(document: &'a Value, path: &str) -> &'a Value {
    let schema =
        &operation(document, path, "post")["requestBody"]["content"]["application/json"]["schema"];
    resolve(document, schema)
}

/// The item schema of a write endpoint: the body, or the element of `items`.
pub fn item_schema<'a>(document: &'a Value, path: &str) -> &'a Value {
    let body = request_schema(document, path);
    let element = &body["properties"]["items"]["items"];
    if element.is_null() {
        body
    } else {
        resolve(document, element)
    }
}

pub fn names(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

pub fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .map(|v| v.as_str().expect("string").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_single_and_many_endpoints_of_a_kind_share_one_item_schema() {
    let document = fetch_document().await;
    for noun in ["convo", "customer", "agent"] {
        let single = item_schema(&document, &format!("{V1}/single-{noun}-metadata"));
        let many = item_schema(&document, &format!("{V1}/many-{noun}-metadata"));
        assert_eq!(single, many, "{noun}");
        let body = request_schema(&document, &format!("{V1}/many-{noun}-metadata"));
        assert_eq!(body["properties"]["items"]["minItems"], 1);
        assert_eq!(body["properties"]["items"]["maxItems"], 1000);
    }
}

/// Every `(method, path)` of the document, path parameters written `{}`.
fn documented_routes(document: &Value) -> BTreeSet<(String, String)> {
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            let generic: String = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "{}"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            documented.insert((method.clone(), generic));
        }
    }
    documented
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let app = spawn_app().await;
    let document = ok_json(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(documented_routes(&document), routes);
    // Each one reaches a handler: neither the unknown-path fallback nor 405.
    for (method, path) in ROUTES {
        let url = app.url(&path.replace("{}", "no-such-id"));
        let request = match *method {
            "post" => app
                .client
                .post(url)
                .header("content-type", "application/json")
                .body("{}"),
            "put" => app
                .client
                .put(url)
                .header("content-type", "application/json")
                .body("{}"),
            _ => app.client.get(url),
        };
        let response = request
            .header("asapp-api-id", &app.key.api_id)
            .header("asapp-api-secret", &app.key.secret)
            .send()
            .await
            .expect("request");
        let (status, body) = json(response).await;
        assert_ne!(status.as_u16(), 405, "{method} {path}: {body}");
        assert_ne!(body["error"]["message"], "no such path", "{method} {path}");
    }
}

/// `ROUTES` is every route `inlet_server::app` serves; this fails when the
/// document leaves one out, and when the app answers a method the document
/// does not list on one of its paths (which a forgotten `.put(..)` would).
#[tokio::test]
async fn every_route_and_method_the_app_serves_is_in_the_document() {
    let app = spawn_app().await;
    let document = ok_json(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    let documented = documented_routes(&document);
    for (method, path) in ROUTES {
        let route = ((*method).to_owned(), (*path).to_owned());
        assert!(
            documented.contains(&route),
            "{method} {path} is served but not documented"
        );
    }
    let paths: BTreeSet<&String> = documented.iter().map(|(_, path)| path).collect();
    for path in paths {
        for method in METHODS {
            if documented.contains(&(method.to_owned(), path.clone())) {
                continue;
            }
            let url = app.url(&path.replace("{}", "no-such-id"));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
                .expect("an HTTP method");
            let response = app
                .client
                .request(method.clone(), url)
                .header("asapp-api-id", &app.key.api_id)
                .header("asapp-api-secret", &app.key.secret)
                .send()
                .await
                .expect("request");
            assert_eq!(
                response.status().as_u16(),
                405,
                "{method} {path} is answered but not documented"
            );
        }
    }
}

#[tokio::test]
async fn openapi_json_is_served_without_a_key() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: Value = response.json().await.expect("JSON");
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.0."))
    );
    assert_eq!(document["info"]["title"], "inlet");
}

#[tokio::test]
async fn docs_is_an_offline_html_page_naming_every_path() {
    let app = spawn_app().await;
    let document = ok_json(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    let response = app
        .client
        .get(app.url("/docs"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.expect("body");
    for path in document["paths"].as_object().expect("paths").keys() {
        assert!(page.contains(path.as_str()), "{path} is not on the page");
    }
    for field in [
        "externalConversationId",
        "externalAgentId",
        "nextCursor",
        "healthCheck",
        "requestId",
        "access_token",
        "contacts[].phoneNumber",
        "callGroup.sessionIds",
        "EventTime",
        "rules[].windowSeconds",
        "Authorization: Bearer",
    ] {
        assert!(page.contains(field), "{field} is not on the page");
    }
    // The seed example of an out-of-band event is shown, escaped.
    assert!(page.contains("&quot;customerDataField1&quot;"));
    // Nothing to download, and text is escaped.
    for fetched in ["<script", "<link", "src=", "http://", "https://"] {
        assert!(!page.contains(fetched), "the page contains {fetched}");
    }
    assert!(page.contains("The client&#39;s device type"));
    assert!(!page.contains("The client's device type"));
}

// ---- the document against real answers ---------------------------------

/// Asserts `value` has the shape of `schema`: JSON types, no undocumented
/// properties, every required one present; nested objects and arrays too.
pub fn assert_conforms(document: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(document, schema);
    if value.is_null() && schema["nullable"] == true {
        return;
    }
    let matches = match schema["type"].as_str() {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        Some(other) => panic!("{at}: unexpected type {other}"),
    };
    assert!(matches, "{at}: {value} is not {}", schema["type"]);
    if let Some(options) = schema["enum"].as_array() {
        assert!(
            options.contains(value),
            "{at}: {value} is not one of {options:?}"
        );
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object())
    {
        for name in string_list(&schema["required"]) {
            assert!(
                object.contains_key(&name),
                "{at}: {name} is required: {value}"
            );
        }
        for (key, field) in object {
            let property = properties
                .get(key)
                .unwrap_or_else(|| panic!("{at}: {key} is not documented"));
            assert_conforms(document, property, field, &format!("{at}.{key}"));
        }
    }
    for (i, element) in value.as_array().into_iter().flatten().enumerate() {
        assert_conforms(document, &schema["items"], element, &format!("{at}[{i}]"));
    }
}

pub fn component<'a>(document: &'a Value, path: &str, method: &str, status: &str) -> &'a Value {
    &operation(document, path, method)["responses"][status]["content"]["application/json"]["schema"]
}

#[tokio::test]
async fn real_answers_have_the_documented_shapes() {
    let app = spawn_app().await;
    let document = ok_json(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    let single = json!({"externalConversationId": "c-1", "eventId": "e-1", "lobId": "7",
        "companySegment": ["Sales"], "attributes": [{"name": "tier", "value": "gold"}], "lobname": "x"});
    let (status, body) = json(app.single("convo", &single.to_string()).await).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    assert_eq!(
        body["result"]["warnings"],
        json!(["unknown field lobname"]),
        "{body}"
    );
    let path = format!("{V1}/single-convo-metadata");
    assert_conforms(
        &document,
        component(&document, &path, "post", "200"),
        &body,
        "single",
    );

    let customers = batch(&[
        json!({"externalConversationId": "c-1", "externalCustomerId": "u-1", "status": "new"}),
        json!({"externalCustomerId": "u-2"}),
    ]);
    let body = ok_json(app.many("customer", &customers).await).await;
    let path = format!("{V1}/many-customer-metadata");
    assert_conforms(
        &document,
        component(&document, &path, "post", "200"),
        &body,
        "many",
    );
    let (status, body) = json(app.many("customer", &batch(&[json!({"lobId": 5})])).await).await;
    assert_eq!(status.as_u16(), 400);
    assert_conforms(
        &document,
        component(&document, &path, "post", "400"),
        &body,
        "many 400",
    );

    let agent = json!({"externalAgentId": "a-1", "startTs": "2022-07-08T11:15:53.237517000Z",
        "languages": ["en-US"], "concurrency": 3});
    ok_json(app.single("agent", &agent.to_string()).await).await;

    let reads = [
        (
            "conversations/c-1",
            format!("{V1}/conversations/{{externalConversationId}}"),
        ),
        (
            "customers/u-1",
            format!("{V1}/customers/{{externalCustomerId}}"),
        ),
        ("agents/a-1", format!("{V1}/agents/{{externalAgentId}}")),
        ("events/e-1", format!("{V1}/events/{{eventId}}")),
        ("rejections", format!("{V1}/rejections")),
    ];
    for (url, path) in reads {
        let body = ok_json(app.get(&format!("{V1}/{url}")).await).await;
        assert_conforms(
            &document,
            component(&document, &path, "get", "200"),
            &body,
            url,
        );
    }
    let body = ok_json(app.get("/v1/health").await).await;
    assert_conforms(
        &document,
        component(&document, "/v1/health", "get", "200"),
        &body,
        "health",
    );

    let response = app.get(&format!("{V1}/conversations/none")).await;
    let (status, body) = json(response).await;
    assert_eq!(status.as_u16(), 404);
    let path = format!("{V1}/conversations/{{externalConversationId}}");
    assert_conforms(
        &document,
        component(&document, &path, "get", "404"),
        &body,
        "404",
    );
}

#[tokio::test]
async fn the_documented_rejections_limits_are_the_ones_enforced() {
    let app = spawn_app().await;
    let document = ok_json(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    let parameters = &operation(&document, &format!("{V1}/rejections"), "get")["parameters"];
    let limit = parameters
        .as_array()
        .expect("parameters")
        .iter()
        .find(|parameter| parameter["name"] == "limit")
        .expect("limit");
    let (min, max, default) = (
        limit["schema"]["minimum"].as_u64().expect("minimum"),
        limit["schema"]["maximum"].as_u64().expect("maximum"),
        limit["schema"]["default"].as_u64().expect("default"),
    );
    for bad in [min - 1, max + 1] {
        assert_error(
            app.rejections(&format!("?limit={bad}")).await,
            400,
            "400-01",
        )
        .await;
    }
    ok_json(app.rejections(&format!("?limit={max}")).await).await;
    let default = usize::try_from(default).expect("small");
    let items = vec![json!({"lobId": 5}); default + 1];
    let (status, _) = json(app.many("convo", &batch(&items)).await).await;
    assert_eq!(status.as_u16(), 400);
    let page = ok_json(app.rejections("").await).await;
    assert_eq!(page["rejections"].as_array().expect("list").len(), default);
    assert!(page["nextCursor"].is_string());
}
