//! Free-form `{name, value}` attributes, the seeds' extension point.

use std::borrow::Cow;

use crate::Json;
use crate::item::Element;

/// One named attribute of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute's name, unique within an item.
    pub name: String,
    /// The attribute's value.
    pub value: String,
}

impl Attribute {
    /// Most attributes in one item (seed: `maxItems: 10`).
    pub const MAX_PER_ITEM: usize = 10;
    /// Longest name in characters (seed: `maxLength: 256`).
    pub const NAME_MAX_CHARS: usize = 256;
    /// Longest value in characters (seed: `maxLength: 1024`).
    pub const VALUE_MAX_CHARS: usize = 1024;

    /// Parses the `attributes` array of an item, collecting every problem and
    /// naming unknown keys inside an attribute as warnings.
    pub(crate) fn parse_list(
        field: &str,
        value: &Json,
        problems: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Option<Vec<Self>> {
        let Json::Array(entries) = value else {
            problems.push(format!(
                "{field} must be an array of {{name, value}} objects, got {}",
                value.type_name()
            ));
            return None;
        };
        let before = problems.len();
        if entries.len() > Self::MAX_PER_ITEM {
            problems.push(format!(
                "{field} must have at most {} entries, got {}",
                Self::MAX_PER_ITEM,
                entries.len()
            ));
        }
        let mut parsed: Vec<Self> = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let at = Element {
                list: field,
                index: i,
            };
            if let Some(attribute) = Self::parse_one(at, entry, problems, warnings) {
                if parsed.iter().any(|seen| seen.name == attribute.name) {
                    problems.push(format!(
                        "{at}.name repeats an earlier attribute name (each name may appear once)"
                    ));
                }
                parsed.push(attribute);
            }
        }
        (problems.len() == before).then_some(parsed)
    }

    fn parse_one(
        at: Element<'_>,
        entry: &Json,
        problems: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Option<Self> {
        let Json::Object(keys) = entry else {
            problems.push(format!(
                "{at} must be an object with name and value, got {}",
                entry.type_name()
            ));
            return None;
        };
        for (key, _) in keys {
            if key != "name" && key != "value" {
                warnings.push(format!("unknown field {at}.{key}"));
            }
        }
        let name = Self::string(at, "name", keys, Self::NAME_MAX_CHARS, problems);
        let value = Self::string(at, "value", keys, Self::VALUE_MAX_CHARS, problems);
        if name.as_deref() == Some("") {
            problems.push(format!("{at}.name must not be empty"));
            return None;
        }
        Some(Self {
            name: name?,
            value: value?,
        })
    }

    fn string(
        at: Element<'_>,
        key: &str,
        keys: &[(Cow<'_, str>, Json<'_>)],
        max: usize,
        problems: &mut Vec<String>,
    ) -> Option<String> {
        match keys.iter().find(|(k, _)| k == key).map(|(_, v)| v) {
            None | Some(Json::Null) => {
                problems.push(format!("{at}.{key} is required"));
                None
            }
            Some(Json::String(text)) => {
                let chars = text.chars().count();
                if chars > max {
                    problems.push(format!(
                        "{at}.{key} must be at most {max} characters, got {chars}"
                    ));
                    return None;
                }
                Some(text.to_string())
            }
            Some(other) => {
                problems.push(format!(
                    "{at}.{key} must be a string, got {}",
                    other.type_name()
                ));
                None
            }
        }
    }
}
