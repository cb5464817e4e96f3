//! Generates the SDK's types and client from `openapi.yaml` into `OUT_DIR/codegen.rs`.

use std::{env, fs, path::Path};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};
use serde_json::Value;

const SPEC: &str = "openapi.yaml";

/// The media type of our error bodies, which progenitor would leave untyped.
const PROBLEM_JSON: &str = "application/problem+json";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");

    let text = fs::read_to_string(SPEC).unwrap_or_else(|e| panic!("cannot read {SPEC}: {e}"));
    let mut document: Value =
        yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{SPEC} is not valid YAML: {e}"));
    problem_json_as_json(&mut document);
    reference_or_null_as_nullable(&mut document);
    let spec: openapiv3::OpenAPI = serde_json::from_value(document)
        .unwrap_or_else(|e| panic!("{SPEC} is not a valid OpenAPI 3.0 document: {e}"));

    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        // An update's fields are kept, set or cleared: three states the generated type cannot
        // say (it sends no `null` and no empty list), so the SDK's own type stands in for it.
        .with_replacement("ApiKeyUpdate", "crate::update::ApiKeyUpdate", std::iter::empty())
        // Every request goes through the SDK's own `exec` (src/client.rs), which retries what is
        // safe to retry by the policy the client carries, and sends the newest consistency token.
        .with_inner_type("crate::client::Session".parse().expect("a type path"))
        .with_hooks(HooksMode::Expected);
    let tokens = Generator::new(&settings)
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor cannot generate a client from {SPEC}: {e}"));
    let file: syn::File =
        syn::parse2(tokens).unwrap_or_else(|e| panic!("progenitor generated code that does not parse: {e}"));
    // Progenitor's usage snippets are fragments, marked `ignore`; as `text` they stay documentation
    // without showing up as ignored doctests.
    let code = prettyplease::unparse(&file).replace("```ignore", "```text");

    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let out = Path::new(&out_dir).join("codegen.rs");
    fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

/// Renames every `application/problem+json` content key to `application/json`.
///
/// Progenitor types only `application/json` bodies; our error responses are
/// RFC 9457 problem documents, which are JSON under another media type. The
/// keys only occur in `content` maps, so a walk over the whole tree is exact.
fn problem_json_as_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(content) = map.get_mut("content").and_then(Value::as_object_mut)
                && let Some(media) = content.remove(PROBLEM_JSON)
            {
                content.entry("application/json").or_insert(media);
            }
            map.values_mut().for_each(problem_json_as_json);
        }
        Value::Array(items) => items.iter_mut().for_each(problem_json_as_json),
        _ => {}
    }
}

/// Rewrites each "a reference, or null" (`oneOf: [$ref, {type, nullable: true, enum: [null]}]`,
/// the OpenAPI 3.0.3 form that linters and other languages' generators read as nullable) as
/// `nullable: true, allOf: [$ref]`, the form progenitor turns into an `Option` of the referenced
/// type instead of a wrapper enum. The two say the same; the contract check treats them as one.
fn reference_or_null_as_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(branches)) = map.get("oneOf")
                && let [reference, null] = branches.as_slice()
                && reference.get("$ref").is_some()
                && null.get("nullable") == Some(&Value::Bool(true))
                && null.get("enum") == Some(&serde_json::json!([null]))
            {
                let reference = reference.clone();
                map.remove("oneOf");
                map.insert("allOf".into(), Value::Array(vec![reference]));
                map.insert("nullable".into(), Value::Bool(true));
            }
            map.values_mut().for_each(reference_or_null_as_nullable);
        }
        Value::Array(items) => items.iter_mut().for_each(reference_or_null_as_nullable),
        _ => {}
    }
}
