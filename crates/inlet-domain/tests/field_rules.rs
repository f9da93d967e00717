//! Every field rule of the three ASAPP item kinds, exercised through the public
//! API only: `parse_item` over [`Json`], with the rules read from `fields_of`
//! so that no field can be skipped by forgetting to list it here.
//!
//! The contract is DESIGN.md §2, §3 and §3b and the seed specs: patterns are
//! anchored, lengths count Unicode characters, an item reports every problem
//! joined with `; `, unknown fields are warnings, explicit `null` clears.

use inlet_domain::{
    Attribute, EntityKind, FieldRule, FieldSpec, FieldValue, ItemError, Json, NewItem, check_item,
    fields_of, parse_item,
};
use proptest::prelude::*;
use std::borrow::Cow;

// ---------------------------------------------------------------------------
// helpers

const PREFIX: &str = "FAIL_BAD_PARAMS: ERROR: ";

/// The seed examples, as the seed files print them (tests/fixtures/seeds).
const SEED_MANY_CONVO: &str =
    include_str!("../../../tests/fixtures/seeds/many-convo-metadata.json");
const SEED_MANY_CUSTOMER: &str =
    include_str!("../../../tests/fixtures/seeds/many-customer-metadata.json");
const SEED_SINGLE_CUSTOMER: &str =
    include_str!("../../../tests/fixtures/seeds/single-customer-metadata.json");

/// The text of the `items` array of a seed batch body.
fn seed_items_text(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        items: Box<serde_json::value::RawValue>,
    }
    let body: Body = serde_json::from_str(body).expect("seed body");
    body.items.get().to_owned()
}

/// The text of item `index` of a seed batch body.
fn seed_item(body: &str, index: usize) -> String {
    let items: Vec<Box<serde_json::value::RawValue>> =
        serde_json::from_str(&seed_items_text(body)).expect("seed items");
    items[index].get().to_owned()
}

fn parse(text: &str) -> Json<'_> {
    Json::parse(text).unwrap_or_else(|err| panic!("test JSON {text:?} does not parse: {err}"))
}

fn string(text: impl Into<String>) -> Json<'static> {
    Json::String(Cow::Owned(text.into()))
}

fn int(n: i64) -> Json<'static> {
    Json::Number(n.into())
}

fn array(items: impl IntoIterator<Item = Json<'static>>) -> Json<'static> {
    Json::Array(items.into_iter().collect())
}

fn object(entries: &[(&str, Json<'static>)]) -> Json<'static> {
    Json::Object(
        entries
            .iter()
            .map(|(key, value)| (Cow::Owned((*key).to_owned()), value.clone()))
            .collect(),
    )
}

/// The smallest valid item of `kind`: its required fields only.
fn minimal(kind: EntityKind) -> Vec<(Cow<'static, str>, Json<'static>)> {
    let pairs: &[(&str, &str)] = match kind {
        EntityKind::Conversation => &[("externalConversationId", "conv-1")],
        EntityKind::Customer => &[
            ("externalConversationId", "conv-1"),
            ("externalCustomerId", "cust-1"),
        ],
        EntityKind::Agent => &[("externalAgentId", "agent-1")],
    };
    pairs
        .iter()
        .map(|(key, value)| (Cow::Owned((*key).to_owned()), string(*value)))
        .collect()
}

/// The minimal item of `kind` with `name` set to `value` (replacing a
/// required field in place, appending any other).
fn item_with(kind: EntityKind, name: &str, value: Json<'static>) -> Json<'static> {
    let mut entries = minimal(kind);
    match entries.iter_mut().find(|(key, _)| key == name) {
        Some(entry) => entry.1 = value,
        None => entries.push((Cow::Owned(name.to_owned()), value)),
    }
    Json::Object(entries)
}

fn item_without(kind: EntityKind, name: &str) -> Json<'static> {
    let mut entries = minimal(kind);
    entries.retain(|(key, _)| key != name);
    Json::Object(entries)
}

#[track_caller]
fn accept(kind: EntityKind, item: &Json) -> NewItem {
    match parse_item(kind, item) {
        Ok(parsed) => parsed,
        Err(err) => panic!("{kind} item {item:?} was refused: {}", err.message()),
    }
}

#[track_caller]
fn refuse(kind: EntityKind, item: &Json) -> ItemError {
    match parse_item(kind, item) {
        Ok(parsed) => panic!("{kind} item {item:?} was accepted: {parsed:?}"),
        Err(err) => {
            assert!(!err.problems.is_empty(), "refused without a problem");
            err
        }
    }
}

/// Refuses `item` and returns its message, checking the seed's prefix.
#[track_caller]
fn refused_message(kind: EntityKind, item: &Json) -> String {
    let message = refuse(kind, item).message();
    assert!(message.starts_with(PREFIX), "{message}");
    message
}

/// Asserts that the only problem of `item` is about field `name`.
#[track_caller]
fn assert_refused_naming(kind: EntityKind, item: &Json, name: &str) -> String {
    let err = refuse(kind, item);
    assert_eq!(err.problems.len(), 1, "{kind}.{name}: {:?}", err.problems);
    let problem = &err.problems[0];
    assert!(
        problem.starts_with(&format!("{name} ")),
        "{kind}: problem does not start with the field {name}: {problem}"
    );
    err.message()
}

/// The text value an accepted item gives field `name`, wherever it lands.
fn text_of(item: &NewItem, name: &str) -> Option<String> {
    if name == item.kind.id_field() {
        return Some(item.entity_id.as_str().to_owned());
    }
    if name == "externalConversationId" {
        return item
            .conversation_id
            .as_ref()
            .map(|id| id.as_str().to_owned());
    }
    if name == "eventId" {
        return item.event_id.as_ref().map(|id| id.as_str().to_owned());
    }
    item.changes
        .iter()
        .find(|change| change.name == name)
        .and_then(|change| match &change.value {
            FieldValue::Text(text) => Some(text.clone()),
            _ => None,
        })
}

fn change_of<'a>(item: &'a NewItem, name: &str) -> Option<&'a FieldValue> {
    item.changes
        .iter()
        .find(|change| change.name == name)
        .map(|change| &change.value)
}

/// Every (kind, field) pair.
fn all_fields() -> impl Iterator<Item = (EntityKind, &'static FieldSpec)> {
    EntityKind::ALL
        .into_iter()
        .flat_map(|kind| fields_of(kind).iter().map(move |spec| (kind, spec)))
}

/// Printable ASCII characters that `allows` accepts, in code order.
fn alphabet(allows: impl Fn(char) -> bool) -> Vec<char> {
    (' '..='~').filter(|&c| allows(c)).collect()
}

/// A string of `len` characters cycling through `chars`.
fn cycled(chars: &[char], len: usize) -> String {
    chars.iter().cycle().take(len).collect()
}

/// For a patterned rule (Pattern or List): its allowed ASCII characters and
/// its maximum length; `None` for other rules.
fn pattern_of(rule: FieldRule) -> Option<(Vec<char>, usize)> {
    match rule {
        FieldRule::Pattern { charset, max } | FieldRule::List { charset, max } => {
            Some((alphabet(|c| charset.allows(c)), max))
        }
        _ => None,
    }
}

/// An email address of exactly `len` characters (`len` ≥ 6), valid in form.
fn email_of_length(len: usize) -> String {
    // local part of 64 (the RFC limit), then labels of at most 63.
    let local = "l".repeat(64);
    let mut domain = String::new();
    let mut remaining = len - local.len() - 1;
    let mut label = b'a';
    while remaining > 0 {
        if !domain.is_empty() {
            domain.push('.');
            remaining -= 1;
        }
        let take = remaining.min(63);
        domain.extend(std::iter::repeat_n(char::from(label), take));
        remaining -= take;
        label += 1;
    }
    let email = format!("{local}@{domain}");
    assert_eq!(email.chars().count(), len);
    email
}

/// An ASAPP date-time with `digits` fractional digits.
fn timestamp_with_fraction(digits: usize) -> String {
    if digits == 0 {
        "2022-07-08T11:15:53Z".to_owned()
    } else {
        let fraction = cycled(&['2', '3', '7', '5', '1', '9'], digits);
        format!("2022-07-08T11:15:53.{fraction}Z")
    }
}

fn attribute(name: &str, value: &str) -> Json<'static> {
    object(&[("name", string(name)), ("value", string(value))])
}

fn attributes(count: usize) -> Json<'static> {
    array((0..count).map(|i| attribute(&format!("attr{i}"), &format!("value{i}"))))
}

/// A string nested in `depth` arrays: `[[["x"]]]`.
fn nested_array(depth: usize) -> Json<'static> {
    (0..depth).fold(string("x"), |inner, _| array([inner]))
}

/// Values at a field's boundary: the last accepted ones and the first refused ones.
struct Boundary {
    pass: Vec<Json<'static>>,
    fail: Vec<Json<'static>>,
}

/// The boundary of every rule. The match has no catch-all arm: a new rule
/// does not compile until it has a boundary here.
fn boundary(spec: &FieldSpec) -> Boundary {
    match spec.rule {
        FieldRule::Pattern { charset, max } => {
            let chars = alphabet(|c| charset.allows(c));
            Boundary {
                pass: vec![string(cycled(&chars, max)), string(cycled(&chars, 1))],
                fail: vec![string(cycled(&chars, max + 1)), string("")],
            }
        }
        FieldRule::Text { max } => Boundary {
            pass: vec![
                string("x".repeat(max)),
                string("é".repeat(max)),
                string("日".repeat(max)),
                string(""),
            ],
            fail: vec![string("x".repeat(max + 1)), string("日".repeat(max + 1))],
        },
        FieldRule::Enum(options) => Boundary {
            pass: options.iter().map(|option| string(*option)).collect(),
            fail: options
                .iter()
                .map(|option| string(option.to_lowercase()))
                .chain(options.iter().map(|option| string(format!("{option} "))))
                .collect(),
        },
        FieldRule::Email => Boundary {
            pass: vec![string(email_of_length(254)), string("a@example.com")],
            fail: vec![string(email_of_length(255)), string("not-an-email")],
        },
        FieldRule::DateTime => Boundary {
            pass: vec![
                string(timestamp_with_fraction(12)),
                string(timestamp_with_fraction(0)),
            ],
            fail: vec![
                string(timestamp_with_fraction(13)),
                string("2022-07-08T11:15:53+00:00"),
            ],
        },
        FieldRule::Integer => Boundary {
            pass: vec![int(i64::MAX), int(i64::MIN), int(0)],
            fail: vec![
                Json::Number((i64::MAX as u64 + 1).into()),
                parse("3.5"),
                parse("-9223372036854775809"),
            ],
        },
        FieldRule::List { charset, max } => {
            let chars = alphabet(|c| charset.allows(c));
            Boundary {
                pass: vec![
                    array([string(cycled(&chars, max)), string(cycled(&chars, 1))]),
                    array([]),
                ],
                fail: vec![
                    array([string(cycled(&chars, max + 1))]),
                    array([string(cycled(&chars, 1)), string("")]),
                ],
            }
        }
        FieldRule::Attributes => Boundary {
            pass: vec![attributes(Attribute::MAX_PER_ITEM), attributes(0)],
            fail: vec![attributes(Attribute::MAX_PER_ITEM + 1)],
        },
    }
}

/// Values of the wrong JSON type for `rule`.
fn wrong_types(rule: FieldRule) -> Vec<Json<'static>> {
    let nested = nested_array(100);
    let some_object = object(&[("a", string("b"))]);
    match rule {
        FieldRule::Pattern { .. }
        | FieldRule::Text { .. }
        | FieldRule::Enum(_)
        | FieldRule::Email
        | FieldRule::DateTime => vec![
            int(5),
            parse("3.5"),
            Json::Bool(true),
            array([string("x")]),
            array([]),
            some_object,
            object(&[]),
            nested,
        ],
        FieldRule::Integer => vec![
            string("3"),
            string(""),
            Json::Bool(false),
            array([int(3)]),
            some_object,
            nested,
        ],
        FieldRule::List { .. } | FieldRule::Attributes => vec![
            string("x"),
            int(5),
            Json::Bool(true),
            some_object,
            object(&[]),
        ],
    }
}

// ---------------------------------------------------------------------------
// the field tables themselves

#[test]
fn every_kind_lists_its_id_field_as_required_and_first() {
    for kind in EntityKind::ALL {
        let fields = fields_of(kind);
        let id = fields
            .iter()
            .find(|spec| spec.name == kind.id_field())
            .unwrap_or_else(|| panic!("{kind} has no {}", kind.id_field()));
        assert!(id.required);
        let first_optional = fields.iter().position(|spec| !spec.required).unwrap();
        assert!(
            fields[first_optional..].iter().all(|spec| !spec.required),
            "{kind}: required fields come first"
        );
    }
}

#[test]
fn field_tables_match_the_seeds_and_the_design() {
    let names = |kind| -> Vec<&str> { fields_of(kind).iter().map(|spec| spec.name).collect() };
    assert_eq!(
        names(EntityKind::Conversation),
        [
            "externalConversationId",
            "eventId",
            "lobId",
            "lobName",
            "groupId",
            "groupName",
            "agentRoutingCode",
            "campaign",
            "deviceType",
            "platform",
            "companySegment",
            "companySubdivision",
            "businessRule",
            "entryType",
            "operatingSystem",
            "browserType",
            "browserVersion",
            "attributes",
        ]
    );
    assert_eq!(
        names(EntityKind::Customer),
        [
            "externalConversationId",
            "externalCustomerId",
            "eventId",
            "status",
            "phoneNumber",
            "emailAddress",
            "userId",
            "addressCountry",
            "addressState",
            "addressZipcode",
            "attributes",
        ]
    );
    assert_eq!(
        names(EntityKind::Agent),
        [
            "externalAgentId",
            "eventId",
            "startTs",
            "lobId",
            "lobName",
            "groupId",
            "groupName",
            "agentName",
            "agentLocation",
            "supervisorId",
            "supervisorName",
            "languages",
            "concurrency",
            "categoryLabel",
            "accountAccessLevel",
            "ranking",
            "vendor",
            "jobTitle",
            "jobRole",
            "workShift",
            "emailAddress",
            "attributes",
        ]
    );
}

#[test]
fn maximum_lengths_match_the_seeds() {
    let expected: &[(EntityKind, &str, usize)] = &[
        (EntityKind::Conversation, "externalConversationId", 256),
        (EntityKind::Conversation, "lobName", 256),
        (EntityKind::Conversation, "businessRule", 256),
        (EntityKind::Conversation, "companySegment", 64),
        (EntityKind::Conversation, "browserType", 64),
        (EntityKind::Conversation, "browserVersion", 16),
        (EntityKind::Customer, "externalCustomerId", 256),
        (EntityKind::Customer, "phoneNumber", 32),
        (EntityKind::Customer, "addressCountry", 128),
        (EntityKind::Customer, "addressState", 128),
        (EntityKind::Customer, "addressZipcode", 16),
        (EntityKind::Agent, "externalAgentId", 256),
        (EntityKind::Agent, "agentName", 256),
        (EntityKind::Agent, "languages", 16),
        (EntityKind::Agent, "workShift", 256),
    ];
    for &(kind, name, max) in expected {
        let spec = fields_of(kind).iter().find(|s| s.name == name).unwrap();
        let actual = match spec.rule {
            FieldRule::Pattern { max, .. }
            | FieldRule::Text { max }
            | FieldRule::List { max, .. } => max,
            other => panic!("{kind}.{name} has rule {other:?}"),
        };
        assert_eq!(actual, max, "{kind}.{name}");
    }
}

#[test]
fn free_text_fields_are_exactly_the_ones_the_seeds_leave_unpatterned() {
    let text_fields = |kind| -> Vec<&str> {
        fields_of(kind)
            .iter()
            .filter(|spec| matches!(spec.rule, FieldRule::Text { .. }))
            .map(|spec| spec.name)
            .collect()
    };
    assert_eq!(
        text_fields(EntityKind::Conversation),
        ["lobName", "groupName", "businessRule"]
    );
    assert!(text_fields(EntityKind::Customer).is_empty());
    assert_eq!(
        text_fields(EntityKind::Agent),
        [
            "lobName",
            "groupName",
            "agentName",
            "agentLocation",
            "supervisorName",
            "vendor",
        ]
    );
}

// ---------------------------------------------------------------------------
// every field of every kind: boundaries

#[test]
fn every_field_of_every_kind_accepts_its_last_valid_value_and_refuses_the_first_invalid_one() {
    let mut checked = 0;
    for (kind, spec) in all_fields() {
        let Boundary { pass, fail } = boundary(spec);
        assert!(!pass.is_empty() && !fail.is_empty(), "{kind}.{}", spec.name);
        for value in pass {
            let item = accept(kind, &item_with(kind, spec.name, value));
            assert!(item.warnings.is_empty(), "{:?}", item.warnings);
        }
        for value in fail {
            let item = item_with(kind, spec.name, value);
            let err = refuse(kind, &item);
            assert!(
                err.problems.iter().all(|p| p.starts_with(spec.name)),
                "{kind}.{}: {:?}",
                spec.name,
                err.problems
            );
        }
        checked += 1;
    }
    let total: usize = EntityKind::ALL.iter().map(|&k| fields_of(k).len()).sum();
    assert_eq!(checked, total);
    assert_eq!(total, 18 + 11 + 22);
}

#[test]
fn every_patterned_field_accepts_its_max_length_and_refuses_one_more_naming_the_field() {
    for (kind, spec) in all_fields() {
        let FieldRule::Pattern { charset, max } = spec.rule else {
            continue;
        };
        let chars = alphabet(|c| charset.allows(c));
        let at_max = cycled(&chars, max);
        let item = accept(kind, &item_with(kind, spec.name, string(at_max.clone())));
        assert_eq!(
            text_of(&item, spec.name).as_deref(),
            Some(at_max.as_str()),
            "{kind}.{}",
            spec.name
        );

        let over = cycled(&chars, max + 1);
        let message =
            assert_refused_naming(kind, &item_with(kind, spec.name, string(over)), spec.name);
        assert_eq!(
            message,
            format!(
                "{PREFIX}{} must be at most {max} characters, got {}",
                spec.name,
                max + 1
            )
        );
    }
}

#[test]
fn every_patterned_field_refuses_multibyte_characters_naming_the_field() {
    for (kind, spec) in all_fields() {
        let FieldRule::Pattern { charset, max } = spec.rule else {
            continue;
        };
        let valid = alphabet(|c| charset.allows(c));
        for bad in ['é', '日', '😀', 'Ａ', '١'] {
            // exactly max characters, so length is not the problem
            let whole = bad.to_string().repeat(max);
            let message =
                assert_refused_naming(kind, &item_with(kind, spec.name, string(whole)), spec.name);
            assert!(message.contains("may contain only"), "{message}");
            assert!(message.contains(&format!("found {bad:?}")), "{message}");
            assert!(message.contains(charset.pattern()), "{message}");

            // one bad character hidden among valid ones
            let mut mixed = cycled(&valid, max - 1);
            mixed.insert(mixed.len() / 2, bad);
            assert_refused_naming(kind, &item_with(kind, spec.name, string(mixed)), spec.name);
        }
    }
}

#[test]
fn every_patterned_field_reports_both_length_and_character_problems() {
    for (kind, spec) in all_fields() {
        let FieldRule::Pattern { max, .. } = spec.rule else {
            continue;
        };
        let err = refuse(
            kind,
            &item_with(kind, spec.name, string("é".repeat(max + 1))),
        );
        assert_eq!(
            err.problems.len(),
            2,
            "{kind}.{}: {:?}",
            spec.name,
            err.problems
        );
        assert!(err.problems[0].contains("at most"), "{:?}", err.problems);
        assert!(
            err.problems[1].contains("may contain only"),
            "{:?}",
            err.problems
        );
    }
}

#[test]
fn every_patterned_field_refuses_the_empty_string_naming_the_field() {
    for (kind, spec) in all_fields() {
        if !matches!(spec.rule, FieldRule::Pattern { .. }) {
            continue;
        }
        let message =
            assert_refused_naming(kind, &item_with(kind, spec.name, string("")), spec.name);
        assert_eq!(message, format!("{PREFIX}{} must not be empty", spec.name));
    }
}

#[test]
fn patterns_are_anchored_so_one_stray_character_anywhere_fails() {
    for (kind, spec) in all_fields() {
        let Some((valid, _)) = pattern_of(spec.rule) else {
            continue;
        };
        if matches!(spec.rule, FieldRule::List { .. }) {
            continue;
        }
        let good = cycled(&valid, 5);
        for stray in [" ", "/", "\n", "\t", "\u{0}", "%", "'", "\""] {
            for text in [
                format!("{stray}{good}"),
                format!("{good}{stray}"),
                format!("{}{stray}{}", &good[..2], &good[2..]),
            ] {
                if text.chars().all(|c| valid.contains(&c)) {
                    continue;
                }
                assert_refused_naming(kind, &item_with(kind, spec.name, string(text)), spec.name);
            }
        }
    }
}

#[test]
fn strings_are_not_trimmed() {
    let conversation = EntityKind::Conversation;
    assert_refused_naming(
        conversation,
        &item_with(conversation, "lobId", string(" 1038")),
        "lobId",
    );
    let item = accept(
        conversation,
        &item_with(conversation, "lobName", string("  padded  ")),
    );
    assert_eq!(text_of(&item, "lobName").as_deref(), Some("  padded  "));
    let max = " ".repeat(256);
    accept(
        conversation,
        &item_with(conversation, "lobName", string(max)),
    );
    assert_refused_naming(
        conversation,
        &item_with(conversation, "lobName", string(" ".repeat(257))),
        "lobName",
    );
}

#[test]
fn every_text_field_counts_characters_not_bytes() {
    for (kind, spec) in all_fields() {
        let FieldRule::Text { max } = spec.rule else {
            continue;
        };
        // 2, 3 and 4 bytes per character, and a combining sequence
        for unit in ["é", "日", "😀", "\u{0301}"] {
            let at_max = unit.repeat(max);
            assert!(at_max.len() > max);
            let item = accept(kind, &item_with(kind, spec.name, string(at_max.clone())));
            assert_eq!(
                text_of(&item, spec.name),
                Some(at_max),
                "{kind}.{}",
                spec.name
            );

            let over = unit.repeat(max + 1);
            let message =
                assert_refused_naming(kind, &item_with(kind, spec.name, string(over)), spec.name);
            assert_eq!(
                message,
                format!(
                    "{PREFIX}{} must be at most {max} characters, got {}",
                    spec.name,
                    max + 1
                )
            );
        }
    }
}

#[test]
fn every_text_field_accepts_any_characters_including_controls_and_punctuation() {
    for (kind, spec) in all_fields() {
        if !matches!(spec.rule, FieldRule::Text { .. }) {
            continue;
        }
        for text in [
            "Apply customer's discount",
            "a; b",
            "\"<tag>\"",
            "\u{0}\n\t",
            "",
        ] {
            let item = accept(kind, &item_with(kind, spec.name, string(text)));
            assert_eq!(text_of(&item, spec.name).as_deref(), Some(text));
        }
    }
}

#[test]
fn lob_id_of_256_characters_passes_and_257_fails_naming_the_field() {
    let kind = EntityKind::Conversation;
    accept(kind, &item_with(kind, "lobId", string("1".repeat(256))));
    let message = refused_message(kind, &item_with(kind, "lobId", string("1".repeat(257))));
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: lobId must be at most 256 characters, got 257"
    );
}

#[test]
fn lob_name_of_256_accented_characters_passes_though_it_is_512_bytes() {
    let kind = EntityKind::Conversation;
    let name = "é".repeat(256);
    assert_eq!(name.len(), 512);
    let item = accept(kind, &item_with(kind, "lobName", string(name.clone())));
    assert_eq!(text_of(&item, "lobName"), Some(name));
    let message = refused_message(kind, &item_with(kind, "lobName", string("é".repeat(257))));
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: lobName must be at most 256 characters, got 257"
    );
}

#[test]
fn lob_id_with_an_accent_fails_naming_the_field_and_the_pattern() {
    let kind = EntityKind::Conversation;
    let message = refused_message(kind, &item_with(kind, "lobId", string("café")));
    assert_eq!(
        message,
        r"FAIL_BAD_PARAMS: ERROR: lobId may contain only letters, digits, - and _ (pattern [a-zA-Z0-9\-\_]+), found 'é'"
    );
}

#[test]
fn each_charset_admits_exactly_its_seed_characters() {
    let kind_field = |kind, name| {
        let spec = fields_of(kind).iter().find(|s| s.name == name).unwrap();
        let (chars, _) = pattern_of(spec.rule).unwrap();
        chars.into_iter().collect::<String>()
    };
    let letters_digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let sorted = |extra: &str| {
        let mut chars: Vec<char> = letters_digits.chars().chain(extra.chars()).collect();
        chars.sort_unstable();
        chars.into_iter().collect::<String>()
    };
    assert_eq!(kind_field(EntityKind::Conversation, "lobId"), sorted("-_"));
    assert_eq!(
        kind_field(EntityKind::Conversation, "browserVersion"),
        sorted("-_.")
    );
    assert_eq!(
        kind_field(EntityKind::Customer, "externalCustomerId"),
        sorted("-_.@")
    );
    assert_eq!(
        kind_field(EntityKind::Customer, "phoneNumber"),
        "()+-.0123456789"
    );
    assert_eq!(kind_field(EntityKind::Agent, "languages"), sorted("-"));
    assert_eq!(
        kind_field(EntityKind::Conversation, "companySegment"),
        sorted("-_")
    );
}

#[test]
fn browser_version_allows_dots_but_browser_type_does_not() {
    let kind = EntityKind::Conversation;
    accept(
        kind,
        &item_with(kind, "browserVersion", string("103.0.5060.128")),
    );
    assert_refused_naming(
        kind,
        &item_with(kind, "browserType", string("Chrome.103")),
        "browserType",
    );
}

#[test]
fn external_customer_id_allows_dots_and_at_signs_but_other_ids_do_not() {
    let kind = EntityKind::Customer;
    let item = accept(
        kind,
        &item_with(
            kind,
            "externalCustomerId",
            string("555.555.0100-jdoe@example.com"),
        ),
    );
    assert_eq!(item.entity_id.as_str(), "555.555.0100-jdoe@example.com");
    assert_refused_naming(
        kind,
        &item_with(kind, "externalConversationId", string("conv.1")),
        "externalConversationId",
    );
    assert_refused_naming(kind, &item_with(kind, "userId", string("a@b")), "userId");
}

#[test]
fn phone_number_allows_digits_and_punctuation_but_not_letters_or_spaces() {
    let kind = EntityKind::Customer;
    accept(
        kind,
        &item_with(kind, "phoneNumber", string("+1(555)555-0100.2")),
    );
    for bad in ["555 555 0100", "555-CALL-NOW", "ext123", "١٢٣"] {
        assert_refused_naming(
            kind,
            &item_with(kind, "phoneNumber", string(bad)),
            "phoneNumber",
        );
    }
}

// ---------------------------------------------------------------------------
// list fields

#[test]
fn every_list_field_checks_each_element_and_names_its_position() {
    for (kind, spec) in all_fields() {
        let FieldRule::List { charset, max } = spec.rule else {
            continue;
        };
        let chars = alphabet(|c| charset.allows(c));
        let name = spec.name;
        let ok = string(cycled(&chars, max));
        let item = accept(
            kind,
            &item_with(kind, name, array([ok.clone(), ok.clone()])),
        );
        let expected = cycled(&chars, max);
        assert_eq!(
            change_of(&item, name),
            Some(&FieldValue::List(vec![expected.clone(), expected]))
        );

        let long = string(cycled(&chars, max + 1));
        let err = refuse(kind, &item_with(kind, name, array([ok.clone(), long])));
        assert_eq!(
            err.problems,
            [format!(
                "{name}[1] must be at most {max} characters, got {}",
                max + 1
            )]
        );

        let err = refuse(
            kind,
            &item_with(kind, name, array([string("日本"), int(5), Json::Null])),
        );
        assert_eq!(err.problems.len(), 3, "{:?}", err.problems);
        assert!(err.problems[0].starts_with(&format!("{name}[0] may contain only")));
        assert_eq!(
            err.problems[1],
            format!("{name}[1] must be a string, got a number")
        );
        assert_eq!(
            err.problems[2],
            format!("{name}[2] must be a string, got null")
        );

        let err = refuse(kind, &item_with(kind, name, array([nested_array(100)])));
        assert_eq!(
            err.problems,
            [format!("{name}[0] must be a string, got an array")]
        );

        let item = accept(kind, &item_with(kind, name, array([])));
        assert_eq!(change_of(&item, name), Some(&FieldValue::List(Vec::new())));
    }
}

#[test]
fn company_segment_of_the_seed_passes_and_keeps_its_order() {
    let kind = EntityKind::Conversation;
    let item = accept(
        kind,
        &item_with(
            kind,
            "companySegment",
            array([string("Sales"), string("Marketing")]),
        ),
    );
    assert_eq!(
        change_of(&item, "companySegment"),
        Some(&FieldValue::List(vec!["Sales".into(), "Marketing".into()]))
    );
}

#[test]
fn languages_allow_hyphens_but_not_underscores() {
    let kind = EntityKind::Agent;
    accept(
        kind,
        &item_with(kind, "languages", array([string("en-US"), string("es")])),
    );
    let err = refuse(
        kind,
        &item_with(kind, "languages", array([string("en_US")])),
    );
    assert_eq!(err.problems.len(), 1);
    assert!(
        err.problems[0].starts_with("languages[0] may contain only letters, digits and -"),
        "{:?}",
        err.problems
    );
}

// ---------------------------------------------------------------------------
// wrong JSON types

#[test]
fn lob_id_given_a_number_fails_saying_it_must_be_a_string() {
    let kind = EntityKind::Conversation;
    let message = refused_message(kind, &parse(r#"{"externalConversationId":"c1","lobId":5}"#));
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: lobId must be a string, got a number"
    );
}

#[test]
fn concurrency_given_a_string_fails_saying_it_must_be_an_integer() {
    let kind = EntityKind::Agent;
    let message = refused_message(
        kind,
        &parse(r#"{"externalAgentId":"a1","concurrency":"3"}"#),
    );
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: concurrency must be an integer, got a string"
    );
}

#[test]
fn concurrency_of_3_point_5_fails_naming_the_field() {
    let kind = EntityKind::Agent;
    let message = refused_message(
        kind,
        &parse(r#"{"externalAgentId":"a1","concurrency":3.5}"#),
    );
    assert!(
        message.starts_with("FAIL_BAD_PARAMS: ERROR: concurrency must be an integer"),
        "{message}"
    );
    assert!(message.ends_with("got 3.5"), "{message}");
}

#[test]
fn integers_keep_their_value_and_sign() {
    let kind = EntityKind::Agent;
    let item = accept(
        kind,
        &parse(r#"{"externalAgentId":"a1","concurrency":3,"ranking":-7}"#),
    );
    assert_eq!(
        change_of(&item, "concurrency"),
        Some(&FieldValue::Integer(3))
    );
    assert_eq!(change_of(&item, "ranking"), Some(&FieldValue::Integer(-7)));
}

#[test]
fn integers_beyond_64_bits_fail_naming_the_field() {
    let kind = EntityKind::Agent;
    for number in [
        "18446744073709551615",
        "9223372036854775808",
        "-9223372036854775809",
    ] {
        let value = parse(number);
        let message = assert_refused_naming(kind, &item_with(kind, "ranking", value), "ranking");
        assert!(
            message.contains("must be an integer"),
            "{number}: {message}"
        );
    }
}

#[test]
fn arrays_and_objects_where_strings_belong_fail_naming_the_field() {
    let kind = EntityKind::Conversation;
    let message = refused_message(
        kind,
        &parse(r#"{"externalConversationId":"c1","lobName":["manufacturing"]}"#),
    );
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: lobName must be a string, got an array"
    );
    let message = refused_message(
        kind,
        &parse(r#"{"externalConversationId":"c1","campaign":{"id":"campaign-A"}}"#),
    );
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: campaign must be a string, got an object"
    );
    let message = refused_message(kind, &parse(r#"{"externalConversationId":["c1"]}"#));
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: externalConversationId must be a string, got an array"
    );
}

#[test]
fn a_string_nested_in_100_arrays_where_a_string_belongs_fails_naming_the_field() {
    let kind = EntityKind::Conversation;
    let text = format!(
        r#"{{"externalConversationId":"c1","lobId":{}"x"{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let item = parse(&text);
    let message = refused_message(kind, &item);
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: lobId must be a string, got an array"
    );
    // the same, built directly rather than parsed
    let message = refused_message(kind, &item_with(kind, "lobId", nested_array(100)));
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: lobId must be a string, got an array"
    );
}

#[test]
fn every_field_of_every_kind_refuses_every_wrong_json_type_naming_the_field() {
    for (kind, spec) in all_fields() {
        for value in wrong_types(spec.rule) {
            let type_name = value.type_name();
            let message =
                assert_refused_naming(kind, &item_with(kind, spec.name, value), spec.name);
            assert!(
                message.contains(&format!("got {type_name}")),
                "{kind}.{}: {message}",
                spec.name
            );
        }
    }
}

#[test]
fn an_item_that_is_not_an_object_fails() {
    for kind in EntityKind::ALL {
        for (value, type_name) in [
            (Json::Null, "null"),
            (string("conv-1"), "a string"),
            (array([]), "an array"),
            (int(1), "a number"),
        ] {
            let message = refused_message(kind, &value);
            assert_eq!(
                message,
                format!("{PREFIX}item must be a JSON object, got {type_name}")
            );
        }
    }
}

// ---------------------------------------------------------------------------
// enums

#[test]
fn every_enum_value_of_the_seeds_is_accepted_and_kept_as_sent() {
    let mut values = 0;
    for (kind, spec) in all_fields() {
        let FieldRule::Enum(options) = spec.rule else {
            continue;
        };
        for option in options {
            let item = accept(kind, &item_with(kind, spec.name, string(*option)));
            assert_eq!(text_of(&item, spec.name).as_deref(), Some(*option));
            values += 1;
        }
    }
    // deviceType 5, platform 17, operatingSystem 6 (seed 000)
    assert_eq!(values, 5 + 17 + 6);
}

#[test]
fn lowercase_enum_values_fail_listing_the_options() {
    for (kind, spec) in all_fields() {
        let FieldRule::Enum(options) = spec.rule else {
            continue;
        };
        for option in options {
            let lower = option.to_lowercase();
            let message = assert_refused_naming(
                kind,
                &item_with(kind, spec.name, string(lower.clone())),
                spec.name,
            );
            assert_eq!(
                message,
                format!(
                    "{PREFIX}{} must be one of {}, got {lower:?}",
                    spec.name,
                    options.join(", ")
                )
            );
        }
    }
}

#[test]
fn device_type_tablet_in_lowercase_fails_with_the_options_listed() {
    let kind = EntityKind::Conversation;
    let message = refused_message(kind, &item_with(kind, "deviceType", string("tablet")));
    assert_eq!(
        message,
        r#"FAIL_BAD_PARAMS: ERROR: deviceType must be one of TABLET, PHONE, DESKTOP, WATCH, OTHER, got "tablet""#
    );
}

#[test]
fn enum_values_from_another_enum_or_padded_fail() {
    let kind = EntityKind::Conversation;
    for bad in ["MAC_OS", " IOS", "IOS ", "", "Ios"] {
        assert_refused_naming(kind, &item_with(kind, "platform", string(bad)), "platform");
    }
    assert_refused_naming(
        kind,
        &item_with(kind, "deviceType", string("WEB")),
        "deviceType",
    );
}

#[test]
fn a_long_bad_enum_value_is_echoed_only_in_part() {
    let kind = EntityKind::Conversation;
    let message = refused_message(
        kind,
        &item_with(kind, "platform", string("X".repeat(10_000))),
    );
    assert!(message.len() < 400, "{} bytes", message.len());
    assert!(message.starts_with("FAIL_BAD_PARAMS: ERROR: platform must be one of SMS, WEB"));
}

// ---------------------------------------------------------------------------
// email

#[test]
fn valid_email_addresses_pass_for_customers_and_agents() {
    for (kind, spec) in all_fields() {
        if spec.rule != FieldRule::Email {
            continue;
        }
        for email in [
            "jdoe@example.com",
            "first.last+tag@sub.example.co.uk",
            "a_b-c@example-domain.org",
        ] {
            let item = accept(kind, &item_with(kind, spec.name, string(email)));
            assert_eq!(text_of(&item, spec.name).as_deref(), Some(email));
        }
    }
}

#[test]
fn not_an_email_fails_naming_the_field() {
    for (kind, spec) in all_fields() {
        if spec.rule != FieldRule::Email {
            continue;
        }
        let message = assert_refused_naming(
            kind,
            &item_with(kind, spec.name, string("not-an-email")),
            spec.name,
        );
        assert_eq!(
            message,
            format!(
                "{PREFIX}{} must be an email address like name@example.com",
                spec.name
            )
        );
    }
}

#[test]
fn an_email_with_a_display_name_or_spaces_fails() {
    for (kind, spec) in all_fields() {
        if spec.rule != FieldRule::Email {
            continue;
        }
        for bad in [
            "Name <a@b.com>",
            "<a@b.com>",
            "a@b.com ",
            " a@b.com",
            "a b@example.com",
            "a@@example.com",
            "@example.com",
            "jdoe@",
            "",
            "a@b.com\n",
        ] {
            assert_refused_naming(kind, &item_with(kind, spec.name, string(bad)), spec.name);
        }
    }
}

#[test]
fn email_of_254_characters_passes_and_255_fails() {
    let kind = EntityKind::Customer;
    accept(
        kind,
        &item_with(kind, "emailAddress", string(email_of_length(254))),
    );
    assert_refused_naming(
        kind,
        &item_with(kind, "emailAddress", string(email_of_length(255))),
        "emailAddress",
    );
}

// ---------------------------------------------------------------------------
// agent startTs

#[test]
fn start_ts_accepts_zero_to_twelve_fractional_digits() {
    let kind = EntityKind::Agent;
    for digits in 0..=12 {
        let ts = timestamp_with_fraction(digits);
        let item = accept(kind, &item_with(kind, "startTs", string(ts.clone())));
        assert_eq!(text_of(&item, "startTs"), Some(ts), "{digits} digits");
    }
    accept(
        kind,
        &item_with(kind, "startTs", string("2022-07-08T11:15:53.237517000Z")),
    );
}

#[test]
fn start_ts_with_thirteen_fractional_digits_fails() {
    let kind = EntityKind::Agent;
    let message = assert_refused_naming(
        kind,
        &item_with(kind, "startTs", string(timestamp_with_fraction(13))),
        "startTs",
    );
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: startTs must be a UTC date-time like \
         2022-07-08T11:15:53.237517000Z (0 to 12 fractional digits, ending in Z)"
    );
    for digits in [14, 20, 100] {
        assert_refused_naming(
            kind,
            &item_with(kind, "startTs", string(timestamp_with_fraction(digits))),
            "startTs",
        );
    }
}

#[test]
fn start_ts_with_an_offset_fails() {
    let kind = EntityKind::Agent;
    for bad in [
        "2022-07-08T11:15:53+00:00",
        "2022-07-08T11:15:53-05:00",
        "2022-07-08T11:15:53.123+01:00",
        "2022-07-08T11:15:53+0000",
        "2022-07-08T11:15:53Z+00:00",
        "2022-07-08T11:15:53.123Z-01:00",
    ] {
        assert_refused_naming(kind, &item_with(kind, "startTs", string(bad)), "startTs");
    }
}

#[test]
fn start_ts_in_other_forms_or_impossible_fails() {
    let kind = EntityKind::Agent;
    for bad in [
        "2022-07-08T11:15:53",
        "2022-07-08t11:15:53Z",
        "2022-07-08T11:15:53z",
        "2022-07-08 11:15:53Z",
        "2022-07-08T11:15:53.Z",
        "2022-07-08T11:15Z",
        "2022-07-08Z",
        "2022/07/08T11:15:53Z",
        "2022-02-30T11:15:53Z",
        "2022-13-08T11:15:53Z",
        "2022-07-08T24:00:00Z",
        "2022-07-08T11:60:00Z",
        "2022-07-08T11:15:53.12a4Z",
        "2022-07-08T11:15:53.１Z",
        "２022-07-08T11:15:53Z",
        "",
        "Z",
        "1657278953",
    ] {
        assert_refused_naming(kind, &item_with(kind, "startTs", string(bad)), "startTs");
    }
    assert_refused_naming(
        kind,
        &item_with(kind, "startTs", int(1_657_278_953)),
        "startTs",
    );
}

#[test]
fn a_leap_day_is_a_valid_start_ts() {
    let kind = EntityKind::Agent;
    accept(
        kind,
        &item_with(kind, "startTs", string("2024-02-29T23:59:59.999999999999Z")),
    );
    assert_refused_naming(
        kind,
        &item_with(kind, "startTs", string("2023-02-29T00:00:00Z")),
        "startTs",
    );
}

// ---------------------------------------------------------------------------
// attributes

#[test]
fn ten_attributes_pass_on_every_kind() {
    for kind in EntityKind::ALL {
        let item = accept(kind, &item_with(kind, "attributes", attributes(10)));
        let Some(FieldValue::Attributes(parsed)) = change_of(&item, "attributes") else {
            panic!("no attributes change: {:?}", item.changes);
        };
        assert_eq!(parsed.len(), 10);
        assert_eq!(parsed[3].name, "attr3");
        assert_eq!(parsed[3].value, "value3");
    }
}

#[test]
fn eleven_attributes_fail_saying_at_most_10() {
    for kind in EntityKind::ALL {
        let message = assert_refused_naming(
            kind,
            &item_with(kind, "attributes", attributes(11)),
            "attributes",
        );
        assert_eq!(
            message,
            format!("{PREFIX}attributes must have at most 10 entries, got 11")
        );
    }
}

#[test]
fn an_attribute_without_a_name_fails_naming_attributes_0_name() {
    for kind in EntityKind::ALL {
        let value = array([object(&[("value", string("v"))])]);
        let message = refused_message(kind, &item_with(kind, "attributes", value));
        assert_eq!(message, format!("{PREFIX}attributes[0].name is required"));

        let value = array([object(&[("name", Json::Null), ("value", string("v"))])]);
        let message = refused_message(kind, &item_with(kind, "attributes", value));
        assert_eq!(message, format!("{PREFIX}attributes[0].name is required"));
    }
}

#[test]
fn an_attribute_with_an_empty_name_fails() {
    let kind = EntityKind::Conversation;
    let message = refused_message(
        kind,
        &item_with(kind, "attributes", array([attribute("", "v")])),
    );
    assert_eq!(
        message,
        format!("{PREFIX}attributes[0].name must not be empty")
    );
}

#[test]
fn an_attribute_value_of_1024_characters_passes_and_1025_fails() {
    for kind in EntityKind::ALL {
        for unit in ["v", "é", "日", "😀"] {
            let value = unit.repeat(1024);
            let item = accept(
                kind,
                &item_with(kind, "attributes", array([attribute("a", &value)])),
            );
            let Some(FieldValue::Attributes(parsed)) = change_of(&item, "attributes") else {
                panic!("no attributes");
            };
            assert_eq!(parsed[0].value, value);

            let over = unit.repeat(1025);
            let message = refused_message(
                kind,
                &item_with(
                    kind,
                    "attributes",
                    array([attribute("b", "x"), attribute("a", &over)]),
                ),
            );
            assert_eq!(
                message,
                format!("{PREFIX}attributes[1].value must be at most 1024 characters, got 1025")
            );
        }
    }
}

#[test]
fn an_attribute_name_of_256_characters_passes_and_257_fails() {
    let kind = EntityKind::Customer;
    for unit in ["n", "日"] {
        accept(
            kind,
            &item_with(
                kind,
                "attributes",
                array([attribute(&unit.repeat(256), "v")]),
            ),
        );
        let message = refused_message(
            kind,
            &item_with(
                kind,
                "attributes",
                array([attribute(&unit.repeat(257), "v")]),
            ),
        );
        assert_eq!(
            message,
            format!("{PREFIX}attributes[0].name must be at most 256 characters, got 257")
        );
    }
}

#[test]
fn duplicate_attribute_names_fail_naming_the_repeat() {
    for kind in EntityKind::ALL {
        let value = array([
            attribute("a", "1"),
            attribute("b", "2"),
            attribute("a", "3"),
        ]);
        let err = refuse(kind, &item_with(kind, "attributes", value));
        assert_eq!(err.problems.len(), 1, "{:?}", err.problems);
        assert!(
            err.problems[0].starts_with("attributes[2].name "),
            "{:?}",
            err.problems
        );
    }
}

#[test]
fn attribute_names_differing_only_in_case_are_distinct() {
    let kind = EntityKind::Agent;
    accept(
        kind,
        &item_with(
            kind,
            "attributes",
            array([attribute("a", "1"), attribute("A", "2")]),
        ),
    );
}

#[test]
fn unknown_keys_inside_an_attribute_give_a_warning_and_the_item_is_accepted() {
    for kind in EntityKind::ALL {
        let value = array([
            attribute("a", "1"),
            object(&[
                ("name", string("b")),
                ("value", string("2")),
                ("type", string("string")),
            ]),
        ]);
        let item = accept(kind, &item_with(kind, "attributes", value));
        assert_eq!(item.warnings, ["unknown field attributes[1].type"]);
        let Some(FieldValue::Attributes(parsed)) = change_of(&item, "attributes") else {
            panic!("no attributes");
        };
        assert_eq!(parsed.len(), 2);
    }
}

#[test]
fn attribute_entries_of_the_wrong_type_fail_naming_their_position() {
    let kind = EntityKind::Conversation;
    let value = array([
        string("attr1_name=attr1_value"),
        object(&[("name", int(1)), ("value", string("v"))]),
        object(&[("name", string("n")), ("value", Json::Bool(true))]),
        object(&[("name", string("m")), ("value", nested_array(100))]),
    ]);
    let err = refuse(kind, &item_with(kind, "attributes", value));
    assert_eq!(
        err.problems,
        [
            "attributes[0] must be an object with name and value, got a string",
            "attributes[1].name must be a string, got a number",
            "attributes[2].value must be a string, got a boolean",
            "attributes[3].value must be a string, got an array",
        ]
    );
}

#[test]
fn attributes_as_an_object_map_fail() {
    let kind = EntityKind::Conversation;
    let message = refused_message(
        kind,
        &item_with(
            kind,
            "attributes",
            object(&[("attr1_name", string("attr1_value"))]),
        ),
    );
    assert_eq!(
        message,
        format!("{PREFIX}attributes must be an array of {{name, value}} objects, got an object")
    );
}

#[test]
fn eleven_attributes_with_bad_entries_report_the_count_and_every_entry() {
    let kind = EntityKind::Conversation;
    let mut entries: Vec<Json> = (0..10).map(|i| attribute(&format!("n{i}"), "v")).collect();
    entries.push(object(&[("value", string("v"))]));
    let err = refuse(kind, &item_with(kind, "attributes", array(entries)));
    assert_eq!(
        err.problems,
        [
            "attributes must have at most 10 entries, got 11",
            "attributes[10].name is required",
        ]
    );
}

// ---------------------------------------------------------------------------
// required fields

#[test]
fn every_required_field_missing_fails_with_is_required() {
    let mut required = 0;
    for (kind, spec) in all_fields() {
        if !spec.required {
            continue;
        }
        let message = refused_message(kind, &item_without(kind, spec.name));
        assert_eq!(message, format!("{PREFIX}{} is required", spec.name));
        required += 1;
    }
    assert_eq!(required, 4);
}

#[test]
fn every_required_field_null_fails() {
    for (kind, spec) in all_fields() {
        if !spec.required {
            continue;
        }
        let message = refused_message(kind, &item_with(kind, spec.name, Json::Null));
        assert_eq!(
            message,
            format!("{PREFIX}{} is required and must not be null", spec.name)
        );
    }
}

#[test]
fn a_customer_item_needs_both_the_conversation_and_the_customer() {
    let kind = EntityKind::Customer;
    let message = refused_message(kind, &object(&[]));
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: externalConversationId is required; externalCustomerId is required"
    );
    let item = accept(kind, &Json::Object(minimal(kind)));
    assert_eq!(item.entity_id.as_str(), "cust-1");
    assert_eq!(
        item.conversation_id.as_ref().map(|id| id.as_str()),
        Some("conv-1")
    );
}

#[test]
fn the_id_field_of_another_kind_does_not_satisfy_this_one() {
    let message = refused_message(
        EntityKind::Agent,
        &parse(r#"{"externalConversationId":"c1"}"#),
    );
    assert_eq!(
        message,
        "FAIL_BAD_PARAMS: ERROR: externalAgentId is required"
    );
    let err = refuse(
        EntityKind::Agent,
        &parse(r#"{"externalConversationId":"c1"}"#),
    );
    assert_eq!(err.warnings, ["unknown field externalConversationId"]);
}

#[test]
fn the_seeds_misspelled_externl_conversation_id_item_fails_with_the_exact_message_and_a_warning() {
    let kind = EntityKind::Conversation;
    let text = seed_item(SEED_MANY_CONVO, 1);
    let item = parse(&text);
    let err = refuse(kind, &item);
    assert_eq!(
        err.message(),
        "FAIL_BAD_PARAMS: ERROR: externalConversationId is required"
    );
    assert_eq!(err.warnings, ["unknown field externlConversationId"]);
    assert_eq!(
        err.event_id.as_ref().map(|id| id.as_str()),
        Some("eventId-1268")
    );
}

// ---------------------------------------------------------------------------
// every problem at once

#[test]
fn an_item_reports_every_problem_joined_with_semicolons() {
    let kind = EntityKind::Conversation;
    let item = parse(
        r#"{
            "lobId": 5,
            "deviceType": "tablet",
            "browserVersion": "103.0.5060.128.12345",
            "companySegment": ["Sales", "Market ing"],
            "attributes": [{"value": "v"}],
            "lobname": "typo"
        }"#,
    );
    let err = refuse(kind, &item);
    assert_eq!(
        err.problems,
        [
            "externalConversationId is required",
            "lobId must be a string, got a number",
            r#"deviceType must be one of TABLET, PHONE, DESKTOP, WATCH, OTHER, got "tablet""#,
            "browserVersion must be at most 16 characters, got 20",
            r"companySegment[1] may contain only letters, digits, - and _ (pattern [a-zA-Z0-9\-\_]+), found ' '",
            "attributes[0].name is required",
        ]
    );
    assert_eq!(
        err.message(),
        format!("{PREFIX}{}", err.problems.join("; "))
    );
    assert_eq!(err.warnings, ["unknown field lobname"]);
}

#[test]
fn every_problem_of_an_agent_is_named_in_one_message() {
    let kind = EntityKind::Agent;
    let item = parse(
        r#"{
            "externalAgentId": "agent 1",
            "startTs": "2022-07-08T11:15:53+00:00",
            "concurrency": "3",
            "ranking": 3.5,
            "languages": "en",
            "emailAddress": "Name <a@b.com>",
            "agentName": 7
        }"#,
    );
    let message = refused_message(kind, &item);
    let segments: Vec<&str> = message[PREFIX.len()..].split("; ").collect();
    let named: Vec<&str> = segments
        .iter()
        .map(|segment| segment.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        named,
        [
            "externalAgentId",
            "startTs",
            "concurrency",
            "ranking",
            "languages",
            "emailAddress",
            "agentName",
        ]
    );
}

#[test]
fn every_problem_of_a_refused_item_is_one_segment_of_the_message() {
    // a client splits the message on "; " and gets one problem per segment,
    // each starting with the field it is about
    let kind = EntityKind::Conversation;
    let item = item_with(
        kind,
        "attributes",
        array([
            attribute("a", "1"),
            attribute("a", "2"),
            object(&[("name", string("b"))]),
            attribute("c", &"v".repeat(1025)),
        ]),
    );
    let err = refuse(kind, &item);
    let message = err.message();
    let segments: Vec<&str> = message[PREFIX.len()..].split("; ").collect();
    assert_eq!(segments, err.problems, "{message}");
    for segment in segments {
        assert!(segment.starts_with("attributes["), "{segment}");
    }
}

// ---------------------------------------------------------------------------
// duplicate keys

#[test]
fn a_duplicate_key_at_item_level_fails_the_item() {
    let kind = EntityKind::Conversation;
    let message = refused_message(
        kind,
        &parse(r#"{"externalConversationId":"c1","lobId":"a","lobId":"b"}"#),
    );
    assert_eq!(message, "FAIL_BAD_PARAMS: ERROR: duplicate key lobId");
    // even when both copies agree: ambiguous data is never resolved silently
    let message = refused_message(
        kind,
        &parse(r#"{"externalConversationId":"c1","lobId":"a","lobId":"a"}"#),
    );
    assert_eq!(message, "FAIL_BAD_PARAMS: ERROR: duplicate key lobId");
}

#[test]
fn a_duplicate_id_field_fails_the_item() {
    for kind in EntityKind::ALL {
        let id = kind.id_field();
        let mut entries = minimal(kind);
        entries.push((id.to_owned().into(), string("other")));
        let message = refused_message(kind, &Json::Object(entries));
        assert!(
            message.contains(&format!("duplicate key {id}")),
            "{kind}: {message}"
        );
    }
}

#[test]
fn a_duplicate_unknown_key_fails_the_item_too() {
    let kind = EntityKind::Agent;
    let err = refuse(
        kind,
        &parse(r#"{"externalAgentId":"a1","nickname":"x","nickname":"y"}"#),
    );
    assert_eq!(err.problems, ["duplicate key nickname"]);
}

#[test]
fn a_duplicate_key_inside_an_attribute_fails_naming_its_path() {
    for kind in EntityKind::ALL {
        let id = kind.id_field();
        let mut entries = minimal(kind);
        entries.push((
            "attributes".into(),
            parse(r#"[{"name":"a","value":"1"},{"name":"b","name":"c","value":"2"}]"#),
        ));
        let message = refused_message(kind, &Json::Object(entries));
        assert_eq!(
            message, "FAIL_BAD_PARAMS: ERROR: duplicate key attributes[1].name",
            "{kind} ({id})"
        );
    }
}

#[test]
fn a_duplicate_key_is_reported_with_the_other_problems() {
    let kind = EntityKind::Conversation;
    let err = refuse(kind, &parse(r#"{"lobId":"a","lobId":"b c"}"#));
    assert_eq!(err.problems.len(), 3, "{:?}", err.problems);
    assert_eq!(err.problems[0], "externalConversationId is required");
    assert_eq!(err.problems[1], "duplicate key lobId");
    assert!(err.problems[2].starts_with("lobId may contain only"));
}

// ---------------------------------------------------------------------------
// null, unknown fields, eventId

#[test]
fn explicit_null_on_every_optional_field_produces_a_clear_change() {
    for (kind, spec) in all_fields() {
        if spec.required || spec.name == "eventId" {
            continue;
        }
        let item = accept(kind, &item_with(kind, spec.name, Json::Null));
        assert_eq!(
            item.changes.len(),
            1,
            "{kind}.{}: {:?}",
            spec.name,
            item.changes
        );
        assert_eq!(item.changes[0].name, spec.name);
        assert_eq!(item.changes[0].value, FieldValue::Clear);
    }
}

#[test]
fn an_absent_optional_field_produces_no_change() {
    for kind in EntityKind::ALL {
        let item = accept(kind, &Json::Object(minimal(kind)));
        assert!(item.changes.is_empty(), "{kind}: {:?}", item.changes);
        assert!(item.warnings.is_empty());
        assert_eq!(item.event_id, None);
        assert_eq!(item.kind, kind);
    }
}

#[test]
fn a_null_event_id_is_like_no_event_id() {
    for kind in EntityKind::ALL {
        let item = accept(kind, &item_with(kind, "eventId", Json::Null));
        assert_eq!(item.event_id, None);
        assert!(item.changes.is_empty(), "{:?}", item.changes);
    }
}

#[test]
fn a_valid_event_id_is_kept_and_is_not_a_profile_change() {
    for kind in EntityKind::ALL {
        let item = accept(kind, &item_with(kind, "eventId", string("eventId-1388")));
        assert_eq!(
            item.event_id.as_ref().map(|id| id.as_str()),
            Some("eventId-1388")
        );
        assert!(item.changes.is_empty(), "{:?}", item.changes);
    }
}

#[test]
fn a_refused_item_still_carries_its_valid_event_id() {
    let kind = EntityKind::Conversation;
    let err = refuse(kind, &parse(r#"{"eventId":"evt-1","lobId":5}"#));
    assert_eq!(err.event_id.as_ref().map(|id| id.as_str()), Some("evt-1"));
    let err = refuse(kind, &parse(r#"{"eventId":"evt 1","lobId":5}"#));
    assert_eq!(err.event_id, None);
}

#[test]
fn unknown_fields_produce_warnings_but_the_item_is_accepted() {
    let kind = EntityKind::Conversation;
    let item = accept(
        kind,
        &parse(
            r#"{"externalConversationId":"c1","lobname":"retail","startTs":"x","":1,"LOBID":null,"lobId":"930"}"#,
        ),
    );
    assert_eq!(
        item.warnings,
        [
            "unknown field lobname",
            "unknown field startTs",
            "unknown field ",
            "unknown field LOBID",
        ]
    );
    assert_eq!(text_of(&item, "lobId").as_deref(), Some("930"));
    assert_eq!(item.changes.len(), 1, "unknown fields change nothing");
}

#[test]
fn field_names_are_case_sensitive() {
    let kind = EntityKind::Customer;
    let err = refuse(
        kind,
        &parse(r#"{"ExternalConversationId":"c1","externalcustomerid":"x"}"#),
    );
    assert_eq!(
        err.problems,
        [
            "externalConversationId is required",
            "externalCustomerId is required"
        ]
    );
    assert_eq!(
        err.warnings,
        [
            "unknown field ExternalConversationId",
            "unknown field externalcustomerid",
        ]
    );
}

#[test]
fn changes_come_in_the_order_sent() {
    let kind = EntityKind::Agent;
    let item = accept(
        kind,
        &parse(
            r#"{"workShift":"night","externalAgentId":"a1","ranking":1,"agentName":null,"lobId":"x"}"#,
        ),
    );
    let names: Vec<&str> = item.changes.iter().map(|c| c.name).collect();
    assert_eq!(names, ["workShift", "ranking", "agentName", "lobId"]);
}

#[test]
fn the_content_hash_depends_on_kind_and_content_but_not_key_order() {
    let a = parse(r#"{"externalConversationId":"c1","lobId":"1"}"#);
    let b = parse(r#"{ "lobId" : "1", "externalConversationId" : "c1" }"#);
    let c = parse(r#"{"externalConversationId":"c1","lobId":"2"}"#);
    let conversation = EntityKind::Conversation;
    assert_eq!(
        accept(conversation, &a).content_hash,
        accept(conversation, &b).content_hash
    );
    assert_ne!(
        accept(conversation, &a).content_hash,
        accept(conversation, &c).content_hash
    );
    let customer = parse(r#"{"externalConversationId":"c1","externalCustomerId":"c1"}"#);
    let conversation_too = parse(r#"{"externalConversationId":"c1","externalCustomerId":"c1"}"#);
    assert_ne!(
        accept(EntityKind::Customer, &customer).content_hash,
        accept(conversation, &conversation_too).content_hash
    );
}

// ---------------------------------------------------------------------------
// the seeds' own examples

#[test]
fn the_seed_conversation_example_is_accepted_with_every_field() {
    let kind = EntityKind::Conversation;
    let text = seed_item(SEED_MANY_CONVO, 0);
    let item = accept(kind, &parse(&text));
    assert!(item.warnings.is_empty(), "{:?}", item.warnings);
    assert_eq!(item.entity_id.as_str(), "id-1389");
    assert_eq!(item.conversation_id, None);
    assert_eq!(
        item.event_id.as_ref().map(|id| id.as_str()),
        Some("eventId-1388")
    );
    assert_eq!(text_of(&item, "lobId").as_deref(), Some("1038"));
    assert_eq!(
        text_of(&item, "businessRule").as_deref(),
        Some("Apply customer's discount")
    );
    assert_eq!(text_of(&item, "browserVersion").as_deref(), Some("14.1.2"));
    // every field except the id and the eventId is a profile change
    assert_eq!(item.changes.len(), fields_of(kind).len() - 2);
    let Some(FieldValue::Attributes(parsed)) = change_of(&item, "attributes") else {
        panic!("no attributes");
    };
    assert_eq!(
        parsed,
        &[
            Attribute {
                name: "attr1_name".into(),
                value: "attr1_value".into()
            },
            Attribute {
                name: "attr2_name".into(),
                value: "attr2_value".into()
            },
        ]
    );
}

#[test]
fn the_seed_misspelled_item_is_valid_apart_from_its_missing_id() {
    let kind = EntityKind::Conversation;
    let text = seed_item(SEED_MANY_CONVO, 1);
    let Json::Object(mut entries) = parse(&text) else {
        panic!("not an object");
    };
    entries[0].0 = "externalConversationId".into();
    let item = accept(kind, &Json::Object(entries));
    assert_eq!(item.entity_id.as_str(), "issue1390");
    assert_eq!(
        text_of(&item, "browserVersion").as_deref(),
        Some("103.0.5060.128")
    );
}

#[test]
fn all_five_seed_customer_items_are_accepted() {
    let kind = EntityKind::Customer;
    let text = seed_items_text(SEED_MANY_CUSTOMER);
    let Json::Array(items) = parse(&text) else {
        panic!("not an array");
    };
    assert_eq!(items.len(), 5);
    let parsed: Vec<NewItem> = items.iter().map(|item| accept(kind, item)).collect();
    for item in &parsed {
        assert!(item.warnings.is_empty(), "{:?}", item.warnings);
    }

    assert_eq!(
        parsed[0].entity_id.as_str(),
        "555.555.0100-jdoe@example.com"
    );
    assert_eq!(
        parsed[0].conversation_id.as_ref().map(|id| id.as_str()),
        Some("id-509")
    );
    assert_eq!(
        parsed[0].event_id.as_ref().map(|id| id.as_str()),
        Some("eventId-1938")
    );
    assert_eq!(
        text_of(&parsed[0], "phoneNumber").as_deref(),
        Some("(555)555-0100")
    );
    assert_eq!(
        text_of(&parsed[0], "emailAddress").as_deref(),
        Some("jdoe@example.com")
    );
    assert_eq!(parsed[0].changes.len(), 8);

    assert_eq!(
        parsed[1].entity_id.as_str(),
        "555.555.0101-mdoe@example.com"
    );
    assert_eq!(text_of(&parsed[1], "status").as_deref(), Some("existing"));

    assert_eq!(parsed[2].entity_id.as_str(), "555.555.0191");
    assert_eq!(
        change_of(&parsed[2], "attributes"),
        Some(&FieldValue::Clear)
    );
    assert_eq!(parsed[2].changes.len(), 1);

    assert_eq!(parsed[3].entity_id.as_str(), "555.555.0193");
    assert!(parsed[3].changes.is_empty());
    assert_eq!(parsed[3].event_id, None);

    assert_eq!(parsed[4].entity_id.as_str(), "zdoe@example.com");
    let cleared: Vec<(&str, &FieldValue)> = parsed[4]
        .changes
        .iter()
        .map(|change| (change.name, &change.value))
        .collect();
    assert_eq!(
        cleared,
        [
            ("phoneNumber", &FieldValue::Clear),
            ("userId", &FieldValue::Clear),
            ("addressCountry", &FieldValue::Clear),
        ]
    );
}

#[test]
fn the_seed_single_customer_example_is_accepted() {
    let item = accept(EntityKind::Customer, &parse(SEED_SINGLE_CUSTOMER));
    assert!(item.warnings.is_empty());
    assert_eq!(text_of(&item, "addressZipcode").as_deref(), Some("10001"));
}

#[test]
fn a_design_agent_example_with_every_field_is_accepted() {
    let kind = EntityKind::Agent;
    let item = accept(
        kind,
        &parse(
            r#"{
                "externalAgentId": "agent-42",
                "eventId": "evt-42",
                "startTs": "2022-07-08T11:15:53.237517000Z",
                "lobId": "1038",
                "lobName": "Manufacturing & Retail",
                "groupId": "group59",
                "groupName": "Groupe Île-de-France",
                "agentName": "Zoë O'Brien",
                "agentLocation": "東京",
                "supervisorId": "sup-7",
                "supervisorName": "José Ñúñez",
                "languages": ["en-US", "fr", "ja"],
                "concurrency": 3,
                "categoryLabel": "tier_2",
                "accountAccessLevel": "L3",
                "ranking": 12,
                "vendor": "Acme, Inc.",
                "jobTitle": "Senior-Agent",
                "jobRole": "billing",
                "workShift": "night_shift",
                "emailAddress": "zoe.obrien@example.com",
                "attributes": [{"name": "team", "value": "blue"}]
            }"#,
        ),
    );
    assert!(item.warnings.is_empty(), "{:?}", item.warnings);
    assert_eq!(item.changes.len(), fields_of(kind).len() - 2);
    assert_eq!(text_of(&item, "agentLocation").as_deref(), Some("東京"));
}

// ---------------------------------------------------------------------------
// properties

fn every_field_name() -> Vec<&'static str> {
    let mut names: Vec<&str> = all_fields().map(|(_, spec)| spec.name).collect();
    names.extend(["name", "value", "externlConversationId", "lobname"]);
    names.sort_unstable();
    names.dedup();
    names
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(every_field_name()).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn arb_serde_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,20}".prop_map(Value::String),
        "[a-zA-Z0-9_-]{0,300}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 12, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
            prop::collection::btree_map(arb_key(), inner, 0..12)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Json with duplicate keys allowed and keys mostly from the real field names.
fn arb_json() -> impl Strategy<Value = Json<'static>> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|n| Json::Number(n.into())),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)),
        ".{0,300}".prop_map(|text| Json::String(Cow::Owned(text))),
        "[a-zA-Z0-9_.@()+-]{1,40}".prop_map(|text| Json::String(Cow::Owned(text))),
        prop::sample::select(vec![
            "TABLET",
            "IOS",
            "MAC_OS",
            "2022-07-08T11:15:53.237517000Z",
            "jdoe@example.com",
        ])
        .prop_map(|s| Json::String(Cow::Owned(s.to_owned()))),
    ];
    leaf.prop_recursive(5, 96, 12, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..12).prop_map(Json::Array),
            prop::collection::vec((arb_key(), inner), 0..12).prop_map(|entries| Json::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k), v))
                    .collect()
            )),
        ]
    })
}

/// An object item: the kind's required fields (usually), then random entries.
fn arb_item() -> impl Strategy<Value = (EntityKind, Json<'static>)> {
    (
        prop::sample::select(EntityKind::ALL.to_vec()),
        any::<bool>(),
        prop::collection::vec((arb_key(), arb_json()), 0..16),
    )
        .prop_map(|(kind, with_required, extra)| {
            let mut entries = if with_required {
                minimal(kind)
            } else {
                Vec::new()
            };
            entries.extend(extra.into_iter().map(|(k, v)| (Cow::Owned(k), v)));
            (kind, Json::Object(entries))
        })
}

/// Checks what must hold of any outcome.
fn check_outcome(kind: EntityKind, item: &Json) -> Result<(), TestCaseError> {
    let outcome = parse_item(kind, item);
    let known = |key: &str| fields_of(kind).iter().any(|spec| spec.name == key);
    let warnings = match &outcome {
        Ok(parsed) => {
            prop_assert_eq!(parsed.kind, kind);
            prop_assert!(!parsed.entity_id.as_str().is_empty());
            prop_assert!(item.first_duplicate_key().is_none());
            for change in &parsed.changes {
                prop_assert!(known(change.name), "change of unknown {}", change.name);
            }
            &parsed.warnings
        }
        Err(err) => {
            prop_assert!(!err.problems.is_empty());
            prop_assert!(err.message().starts_with(PREFIX));
            for problem in &err.problems {
                let names_a_field = fields_of(kind).iter().any(|spec| {
                    problem
                        .strip_prefix(spec.name)
                        .is_some_and(|rest| rest.starts_with([' ', '[']))
                });
                prop_assert!(
                    names_a_field
                        || problem.starts_with("duplicate key ")
                        || problem.starts_with("item must be a JSON object"),
                    "problem names no field: {}",
                    problem
                );
            }
            if let Some(path) = item.first_duplicate_key() {
                let expected = format!("duplicate key {path}");
                prop_assert!(err.problems.contains(&expected));
            }
            &err.warnings
        }
    };
    if let Json::Object(entries) = item {
        for (key, _) in entries {
            if !known(key) {
                let expected = format!("unknown field {key}");
                prop_assert!(warnings.contains(&expected), "no warning for {:?}", key);
            }
        }
        for spec in fields_of(kind).iter().filter(|spec| spec.required) {
            let present = entries
                .iter()
                .any(|(key, value)| key == spec.name && *value != Json::Null);
            if !present {
                prop_assert!(outcome.is_err(), "accepted without {}", spec.name);
            }
        }
    }
    Ok(())
}

/// Every Pattern and Text field, with its valid alphabet (`None`: any
/// character) and maximum length.
fn string_fields() -> Vec<(EntityKind, &'static str, Option<Vec<char>>, usize)> {
    all_fields()
        .filter_map(|(kind, spec)| match spec.rule {
            FieldRule::Pattern { charset, max } => {
                Some((kind, spec.name, Some(alphabet(|c| charset.allows(c))), max))
            }
            FieldRule::Text { max } => Some((kind, spec.name, None, max)),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_item_never_panics_on_arbitrary_json_text(value in arb_serde_value()) {
        let text = value.to_string();
        let json = parse(&text);
        for kind in EntityKind::ALL {
            check_outcome(kind, &json)?;
        }
    }

    #[test]
    fn parse_item_never_panics_on_objects_with_real_and_random_keys((kind, item) in arb_item()) {
        check_outcome(kind, &item)?;
    }

    #[test]
    fn check_item_gives_the_verdict_and_messages_of_parse_item((kind, item) in arb_item()) {
        let parsed = parse_item(kind, &item).map(|_| ()).map_err(|err| err.message());
        let checked = check_item(kind, &item).map_err(|err| err.message());
        prop_assert_eq!(checked, parsed);
    }

    #[test]
    fn a_random_valid_string_of_max_length_passes_and_one_more_fails(
        field in prop::sample::select(string_fields()),
        seed in prop::collection::vec(any::<char>(), 1..64),
    ) {
        let (kind, name, allowed, max) = field;
        let pick = |c: char| match &allowed {
            Some(chars) => chars[c as usize % chars.len()],
            None => c,
        };
        let at_max: String = seed.iter().copied().cycle().take(max).map(pick).collect();
        let over: String = seed.iter().copied().cycle().take(max + 1).map(pick).collect();

        let accepted = parse_item(kind, &item_with(kind, name, string(at_max.clone())));
        let accepted = accepted.map_err(|err| TestCaseError::fail(err.message()))?;
        prop_assert_eq!(text_of(&accepted, name), Some(at_max));

        let refused = parse_item(kind, &item_with(kind, name, string(over)));
        let Err(err) = refused else {
            return Err(TestCaseError::fail(format!("{kind}.{name} accepted {} characters", max + 1)));
        };
        prop_assert_eq!(
            err.problems,
            vec![format!("{name} must be at most {max} characters, got {}", max + 1)]
        );
    }

    #[test]
    fn a_random_short_string_passes_a_text_field_whatever_its_characters(
        field in prop::sample::select(
            string_fields().into_iter().filter(|f| f.2.is_none()).collect::<Vec<_>>()
        ),
        text in ".{0,256}",
    ) {
        let (kind, name, _, max) = field;
        prop_assume!(text.chars().count() <= max);
        let accepted = parse_item(kind, &item_with(kind, name, string(text.clone())));
        let accepted = accepted.map_err(|err| TestCaseError::fail(err.message()))?;
        prop_assert_eq!(text_of(&accepted, name), Some(text));
    }

    #[test]
    fn a_patterned_field_accepts_a_string_exactly_when_every_character_is_allowed(
        field in prop::sample::select(
            string_fields().into_iter().filter(|f| f.2.is_some()).collect::<Vec<_>>()
        ),
        text in "[ -~é日]{1,16}",
    ) {
        let (kind, name, allowed, _) = field;
        let allowed = allowed.unwrap_or_default();
        let valid = text.chars().all(|c| allowed.contains(&c));
        let outcome = parse_item(kind, &item_with(kind, name, string(text.clone())));
        prop_assert_eq!(outcome.is_ok(), valid, "{}.{} = {:?}", kind, name, text);
    }

    #[test]
    fn a_random_attribute_list_passes_exactly_when_it_has_at_most_10_distinct_named_entries(
        kind in prop::sample::select(EntityKind::ALL.to_vec()),
        names in prop::collection::vec("[a-c]{1,2}", 0..14),
        value_len in 0usize..1100,
    ) {
        let entries: Vec<Json> = names
            .iter()
            .map(|name| attribute(name, &"é".repeat(value_len)))
            .collect();
        let mut distinct = names.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let valid = names.len() <= 10
            && distinct.len() == names.len()
            && (names.is_empty() || value_len <= 1024);
        let outcome = parse_item(kind, &item_with(kind, "attributes", array(entries)));
        prop_assert_eq!(outcome.is_ok(), valid, "{:?} {}", names, value_len);
        if let Err(err) = outcome {
            for problem in &err.problems {
                prop_assert!(problem.starts_with("attributes"), "{}", problem);
            }
        }
    }
}
