//! From request text to store entries: the top-level shape of a body, and
//! each item validated into an accepted or rejected entry. Pure functions;
//! the handlers in [`ingest`](crate::ingest) call them.

use inlet_domain::{EntityKind, EventId, Json, parse_item};
use inlet_store::{AcceptedItem, IngestEntry, RejectedItem};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::ApiError;

/// Most items in one batch (seed: `maxItems: 1000`).
pub const MAX_BATCH_ITEMS: usize = 1000;

/// Splits a batch body `{"items": [..]}` into its raw items.
///
/// `{}`, a missing or non-array `items`, a repeated `items` key, an unknown
/// top-level key or a non-object body answer 400 `400-01`; an empty list
/// 422 `422-01`; more than [`MAX_BATCH_ITEMS`] 413 `413-02`.
pub(crate) fn split_batch(text: &str) -> Result<Vec<&RawValue>, ApiError> {
    expect_object(text)?;
    let TopLevel(entries) = serde_json::from_str(text).map_err(not_json)?;
    let mut items = None;
    for (key, value) in entries {
        if key != "items" {
            return Err(ApiError::bad_request(format!(
                "unknown top-level field {key:?}; the body must be {{\"items\": [...]}}"
            )));
        }
        if items.replace(value).is_some() {
            return Err(ApiError::bad_request(
                "duplicate key items in the request body",
            ));
        }
    }
    let items = items.ok_or_else(|| {
        ApiError::bad_request("items is required; the body must be {\"items\": [...]}")
    })?;
    let list: Vec<&RawValue> = match json_type(items.get()) {
        "an array" => serde_json::from_str(items.get()).map_err(not_json)?,
        other => {
            return Err(ApiError::bad_request(format!(
                "items must be an array, got {other}"
            )));
        }
    };
    match list.len() {
        0 => Err(ApiError::no_items()),
        n if n > MAX_BATCH_ITEMS => Err(ApiError::too_many_items(n, MAX_BATCH_ITEMS)),
        _ => Ok(list),
    }
}

/// Parses the body of a single-item endpoint: one JSON object.
pub(crate) fn parse_single(text: &str) -> Result<Json<'_>, ApiError> {
    expect_object(text)?;
    Json::parse(text)
        .map_err(|err| ApiError::bad_request(format!("request body is not valid JSON: {err}")))
}

/// Bodies up to this size are parsed on the async worker (well under the
/// ~0.5 ms a worker may be blocked); larger ones, up to the body cap, go to
/// the blocking pool.
const INLINE_PARSE_MAX_BYTES: usize = 64 * 1024;

/// Runs `parse` (of a body of `bytes` bytes) where it blocks nothing: on
/// this worker when the body is small, in the blocking pool otherwise.
pub(crate) async fn parse_off_the_workers<T: Send + 'static>(
    bytes: usize,
    parse: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    if bytes <= INLINE_PARSE_MAX_BYTES {
        return Ok(parse());
    }
    tokio::task::spawn_blocking(parse)
        .await
        .map_err(|err| ApiError::internal(&err))
}

/// `Ok` when `text` is a JSON object; else 400 `400-01` saying what it is.
pub(crate) fn expect_object(text: &str) -> Result<(), ApiError> {
    match json_type(text) {
        "an object" => Ok(()),
        "not JSON" => {
            // Let the parser say where it went wrong.
            let err = serde_json::from_str::<serde::de::IgnoredAny>(text).err();
            Err(ApiError::bad_request(match err {
                Some(err) => format!("request body is not valid JSON: {err}"),
                None => "request body is not valid JSON".to_owned(),
            }))
        }
        other => Err(ApiError::bad_request(format!(
            "request body must be a JSON object, got {other}"
        ))),
    }
}

fn not_json(err: serde_json::Error) -> ApiError {
    ApiError::bad_request(format!("request body is not valid JSON: {err}"))
}

/// The JSON type a text starts with, judged by its first significant byte.
fn json_type(text: &str) -> &'static str {
    match text.trim_start().bytes().next() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') => "a number",
        _ => "not JSON",
    }
}

/// The top-level entries of an object, each value left unparsed.
struct TopLevel<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel<'de>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(TopLevel(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// One item after validation: what to store, and what to answer for it.
#[derive(Debug)]
pub(crate) struct PreparedItem {
    /// The entry for the store.
    pub(crate) entry: IngestEntry,
    /// The eventId answered for the item.
    pub(crate) event_id: EventId,
    /// The validation error answered, if the item failed.
    pub(crate) error: Option<String>,
    /// Warnings answered whatever the outcome.
    pub(crate) warnings: Vec<String>,
}

/// Validates one raw item of a batch.
pub(crate) fn prepare_raw(kind: EntityKind, raw: &str) -> PreparedItem {
    match Json::parse(raw) {
        Ok(json) => prepare(kind, &json, raw),
        Err(err) => reject(
            kind,
            raw,
            None,
            format!("FAIL_BAD_PARAMS: ERROR: item is not valid JSON: {err}"),
            Vec::new(),
        ),
    }
}

/// Validates a parsed item whose text as sent is `raw`.
pub(crate) fn prepare(kind: EntityKind, json: &Json, raw: &str) -> PreparedItem {
    match parse_item(kind, json) {
        Ok(item) => {
            let event_id = item.event_id.clone().unwrap_or_else(EventId::generate);
            let warnings = item.warnings.clone();
            PreparedItem {
                entry: IngestEntry::Accepted(AcceptedItem::new(
                    event_id.clone(),
                    item,
                    raw.to_owned(),
                )),
                event_id,
                error: None,
                warnings,
            }
        }
        Err(err) => {
            let message = err.message();
            reject(kind, raw, err.event_id, message, err.warnings)
        }
    }
}

fn reject(
    kind: EntityKind,
    raw: &str,
    event_id: Option<EventId>,
    message: String,
    warnings: Vec<String>,
) -> PreparedItem {
    let event_id = event_id.unwrap_or_else(EventId::generate);
    let (raw, truncated) = RejectedItem::cap(raw);
    PreparedItem {
        entry: IngestEntry::Rejected(RejectedItem {
            event_id: event_id.clone(),
            kind,
            errors: vec![message.clone()],
            raw,
            truncated,
        }),
        event_id,
        error: Some(message),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<Vec<&RawValue>, ApiError>) -> &'static str {
        result.expect_err("should fail").code()
    }

    #[test]
    fn split_batch_refuses_every_wrong_shape_with_the_right_code() {
        assert_eq!(code(split_batch("{}")), "400-01");
        assert_eq!(code(split_batch("[]")), "400-01");
        assert_eq!(code(split_batch("\"x\"")), "400-01");
        assert_eq!(code(split_batch("{\"items\": {}}")), "400-01");
        assert_eq!(
            code(split_batch("{\"items\": [], \"items\": []}")),
            "400-01"
        );
        assert_eq!(
            code(split_batch("{\"items\": [{}], \"extra\": 1}")),
            "400-01"
        );
        assert_eq!(code(split_batch("{\"items\": [")), "400-01");
        assert_eq!(code(split_batch("{\"items\": []}")), "422-01");
        let many = format!("{{\"items\": [{}]}}", vec!["{}"; 1001].join(","));
        assert_eq!(code(split_batch(&many)), "413-02");
    }

    #[test]
    fn split_batch_keeps_each_item_as_sent() {
        let items = split_batch("{\"items\": [ {\"a\" : 1}, 7 ]}").unwrap();
        let texts: Vec<&str> = items.iter().map(|raw| raw.get()).collect();
        assert_eq!(texts, ["{\"a\" : 1}", "7"]);
    }

    #[test]
    fn prepare_echoes_a_valid_client_event_id_even_when_the_item_fails() {
        let prepared = prepare_raw(EntityKind::Conversation, r#"{"eventId":"e-1","lobId":5}"#);
        assert_eq!(prepared.event_id.as_str(), "e-1");
        assert!(matches!(prepared.entry, IngestEntry::Rejected(_)));
        assert_eq!(
            prepared.error.as_deref(),
            Some(
                "FAIL_BAD_PARAMS: ERROR: externalConversationId is required; \
                 lobId must be a string, got a number"
            )
        );
    }
}
