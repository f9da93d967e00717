//! The id of a call (Creovai's `sessionId`), also used for call groups
//! (`masterCallId`).

use std::fmt;

/// Longest session id, in characters.
pub(crate) const MAX_SESSION_ID_CHARS: usize = 256;

/// A call's id: 1 to 256 letters, digits and `-` `_` `.` `:`. It appears in
/// URLs (`/callevent/v1/calls/{sessionId}`), so nothing that would need
/// escaping there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    /// Parses `text`; on failure, what is wrong with it (without the name of
    /// the field, which the caller knows).
    pub fn parse(text: impl Into<String>) -> Result<Self, String> {
        let text = text.into();
        if text.is_empty() {
            return Err("must not be empty".to_owned());
        }
        let chars = text.chars().count();
        if chars > MAX_SESSION_ID_CHARS {
            return Err(format!(
                "must be at most {MAX_SESSION_ID_CHARS} characters, got {chars}"
            ));
        }
        if let Some(bad) = text.chars().find(|&c| !allowed(c)) {
            return Err(format!(
                "may contain only letters, digits, -, _, . and :, found {bad:?}"
            ));
        }
        Ok(Self(text))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_allow_uuids_and_sip_like_ids_and_nothing_that_needs_escaping() {
        for good in [
            "abc123",
            "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            "call.1:leg-2_b",
        ] {
            assert!(SessionId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "a/b", "a?b", "ü"] {
            assert!(SessionId::parse(bad).is_err(), "{bad}");
        }
        assert!(SessionId::parse("x".repeat(256)).is_ok());
        assert!(SessionId::parse("x".repeat(257)).is_err());
    }
}
