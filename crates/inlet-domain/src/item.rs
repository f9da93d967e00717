//! Validation of one metadata item: JSON in, a [`NewItem`] or every problem out.
//!
//! The decision a reader needs: an item reports *every* problem it has
//! (DESIGN.md §3.2), so checks append to a list instead of returning early.

use std::borrow::Cow;
use std::fmt::{self, Display};

use email_address::EmailAddress;

use crate::field::{Charset, FieldRule, FieldSpec};
use crate::{Attribute, EntityId, EntityKind, EventId, Json, fields_of, parse_asapp_datetime};

/// The longest email address that can be delivered (RFC 5321 path limit).
const EMAIL_MAX_CHARS: usize = 254;

/// How much of a bad enum value an error message repeats.
const ECHO_MAX_CHARS: usize = 32;

/// A validated metadata item, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// What the item describes.
    pub kind: EntityKind,
    /// The entity's external id.
    pub entity_id: EntityId,
    /// For customer items: the conversation the customer is linked to.
    pub conversation_id: Option<EntityId>,
    /// The client's `eventId`, when it sent one.
    pub event_id: Option<EventId>,
    /// The profile fields the item sets or clears, in the order sent.
    pub changes: Vec<FieldChange>,
    /// Additive notes for the client, such as `unknown field lobname`.
    pub warnings: Vec<String>,
    /// Identifies the item's content for idempotency (kind included).
    pub content_hash: [u8; 32],
}

/// One profile field set or cleared by an item.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// The field's JSON key.
    pub name: &'static str,
    /// Its new value.
    pub value: FieldValue,
}

/// The value an item gives a profile field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// Explicit `null`: remove the stored value.
    Clear,
    /// A string field.
    Text(String),
    /// An integer field.
    Integer(i64),
    /// An array of strings; replaces the stored array.
    List(Vec<String>),
    /// Attributes; merged into the stored ones by name.
    Attributes(Vec<Attribute>),
}

/// Why an item was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// The client's `eventId`, when it sent a valid one.
    pub event_id: Option<EventId>,
    /// Every problem, each naming its field.
    pub problems: Vec<String>,
    /// Warnings that would have applied had the item been accepted.
    pub warnings: Vec<String>,
}

impl ItemError {
    /// The per-item error text of DESIGN.md §3.2:
    /// `FAIL_BAD_PARAMS: ERROR: a is required; b must be a string, got a number`.
    pub fn message(&self) -> String {
        format!("FAIL_BAD_PARAMS: ERROR: {}", self.problems.join("; "))
    }
}

/// The per-item error for an eventId already stored with other content
/// (DESIGN.md §3.5): the first version stays.
pub fn conflict_message(event_id: &EventId) -> String {
    format!(
        "FAIL_CONFLICT: ERROR: eventId {event_id} was already used for different content; \
         the first version is kept"
    )
}

/// Validates `item` as metadata of `kind`.
pub fn parse_item(kind: EntityKind, item: &Json) -> Result<NewItem, ItemError> {
    let parser = parse_fields(kind, item)?;
    parser.finish(kind, item)
}

/// Whether `item` is valid metadata of `kind`, with [`parse_item`]'s
/// messages, for a caller that needs only the verdict (a client checking a
/// row before it sends it): the content hash is not computed.
pub fn check_item(kind: EntityKind, item: &Json) -> Result<(), ItemError> {
    let parser = parse_fields(kind, item)?;
    match parser.entity_id {
        Some(_) if parser.problems.is_empty() => Ok(()),
        _ => Err(parser.into_error()),
    }
}

/// Every field of `item` checked and collected.
fn parse_fields(kind: EntityKind, item: &Json) -> Result<Parser, ItemError> {
    let Json::Object(entries) = item else {
        return Err(ItemError {
            event_id: None,
            problems: vec![format!(
                "item must be a JSON object, got {}",
                item.type_name()
            )],
            warnings: Vec::new(),
        });
    };
    let mut parser = Parser::default();
    parser.check_required(fields_of(kind), entries);
    if let Some(path) = item.first_duplicate_key() {
        parser.problems.push(format!("duplicate key {path}"));
    }
    for (key, value) in entries {
        match fields_of(kind).iter().find(|spec| spec.name == key) {
            Some(spec) => parser.field(kind, spec, value),
            None => parser.warnings.push(format!("unknown field {key}")),
        }
    }
    Ok(parser)
}

#[derive(Default)]
struct Parser {
    problems: Vec<String>,
    warnings: Vec<String>,
    entity_id: Option<EntityId>,
    conversation_id: Option<EntityId>,
    event_id: Option<EventId>,
    changes: Vec<FieldChange>,
}

impl Parser {
    fn check_required(&mut self, specs: &[FieldSpec], entries: &[(Cow<'_, str>, Json<'_>)]) {
        for spec in specs.iter().filter(|spec| spec.required) {
            match entries.iter().find(|(key, _)| key == spec.name) {
                None => self.problems.push(format!("{} is required", spec.name)),
                Some((_, Json::Null)) => self
                    .problems
                    .push(format!("{} is required and must not be null", spec.name)),
                Some(_) => {}
            }
        }
    }

    fn field(&mut self, kind: EntityKind, spec: &'static FieldSpec, value: &Json) {
        if matches!(value, Json::Null) {
            if !spec.required && spec.name != "eventId" {
                self.push_change(spec.name, FieldValue::Clear);
            }
            return;
        }
        let Some(parsed) = self.value(spec, value) else {
            return;
        };
        match (spec.name, parsed) {
            (name, FieldValue::Text(text)) if name == kind.id_field() => {
                self.entity_id = Some(EntityId::new(text));
            }
            ("externalConversationId", FieldValue::Text(text)) => {
                self.conversation_id = Some(EntityId::new(text));
            }
            ("eventId", FieldValue::Text(text)) => {
                // The Pattern rule has already checked the text.
                self.event_id = EventId::parse(text).ok();
            }
            (name, parsed) => self.push_change(name, parsed),
        }
    }

    fn push_change(&mut self, name: &'static str, value: FieldValue) {
        self.changes.push(FieldChange { name, value });
    }

    fn value(&mut self, spec: &FieldSpec, value: &Json) -> Option<FieldValue> {
        let name = spec.name;
        match spec.rule {
            FieldRule::Pattern { charset, max } => self
                .patterned(name, value, charset, max)
                .map(FieldValue::Text),
            FieldRule::Text { max } => self.text(name, value, max).map(FieldValue::Text),
            FieldRule::Enum(options) => self.one_of(name, value, options).map(FieldValue::Text),
            FieldRule::Email => self.email(name, value).map(FieldValue::Text),
            FieldRule::DateTime => self.datetime(name, value).map(FieldValue::Text),
            FieldRule::Integer => self.integer(name, value).map(FieldValue::Integer),
            FieldRule::List { charset, max } => {
                self.list(name, value, charset, max).map(FieldValue::List)
            }
            FieldRule::Attributes => {
                Attribute::parse_list(name, value, &mut self.problems, &mut self.warnings)
                    .map(FieldValue::Attributes)
            }
        }
    }

    fn string<'a>(&mut self, name: impl Display, value: &'a Json) -> Option<&'a str> {
        match value {
            Json::String(text) => Some(text),
            other => {
                self.problems.push(format!(
                    "{name} must be a string, got {}",
                    other.type_name()
                ));
                None
            }
        }
    }

    fn text(&mut self, name: &str, value: &Json, max: usize) -> Option<String> {
        let text = self.string(name, value)?;
        self.within(name, text, max).then(|| text.to_owned())
    }

    fn within(&mut self, name: impl Display, text: &str, max: usize) -> bool {
        // Bytes bound characters from above: skip counting short strings.
        if text.len() <= max {
            return true;
        }
        let chars = text.chars().count();
        if chars <= max {
            return true;
        }
        self.problems.push(format!(
            "{name} must be at most {max} characters, got {chars}"
        ));
        false
    }

    fn patterned(
        &mut self,
        name: impl Display + Copy,
        value: &Json,
        charset: Charset,
        max: usize,
    ) -> Option<String> {
        let text = self.string(name, value)?;
        if text.is_empty() {
            self.problems.push(format!("{name} must not be empty"));
            return None;
        }
        let mut ok = self.within(name, text, max);
        if let Some(bad) = text.chars().find(|&c| !charset.allows(c)) {
            self.problems.push(format!(
                "{name} may contain only {} (pattern {}), found {bad:?}",
                charset.describe(),
                charset.pattern()
            ));
            ok = false;
        }
        ok.then(|| text.to_owned())
    }

    fn one_of(&mut self, name: &str, value: &Json, options: &[&str]) -> Option<String> {
        let text = self.string(name, value)?;
        if options.contains(&text) {
            return Some(text.to_owned());
        }
        let echo: String = text.chars().take(ECHO_MAX_CHARS).collect();
        self.problems.push(format!(
            "{name} must be one of {}, got {echo:?}",
            options.join(", ")
        ));
        None
    }

    fn email(&mut self, name: &str, value: &Json) -> Option<String> {
        let text = self.string(name, value)?;
        let plain = !text.contains(|c: char| c.is_whitespace() || c == '<' || c == '>');
        if plain && text.chars().count() <= EMAIL_MAX_CHARS && EmailAddress::is_valid(text) {
            return Some(text.to_owned());
        }
        self.problems.push(format!(
            "{name} must be an email address like name@example.com"
        ));
        None
    }

    fn datetime(&mut self, name: &str, value: &Json) -> Option<String> {
        let text = self.string(name, value)?;
        if parse_asapp_datetime(text).is_some() {
            return Some(text.to_owned());
        }
        self.problems.push(format!(
            "{name} must be a UTC date-time like 2022-07-08T11:15:53.237517000Z \
             (0 to 12 fractional digits, ending in Z)"
        ));
        None
    }

    fn integer(&mut self, name: &str, value: &Json) -> Option<i64> {
        match value {
            Json::Number(n) => {
                let parsed = n.as_i64();
                if parsed.is_none() {
                    self.problems.push(format!(
                        "{name} must be an integer between {} and {}, got {n}",
                        i64::MIN,
                        i64::MAX
                    ));
                }
                parsed
            }
            other => {
                self.problems.push(format!(
                    "{name} must be an integer, got {}",
                    other.type_name()
                ));
                None
            }
        }
    }

    fn list(
        &mut self,
        name: &str,
        value: &Json,
        charset: Charset,
        max: usize,
    ) -> Option<Vec<String>> {
        let Json::Array(elements) = value else {
            self.problems.push(format!(
                "{name} must be an array of strings, got {}",
                value.type_name()
            ));
            return None;
        };
        let before = self.problems.len();
        let parsed: Vec<String> = elements
            .iter()
            .enumerate()
            .filter_map(|(i, element)| {
                self.patterned(
                    Element {
                        list: name,
                        index: i,
                    },
                    element,
                    charset,
                    max,
                )
            })
            .collect();
        (self.problems.len() == before).then_some(parsed)
    }

    fn finish(self, kind: EntityKind, item: &Json) -> Result<NewItem, ItemError> {
        match self.entity_id {
            Some(entity_id) if self.problems.is_empty() => Ok(NewItem {
                kind,
                entity_id,
                conversation_id: self.conversation_id,
                event_id: self.event_id,
                changes: self.changes,
                warnings: self.warnings,
                content_hash: item.content_hash(kind.as_str()),
            }),
            _ => Err(self.into_error()),
        }
    }

    fn into_error(self) -> ItemError {
        ItemError {
            event_id: self.event_id,
            problems: self.problems,
            warnings: self.warnings,
        }
    }
}

/// The path of a list element in messages, `companySegment[2]`: formatted
/// only when a message names it, not for every element checked.
#[derive(Clone, Copy)]
pub(crate) struct Element<'a> {
    pub(crate) list: &'a str,
    pub(crate) index: usize,
}

impl Display for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.list, self.index)
    }
}
