//! An example beside its schema: whether a real answer has a documented example's shape, and a
//! walk over every value of an example with the component schema that describes it.

use keyward_docs::spec::Api;
use serde_json::{Map, Value};

/// The schema that describes `value`, `$ref`s followed, with the name of the last component
/// schema the way went through; of a `oneOf` (or `anyOf`), the member for `value`: the one that
/// admits only `null` for `null`, the first other one else.
pub fn describe<'a>(api: &'a Api, schema: &'a Value, value: &Value) -> (&'a Value, Option<&'a str>) {
    let mut current = schema;
    let mut component = None;
    for _ in 0..32 {
        if let Some(reference) = current.get("$ref").and_then(Value::as_str) {
            component = reference.strip_prefix("#/components/schemas/").or(component);
            current = api.lookup(reference).unwrap_or_else(|err| panic!("{err}"));
            continue;
        }
        let members = ["oneOf", "anyOf"].iter().find_map(|key| current.get(*key).and_then(Value::as_array));
        if let Some(members) = members {
            let member = members.iter().find(|member| only_null(api, member) == value.is_null());
            current = member.unwrap_or(&members[0]);
            continue;
        }
        match current.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            Some([single]) => current = single,
            _ => break,
        }
    }
    (current, component)
}

/// Whether a schema admits nothing but `null` (`{nullable: true, enum: [null]}`).
fn only_null(api: &Api, schema: &Value) -> bool {
    let schema = api.resolve(schema).unwrap_or(schema);
    schema.get("enum").and_then(Value::as_array).is_some_and(|values| values.iter().all(Value::is_null))
}

/// The schema of `object`'s property `name`: its own, or `additionalProperties`, or any.
fn property_schema<'a>(object: &'a Value, name: &str) -> &'a Value {
    static ANY: Value = Value::Bool(true);
    object
        .get("properties")
        .and_then(|properties| properties.get(name))
        .or_else(|| object.get("additionalProperties").filter(|extra| extra.is_object()))
        .unwrap_or(&ANY)
}

/// Where `documented` and `real` differ in shape, each as a sentence naming the place: the same
/// fields (an object whose schema lists its properties has the same keys; a free-form one has at
/// least the documented keys), the same JSON types (`null` included), empty arrays where and only
/// where the other is empty, and the same value where the schema makes it a constant (an `enum`)
/// or it is a boolean.
pub fn shape_differences(api: &Api, schema: &Value, documented: &Value, real: &Value) -> Vec<String> {
    let mut out = Vec::new();
    compare(api, schema, documented, real, "", &mut out);
    out
}

fn compare(api: &Api, schema: &Value, documented: &Value, real: &Value, at: &str, out: &mut Vec<String>) {
    let place = if at.is_empty() { "the body" } else { at };
    let (schema, _) = describe(api, schema, documented);
    let is_enum = schema.get("enum").is_some();
    match (documented, real) {
        (Value::Null, Value::Null) => {}
        (Value::Bool(_), Value::Bool(_)) | (Value::String(_), Value::String(_))
            if is_enum || documented.is_boolean() =>
        {
            if documented != real {
                out.push(format!("{place}: the example says {documented}, the server {real}"));
            }
        }
        (Value::String(_), Value::String(_)) => {}
        (Value::Number(a), Value::Number(b)) => {
            if a.is_f64() != b.is_f64() {
                out.push(format!("{place}: the example has the number {a}, the server {b}"));
            }
        }
        (Value::Object(documented), Value::Object(real)) => {
            compare_objects(api, schema, documented, real, at, out)
        }
        (Value::Array(documented), Value::Array(real)) => {
            if documented.is_empty() != real.is_empty() {
                out.push(format!(
                    "{place}: the example has {} items, the server {}",
                    documented.len(),
                    real.len()
                ));
            }
            let items = schema.get("items").unwrap_or(&Value::Bool(true));
            for (i, item) in documented.iter().enumerate() {
                if let Some(answer) = real.get(i).or_else(|| real.last()) {
                    compare(api, items, item, answer, &format!("{at}[{i}]"), out);
                }
            }
        }
        _ => out.push(format!("{place}: the example has {}, the server {}", kind(documented), kind(real))),
    }
}

fn compare_objects(
    api: &Api,
    schema: &Value,
    documented: &Map<String, Value>,
    real: &Map<String, Value>,
    at: &str,
    out: &mut Vec<String>,
) {
    let place = if at.is_empty() { "the body" } else { at };
    let fixed_fields = schema.get("properties").is_some();
    let missing: Vec<&String> = documented.keys().filter(|k| !real.contains_key(*k)).collect();
    let unshown: Vec<&String> = real.keys().filter(|k| !documented.contains_key(*k)).collect();
    if !missing.is_empty() {
        out.push(format!("{place}: the example has {missing:?}, which the server does not send"));
    }
    if fixed_fields && !unshown.is_empty() {
        out.push(format!("{place}: the server sends {unshown:?}, which the example does not show"));
    }
    for (name, value) in documented {
        if let Some(answer) = real.get(name) {
            let child = if at.is_empty() { name.clone() } else { format!("{at}.{name}") };
            compare(api, property_schema(schema, name), value, answer, &child, out);
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value met on a walk over an example.
#[derive(Debug)]
pub struct Node<'a> {
    /// Where it is, such as `api_key.scopes[0].resource`; empty for the example itself.
    pub path: String,
    /// The name of the property it is the value of.
    pub name: Option<&'a str>,
    pub value: &'a Value,
    /// The component schema that describes it, when its schema is a `$ref` to one.
    pub component: Option<&'a str>,
    /// The component schema that describes the nearest value around it that has one.
    pub within: Option<&'a str>,
}

/// Calls `visit` with every value of `example`, the example itself first, each with its component.
pub fn walk<'a>(api: &'a Api, schema: &'a Value, example: &'a Value, visit: &mut dyn FnMut(&Node<'a>)) {
    walk_at(api, schema, example, String::new(), None, None, visit);
}

fn walk_at<'a>(
    api: &'a Api,
    schema: &'a Value,
    value: &'a Value,
    path: String,
    name: Option<&'a str>,
    within: Option<&'a str>,
    visit: &mut dyn FnMut(&Node<'a>),
) {
    let (schema, component) = describe(api, schema, value);
    visit(&Node { path: path.clone(), name, value, component, within });
    let inner = component.or(within);
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                walk_at(api, property_schema(schema, key), child, at, Some(key), inner, visit);
            }
        }
        Value::Array(items) => {
            let item_schema = schema.get("items").unwrap_or(&Value::Bool(true));
            for (i, item) in items.iter().enumerate() {
                walk_at(api, item_schema, item, format!("{path}[{i}]"), name, inner, visit);
            }
        }
        _ => {}
    }
}
