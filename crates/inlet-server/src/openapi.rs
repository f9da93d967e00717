//! The OpenAPI 3.0 document of inlet's API, served at `/openapi.json`, and a
//! reference page rendered from it at `/docs`. Neither needs a key.
//!
//! The document is built with `serde_json` from the domain's field tables
//! ([`inlet_domain::fields_of`]) rather than derived from annotated types
//! (utoipa): the item rules live in those tables, not in Rust types, so
//! reading the tables is what keeps every pattern, length and enum in the
//! document equal to what validation enforces. The call-metadata operations
//! (`call`, `call_event`, `rule`, `token`) have no such tables: their limits
//! are named constants, and the API tests check each against the server.
//! Both answers are built once, on first use, and served from memory.

mod call;
mod call_event;
mod docs;
mod fields;
mod paths;
mod response;
mod rule;
mod schema;
mod token;
mod view;

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::{API_ID_HEADER, API_SECRET_HEADER, AppState};

/// The document as served.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| document().to_string());

/// The reference page as served.
static PAGE: LazyLock<String> = LazyLock::new(|| docs::render(&document()));

/// What the document says the API is.
const DESCRIPTION: &str = "inlet accepts ASAPP-compatible metadata about conversations, \
customers and agents, and reads it back. It also takes Creovai-compatible call metadata: \
calls, out-of-band call events matched to them, the rules that match them, and bearer tokens.\n\n\
Patterns such as [a-zA-Z0-9\\-\\_]+ must match the whole value; lengths count characters, not \
bytes; strings are not trimmed. A batch item reports every problem it has, joined with '; '. \
In an ASAPP item, fields the service does not know are stored as sent and answered as \
warnings; an absent field leaves the stored value alone, null clears it, attributes merge by \
name and arrays replace. A call is replaced whole; its unknown fields are answered as warnings \
and not stored.\n\n\
Every operation but POST /Token takes either the asapp-api-id and asapp-api-secret headers \
or Authorization: Bearer <token> with a token from POST /Token; the key's roles decide what it \
may call.\n\n\
Every answer carries an x-request-id header; every error other than per-item results and \
POST /Token's OAuth2 errors is {\"error\": {\"requestId\", \"code\", \"message\"}}. A known \
path called with another method answers 405 405-01.";

/// The security scheme of bearer tokens from `POST /Token`.
const BEARER_SCHEME: &str = "bearerAuth";

/// The routes serving the document and the reference page.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(show_openapi))
        .route("/docs", get(show_docs))
}

/// `GET /openapi.json`
async fn show_openapi() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        DOCUMENT.as_str(),
    )
}

/// `GET /docs`
async fn show_docs() -> Html<&'static str> {
    Html(PAGE.as_str())
}

/// The whole document.
fn document() -> Value {
    let mut schemas = schema::schemas();
    schemas.extend(view::schemas());
    schemas.extend(token::schemas());
    schemas.extend(call::schemas());
    schemas.extend(call_event::schemas());
    schemas.extend(rule::schemas());
    let mut paths = paths::paths();
    paths.extend(token::paths());
    paths.extend(call::paths());
    paths.extend(call_event::paths());
    paths.extend(rule::paths());
    declare_security(&mut paths);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "inlet",
            "description": DESCRIPTION,
            "version": env!("CARGO_PKG_VERSION"),
            "license": {"name": "Apache-2.0"},
        },
        "security": [api_key_security()],
        "tags": [
            {"name": "Metadata", "description": "API to submit entity's attributes (ASAPP)"},
            {"name": "Read", "description": "What was ingested, and what was rejected"},
            {"name": "Health", "description": "Whether the service can serve"},
            {
                "name": "Calls",
                "description": "Calls, out-of-band call events and the rules matching them \
                                (Creovai)",
            },
            {"name": "Tokens", "description": "OAuth2 bearer tokens (Creovai)"},
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "API-ID": {"type": "apiKey", "in": "header", "name": API_ID_HEADER},
                "API-Secret": {"type": "apiKey", "in": "header", "name": API_SECRET_HEADER},
                BEARER_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from POST /Token",
                },
            },
            "schemas": schemas,
        },
    })
}

/// The two headers together: the seeds' security requirement.
fn api_key_security() -> Value {
    json!({"API-ID": [], "API-Secret": []})
}

/// Gives every operation that declares none the two alternatives it takes:
/// the headers, or a bearer token.
///
/// The document-wide `security` stays the seeds' (their comparison holds),
/// and each operation lists both, which overrides it; `POST /Token` declares
/// its own empty list.
fn declare_security(paths: &mut Map<String, Value>) {
    let either = json!([api_key_security(), {BEARER_SCHEME: []}]);
    let operations = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(Value::as_object_mut);
    for operation in operations {
        operation
            .entry("security")
            .or_insert_with(|| either.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` string in `value`.
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("$ref", Value::String(target)) => found.push(target),
                        _ => refs(value, found),
                    }
                }
            }
            Value::Array(values) => values.iter().for_each(|value| refs(value, found)),
            _ => {}
        }
    }

    #[test]
    fn every_ref_points_at_a_schema_of_the_document() {
        let document = document();
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let pointer = target.strip_prefix('#').expect("local ref");
            assert!(document.pointer(pointer).is_some(), "dangling {target}");
        }
    }

    #[test]
    fn every_schema_is_referred_to() {
        let document = document();
        let text = document.to_string();
        for name in document["components"]["schemas"]
            .as_object()
            .expect("schemas")
            .keys()
        {
            let reference = format!("\"#/components/schemas/{name}\"");
            assert!(text.contains(&reference), "{name} is never used");
        }
    }

    #[test]
    fn every_operation_but_the_token_takes_the_headers_or_a_bearer_token() {
        let document = document();
        let either = json!([{"API-ID": [], "API-Secret": []}, {"bearerAuth": []}]);
        let mut checked = 0;
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                let expected = if path == "/Token" {
                    json!([])
                } else {
                    either.clone()
                };
                assert_eq!(operation["security"], expected, "{method} {path}");
                checked += 1;
            }
        }
        // The routes of `crate::app` but /openapi.json, /docs and the probes.
        assert_eq!(checked, 19, "every route of the app");
        for scheme in either.as_array().expect("list") {
            for name in scheme.as_object().expect("requirement").keys() {
                assert!(
                    document["components"]["securitySchemes"][name].is_object(),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn the_document_is_the_same_every_time_it_is_built() {
        assert_eq!(document(), document());
    }
}
