//! How a submission changes the current profile (DESIGN.md §3.7).
//!
//! An absent field leaves the stored value alone, an explicit `null` clears
//! it, `attributes` merge by name, arrays replace. Both store backends call
//! this one function inside their write transaction, so "the profile equals
//! the merge of its history in commit order" holds by construction.

use serde_json::{Map, Value};

use crate::{Attribute, FieldChange, FieldValue};

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
