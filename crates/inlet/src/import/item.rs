//! From a row to the item the server takes: CSV cells shaped into fields,
//! an eventId derived where the row has none, and the server's own
//! validation run first, so a bad row is reported with the server's message
//! without a round trip.

use inlet_domain::{EntityKind, FieldRule, Json, check_item, fields_of, parse_item};
use inlet_match::{parse_call, parse_call_event};
use serde_json::{Map, Value, json};

use super::source::RowValue;

/// What is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Kind {
    /// ASAPP conversation metadata.
    Conversation,
    /// ASAPP customer metadata.
    Customer,
    /// ASAPP agent metadata.
    Agent,
    /// Calls (Creovai call upload).
    Call,
    /// Out-of-band call events (Creovai Async Metadata).
    CallEvent,
}

impl Kind {
    fn entity(self) -> Option<EntityKind> {
        match self {
            Self::Conversation => Some(EntityKind::Conversation),
            Self::Customer => Some(EntityKind::Customer),
            Self::Agent => Some(EntityKind::Agent),
            Self::Call | Self::CallEvent => None,
        }
    }

    /// The endpoint rows of this kind go to.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Conversation => "/metadata-ingestion/v1/many-convo-metadata",
            Self::Customer => "/metadata-ingestion/v1/many-customer-metadata",
            Self::Agent => "/metadata-ingestion/v1/many-agent-metadata",
            Self::Call => "/callevent/v1/calls",
            Self::CallEvent => "/callevent/v1/outofband/event",
        }
    }

    /// Whether rows go in `{"items": [...]}` batches (else one per request).
    pub(crate) fn batched(self) -> bool {
        self != Self::CallEvent
    }

    /// The name as `--kind` takes it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Conversation => "conversation",
            Self::Customer => "customer",
            Self::Agent => "agent",
            Self::Call => "call",
            Self::CallEvent => "call-event",
        }
    }
}

/// A row ready to send: its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prepared {
    pub(crate) text: String,
}

/// Shapes, completes and validates one row; on failure the message the
/// server would answer for it.
pub(crate) fn prepare(kind: Kind, row: &RowValue) -> Result<Prepared, String> {
    if let (RowValue::Text(text), Some(entity)) = (row, kind.entity()) {
        return prepare_text(entity, text);
    }
    let value = match row {
        RowValue::Json(value) => value.clone(),
        RowValue::Text(text) => serde_json::from_str(text)
            .map_err(|err| format!("FAIL_BAD_PARAMS: ERROR: the line is not valid JSON: {err}"))?,
        RowValue::Csv(cells) => from_csv(kind, cells),
        RowValue::Broken { problem, .. } => {
            return Err(format!("FAIL_BAD_PARAMS: ERROR: {problem}"));
        }
    };
    let value = with_event_id(kind, value);
    let text = value.to_string();
    validate(kind, &text)?;
    Ok(Prepared { text })
}

/// An ASAPP item given as JSON text: validated from one parse, and sent as
/// written unless it needs an eventId, which is put first.
fn prepare_text(entity: EntityKind, text: &str) -> Result<Prepared, String> {
    let json = Json::parse(text)
        .map_err(|err| format!("FAIL_BAD_PARAMS: ERROR: the line is not valid JSON: {err}"))?;
    let has_event_id =
        matches!(&json, Json::Object(entries) if entries.iter().any(|(key, _)| key == "eventId"));
    if has_event_id {
        check_item(entity, &json).map_err(|err| err.message())?;
        return Ok(Prepared {
            text: text.to_owned(),
        });
    }
    // Without an eventId the item's content hash is the hash of its kind
    // and content: the same derivation as rows of any other format.
    let item = parse_item(entity, &json).map_err(|err| err.message())?;
    let event_id = derived_event_id(&item.content_hash);
    let body = text
        .trim_start()
        .strip_prefix('{')
        .unwrap_or(text)
        .trim_start();
    let separator = if body.starts_with('}') { "" } else { "," };
    Ok(Prepared {
        text: format!("{{\"eventId\":\"{event_id}\"{separator}{body}"),
    })
}

fn derived_event_id(hash: &[u8; 32]) -> String {
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("imp-{hex}")
}

/// The server's checks, with its messages.
fn validate(kind: Kind, text: &str) -> Result<(), String> {
    match kind.entity() {
        Some(entity) => {
            let json = Json::parse(text)
                .map_err(|err| format!("FAIL_BAD_PARAMS: ERROR: item is not valid JSON: {err}"))?;
            check_item(entity, &json).map_err(|err| err.message())
        }
        None if kind == Kind::Call => parse_call(text).map(|_| ()).map_err(|err| err.message()),
        None => parse_call_event(text).map(|_| ()).map_err(|err| err.0),
    }
}

/// The row with an `eventId` derived from its kind and content when it has
/// none, so the same row sent again, from any file, is the same event
/// (DESIGN.md §3b). Calls have no eventId: re-sending one replaces it.
fn with_event_id(kind: Kind, value: Value) -> Value {
    let Value::Object(mut fields) = value else {
        return value;
    };
    if kind == Kind::Call || fields.keys().any(|key| key.eq_ignore_ascii_case("eventId")) {
        return Value::Object(fields);
    }
    let text = Value::Object(fields.clone()).to_string();
    // The row came from JSON text: it parses back.
    let hash = Json::parse(&text)
        .map(|json| json.content_hash(kind.name()))
        .unwrap_or_default();
    fields.insert("eventId".into(), Value::String(derived_event_id(&hash)));
    Value::Object(fields)
}

/// A CSV record as an item of `kind`. Empty cells are absent fields.
///
/// - ASAPP kinds: `attr.<name>` columns become `attributes`; list fields
///   (`companySegment`, `languages`) are `;`-separated; integer fields are
///   numbers when they read as one (else the server's message says so).
/// - Calls: `metaData.<key>` columns fill `metaData`; `customer.<field>`
///   and `agent.<field>` columns make one contact of each type.
/// - Call events: `metadata.<key>` columns fill `metadata`.
fn from_csv(kind: Kind, cells: &[(String, String)]) -> Value {
    let mut item = Map::new();
    let mut attributes = Vec::new();
    let mut nested: Map<String, Value> = Map::new();
    let mut contacts: Vec<(String, Map<String, Value>)> = Vec::new();
    for (name, cell) in cells.iter().filter(|(_, cell)| !cell.is_empty()) {
        if let Some(attribute) = name.strip_prefix("attr.") {
            attributes.push(json!({"name": attribute, "value": cell}));
            continue;
        }
        match kind {
            Kind::Call | Kind::CallEvent => {
                let prefix = if kind == Kind::Call {
                    "metaData."
                } else {
                    "metadata."
                };
                if let Some(key) = name.strip_prefix(prefix) {
                    nested.insert(key.to_owned(), Value::String(cell.clone()));
                    continue;
                }
                if kind == Kind::Call {
                    if let Some((side, field)) = name.split_once('.') {
                        if side == "customer" || side == "agent" {
                            contact(&mut contacts, side).insert(field.to_owned(), json!(cell));
                            continue;
                        }
                    }
                }
                item.insert(name.clone(), Value::String(cell.clone()));
            }
            _ => {
                item.insert(name.clone(), asapp_cell(kind, name, cell));
            }
        }
    }
    if !attributes.is_empty() {
        item.insert("attributes".into(), Value::Array(attributes));
    }
    if !nested.is_empty() {
        let key = if kind == Kind::Call {
            "metaData"
        } else {
            "metadata"
        };
        item.insert(key.into(), Value::Object(nested));
    }
    if !contacts.is_empty() {
        let contacts = contacts
            .into_iter()
            .map(|(side, mut fields)| {
                fields.insert("type".into(), Value::String(side));
                Value::Object(fields)
            })
            .collect();
        item.insert("contacts".into(), Value::Array(contacts));
    }
    Value::Object(item)
}

fn contact<'a>(
    contacts: &'a mut Vec<(String, Map<String, Value>)>,
    side: &str,
) -> &'a mut Map<String, Value> {
    let index = match contacts.iter().position(|(found, _)| found == side) {
        Some(index) => index,
        None => {
            contacts.push((side.to_owned(), Map::new()));
            contacts.len() - 1
        }
    };
    &mut contacts[index].1
}

/// An ASAPP field's cell as the JSON the field takes.
fn asapp_cell(kind: Kind, name: &str, cell: &str) -> Value {
    let rule = kind
        .entity()
        .and_then(|entity| fields_of(entity).iter().find(|spec| spec.name == name))
        .map(|spec| spec.rule);
    match rule {
        Some(FieldRule::List { .. }) => Value::Array(
            cell.split(';')
                .map(|part| Value::String(part.to_owned()))
                .collect(),
        ),
        Some(FieldRule::Integer) => cell
            .trim()
            .parse::<i64>()
            .map_or_else(|_| Value::String(cell.to_owned()), Value::from),
        _ => Value::String(cell.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(cells: &[(&str, &str)]) -> RowValue {
        RowValue::Csv(
            cells
                .iter()
                .map(|(name, cell)| ((*name).to_owned(), (*cell).to_owned()))
                .collect(),
        )
    }

    fn item(kind: Kind, row: &RowValue) -> Value {
        let prepared = prepare(kind, row).expect("valid");
        serde_json::from_str(&prepared.text).expect("json")
    }

    #[test]
    fn csv_cells_become_fields_lists_numbers_and_attributes() {
        let row = csv(&[
            ("externalAgentId", "a-1"),
            ("languages", "en;fr-CA"),
            ("concurrency", "3"),
            ("agentName", ""),
            ("attr.site", "Lisbon"),
            ("eventId", "ev-1"),
        ]);
        assert_eq!(
            item(Kind::Agent, &row),
            json!({"externalAgentId": "a-1", "languages": ["en", "fr-CA"], "concurrency": 3,
                   "eventId": "ev-1", "attributes": [{"name": "site", "value": "Lisbon"}]})
        );
    }

    #[test]
    fn a_bad_row_gets_the_servers_message() {
        let row = csv(&[("externalAgentId", "a 1"), ("concurrency", "three")]);
        let message = prepare(Kind::Agent, &row).expect_err("invalid");
        assert!(message.starts_with("FAIL_BAD_PARAMS: ERROR: "), "{message}");
        assert!(
            message.contains("concurrency must be an integer, got a string"),
            "{message}"
        );
        assert!(
            message.contains("externalAgentId may contain only"),
            "{message}"
        );
    }

    #[test]
    fn derived_event_ids_depend_on_content_only() {
        let a = item(
            Kind::Conversation,
            &RowValue::Json(json!({"externalConversationId": "c", "lobId": "1"})),
        );
        let b = item(
            Kind::Conversation,
            &RowValue::Json(json!({"lobId": "1", "externalConversationId": "c"})),
        );
        let c = item(
            Kind::Conversation,
            &RowValue::Json(json!({"externalConversationId": "c", "lobId": "2"})),
        );
        assert_eq!(a["eventId"], b["eventId"]);
        assert_ne!(a["eventId"], c["eventId"]);
        assert!(a["eventId"].as_str().expect("id").starts_with("imp-"));
        let kept = item(
            Kind::Conversation,
            &RowValue::Json(json!({"externalConversationId": "c", "eventId": "mine"})),
        );
        assert_eq!(kept["eventId"], "mine");
    }

    #[test]
    fn calls_and_events_from_csv() {
        let call = csv(&[
            ("sessionId", "s1"),
            ("startTime", "2026-11-29T09:00:00Z"),
            ("customer.phoneNumber", "+1 555 0100"),
            ("agent.referenceId", "A-7"),
            ("metaData.queue", "cards"),
        ]);
        assert_eq!(
            item(Kind::Call, &call),
            json!({"sessionId": "s1", "startTime": "2026-11-29T09:00:00Z",
                   "metaData": {"queue": "cards"},
                   "contacts": [{"phoneNumber": "+1 555 0100", "type": "customer"},
                                {"referenceId": "A-7", "type": "agent"}]})
        );
        assert!(
            item(Kind::Call, &call).get("eventId").is_none(),
            "calls have no eventId"
        );
        let event = csv(&[
            ("EventTime", "2018/10/15T09:00:00.000Z"),
            ("metadata.ani", "555"),
        ]);
        let event = item(Kind::CallEvent, &event);
        assert_eq!(event["metadata"], json!({"ani": "555"}));
        assert!(event["eventId"].is_string());
    }

    #[test]
    fn a_line_of_text_gets_the_same_event_id_as_the_same_row_in_any_format() {
        let text = item(
            Kind::Customer,
            &RowValue::Text(
                r#"{"externalCustomerId": "u1", "externalConversationId": "c1"}"#.into(),
            ),
        );
        let value = item(
            Kind::Customer,
            &RowValue::Json(json!({"externalConversationId": "c1", "externalCustomerId": "u1"})),
        );
        let cells = item(
            Kind::Customer,
            &csv(&[
                ("externalCustomerId", "u1"),
                ("externalConversationId", "c1"),
            ]),
        );
        assert_eq!(text["eventId"], value["eventId"]);
        assert_eq!(text["eventId"], cells["eventId"]);
        assert_eq!(text["externalCustomerId"], "u1");
        let empty = prepare(Kind::Agent, &RowValue::Text("{}".into())).expect_err("no id");
        assert_eq!(empty, "FAIL_BAD_PARAMS: ERROR: externalAgentId is required");
        let sent = prepare(
            Kind::Agent,
            &RowValue::Text(r#"{"externalAgentId":"a","eventId":"e"}"#.into()),
        )
        .expect("valid");
        assert_eq!(
            sent.text, r#"{"externalAgentId":"a","eventId":"e"}"#,
            "sent as written"
        );
    }

    #[test]
    fn a_broken_row_is_refused_with_its_problem() {
        let row = RowValue::Broken {
            text: "{x".into(),
            problem: "the line is not valid JSON: at 1".into(),
        };
        assert_eq!(
            prepare(Kind::Customer, &row),
            Err("FAIL_BAD_PARAMS: ERROR: the line is not valid JSON: at 1".to_owned())
        );
    }
}
