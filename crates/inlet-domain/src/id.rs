//! Identifiers. Each is a newtype with a private field: a value that exists is valid.

use std::fmt;

use crate::field::{ID_MAX_CHARS, is_id_text};

/// Why a text is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError {
    what: &'static str,
    problem: String,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.what, self.problem)
    }
}

impl std::error::Error for IdError {}

fn check_id(what: &'static str, text: &str, max_chars: usize) -> Result<(), IdError> {
    let problem = if text.is_empty() {
        "must not be empty".to_owned()
    } else if text.chars().count() > max_chars {
        format!("must be at most {max_chars} characters")
    } else if !is_id_text(text) {
        "may contain only letters, digits, - and _".to_owned()
    } else {
        return Ok(());
    };
    Err(IdError { what, problem })
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses `text`: letters, digits, `-` and `_`, at least one character.
            pub fn parse(text: impl Into<String>) -> Result<Self, IdError> {
                let text = text.into();
                check_id($what, &text, $max)?;
                Ok(Self(text))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier, consuming `self`.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

id_type!(
    /// The id of one submission: the client's `eventId`, or a UUIDv7 made by the service.
    EventId,
    "eventId",
    ID_MAX_CHARS
);

/// The longest tenant name: short enough to prefix every key in every index.
const TENANT_MAX_CHARS: usize = 64;

id_type!(
    /// The tenant that owns keys and data; every read and write is scoped to one.
    TenantId,
    "tenant",
    TENANT_MAX_CHARS
);

/// The longest api id; generated ids are far shorter.
const API_ID_MAX_CHARS: usize = 64;

id_type!(
    /// The public half of an API key (`asapp-api-id`, OAuth2 `client_id`).
    ApiId,
    "api id",
    API_ID_MAX_CHARS
);

impl EventId {
    /// A fresh UUIDv7, for items sent without an `eventId`.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

/// The external id of a conversation, customer or agent, as the client sent it.
///
/// Already checked against the kind's pattern by item validation; read paths
/// accept any text and simply find nothing for an id that could not exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId(String);

impl EntityId {
    /// Wraps an id taken from a validated item or from a lookup.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for EntityId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_id_accepts_the_id_pattern_and_refuses_others() {
        assert!(EventId::parse("eventId-1388_a").is_ok());
        assert!(EventId::parse("").is_err());
        assert!(EventId::parse("has space").is_err());
        assert!(EventId::parse("x".repeat(256)).is_ok());
        assert!(EventId::parse("x".repeat(257)).is_err());
    }

    #[test]
    fn generated_event_ids_are_valid_and_distinct() {
        let a = EventId::generate();
        let b = EventId::generate();
        assert_ne!(a, b);
        assert!(EventId::parse(a.as_str()).is_ok());
    }

    #[test]
    fn tenant_error_names_the_problem() {
        let err = TenantId::parse("acme corp").unwrap_err();
        assert_eq!(
            err.to_string(),
            "tenant may contain only letters, digits, - and _"
        );
    }
}
