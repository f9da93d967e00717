//! An out-of-band call event (Creovai's `POST /callevent/v1/outofband/event`):
//! an optional session id, the event time and any JSON metadata.
//!
//! Creovai's documentation spells the keys several ways (`SessionId`,
//! `sessionID`, `EventTime`, `metaData`, …), so keys are matched without
//! regard to case; two keys that differ only in case are refused rather
//! than one silently winning.

use std::borrow::Cow;

use inlet_domain::{EventId, Json, Timestamp};
use serde_json::{Map, Value};

use crate::rule::type_name;
use crate::{MAX_METADATA_BYTES, MAX_METADATA_DEPTH, SessionId, depth, parse_event_time};

/// A valid out-of-band event.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEvent {
    /// The client's id for idempotency, if it sent one.
    pub event_id: Option<EventId>,
    /// The call it belongs to, when the sender knows it.
    pub session_id: Option<SessionId>,
    /// When the event happened.
    pub event_time: Timestamp,
    /// The sender's metadata.
    pub metadata: Map<String, Value>,
    /// Identifies the content (session, time, metadata; key order aside):
    /// the same eventId with the same content is a resend.
    pub content_hash: [u8; 32],
}

/// Why an event was refused: one message naming every problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError(pub String);

/// The keys of an event, lower-cased.
const SESSION_ID: &str = "sessionid";
const EVENT_TIME: &str = "eventtime";
const METADATA: &str = "metadata";
const EVENT_ID: &str = "eventid";

/// Validates an event body.
pub fn parse_call_event(text: &str) -> Result<CallEvent, EventError> {
    let json = Json::parse(text)
        .map_err(|err| EventError(format!("request body is not valid JSON: {err}")))?;
    let Json::Object(entries) = &json else {
        return Err(EventError(format!(
            "request body must be a JSON object, got {}",
            json.type_name()
        )));
    };
    let mut problems = Vec::new();
    let mut found: [Option<(&Cow<'_, str>, &Json<'_>)>; 4] = [None; 4];
    for (key, value) in entries {
        let lower = key.to_lowercase();
        let Some(slot) = [SESSION_ID, EVENT_TIME, METADATA, EVENT_ID]
            .iter()
            .position(|name| *name == lower)
        else {
            continue;
        };
        match found[slot] {
            Some((first, _)) => problems.push(format!(
                "{first} and {key} name the same field; send it once"
            )),
            None => found[slot] = Some((key, value)),
        }
    }
    let [session, time, metadata, event_id] = found;
    let session_id = match session {
        None | Some((_, Json::Null)) => None,
        Some((_, Json::String(text))) if text.is_empty() => None,
        Some((key, Json::String(text))) => SessionId::parse(text.as_ref())
            .map_err(|problem| problems.push(format!("{key} {problem}")))
            .ok(),
        Some((key, other)) => {
            problems.push(format!("{key} must be a string, got {}", other.type_name()));
            None
        }
    };
    let event_time = match time {
        None | Some((_, Json::Null)) => {
            problems.push(
                "EventTime is required (a date-time such as 2018-10-15T09:00:00.000Z)".to_owned(),
            );
            None
        }
        Some((key, Json::String(text))) => {
            let parsed = parse_event_time(text);
            if parsed.is_none() {
                problems.push(format!(
                    "{key} must be a date-time such as 2018-10-15T09:00:00.000Z or \
                     2018/10/15T09:00:00.000Z, got {text:?}"
                ));
            }
            parsed
        }
        Some((key, other)) => {
            problems.push(format!(
                "{key} must be a date-time string such as 2018-10-15T09:00:00.000Z, got {}",
                other.type_name()
            ));
            None
        }
    };
    let metadata = match metadata {
        None | Some((_, Json::Null)) => {
            problems.push("metadata is required (a JSON object)".to_owned());
            None
        }
        Some((key, value @ Json::Object(_))) => check_metadata(key, value, &mut problems),
        Some((key, other)) => {
            problems.push(format!(
                "{key} must be a JSON object, got {}",
                other.type_name()
            ));
            None
        }
    };
    let event_id = match event_id {
        None | Some((_, Json::Null)) => None,
        Some((key, Json::String(text))) => EventId::parse(text.as_ref())
            .map_err(|err| problems.push(format!("{key}: {err}")))
            .ok(),
        Some((key, other)) => {
            problems.push(format!("{key} must be a string, got {}", other.type_name()));
            None
        }
    };
    match (event_time, metadata) {
        (Some(event_time), Some((metadata, hashed))) if problems.is_empty() => {
            let domain = format!(
                "callEvent\0{}\0{}",
                session_id.as_ref().map_or("", SessionId::as_str),
                event_time.as_micros()
            );
            Ok(CallEvent {
                event_id,
                session_id,
                event_time,
                metadata,
                content_hash: hashed.content_hash(&domain),
            })
        }
        _ => Err(EventError(problems.join("; "))),
    }
}

/// The metadata as a map when it is within the size and depth limits and
/// has no duplicate keys, with the parsed form to hash.
fn check_metadata<'j>(
    key: &str,
    value: &'j Json<'j>,
    problems: &mut Vec<String>,
) -> Option<(Map<String, Value>, &'j Json<'j>)> {
    let before = problems.len();
    if let Some(path) = value.first_duplicate_key() {
        problems.push(format!("{key} has the key {path} twice; send it once"));
    }
    let converted = value.to_value();
    let bytes = converted.to_string().len();
    if bytes > MAX_METADATA_BYTES {
        problems.push(format!(
            "{key} is {bytes} bytes of JSON; at most {MAX_METADATA_BYTES} (64 KiB)"
        ));
    }
    let levels = depth(&converted);
    if levels > MAX_METADATA_DEPTH {
        problems.push(format!(
            "{key} nests {levels} levels deep; at most {MAX_METADATA_DEPTH}"
        ));
    }
    if problems.len() > before {
        return None;
    }
    match converted {
        Value::Object(map) => Some((map, value)),
        other => {
            problems.push(format!(
                "{key} must be a JSON object, got {}",
                type_name(&other)
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of seed 004, exactly as printed.
    const SEED: &str = include_str!("../../../tests/fixtures/seeds/outofband-event.json");

    #[test]
    fn the_seed_example_is_accepted_as_printed() {
        let event = parse_call_event(SEED).expect("valid");
        assert_eq!(
            event.session_id.as_ref().map(SessionId::as_str),
            Some("abc123")
        );
        assert_eq!(
            event.event_time,
            parse_event_time("2018-10-15T09:00:00Z").expect("time")
        );
        assert_eq!(event.metadata["customerDataField1"], "someData");
        assert_eq!(event.event_id, None);
    }

    #[test]
    fn keys_match_in_any_case_and_the_hash_ignores_key_order() {
        let a = parse_call_event(
            r#"{"sessionID": "s", "eventTime": "2026-11-29T09:00:00Z", "metaData": {"a": 1, "b": 2}}"#,
        )
        .expect("valid");
        let b = parse_call_event(
            r#"{"metadata": {"b": 2, "a": 1}, "EVENTTIME": "2026-11-29T09:00:00Z", "SESSIONID": "s"}"#,
        )
        .expect("valid");
        assert_eq!(a.content_hash, b.content_hash);
        let c = parse_call_event(
            r#"{"sessionId": "s", "eventTime": "2026-11-29T09:00:01Z", "metadata": {"a": 1, "b": 2}}"#,
        )
        .expect("valid");
        assert_ne!(a.content_hash, c.content_hash);
    }

    #[test]
    fn each_problem_is_named() {
        let cases = [
            (r#"{"metadata": {}}"#, "EventTime is required"),
            (
                r#"{"eventTime": "yesterday", "metadata": {}}"#,
                "eventTime must be a date-time",
            ),
            (
                r#"{"eventTime": "2026-11-29T09:00:00Z"}"#,
                "metadata is required",
            ),
            (
                r#"{"eventTime": "2026-11-29T09:00:00Z", "Metadata": [1]}"#,
                "Metadata must be a JSON object, got an array",
            ),
            (
                r#"{"eventTime": "2026-11-29T09:00:00Z", "metadata": {}, "SessionId": "a", "sessionId": "b"}"#,
                "SessionId and sessionId name the same field",
            ),
            (
                r#"{"eventTime": "2026-11-29T09:00:00Z", "metadata": {"a": 1, "a": 2}}"#,
                "metadata has the key a twice",
            ),
            (r#"[1]"#, "request body must be a JSON object, got an array"),
            (r#"{"#, "request body is not valid JSON"),
        ];
        for (body, start) in cases {
            let err = parse_call_event(body).expect_err(body);
            assert!(err.0.starts_with(start), "{body}: {}", err.0);
        }
    }

    #[test]
    fn metadata_size_and_depth_are_bounded() {
        let deep_ok = format!("{}1{}", "{\"a\":".repeat(32), "}".repeat(32));
        let body = format!(r#"{{"eventTime": "2026-11-29T09:00:00Z", "metadata": {deep_ok}}}"#);
        assert!(
            parse_call_event(&body).is_ok(),
            "32 levels with the object itself"
        );
        let deep = format!("{}1{}", "{\"a\":".repeat(33), "}".repeat(33));
        let body = format!(r#"{{"eventTime": "2026-11-29T09:00:00Z", "metadata": {deep}}}"#);
        let err = parse_call_event(&body).expect_err("too deep");
        assert_eq!(err.0, "metadata nests 33 levels deep; at most 32");
        let big = "x".repeat(MAX_METADATA_BYTES);
        let body =
            format!(r#"{{"eventTime": "2026-11-29T09:00:00Z", "metadata": {{"a": "{big}"}}}}"#);
        let err = parse_call_event(&body).expect_err("too big");
        assert!(
            err.0
                .starts_with("metadata is 65544 bytes of JSON; at most 65536"),
            "{}",
            err.0
        );
    }
}
