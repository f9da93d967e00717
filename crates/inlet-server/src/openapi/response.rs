//! The responses of the operations: the seeds' status codes, each error
//! response listing the `STATUS-SUBCODE` codes inlet answers with it.
//!
//! The write endpoints list every status code of the seed specs (plus 408,
//! which inlet adds), so ASAPP clients find the contract they know, even
//! where inlet answers differently (a batch never answers 409). The
//! call-metadata endpoints, which have no seed spec, list only the codes
//! they can answer.

use inlet_domain::Role;
use serde_json::{Map, Value, json};

use super::schema::schema_ref;
use crate::MAX_BATCH_ITEMS;

/// The request id in examples (a UUIDv7, as the server makes them).
const EXAMPLE_REQUEST_ID: &str = "0193a5c8-7d2e-7cc1-9b1e-4f1f5a3c2d10";

/// The responses of a write endpoint, by status.
pub(super) fn write_responses(many: bool) -> Map<String, Value> {
    let mut responses = Map::new();
    let (answer, ok, bad_request) = if many {
        (
            schema_ref("BatchResponse"),
            "200 - Success | Partial Success: at least one item was accepted; results[i] \
             answers items[i]",
            "400 - Bad request: every item failed (per-item results), or the body is not JSON \
             or not {\"items\": [...]} (400-01 envelope)",
        )
    } else {
        (
            schema_ref("SingleResponse"),
            "200 - Success: the item was accepted",
            "400 - Bad request: the item failed (its result names every problem), or the body \
             is not a JSON object (400-01 envelope)",
        )
    };
    responses.insert("200".to_owned(), json_response(ok, answer.clone()));
    let either = json!({"oneOf": [answer, schema_ref("ErrorResponse")]});
    responses.insert("400".to_owned(), json_response(bad_request, either));
    responses.extend(write_errors(many));
    responses
}

/// The error responses of a write endpoint other than 400, by status.
fn write_errors(many: bool) -> Map<String, Value> {
    let mut errors = Map::new();
    errors.insert("401".to_owned(), unauthorized());
    errors.insert("403".to_owned(), forbidden(Role::Ingest));
    errors.insert(
        "404".to_owned(),
        error("404 - Not Found", &[("404-01", "no such path")]),
    );
    errors.insert("408".to_owned(), body_timeout());
    errors.insert("409".to_owned(), conflict(many));
    errors.insert("413".to_owned(), too_large(many));
    errors.insert("422".to_owned(), unprocessable(many));
    errors.extend(common_errors());
    errors
}

/// The errors of an authenticated endpoint reading a JSON body, other than
/// 400 and 409: 401, 403 for `role`, 408, 413, 422, 429, 503 and 500.
/// `many` adds the codes of a batch body (413-02, 422-01).
pub(super) fn json_body_errors(role: Role, many: bool) -> Map<String, Value> {
    let mut errors = Map::new();
    errors.insert("401".to_owned(), unauthorized());
    errors.insert("403".to_owned(), forbidden(role));
    errors.insert("408".to_owned(), body_timeout());
    errors.insert("413".to_owned(), too_large(many));
    errors.insert("422".to_owned(), unprocessable(many));
    errors.extend(common_errors());
    errors
}

/// 408, for an endpoint that reads a body.
fn body_timeout() -> Value {
    error(
        "408 - Request Timeout",
        &[("408-01", "the request body stopped arriving")],
    )
}

fn conflict(many: bool) -> Value {
    if many {
        // Listed because ASAPP's batch spec lists it; inlet answers a
        // conflict in the item's result instead.
        return error(
            "409 - Conflict: not answered by batch endpoints. A conflicting eventId fails its \
             item with FAIL_CONFLICT; a resent one succeeds.",
            &[],
        );
    }
    error(
        "409 - Conflict",
        &[
            (
                "409-01",
                "this eventId was already persisted with this content",
            ),
            (
                "409-02",
                "this eventId was already used for different content; the first version is kept",
            ),
        ],
    )
}

fn too_large(many: bool) -> Value {
    let title = "413 - Request Entity Too Large";
    let over = ("413-01", "the body is over the byte limit");
    if many {
        let too_many = format!("items has more than {MAX_BATCH_ITEMS} entries");
        error(title, &[over, ("413-02", too_many.as_str())])
    } else {
        error(title, &[over])
    }
}

fn unprocessable(many: bool) -> Value {
    let title = "422 - Unprocessable Entity";
    let not_json = ("422-02", "the Content-Type is not JSON");
    if many {
        error(title, &[("422-01", "items is empty"), not_json])
    } else {
        error(title, &[not_json])
    }
}

/// 429, 503 and the default, which every authenticated endpoint may answer.
pub(super) fn common_errors() -> Map<String, Value> {
    let mut errors = Map::new();
    let mut limited = error(
        "429 - Too Many Requests; retry after Retry-After seconds",
        &[
            ("429-01", "the key's request rate is spent"),
            (
                "429-02",
                "the key's daily quota is spent; it resets at 00:00 UTC",
            ),
        ],
    );
    limited["headers"]["Retry-After"] = retry_after();
    errors.insert("429".to_owned(), limited);
    let mut unavailable = error(
        "503 - Service Unavailable; retry after Retry-After seconds",
        &[(
            "503-01",
            "the store is unavailable, the write queue is full, or the request ran past the \
             request timeout",
        )],
    );
    unavailable["headers"]["Retry-After"] = retry_after();
    errors.insert("503".to_owned(), unavailable);
    errors.insert(
        "default".to_owned(),
        error(
            "500 - Internal Server Error",
            &[(
                "500-01",
                "anything else; the cause is logged, never answered",
            )],
        ),
    );
    errors
}

/// 401, which every authenticated endpoint may answer.
pub(super) fn unauthorized() -> Value {
    error(
        "401 - Unauthorized",
        &[(
            "401-01",
            "missing or wrong asapp-api-id / asapp-api-secret, an invalid or expired bearer \
             token, or a revoked or expired key",
        )],
    )
}

/// 403 for a key without `role`.
fn forbidden(role: Role) -> Value {
    let meaning = format!("the key lacks the {role} role this endpoint needs");
    error("403 - Forbidden", &[("403-01", meaning.as_str())])
}

/// A response in the error envelope; its description lists `codes`.
pub(super) fn error(title: &str, codes: &[(&str, &str)]) -> Value {
    let mut description = title.to_owned();
    for (code, meaning) in codes {
        description.push_str(&format!("\n\n{code}: {meaning}"));
    }
    let mut response = json_response(&description, schema_ref("ErrorResponse"));
    if let Some((code, meaning)) = codes.first() {
        response["content"]["application/json"]["example"] = json!({
            "error": {"requestId": EXAMPLE_REQUEST_ID, "code": code, "message": meaning}
        });
    }
    response
}

/// A JSON response with the `x-request-id` header.
pub(super) fn json_response(description: &str, schema: Value) -> Value {
    json!({
        "description": description,
        "headers": {
            "x-request-id": {
                "description": "The request id, also in error answers and in the server's log",
                "schema": {"type": "string"},
            },
        },
        "content": {"application/json": {"schema": schema}},
    })
}

/// The `Retry-After` header of 429 and 503.
fn retry_after() -> Value {
    json!({"description": "Seconds to wait before retrying", "schema": {"type": "integer"}})
}

/// The answers of an authenticated read.
pub(super) fn read_responses(
    ok: &str,
    schema: &str,
    not_found: Option<&str>,
) -> Map<String, Value> {
    role_read_responses(Role::Read, ok, schema, not_found)
}

/// The answers of an authenticated read that needs `role`.
pub(super) fn role_read_responses(
    role: Role,
    ok: &str,
    schema: &str,
    not_found: Option<&str>,
) -> Map<String, Value> {
    let mut responses = Map::new();
    responses.insert("200".to_owned(), json_response(ok, schema_ref(schema)));
    responses.insert("401".to_owned(), unauthorized());
    responses.insert("403".to_owned(), forbidden(role));
    if let Some(what) = not_found {
        responses.insert(
            "404".to_owned(),
            error("404 - Not Found", &[("404-01", what)]),
        );
    }
    responses.extend(common_errors());
    responses
}
