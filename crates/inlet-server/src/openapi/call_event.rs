//! The out-of-band call events of the document (Creovai's Async Metadata
//! API): `POST /callevent/v1/outofband/event`, `GET
//! /callevent/v1/outofband/events`, and how an event is attached to a call.
//!
//! The server matches an event's keys in any case; the schema spells them
//! as Creovai's seed example does (`SessionId`, `EventTime`, `Metadata`), and
//! that example, read from the fixture the tests also send, is the request
//! example. `EventTime` has no `format`: the seed's own `2018/10/15T…` is
//! not an RFC 3339 date-time, and a client validating against the document
//! must not refuse it.

use inlet_domain::{EntityKind, Role};
use inlet_match::{MAX_METADATA_BYTES, MAX_METADATA_DEPTH};
use serde_json::{Map, Value, json};

use super::call::session_id_schema;
use super::paths::path_schema;
use super::response::{error, json_body_errors, json_response, read_responses};
use super::schema::schema_ref;
use super::view::timestamp;

/// Seed 004's example body, exactly as printed.
const SEED_EXAMPLE: &str = include_str!("../../../../tests/fixtures/seeds/outofband-event.json");

/// Events per page unless `limit` says otherwise (as `call_event.rs`
/// applies; the API tests check both bounds against the server).
const DEFAULT_PAGE_LIMIT: u32 = 100;
/// The largest `limit` of the events list (as `call_event.rs` enforces).
const MAX_PAGE_LIMIT: u32 = 1000;

/// Where an event stands, as listed.
const STATUSES: [&str; 3] = ["pending", "unmatched", "matched"];

/// The paths of the out-of-band events.
pub(super) fn paths() -> Map<String, Value> {
    let mut paths = Map::new();
    paths.insert(
        "/callevent/v1/outofband/event".to_owned(),
        json!({"post": receive_event()}),
    );
    paths.insert(
        "/callevent/v1/outofband/events".to_owned(),
        json!({"get": list_events()}),
    );
    paths
}

/// The schemas of the out-of-band events, by component name.
pub(super) fn schemas() -> Map<String, Value> {
    let mut schemas = Map::new();
    schemas.insert("OutOfBandEvent".to_owned(), event_schema());
    schemas.insert("OutOfBandEventResult".to_owned(), result_schema());
    schemas.insert("OutOfBandEventPage".to_owned(), page_schema());
    schemas.insert("ListedOutOfBandEvent".to_owned(), listed_schema());
    schemas.insert("AttachedEvent".to_owned(), attached_schema());
    schemas
}

/// The seed example as JSON.
fn seed_example() -> Value {
    // The fixture is a JSON text checked in beside the tests, which parse
    // and send it: this cannot fail.
    serde_json::from_str(SEED_EXAMPLE).expect("the seed example is JSON")
}

fn receive_event() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".to_owned(),
        json_response(
            "200 - The event was stored (or, for a resend of an eventId with the same content, \
             was already stored) and is matched or waits for its call",
            schema_ref("OutOfBandEventResult"),
        ),
    );
    responses.insert(
        "400".to_owned(),
        error(
            "400 - Bad request",
            &[(
                "400-01",
                "the body is not a JSON object, or a field is missing or invalid; the message \
                 names every problem",
            )],
        ),
    );
    responses.extend(json_body_errors(Role::AsyncMetaData, false));
    responses.insert(
        "409".to_owned(),
        error(
            "409 - Conflict",
            &[(
                "409-02",
                "this eventId was already used for different content; the first version is kept",
            )],
        ),
    );
    // By status, as the other operations list them ("default" sorts last).
    responses.sort_keys();
    json!({
        "tags": ["Calls"],
        "summary": "Send an out-of-band call event",
        "description": "Creovai's Async Metadata API: metadata about a call from elsewhere \
                        (a CRM, an IVR). An event naming a SessionId attaches to that call; one \
                        without is matched to a call by the tenant's matching rules. An event \
                        that matches no call yet waits for one (pending) until its TTL is over \
                        (unmatched). An eventId makes retries safe.",
        "operationId": "receiveOutOfBandEvent",
        "x-role": Role::AsyncMetaData.as_str(),
        "requestBody": {
            "required": true,
            "content": {"application/json": {
                "schema": schema_ref("OutOfBandEvent"),
                "example": seed_example(),
            }},
        },
        "responses": responses,
    })
}

fn list_events() -> Value {
    let mut responses = read_responses(
        "200 - One page of out-of-band events",
        "OutOfBandEventPage",
        None,
    );
    responses.insert(
        "400".to_owned(),
        error(
            "400 - Bad request",
            &[("400-01", "status, limit or cursor is malformed")],
        ),
    );
    json!({
        "tags": ["Calls"],
        "summary": "List out-of-band events",
        "description": "The tenant's out-of-band events in the order received, with where each \
                        stands.",
        "operationId": "listOutOfBandEvents",
        "x-role": Role::Read.as_str(),
        "parameters": [
            {
                "name": "status",
                "in": "query",
                "description": "Only events of this status; all when absent",
                "schema": {"type": "string", "enum": STATUSES},
            },
            {
                "name": "limit",
                "in": "query",
                "description": "Events per page",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PAGE_LIMIT,
                    "default": DEFAULT_PAGE_LIMIT,
                },
            },
            {
                "name": "cursor",
                "in": "query",
                "description": "The nextCursor of the previous page, unchanged",
                "schema": {"type": "string"},
            },
        ],
        "responses": responses,
    })
}

/// What an event's metadata may be.
fn metadata_schema(description: &str) -> Value {
    json!({
        "description": format!(
            "{description}: any JSON object of at most {MAX_METADATA_BYTES} bytes of JSON \
             (64 KiB), nesting at most {MAX_METADATA_DEPTH} levels (the object itself counts as \
             one)"
        ),
        "type": "object",
    })
}

/// The schema of an event's eventId: the eventId rule of the ASAPP items.
fn event_id_schema(description: &str) -> Value {
    let mut schema = path_schema(EntityKind::Conversation, "eventId");
    schema["description"] = description.into();
    schema
}

fn event_schema() -> Value {
    let mut session_id = session_id_schema(
        "The sessionId of the call the event belongs to, when the sender knows it; without \
         one (or with an empty one) the tenant's matching rules find the call. Also spelled \
         sessionId or sessionID.",
    );
    // An empty SessionId is taken as none, so it is no error.
    if let Some(rules) = session_id.as_object_mut() {
        rules.remove("minLength");
    }
    json!({
        "description": "An out-of-band call event. Keys are matched in any case (SessionId, \
                        sessionId, sessionID; EventTime, eventTime; Metadata, metadata, \
                        metaData); two keys naming the same field fail the event. Other keys \
                        are ignored.",
        "type": "object",
        "properties": {
            "SessionId": session_id,
            "EventTime": {
                "description": "When the event happened: an RFC 3339 date-time with any offset \
                                (2018-10-15T09:00:00.000Z), or the same with / between the \
                                date's parts as in Creovai's example (2018/10/15T09:00:00.000Z). \
                                Also spelled eventTime.",
                "type": "string",
                "example": "2018/10/15T09:00:00.000Z",
            },
            "Metadata": metadata_schema(
                "Your custom metadata, stored with the call it matches. Also spelled metadata \
                 or metaData",
            ),
            "eventId": event_id_schema(
                "Your id for the event, to make retries safe: the same eventId with the same \
                 content answers 200 again; with other content, 409 409-02. The service makes \
                 one when none is sent.",
            ),
        },
        "required": ["EventTime", "Metadata"],
    })
}

/// `status` of an answered or listed event.
fn status_schema() -> Value {
    json!({
        "description": "matched: attached to a call or call group; pending: waiting for a call \
                        that matches; unmatched: its TTL from receipt is over without a match",
        "type": "string",
        "enum": STATUSES,
    })
}

/// `matchedBy` of an attachment.
fn matched_by_schema() -> Value {
    json!({
        "description": "sessionId when the event named its call; rule:<name> for the matching \
                        rule that found it",
        "type": "string",
        "example": "rule:crm-case",
    })
}

/// `via` of an attachment.
fn via_schema() -> Value {
    json!({
        "description": "call: the metadata belongs to the call; callGroup: to every call of \
                        its group",
        "type": "string",
        "enum": ["call", "callGroup"],
    })
}

/// `ambiguous` of an attachment.
fn ambiguous_schema() -> Value {
    json!({
        "description": "Present, and true, only when other calls matched too; the nearest in \
                        time won",
        "type": "boolean",
    })
}

fn result_schema() -> Value {
    json!({
        "description": "Where the event stands now",
        "type": "object",
        "properties": {
            "eventId": event_id_schema("The eventId sent, or a UUIDv7 made by the service"),
            "status": status_schema(),
            "sessionIds": {
                "description": "The calls its metadata belongs to now: the matched call, or \
                                every call of the matched group; empty unless matched",
                "type": "array",
                "items": {"type": "string"},
            },
        },
        "required": ["eventId", "status", "sessionIds"],
    })
}

fn page_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "events": {
                "description": "In the order received",
                "type": "array",
                "items": schema_ref("ListedOutOfBandEvent"),
            },
            "nextCursor": {
                "description": "Pass back as cursor for the next page; absent on the last page",
                "type": "string",
            },
        },
        "required": ["events"],
    })
}

fn listed_schema() -> Value {
    json!({
        "description": "One out-of-band event",
        "type": "object",
        "properties": {
            "eventId": {"type": "string"},
            "sessionId": {
                "description": "The SessionId the event named, as sent; absent when none",
                "type": "string",
            },
            "eventTime": timestamp("When the event happened"),
            "receivedAt": timestamp("When the service received it"),
            "status": status_schema(),
            "metadata": {"description": "The event's metadata", "type": "object"},
            "match": {
                "description": "Where it is attached; absent unless matched",
                "type": "object",
                "properties": {
                    "sessionId": {"description": "The call that matched", "type": "string"},
                    "matchedBy": matched_by_schema(),
                    "via": via_schema(),
                    "callGroup": {
                        "description": "The masterCallId whose calls share the metadata; \
                                        present when via is callGroup",
                        "type": "string",
                    },
                    "ambiguous": ambiguous_schema(),
                },
                "required": ["sessionId", "matchedBy", "via"],
            },
        },
        "required": ["eventId", "eventTime", "receivedAt", "status", "metadata"],
    })
}

fn attached_schema() -> Value {
    json!({
        "description": "An out-of-band event attached to a call or its group",
        "type": "object",
        "properties": {
            "eventId": {"type": "string"},
            "eventTime": timestamp("When the event happened"),
            "receivedAt": timestamp("When the service received it"),
            "metadata": {"description": "The event's metadata", "type": "object"},
            "matchedBy": matched_by_schema(),
            "via": via_schema(),
            "ambiguous": ambiguous_schema(),
        },
        "required": ["eventId", "eventTime", "receivedAt", "metadata", "matchedBy", "via"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_example_is_the_seed_example_and_names_only_documented_keys() {
        let operation = receive_event();
        let example = &operation["requestBody"]["content"]["application/json"]["example"];
        assert_eq!(example["SessionId"], "abc123");
        let schema = event_schema();
        for key in example.as_object().expect("object").keys() {
            assert!(schema["properties"].get(key).is_some(), "{key}");
        }
    }
}
