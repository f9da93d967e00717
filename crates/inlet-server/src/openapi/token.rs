//! `POST /Token` in the document: OAuth2 client credentials (RFC 6749
//! §4.4), the one operation that needs no key and answers errors in the
//! OAuth2 shape (§5.2) rather than in inlet's envelope.
//!
//! It declares an empty `security`, which overrides the document's
//! default: the credentials are the request itself.

use serde_json::{Map, Value, json};

use super::response::{common_errors, json_response};
use super::schema::schema_ref;
use crate::DEFAULT_TOKEN_LIFETIME;

/// The path of the token endpoint.
const TOKEN_PATH: &str = "/Token";

/// The paths of the token endpoint.
pub(super) fn paths() -> Map<String, Value> {
    let mut paths = Map::new();
    paths.insert(TOKEN_PATH.to_owned(), json!({"post": issue_token()}));
    paths
}

/// The schemas of the token endpoint, by component name.
pub(super) fn schemas() -> Map<String, Value> {
    let mut schemas = Map::new();
    schemas.insert("TokenRequest".to_owned(), request_schema());
    schemas.insert("TokenResponse".to_owned(), response_schema());
    schemas.insert("OAuthError".to_owned(), oauth_error_schema());
    schemas
}

fn issue_token() -> Value {
    let mut responses = Map::new();
    let mut ok = json_response(
        "200 - A bearer token for the key",
        schema_ref("TokenResponse"),
    );
    ok["headers"]["Cache-Control"] = no_store();
    responses.insert("200".to_owned(), ok);
    responses.insert(
        "400".to_owned(),
        oauth_error(
            "400 - Bad request: invalid_request (not a form body, a field missing or repeated, \
             or credentials both in the form and as Basic auth) or unsupported_grant_type \
             (grant_type other than client_credentials)",
        ),
    );
    let mut unauthorized = oauth_error(
        "401 - Unauthorized: invalid_client (wrong api id or secret, or a revoked or expired key)",
    );
    unauthorized["headers"]["WWW-Authenticate"] = json!({
        "description": "Basic realm=\"inlet\"",
        "schema": {"type": "string"},
    });
    responses.insert("401".to_owned(), unauthorized);
    // The store may be unavailable; no key is counted against its limits.
    responses.extend(
        common_errors()
            .into_iter()
            .filter(|(status, _)| status != "429"),
    );
    json!({
        "tags": ["Tokens"],
        "summary": "Request a bearer token",
        "description": format!(
            "OAuth2 client credentials: a key's api id and secret as client_id and \
             client_secret, in the form or as HTTP Basic (Authorization: Basic \
             base64(id:secret)), never both. The token works on every other operation with the \
             roles of its key, as Authorization: Bearer <token>, for expires_in seconds \
             ({} by default, less when the key expires sooner), and stops working within a \
             second of its key being revoked.",
            DEFAULT_TOKEN_LIFETIME.as_secs()
        ),
        "operationId": "issueToken",
        "security": [],
        "requestBody": {
            "required": true,
            "content": {"application/x-www-form-urlencoded": {
                "schema": schema_ref("TokenRequest"),
            }},
        },
        "responses": responses,
    })
}

/// An answer in the OAuth2 error shape, not cached.
fn oauth_error(description: &str) -> Value {
    let mut response = json_response(description, schema_ref("OAuthError"));
    response["headers"]["Cache-Control"] = no_store();
    response
}

/// The `Cache-Control` header of every token answer (RFC 6749 §5.1).
fn no_store() -> Value {
    json!({
        "description": "no-store: token answers must not be cached",
        "schema": {"type": "string", "enum": ["no-store"]},
    })
}

fn request_schema() -> Value {
    json!({
        "description": "An OAuth2 client-credentials request. client_id and client_secret are \
                        required unless the credentials come as HTTP Basic; each field at most \
                        once.",
        "type": "object",
        "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "client_id": {"description": "The key's api id", "type": "string"},
            "client_secret": {
                "description": "The key's api secret",
                "type": "string",
                "format": "password",
            },
        },
        "required": ["grant_type"],
    })
}

fn response_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "access_token": {
                "description": "Send as Authorization: Bearer <access_token>",
                "type": "string",
            },
            "token_type": {"type": "string", "enum": ["bearer"]},
            "expires_in": {
                "description": "Seconds until the token expires",
                "type": "integer",
                "example": DEFAULT_TOKEN_LIFETIME.as_secs(),
            },
        },
        "required": ["access_token", "token_type", "expires_in"],
    })
}

fn oauth_error_schema() -> Value {
    json!({
        "description": "An OAuth2 error (RFC 6749 §5.2)",
        "type": "object",
        "properties": {
            "error": {
                "type": "string",
                "enum": ["invalid_request", "invalid_client", "unsupported_grant_type"],
            },
            "error_description": {"description": "What went wrong", "type": "string"},
        },
        "required": ["error", "error_description"],
    })
}
