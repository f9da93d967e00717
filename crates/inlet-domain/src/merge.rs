//! How a submission changes the current profile (DESIGN.md §3.7).
//!
//! An absent field leaves the stored value alone, an explicit `null` clears
//! it, `attributes` merge by name, arrays replace. Both store backends call
//! this one function inside their write transaction, so "the profile equals
//! the merge of its history in commit order" holds by construction.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use crate::{Attribute, FieldChange, FieldValue};

/// The profile (a JSON object text) that `changes` give an entity seen for
/// the first time: the same as [`merge_into`] an empty profile, written
/// straight from the changes without building a map. Validated items name
/// each field at most once, which is what makes the shortcut exact.
pub fn new_profile_json(changes: &[FieldChange]) -> String {
    // Room for a typical profile (well under 1 KiB) in one allocation.
    let mut text = Vec::with_capacity(1024);
    // Serialising strings, integers and string lists into a Vec cannot fail.
    if serde_json::to_writer(&mut text, &NewProfile(changes)).is_err() {
        return "{}".to_owned();
    }
    // serde_json writes UTF-8 only.
    String::from_utf8(text).unwrap_or_else(|_| "{}".to_owned())
}

struct NewProfile<'a>(&'a [FieldChange]);

impl Serialize for NewProfile<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for change in self.0 {
            match &change.value {
                FieldValue::Clear => {}
                FieldValue::Text(text) => map.serialize_entry(change.name, text)?,
                FieldValue::Integer(n) => map.serialize_entry(change.name, n)?,
                FieldValue::List(items) => map.serialize_entry(change.name, items)?,
                FieldValue::Attributes(list) => {
                    map.serialize_entry(change.name, &AttributeList(list))?;
                }
            }
        }
        map.end()
    }
}

struct AttributeList<'a>(&'a [Attribute]);

impl Serialize for AttributeList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for attribute in self.0 {
            seq.serialize_element(&StoredAttribute(attribute))?;
        }
        seq.end()
    }
}

/// An attribute as a profile stores it: `{"name": …, "value": …}`, the
/// same text `merge_into` gives, without building a map per attribute.
struct StoredAttribute<'a>(&'a Attribute);

impl Serialize for StoredAttribute<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("name", &self.0.name)?;
        map.serialize_entry("value", &self.0.value)?;
        map.end()
    }
}

/// Applies `changes` to `profile` in order.
pub fn merge_into(profile: &mut Map<String, Value>, changes: &[FieldChange]) {
    for change in changes {
        let name = change.name;
        match &change.value {
            FieldValue::Clear => {
                profile.remove(name);
            }
            FieldValue::Text(text) => {
                profile.insert(name.to_owned(), Value::String(text.clone()));
            }
            FieldValue::Integer(n) => {
                profile.insert(name.to_owned(), Value::from(*n));
            }
            FieldValue::List(items) => {
                profile.insert(name.to_owned(), Value::from(items.clone()));
            }
            FieldValue::Attributes(attributes) => {
                let stored = profile
                    .entry(name.to_owned())
                    .or_insert_with(|| Value::Array(Vec::new()));
                merge_attributes(stored, attributes);
            }
        }
    }
}

/// Replaces attributes of the same name in place and appends new ones.
fn merge_attributes(stored: &mut Value, incoming: &[Attribute]) {
    if !stored.is_array() {
        *stored = Value::Array(Vec::new());
    }
    let Value::Array(list) = stored else {
        return;
    };
    for attribute in incoming {
        let entry = serde_json::json!({"name": attribute.name, "value": attribute.value});
        let existing = list
            .iter_mut()
            .find(|old| old.get("name").and_then(Value::as_str) == Some(attribute.name.as_str()));
        match existing {
            Some(old) => *old = entry,
            None => list.push(entry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EntityKind, Json, parse_item};
    use serde_json::json;

    fn apply(profile: &mut Map<String, Value>, item: &str) {
        let item = parse_item(EntityKind::Conversation, &Json::parse(item).unwrap()).unwrap();
        merge_into(profile, &item.changes);
    }

    #[test]
    fn absent_leaves_null_clears_and_text_replaces() {
        let mut profile = Map::new();
        apply(
            &mut profile,
            r#"{"externalConversationId":"c","lobId":"a","campaign":"x"}"#,
        );
        apply(
            &mut profile,
            r#"{"externalConversationId":"c","lobId":null,"groupId":"g"}"#,
        );
        assert_eq!(
            Value::Object(profile),
            json!({"campaign":"x","groupId":"g"})
        );
    }

    #[test]
    fn attributes_merge_by_name_and_arrays_replace() {
        let mut profile = Map::new();
        apply(
            &mut profile,
            r#"{"externalConversationId":"c","companySegment":["A","B"],
                "attributes":[{"name":"a","value":"1"},{"name":"b","value":"2"}]}"#,
        );
        apply(
            &mut profile,
            r#"{"externalConversationId":"c","companySegment":["C"],
                "attributes":[{"name":"b","value":"3"},{"name":"c","value":"4"}]}"#,
        );
        assert_eq!(
            Value::Object(profile),
            json!({
                "companySegment": ["C"],
                "attributes": [
                    {"name":"a","value":"1"},
                    {"name":"b","value":"3"},
                    {"name":"c","value":"4"}
                ]
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn new_profile_json_equals_merging_into_an_empty_profile(
            fields in proptest::collection::vec(
                (0usize..6, proptest::option::of("[a-z]{1,6}")), 0..6)
        ) {
            let names = ["lobId", "campaign", "groupName", "companySegment", "attributes", "platform"];
            let mut item = serde_json::Map::new();
            item.insert("externalConversationId".into(), "c".into());
            for (index, value) in fields {
                let value = match (names[index], value) {
                    (_, None) => Value::Null,
                    ("companySegment", Some(v)) => json!([v, "x"]),
                    ("attributes", Some(v)) => json!([{"name": format!("a-{v}"), "value": "1"}, {"name": "z", "value": v}]),
                    ("platform", Some(_)) => json!("WEB"),
                    (_, Some(v)) => json!(v),
                };
                item.insert(names[index].into(), value);
            }
            let text = Value::Object(item).to_string();
            let parsed = parse_item(EntityKind::Conversation, &Json::parse(&text).unwrap()).unwrap();
            let mut merged = Map::new();
            merge_into(&mut merged, &parsed.changes);
            let direct: Value = serde_json::from_str(&new_profile_json(&parsed.changes)).unwrap();
            proptest::prop_assert_eq!(direct, Value::Object(merged));
        }
    }

    #[test]
    fn null_attributes_clear_all_of_them() {
        let mut profile = Map::new();
        apply(
            &mut profile,
            r#"{"externalConversationId":"c","attributes":[{"name":"a","value":"1"}]}"#,
        );
        apply(
            &mut profile,
            r#"{"externalConversationId":"c","attributes":null}"#,
        );
        assert!(profile.is_empty());
    }
}
