//! The reference page at `/docs`: the OpenAPI document rendered as one
//! self-contained HTML page.
//!
//! No script and no stylesheet from elsewhere: inlet runs where there may be
//! no internet. The page is built from the document itself, never from a
//! second description of the API, and every text put into it goes through
//! [`escape`], because descriptions and examples are data, not markup.
//! (`let _ = write!(..)` throughout: writing to a `String` cannot fail.)

use std::fmt::Write;

use serde_json::Value;

/// The component every error response refers to, shown once on the page.
pub(super) const ERROR_SCHEMA: &str = "ErrorResponse";

/// Styling for the page, inline so the page needs nothing else.
const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;\
padding:0 1rem;color:#1d2330}h2{margin-top:3rem;border-top:1px solid #ccd;padding-top:1rem}\
code,.path{font-family:ui-monospace,monospace}table{border-collapse:collapse;width:100%;\
margin:.5rem 0 1rem}th,td{border:1px solid #dde;padding:.3rem .5rem;text-align:left;\
vertical-align:top}th{background:#f3f4f8}.method{font-weight:bold;text-transform:uppercase;\
margin-right:.5rem}.muted{color:#667}.pre{white-space:pre-line}";

/// The page for `document`.
pub(super) fn render(document: &Value) -> String {
    let mut page = String::new();
    let title = text(&document["info"]["title"]);
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} API reference</title><style>{STYLE}</style></head><body>\
         <h1>{} API reference <span class=\"muted\">{}</span></h1>",
        escape(&title),
        escape(&title),
        escape(&text(&document["info"]["version"])),
    );
    paragraph(&mut page, &document["info"]["description"]);
    page.push_str(
        "<p>The machine-readable document is at \
         <a href=\"openapi.json\"><code>/openapi.json</code></a>.</p>",
    );
    security(&mut page, document);
    contents(&mut page, document);
    page.push_str(
        "<h2 id=\"errors\">Errors</h2><p>Every answer other than per-item results has this \
         shape; its code is <code>STATUS-SUBCODE</code>. Retry 429 and 5xx with backoff, never \
         other 4xx.</p>",
    );
    super::fields::table(
        &mut page,
        document,
        &serde_json::json!({ "$ref": format!("#/components/schemas/{ERROR_SCHEMA}") }),
    );
    for (path, method, operation) in operations(document) {
        render_operation(&mut page, document, path, method, operation);
    }
    page.push_str("</body></html>");
    page
}

/// Every `(path, method, operation)` of the document, in its order.
fn operations(document: &Value) -> Vec<(&str, &str, &Value)> {
    let Some(paths) = document["paths"].as_object() else {
        return Vec::new();
    };
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .map(move |(method, operation)| (path.as_str(), method.as_str(), operation))
        })
        .collect()
}

fn security(page: &mut String, document: &Value) {
    page.push_str(
        "<h2 id=\"authentication\">Authentication</h2><p>Every operation below names the \
         credentials it takes, from these schemes; a key's roles decide which operations it \
         may call.</p>\
         <table><tr><th>scheme</th><th>in</th><th>name</th><th>description</th></tr>",
    );
    if let Some(schemes) = document["components"]["securitySchemes"].as_object() {
        for (name, scheme) in schemes {
            // An http scheme is a header whose name the standard fixes.
            let (place, header) = match scheme["type"].as_str() {
                Some("http") => (
                    "header".to_owned(),
                    format!("Authorization: {} …", capitalized(&text(&scheme["scheme"]))),
                ),
                _ => (text(&scheme["in"]), text(&scheme["name"])),
            };
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape(name),
                escape(&place),
                escape(&header),
                escape(&text(&scheme["description"])),
            );
        }
    }
    page.push_str("</table>");
}

/// `bearer` → `Bearer`.
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn contents(page: &mut String, document: &Value) {
    page.push_str(
        "<h2 id=\"operations\">Operations</h2>\
         <table><tr><th>operation</th><th>summary</th><th>role</th></tr>",
    );
    for (path, method, operation) in operations(document) {
        let _ = write!(
            page,
            "<tr><td><a href=\"#{}\"><span class=\"method\">{}</span>\
             <span class=\"path\">{}</span></a></td><td>{}</td><td>{}</td></tr>",
            escape(&text(&operation["operationId"])),
            escape(method),
            escape(path),
            escape(&text(&operation["summary"])),
            escape(role(operation)),
        );
    }
    page.push_str("</table>");
}

/// The security requirements of an operation (the document's when it has
/// none of its own) in words: `API-ID + API-Secret, or bearerAuth`.
fn credentials(document: &Value, operation: &Value) -> String {
    let requirements = operation
        .get("security")
        .unwrap_or(&document["security"])
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let alternatives: Vec<String> = requirements
        .iter()
        .filter_map(Value::as_object)
        .map(|schemes| {
            let names: Vec<&str> = schemes.keys().map(String::as_str).collect();
            names.join(" + ")
        })
        .collect();
    if alternatives.is_empty() {
        "none".to_owned()
    } else {
        alternatives.join(", or ")
    }
}

/// The role an operation needs; `any` for one open to every valid key,
/// `no key` for one whose `security` is empty.
fn role(operation: &Value) -> &str {
    if operation["security"].as_array().is_some_and(Vec::is_empty) {
        return "no key";
    }
    operation["x-role"].as_str().unwrap_or("any")
}

fn render_operation(
    page: &mut String,
    document: &Value,
    path: &str,
    method: &str,
    operation: &Value,
) {
    let _ = write!(
        page,
        "<h2 id=\"{}\"><span class=\"method\">{}</span><span class=\"path\">{}</span></h2>\
         <p><strong>{}</strong> <span class=\"muted\">(role: {})</span></p>",
        escape(&text(&operation["operationId"])),
        escape(method),
        escape(path),
        escape(&text(&operation["summary"])),
        escape(role(operation)),
    );
    let _ = write!(
        page,
        "<p>Credentials: {}</p>",
        escape(&credentials(document, operation))
    );
    paragraph(page, &operation["description"]);
    if let Some(parameters) = operation["parameters"].as_array() {
        render_parameters(page, parameters);
    }
    let bodies = operation["requestBody"]["content"].as_object();
    for (media_type, body) in bodies.into_iter().flatten() {
        let _ = write!(page, "<h3>Request body ({})</h3>", escape(media_type));
        super::fields::table(page, document, &body["schema"]);
        if let Some(example) = body.get("example") {
            let pretty = serde_json::to_string_pretty(example).unwrap_or_default();
            let _ = write!(
                page,
                "<h4>Example</h4><pre><code>{}</code></pre>",
                escape(&pretty)
            );
        }
    }
    render_responses(page, document, operation);
}

/// Answers with their own body first, each with its fields; then one table
/// of the error statuses, whose body is always the envelope.
fn render_responses(page: &mut String, document: &Value, operation: &Value) {
    let responses = operation["responses"].as_object().into_iter().flatten();
    let (errors, answers): (Vec<_>, Vec<_>) =
        responses.partition(|(_, response)| ref_name(body(response)) == Some(ERROR_SCHEMA));
    page.push_str("<h3>Responses</h3>");
    for (status, response) in answers {
        let _ = write!(page, "<h4>{}</h4>", escape(status));
        paragraph(page, &response["description"]);
        let schema = body(response);
        if !schema.is_null() {
            super::fields::table(page, document, schema);
        }
    }
    if errors.is_empty() {
        return;
    }
    page.push_str(
        "<h4>Errors</h4><p>Body: the <a href=\"#errors\">error envelope</a>.</p>\
         <table><tr><th>status</th><th>codes and meaning</th></tr>",
    );
    for (status, response) in errors {
        let _ = write!(
            page,
            "<tr><td>{}</td><td class=\"pre\">{}</td></tr>",
            escape(status),
            escape(&text(&response["description"]).replace("\n\n", "\n")),
        );
    }
    page.push_str("</table>");
}

fn render_parameters(page: &mut String, parameters: &[Value]) {
    page.push_str(
        "<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>type</th><th>rules</th>\
         <th>description</th></tr>",
    );
    for parameter in parameters {
        let required = if parameter["required"] == true {
            ", required"
        } else {
            ""
        };
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&text(&parameter["name"])),
            escape(&text(&parameter["in"])),
            required,
            escape(&type_name(&parameter["schema"])),
            escape(&rules(&parameter["schema"])),
            escape(&text(&parameter["description"])),
        );
    }
    page.push_str("</table>");
}

/// The schema of a response's JSON body (null when it has none).
fn body(response: &Value) -> &Value {
    &response["content"]["application/json"]["schema"]
}

/// A description as a paragraph that keeps its line breaks.
fn paragraph(page: &mut String, description: &Value) {
    if let Some(description) = description.as_str() {
        let _ = write!(page, "<p class=\"pre\">{}</p>", escape(description.trim()));
    }
}

/// The type of a schema in words: `string | null`, `array of Attribute`.
pub(super) fn type_name(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return name.to_owned();
    }
    if let Some(choices) = schema["oneOf"].as_array() {
        let names: Vec<String> = choices.iter().map(type_name).collect();
        return format!("one of {}", names.join(", "));
    }
    let mut name = match schema["type"].as_str() {
        Some("array") => format!("array of {}", type_name(&schema["items"])),
        Some(other) => other.to_owned(),
        None => "any JSON".to_owned(),
    };
    if let Some(format) = schema["format"].as_str() {
        let _ = write!(name, " ({format})");
    }
    if schema["nullable"] == true {
        name.push_str(" | null");
    }
    name
}

/// The constraints of a schema in words: pattern, lengths, options, counts.
pub(super) fn rules(schema: &Value) -> String {
    let mut rules = Vec::new();
    if let Some(pattern) = schema["pattern"].as_str() {
        rules.push(format!("pattern {pattern} (whole value)"));
    }
    match schema["minLength"].as_u64() {
        Some(1) => rules.push("not empty".to_owned()),
        Some(min) => rules.push(format!("at least {min} characters")),
        None => {}
    }
    let bounds = [
        ("maxLength", "at most", "characters"),
        ("minItems", "at least", "items"),
        ("maxItems", "at most", "items"),
        ("minimum", "at least", ""),
        ("maximum", "at most", ""),
        ("default", "default", ""),
    ];
    for (key, words, unit) in bounds {
        if let Some(value) = schema.get(key) {
            let unit = if *value == 1 {
                unit.trim_end_matches('s')
            } else {
                unit
            };
            rules.push(format!("{words} {value} {unit}").trim_end().to_owned());
        }
    }
    if let Some(options) = schema["enum"].as_array() {
        let options: Vec<String> = options.iter().map(text).collect();
        rules.push(format!("one of {}", options.join(", ")));
    }
    rules.join("; ")
}

/// The name a `$ref` points to.
pub(super) fn ref_name(schema: &Value) -> Option<&str> {
    schema["$ref"].as_str()?.rsplit('/').next()
}

/// A JSON value as plain text: strings bare, anything else as JSON.
pub(super) fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `text` with the five HTML-special characters escaped, safe in element
/// content and in quoted attribute values alike.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escape_neutralises_every_html_special_character() {
        assert_eq!(
            escape(r#"<a href="x">Tom's & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; Jerry&#39;s&lt;/a&gt;"
        );
    }

    #[test]
    fn a_description_with_markup_is_rendered_as_text() {
        let document = json!({
            "info": {"title": "t", "version": "1", "description": "<script>alert(1)</script>"},
            "paths": {},
        });
        let page = render(&document);
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn type_name_says_nullable_and_array_element_types() {
        let schema = json!({
            "type": "array",
            "items": {"$ref": "#/components/schemas/Attribute"},
            "nullable": true,
        });
        assert_eq!(type_name(&schema), "array of Attribute | null");
        let schema = json!({"type": "string", "format": "email"});
        assert_eq!(type_name(&schema), "string (email)");
    }
}
