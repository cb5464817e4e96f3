//! Makes an example value from a JSON schema when the document gives none: valid against that schema, and plausible.
//!
//! The document's own examples come first, at every level (a property's, its schema's); what is
//! left is made from the schema's type, format, pattern and bounds, helped by the property's
//! name: a `created_at` is a recent time in epoch milliseconds, not 0; a `window_ms` a minute; a
//! string a word its pattern accepts, not `"string"`; a value that may be `null` is. Optional
//! properties the document gives no example for are left out, so that no example shows, say, a
//! `next` link on a single resource.

use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{Map, Value};

use crate::spec::Api;

/// Deeper than any example a reader wants to read; stops recursive schemas.
const MAX_DEPTH: usize = 12;

/// A recent time in epoch milliseconds (2026-01-05T09:30:00Z), for times the document gives no
/// example for.
const PLAUSIBLE_TIME_MS: i64 = 1_767_605_400_000;

/// A duration in milliseconds (a minute), for durations the document gives no example for.
const PLAUSIBLE_DURATION_MS: i64 = 60_000;

/// What the example is for: a request shows what must (or is suggested to) be sent, a
/// response what comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Required properties, and the optional ones the document gives an example for.
    Request,
    /// Required properties, and the optional ones the document gives an example for, but no
    /// `writeOnly` ones.
    Response,
}

/// An example value for `schema`, valid against it (its `example`, `default` or first `enum`
/// value, else one built from its type and constraints).
pub fn synthesize(api: &Api, schema: &Value, mode: Mode) -> Value {
    synth(api, schema, None, mode, 0, &mut Vec::new())
}

/// `name` is the property the schema describes, a hint for a plausible value.
fn synth(
    api: &Api,
    schema: &Value,
    name: Option<&str>,
    mode: Mode,
    depth: usize,
    stack: &mut Vec<String>,
) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    for key in ["example", "default"] {
        if let Some(value) = schema.get(key) {
            return value.clone();
        }
    }
    // A value that may be null and has no example is shown unset, as a new resource has it:
    // made up, it could contradict another (a `deleted_at` beside `deleted: false`).
    if admits_null(api, schema) {
        return Value::Null;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        if stack.iter().any(|seen| seen == reference) {
            return Value::Null;
        }
        let Ok(target) = api.lookup(reference) else { return Value::Null };
        stack.push(reference.to_owned());
        let value = synth(api, target, name, mode, depth + 1, stack);
        stack.pop();
        return value;
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
            match synth(api, member, name, mode, depth + 1, stack) {
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
        if let Some(first) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|members| members.iter().find(|member| !is_null_schema(api, member)))
        {
            return synth(api, first, name, mode, depth + 1, stack);
        }
    }
    match schema_type(schema) {
        Some("object") => object_example(api, schema, mode, depth, stack),
        Some("array") => {
            let item = schema
                .get("items")
                .map_or(Value::Null, |items| synth(api, items, name, mode, depth + 1, stack));
            let count = schema.get("minItems").and_then(Value::as_u64).unwrap_or(1).max(1);
            let count = schema.get("maxItems").and_then(Value::as_u64).map_or(count, |max| count.min(max));
            Value::Array(std::iter::repeat_n(item, usize::try_from(count).unwrap_or(1)).collect())
        }
        Some("string") => Value::String(string_example(schema, name)),
        Some("integer") => Value::from(integer_example(schema, name)),
        Some("number") => {
            let minimum = schema.get("minimum").and_then(Value::as_f64).unwrap_or(f64::MIN);
            let maximum = schema.get("maximum").and_then(Value::as_f64).unwrap_or(f64::MAX);
            Value::from(1.0_f64.max(minimum).min(maximum))
        }
        Some("boolean") => Value::Bool(false),
        _ => Value::Null,
    }
}

/// Whether the schema itself says its value may be `null`: `nullable`, or a `oneOf` (or `anyOf`)
/// member that admits only `null`.
fn admits_null(api: &Api, schema: &Value) -> bool {
    schema.get("nullable").and_then(Value::as_bool).unwrap_or(false)
        || ["oneOf", "anyOf"].iter().any(|key| {
            schema
                .get(*key)
                .and_then(Value::as_array)
                .is_some_and(|m| m.iter().any(|m| is_null_schema(api, m)))
        })
}

/// Whether a `oneOf` member only admits `null` (`{nullable: true, enum: [null]}` or `{type: null}`).
fn is_null_schema(api: &Api, member: &Value) -> bool {
    let member = api.resolve(member).unwrap_or(member);
    member.get("type").and_then(Value::as_str) == Some("null")
        || member
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|values| !values.is_empty() && values.iter().all(Value::is_null))
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
        let wanted = required.contains(&name.as_str()) || has_example(api, property);
        let include = match mode {
            Mode::Request => wanted && !flag("readOnly"),
            Mode::Response => wanted && !flag("writeOnly"),
        };
        if include {
            object.insert(name.clone(), synth(api, property, Some(name), mode, depth + 1, stack));
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

/// An integer within the schema's bounds: a recent time for a `…_at`, a minute for a `…_ms`,
/// else 1 (a count, a revision, a limit).
fn integer_example(schema: &Value, name: Option<&str>) -> i64 {
    let exclusive = |key: &str| schema.get(key).and_then(Value::as_bool).unwrap_or(false);
    let mut value = match name {
        Some(name) if name.ends_with("_at") => PLAUSIBLE_TIME_MS,
        Some(name) if name.ends_with("_ms") => PLAUSIBLE_DURATION_MS,
        _ => 1,
    };
    if let Some(minimum) = schema.get("minimum").and_then(Value::as_i64) {
        value = value.max(minimum.saturating_add(i64::from(exclusive("exclusiveMinimum"))));
    }
    if let Some(maximum) = schema.get("maximum").and_then(Value::as_i64) {
        value = value.min(maximum.saturating_sub(i64::from(exclusive("exclusiveMaximum"))));
    }
    value
}

/// A string of the schema's format, or one its pattern matches, or the words `example <name>`;
/// padded or cut to the schema's lengths.
fn string_example(schema: &Value, name: Option<&str>) -> String {
    let format = schema.get("format").and_then(Value::as_str).unwrap_or_default();
    let pattern = schema.get("pattern").and_then(Value::as_str);
    let min = schema.get("minLength").and_then(Value::as_u64).map_or(0, |n| usize::try_from(n).unwrap_or(0));
    let max = schema
        .get("maxLength")
        .and_then(Value::as_u64)
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut value = match format {
        "uuid" => "0190c8c2-3f4a-7d1e-9b6a-2f1c3d4e5a6b".to_owned(),
        "date-time" => "2026-01-05T09:30:00Z".to_owned(),
        "date" => "2026-01-05".to_owned(),
        "time" => "09:30:00Z".to_owned(),
        "email" => "someone@example.com".to_owned(),
        "uri" | "url" => "https://example.com/".to_owned(),
        "hostname" => "example.com".to_owned(),
        "ipv4" => "192.0.2.1".to_owned(),
        "ipv6" => "2001:db8::1".to_owned(),
        "byte" => "a2V5d2FyZA==".to_owned(),
        _ => match (pattern, name) {
            (Some(pattern), _) => matching_string(pattern).unwrap_or_else(|| "example".to_owned()),
            (None, Some(name)) => format!("example {}", name.replace('_', " ")),
            (None, None) => "example".to_owned(),
        },
    };
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
/// (classes, repetitions, alternations, anchors), spelling `example` where the classes allow it;
/// `None` when it cannot tell.
fn matching_string(pattern: &str) -> Option<String> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let mut out = String::new();
    build(&hir, &mut out).then_some(out)
}

/// The word generated strings spell, one character a class, where the class allows it.
const WORD: &[char] = &['e', 'x', 'a', 'm', 'p', 'l', 'e'];

/// The most times an open repetition (`*`, `+`, `{n,}`) repeats beyond its minimum.
const OPEN_REPEAT_MAX: u32 = 64;

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
        HirKind::Repetition(repetition) => match repetition.max {
            // Bounded: the word's length, within the bounds (`{22}` is 22, `?` once).
            Some(max) => {
                let word = u32::try_from(WORD.len()).unwrap_or(u32::MAX);
                (0..max.min(repetition.min.max(word))).all(|_| build(&repetition.sub, out))
            }
            // Open: at least once, and on until the word is whole, so `[a-z][a-z0-9]*` spells it.
            None => {
                let mut count = 0;
                loop {
                    if !build(&repetition.sub, out) {
                        return false;
                    }
                    count += 1;
                    let whole = out.chars().count().is_multiple_of(WORD.len());
                    if count >= repetition.min && (whole || count >= repetition.min + OPEN_REPEAT_MAX) {
                        return true;
                    }
                }
            }
        },
        HirKind::Capture(capture) => build(&capture.sub, out),
        HirKind::Concat(parts) => parts.iter().all(|part| build(part, out)),
        HirKind::Alternation(branches) => branches.first().is_some_and(|first| build(first, out)),
    }
}

/// Pushes a character of the class: the next letter of [`WORD`] when it holds it, else a
/// lower-case letter or digit, else its first.
fn push_preferred(ranges: &[(char, char)], out: &mut String) -> bool {
    let holds = |c: &char| ranges.iter().any(|(start, end)| (start..=end).contains(&c));
    let next = WORD[out.chars().count() % WORD.len()];
    let chosen = std::iter::once(next)
        .chain(['a', 'x', '1', '0', 'A'])
        .find(holds)
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
    Link: {type: object, required: [href], properties: {href: {type: string, example: /v1/things/1}}}
    Links:
      type: object
      required: [self]
      properties: {self: {$ref: '#/components/schemas/Link'}, next: {$ref: '#/components/schemas/Link'}}
    Thing:
      type: object
      required: [id, revision, created_at, window_ms, limit, _links]
      properties:
        id: {type: string, format: uuid}
        revision: {type: integer, format: int64}
        created_at: {type: integer, format: int64}
        window_ms: {type: integer, minimum: 1, maximum: 1000}
        limit:
          oneOf:
            - {type: object, nullable: true, enum: [null]}
            - {$ref: '#/components/schemas/Status'}
        _links: {$ref: '#/components/schemas/Links'}
"##,
        )
        .unwrap()
    }

    #[test]
    fn patterns_yield_strings_they_match_spelling_a_word_where_they_allow_it() {
        assert_eq!(matching_string("^[a-z][a-z0-9]*$").as_deref(), Some("example"));
        assert_eq!(matching_string("^[a-z][a-z0-9_.:-]*$").as_deref(), Some("example"));
        assert_eq!(matching_string("^[A-Za-z0-9_-]{3}$").as_deref(), Some("exa"));
        assert_eq!(matching_string("^[A-Za-z0-9_-]{22}$").map(|s| s.len()), Some(22));
        assert_eq!(matching_string("^(v1|v2)-[0-9]+$").as_deref(), Some("v1-1111"));
        assert_eq!(matching_string("^[0-9]{2,4}$").as_deref(), Some("1111"));
    }

    #[test]
    fn strings_are_never_the_word_string_and_respect_their_length_limits() {
        assert_eq!(string_example(&json!({"type": "string"}), Some("billing_id")), "example billing id");
        assert_eq!(string_example(&json!({"type": "string", "minLength": 8}), None), "examplee");
        assert_eq!(string_example(&json!({"type": "string", "maxLength": 3}), Some("name")), "exa");
    }

    #[test]
    fn integers_stay_within_their_bounds_and_times_and_durations_are_plausible() {
        assert_eq!(integer_example(&json!({"minimum": 1, "maximum": 100}), Some("limit")), 1);
        assert_eq!(integer_example(&json!({"maximum": -5}), None), -5);
        assert_eq!(integer_example(&json!({"minimum": 0, "exclusiveMinimum": true}), None), 1);
        assert_eq!(integer_example(&json!({"type": "integer"}), Some("revision")), 1);
        assert_eq!(integer_example(&json!({"type": "integer"}), Some("created_at")), PLAUSIBLE_TIME_MS);
        assert_eq!(integer_example(&json!({"maximum": 1000}), Some("window_ms")), 1000);
    }

    #[test]
    fn examples_hold_required_and_exemplified_properties_and_recursion_stops() {
        let api = api();
        let node = json!({"$ref": "#/components/schemas/Node"});
        let request = synthesize(&api, &node, Mode::Request);
        assert_eq!(request, json!({"name": "example name", "child": null, "tag": "blue"}));
        let response = synthesize(&api, &node, Mode::Response);
        assert_eq!(response, request, "no optional property without an example");
    }

    #[test]
    fn a_response_shows_no_next_link_no_zero_time_and_null_where_null_is_allowed() {
        let api = api();
        let thing = synthesize(&api, &json!({"$ref": "#/components/schemas/Thing"}), Mode::Response);
        assert_eq!(thing["_links"], json!({"self": {"href": "/v1/things/1"}}));
        assert_eq!(thing["revision"], 1);
        assert_eq!(thing["created_at"], PLAUSIBLE_TIME_MS);
        assert_eq!(thing["window_ms"], 1000);
        assert_eq!(thing["limit"], Value::Null);
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
