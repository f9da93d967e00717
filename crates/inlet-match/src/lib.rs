//! Matching out-of-band call events to calls (Creovai's Async Metadata):
//! what a call, an event and a matching rule are, which values of each a
//! rule compares (their *keys*), and which call wins among the candidates.
//!
//! Everything here is a pure function over values, so the matching decision
//! is the same on every node and backend, and testable without a store. The
//! store looks candidates up by key with an index and hands them to
//! [`choose`]; an event's attachment is a function of the calls, the event
//! and the rules alone, whatever order they arrived in.

mod call;
mod choose;
mod event;
mod key;
mod rule;
mod session;
mod time;

pub use call::{Call, CallError, Contact, ContactType, parse_call};
pub use choose::{Attachment, Candidate, MatchedBy, Via, choose, window};
pub use event::{CallEvent, EventError, parse_call_event};
pub use key::{Key, MAX_KEY_BYTES, call_keys, event_keys};
pub use rule::{CallField, MAX_RULES, Normalize, Rule, RuleSet, Target, parse_rules};
pub use session::SessionId;
pub use time::parse_event_time;

/// Largest `metadata` of an event or `metaData` of a call, in bytes of JSON
/// (DESIGN.md §6).
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// Deepest nesting of `metadata`, counting the object itself as 1
/// (DESIGN.md §6 and §3b).
pub const MAX_METADATA_DEPTH: usize = 32;

/// How deeply `value` nests: a scalar is 0, an empty object or array 1.
pub fn depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
