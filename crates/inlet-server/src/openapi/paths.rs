//! The ASAPP `paths` of the document and the health check: one operation
//! per route, with the status codes and error codes each can answer. The
//! call-metadata routes have a module each (`token`, `call`, `call_event`,
//! `rule`).
//!
//! Operations are built from the domain's kinds, so the three kinds' six
//! write endpoints and three entity reads cannot differ but by name; their
//! responses come from [`super::response`].

use inlet_domain::{EntityKind, FieldRule, Role, fields_of};
use serde_json::{Map, Value, json};

use super::response::{
    common_errors, error, json_response, read_responses, unauthorized, write_responses,
};
use super::schema::{batch_name, item_name, schema_ref};
use super::view::view_name;
use crate::MAX_BATCH_ITEMS;

/// The prefix of every ASAPP route.
const V1: &str = "/metadata-ingestion/v1";

/// Rejections per page unless `limit` says otherwise (as `read.rs` applies).
const DEFAULT_PAGE_LIMIT: u32 = 100;
/// The largest `limit` of the rejections list (as `read.rs` enforces; the API
/// tests check that this bound is the one the server applies).
const MAX_PAGE_LIMIT: u32 = 1000;

/// Every ASAPP path and the health check, in the README's order.
pub(super) fn paths() -> Map<String, Value> {
    let mut paths = Map::new();
    for kind in EntityKind::ALL {
        for many in [false, true] {
            let operation = write_operation(kind, many);
            paths.insert(write_path(kind, many), json!({ "post": operation }));
        }
    }
    for kind in EntityKind::ALL {
        let path = format!("{V1}/{}s/{{{}}}", kind.as_str(), kind.id_field());
        paths.insert(path, json!({ "get": show_entity(kind) }));
    }
    paths.insert(
        format!("{V1}/events/{{eventId}}"),
        json!({"get": show_event()}),
    );
    paths.insert(
        format!("{V1}/rejections"),
        json!({"get": list_rejections()}),
    );
    paths.insert("/v1/health".to_owned(), json!({"get": health_check()}));
    paths
}

/// `/metadata-ingestion/v1/{single|many}-{convo|customer|agent}-metadata`
fn write_path(kind: EntityKind, many: bool) -> String {
    let noun = match kind {
        EntityKind::Conversation => "convo",
        EntityKind::Customer => "customer",
        EntityKind::Agent => "agent",
    };
    let size = if many { "many" } else { "single" };
    format!("{V1}/{size}-{noun}-metadata")
}

/// "a" or "an", for summaries.
fn article(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Agent => "an",
        EntityKind::Conversation | EntityKind::Customer => "a",
    }
}

fn write_operation(kind: EntityKind, many: bool) -> Value {
    let name = view_name(kind);
    let (operation_id, summary, description, body) = if many {
        (
            format!("many{name}Metadata"),
            format!("Add multiple {kind} metadata"),
            format!(
                "Add 1 to {MAX_BATCH_ITEMS} {kind} metadata items in one request. Each item is \
                 validated on its own: the answer is 200 when at least one item was accepted \
                 (partial success) and 400 when every item failed."
            ),
            schema_ref(batch_name(kind)),
        )
    } else {
        (
            format!("single{name}Metadata"),
            format!("Add {} {kind} metadata", article(kind)),
            format!("Add metadata attributes of one {kind}."),
            schema_ref(item_name(kind)),
        )
    };
    json!({
        "tags": ["Metadata"],
        "summary": summary,
        "description": description,
        "operationId": operation_id,
        "x-role": Role::Ingest.as_str(),
        "requestBody": {
            "required": true,
            "content": {"application/json": {"schema": body}},
        },
        "responses": write_responses(many),
    })
}

fn show_entity(kind: EntityKind) -> Value {
    let id_field = kind.id_field();
    json!({
        "tags": ["Read"],
        "summary": format!("Read {} {kind}", article(kind)),
        "description": format!(
            "The {kind}'s current metadata (the merge of every accepted submission), its links \
             and its history, oldest first."
        ),
        "operationId": format!("show{}", view_name(kind)),
        "x-role": Role::Read.as_str(),
        "parameters": [{
            "name": id_field,
            "in": "path",
            "required": true,
            "schema": path_schema(kind, id_field),
        }],
        "responses": read_responses(
            &format!("200 - The {kind}"),
            view_name(kind),
            Some(&format!("no {kind} with this id in the key's tenant")),
        ),
    })
}

/// The schema of an id in a path: the rule of field `name` of `kind`.
pub(super) fn path_schema(kind: EntityKind, name: &str) -> Value {
    let rule = fields_of(kind).iter().find(|spec| spec.name == name);
    match rule.map(|spec| spec.rule) {
        Some(FieldRule::Pattern { charset, max }) => {
            json!({"type": "string", "pattern": charset.pattern(), "maxLength": max})
        }
        _ => json!({"type": "string"}),
    }
}

fn show_event() -> Value {
    json!({
        "tags": ["Read"],
        "summary": "Read one submission by eventId",
        "description": "One accepted submission of any kind, with the item exactly as sent.",
        "operationId": "showEvent",
        "x-role": Role::Read.as_str(),
        "parameters": [{
            "name": "eventId",
            "in": "path",
            "required": true,
            "schema": path_schema(EntityKind::Conversation, "eventId"),
        }],
        "responses": read_responses(
            "200 - The submission",
            "Event",
            Some("no accepted submission with this eventId in the key's tenant"),
        ),
    })
}

fn list_rejections() -> Value {
    let mut responses = read_responses("200 - One page of rejected items", "RejectionPage", None);
    responses.insert(
        "400".to_owned(),
        error(
            "400 - Bad request",
            &[("400-01", "since, limit or cursor is malformed")],
        ),
    );
    json!({
        "tags": ["Read"],
        "summary": "List rejected items",
        "description": "Rejected items with their errors and the item as sent, oldest first.",
        "operationId": "listRejections",
        "x-role": Role::Read.as_str(),
        "parameters": [
            {
                "name": "since",
                "in": "query",
                "description": "Only items received at or after this RFC 3339 date-time",
                "schema": {"type": "string", "format": "date-time"},
            },
            {
                "name": "limit",
                "in": "query",
                "description": "Items per page",
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

fn health_check() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".to_owned(),
        json_response("200 - The store answers", schema_ref("HealthCheck")),
    );
    responses.insert("401".to_owned(), unauthorized());
    responses.extend(common_errors());
    json!({
        "tags": ["Health"],
        "summary": "Health check",
        "description": "ASAPP's health check: any valid key, whatever its roles.",
        "operationId": "healthCheck",
        "responses": responses,
    })
}
