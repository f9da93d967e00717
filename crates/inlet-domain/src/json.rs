//! A JSON value that keeps every key of an object, in order, duplicates included.
//!
//! `serde_json::Value` keeps the last of two equal keys and forgets the first,
//! which would resolve ambiguous data silently. DESIGN.md §3b says an item with
//! a duplicate key fails instead, so items are parsed into [`Json`] first.
//!
//! Keys and strings borrow from the request text where they contain no
//! escapes: validating a batch allocates per item, not per field.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use sha2::{Digest, Sha256};

/// A parsed JSON value whose objects keep every key in the order sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// Any number, exactly as serde_json read it.
    Number(serde_json::Number),
    /// A string.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Json<'a>>),
    /// An object: every key in order, duplicates included.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

/// The text was not one JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(String);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

impl<'a> Json<'a> {
    /// Parses one JSON text. Nesting deeper than serde_json's limit (128) is an error.
    pub fn parse(text: &'a str) -> Result<Self, JsonError> {
        serde_json::from_str(text).map_err(|err| JsonError(err.to_string()))
    }

    /// The name of this value's JSON type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::String(_) => "a string",
            Self::Array(_) => "an array",
            Self::Object(_) => "an object",
        }
    }

    /// The first key that appears twice in one object, searching depth first,
    /// as a path such as `attributes[1].name`.
    pub fn first_duplicate_key(&self) -> Option<String> {
        match self {
            Self::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                item.first_duplicate_key()
                    .map(|path| format!("[{i}]{}", dotted(&path)))
            }),
            Self::Object(entries) => {
                for (i, (key, _)) in entries.iter().enumerate() {
                    if entries[..i].iter().any(|(seen, _)| seen == key) {
                        return Some(key.to_string());
                    }
                }
                entries.iter().find_map(|(key, value)| {
                    value
                        .first_duplicate_key()
                        .map(|path| format!("{key}{}", dotted(&path)))
                })
            }
            _ => None,
        }
    }

    /// Converts to a `serde_json::Value`. Callers check
    /// [`Json::first_duplicate_key`] first; a repeated key keeps its last value.
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Bool(b) => serde_json::Value::Bool(*b),
            Self::Number(n) => serde_json::Value::Number(n.clone()),
            Self::String(s) => serde_json::Value::String(s.to_string()),
            Self::Array(items) => items.iter().map(Self::to_value).collect(),
            Self::Object(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// A SHA-256 of the value's content, independent of key order and
    /// whitespace: two submissions are "the same content" when these match.
    ///
    /// The canonical bytes are written into one buffer and hashed at once:
    /// a hasher update per token cost more than the hashing itself. The
    /// bytes (and so the digests already stored) are those of one update
    /// per token.
    pub fn content_hash(&self, domain: &str) -> [u8; 32] {
        let mut canonical = Vec::with_capacity(1024);
        canonical.extend_from_slice(domain.as_bytes());
        canonical.push(0);
        self.encode_canonical(&mut canonical);
        Sha256::digest(&canonical).into()
    }

    /// Appends the canonical form: a type tag, lengths as little-endian
    /// `u64`, object keys sorted.
    fn encode_canonical(&self, out: &mut Vec<u8>) {
        match self {
            Self::Null => out.push(b'n'),
            Self::Bool(b) => out.push(if *b { b't' } else { b'f' }),
            Self::Number(n) => {
                out.push(b'#');
                encode_str(out, &n.to_string());
            }
            Self::String(s) => {
                out.push(b's');
                encode_str(out, s);
            }
            Self::Array(items) => {
                out.push(b'[');
                out.extend_from_slice(&(items.len() as u64).to_le_bytes());
                items.iter().for_each(|item| item.encode_canonical(out));
            }
            Self::Object(entries) => {
                let mut sorted: Vec<&(Cow<'a, str>, Json<'a>)> = entries.iter().collect();
                sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                out.push(b'{');
                out.extend_from_slice(&(sorted.len() as u64).to_le_bytes());
                for (key, value) in sorted {
                    encode_str(out, key);
                    value.encode_canonical(out);
                }
            }
        }
    }
}

fn encode_str(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn dotted(path: &str) -> String {
    if path.starts_with('[') {
        path.to_owned()
    } else {
        format!(".{path}")
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json<'de>, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some((Key(key), value)) = map.next_entry::<Key<'de>, Json<'de>>()? {
            entries.push((key, value));
        }
        Ok(Json::Object(entries))
    }
}

/// An object key, borrowed when it has no escapes. (serde's own `Cow<str>`
/// always allocates.)
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes_never_change_between_releases() {
        // Stored events keep their hash: a different digest for the same
        // content would turn every resend into a conflict.
        let json = Json::parse(r#"{"b":[1,2.5,"x",null,true],"a":{"z":1,"y":"q"}}"#).expect("json");
        let digest = json.content_hash("d");
        assert_eq!(
            &digest[..8],
            &[0xbc, 0x98, 0x63, 0x34, 0x55, 0xa0, 0x93, 0xd9]
        );
    }
    use proptest::prelude::*;

    #[test]
    fn parse_keeps_duplicate_keys_in_order() {
        let json = Json::parse(r#"{"a":1,"a":2}"#).unwrap();
        let Json::Object(entries) = &json else {
            panic!("not an object")
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(json.first_duplicate_key().as_deref(), Some("a"));
    }

    #[test]
    fn duplicate_key_path_names_nested_position() {
        let json =
            Json::parse(r#"{"attributes":[{"name":"x","value":"1"},{"name":"a","name":"b"}]}"#)
                .unwrap();
        assert_eq!(
            json.first_duplicate_key().as_deref(),
            Some("attributes[1].name")
        );
    }

    #[test]
    fn content_hash_ignores_key_order_and_whitespace() {
        let a = Json::parse(r#"{"a":1,"b":["x",null]}"#).unwrap();
        let b = Json::parse("{ \"b\" : [\"x\", null],\n \"a\": 1 }").unwrap();
        let c = Json::parse(r#"{"a":2,"b":["x",null]}"#).unwrap();
        assert_eq!(a.content_hash("k"), b.content_hash("k"));
        assert_ne!(a.content_hash("k"), c.content_hash("k"));
        assert_ne!(a.content_hash("k"), a.content_hash("other"));
    }

    #[test]
    fn strings_without_escapes_borrow_from_the_text() {
        let json = Json::parse(r#"{"plain":"abc","esc\u0061ped":"x\ny"}"#).unwrap();
        let Json::Object(entries) = json else {
            panic!("not an object")
        };
        assert!(matches!(entries[0].0, Cow::Borrowed("plain")));
        assert!(matches!(&entries[0].1, Json::String(Cow::Borrowed("abc"))));
        assert_eq!(entries[1].0, "escaped");
        assert!(matches!(&entries[1].1, Json::String(Cow::Owned(text)) if text == "x\ny"));
    }

    #[test]
    fn nesting_past_the_limit_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(Json::parse(&deep).is_err());
    }

    proptest! {
        #[test]
        fn to_value_agrees_with_serde_json_without_duplicates(value in arb_value()) {
            let text = value.to_string();
            let json = Json::parse(&text).unwrap();
            prop_assert_eq!(json.first_duplicate_key(), None);
            prop_assert_eq!(json.to_value(), value);
        }
    }

    fn arb_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::Value::Number(n.into())),
            ".{0,8}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
