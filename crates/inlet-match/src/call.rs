//! A call as the call provider registers it (Creovai's call upload):
//! `sessionId`, `masterCallId` (the call group), times, direction, the number
//! dialed, contacts and free-form `metaData`.

use std::borrow::Cow;

use inlet_domain::{Json, Timestamp};
use serde_json::{Map, Value, json};

use crate::rule::type_name;
use crate::{
    CallField, MAX_METADATA_BYTES, MAX_METADATA_DEPTH, SessionId, depth, parse_event_time,
};

/// Most contacts on one call.
const MAX_CONTACTS: usize = 100;

/// Longest `direction`, `numberDialed` and `phoneNumber`, in characters.
const MAX_SHORT_CHARS: usize = 64;

/// Longest `referenceId`, `firstName` and `lastName`, in characters.
const MAX_TEXT_CHARS: usize = 256;

/// A valid call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The call's id.
    pub session_id: SessionId,
    /// Calls sharing it form a call group.
    pub master_call_id: Option<SessionId>,
    /// When the call started.
    pub start_time: Timestamp,
    /// When it ended, if known; never before `start_time`.
    pub end_time: Option<Timestamp>,
    /// `inbound`, `outbound`, … as the provider says.
    pub direction: Option<String>,
    /// The number dialed.
    pub number_dialed: Option<String>,
    /// Agents and customers on the call.
    pub contacts: Vec<Contact>,
    /// Free-form metadata from the call provider.
    pub meta_data: Option<Map<String, Value>>,
    /// Fields inlet does not know, answered as warnings and not stored.
    pub warnings: Vec<String>,
}

/// Someone on a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Agent or customer.
    pub contact_type: ContactType,
    /// Their phone number.
    pub phone_number: Option<String>,
    /// Their id in the CRM or workforce system.
    pub reference_id: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
}

/// Which side of the call a contact is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactType {
    /// The contact center's agent.
    Agent,
    /// The customer.
    Customer,
}

impl ContactType {
    fn name(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Customer => "customer",
        }
    }
}

/// Why a call was refused: every problem, and its session id when that much
/// was readable (answered in the per-item result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// The call's `sessionId`, if it was valid.
    pub session_id: Option<String>,
    /// Every problem, each naming its field.
    pub problems: Vec<String>,
}

impl CallError {
    /// The per-item error text: `FAIL_BAD_PARAMS: ERROR: <problems>`.
    pub fn message(&self) -> String {
        format!("FAIL_BAD_PARAMS: ERROR: {}", self.problems.join("; "))
    }
}

impl Call {
    /// Where the call's interval ends: its end time, or its start when it
    /// has none (rule windows are measured from there).
    pub fn end(&self) -> Timestamp {
        self.end_time.unwrap_or(self.start_time)
    }

    /// The call as registered, the shape `GET /callevent/v1/calls/{id}` answers.
    pub fn to_json(&self) -> Value {
        let mut call = Map::new();
        call.insert("sessionId".into(), json!(self.session_id));
        if let Some(master) = &self.master_call_id {
            call.insert("masterCallId".into(), json!(master));
        }
        call.insert("startTime".into(), json!(self.start_time));
        if let Some(end) = self.end_time {
            call.insert("endTime".into(), json!(end));
        }
        if let Some(direction) = &self.direction {
            call.insert("direction".into(), json!(direction));
        }
        if let Some(number) = &self.number_dialed {
            call.insert("numberDialed".into(), json!(number));
        }
        if !self.contacts.is_empty() {
            let contacts: Vec<Value> = self.contacts.iter().map(Contact::to_json).collect();
            call.insert("contacts".into(), Value::Array(contacts));
        }
        if let Some(meta) = &self.meta_data {
            call.insert("metaData".into(), Value::Object(meta.clone()));
        }
        Value::Object(call)
    }

    /// The values of `field` on this call, as text: none, one, or several
    /// (a call may have several customer contacts). Values inside
    /// `metaData` count when they are strings, numbers or booleans, or
    /// arrays of those.
    pub fn values(&self, field: &CallField) -> Vec<String> {
        let contacts = |kind: ContactType, pick: fn(&Contact) -> Option<&String>| {
            self.contacts
                .iter()
                .filter(|contact| contact.contact_type == kind)
                .filter_map(pick)
                .cloned()
                .collect()
        };
        match field {
            CallField::NumberDialed => self.number_dialed.iter().cloned().collect(),
            CallField::CustomerPhoneNumber => {
                contacts(ContactType::Customer, |c| c.phone_number.as_ref())
            }
            CallField::CustomerReferenceId => {
                contacts(ContactType::Customer, |c| c.reference_id.as_ref())
            }
            CallField::AgentReferenceId => {
                contacts(ContactType::Agent, |c| c.reference_id.as_ref())
            }
            CallField::MasterCallId => self
                .master_call_id
                .iter()
                .map(|id| id.as_str().to_owned())
                .collect(),
            CallField::MetaData(pointer) => self
                .meta_data
                .as_ref()
                .and_then(|meta| pointed(meta, pointer))
                .map(scalars)
                .unwrap_or_default(),
        }
    }
}

impl Contact {
    fn to_json(&self) -> Value {
        let mut contact = Map::new();
        contact.insert("type".into(), json!(self.contact_type.name()));
        for (name, value) in [
            ("phoneNumber", &self.phone_number),
            ("referenceId", &self.reference_id),
            ("firstName", &self.first_name),
            ("lastName", &self.last_name),
        ] {
            if let Some(value) = value {
                contact.insert(name.into(), json!(value));
            }
        }
        Value::Object(contact)
    }
}

/// The value at `pointer` (RFC 6901, `/a/0/b`) inside the object `root`.
pub(crate) fn pointed<'a>(root: &'a Map<String, Value>, pointer: &str) -> Option<&'a Value> {
    // Most tokens have no escapes: unescape (and allocate) only those that do.
    let mut tokens = pointer.strip_prefix('/')?.split('/').map(|token| {
        if token.contains('~') {
            Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(token)
        }
    });
    let mut value = root.get(tokens.next()?.as_ref())?;
    for token in tokens {
        value = match value {
            Value::Object(map) => map.get(token.as_ref())?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// The comparable texts of a value: a scalar's, or each scalar element's.
pub(crate) fn scalars(value: &Value) -> Vec<String> {
    let scalar = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

/// Validates one call given as JSON text. Duplicate keys fail it, as they
/// fail an ASAPP item: ambiguous data is never resolved silently.
pub fn parse_call(text: &str) -> Result<Call, CallError> {
    let json = Json::parse(text).map_err(|err| CallError {
        session_id: None,
        problems: vec![format!("call is not valid JSON: {err}")],
    })?;
    let mut problems = Vec::new();
    if let Some(path) = json.first_duplicate_key() {
        problems.push(format!("duplicate key {path}"));
    }
    let value = json.to_value();
    let Some(fields) = value.as_object() else {
        return Err(CallError {
            session_id: None,
            problems: vec![format!(
                "a call must be a JSON object, got {}",
                type_name(&value)
            )],
        });
    };
    let mut reader = Reader { fields, problems };
    let session_id = reader.session("sessionId", true);
    let master_call_id = reader.session("masterCallId", false);
    let start_time = reader.time("startTime", true);
    let end_time = reader.time("endTime", false);
    if let (Some(start), Some(end)) = (start_time, end_time) {
        if end < start {
            reader
                .problems
                .push("endTime must not be before startTime".to_owned());
        }
    }
    let direction = reader.text("direction", MAX_SHORT_CHARS);
    let number_dialed = reader.text("numberDialed", MAX_SHORT_CHARS);
    let contacts = reader.contacts();
    let meta_data = reader.meta_data();
    let warnings = fields
        .keys()
        .filter(|key| !KNOWN.contains(&key.as_str()))
        .map(|key| format!("unknown field {key}"))
        .collect();
    let Reader { problems, .. } = reader;
    match (session_id, start_time) {
        (Some(session_id), Some(start_time)) if problems.is_empty() => Ok(Call {
            session_id,
            master_call_id,
            start_time,
            end_time,
            direction,
            number_dialed,
            contacts,
            meta_data,
            warnings,
        }),
        (session_id, _) => Err(CallError {
            session_id: session_id.map(|id| id.as_str().to_owned()),
            problems,
        }),
    }
}

/// The fields a call may have.
const KNOWN: [&str; 8] = [
    "sessionId",
    "masterCallId",
    "startTime",
    "endTime",
    "direction",
    "numberDialed",
    "contacts",
    "metaData",
];

struct Reader<'a> {
    fields: &'a Map<String, Value>,
    problems: Vec<String>,
}

impl Reader<'_> {
    /// A present, non-null field; `required` ones missing are a problem.
    fn get(&mut self, name: &str, required: bool) -> Option<&Value> {
        match self.fields.get(name) {
            None | Some(Value::Null) => {
                if required {
                    self.problems.push(format!("{name} is required"));
                }
                None
            }
            Some(value) => Some(value),
        }
    }

    fn string(&mut self, name: &str, required: bool) -> Option<String> {
        match self.get(name, required)? {
            Value::String(text) => Some(text.clone()),
            other => {
                let kind = type_name(other);
                self.problems
                    .push(format!("{name} must be a string, got {kind}"));
                None
            }
        }
    }

    fn session(&mut self, name: &str, required: bool) -> Option<SessionId> {
        let text = self.string(name, required)?;
        SessionId::parse(text)
            .map_err(|problem| self.problems.push(format!("{name} {problem}")))
            .ok()
    }

    fn time(&mut self, name: &str, required: bool) -> Option<Timestamp> {
        let text = self.string(name, required)?;
        let parsed = parse_event_time(&text);
        if parsed.is_none() {
            self.problems.push(format!(
                "{name} must be an RFC 3339 date-time such as 2026-11-29T09:00:00Z, got {text:?}"
            ));
        }
        parsed
    }

    fn text(&mut self, name: &str, max: usize) -> Option<String> {
        let text = self.string(name, false)?;
        within(&mut self.problems, name, text, max)
    }

    fn contacts(&mut self) -> Vec<Contact> {
        let fields = self.fields;
        let value = match fields.get("contacts") {
            None | Some(Value::Null) => return Vec::new(),
            Some(value) => value,
        };
        let Value::Array(items) = value else {
            let kind = type_name(value);
            self.problems
                .push(format!("contacts must be an array, got {kind}"));
            return Vec::new();
        };
        if items.len() > MAX_CONTACTS {
            self.problems.push(format!(
                "contacts holds at most {MAX_CONTACTS} contacts, got {}",
                items.len()
            ));
            return Vec::new();
        }
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| contact(&format!("contacts[{i}]"), item, &mut self.problems))
            .collect()
    }

    fn meta_data(&mut self) -> Option<Map<String, Value>> {
        let value = self.get("metaData", false)?.clone();
        let Value::Object(map) = value else {
            let kind = type_name(&value);
            self.problems
                .push(format!("metaData must be a JSON object, got {kind}"));
            return None;
        };
        let map_value = Value::Object(map);
        let bytes = map_value.to_string().len();
        if bytes > MAX_METADATA_BYTES {
            self.problems.push(format!(
                "metaData is {bytes} bytes of JSON; at most {MAX_METADATA_BYTES}"
            ));
        }
        let levels = depth(&map_value);
        if levels > MAX_METADATA_DEPTH {
            self.problems.push(format!(
                "metaData nests {levels} levels deep; at most {MAX_METADATA_DEPTH}"
            ));
        }
        match map_value {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }
}

fn within(problems: &mut Vec<String>, name: &str, text: String, max: usize) -> Option<String> {
    let chars = text.chars().count();
    if chars > max {
        problems.push(format!(
            "{name} must be at most {max} characters, got {chars}"
        ));
        return None;
    }
    Some(text)
}

fn contact(at: &str, value: &Value, problems: &mut Vec<String>) -> Option<Contact> {
    let Value::Object(fields) = value else {
        problems.push(format!("{at} must be an object, got {}", type_name(value)));
        return None;
    };
    let before = problems.len();
    let mut text = |name: &str, max: usize| -> Option<String> {
        match fields.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => {
                within(problems, &format!("{at}.{name}"), text.clone(), max)
            }
            Some(other) => {
                problems.push(format!(
                    "{at}.{name} must be a string, got {}",
                    type_name(other)
                ));
                None
            }
        }
    };
    let kind = text("type", MAX_SHORT_CHARS);
    let phone_number = text("phoneNumber", MAX_SHORT_CHARS);
    let reference_id = text("referenceId", MAX_TEXT_CHARS);
    let first_name = text("firstName", MAX_TEXT_CHARS);
    let last_name = text("lastName", MAX_TEXT_CHARS);
    let contact_type = match kind.as_deref() {
        Some("agent") => Some(ContactType::Agent),
        Some("customer") => Some(ContactType::Customer),
        Some(other) => {
            problems.push(format!(
                "{at}.type must be agent or customer, got {other:?}"
            ));
            None
        }
        None => {
            problems.push(format!("{at}.type is required (agent or customer)"));
            None
        }
    };
    for key in fields.keys() {
        if ![
            "type",
            "phoneNumber",
            "referenceId",
            "firstName",
            "lastName",
        ]
        .contains(&key.as_str())
        {
            problems.push(format!(
                "{at}: unknown field {key}; a contact has type, phoneNumber, referenceId, firstName, lastName"
            ));
        }
    }
    if problems.len() > before {
        return None;
    }
    Some(Contact {
        contact_type: contact_type?,
        phone_number,
        reference_id,
        first_name,
        last_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_reaches_into_objects_and_arrays_and_unescapes_its_tokens() {
        let root = json!({"a/b": {"c~d": [10, 11]}, "plain": {"x": "y"}});
        let root = root.as_object().expect("object");
        assert_eq!(pointed(root, "/a~1b/c~0d/1"), Some(&json!(11)));
        assert_eq!(pointed(root, "/plain/x"), Some(&json!("y")));
        assert_eq!(pointed(root, "/a/b"), None, "~1 is how a pointer says /");
        assert_eq!(pointed(root, "/plain/x/z"), None);
        assert_eq!(pointed(root, "plain"), None, "a pointer starts with /");
    }

    const FULL: &str = r#"{"sessionId": "s-1", "masterCallId": "g-1",
        "startTime": "2026-11-29T09:00:00Z", "endTime": "2026-11-29T09:05:00Z",
        "direction": "inbound", "numberDialed": "+1 555 0100",
        "contacts": [{"type": "customer", "phoneNumber": "+1 (555) 010-0199", "referenceId": "C-9"},
                     {"type": "customer", "phoneNumber": "555 0200"},
                     {"type": "agent", "referenceId": "A-7", "firstName": "Ann"}],
        "metaData": {"crm": {"caseId": "CASE-1", "tags": ["x", 5]}}}"#;

    #[test]
    fn a_full_call_parses_and_answers_the_values_rules_compare() {
        let call = parse_call(FULL).expect("valid");
        assert_eq!(call.session_id.as_str(), "s-1");
        assert_eq!(call.values(&CallField::NumberDialed), ["+1 555 0100"]);
        assert_eq!(
            call.values(&CallField::CustomerPhoneNumber),
            ["+1 (555) 010-0199", "555 0200"]
        );
        assert_eq!(call.values(&CallField::CustomerReferenceId), ["C-9"]);
        assert_eq!(call.values(&CallField::AgentReferenceId), ["A-7"]);
        assert_eq!(call.values(&CallField::MasterCallId), ["g-1"]);
        assert_eq!(
            call.values(&CallField::MetaData("/crm/caseId".into())),
            ["CASE-1"]
        );
        assert_eq!(
            call.values(&CallField::MetaData("/crm/tags".into())),
            ["x", "5"]
        );
        assert!(call.values(&CallField::MetaData("/nope".into())).is_empty());
        let again = parse_call(&call.to_json().to_string()).expect("round trip");
        assert_eq!(again, call);
    }

    #[test]
    fn every_problem_of_a_call_is_named() {
        let err = parse_call(
            r#"{"sessionId": "a b", "startTime": "soon", "endTime": 5,
                "contacts": [{"type": "robot"}, {}], "metaData": [1]}"#,
        )
        .expect_err("invalid");
        let message = err.message();
        for part in [
            "sessionId may contain only",
            "startTime must be an RFC 3339 date-time",
            "endTime must be a string, got a number",
            "contacts[0].type must be agent or customer, got \"robot\"",
            "contacts[1].type is required",
            "metaData must be a JSON object, got an array",
        ] {
            assert!(message.contains(part), "{part:?} missing from {message}");
        }
        assert!(message.starts_with("FAIL_BAD_PARAMS: ERROR: "));
    }

    #[test]
    fn a_call_ending_before_it_starts_or_without_a_start_is_refused() {
        let err = parse_call(
            r#"{"sessionId": "s", "startTime": "2026-11-29T09:00:00Z", "endTime": "2026-11-29T08:00:00Z"}"#,
        )
        .expect_err("invalid");
        assert_eq!(err.session_id.as_deref(), Some("s"));
        assert_eq!(err.problems, ["endTime must not be before startTime"]);
        let err = parse_call(r#"{"sessionId": "s"}"#).expect_err("invalid");
        assert_eq!(err.problems, ["startTime is required"]);
    }

    #[test]
    fn unknown_fields_are_warnings_and_duplicate_keys_fail() {
        let call = parse_call(
            r#"{"sessionId": "s", "startTime": "2026-11-29T09:00:00Z", "agentName": "x"}"#,
        )
        .expect("valid");
        assert_eq!(call.warnings, ["unknown field agentName"]);
        let err = parse_call(
            r#"{"sessionId": "s", "sessionId": "t", "startTime": "2026-11-29T09:00:00Z"}"#,
        )
        .expect_err("invalid");
        assert!(err.problems.contains(&"duplicate key sessionId".to_owned()));
    }

    #[test]
    fn meta_data_over_the_depth_limit_is_refused() {
        let deep = format!("{}1{}", "{\"a\":".repeat(33), "}".repeat(33));
        let err = parse_call(&format!(
            r#"{{"sessionId": "s", "startTime": "2026-11-29T09:00:00Z", "metaData": {deep}}}"#
        ))
        .expect_err("invalid");
        assert_eq!(err.problems, ["metaData nests 33 levels deep; at most 32"]);
    }
}
