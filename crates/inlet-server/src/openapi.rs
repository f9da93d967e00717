//! The OpenAPI 3.0 document of inlet's API, served at `/openapi.json`, and a
//! reference page rendered from it at `/docs`. Neither needs a key.
//!
//! The document is built with `serde_json` from the domain's field tables
//! ([`inlet_domain::fields_of`]) rather than derived from annotated types
//! (utoipa): the item rules live in those tables, not in Rust types, so
//! reading the tables is what keeps every pattern, length and enum in the
//! document equal to what validation enforces. Both answers are built once,
//! on first use, and served from memory.

mod docs;
mod fields;
mod paths;
mod response;
mod schema;
mod view;

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::{Value, json};

use crate::{API_ID_HEADER, API_SECRET_HEADER, AppState};

/// The document as served.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| document().to_string());

/// The reference page as served.
static PAGE: LazyLock<String> = LazyLock::new(|| docs::render(&document()));

/// What the document says the API is.
const DESCRIPTION: &str = "inlet accepts ASAPP-compatible metadata about conversations, \
customers and agents, and reads it back.\n\n\
Patterns such as [a-zA-Z0-9\\-\\_]+ must match the whole value; lengths count characters, not \
bytes; strings are not trimmed. A batch item reports every problem it has, joined with '; '. \
Fields the service does not know are stored as sent and answered as warnings. An absent field \
leaves the stored value alone, null clears it, attributes merge by name and arrays replace.\n\n\
Every answer carries an x-request-id header; every error other than per-item results is \
{\"error\": {\"requestId\", \"code\", \"message\"}}. A known path called with another method \
answers 405 405-01.";

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
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "inlet",
            "description": DESCRIPTION,
            "version": env!("CARGO_PKG_VERSION"),
            "license": {"name": "Apache-2.0"},
        },
        "security": [{"API-ID": [], "API-Secret": []}],
        "tags": [
            {"name": "Metadata", "description": "API to submit entity's attributes (ASAPP)"},
            {"name": "Read", "description": "What was ingested, and what was rejected"},
            {"name": "Health", "description": "Whether the service can serve"},
        ],
        "paths": paths::paths(),
        "components": {
            "securitySchemes": {
                "API-ID": {"type": "apiKey", "in": "header", "name": API_ID_HEADER},
                "API-Secret": {"type": "apiKey", "in": "header", "name": API_SECRET_HEADER},
            },
            "schemas": schemas,
        },
    })
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
    fn the_document_is_the_same_every_time_it_is_built() {
        assert_eq!(document(), document());
    }
}
