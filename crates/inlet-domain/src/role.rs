//! What a key may do (DESIGN.md §5).

use std::fmt;

/// A permission carried by an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The six ASAPP write endpoints and call registration.
    Ingest,
    /// Out-of-band call events (Creovai's role name).
    AsyncMetaData,
    /// Reads, exports and the feed.
    Read,
    /// Keys, rules, purge and replay.
    Admin,
}

/// A role name that is not one of inlet's roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleError(pub String);

impl fmt::Display for RoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown role {:?}; the roles are ingest, AsyncMetaData, read and admin",
            self.0
        )
    }
}

impl std::error::Error for RoleError {}

impl Role {
    /// Every role.
    pub const ALL: [Self; 4] = [Self::Ingest, Self::AsyncMetaData, Self::Read, Self::Admin];

    /// The role's name as keys carry it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ingest => "ingest",
            Self::AsyncMetaData => "AsyncMetaData",
            Self::Read => "read",
            Self::Admin => "admin",
        }
    }

    /// Parses a role name, exactly as [`Role::as_str`] spells it.
    pub fn parse(text: &str) -> Result<Self, RoleError> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| RoleError(text.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_every_role_name_and_names_the_bad_one() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        let err = Role::parse("writer").unwrap_err();
        assert!(err.to_string().contains("\"writer\""));
    }
}
