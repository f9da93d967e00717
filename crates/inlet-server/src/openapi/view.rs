//! The schemas of the read-back answers: entity views, events, the
//! rejections page and the health check, mirroring the wire shapes that
//! `read.rs` and `health.rs` build.
//!
//! An entity's `metadata` schema is derived from the same field tables as
//! the request items, less the fields that name things rather than describe
//! them, because the stored profile holds exactly the accepted fields.

use inlet_domain::{EntityKind, fields_of};
use serde_json::{Map, Value, json};

use super::schema::{field_schema, schema_ref};

/// The read-back schemas, by component name.
pub(super) fn schemas() -> Map<String, Value> {
    let mut schemas = Map::new();
    for kind in EntityKind::ALL {
        schemas.insert(view_name(kind).to_owned(), view_schema(kind));
    }
    schemas.insert("HistoryEntry".to_owned(), history_schema());
    schemas.insert("Event".to_owned(), event_schema());
    schemas.insert("Rejection".to_owned(), rejection_schema());
    schemas.insert("RejectionPage".to_owned(), rejection_page_schema());
    schemas.insert("HealthCheck".to_owned(), health_schema());
    schemas
}

/// The component name of a kind's read-back view.
pub(super) fn view_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Conversation => "Conversation",
        EntityKind::Customer => "Customer",
        EntityKind::Agent => "Agent",
    }
}

/// A time as the server renders it: UTC with six fractional digits.
pub(super) fn timestamp(description: &str) -> Value {
    json!({
        "description": description,
        "type": "string",
        "format": "date-time",
        "example": "2026-11-22T10:00:00.000000Z",
    })
}

/// Any JSON value: the item exactly as it was sent.
fn as_sent(description: &str) -> Value {
    json!({ "description": description })
}

/// An entity as read back: its id, merged metadata, links and history.
fn view_schema(kind: EntityKind) -> Value {
    let id_field = kind.id_field();
    let mut properties = Map::new();
    properties.insert(
        id_field.to_owned(),
        json!({"description": format!("The {kind}'s id"), "type": "string"}),
    );
    properties.insert("metadata".to_owned(), metadata_schema(kind));
    let links = match kind {
        EntityKind::Conversation => Some(("customers", "The externalCustomerIds linked to it")),
        EntityKind::Customer => Some(("conversations", "The externalConversationIds linked to it")),
        EntityKind::Agent => None,
    };
    if let Some((name, description)) = links {
        properties.insert(
            name.to_owned(),
            json!({"description": description, "type": "array", "items": {"type": "string"}}),
        );
    }
    properties.insert(
        "firstSeenAt".to_owned(),
        timestamp("When a submission first named it"),
    );
    properties.insert(
        "updatedAt".to_owned(),
        timestamp("When its profile or links last changed"),
    );
    properties.insert(
        "history".to_owned(),
        json!({
            "description": "Its accepted submissions, oldest first",
            "type": "array",
            "items": schema_ref("HistoryEntry"),
        }),
    );
    let required: Vec<String> = properties.keys().cloned().collect();
    json!({ "type": "object", "properties": properties, "required": required })
}

/// The merged profile: every field of the kind's table except the entity's
/// own id, the eventId and the conversation a customer links to.
fn metadata_schema(kind: EntityKind) -> Value {
    let naming = [kind.id_field(), "eventId", "externalConversationId"];
    let properties: Map<String, Value> = fields_of(kind)
        .iter()
        .filter(|spec| !naming.contains(&spec.name))
        .map(|spec| {
            let mut schema = field_schema(spec, false);
            // Attributes merge by name, so a profile may hold more of them
            // than one submission may carry.
            if let Some(rules) = schema.as_object_mut() {
                rules.remove("maxItems");
            }
            (spec.name.to_owned(), schema)
        })
        .collect();
    json!({
        "description": "The current profile: the merge of every accepted submission in commit \
                        order; a field cleared with null is absent",
        "type": "object",
        "properties": properties,
    })
}

fn history_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "eventId": {"type": "string"},
            "receivedAt": timestamp("When the service received it"),
            "item": as_sent("The item as sent"),
        },
        "required": ["eventId", "receivedAt", "item"],
    })
}

fn kind_schema() -> Value {
    let kinds: Vec<&str> = EntityKind::ALL.iter().map(|kind| kind.as_str()).collect();
    json!({"type": "string", "enum": kinds})
}

fn event_schema() -> Value {
    json!({
        "description": "One accepted submission",
        "type": "object",
        "properties": {
            "eventId": {"type": "string"},
            "kind": kind_schema(),
            "entityId": {"description": "The id of the entity it describes", "type": "string"},
            "receivedAt": timestamp("When the service received it"),
            "apiId": {"description": "The api id of the key that sent it", "type": "string"},
            "requestId": {"description": "The request that carried it", "type": "string"},
            "item": as_sent("The item as sent"),
        },
        "required": ["eventId", "kind", "entityId", "receivedAt", "apiId", "requestId", "item"],
    })
}

fn rejection_schema() -> Value {
    json!({
        "description": "One rejected item",
        "type": "object",
        "properties": {
            "id": {"description": "The item's eventId", "type": "string"},
            "receivedAt": timestamp("When the service received it"),
            "kind": kind_schema(),
            "requestId": {"type": "string"},
            "apiId": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "string"}},
            "item": as_sent(
                "The item as sent; a string when it was cut to 64 KiB and is no longer JSON",
            ),
            "itemTruncated": {
                "description": "Present, and true, only when the stored item was cut to 64 KiB",
                "type": "boolean",
            },
        },
        "required": ["id", "receivedAt", "kind", "requestId", "apiId", "errors", "item"],
    })
}

fn rejection_page_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "rejections": {
                "description": "Oldest first",
                "type": "array",
                "items": schema_ref("Rejection"),
            },
            "nextCursor": {
                "description": "Pass back as cursor for the next page; absent on the last page",
                "type": "string",
            },
        },
        "required": ["rejections"],
    })
}

fn health_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"healthCheck": {"type": "string", "enum": ["SUCCESS"]}},
        "required": ["healthCheck"],
    })
}
