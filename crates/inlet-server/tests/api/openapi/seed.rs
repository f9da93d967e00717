//! The document against the seed specs (DESIGN.md §2: the seeds are the
//! contract). Seeds 000 and 002 are OpenAPI YAML, compared schema by
//! schema; 001 and 003 are rendered pages, whose fields, types and lengths
//! are parsed and compared with the same item schemas.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{fetch_document, item_schema, names, operation, request_schema, resolve, string_list};
use crate::helpers::V1;

/// The seeds directory (`shared/` lies beside the checkout, locally and in CI).
const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/seeds");

// ---- reading the seeds -------------------------------------------------

fn seed_text(prefix: &str) -> String {
    let entry = std::fs::read_dir(SEEDS)
        .unwrap_or_else(|err| panic!("read {SEEDS}: {err}"))
        .map(|entry| entry.expect("dir entry").path())
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no seed {prefix}* in {SEEDS}"));
    std::fs::read_to_string(&entry).expect("read seed")
}

/// The OpenAPI document in a seed's fenced ```yaml block, as JSON.
fn seed_spec(prefix: &str) -> Value {
    let text = seed_text(prefix);
    let mut lines = text.lines();
    lines
        .by_ref()
        .find(|line| line.starts_with("```") && line.contains("yaml"))
        .expect("a yaml block");
    let yaml: Vec<&str> = lines.take_while(|line| !line.starts_with("```")).collect();
    serde_norway::from_str(&yaml.join("\n")).expect("seed yaml parses")
}

/// The non-empty, trimmed lines of a rendered seed page.
fn page_lines(prefix: &str) -> Vec<String> {
    seed_text(prefix)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Letters and digits only, lowercased: descriptions compared whatever their
/// YAML folding and punctuation.
fn normalized(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Every property of a response schema as a dotted name (`results[].eventId`),
/// across all `oneOf` alternatives.
fn response_fields(document: &Value, schema: &Value, prefix: &str, found: &mut BTreeSet<String>) {
    let schema = resolve(document, schema);
    for choice in schema["oneOf"].as_array().into_iter().flatten() {
        response_fields(document, choice, prefix, found);
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let full = format!("{prefix}{name}");
        found.insert(full.clone());
        let property = resolve(document, property);
        response_fields(document, property, &format!("{full}."), found);
        if !property["items"].is_null() {
            response_fields(document, &property["items"], &format!("{full}[]."), found);
        }
    }
}

// ---- comparing with the seed specs -------------------------------------

/// Asserts that `ours` has the seed's rules: types, patterns, lengths, enums,
/// formats, item counts, nullability, property names in order and required
/// lists, recursively. At the paths in `stricter`, our `required` may add
/// names to the seed's: inlet refuses what the seed leaves unsaid there.
fn assert_same_rules(seed: &Value, document: &Value, ours: &Value, at: &str, stricter: &[&str]) {
    let ours = resolve(document, ours);
    for key in [
        "type",
        "pattern",
        "maxLength",
        "minItems",
        "maxItems",
        "enum",
        "format",
    ] {
        assert_eq!(seed.get(key), ours.get(key), "{key} of {at:?}");
    }
    let nullable = |schema: &Value| schema["nullable"].as_bool().unwrap_or(false);
    assert_eq!(nullable(seed), nullable(ours), "nullable of {at:?}");
    let (seed_required, our_required) = (
        string_list(&seed["required"]),
        string_list(&ours["required"]),
    );
    if stricter.contains(&at) {
        assert!(
            seed_required.iter().all(|name| our_required.contains(name)),
            "required of {at:?}: seed {seed_required:?}, ours {our_required:?}"
        );
    } else {
        assert_eq!(seed_required, our_required, "required of {at:?}");
    }
    assert_eq!(names(seed), names(ours), "properties of {at:?}");
    for name in names(seed) {
        let child = if at.is_empty() {
            name.clone()
        } else {
            format!("{at}.{name}")
        };
        assert_same_rules(
            &seed["properties"][&name],
            document,
            &ours["properties"][&name],
            &child,
            stricter,
        );
    }
    if !seed["items"].is_null() {
        assert_same_rules(
            &seed["items"],
            document,
            &ours["items"],
            &format!("{at}[]"),
            stricter,
        );
    }
}

/// Asserts the seed's field descriptions are ours (one line per field, from
/// the domain's tables).
fn assert_same_descriptions(seed_item: &Value, our_item: &Value) {
    for name in names(seed_item) {
        let seed = seed_item["properties"][&name]["description"]
            .as_str()
            .expect("seed description");
        let ours = our_item["properties"][&name]["description"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(normalized(seed), normalized(ours), "description of {name}");
    }
}

/// Asserts that `path` answers the seed's status codes (plus 408, which
/// inlet adds) with the seed's response fields (plus the additive ones).
fn assert_same_responses(seed: &Value, document: &Value, path: &str) {
    let seed_responses = seed["paths"][path]["post"]["responses"]
        .as_object()
        .expect("seed responses");
    let our_responses = operation(document, path, "post")["responses"]
        .as_object()
        .expect("responses");
    let seed_codes: BTreeSet<&String> = seed_responses.keys().collect();
    let our_codes: BTreeSet<&String> = our_responses.keys().collect();
    let added: Vec<&&String> = our_codes.difference(&seed_codes).collect();
    assert!(
        seed_codes.is_subset(&our_codes),
        "{path}: seed {seed_codes:?}, ours {our_codes:?}"
    );
    assert_eq!(
        added,
        [&&"408".to_owned()],
        "{path}: statuses beyond the seed's"
    );
    for (code, seed_response) in seed_responses {
        let schema = |responses: &Value| responses["content"]["application/json"]["schema"].clone();
        let mut seed_fields = BTreeSet::new();
        response_fields(seed, &schema(seed_response), "", &mut seed_fields);
        let mut our_fields = BTreeSet::new();
        response_fields(document, &schema(&our_responses[code]), "", &mut our_fields);
        assert!(!seed_fields.is_empty(), "{path} {code}");
        assert!(
            seed_fields.is_subset(&our_fields),
            "{path} {code}: seed {seed_fields:?}, ours {our_fields:?}"
        );
        if code == "200" {
            let extra: Vec<&String> = our_fields.difference(&seed_fields).collect();
            assert!(
                extra
                    .iter()
                    .all(|name| name.ends_with(".warnings") || name.ends_with(".duplicate")),
                "{path} 200 adds {extra:?}"
            );
        }
    }
}

#[tokio::test]
async fn many_convo_request_has_the_rules_of_seed_000() {
    let seed = seed_spec("000_");
    let document = fetch_document().await;
    let path = format!("{V1}/many-convo-metadata");
    let seed_body =
        &seed["paths"][&path]["post"]["requestBody"]["content"]["application/json"]["schema"];
    // inlet also requires `items`, and `name` and `value` in every attribute.
    let stricter = ["", "items[].attributes[]"];
    assert_same_rules(
        seed_body,
        &document,
        request_schema(&document, &path),
        "",
        &stricter,
    );
    assert_same_descriptions(
        &seed_body["properties"]["items"]["items"],
        item_schema(&document, &path),
    );
    assert_eq!(
        operation(&document, &path, "post")["operationId"],
        seed["paths"][&path]["post"]["operationId"]
    );
    assert_same_responses(&seed, &document, &path);
}

#[tokio::test]
async fn single_customer_request_has_the_rules_of_seed_002() {
    let seed = seed_spec("002_");
    let document = fetch_document().await;
    let path = format!("{V1}/single-customer-metadata");
    let seed_body =
        &seed["paths"][&path]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_same_rules(
        seed_body,
        &document,
        request_schema(&document, &path),
        "",
        &["attributes[]"],
    );
    assert_same_descriptions(seed_body, item_schema(&document, &path));
    assert_eq!(
        operation(&document, &path, "post")["operationId"],
        seed["paths"][&path]["post"]["operationId"]
    );
    assert_same_responses(&seed, &document, &path);
}

#[tokio::test]
async fn security_schemes_are_the_seeds_asapp_headers_and_a_bearer_token() {
    let document = fetch_document().await;
    let ours = document["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    for prefix in ["000_", "002_"] {
        let seed = seed_spec(prefix);
        let seed_schemes = seed["components"]["securitySchemes"]
            .as_object()
            .expect("seed security schemes");
        for (name, scheme) in seed_schemes {
            assert_eq!(ours.get(name), Some(scheme), "{name}");
        }
        // The only scheme beyond the seed's: tokens from POST /Token.
        let added: Vec<&String> = ours
            .keys()
            .filter(|name| !seed_schemes.contains_key(*name))
            .collect();
        assert_eq!(added, ["bearerAuth"]);
        assert_eq!(document["security"], seed["security"]);
    }
    assert_eq!(
        ours["bearerAuth"]["type"], "http",
        "an Authorization header"
    );
    assert_eq!(ours["bearerAuth"]["scheme"], "bearer");
}

#[tokio::test]
async fn many_customer_page_001_lists_our_customer_fields_and_lengths() {
    let document = fetch_document().await;
    let path = format!("{V1}/many-customer-metadata");
    let item = item_schema(&document, &path);
    let lines = page_lines("001_");
    let start = lines
        .iter()
        .position(|line| line.starts_with("A request to send more than one customer metadata"))
        .expect("body description");
    let end = start
        + lines[start..]
            .iter()
            .position(|line| line == "Response")
            .expect("Response");
    // Each field is its description, then "Maximum length:" and the number
    // when it has one; the page leaves out attributes.
    let mut page: Vec<(String, Option<u64>)> = Vec::new();
    let mut rest = lines[start + 1..end].iter();
    while let Some(line) = rest.next() {
        if line == "Maximum length:" {
            let max = rest.next().expect("a length").parse().expect("a number");
            page.last_mut().expect("a field before its length").1 = Some(max);
        } else {
            page.push((normalized(line), None));
        }
    }
    let ours: Vec<(String, Option<u64>)> = names(item)
        .iter()
        .map(|name| {
            let field = &item["properties"][name];
            (
                normalized(field["description"].as_str().expect("description")),
                field["maxLength"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        page,
        ours[..page.len()],
        "fields in order, with their lengths"
    );
    assert_eq!(names(item)[page.len()..], ["attributes"]);
    assert_eq!(
        string_list(&item["required"]),
        ["externalConversationId", "externalCustomerId"]
    );
    // Every key of the page's example request is a documented field.
    let text = seed_text("001_");
    let data = text
        .split("--data '")
        .nth(1)
        .and_then(|rest| rest.split("'\n").next())
        .expect("--data");
    let example: Value = serde_json::from_str(data).expect("example is JSON");
    let documented = names(item);
    for sent in example["items"].as_array().expect("items") {
        for key in sent.as_object().expect("object").keys() {
            assert!(documented.contains(key), "{key} is not documented");
        }
    }
}

/// One field of a rendered page like seed 003.
#[derive(Debug, Default, PartialEq)]
struct PageField {
    name: String,
    type_line: String,
    required: bool,
    description: String,
    max_length: Option<u64>,
    options: Vec<String>,
}

fn is_type_line(line: &str) -> bool {
    let base = line.strip_suffix(" | null").unwrap_or(line);
    [
        "string",
        "enum<string>",
        "string[]",
        "object[]",
        "integer",
        "object",
    ]
    .contains(&base)
}

fn parse_fields(lines: &[String]) -> Vec<PageField> {
    let mut fields: Vec<PageField> = Vec::new();
    let mut in_options = false;
    for (i, line) in lines.iter().enumerate() {
        if lines.get(i + 1).is_some_and(|next| is_type_line(next)) {
            fields.push(PageField {
                name: line.clone(),
                ..PageField::default()
            });
            in_options = false;
            continue;
        }
        let Some(field) = fields.last_mut() else {
            continue;
        };
        if field.type_line.is_empty() {
            field.type_line = line.clone();
        } else if line == "required" {
            field.required = true;
        } else if let Some(max) = line.strip_prefix("Maximum length: ") {
            field.max_length = Some(max.parse().expect("a number"));
        } else if line == "Available options:" {
            in_options = true;
        } else if in_options {
            field.options.push(line.trim_end_matches(',').to_owned());
        } else {
            field.description = normalized(line);
        }
    }
    fields
}

/// How our schema of a field would be rendered on a page like seed 003.
fn as_page_field(document: &Value, item: &Value, name: &str) -> PageField {
    let field = &item["properties"][name];
    let base = match field["type"].as_str().expect("type") {
        "array" => match resolve(document, &field["items"])["type"].as_str() {
            Some("object") => "object[]",
            _ => "string[]",
        },
        "string" if field["enum"].is_array() => "enum<string>",
        other => other,
    };
    let nullable = if field["nullable"] == true {
        " | null"
    } else {
        ""
    };
    PageField {
        name: name.to_owned(),
        type_line: format!("{base}{nullable}"),
        required: string_list(&item["required"]).iter().any(|r| r == name),
        description: normalized(field["description"].as_str().expect("description")),
        max_length: field["maxLength"].as_u64(),
        options: string_list(&field["enum"]),
    }
}

#[tokio::test]
async fn single_convo_page_003_shows_our_conversation_fields() {
    let document = fetch_document().await;
    let path = format!("{V1}/single-convo-metadata");
    let item = item_schema(&document, &path);
    let lines = page_lines("003_");
    let start = lines
        .iter()
        .position(|line| line == "A set of conversation metadata attributes")
        .expect("body");
    let end = start
        + lines[start..]
            .iter()
            .position(|line| line == "Response")
            .expect("Response");
    let page = parse_fields(&lines[start + 1..end]);
    let ours: Vec<PageField> = names(item)
        .iter()
        .map(|name| as_page_field(&document, item, name))
        .collect();
    assert_eq!(
        page.len(),
        18,
        "every conversation field of the page was parsed"
    );
    assert_eq!(page, ours);
    // The page's auth headers and its answer's required `result`.
    for header in ["asapp-api-id", "asapp-api-secret"] {
        assert!(lines.iter().any(|line| line == header));
        let schemes = document["components"]["securitySchemes"]
            .as_object()
            .expect("schemes");
        assert!(
            schemes.values().any(|scheme| scheme["name"] == header),
            "{header}"
        );
    }
    let answer = &operation(&document, &path, "post")["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert_eq!(resolve(&document, answer)["required"], json!(["result"]));
}
