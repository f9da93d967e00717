//! Reading back what a backend stored for calls and call events: the same
//! text columns on SQLite and PostgreSQL, parsed the same way. A value that
//! no longer parses is an error naming it, never a silent default.

use inlet_domain::EventId;
use inlet_match::{Attachment, Call, MatchedBy, RuleSet, SessionId, parse_call, parse_rules};
use serde_json::{Map, Value};

use crate::StoreError;

/// A stored value that does not parse.
pub fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("stored {what} does not parse"))
}

/// A stored session id.
pub fn session(text: String) -> Result<SessionId, StoreError> {
    SessionId::parse(text).map_err(|_| corrupt("session id"))
}

/// A stored session id that may be absent.
pub fn optional_session(text: Option<String>) -> Result<Option<SessionId>, StoreError> {
    text.map(session).transpose()
}

/// A stored eventId.
pub fn event_id(text: String) -> Result<EventId, StoreError> {
    EventId::parse(text).map_err(|_| corrupt("event id"))
}

/// An event's metadata as stored: compact JSON, without copying the map
/// into a `Value` first.
pub fn metadata_text(metadata: &Map<String, Value>) -> Result<String, StoreError> {
    serde_json::to_string(metadata)
        .map_err(|err| StoreError::Other(format!("cannot write event metadata: {err}")))
}

/// A stored event's metadata.
pub fn metadata(text: &str) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_str(text).map_err(|_| corrupt("event metadata"))
}

/// A stored call (the JSON of [`Call::to_json`]).
pub fn call(text: &str) -> Result<Call, StoreError> {
    parse_call(text).map_err(|_| corrupt("call"))
}

/// A tenant's stored rules; none stored is the empty set.
pub fn rules(text: Option<&str>) -> Result<RuleSet, StoreError> {
    let Some(text) = text else {
        return Ok(RuleSet::default());
    };
    let value: Value = serde_json::from_str(text).map_err(|_| corrupt("rules"))?;
    parse_rules(&value).map_err(|_| corrupt("rules"))
}

/// An attachment from its columns: the matched session (none: not
/// attached), the group, `matched_by` and `ambiguous`.
pub fn attachment(
    session_id: Option<String>,
    group: Option<String>,
    matched_by: Option<String>,
    ambiguous: bool,
) -> Result<Option<Attachment>, StoreError> {
    let Some(session_id) = session_id else {
        return Ok(None);
    };
    let matched_by = matched_by
        .as_deref()
        .and_then(MatchedBy::from_label)
        .ok_or_else(|| corrupt("matched_by"))?;
    Ok(Some(Attachment {
        session_id: session(session_id)?,
        group: optional_session(group)?,
        matched_by,
        ambiguous,
    }))
}
