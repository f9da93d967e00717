//! The field rules of the three ASAPP item kinds, as data.
//!
//! One table per kind, transcribed from the seed specs (conversation,
//! customer) and DESIGN.md §2 (agent). Validation, the OpenAPI document and
//! the import command's local checks all read these tables, so the rules
//! exist exactly once.

use crate::EntityKind;

/// The id pattern of the seeds, anchored (DESIGN.md §3.1).
pub const ID_PATTERN: &str = r"[a-zA-Z0-9\-\_]+";

/// Maximum length of ids and most strings, in characters.
pub(crate) const ID_MAX_CHARS: usize = 256;

/// Which characters a patterned string may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// `[a-zA-Z0-9\-\_]+`
    Id,
    /// `[a-zA-Z0-9\-\_\.]+` (browserVersion)
    IdDot,
    /// `[a-zA-Z0-9\-\_\.\@]+` (externalCustomerId)
    IdDotAt,
    /// `[0-9\-\.\(\)\+]+` (phoneNumber)
    Phone,
    /// `[a-zA-Z0-9-]+` (agent languages)
    Language,
}

impl Charset {
    /// The pattern as the seeds write it.
    pub const fn pattern(self) -> &'static str {
        match self {
            Self::Id => ID_PATTERN,
            Self::IdDot => r"[a-zA-Z0-9\-\_\.]+",
            Self::IdDotAt => r"[a-zA-Z0-9\-\_\.\@]+",
            Self::Phone => r"[0-9\-\.\(\)\+]+",
            Self::Language => "[a-zA-Z0-9-]+",
        }
    }

    /// In words, for error messages.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Id => "letters, digits, - and _",
            Self::IdDot => "letters, digits, -, _ and .",
            Self::IdDotAt => "letters, digits, -, _, . and @",
            Self::Phone => "digits, -, ., (, ) and +",
            Self::Language => "letters, digits and -",
        }
    }

    /// Whether `c` may appear.
    pub fn allows(self, c: char) -> bool {
        let id = c.is_ascii_alphanumeric() || c == '-' || c == '_';
        match self {
            Self::Id => id,
            Self::IdDot => id || c == '.',
            Self::IdDotAt => id || c == '.' || c == '@',
            Self::Phone => c.is_ascii_digit() || "-.()+".contains(c),
            Self::Language => c.is_ascii_alphanumeric() || c == '-',
        }
    }
}

/// Whether `text` is a non-empty id (`[a-zA-Z0-9\-\_]+`, anchored).
pub(crate) fn is_id_text(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| Charset::Id.allows(c))
}

/// What a field's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// A string of `charset` characters, 1 to `max` characters.
    Pattern {
        /// allowed characters
        charset: Charset,
        /// maximum length in characters
        max: usize,
    },
    /// Any string of at most `max` characters.
    Text {
        /// maximum length in characters
        max: usize,
    },
    /// One of a closed set of strings.
    Enum(&'static [&'static str]),
    /// An email address.
    Email,
    /// A UTC date-time ending in `Z` with 0 to 12 fractional digits.
    DateTime,
    /// A JSON integer.
    Integer,
    /// An array of patterned strings.
    List {
        /// allowed characters of each element
        charset: Charset,
        /// maximum length of each element, in characters
        max: usize,
    },
    /// Up to [`MAX_ATTRIBUTES`](crate::Attribute::MAX_PER_ITEM) `{name, value}` pairs.
    Attributes,
}

/// One field of an item kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The JSON key.
    pub name: &'static str,
    /// What the value must be.
    pub rule: FieldRule,
    /// Whether the item fails without it.
    pub required: bool,
    /// One line of documentation, from the seeds.
    pub description: &'static str,
}

const fn id(name: &'static str, description: &'static str) -> FieldSpec {
    pattern(name, Charset::Id, ID_MAX_CHARS, description)
}

const fn pattern(
    name: &'static str,
    charset: Charset,
    max: usize,
    description: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        rule: FieldRule::Pattern { charset, max },
        required: false,
        description,
    }
}

const fn text(name: &'static str, description: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        rule: FieldRule::Text { max: ID_MAX_CHARS },
        required: false,
        description,
    }
}

const fn of(name: &'static str, rule: FieldRule, description: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        rule,
        required: false,
        description,
    }
}

const fn required(spec: FieldSpec) -> FieldSpec {
    FieldSpec {
        required: true,
        ..spec
    }
}

const EVENT_ID: FieldSpec = id(
    "eventId",
    "An event id used to track the submission; if none is provided, service will generate one",
);
const ATTRIBUTES: FieldSpec = of(
    "attributes",
    FieldRule::Attributes,
    "A map of key-value pairs for extra metadata attributes",
);
const EXTERNAL_CONVERSATION_ID: FieldSpec = required(id(
    "externalConversationId",
    "Conversation ID from the external chat / voice system",
));

const DEVICE_TYPES: &[&str] = &["TABLET", "PHONE", "DESKTOP", "WATCH", "OTHER"];
const PLATFORMS: &[&str] = &[
    "SMS",
    "WEB",
    "IOS",
    "ANDROID",
    "APP",
    "LOCAL",
    "VOICE",
    "VOICE_IOS",
    "VOICE_ANDROID",
    "VOICE_ECHO",
    "VOICE_HOMEPOD",
    "VOICE_GGLHOME",
    "VOICE_WEB",
    "APPLEBIZ",
    "GOOGLEBIZ",
    "GBM",
    "WAB",
];
const OPERATING_SYSTEMS: &[&str] = &["MAC_OS", "LINUX", "WINDOWS", "ANDROID", "IOS", "OTHER"];

/// Conversation metadata: seed `000_*` (many-convo-metadata).
const CONVERSATION: &[FieldSpec] = &[
    EXTERNAL_CONVERSATION_ID,
    EVENT_ID,
    id("lobId", "The line of business id"),
    text("lobName", "The descriptive name of the line of business"),
    id("groupId", "The group id of which the agent belong to"),
    text("groupName", "The descriptive name of the group"),
    id("agentRoutingCode", "The agent's routing attribute"),
    id("campaign", "The activities related to the issue"),
    of(
        "deviceType",
        FieldRule::Enum(DEVICE_TYPES),
        "The client's device type",
    ),
    of(
        "platform",
        FieldRule::Enum(PLATFORMS),
        "The client's platform type (WAB: WhatsApp Business)",
    ),
    of(
        "companySegment",
        FieldRule::List {
            charset: Charset::Id,
            max: 64,
        },
        "The company's segment of which the issue belongs to",
    ),
    id(
        "companySubdivision",
        "The company's subdivision of which the issue belongs to",
    ),
    text("businessRule", "The business rule to use"),
    id(
        "entryType",
        "The way the issue started and created in the system",
    ),
    of(
        "operatingSystem",
        FieldRule::Enum(OPERATING_SYSTEMS),
        "The operating system used to enter the issue",
    ),
    pattern("browserType", Charset::Id, 64, "The browser type used"),
    pattern(
        "browserVersion",
        Charset::IdDot,
        16,
        "The browser version used",
    ),
    ATTRIBUTES,
];

/// Customer metadata: seed `002_*` (single-customer-metadata).
const CUSTOMER: &[FieldSpec] = &[
    EXTERNAL_CONVERSATION_ID,
    required(pattern(
        "externalCustomerId",
        Charset::IdDotAt,
        ID_MAX_CHARS,
        "The customer id involved in respect to the issue in question",
    )),
    EVENT_ID,
    id(
        "status",
        "The descriptive label to describe the customer's status and/or type",
    ),
    pattern(
        "phoneNumber",
        Charset::Phone,
        32,
        "The customer's phone number",
    ),
    of(
        "emailAddress",
        FieldRule::Email,
        "The customer's email address",
    ),
    id("userId", "The customer's user Id"),
    pattern(
        "addressCountry",
        Charset::Id,
        128,
        "The country portion of the customer's address",
    ),
    pattern(
        "addressState",
        Charset::Id,
        128,
        "The state portion of the customer's address",
    ),
    pattern(
        "addressZipcode",
        Charset::Id,
        16,
        "The zipcode/postal code portion of the customer's address",
    ),
    ATTRIBUTES,
];

/// Agent metadata: DESIGN.md §2 (ASAPP's public agent endpoints).
const AGENT: &[FieldSpec] = &[
    required(id(
        "externalAgentId",
        "The agent id from the external system",
    )),
    EVENT_ID,
    of(
        "startTs",
        FieldRule::DateTime,
        "When this agent data takes effect",
    ),
    id("lobId", "The line of business id"),
    text("lobName", "The descriptive name of the line of business"),
    id("groupId", "The group id of which the agent belongs to"),
    text("groupName", "The descriptive name of the group"),
    text("agentName", "The agent's name"),
    text("agentLocation", "The agent's location"),
    id("supervisorId", "The agent's supervisor id"),
    text("supervisorName", "The agent's supervisor name"),
    of(
        "languages",
        FieldRule::List {
            charset: Charset::Language,
            max: 16,
        },
        "The languages the agent handles",
    ),
    of(
        "concurrency",
        FieldRule::Integer,
        "How many conversations the agent handles at once",
    ),
    id("categoryLabel", "The agent's category label"),
    id("accountAccessLevel", "The agent's account access level"),
    of("ranking", FieldRule::Integer, "The agent's ranking"),
    text("vendor", "The agent's vendor"),
    id("jobTitle", "The agent's job title"),
    id("jobRole", "The agent's job role"),
    id("workShift", "The agent's work shift"),
    of(
        "emailAddress",
        FieldRule::Email,
        "The agent's email address",
    ),
    ATTRIBUTES,
];

/// The fields of `kind`, required ones first, in the seeds' order.
pub fn fields_of(kind: EntityKind) -> &'static [FieldSpec] {
    match kind {
        EntityKind::Conversation => CONVERSATION,
        EntityKind::Customer => CUSTOMER,
        EntityKind::Agent => AGENT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_requires_its_id_field() {
        for kind in EntityKind::ALL {
            let spec = fields_of(kind)
                .iter()
                .find(|spec| spec.name == kind.id_field())
                .expect("id field listed");
            assert!(spec.required, "{kind}");
        }
    }

    #[test]
    fn field_names_are_unique_per_kind() {
        for kind in EntityKind::ALL {
            let fields = fields_of(kind);
            for (i, spec) in fields.iter().enumerate() {
                assert!(
                    fields[..i].iter().all(|other| other.name != spec.name),
                    "{kind}: {} twice",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn charsets_are_anchored_sets() {
        assert!(Charset::Phone.allows('('));
        assert!(!Charset::Phone.allows('a'));
        assert!(Charset::IdDotAt.allows('@'));
        assert!(!Charset::Id.allows('.'));
        assert!(!Charset::Language.allows('_'));
        assert!(!is_id_text(""));
        assert!(!is_id_text("a b"));
    }
}
