//! The schemas of the write endpoints: request items built from the
//! domain's field tables, the per-item answers and the error envelope.
//!
//! The item schemas are generated from [`fields_of`], the same tables the
//! validator reads, so a pattern, length or enum in the document is the one
//! enforced. The answer schemas mirror the wire structs of `ingest.rs` and
//! `context.rs`; the API tests compare both with the seed specs.

use inlet_domain::{Attribute, EntityKind, FieldRule, FieldSpec, fields_of};
use serde_json::{Map, Value, json};

use crate::MAX_BATCH_ITEMS;

/// A `$ref` to a schema of this module.
pub(super) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The component name of a kind's item schema.
pub(super) fn item_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Conversation => "ConversationMetadata",
        EntityKind::Customer => "CustomerMetadata",
        EntityKind::Agent => "AgentMetadata",
    }
}

/// The component name of a kind's batch request schema.
pub(super) fn batch_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Conversation => "ManyConversationMetadata",
        EntityKind::Customer => "ManyCustomerMetadata",
        EntityKind::Agent => "ManyAgentMetadata",
    }
}

/// The request and ingest-answer schemas, by component name.
pub(super) fn schemas() -> Map<String, Value> {
    let mut schemas = Map::new();
    for kind in EntityKind::ALL {
        schemas.insert(item_name(kind).to_owned(), item_schema(kind));
        schemas.insert(batch_name(kind).to_owned(), batch_schema(kind));
    }
    schemas.insert("Attribute".to_owned(), attribute_schema());
    schemas.insert("ItemResult".to_owned(), item_result_schema());
    schemas.insert("BatchResponse".to_owned(), batch_response_schema());
    schemas.insert("SingleResponse".to_owned(), single_response_schema());
    schemas.insert("ErrorResponse".to_owned(), error_schema());
    schemas
}

/// One item of `kind`: every field of its table, the required ones listed.
fn item_schema(kind: EntityKind) -> Value {
    let fields = fields_of(kind);
    let properties: Map<String, Value> = fields
        .iter()
        .map(|spec| (spec.name.to_owned(), field_schema(spec, true)))
        .collect();
    let required: Vec<&str> = fields
        .iter()
        .filter(|spec| spec.required)
        .map(|spec| spec.name)
        .collect();
    json!({
        "description": format!(
            "A set of {kind} metadata attributes. Unknown fields are stored as sent and \
             answered as warnings."
        ),
        "type": "object",
        "properties": properties,
        "required": required,
    })
}

/// The schema of one field. `nullable` marks optional fields as accepting an
/// explicit `null` (which clears the stored value); stored profiles never
/// hold nulls, so the read-back views pass `false`.
pub(super) fn field_schema(spec: &FieldSpec, nullable: bool) -> Value {
    let mut schema = Map::new();
    let mut description = spec.description.to_owned();
    if spec.rule == FieldRule::DateTime {
        description.push_str(". UTC, ending in Z, with 0 to 12 fractional digits");
    }
    schema.insert("description".to_owned(), description.into());
    if let Value::Object(rule) = rule_schema(spec.rule) {
        schema.extend(rule);
    }
    if nullable && !spec.required {
        schema.insert("nullable".to_owned(), true.into());
    }
    Value::Object(schema)
}

/// What a [`FieldRule`] allows, in OpenAPI terms.
fn rule_schema(rule: FieldRule) -> Value {
    match rule {
        FieldRule::Pattern { charset, max } => json!({
            "type": "string", "pattern": charset.pattern(), "maxLength": max,
        }),
        FieldRule::Text { max } => json!({"type": "string", "maxLength": max}),
        FieldRule::Enum(options) => json!({"type": "string", "enum": options}),
        FieldRule::Email => json!({"type": "string", "format": "email"}),
        FieldRule::DateTime => json!({
            "type": "string", "format": "date-time", "example": "2022-07-08T11:15:53.237517000Z",
        }),
        FieldRule::Integer => json!({"type": "integer", "format": "int64"}),
        FieldRule::List { charset, max } => json!({
            "type": "array",
            "items": {"type": "string", "pattern": charset.pattern(), "maxLength": max},
        }),
        FieldRule::Attributes => json!({
            "type": "array",
            "items": schema_ref("Attribute"),
            "maxItems": Attribute::MAX_PER_ITEM,
        }),
    }
}

fn attribute_schema() -> Value {
    json!({
        "description": "A key-value pair of additional metadata attributes. Names are unique \
                        within an item; attributes merge into the stored profile by name.",
        "type": "object",
        "properties": {
            "name": {
                "description": "The name of the attribute",
                "type": "string",
                "minLength": 1,
                "maxLength": Attribute::NAME_MAX_CHARS,
            },
            "value": {
                "description": "The value of the named attribute",
                "type": "string",
                "maxLength": Attribute::VALUE_MAX_CHARS,
            },
        },
        "required": ["name", "value"],
    })
}

/// `{"items": [...]}` of 1 to [`MAX_BATCH_ITEMS`] items of `kind`.
fn batch_schema(kind: EntityKind) -> Value {
    json!({
        "description": format!(
            "A request to send more than one {kind} metadata; send a list of items. \
             Each item is validated on its own and answered at the same position in results."
        ),
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": schema_ref(item_name(kind)),
                "minItems": 1,
                "maxItems": MAX_BATCH_ITEMS,
            },
        },
        "required": ["items"],
        "additionalProperties": false,
    })
}

fn item_result_schema() -> Value {
    json!({
        "description": "A response with the status of a sent message",
        "type": "object",
        "properties": {
            "eventId": {
                "description": "The item's eventId: the one sent, or a UUIDv7 made by the \
                                service when none was",
                "type": "string",
                "example": "0193a5c8-7d2e-7cc1-9b1e-4f1f5a3c2d10",
            },
            "error": {
                "description": "Empty when the item was accepted; otherwise every problem of the \
                                item, e.g. FAIL_BAD_PARAMS: ERROR: externalConversationId is \
                                required; lobId must be a string, got a number",
                "type": "string",
                "example": "",
            },
            "warnings": {
                "description": "Present when the item had fields the service does not know; \
                                they are stored as sent (an addition to ASAPP's answer)",
                "type": "array",
                "items": {"type": "string", "example": "unknown field lobname"},
            },
            "duplicate": {
                "description": "Present (and true) when this eventId was already stored with \
                                the same content: the item succeeded and nothing was written \
                                again (an addition to ASAPP's answer)",
                "type": "boolean",
            },
        },
        "required": ["eventId", "error"],
    })
}

fn batch_response_schema() -> Value {
    json!({
        "description": "One result per item, in the order sent",
        "type": "object",
        "properties": {
            "errorCount": {"description": "Number of items with an error", "type": "integer"},
            "results": {
                "description": "results[i] answers items[i]",
                "type": "array",
                "items": schema_ref("ItemResult"),
            },
        },
        "required": ["errorCount", "results"],
    })
}

fn single_response_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"result": schema_ref("ItemResult")},
        "required": ["result"],
    })
}

fn error_schema() -> Value {
    json!({
        "description": "Every answer other than per-item results",
        "type": "object",
        "properties": {
            "error": {
                "description": "Error details",
                "type": "object",
                "properties": {
                    "requestId": {
                        "description": "Unique ID of the failing request (also in the \
                                        x-request-id header)",
                        "type": "string",
                    },
                    "code": {"description": "Error code, STATUS-SUBCODE", "type": "string"},
                    "message": {"description": "Error message", "type": "string"},
                },
                "required": ["requestId", "code", "message"],
            },
        },
        "required": ["error"],
    })
}
