//! Makes an example value from a JSON schema when the document gives none, valid against that schema.

use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{Map, Value};

use crate::spec::Api;

/// Deeper than any example a reader wants to read; stops recursive schemas.
const MAX_DEPTH: usize = 12;

/// What the example is for: a request shows what must (or is suggested to) be sent, a
/// response shows every field that can come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Required properties, and the optional ones the document gives an example for.
    Request,
    /// Every property but `writeOnly` ones.
    Response,
}

/// An example value for `schema`, valid against it (its `example`, `default` or first `enum`
/// value, else one built from its type and constraints).
pub fn synthesize(api: &Api, schema: &Value, mode: Mode) -> Value {
    synth(api, schema, mode, 0, &mut Vec::new())
}

fn synth(api: &Api, schema: &Value, mode: Mode, depth: usize, stack: &mut Vec<String>) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        if stack.iter().any(|seen| seen == reference) {
            return Value::Null;
        }
        let Ok(target) = api.lookup(reference) else { return Value::Null };
        stack.push(reference.to_owned());
        let value = synth(api, target, mode, depth + 1, stack);
        stack.pop();
        return value;
    }
    for key in ["example", "default"] {
        if let Some(value) = schema.get(key) {
            return value.clone();
        }
    }
    if let Some(first) =
        schema.get("enum").and_then(Value::as_array).and_then(|v| v.iter().find(|v| !v.is_null()))
    {
        return first.clone();
    }
    if let Some(members) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        let mut last = Value::Null;
        for member in members {
            match synth(api, member, mode, depth + 1, stack) {
                Value::Object(object) => merged.extend(object),
                other => last = other,
            }
        }
        if merged.is_empty() {
            return last;
        }
        if let Value::Object(own) = object_example(api, schema, mode, depth, stack) {
            merged.extend(own);
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema.get(key).and_then(Value::as_array).and_then(|members| {
            members.iter().find(|member| member.get("type").and_then(Value::as_str) != Some("null"))
        }) {
            return synth(api, first, mode, depth + 1, stack);
        }
    }
    match schema_type(schema) {
        Some("object") => object_example(api, schema, mode, depth, stack),
        Some("array") => {
            let item =
                schema.get("items").map_or(Value::Null, |items| synth(api, items, mode, depth + 1, stack));
            let count = schema.get("minItems").and_then(Value::as_u64).unwrap_or(1).max(1);
            let count = schema.get("maxItems").and_then(Value::as_u64).map_or(count, |max| count.min(max));
            Value::Array(std::iter::repeat_n(item, usize::try_from(count).unwrap_or(1)).collect())
        }
        Some("string") => Value::String(string_example(schema)),
        Some("integer") => Value::from(integer_example(schema)),
        Some("number") => {
            let minimum = schema.get("minimum").and_then(Value::as_f64).unwrap_or(0.0);
            let maximum = schema.get("maximum").and_then(Value::as_f64).unwrap_or(f64::MAX);
            Value::from(minimum.max(0.0_f64.min(maximum)))
        }
        Some("boolean") => Value::Bool(false),
        _ => Value::Null,
    }
}

fn object_example(api: &Api, schema: &Value, mode: Mode, depth: usize, stack: &mut Vec<String>) -> Value {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut object = Map::new();
    for (name, property) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        let resolved = api.resolve(property).unwrap_or(property);
        let flag = |key: &str| resolved.get(key).and_then(Value::as_bool).unwrap_or(false);
        let include = match mode {
            Mode::Request => {
                !flag("readOnly") && (required.contains(&name.as_str()) || has_example(api, property))
            }
            Mode::Response => !flag("writeOnly"),
        };
        if include {
            object.insert(name.clone(), synth(api, property, mode, depth + 1, stack));
        }
    }
    Value::Object(object)
}

/// Whether the document itself gives an example for this property (directly or via its `$ref`).
fn has_example(api: &Api, property: &Value) -> bool {
    property.get("example").is_some() || api.resolve(property).is_ok_and(|p| p.get("example").is_some())
}

fn schema_type(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(kind)) => Some(kind),
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).find(|k| *k != "null"),
        _ if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() => {
            Some("object")
        }
        _ if schema.get("items").is_some() => Some("array"),
        _ => None,
    }
}

fn integer_example(schema: &Value) -> i64 {
    let exclusive = |key: &str| schema.get(key).and_then(Value::as_bool).unwrap_or(false);
    let mut value = 0;
    if let Some(minimum) = schema.get("minimum").and_then(Value::as_i64) {
        value = value.max(minimum + i64::from(exclusive("exclusiveMinimum")));
    }
    if let Some(maximum) = schema.get("maximum").and_then(Value::as_i64) {
        value = value.min(maximum - i64::from(exclusive("exclusiveMaximum")));
    }
    value
}

fn string_example(schema: &Value) -> String {
    let format = schema.get("format").and_then(Value::as_str).unwrap_or_default();
    let mut value = match format {
        "uuid" => "0190c8c2-3f4a-7d1e-9b6a-2f1c3d4e5a6b".to_owned(),
        "date-time" => "2026-01-02T03:04:05Z".to_owned(),
        "date" => "2026-01-02".to_owned(),
        "time" => "03:04:05Z".to_owned(),
        "email" => "someone@example.com".to_owned(),
        "uri" | "url" => "https://example.com/".to_owned(),
        "hostname" => "example.com".to_owned(),
        "ipv4" => "192.0.2.1".to_owned(),
        "ipv6" => "2001:db8::1".to_owned(),
        "byte" => "a2V5d2FyZA==".to_owned(),
        _ => match schema.get("pattern").and_then(Value::as_str).and_then(matching_string) {
            Some(matching) => matching,
            None => "string".to_owned(),
        },
    };
    let min = schema.get("minLength").and_then(Value::as_u64).map_or(0, |n| usize::try_from(n).unwrap_or(0));
    let max = schema
        .get("maxLength")
        .and_then(Value::as_u64)
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    while value.chars().count() < min {
        let last = value.chars().last().unwrap_or('x');
        value.push(last);
    }
    if value.chars().count() > max {
        value = value.chars().take(max).collect();
    }
    value
}

/// A short string the regular expression `pattern` matches, for the patterns documents use
/// (classes, repetitions, alternations, anchors); `None` when it cannot tell.
fn matching_string(pattern: &str) -> Option<String> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let mut out = String::new();
    build(&hir, &mut out).then_some(out)
}

fn build(hir: &Hir, out: &mut String) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(literal) => match std::str::from_utf8(&literal.0) {
            Ok(text) => {
                out.push_str(text);
                true
            }
            Err(_) => false,
        },
        HirKind::Class(Class::Unicode(class)) => {
            let ranges: Vec<(char, char)> = class.ranges().iter().map(|r| (r.start(), r.end())).collect();
            push_preferred(&ranges, out)
        }
        HirKind::Class(Class::Bytes(class)) => {
            let ranges: Vec<(char, char)> =
                class.ranges().iter().map(|r| (char::from(r.start()), char::from(r.end()))).collect();
            push_preferred(&ranges, out)
        }
        HirKind::Repetition(repetition) => {
            // At least once, when allowed, so that `[a-z0-9]*` still shows what it accepts.
            let count = repetition.min.max(u32::from(repetition.max != Some(0))).min(64);
            (0..count).all(|_| build(&repetition.sub, out))
        }
        HirKind::Capture(capture) => build(&capture.sub, out),
        HirKind::Concat(parts) => parts.iter().all(|part| build(part, out)),
        HirKind::Alternation(branches) => branches.first().is_some_and(|first| build(first, out)),
    }
}

/// Pushes a readable character of the class: a lower-case letter or digit when it holds one.
fn push_preferred(ranges: &[(char, char)], out: &mut String) -> bool {
    let preferred = ['k', 'a', 'x', '0', '1', 'K', 'A'];
    let chosen = preferred
        .into_iter()
        .find(|c| ranges.iter().any(|(start, end)| (start..=end).contains(&c)))
        .or_else(|| ranges.first().map(|(start, _)| *start));
    chosen.map(|c| out.push(c)).is_some()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn api() -> Api {
        Api::parse(
            r##"
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Status: {type: string, enum: [enabled, disabled]}
    Node:
      type: object
      required: [name, child]
      properties:
        name: {type: string, minLength: 3}
        child: {$ref: '#/components/schemas/Node'}
        note: {type: string}
        tag: {type: string, example: blue}
"##,
        )
        .unwrap()
    }

    #[test]
    fn patterns_yield_strings_they_match() {
        assert_eq!(matching_string("^[a-z][a-z0-9]*$").as_deref(), Some("kk"));
        assert_eq!(matching_string("^[A-Za-z0-9_-]{3}$").as_deref(), Some("kkk"));
        assert_eq!(matching_string("^(v1|v2)-[0-9]+$").as_deref(), Some("v1-0"));
    }

    #[test]
    fn strings_respect_their_length_limits() {
        assert_eq!(string_example(&json!({"type": "string", "minLength": 8})), "stringgg");
        assert_eq!(string_example(&json!({"type": "string", "maxLength": 3})), "str");
    }

    #[test]
    fn integers_stay_within_their_bounds() {
        assert_eq!(integer_example(&json!({"minimum": 1, "maximum": 100})), 1);
        assert_eq!(integer_example(&json!({"maximum": -5})), -5);
        assert_eq!(integer_example(&json!({"minimum": 0, "exclusiveMinimum": true})), 1);
    }

    #[test]
    fn requests_hold_required_and_exemplified_properties_and_recursion_stops() {
        let api = api();
        let node = json!({"$ref": "#/components/schemas/Node"});
        let request = synthesize(&api, &node, Mode::Request);
        assert_eq!(request, json!({"name": "string", "child": null, "tag": "blue"}));
        let response = synthesize(&api, &node, Mode::Response);
        assert_eq!(response["note"], "string");
    }

    #[test]
    fn enums_give_their_first_value() {
        let api = api();
        assert_eq!(
            synthesize(&api, &json!({"$ref": "#/components/schemas/Status"}), Mode::Response),
            "enabled"
        );
    }
}
