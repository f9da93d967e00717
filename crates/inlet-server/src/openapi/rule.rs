//! The matching rules of the document: `GET` and `PUT
//! /callevent/v1/matching-rules`, and what a rule is.
//!
//! The rule set is one schema for both directions: `PUT` takes it and both
//! answer it, with every default filled in. inlet-match keeps the name and
//! window limits to itself, so they are restated here; the API tests send
//! values at and just past both.

use inlet_domain::{ID_PATTERN, Role};
use inlet_match::MAX_RULES;
use serde_json::{Map, Value, json};

use super::response::{error, json_body_errors, json_response, role_read_responses};
use super::schema::schema_ref;

/// Longest rule name, in characters (inlet-match `rule.rs`).
const MAX_NAME_CHARS: usize = 64;

/// Widest time window of a rule: 30 days, in seconds (inlet-match
/// `rule.rs`).
const MAX_WINDOW_SECONDS: i64 = 30 * 24 * 3600;

/// The call fields a rule may compare, in words.
const CALL_FIELDS: &str = "numberDialed, customerPhoneNumber (the phoneNumber of any customer \
contact), customerReferenceId (the referenceId of any customer contact), agentReferenceId (the \
referenceId of any agent contact), masterCallId, or metaData followed by a JSON pointer into the \
call's metaData (metaData/crm/caseId)";

/// The paths of the matching rules.
pub(super) fn paths() -> Map<String, Value> {
    let mut paths = Map::new();
    paths.insert(
        "/callevent/v1/matching-rules".to_owned(),
        json!({"get": show_rules(), "put": replace_rules()}),
    );
    paths
}

/// The schemas of the matching rules, by component name.
pub(super) fn schemas() -> Map<String, Value> {
    let mut schemas = Map::new();
    schemas.insert("MatchingRules".to_owned(), rules_schema());
    schemas.insert("MatchingRule".to_owned(), rule_schema());
    schemas
}

fn show_rules() -> Value {
    json!({
        "tags": ["Calls"],
        "summary": "Read the matching rules",
        "description": "The tenant's matching rules in the order they are tried; none until \
                        some are set.",
        "operationId": "showMatchingRules",
        "x-role": Role::Admin.as_str(),
        "responses": role_read_responses(
            Role::Admin,
            "200 - The rules",
            "MatchingRules",
            None,
        ),
    })
}

fn replace_rules() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".to_owned(),
        json_response(
            "200 - The rules as set, in the order they are tried",
            schema_ref("MatchingRules"),
        ),
    );
    responses.insert(
        "400".to_owned(),
        error(
            "400 - Bad request",
            &[(
                "400-01",
                "the body is not {\"rules\": [...]} or a rule is invalid; the message names \
                 every problem by rule and field, e.g. rules[2].callField must be ...",
            )],
        ),
    );
    responses.extend(json_body_errors(Role::Admin, false));
    json!({
        "tags": ["Calls"],
        "summary": "Replace the matching rules",
        "description": "Replaces the tenant's whole rule set (an empty list removes every \
                        rule) and matches again every event without a sessionId, unmatched \
                        ones included. A set with any problem is refused whole.",
        "operationId": "replaceMatchingRules",
        "x-role": Role::Admin.as_str(),
        "requestBody": {
            "required": true,
            "content": {"application/json": {"schema": schema_ref("MatchingRules")}},
        },
        "responses": responses,
    })
}

fn rules_schema() -> Value {
    json!({
        "description": "A tenant's matching rules. An event without a sessionId is matched by \
                        the first rule, in priority order, with a call inside its window; \
                        among several such calls the nearest in time wins.",
        "type": "object",
        "properties": {
            "rules": {
                "type": "array",
                "items": schema_ref("MatchingRule"),
                "maxItems": MAX_RULES,
            },
        },
        "required": ["rules"],
        "additionalProperties": false,
    })
}

fn rule_schema() -> Value {
    json!({
        "description": "Which value of an event's metadata is compared with which field of a \
                        call. Other fields fail the set.",
        "type": "object",
        "properties": {
            "name": {
                "description": "Unique within the tenant; matched events record \
                                matchedBy rule:<name>",
                "type": "string",
                "pattern": ID_PATTERN,
                "minLength": 1,
                "maxLength": MAX_NAME_CHARS,
            },
            "priority": {
                "description": "Rules are tried from the lowest number up; ties by name",
                "type": "integer",
                "format": "int64",
                "default": 0,
            },
            "eventField": {
                "description": "A JSON pointer (RFC 6901) into the event's metadata",
                "type": "string",
                "example": "/crm/phone",
            },
            "callField": {
                "description": format!("The call field compared with it: {CALL_FIELDS}"),
                "type": "string",
                "example": "customerPhoneNumber",
            },
            "normalize": {
                "description": "How both values are made comparable: exact as they are; digits \
                                compares only the digits (+1 (555) 010-0199 is 15550100199); \
                                caseInsensitive compares them in lower case",
                "type": "string",
                "enum": ["exact", "digits", "caseInsensitive"],
                "default": "exact",
            },
            "windowSeconds": {
                "description": "How far the event time may lie outside the call (startTime to \
                                endTime, or startTime alone), in seconds",
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_WINDOW_SECONDS,
                "default": 0,
            },
            "target": {
                "description": "What a match attaches the event to: call, the matched call; \
                                callGroup, every call sharing its masterCallId, including calls \
                                that join the group later",
                "type": "string",
                "enum": ["call", "callGroup"],
                "default": "call",
            },
        },
        "required": ["name", "eventField", "callField"],
        "additionalProperties": false,
    })
}
