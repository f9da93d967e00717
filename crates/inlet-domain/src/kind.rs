//! The three kinds of entity that metadata describes.

use std::fmt;

/// What an ASAPP metadata item describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// A conversation (issue), keyed by `externalConversationId`.
    Conversation,
    /// A customer, keyed by `externalCustomerId` and linked to a conversation.
    Customer,
    /// An agent, keyed by `externalAgentId`.
    Agent,
}

impl EntityKind {
    /// Every kind, in a fixed order.
    pub const ALL: [Self; 3] = [Self::Conversation, Self::Customer, Self::Agent];

    /// The lowercase name used in stored rows and API answers.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Conversation => "conversation",
            Self::Customer => "customer",
            Self::Agent => "agent",
        }
    }

    /// The inverse of [`EntityKind::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The item field that names the entity.
    pub const fn id_field(self) -> &'static str {
        match self {
            Self::Conversation => "externalConversationId",
            Self::Customer => "externalCustomerId",
            Self::Agent => "externalAgentId",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_inverts_as_str_for_every_kind() {
        for kind in EntityKind::ALL {
            assert_eq!(EntityKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EntityKind::parse("Conversation"), None);
    }
}
