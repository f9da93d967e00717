//! A schema of the document as an HTML table of fields, for `/docs`.
//!
//! Nested objects and arrays of objects are flattened into dotted rows
//! (`items[].attributes[].name`), so one table shows every field a client
//! sends or receives, with its type, whether it is required, and its rules.

use std::fmt::Write;

use serde_json::Value;

use super::docs::{ERROR_SCHEMA, escape, ref_name, rules, text, type_name};

/// How deep nested schemas are followed; the document nests four levels.
const MAX_DEPTH: usize = 8;

/// One flattened field.
struct Row {
    name: String,
    type_name: String,
    required: bool,
    rules: String,
    description: String,
}

/// Writes the table of `schema` (alternatives one after another for `oneOf`).
pub(super) fn table(page: &mut String, document: &Value, schema: &Value) {
    if let Some(choices) = schema["oneOf"].as_array() {
        page.push_str("<p>One of:</p>");
        for choice in choices {
            if ref_name(choice) == Some(ERROR_SCHEMA) {
                page.push_str("<p>the <a href=\"#errors\">error envelope</a></p>");
            } else {
                table(page, document, choice);
            }
        }
        return;
    }
    let resolved = resolve(document, schema);
    if let Some(name) = ref_name(schema) {
        let _ = write!(page, "<p><code>{}</code>", escape(name));
        match resolved["description"].as_str() {
            Some(description) => {
                let _ = write!(page, ": {}</p>", escape(description));
            }
            None => page.push_str("</p>"),
        }
    }
    let mut found = Vec::new();
    rows(document, resolved, "", 0, &mut found);
    if found.is_empty() {
        let _ = write!(page, "<p>{}</p>", escape(&type_name(resolved)));
        return;
    }
    page.push_str(
        "<table><tr><th>field</th><th>type</th><th>required</th><th>rules</th>\
         <th>description</th></tr>",
    );
    for row in found {
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&row.name),
            escape(&row.type_name),
            if row.required { "yes" } else { "" },
            escape(&row.rules),
            escape(&row.description),
        );
    }
    page.push_str("</table>");
}

/// The rows of the properties of `schema`, each name after `prefix`.
fn rows(document: &Value, schema: &Value, prefix: &str, depth: usize, found: &mut Vec<Row>) {
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    let required = schema["required"].as_array();
    for (name, property) in properties {
        let resolved = resolve(document, property);
        let full = format!("{prefix}{name}");
        let description = property["description"]
            .as_str()
            .or_else(|| resolved["description"].as_str())
            .unwrap_or_default();
        found.push(Row {
            name: full.clone(),
            type_name: type_name(property),
            required: required.is_some_and(|list| list.iter().any(|r| r == name.as_str())),
            rules: rules(resolved),
            description: description.trim().to_owned(),
        });
        rows(document, resolved, &format!("{full}."), depth + 1, found);
        // An array's element: its own row when it is a constrained scalar
        // (`companySegment[]`), its fields' rows when it is an object.
        let element = resolve(document, &resolved["items"]);
        let element_rules = rules(element);
        if element["properties"].is_null() && !element_rules.is_empty() {
            found.push(Row {
                name: format!("{full}[]"),
                type_name: type_name(element),
                required: false,
                rules: element_rules,
                description: text(&element["description"]),
            });
        }
        rows(document, element, &format!("{full}[]."), depth + 1, found);
    }
}

/// `schema`, or the component it refers to.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"]
        .as_str()
        .and_then(|reference| reference.strip_prefix("#/"))
    {
        Some(pointer) => document
            .pointer(&format!("/{pointer}"))
            .unwrap_or(&Value::Null),
        None => schema,
    }
}
