//! The calls of the document (Creovai's call upload): `POST
//! /callevent/v1/calls` and `GET /callevent/v1/calls/{sessionId}`, with the
//! call, its per-call answers and the call as read back.
//!
//! inlet-match keeps the contact and text limits to itself, so they are
//! restated here as named constants; the API tests send values at and just
//! past every one of them, so a limit changed there fails a test until the
//! document says the same.

use inlet_domain::Role;
use inlet_match::{MAX_METADATA_BYTES, MAX_METADATA_DEPTH};
use serde_json::{Map, Value, json};

use super::response::{json_body_errors, json_response, read_responses};
use super::schema::schema_ref;
use super::view::timestamp;
use crate::MAX_BATCH_ITEMS;

/// The path calls are registered at.
const CALLS: &str = "/callevent/v1/calls";

/// The characters of a `sessionId` or `masterCallId` (inlet-match's
/// `SessionId`): nothing that would need escaping in a URL.
const SESSION_ID_PATTERN: &str = r"[a-zA-Z0-9\-\_\.:]+";

/// Longest `sessionId` or `masterCallId`, in characters (inlet-match's
/// `SessionId`).
const MAX_SESSION_ID_CHARS: usize = 256;

/// Most contacts on one call (inlet-match `call.rs`).
const MAX_CONTACTS: usize = 100;

/// Longest `direction`, `numberDialed` and `phoneNumber` (inlet-match
/// `call.rs`).
const MAX_SHORT_CHARS: usize = 64;

/// Longest `referenceId`, `firstName` and `lastName` (inlet-match `call.rs`).
const MAX_TEXT_CHARS: usize = 256;

/// The paths of the calls.
pub(super) fn paths() -> Map<String, Value> {
    let mut paths = Map::new();
    paths.insert(CALLS.to_owned(), json!({"post": register_calls()}));
    paths.insert(
        format!("{CALLS}/{{sessionId}}"),
        json!({"get": show_call()}),
    );
    paths
}

/// The schemas of the calls, by component name.
pub(super) fn schemas() -> Map<String, Value> {
    let mut schemas = Map::new();
    schemas.insert("Call".to_owned(), call_schema());
    schemas.insert("ManyCalls".to_owned(), many_calls_schema());
    schemas.insert("Contact".to_owned(), contact_schema());
    schemas.insert("CallResult".to_owned(), call_result_schema());
    schemas.insert("CallResponse".to_owned(), call_response_schema());
    schemas.insert("CallBatchResponse".to_owned(), call_batch_response_schema());
    schemas.insert("CallView".to_owned(), call_view_schema());
    schemas
}

/// A session id: the schema of `sessionId`, `masterCallId` and the ids of
/// a call group.
pub(super) fn session_id_schema(description: &str) -> Value {
    json!({
        "description": description,
        "type": "string",
        "pattern": SESSION_ID_PATTERN,
        "minLength": 1,
        "maxLength": MAX_SESSION_ID_CHARS,
    })
}

fn register_calls() -> Value {
    let (one, many) = (schema_ref("CallResponse"), schema_ref("CallBatchResponse"));
    let mut responses = Map::new();
    responses.insert(
        "200".to_owned(),
        json_response(
            "200 - Success | Partial Success: at least one call was registered; results[i] \
             answers items[i]",
            json!({"oneOf": [one.clone(), many.clone()]}),
        ),
    );
    responses.insert(
        "400".to_owned(),
        json_response(
            "400 - Bad request: every call failed (per-call results, the same shape as 200), \
             or the body is not UTF-8, is empty, or is not {\"items\": [...]} (400-01 envelope)",
            json!({"oneOf": [one, many, schema_ref("ErrorResponse")]}),
        ),
    );
    responses.extend(json_body_errors(Role::Ingest, true));
    json!({
        "tags": ["Calls"],
        "summary": "Register calls",
        "description": format!(
            "Register one call (the call's fields at the top level), or 1 to {MAX_BATCH_ITEMS} \
             calls as {{\"items\": [...]}} (a body with an items key is a batch). Each call is \
             validated on its own: the answer is 200 when at least one call was registered and \
             400 when every call failed. Sending a sessionId again replaces that call whole. \
             Calls sharing a masterCallId form a call group. Registering a call matches the \
             out-of-band events waiting for it."
        ),
        "operationId": "registerCalls",
        "x-role": Role::Ingest.as_str(),
        "requestBody": {
            "required": true,
            "content": {"application/json": {"schema": {
                "oneOf": [schema_ref("Call"), schema_ref("ManyCalls")],
            }}},
        },
        "responses": responses,
    })
}

fn show_call() -> Value {
    json!({
        "tags": ["Calls"],
        "summary": "Read a call",
        "description": "The call as last registered, its call group, the merged metadata of \
                        the out-of-band events attached to it or to its group, and those events.",
        "operationId": "showCall",
        "x-role": Role::Read.as_str(),
        "parameters": [{
            "name": "sessionId",
            "in": "path",
            "required": true,
            "schema": session_id_schema("The call's sessionId"),
        }],
        "responses": read_responses(
            "200 - The call",
            "CallView",
            Some("no call with this sessionId in the key's tenant"),
        ),
    })
}

/// The fields of a call, as sent and as read back.
fn call_properties() -> Map<String, Value> {
    let short = |description: &str| json!({"description": description, "type": "string", "maxLength": MAX_SHORT_CHARS});
    let time = |description: &str| {
        json!({
            "description": format!(
                "{description}. RFC 3339 with any offset; answered in UTC with six fractional \
                 digits"
            ),
            "type": "string",
            "format": "date-time",
            "example": "2026-11-29T09:00:00Z",
        })
    };
    let mut properties = Map::new();
    properties.insert(
        "sessionId".to_owned(),
        session_id_schema("The id of the call"),
    );
    properties.insert(
        "masterCallId".to_owned(),
        session_id_schema("The call group: calls sharing it form one group"),
    );
    properties.insert("startTime".to_owned(), time("When the call started"));
    properties.insert(
        "endTime".to_owned(),
        time("When the call ended; not before startTime"),
    );
    properties.insert(
        "direction".to_owned(),
        short("inbound, outbound, … as the call provider says"),
    );
    properties.insert("numberDialed".to_owned(), short("The number dialed"));
    properties.insert(
        "contacts".to_owned(),
        json!({
            "description": "The agents and customers on the call",
            "type": "array",
            "items": schema_ref("Contact"),
            "maxItems": MAX_CONTACTS,
        }),
    );
    properties.insert(
        "metaData".to_owned(),
        json!({
            "description": format!(
                "Free-form metadata from the call provider: any JSON object of at most \
                 {MAX_METADATA_BYTES} bytes of JSON (64 KiB), nesting at most \
                 {MAX_METADATA_DEPTH} levels (the object itself counts as one). Matching rules \
                 can compare values inside it."
            ),
            "type": "object",
        }),
    );
    properties
}

fn call_schema() -> Value {
    json!({
        "description": "A call as the call provider registers it. Unknown fields are answered \
                        as warnings and not stored; a repeated key fails the call.",
        "type": "object",
        "properties": call_properties(),
        "required": ["sessionId", "startTime"],
    })
}

fn many_calls_schema() -> Value {
    json!({
        "description": "More than one call; each is validated on its own and answered at the \
                        same position in results.",
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": schema_ref("Call"),
                "minItems": 1,
                "maxItems": MAX_BATCH_ITEMS,
            },
        },
        "required": ["items"],
        "additionalProperties": false,
    })
}

fn contact_schema() -> Value {
    let text = |description: &str, max: usize| json!({"description": description, "type": "string", "maxLength": max});
    json!({
        "description": "Someone on a call. Other fields fail the call.",
        "type": "object",
        "properties": {
            "type": {
                "description": "Which side of the call the contact is on",
                "type": "string",
                "enum": ["agent", "customer"],
            },
            "phoneNumber": text("Their phone number", MAX_SHORT_CHARS),
            "referenceId": text("Their id in the CRM or workforce system", MAX_TEXT_CHARS),
            "firstName": text("First name", MAX_TEXT_CHARS),
            "lastName": text("Last name", MAX_TEXT_CHARS),
        },
        "required": ["type"],
        "additionalProperties": false,
    })
}

fn call_result_schema() -> Value {
    json!({
        "description": "What became of one call",
        "type": "object",
        "properties": {
            "sessionId": {
                "description": "The call's sessionId; empty when it was missing or invalid",
                "type": "string",
                "example": "abc123",
            },
            "error": {
                "description": "Empty when the call was registered; otherwise every problem of \
                                the call, e.g. FAIL_BAD_PARAMS: ERROR: startTime is required; \
                                contacts[0].type must be agent or customer, got \"robot\"",
                "type": "string",
                "example": "",
            },
            "warnings": {
                "description": "Present when the call had fields the service does not know; \
                                they are not stored",
                "type": "array",
                "items": {"type": "string", "example": "unknown field agentName"},
            },
        },
        "required": ["sessionId", "error"],
    })
}

fn call_response_schema() -> Value {
    json!({
        "description": "The answer to one call",
        "type": "object",
        "properties": {"result": schema_ref("CallResult")},
        "required": ["result"],
    })
}

fn call_batch_response_schema() -> Value {
    json!({
        "description": "One result per call, in the order sent",
        "type": "object",
        "properties": {
            "errorCount": {"description": "Number of calls with an error", "type": "integer"},
            "results": {
                "description": "results[i] answers items[i]",
                "type": "array",
                "items": schema_ref("CallResult"),
            },
        },
        "required": ["errorCount", "results"],
    })
}

fn call_view_schema() -> Value {
    let mut properties = call_properties();
    properties.insert(
        "createdAt".to_owned(),
        timestamp("When the call was first registered"),
    );
    properties.insert(
        "updatedAt".to_owned(),
        timestamp("When the call was last registered"),
    );
    properties.insert(
        "callGroup".to_owned(),
        json!({
            "description": "The call's group, or null when it has no masterCallId",
            "type": "object",
            "nullable": true,
            "properties": {
                "id": session_id_schema("The masterCallId"),
                "sessionIds": {
                    "description": "Every call of the group, this one included",
                    "type": "array",
                    "items": session_id_schema("A call of the group"),
                },
            },
            "required": ["id", "sessionIds"],
        }),
    );
    properties.insert(
        "asyncMetadata".to_owned(),
        json!({
            "description": "The metadata of the attached events merged by top-level key; the \
                            later eventTime wins a key",
            "type": "object",
        }),
    );
    properties.insert(
        "events".to_owned(),
        json!({
            "description": "The out-of-band events attached to the call or to its group, by \
                            eventTime",
            "type": "array",
            "items": schema_ref("AttachedEvent"),
        }),
    );
    json!({
        "description": "A call as registered, with its group and out-of-band metadata",
        "type": "object",
        "properties": properties,
        "required": [
            "sessionId", "startTime", "createdAt", "updatedAt", "callGroup", "asyncMetadata",
            "events",
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_back_call_has_every_field_of_the_call_sent() {
        let sent = call_schema();
        let read = call_view_schema();
        for (name, field) in sent["properties"].as_object().expect("properties") {
            assert_eq!(&read["properties"][name], field, "{name}");
        }
    }
}
