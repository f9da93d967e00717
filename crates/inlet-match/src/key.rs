//! Keys: the normalised values a rule compares, on the call side and on the
//! event side, in one space so that a store can index both and look one up
//! from the other.
//!
//! A key's `kind` names the call field and the normalisation
//! (`customerPhoneNumber~digits`): rules comparing the same call field the
//! same way share a call's keys, so a call has one key per distinct pair
//! among the rules, not one per rule.

use serde_json::{Map, Value};

use crate::call::{pointed, scalars};
use crate::{Call, CallField, Normalize, Rule, RuleSet};

/// Longest value that can match, in bytes after normalisation; longer
/// values are not indexed (and so never match).
pub const MAX_KEY_BYTES: usize = 512;

/// One comparable value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// `<callField>~<normalize>`.
    pub kind: String,
    /// The normalised value.
    pub value: String,
}

impl Key {
    /// The kind of key `rule` compares.
    pub fn kind_of(rule: &Rule) -> String {
        kind(&rule.call_field, rule.normalize)
    }
}

fn kind(field: &CallField, normalize: Normalize) -> String {
    format!("{}~{}", field.name(), normalize.name())
}

fn normalised(
    values: Vec<String>,
    normalize: Normalize,
    kind: String,
) -> impl Iterator<Item = Key> {
    values
        .into_iter()
        .filter_map(move |value| normalize.apply(&value))
        .filter(|value| value.len() <= MAX_KEY_BYTES)
        .map(move |value| Key {
            kind: kind.clone(),
            value,
        })
}

/// The keys of `call` under `rules`, sorted and without repeats.
pub fn call_keys(call: &Call, rules: &RuleSet) -> Vec<Key> {
    let mut pairs: Vec<(&CallField, Normalize)> = rules
        .rules()
        .iter()
        .map(|rule| (&rule.call_field, rule.normalize))
        .collect();
    pairs.sort();
    pairs.dedup();
    let mut keys: Vec<Key> = pairs
        .into_iter()
        .flat_map(|(field, normalize)| {
            normalised(call.values(field), normalize, kind(field, normalize))
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The keys of an event's `metadata` under each rule, in rule order: the
/// rule's name and the keys it looks up (none when the metadata lacks the
/// rule's field).
pub fn event_keys<'r>(
    metadata: &Map<String, Value>,
    rules: &'r RuleSet,
) -> Vec<(&'r Rule, Vec<Key>)> {
    rules
        .rules()
        .iter()
        .map(|rule| {
            let values = pointed(metadata, &rule.event_field)
                .map(scalars)
                .unwrap_or_default();
            if values.is_empty() {
                // Most events carry the fields of a few rules only.
                return (rule, Vec::new());
            }
            let mut keys: Vec<Key> =
                normalised(values, rule.normalize, Key::kind_of(rule)).collect();
            keys.sort();
            keys.dedup();
            (rule, keys)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{parse_call, parse_rules};

    #[test]
    fn rules_on_the_same_field_and_normalisation_share_a_call_key() {
        let rules = parse_rules(&json!({"rules": [
            {"name": "a", "eventField": "/ani", "callField": "customerPhoneNumber", "normalize": "digits"},
            {"name": "b", "eventField": "/phone", "callField": "customerPhoneNumber", "normalize": "digits"},
            {"name": "c", "eventField": "/crm", "callField": "metaData/crm", "normalize": "caseInsensitive"}
        ]}))
        .expect("rules");
        let call = parse_call(
            r#"{"sessionId": "s", "startTime": "2026-11-29T09:00:00Z",
                "contacts": [{"type": "customer", "phoneNumber": "+1 555-0100"}],
                "metaData": {"crm": "CASE-7"}}"#,
        )
        .expect("call");
        let keys = call_keys(&call, &rules);
        assert_eq!(
            keys,
            [
                Key {
                    kind: "customerPhoneNumber~digits".into(),
                    value: "15550100".into()
                },
                Key {
                    kind: "metaData/crm~caseInsensitive".into(),
                    value: "case-7".into()
                },
            ]
        );
        let metadata = json!({"phone": "(1) 555 0100", "crm": "Case-7"});
        let events = event_keys(metadata.as_object().expect("object"), &rules);
        let found: Vec<(&str, usize)> = events
            .iter()
            .map(|(r, k)| (r.name.as_str(), k.len()))
            .collect();
        assert_eq!(found, [("a", 0), ("b", 1), ("c", 1)]);
        assert_eq!(events[1].1[0], keys[0], "the event looks up the call's key");
        assert_eq!(events[2].1[0], keys[1]);
    }
}
