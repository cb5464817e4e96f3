//! Every example of `openapi.yaml`, and every example the reference renders (request and response,
//! success and error, parameters, schema pages), is valid against its schema (JSON Schema, by the
//! `jsonschema` crate, the OpenAPI 3.0 schema read as JSON Schema 2020-12) and agrees with itself
//! and with its operation: a verdict is `valid` exactly when its code is `VALID`, revisions start
//! at 1, times are recent epoch milliseconds, only list pages have a `next` link, keys and masked
//! keys are in Keyward's format and agree with their prefix, a problem's status is its response's
//! and its `errors` name fields its operation has.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use keyward_docs::sample_request;
use keyward_docs::spec::{Api, EXAMPLE_OPERATIONS, Operation, problem_code};
use keyward_server::domain::key::{CHECKSUM_LEN, RANDOM_LEN, Secret};
use serde_json::{Map, Value, json};

use crate::helpers::{api, raw_spec};
use crate::shapes::{Node, describe, walk};

/// 2020-01-01 and 2100-01-01 in epoch milliseconds: the times an example may show.
const PLAUSIBLE_TIMES: std::ops::Range<i64> = 1_577_836_800_000..4_102_444_800_000;

/// A verify answer warns of an expiry this close (`domain::verification::EXPIRY_WARNING_MS`).
const EXPIRY_WARNING_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// Random characters a masked key shows after its prefix.
const MASK_VISIBLE: usize = 4;

/// One example and what it is an example of.
struct Item {
    /// Where a reader finds it, such as `api_key_view 404 (api_keys.key_not_found)`.
    place: String,
    schema: Value,
    value: Value,
    /// The operation it belongs to, when it belongs to one.
    operation: Option<&'static Operation>,
    /// The status of the response it is the body of, or `None` for a request, a parameter or a
    /// schema's own example.
    status: Option<String>,
}

#[test]
fn every_example_of_the_document_and_of_the_reference_is_valid_against_its_schema() {
    let items: Vec<Item> = document_examples().into_iter().chain(rendered_examples(api())).collect();
    let failures = invalid(&raw_spec(), &items);
    println!("{} examples validated", items.len());
    assert!(items.len() > 150, "only {} examples were found", items.len());
    assert!(failures.is_empty(), "{} examples are not valid:\n{}", failures.len(), failures.join("\n"));
}

/// `openapi.yaml` without a single example, as the generator reads it.
static BARE: LazyLock<Api> = LazyLock::new(|| {
    let mut bare = raw_spec();
    strip_examples(&mut bare);
    Api::from_value(bare).expect("the document without examples reads")
});

#[test]
fn the_examples_the_generator_makes_up_for_a_document_without_any_are_valid_against_their_schemas() {
    let items = rendered_examples(&BARE);
    assert!(items.iter().filter(|item| item.value.is_object()).count() > 50, "examples were made up");
    let failures = invalid(&raw_spec(), &items);
    assert!(
        failures.is_empty(),
        "{} made-up examples are not valid:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Removes every `example` and `examples` from the document.
fn strip_examples(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("example");
            map.remove("examples");
            map.values_mut().for_each(strip_examples);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_examples),
        _ => {}
    }
}

/// Why each example is not valid against its schema (with `spec`'s component schemas), if it is not.
fn invalid(spec: &Value, items: &[Item]) -> Vec<String> {
    let components: Map<String, Value> = spec["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .iter()
        .map(|(name, schema)| (name.clone(), to_json_schema(schema)))
        .collect();
    let mut failures = Vec::new();
    for item in items {
        let root = json!({"components": {"schemas": components}, "allOf": [to_json_schema(&item.schema)]});
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|err| panic!("{}: the schema does not compile: {err}", item.place));
        for error in validator.iter_errors(&item.value) {
            failures.push(format!("{}: {} at `{}`", item.place, error, error.instance_path()));
        }
    }
    failures
}

#[test]
fn every_example_agrees_with_itself_and_with_its_operation() {
    let mut failures = Vec::new();
    for item in document_examples().into_iter().chain(rendered_examples(api())) {
        let mut wrong = Vec::new();
        let schema = item.schema.clone();
        walk(api(), &schema, &item.value, &mut |node| check_node(&item, node, &mut wrong));
        check_with_operation(&item, &mut wrong);
        failures.extend(wrong.into_iter().map(|w| format!("{}: {w}", item.place)));
    }
    failures.dedup();
    assert!(failures.is_empty(), "{} contradictions:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_example_the_reference_renders_for_openapi_yaml_is_the_documents_own() {
    let mut made_up = Vec::new();
    for operation in &api().operations {
        for parameter in operation.parameters.iter().filter(|p| p.required) {
            if !parameter.example_given {
                made_up.push(format!("{}: parameter {}", operation.id, parameter.name));
            }
        }
        let bodies =
            operation.request_body.iter().flat_map(|body| body.content.iter().map(|m| ("request", m)));
        let responses = operation
            .responses
            .iter()
            .flat_map(|response| response.content.iter().map(move |m| (response.status.as_str(), m)));
        for (status, media) in bodies.chain(responses) {
            if media.examples.iter().any(|e| e.synthesized) {
                made_up.push(format!("{}: {status} {}", operation.id, media.media_type));
            }
        }
    }
    for schema in api().schemas.iter().filter(|s| s.example.synthesized) {
        made_up.push(format!("schema {}", schema.name));
    }
    assert!(made_up.is_empty(), "openapi.yaml gives no example for:\n{}", made_up.join("\n"));
}

/// Every example written in `openapi.yaml`, read from the document itself: those of schemas and
/// their properties, of parameters and headers, and of every operation's bodies, each named
/// example whatever operations it is for.
fn document_examples() -> Vec<Item> {
    let spec = raw_spec();
    let mut items = Vec::new();
    for (name, schema) in spec["components"]["schemas"].as_object().expect("schemas") {
        if let Some(value) = schema.get("example") {
            items.push(Item {
                place: format!("schema {name}"),
                schema: json!({"$ref": format!("#/components/schemas/{name}")}),
                value: value.clone(),
                operation: None,
                status: None,
            });
        }
        inner_schema_examples(&format!("schema {name}"), schema, &mut items);
    }
    for operation in &api().operations {
        let raw = &spec["paths"][&operation.path][operation.method.to_ascii_lowercase()];
        let parameters = spec["paths"][&operation.path]["parameters"].as_array().into_iter().flatten();
        for parameter in raw["parameters"].as_array().into_iter().flatten().chain(parameters) {
            let parameter = resolved(&spec, parameter);
            let place =
                format!("{} parameter {}", operation.id, parameter["name"].as_str().unwrap_or_default());
            named_examples(&spec, &place, &parameter["schema"], parameter, Some(operation), None, &mut items);
            schema_examples(&place, &parameter["schema"], &mut items);
        }
        let body = resolved(&spec, &raw["requestBody"]);
        for (media_type, media) in body["content"].as_object().into_iter().flatten() {
            let place = format!("{} request {media_type}", operation.id);
            named_examples(&spec, &place, &media["schema"], media, Some(operation), None, &mut items);
        }
        for (status, response) in raw["responses"].as_object().into_iter().flatten() {
            let response = resolved(&spec, response);
            for (media_type, media) in response["content"].as_object().into_iter().flatten() {
                let place = format!("{} {status} {media_type}", operation.id);
                named_examples(
                    &spec,
                    &place,
                    &media["schema"],
                    media,
                    Some(operation),
                    Some(status),
                    &mut items,
                );
            }
            for (name, header) in response["headers"].as_object().into_iter().flatten() {
                let header = resolved(&spec, header);
                let place = format!("{} {status} header {name}", operation.id);
                named_examples(&spec, &place, &header["schema"], header, Some(operation), None, &mut items);
            }
        }
    }
    items
}

/// The `example` and each `examples` entry's `value` of a parameter, header or media type object;
/// of a named example that lists the operations it is for (`x-operations`), only when it is for
/// `operation`.
fn named_examples(
    spec: &Value,
    place: &str,
    schema: &Value,
    holder: &Value,
    operation: Option<&'static Operation>,
    status: Option<&String>,
    items: &mut Vec<Item>,
) {
    let item = |place: String, value: &Value| Item {
        place,
        schema: schema.clone(),
        value: value.clone(),
        operation,
        status: status.cloned(),
    };
    if let Some(value) = holder.get("example") {
        items.push(item(place.to_owned(), value));
    }
    for (name, example) in holder["examples"].as_object().into_iter().flatten() {
        let example = resolved(spec, example);
        let listed = example[EXAMPLE_OPERATIONS].as_array();
        let for_operation = match (listed, operation) {
            (Some(listed), Some(operation)) => listed.iter().any(|id| id == operation.id.as_str()),
            _ => true,
        };
        if let Some(value) = example.get("value").filter(|_| for_operation) {
            items.push(item(format!("{place} ({name})"), value));
        }
    }
}

/// The `example` of a schema and of every schema inside it.
fn schema_examples(place: &str, schema: &Value, items: &mut Vec<Item>) {
    let Some(object) = schema.as_object() else { return };
    if let Some(value) = object.get("example") {
        items.push(Item {
            place: place.to_owned(),
            schema: schema.clone(),
            value: value.clone(),
            operation: None,
            status: None,
        });
    }
    inner_schema_examples(place, schema, items);
}

/// The `example` of every schema inside a schema.
fn inner_schema_examples(place: &str, schema: &Value, items: &mut Vec<Item>) {
    let Some(object) = schema.as_object() else { return };
    for (key, inner) in object {
        match key.as_str() {
            "properties" => {
                for (name, property) in inner.as_object().into_iter().flatten() {
                    schema_examples(&format!("{place}.{name}"), property, items);
                }
            }
            "items" | "additionalProperties" => schema_examples(&format!("{place}[]"), inner, items),
            "allOf" | "oneOf" | "anyOf" => {
                for member in inner.as_array().into_iter().flatten() {
                    schema_examples(place, member, items);
                }
            }
            _ => {}
        }
    }
}

/// Every example the reference renders, as the generator reads the document.
fn rendered_examples(api: &'static Api) -> Vec<Item> {
    let mut items = Vec::new();
    for operation in &api.operations {
        for parameter in &operation.parameters {
            items.push(Item {
                place: format!("{} page, parameter {}", operation.id, parameter.name),
                schema: parameter.schema.clone(),
                value: parameter.example.clone(),
                operation: Some(operation),
                status: None,
            });
        }
        for media in operation.request_body.iter().flat_map(|body| &body.content) {
            for example in &media.examples {
                items.push(Item {
                    place: format!("{} page, request {}", operation.id, media.media_type),
                    schema: media.schema.clone().unwrap_or(Value::Bool(true)),
                    value: example.value.clone(),
                    operation: Some(operation),
                    status: None,
                });
            }
        }
        for response in &operation.responses {
            for media in &response.content {
                for example in &media.examples {
                    let name = example.name.as_deref().unwrap_or("example");
                    items.push(Item {
                        place: format!("{} page, {} ({name})", operation.id, response.status),
                        schema: media.schema.clone().unwrap_or(Value::Bool(true)),
                        value: example.value.clone(),
                        operation: Some(operation),
                        status: Some(response.status.clone()),
                    });
                }
            }
        }
    }
    for schema in &api.schemas {
        items.push(Item {
            place: format!("schema page {}", schema.name),
            schema: json!({"$ref": format!("#/components/schemas/{}", schema.name)}),
            value: schema.example.value.clone(),
            operation: None,
            status: None,
        });
    }
    items
}

/// What a `$ref` to a component names, or the value itself.
fn resolved<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => spec.pointer(reference.trim_start_matches('#')).unwrap_or(&Value::Null),
        None => value,
    }
}

/// An OpenAPI 3.0 schema as JSON Schema 2020-12: `nullable` becomes a `null` type (and a `null`
/// among the `enum`), boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers, the siblings of
/// a `$ref` are set aside as 3.0 does, and the keywords of OpenAPI alone are dropped.
fn to_json_schema(schema: &Value) -> Value {
    let Some(object) = schema.as_object() else { return schema.clone() };
    if let Some(reference) = object.get("$ref") {
        return json!({"$ref": reference});
    }
    let mut out = Map::new();
    for (key, value) in object {
        let converted = match key.as_str() {
            "nullable" | "example" | "discriminator" | "xml" | "externalDocs" | "readOnly" | "writeOnly" => {
                continue;
            }
            other if other.starts_with("x-") => continue,
            "properties" => Value::Object(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), to_json_schema(v)))
                    .collect(),
            ),
            "items" | "additionalProperties" | "not" => to_json_schema(value),
            "allOf" | "oneOf" | "anyOf" => {
                Value::Array(value.as_array().into_iter().flatten().map(to_json_schema).collect())
            }
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if object.get("nullable") == Some(&Value::Bool(true)) {
        if let Some(Value::String(kind)) = out.get("type").cloned() {
            out.insert("type".into(), json!([kind, "null"]));
        }
        if let Some(Value::Array(values)) = out.get_mut("enum")
            && !values.contains(&Value::Null)
        {
            values.push(Value::Null);
        }
    }
    for (flag, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        match out.get(flag) {
            Some(Value::Bool(true)) => {
                let limit = out.remove(bound).unwrap_or(Value::Null);
                out.insert(flag.into(), limit);
            }
            Some(Value::Bool(false)) => {
                out.remove(flag);
            }
            _ => {}
        }
    }
    Value::Object(out)
}

/// The checks of one value of an example, by the component that describes it.
fn check_node(item: &Item, node: &Node<'_>, wrong: &mut Vec<String>) {
    let at = if node.path.is_empty() { "the example".to_owned() } else { format!("`{}`", node.path) };
    if let (Some(name), Some(time)) = (node.name, node.value.as_i64())
        && name.ends_with("_at")
        && !PLAUSIBLE_TIMES.contains(&time)
    {
        wrong.push(format!("{at} is {time}, no time after 2020 in epoch milliseconds"));
    }
    let value = node.value;
    match node.component {
        Some("ApiKey") if value.is_object() => check_api_key(value, &at, wrong),
        Some("ApiKeyCreated" | "OrganizationCreated") if value.is_object() => {
            check_created(value, node.component, &at, wrong)
        }
        Some("VerifyResponse") if value.is_object() => check_verdict(value, &at, wrong),
        Some("Links") if value.get("next").is_some() && node.within != Some("ApiKeyList") => {
            wrong.push(format!("{at} has a `next` link, which only a list page has"));
        }
        Some("Organization") if value.is_object() => {
            expect_eq(
                wrong,
                &at,
                "_links.self.href",
                &value["_links"]["self"]["href"],
                &json!("/v1/organization"),
            );
        }
        Some("Problem") if value.is_object() => check_problem(item, value, &at, wrong),
        _ => {}
    }
}

fn expect_eq(wrong: &mut Vec<String>, at: &str, what: &str, shown: &Value, expected: &Value) {
    if shown != expected {
        wrong.push(format!("{at}: {what} is {shown}, but {expected} goes with the rest"));
    }
}

/// `linked`'s `_links.self` is the path of `key`, when the key shows its id.
fn expect_key_link(wrong: &mut Vec<String>, at: &str, linked: &Value, key: &Value) {
    if let Some(id) = key["id"].as_str() {
        let path = json!(format!("/v1/api_keys/{id}"));
        expect_eq(wrong, at, "_links.self.href", &linked["_links"]["self"]["href"], &path);
    }
}

fn check_api_key(key: &Value, at: &str, wrong: &mut Vec<String>) {
    if key["revision"].as_i64().is_some_and(|revision| revision < 1) {
        wrong.push(format!("{at}: revision {} (a key's first revision is 1)", key["revision"]));
    }
    let prefix = key["prefix"].as_str().unwrap_or_default();
    let masked = key["masked_key"].as_str().unwrap_or_default();
    if !is_masked_key(masked, prefix) {
        wrong.push(format!("{at}: masked_key {masked} is not a `{prefix}` key masked as Keyward masks it"));
    }
    expect_key_link(wrong, at, key, key);
    if key.pointer("/_links/next").is_some() {
        wrong.push(format!("{at}: a key has no `next` link"));
    }
    expect_eq(wrong, at, "deleted", &key["deleted"], &json!(!key["deleted_at"].is_null()));
    let time = |field: &str| key[field].as_i64();
    if let (Some(created), Some(updated)) = (time("created_at"), time("updated_at"))
        && updated < created
    {
        wrong.push(format!("{at}: updated_at is before created_at"));
    }
    if let (Some(created), Some(used)) = (time("created_at"), time("last_used_at"))
        && used < created
    {
        wrong.push(format!("{at}: last_used_at is before created_at"));
    }
    if key["usage_count"].as_i64() == Some(0) && !key["last_used_at"].is_null() {
        wrong.push(format!("{at}: a key never used has a last_used_at"));
    }
    if key["usage_count"].as_i64().is_some_and(|n| n > 0) && key["last_used_at"].is_null() {
        wrong.push(format!("{at}: a key used {} times has no last_used_at", key["usage_count"]));
    }
}

/// Whether `masked` is a key of `prefix` with all but its first random characters masked.
fn is_masked_key(masked: &str, prefix: &str) -> bool {
    let Some(rest) = masked.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('_')) else {
        return false;
    };
    let (shown, hidden) = rest.split_at(rest.len().min(MASK_VISIBLE));
    !prefix.is_empty()
        && shown.len() == MASK_VISIBLE
        && shown.chars().all(|c| c.is_ascii_alphanumeric())
        && hidden.len() == RANDOM_LEN + CHECKSUM_LEN - MASK_VISIBLE
        && hidden.chars().all(|c| c == '*')
}

fn check_created(created: &Value, component: Option<&str>, at: &str, wrong: &mut Vec<String>) {
    let secret = created["key"].as_str().unwrap_or_default();
    let key = &created["api_key"];
    match Secret::parse(secret) {
        Err(_) => {
            wrong.push(format!("{at}: key {secret} is not a well-formed Keyward key (format or checksum)"))
        }
        Ok(parsed) => {
            expect_eq(wrong, at, "api_key.prefix", &key["prefix"], &json!(parsed.prefix()));
            expect_eq(wrong, at, "api_key.masked_key", &key["masked_key"], &json!(parsed.masked()));
        }
    }
    if component == Some("ApiKeyCreated") {
        expect_key_link(wrong, at, created, key);
    }
    if component == Some("OrganizationCreated") {
        expect_eq(
            wrong,
            at,
            "api_key.organization_id",
            &key["organization_id"],
            &created["organization"]["id"],
        );
    }
}

fn check_verdict(verdict: &Value, at: &str, wrong: &mut Vec<String>) {
    let valid = verdict["code"] == "VALID";
    expect_eq(wrong, at, "valid", &verdict["valid"], &json!(valid));
    let key = &verdict["api_key"];
    if valid && key.is_null() {
        wrong.push(format!("{at}: a VALID verdict shows the key"));
    }
    if valid {
        expect_eq(wrong, at, "api_key.status", &key["status"], &json!("enabled"));
        expect_eq(wrong, at, "api_key.deleted", &key["deleted"], &json!(false));
    }
    // A limit the verdict reports is the key's own.
    for (limit, field) in [("rate_limit", "limit"), ("credits", "remaining")] {
        if !verdict[limit].is_null() {
            expect_eq(wrong, at, &format!("{limit}.{field}"), &verdict[limit][field], &key[limit][field]);
        }
    }
    if let (Some(expires), Some(used)) = (key["expires_at"].as_i64(), key["last_used_at"].as_i64()) {
        let soon = expires > used && expires - used <= EXPIRY_WARNING_MS;
        let warned = !verdict["expiry_warning"].is_null();
        if soon != warned {
            wrong.push(format!(
                "{at}: expiry_warning goes with a key that expires within 7 days of its use, and only then"
            ));
        }
        if soon {
            expect_eq(
                wrong,
                at,
                "expiry_warning.expires_at",
                &verdict["expiry_warning"]["expires_at"],
                &key["expires_at"],
            );
        }
    }
}

fn check_problem(item: &Item, problem: &Value, at: &str, wrong: &mut Vec<String>) {
    let Some(code) = problem_code(problem) else {
        wrong.push(format!("{at}: type {} does not name code {}", problem["type"], problem["code"]));
        return;
    };
    expect_eq(wrong, at, "type", &problem["type"], &json!(format!("/docs/problems#{code}")));
    let status = problem["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or_default();
    let reason =
        reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or_default();
    expect_eq(wrong, at, "title", &problem["title"], &json!(reason));
    if let Some(expected) = item.status.as_deref().and_then(|s| s.parse::<u16>().ok()) {
        expect_eq(wrong, at, "status", &problem["status"], &json!(expected));
    }
    let Some(operation) = item.operation else { return };
    // An unknown parameter is named because the operation does not have it.
    for field in problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["code"] != "unknown_parameter" && e["code"] != "unknown_field")
        .flat_map(|e| e["fields"].as_array().into_iter().flatten())
    {
        let field = field.as_str().unwrap_or_default();
        if !operation_has_field(operation, field) {
            wrong.push(format!(
                "{at}: errors name `{field}`, which {} has neither as a parameter nor in its body",
                operation.id
            ));
        }
    }
}

/// Whether `field` (`name`, `scopes[0].resource`) is a parameter of `operation` or a field of its body.
fn operation_has_field(operation: &Operation, field: &str) -> bool {
    if operation.parameters.iter().any(|p| p.name == field) {
        return true;
    }
    let Some(schema) = operation.request_body.iter().flat_map(|b| &b.content).find_map(|m| m.schema.as_ref())
    else {
        return false;
    };
    let mut current = describe(api(), schema, &json!({})).0;
    for segment in field.split('.') {
        let (name, indexed) = match segment.split_once('[') {
            Some((name, _)) => (name, true),
            None => (segment, false),
        };
        let Some(property) = current.get("properties").and_then(|p| p.get(name)) else { return false };
        current = describe(api(), property, &json!({})).0;
        if indexed {
            let Some(items) = current.get("items") else { return false };
            current = describe(api(), items, &json!({})).0;
        }
    }
    true
}

/// Checks that need the operation: the key a page shows is the one its path names, a user's key
/// is that user's, a health answer links to itself, a list page that goes on is full.
fn check_with_operation(item: &Item, wrong: &mut Vec<String>) {
    let (Some(operation), Some(status)) = (item.operation, item.status.as_deref()) else { return };
    if !status.starts_with('2') {
        return;
    }
    let examples: BTreeMap<&str, &Value> =
        operation.parameters.iter().map(|p| (p.name.as_str(), &p.example)).collect();
    let value = &item.value;
    let key = if value.get("masked_key").is_some() { Some(value) } else { value.get("api_key") };
    if let (Some(key), Some(id)) = (key, examples.get("api_key_id"))
        && operation.path.contains("{api_key_id}")
    {
        expect_eq(wrong, "the example", "the key's id", &key["id"], id);
    }
    if let (Some(key), Some(user)) = (key, examples.get("user_id"))
        && operation.path.contains("{user_id}")
    {
        expect_eq(wrong, "the example", "the key's user_id", &key["user_id"], user);
    }
    if value.get("api_keys").is_some() {
        let request = sample_request(api(), operation);
        let shown = request.url.strip_prefix(&api().server_url).unwrap_or(&request.url);
        expect_eq(
            wrong,
            "the example",
            "the page's _links.self.href",
            &value["_links"]["self"]["href"],
            &json!(shown),
        );
    }
    if value.get("status") == Some(&json!("ok")) {
        expect_eq(
            wrong,
            "the example",
            "_links.self.href",
            &value["_links"]["self"]["href"],
            &json!(operation.path),
        );
    }
    if let Some(items) = value.get("api_keys").and_then(Value::as_array)
        && value.pointer("/_links/next").is_some()
        && let Some(limit) = operation.parameters.iter().find(|p| p.name == "limit" && p.example_given)
    {
        expect_eq(
            wrong,
            "the example",
            "the number of keys on a page that goes on",
            &json!(items.len()),
            &limit.example,
        );
    }
}
