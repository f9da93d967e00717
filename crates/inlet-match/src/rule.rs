//! Matching rules: which metadata field of an event is compared with which
//! field of a call, how both are normalised, within what time window, and
//! whether a match attaches the event to the call or to its whole group.
//!
//! A tenant's rules arrive as JSON (`{"rules": [...]}`) and are checked all
//! at once: every problem is reported, each naming the rule and the field.

use serde_json::{Map, Value, json};

/// Most rules one tenant may have; each can cost an index look-up per event.
pub const MAX_RULES: usize = 100;

/// Widest time window of a rule: 30 days, in seconds.
const MAX_WINDOW_SECONDS: i64 = 30 * 24 * 3600;

/// Longest rule name, in characters.
const MAX_NAME_CHARS: usize = 64;

/// One matching rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Unique within the tenant; events record `rule:<name>`.
    pub name: String,
    /// Rules are tried from the lowest priority number up.
    pub priority: i64,
    /// A JSON pointer into the event's metadata (`/crm/phone`).
    pub event_field: String,
    /// The call field compared with it.
    pub call_field: CallField,
    /// How both values are normalised before comparing.
    pub normalize: Normalize,
    /// How far the event time may lie outside the call, in seconds.
    pub window_seconds: i64,
    /// What a match attaches the event to.
    pub target: Target,
}

/// A field of a call that rules can compare.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallField {
    /// `numberDialed`.
    NumberDialed,
    /// `phoneNumber` of any customer contact.
    CustomerPhoneNumber,
    /// `referenceId` of any customer contact.
    CustomerReferenceId,
    /// `referenceId` of any agent contact.
    AgentReferenceId,
    /// `masterCallId`, the call group.
    MasterCallId,
    /// A value inside `metaData`, by JSON pointer (`metaData/crm/id`).
    MetaData(String),
}

impl CallField {
    /// The names a rule may use, for messages.
    const NAMES: &'static str = "numberDialed, customerPhoneNumber, customerReferenceId, \
                                 agentReferenceId, masterCallId or metaData/<JSON pointer>";

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "numberDialed" => Self::NumberDialed,
            "customerPhoneNumber" => Self::CustomerPhoneNumber,
            "customerReferenceId" => Self::CustomerReferenceId,
            "agentReferenceId" => Self::AgentReferenceId,
            "masterCallId" => Self::MasterCallId,
            other => {
                let pointer = other.strip_prefix("metaData")?;
                if !is_pointer(pointer) {
                    return None;
                }
                Self::MetaData(pointer.to_owned())
            }
        })
    }

    /// The name as a rule writes it.
    pub fn name(&self) -> String {
        match self {
            Self::NumberDialed => "numberDialed".to_owned(),
            Self::CustomerPhoneNumber => "customerPhoneNumber".to_owned(),
            Self::CustomerReferenceId => "customerReferenceId".to_owned(),
            Self::AgentReferenceId => "agentReferenceId".to_owned(),
            Self::MasterCallId => "masterCallId".to_owned(),
            Self::MetaData(pointer) => format!("metaData{pointer}"),
        }
    }
}

/// How values are made comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Normalize {
    /// Compared as they are.
    Exact,
    /// Only the ASCII digits are compared (`+1 (555) 010-0199` → `15550100199`).
    Digits,
    /// Compared in lower case.
    CaseInsensitive,
}

impl Normalize {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "exact" => Self::Exact,
            "digits" => Self::Digits,
            "caseInsensitive" => Self::CaseInsensitive,
            _ => return None,
        })
    }

    /// The name as a rule writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Digits => "digits",
            Self::CaseInsensitive => "caseInsensitive",
        }
    }

    /// `text` normalised; `None` when nothing comparable is left (no digits).
    pub fn apply(self, text: &str) -> Option<String> {
        let normalised = match self {
            Self::Exact => text.to_owned(),
            Self::Digits => text.chars().filter(char::is_ascii_digit).collect(),
            Self::CaseInsensitive => text.to_lowercase(),
        };
        (!normalised.is_empty()).then_some(normalised)
    }
}

/// What a matching event attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// The matched call only.
    Call,
    /// Every call sharing the matched call's `masterCallId`, including calls
    /// that join the group later.
    CallGroup,
}

impl Target {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "call" => Self::Call,
            "callGroup" => Self::CallGroup,
            _ => return None,
        })
    }

    /// The name as a rule writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::CallGroup => "callGroup",
        }
    }
}

/// A tenant's rules, in the order they are tried: priority, then name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet(Vec<Rule>);

impl RuleSet {
    /// The rules in the order they are tried.
    pub fn rules(&self) -> &[Rule] {
        &self.0
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rule named `name`.
    pub fn get(&self, name: &str) -> Option<&Rule> {
        self.0.iter().find(|rule| rule.name == name)
    }

    /// `{"rules": [...]}`, the shape `PUT` takes and `GET` answers.
    pub fn to_json(&self) -> Value {
        let rules: Vec<Value> = self
            .0
            .iter()
            .map(|rule| {
                json!({
                    "name": rule.name,
                    "priority": rule.priority,
                    "eventField": rule.event_field,
                    "callField": rule.call_field.name(),
                    "normalize": rule.normalize.name(),
                    "windowSeconds": rule.window_seconds,
                    "target": rule.target.name(),
                })
            })
            .collect();
        json!({ "rules": rules })
    }
}

/// Whether `text` is a JSON pointer to a member (RFC 6901, not the whole
/// document): `/a`, `/a/0`, `/a~1b`.
fn is_pointer(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('/') else {
        return false;
    };
    // `~` must be followed by 0 or 1.
    let bytes = rest.as_bytes();
    bytes
        .iter()
        .enumerate()
        .all(|(i, &b)| b != b'~' || matches!(bytes.get(i + 1), Some(b'0' | b'1')))
}

/// Parses `{"rules": [...]}`. On failure, every problem, each naming the
/// rule (`rules[2]`) and the field.
pub fn parse_rules(body: &Value) -> Result<RuleSet, Vec<String>> {
    let Some(object) = body.as_object() else {
        return Err(vec!["the body must be {\"rules\": [...]}".to_owned()]);
    };
    let mut problems = Vec::new();
    for key in object.keys().filter(|key| *key != "rules") {
        problems.push(format!(
            "unknown field {key}; the body is {{\"rules\": [...]}}"
        ));
    }
    let Some(list) = object.get("rules").and_then(Value::as_array) else {
        problems.push("rules is required and must be an array".to_owned());
        return Err(problems);
    };
    if list.len() > MAX_RULES {
        problems.push(format!("at most {MAX_RULES} rules, got {}", list.len()));
    }
    let mut rules = Vec::with_capacity(list.len());
    for (index, value) in list.iter().enumerate() {
        let at = format!("rules[{index}]");
        match value.as_object() {
            Some(fields) => {
                if let Some(rule) = parse_rule(&at, fields, &mut problems) {
                    if rules.iter().any(|other: &Rule| other.name == rule.name) {
                        problems.push(format!("{at}.name {:?} is used twice", rule.name));
                    }
                    rules.push(rule);
                }
            }
            None => problems.push(format!("{at} must be an object")),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    rules.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(RuleSet(rules))
}

fn parse_rule(at: &str, fields: &Map<String, Value>, problems: &mut Vec<String>) -> Option<Rule> {
    const KNOWN: [&str; 7] = [
        "name",
        "priority",
        "eventField",
        "callField",
        "normalize",
        "windowSeconds",
        "target",
    ];
    let before = problems.len();
    for key in fields.keys().filter(|key| !KNOWN.contains(&key.as_str())) {
        problems.push(format!(
            "{at}: unknown field {key}; a rule has {}",
            KNOWN.join(", ")
        ));
    }
    let text = |name: &str, problems: &mut Vec<String>| -> Option<String> {
        match fields.get(name) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => {
                problems.push(format!(
                    "{at}.{name} must be a string, got {}",
                    type_name(other)
                ));
                None
            }
            None => None,
        }
    };
    let name = text("name", problems);
    match &name {
        None if !fields.contains_key("name") => problems.push(format!("{at}.name is required")),
        Some(name) if !valid_name(name) => problems.push(format!(
            "{at}.name must be 1 to {MAX_NAME_CHARS} letters, digits, - and _, got {name:?}"
        )),
        _ => {}
    }
    let priority = integer(at, "priority", fields, problems, 0);
    let event_field = text("eventField", problems);
    match &event_field {
        None if !fields.contains_key("eventField") => {
            problems.push(format!("{at}.eventField is required (a JSON pointer such as /crm/phone)"));
        }
        Some(pointer) if !is_pointer(pointer) => problems.push(format!(
            "{at}.eventField must be a JSON pointer into the metadata such as /crm/phone, got {pointer:?}"
        )),
        _ => {}
    }
    let call_field = text("callField", problems).and_then(|name| {
        let parsed = CallField::parse(&name);
        if parsed.is_none() {
            problems.push(format!(
                "{at}.callField must be {}, got {name:?}",
                CallField::NAMES
            ));
        }
        parsed
    });
    if !fields.contains_key("callField") {
        problems.push(format!("{at}.callField is required ({})", CallField::NAMES));
    }
    let normalize = match text("normalize", problems) {
        None => Some(Normalize::Exact),
        Some(name) => Normalize::parse(&name).or_else(|| {
            problems.push(format!(
                "{at}.normalize must be exact, digits or caseInsensitive, got {name:?}"
            ));
            None
        }),
    };
    let window_seconds = integer(at, "windowSeconds", fields, problems, 0);
    if let Some(window) = window_seconds {
        if !(0..=MAX_WINDOW_SECONDS).contains(&window) {
            problems.push(format!(
                "{at}.windowSeconds must be from 0 to {MAX_WINDOW_SECONDS} (30 days), got {window}"
            ));
        }
    }
    let target = match text("target", problems) {
        None => Some(Target::Call),
        Some(name) => Target::parse(&name).or_else(|| {
            problems.push(format!(
                "{at}.target must be call or callGroup, got {name:?}"
            ));
            None
        }),
    };
    if problems.len() > before {
        return None;
    }
    Some(Rule {
        name: name?,
        priority: priority?,
        event_field: event_field?,
        call_field: call_field?,
        normalize: normalize?,
        window_seconds: window_seconds?,
        target: target?,
    })
}

/// An integer field, `default` when absent.
fn integer(
    at: &str,
    name: &str,
    fields: &Map<String, Value>,
    problems: &mut Vec<String>,
    default: i64,
) -> Option<i64> {
    match fields.get(name) {
        None => Some(default),
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(other) => {
            problems.push(format!(
                "{at}.{name} must be an integer, got {}",
                type_name(other)
            ));
            None
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(fields: Value) -> Value {
        json!({"rules": [fields]})
    }

    #[test]
    fn a_full_rule_parses_and_reads_back_as_sent() {
        let body = json!({"rules": [
            {"name": "by-phone", "priority": 2, "eventField": "/ani", "callField": "customerPhoneNumber",
             "normalize": "digits", "windowSeconds": 300, "target": "call"},
            {"name": "by-crm", "priority": 1, "eventField": "/crm/id", "callField": "metaData/crm/caseId",
             "normalize": "caseInsensitive", "windowSeconds": 0, "target": "callGroup"}
        ]});
        let rules = parse_rules(&body).expect("valid");
        let names: Vec<&str> = rules.rules().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["by-crm", "by-phone"], "tried by priority");
        assert_eq!(
            rules.get("by-crm").map(|r| r.call_field.clone()),
            Some(CallField::MetaData("/crm/caseId".to_owned()))
        );
        let again = parse_rules(&rules.to_json()).expect("round trip");
        assert_eq!(again, rules);
    }

    #[test]
    fn optional_fields_take_their_defaults() {
        let rules = parse_rules(&rule(
            json!({"name": "n", "eventField": "/a", "callField": "numberDialed"}),
        ))
        .expect("valid");
        let only = &rules.rules()[0];
        assert_eq!(only.priority, 0);
        assert_eq!(only.normalize, Normalize::Exact);
        assert_eq!(only.window_seconds, 0);
        assert_eq!(only.target, Target::Call);
    }

    #[test]
    fn every_problem_is_named_with_its_rule_and_field() {
        let body = json!({"rules": [
            {"name": "a", "eventField": "crm", "callField": "phone", "normalize": "fuzzy",
             "windowSeconds": -1, "target": "group", "colour": "red"},
            {"name": "a", "eventField": "/x", "callField": "masterCallId", "priority": "1"},
            {"eventField": "/x"}
        ]});
        let problems = parse_rules(&body).expect_err("invalid");
        let expected = [
            "rules[0]: unknown field colour",
            "rules[0].eventField must be a JSON pointer",
            "rules[0].callField must be numberDialed",
            "rules[0].normalize must be exact, digits or caseInsensitive, got \"fuzzy\"",
            "rules[0].windowSeconds must be from 0",
            "rules[0].target must be call or callGroup, got \"group\"",
            "rules[1].priority must be an integer, got a string",
            "rules[2].name is required",
            "rules[2].callField is required",
        ];
        for start in expected {
            assert!(
                problems.iter().any(|p| p.starts_with(start)),
                "{start:?} missing from {problems:#?}"
            );
        }
    }

    #[test]
    fn a_name_used_twice_is_refused() {
        let body = json!({"rules": [
            {"name": "a", "eventField": "/x", "callField": "numberDialed"},
            {"name": "a", "eventField": "/y", "callField": "numberDialed"}
        ]});
        let problems = parse_rules(&body).expect_err("invalid");
        assert_eq!(problems, ["rules[1].name \"a\" is used twice"]);
    }

    #[test]
    fn normalisation_keeps_what_compares() {
        assert_eq!(
            Normalize::Digits.apply("+1 (555) 010-0199"),
            Some("15550100199".to_owned())
        );
        assert_eq!(Normalize::Digits.apply("n/a"), None);
        assert_eq!(
            Normalize::CaseInsensitive.apply("CASE-77"),
            Some("case-77".to_owned())
        );
        assert_eq!(Normalize::Exact.apply(" a "), Some(" a ".to_owned()));
        assert_eq!(Normalize::Exact.apply(""), None);
    }

    #[test]
    fn pointers_must_name_a_member() {
        assert!(is_pointer("/a"));
        assert!(is_pointer("/a/0/b~1c~0"));
        assert!(!is_pointer(""));
        assert!(!is_pointer("a"));
        assert!(!is_pointer("/a~2"));
        assert!(!is_pointer("/a~"));
    }
}
