//! Brings `openapi.yaml` and the document generated from the handlers to one canonical OpenAPI 3.0 form and diffs them.
//!
//! A crate of its own, used by the contract test, the end-to-end coverage test and
//! `cargo xtask openapi check`: none of it runs in the production server, which only serves
//! the document (`keyward_server::contract::OPENAPI_YAML`).
//!
//! No tool writes `openapi.yaml`: people do, and the handlers must agree with
//! it. utoipa 6 emits OpenAPI 3.1 while the contract is 3.0.3, and the two
//! documents spell the same contract differently (prose, `$ref`s to shared
//! responses and parameters, nullability, key order). [`canonicalize`] removes
//! every difference that is not part of the contract, so that what
//! [`diff`] still shows is a real disagreement. Run it with
//! `cargo xtask openapi check`; `server/tests/contract.rs` runs it under plain
//! `cargo test`.
//!
//! The canonical form:
//! - has no prose: `description`, `summary`, `example`, `examples`, schema
//!   `title`, `info`, `servers`, `tags`, `externalDocs`, `$comment` and the
//!   `openapi` version string are gone, and so are flags set to their default
//!   (`deprecated`, `readOnly`, `writeOnly`, `nullable`, `uniqueItems` and a
//!   parameter's or header's `required` and `allowEmptyValue` when `false`,
//!   a `style` or `explode` that is the default for its location);
//! - inlines every `$ref` to `#/components/{responses,parameters,headers,requestBodies}`
//!   and drops those sections (and `examples`), but keeps `$ref`s to
//!   `#/components/schemas`;
//! - merges path-level parameters into each operation, sorts parameters by
//!   `(in, name)` and lowercases header names, of parameters and of responses;
//! - copies the top-level `security` into each operation that has none, then
//!   drops it; `[{}]` (utoipa's `security(())`) becomes `[]`; alternatives and
//!   scopes are sorted;
//! - reads nullability the 3.0 way: `type: [T, "null"]` is `type: T` with
//!   `nullable: true`; a `oneOf` or `anyOf` with a `{type: "null"}` branch
//!   loses that branch and gains `nullable: true`, and when one branch is left
//!   it is merged in, or, for a `$ref`, becomes `allOf: [{$ref}]` beside
//!   `nullable: true` (the 3.0 way to write a nullable reference);
//! - reads a `$ref` with sibling keys as its version does: 3.0 ignores the
//!   siblings, 3.1 applies them too (`allOf: [{$ref}]` plus the siblings);
//!   `allOf` with one member and nothing beside it is that member;
//! - turns 3.1's `const` into a one-value `enum` and numeric
//!   `exclusiveMinimum`/`exclusiveMaximum` into the 3.0 boolean form;
//! - writes `additionalProperties: {}` as `additionalProperties: true`, drops
//!   `propertyNames: {type: string}` (every JSON key is a string) and
//!   `required: []`, sorts `required`, `enum` (and `null` leaves the `enum` of a
//!   nullable schema), `oneOf`, `anyOf` and `allOf`;
//! - sorts the keys of every object.
//!
//! It keeps everything else, content types included: the server must really
//! answer `application/problem+json`, and a `minimum: 0` that an unsigned Rust
//! type adds is a real constraint for the server to declare or drop.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};
use similar::{ChangeTag, TextDiff};

/// The hand-written contract, as committed.
pub const OPENAPI_YAML: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"));

/// Parses the committed `openapi.yaml`.
///
/// # Panics
///
/// When `openapi.yaml` is not valid YAML; `.ci/run` validates it first.
pub fn committed_spec() -> Value {
    match yaml_serde::from_str(OPENAPI_YAML) {
        Ok(doc) => doc,
        Err(err) => panic!("openapi.yaml is not valid YAML: {err}"),
    }
}

/// Brings an OpenAPI 3.0 or 3.1 document to the canonical 3.0 form described in the module docs.
pub fn canonicalize(doc: &Value) -> Value {
    let Value::Object(root) = doc else {
        return sort_keys(doc);
    };
    let is_31 = root.get("openapi").and_then(Value::as_str).is_some_and(|version| version.starts_with("3.1"));
    let empty = Map::new();
    let components = root.get("components").and_then(Value::as_object).unwrap_or(&empty);
    let top_security = root.get("security");

    let out = kept_fields(root, |key, value| match key {
        "openapi" | "info" | "servers" | "tags" | "externalDocs" | "security" | "jsonSchemaDialect" => None,
        "paths" => Some(canon_paths(&inline_refs(value, components, 0), is_31, top_security)),
        "components" => canon_components(&inline_refs(value, components, 0), is_31),
        _ => Some(value.clone()),
    });
    sort_keys(&Value::Object(out))
}

/// A unified diff of two canonical documents rendered as YAML, or the empty string when they agree.
///
/// Each hunk header ends with the YAML path of its first change, such as
/// `components.schemas.ApiKey.properties.name.maxLength`.
pub fn diff(expected: &Value, actual: &Value) -> String {
    let old = to_yaml(expected);
    let new = to_yaml(actual);
    let text_diff = TextDiff::from_lines(&old, &new);
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();

    let mut out = String::new();
    for hunk in text_diff.unified_diff().context_radius(4).iter_hunks() {
        if out.is_empty() {
            out.push_str("--- openapi.yaml\n+++ generated from the handlers\n");
        }
        let location = hunk
            .iter_changes()
            .find_map(|change| match change.tag() {
                ChangeTag::Delete => change.old_index().map(|i| yaml_path(&old_lines, i)),
                ChangeTag::Insert => change.new_index().map(|i| yaml_path(&new_lines, i)),
                ChangeTag::Equal => None,
            })
            .unwrap_or_default();
        let _ = writeln!(out, "{} {location}", hunk.header());
        for change in hunk.iter_changes() {
            let sign = match change.tag() {
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
                ChangeTag::Equal => ' ',
            };
            let _ = write!(out, "{sign}{}", change.value());
            if change.missing_newline() {
                out.push('\n');
            }
        }
    }
    out
}

const OPERATIONS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The component sections whose `$ref`s are inlined, then dropped.
const INLINED: [&str; 5] = ["responses", "parameters", "headers", "requestBodies", "examples"];

/// Deeper than any honest chain of references; stops a cycle.
const MAX_REF_DEPTH: usize = 16;

fn to_yaml(value: &Value) -> String {
    match yaml_serde::to_string(value) {
        Ok(text) => text,
        Err(err) => format!("# cannot render as YAML: {err}\n{value:#}\n"),
    }
}

/// Replaces each `$ref` into an inlined component section with the component itself.
fn inline_refs(value: &Value, components: &Map<String, Value>, depth: usize) -> Value {
    match value {
        Value::Object(map) => {
            if depth < MAX_REF_DEPTH
                && let Some(target) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|reference| lookup(components, reference))
            {
                return inline_refs(target, components, depth + 1);
            }
            Value::Object(
                map.iter().map(|(key, value)| (key.clone(), inline_refs(value, components, depth))).collect(),
            )
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| inline_refs(item, components, depth)).collect())
        }
        other => other.clone(),
    }
}

fn lookup<'a>(components: &'a Map<String, Value>, reference: &str) -> Option<&'a Value> {
    let (section, name) = reference.strip_prefix("#/components/")?.split_once('/')?;
    if !INLINED.contains(&section) {
        return None;
    }
    components.get(section)?.get(name.replace("~1", "/").replace("~0", "~"))
}

fn canon_components(components: &Value, is_31: bool) -> Option<Value> {
    let Value::Object(components) = components else {
        return Some(components.clone());
    };
    let out = kept_fields(components, |section, value| match section {
        _ if INLINED.contains(&section) => None,
        "schemas" if value.is_object() => Some(map_values(value, |schema| canon_schema(schema, is_31))),
        "securitySchemes" if value.is_object() => {
            Some(map_values(value, |scheme| without(scheme, &["description"])))
        }
        _ => Some(value.clone()),
    });
    (!out.is_empty()).then_some(Value::Object(out))
}

fn canon_paths(paths: &Value, is_31: bool, top_security: Option<&Value>) -> Value {
    map_values(paths, |item| canon_path_item(item, is_31, top_security))
}

fn canon_path_item(item: &Value, is_31: bool, top_security: Option<&Value>) -> Value {
    let shared: &[Value] = item.get("parameters").and_then(Value::as_array).map_or(&[], Vec::as_slice);
    map_fields(item, |key, value| match key {
        "summary" | "description" | "servers" | "parameters" => None,
        method if OPERATIONS.contains(&method) => Some(canon_operation(value, shared, is_31, top_security)),
        _ => Some(value.clone()),
    })
}

fn canon_operation(operation: &Value, shared: &[Value], is_31: bool, top_security: Option<&Value>) -> Value {
    let Value::Object(operation) = operation else {
        return operation.clone();
    };
    let mut out = kept_fields(operation, |key, value| match key {
        "tags" | "summary" | "description" | "externalDocs" | "servers" | "parameters" | "security" => None,
        "deprecated" if value == &Value::Bool(false) => None,
        "requestBody" => Some(canon_request_body(value, is_31)),
        "responses" => Some(canon_responses(value, is_31)),
        "callbacks" => Some(map_values(value, |callback| {
            map_values(callback, |item| canon_path_item(item, is_31, top_security))
        })),
        _ => Some(value.clone()),
    });

    let own: &[Value] = operation.get("parameters").and_then(Value::as_array).map_or(&[], Vec::as_slice);
    let mut parameters: Vec<Value> = own.iter().map(|p| canon_parameter(p, is_31)).collect();
    for parameter in shared.iter().map(|p| canon_parameter(p, is_31)) {
        if !parameters.iter().any(|p| parameter_key(p) == parameter_key(&parameter)) {
            parameters.push(parameter);
        }
    }
    if !parameters.is_empty() {
        parameters.sort_by(|a, b| parameter_key(a).cmp(&parameter_key(b)).then_with(|| cmp_json(a, b)));
        out.insert("parameters".into(), Value::Array(parameters));
    }

    if let Some(security) = operation.get("security").or(top_security) {
        out.insert("security".into(), canon_security(security));
    }
    Value::Object(out)
}

fn parameter_key(parameter: &Value) -> (String, String) {
    let field = |name: &str| parameter.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    (field("in"), field("name"))
}

fn canon_parameter(parameter: &Value, is_31: bool) -> Value {
    let location = parameter.get("in").and_then(Value::as_str).unwrap_or_default();
    let default_style = match location {
        "query" | "cookie" => "form",
        _ => "simple",
    };
    map_fields(parameter, |key, value| match key {
        "description" | "example" | "examples" => None,
        "required" | "deprecated" | "allowEmptyValue" | "allowReserved" if value == &Value::Bool(false) => {
            None
        }
        "style" if value.as_str() == Some(default_style) => None,
        "explode" if value.as_bool() == Some(default_style == "form") => None,
        "name" if location == "header" => {
            Some(Value::String(value.as_str().unwrap_or_default().to_ascii_lowercase()))
        }
        "schema" => Some(canon_schema(value, is_31)),
        "content" => Some(canon_content(value, is_31)),
        _ => Some(value.clone()),
    })
}

fn canon_request_body(body: &Value, is_31: bool) -> Value {
    map_fields(body, |key, value| match key {
        "description" => None,
        "required" if value == &Value::Bool(false) => None,
        "content" => Some(canon_content(value, is_31)),
        _ => Some(value.clone()),
    })
}

fn canon_responses(responses: &Value, is_31: bool) -> Value {
    map_values(responses, |response| {
        map_fields(response, |key, value| match key {
            "description" => None,
            "content" => Some(canon_content(value, is_31)),
            "headers" => Some(canon_headers(value, is_31)),
            _ => Some(value.clone()),
        })
    })
}

fn canon_headers(headers: &Value, is_31: bool) -> Value {
    let Value::Object(headers) = headers else {
        return headers.clone();
    };
    Value::Object(
        headers
            .iter()
            .map(|(name, header)| (name.to_ascii_lowercase(), canon_header(header, is_31)))
            .collect(),
    )
}

fn canon_header(header: &Value, is_31: bool) -> Value {
    map_fields(header, |key, value| match key {
        "description" | "example" | "examples" => None,
        "required" | "deprecated" | "explode" if value == &Value::Bool(false) => None,
        "style" if value.as_str() == Some("simple") => None,
        "schema" => Some(canon_schema(value, is_31)),
        "content" => Some(canon_content(value, is_31)),
        _ => Some(value.clone()),
    })
}

fn canon_content(content: &Value, is_31: bool) -> Value {
    map_values(content, |media| {
        map_fields(media, |key, value| match key {
            "example" | "examples" => None,
            "schema" => Some(canon_schema(value, is_31)),
            "encoding" => Some(map_values(value, |encoding| match encoding.get("headers") {
                Some(headers) => {
                    let mut encoding = encoding.clone();
                    encoding["headers"] = canon_headers(headers, is_31);
                    encoding
                }
                None => encoding.clone(),
            })),
            _ => Some(value.clone()),
        })
    })
}

fn canon_security(security: &Value) -> Value {
    let Value::Array(requirements) = security else {
        return security.clone();
    };
    if requirements.iter().all(|r| r.as_object().is_some_and(Map::is_empty)) {
        return Value::Array(Vec::new());
    }
    let mut requirements: Vec<Value> =
        requirements.iter().map(|requirement| map_values(requirement, sorted_array)).collect();
    requirements.sort_by(cmp_json);
    requirements.dedup();
    Value::Array(requirements)
}

fn canon_schema(schema: &Value, is_31: bool) -> Value {
    let Value::Object(schema) = schema else {
        return schema.clone();
    };
    let mut s = kept_fields(schema, |key, value| match key {
        "description" | "title" | "example" | "examples" | "externalDocs" | "$comment" => None,
        "deprecated" | "readOnly" | "writeOnly" | "nullable" | "uniqueItems"
            if value == &Value::Bool(false) =>
        {
            None
        }
        "properties" | "patternProperties" | "dependentSchemas" | "$defs" | "definitions" => {
            Some(map_values(value, |schema| canon_schema(schema, is_31)))
        }
        "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
            Some(array_values(value, |schema| canon_schema(schema, is_31)))
        }
        "items" | "additionalItems" if value.is_array() => {
            Some(array_values(value, |schema| canon_schema(schema, is_31)))
        }
        "items"
        | "additionalItems"
        | "additionalProperties"
        | "not"
        | "contains"
        | "propertyNames"
        | "if"
        | "then"
        | "else"
        | "unevaluatedItems"
        | "unevaluatedProperties" => Some(canon_schema(value, is_31)),
        _ => Some(value.clone()),
    });

    // A `$ref` beside other keys: 3.0 ignores them, 3.1 applies them as well.
    if s.len() > 1
        && let Some(reference) = s.remove("$ref")
    {
        if is_31 {
            let mut all_of = vec![json!({ "$ref": reference })];
            if let Some(Value::Array(more)) = s.remove("allOf") {
                all_of.extend(more);
            }
            s.insert("allOf".into(), Value::Array(all_of));
        } else {
            s = Map::from_iter([("$ref".to_owned(), reference)]);
        }
    }

    // 3.1: `type: [T, "null"]`.
    if let Some(Value::Array(types)) = s.get("type") {
        let mut rest: Vec<Value> = types.iter().filter(|t| t.as_str() != Some("null")).cloned().collect();
        let nullable = rest.len() < types.len() && !rest.is_empty();
        rest.sort_by(cmp_json);
        rest.dedup();
        let single = match rest.len() {
            0 => Value::from("null"),
            1 => rest.remove(0),
            _ => Value::Array(rest),
        };
        s.insert("type".into(), single);
        if nullable {
            s.insert("nullable".into(), Value::Bool(true));
        }
    }

    // 3.1: `const` and numeric exclusive bounds.
    if let Some(value) = s.remove("const") {
        s.insert("enum".into(), Value::Array(vec![value]));
    }
    for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(limit) = s.get(exclusive).filter(|v| v.is_number()).cloned() {
            s.insert(bound.into(), limit);
            s.insert(exclusive.into(), Value::Bool(true));
        }
    }

    // 3.1: a `oneOf` or `anyOf` with a `{type: "null"}` branch.
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(branches)) = s.get(key) else {
            continue;
        };
        let (nulls, mut rest): (Vec<Value>, Vec<Value>) = branches.iter().cloned().partition(is_null_schema);
        if nulls.is_empty() || rest.is_empty() {
            continue;
        }
        s.insert("nullable".into(), Value::Bool(true));
        if rest.len() > 1 {
            s.insert(key.into(), Value::Array(rest));
            continue;
        }
        s.remove(key);
        let only = rest.pop().unwrap_or_default();
        match only {
            Value::Object(branch)
                if !branch.contains_key("$ref")
                    && branch.keys().all(|k| !s.contains_key(k) || k == "nullable") =>
            {
                s.extend(branch);
            }
            other => {
                let mut all_of = vec![other];
                if let Some(Value::Array(more)) = s.remove("allOf") {
                    all_of.extend(more);
                }
                s.insert("allOf".into(), Value::Array(all_of));
            }
        }
    }

    if s.get("nullable") == Some(&Value::Bool(true))
        && let Some(Value::Array(values)) = s.get_mut("enum")
    {
        values.retain(|v| !v.is_null());
    }
    if s.get("nullable") == Some(&Value::Bool(false)) {
        s.remove("nullable");
    }
    for key in ["enum", "required", "oneOf", "anyOf", "allOf"] {
        if let Some(values) = s.get_mut(key) {
            *values = sorted_array(values);
        }
    }
    if let Some(Value::Array(required)) = s.get_mut("required") {
        required.dedup();
        if required.is_empty() {
            s.remove("required");
        }
    }
    if s.get("additionalProperties").is_some_and(|v| v.as_object().is_some_and(Map::is_empty)) {
        s.insert("additionalProperties".into(), Value::Bool(true));
    }
    if s.get("propertyNames") == Some(&json!({ "type": "string" })) {
        s.remove("propertyNames");
    }

    // `allOf` with one member and nothing beside it is that member.
    if s.len() == 1
        && let Some(Value::Array(members)) = s.get("allOf")
        && members.len() == 1
    {
        return members[0].clone();
    }
    Value::Object(s)
}

/// Only `null`: 3.1's `{type: "null"}`, or 3.0.3's `{type: T, nullable: true, enum: [null]}`.
fn is_null_schema(schema: &Value) -> bool {
    *schema == json!({ "type": "null" })
        || *schema == json!({ "enum": [null] })
        || schema.as_object().is_some_and(|s| {
            s.get("nullable") == Some(&Value::Bool(true))
                // Canonical already, a nullable enum keeps its `null` in `nullable` alone.
                && (s.get("enum") == Some(&json!([null])) || s.get("enum") == Some(&json!([])))
                && s.keys().all(|k| matches!(k.as_str(), "type" | "nullable" | "enum"))
        })
}

fn without(value: &Value, keys: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !keys.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The fields of `map` as `field` makes them from each name and value, leaving out those it
/// makes `None`.
fn kept_fields(
    map: &Map<String, Value>,
    field: impl Fn(&str, &Value) -> Option<Value>,
) -> Map<String, Value> {
    map.iter().filter_map(|(key, value)| Some((key.clone(), field(key, value)?))).collect()
}

/// [`kept_fields`] of an object; anything else as it is.
fn map_fields(value: &Value, field: impl Fn(&str, &Value) -> Option<Value>) -> Value {
    match value {
        Value::Object(map) => Value::Object(kept_fields(map, field)),
        other => other.clone(),
    }
}

fn map_values(value: &Value, f: impl Fn(&Value) -> Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(key, value)| (key.clone(), f(value))).collect()),
        other => other.clone(),
    }
}

fn array_values(value: &Value, f: impl Fn(&Value) -> Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(f).collect()),
        other => other.clone(),
    }
}

fn sorted_array(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items = items.clone();
            items.sort_by(cmp_json);
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// Orders values by their canonical JSON text.
fn cmp_json(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a.cmp(b),
        _ => sort_keys(a).to_string().cmp(&sort_keys(b).to_string()),
    }
}

/// Rebuilds every object with its keys in order, whatever `serde_json`'s map keeps.
fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(entries.into_iter().map(|(key, value)| (key.clone(), sort_keys(value))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// The dotted path of mapping keys that leads to line `index` of a YAML text written by `yaml_serde`.
fn yaml_path(lines: &[&str], index: usize) -> String {
    let mut parts = Vec::new();
    let mut limit = usize::MAX;
    for line in lines[..=index].iter().rev() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        let (start, item) = match body.strip_prefix("- ") {
            // A sequence item belongs to the key at its own indentation.
            Some(rest) => (indent + 1, rest),
            None => (indent, body),
        };
        if start >= limit || body.is_empty() {
            continue;
        }
        limit = start;
        if body.starts_with("- ") {
            parts.push("[]".to_owned());
        } else if let Some(key) = yaml_key(item) {
            parts.push(key);
        }
    }
    parts.reverse();
    parts.join(".").replace(".[]", "[]")
}

fn yaml_key(line: &str) -> Option<String> {
    let quote = line.chars().next().filter(|c| *c == '\'' || *c == '"');
    let end = match quote {
        Some(quote) => line[1..].find(quote)? + 2,
        None => line.find(": ").or_else(|| line.strip_suffix(':').map(str::len))?,
    };
    let key = &line[..end];
    Some(key.trim_matches(|c| c == '\'' || c == '"').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation_ids(doc: &Value) -> Vec<(String, String, String)> {
        let mut ids = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                    ids.push((path.clone(), method.clone(), id.to_owned()));
                }
            }
        }
        ids.sort();
        ids
    }

    /// A small 3.1 document shaped like utoipa 6's output.
    fn generated_like() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": { "title": "keyward-server", "version": "0.1.0", "license": { "name": "" } },
            "paths": {
                "/v1/things": { "get": {
                    "operationId": "thing_list",
                    "summary": "List things",
                    "tags": [],
                    "parameters": [
                        { "in": "query", "name": "limit", "required": false,
                          "schema": { "type": "integer", "format": "int32", "minimum": 1 } },
                        { "in": "header", "name": "If-Match", "required": false, "schema": { "type": "string" } }
                    ],
                    "responses": { "200": {
                        "description": "ok",
                        "headers": { "ETag": { "schema": { "type": "string" } } },
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } }
                    } }
                } }
            },
            "components": { "schemas": { "Thing": {
                "type": "object",
                "required": ["name", "note"],
                "properties": {
                    "name": { "type": "string", "description": "The name" },
                    "note": { "type": ["string", "null"] },
                    "link": { "oneOf": [
                        { "$ref": "#/components/schemas/Link", "description": "A link" },
                        { "type": "null" }
                    ] },
                    "meta": { "type": "object", "additionalProperties": {}, "propertyNames": { "type": "string" } }
                }
            } } },
            "security": [{ "api_key": [] }]
        })
    }

    /// The same contract as `generated_like`, written the way `openapi.yaml` is.
    fn hand_written_like() -> Value {
        yaml_serde::from_str(
            r##"
openapi: 3.0.3
info: { title: Keyward, version: 0.1.0 }
security:
  - api_key: []
paths:
  /v1/things:
    get:
      operationId: thing_list
      parameters:
        - $ref: '#/components/parameters/if_match'
        - name: limit
          in: query
          schema: { type: integer, format: int32, minimum: 1 }
      responses:
        '200':
          $ref: '#/components/responses/Things'
components:
  parameters:
    if_match:
      name: if-match
      in: header
      required: false
      description: Only if unchanged
      schema: { type: string }
  responses:
    Things:
      description: The things
      headers:
        etag: { schema: { type: string } }
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Thing'
  schemas:
    Thing:
      type: object
      required: [note, name]
      properties:
        name: { type: string }
        note: { type: string, nullable: true }
        link:
          allOf: [{ $ref: '#/components/schemas/Link' }]
          nullable: true
        meta: { type: object, additionalProperties: true }
"##,
        )
        .expect("test YAML parses")
    }

    #[test]
    fn canonicalizing_is_idempotent() {
        for doc in [committed_spec(), generated_like(), hand_written_like()] {
            let once = canonicalize(&doc);
            assert_eq!(diff(&once, &canonicalize(&once)), "");
        }
    }

    #[test]
    fn canonicalizing_the_committed_spec_keeps_every_path_and_operation_id() {
        let spec = committed_spec();
        let canonical = canonicalize(&spec);
        assert_eq!(operation_ids(&canonical), operation_ids(&spec));
        assert!(operation_ids(&spec).iter().any(|(_, _, id)| id == "api_key_create"));
    }

    #[test]
    fn canonicalizing_the_committed_spec_inlines_shared_parts_and_keeps_schema_refs() {
        let canonical = canonicalize(&committed_spec());
        let components = canonical["components"].as_object().expect("components");
        assert!(components.contains_key("schemas"));
        assert!(!components.contains_key("responses"));
        assert!(!components.contains_key("parameters"));
        assert!(canonical.get("security").is_none());
        let view = &canonical["paths"]["/v1/api_keys/{api_key_id}"]["get"];
        assert_eq!(
            view["responses"]["404"]["content"]["application/problem+json"]["schema"],
            json!({ "$ref": "#/components/schemas/Problem" })
        );
        assert_eq!(view["responses"]["200"]["headers"]["etag"], json!({ "schema": { "type": "string" } }));
        assert_eq!(view["security"], json!([{ "api_key": [] }, { "bearer": [] }]));
        assert_eq!(canonical["paths"]["/v1/health"]["get"]["security"], json!([]));
    }

    #[test]
    fn a_31_type_array_with_null_equals_a_30_nullable() {
        let v31 = json!({ "openapi": "3.1.0", "components": { "schemas": { "A": { "type": ["string", "null"] } } } });
        let v30 = json!({ "openapi": "3.0.3", "components": { "schemas": { "A": { "type": "string", "nullable": true } } } });
        assert_eq!(canonicalize(&v31), canonicalize(&v30));
    }

    #[test]
    fn a_31_nullable_ref_equals_a_30_nullable_all_of() {
        let v31 = json!({ "openapi": "3.1.0", "components": { "schemas": { "A": {
            "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/B", "description": "prose" }]
        } } } });
        let v30 = json!({ "openapi": "3.0.3", "components": { "schemas": { "A": {
            "allOf": [{ "$ref": "#/components/schemas/B" }], "nullable": true
        } } } });
        assert_eq!(canonicalize(&v31), canonicalize(&v30));
    }

    #[test]
    fn a_30_reference_or_null_equals_a_31_nullable_ref() {
        let written = json!({
            "oneOf": [
                { "$ref": "#/components/schemas/B" },
                { "type": "object", "nullable": true, "enum": [null] }
            ]
        });
        let generated = json!({ "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/B" }] });
        assert_eq!(canon_schema(&written, false), canon_schema(&generated, true));
    }

    #[test]
    fn a_utoipa_like_document_equals_the_same_contract_written_by_hand() {
        let expected = canonicalize(&hand_written_like());
        let actual = canonicalize(&generated_like());
        assert_eq!(diff(&expected, &actual), "");
    }

    #[test]
    fn a_document_diffed_against_itself_is_empty() {
        let canonical = canonicalize(&committed_spec());
        assert_eq!(diff(&canonical, &canonical), "");
    }

    /// The diff of the committed spec against a copy of it that `change` made.
    fn diff_after(change: impl FnOnce(&mut Value)) -> String {
        let mut changed = committed_spec();
        change(&mut changed);
        diff(&canonicalize(&committed_spec()), &canonicalize(&changed))
    }

    #[test]
    fn a_changed_max_length_shows_in_the_diff_with_its_path() {
        let out = diff_after(|spec| {
            spec["components"]["schemas"]["ApiKeyCreate"]["properties"]["name"]["maxLength"] = json!(64);
        });
        assert!(out.starts_with("--- openapi.yaml\n+++ generated from the handlers\n"), "{out}");
        assert!(out.contains("components.schemas.ApiKeyCreate.properties.name.maxLength"), "{out}");
        assert!(out.contains("\n-          maxLength: 128\n"), "{out}");
        assert!(out.contains("\n+          maxLength: 64\n"), "{out}");
    }

    #[test]
    fn a_changed_property_type_shows_in_the_diff_with_its_path() {
        let out = diff_after(|spec| {
            spec["components"]["schemas"]["ApiKey"]["properties"]["revision"] = json!({ "type": "string" });
        });
        assert!(out.contains("components.schemas.ApiKey.properties.revision"), "{out}");
        assert!(out.contains("\n-          type: integer\n"), "{out}");
        assert!(out.contains("\n+          type: string\n"), "{out}");
    }

    #[test]
    fn a_changed_content_type_shows_in_the_diff() {
        let expected = canonicalize(&committed_spec());
        let mut actual = expected.clone();
        let responses = &mut actual["paths"]["/v1/organization"]["get"]["responses"]["401"]["content"];
        let problem = responses["application/problem+json"].take();
        *responses = json!({ "application/json": problem });
        let out = diff(&expected, &actual);
        assert!(out.contains("\n-            application/problem+json:\n"), "{out}");
        assert!(out.contains("\n+            application/json:\n"), "{out}");
    }
}
