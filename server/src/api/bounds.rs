//! Writes the bounds of `domain/bounds.rs` into the OpenAPI document, so that the schema states the very numbers the checks enforce.
//!
//! utoipa's `#[schema(max_length = …)]` takes only literals; the bounds are constants, so they
//! are set here, after the document is derived. The contract test then holds the result to
//! `openapi.yaml`: a bound left out of this table, or changed on one side only, fails it.

use utoipa::Modify;
use utoipa::openapi::{OpenApi, RefOr, Schema};

use crate::domain::bounds::{
    COST, CREDITS, DESCRIPTION, GRACE_PERIOD_MS, Length, MAX_SCOPES, NAME, PAGE_SIZE, PREFIX, PRESENTED_KEY,
    RATE_LIMIT, RATE_WINDOW_MS, READABLE_LINE, READABLE_TEXT, REFILL_AMOUNT, REFILL_INTERVAL_MS, RESOURCE,
    RESOURCE_PATTERN, Range, SCOPE_QUERY, STORABLE_TEXT, TIME,
};

/// A bound as a schema states it.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    Length(Length),
    Range(Range),
    Items(usize),
}

use Bound::{Items, Length as Len, Range as Within};

/// Each bounded property of a component schema: `(schema, property, bound)`. The end-to-end
/// suite breaks each one (`tests/api/errors.rs`), so a bound added here is tested the day it is.
pub const PROPERTIES: &[(&str, &str, Bound)] = &[
    ("ApiKeyCreate", "name", Len(NAME)),
    ("ApiKeyCreate", "description", Len(DESCRIPTION)),
    ("ApiKeyCreate", "user_id", Len(NAME)),
    ("ApiKeyCreate", "customer_id", Len(NAME)),
    ("ApiKeyCreate", "billing_id", Len(NAME)),
    ("ApiKeyCreate", "prefix", Len(PREFIX)),
    ("ApiKeyCreate", "expires_at", Within(TIME)),
    ("ApiKeyCreate", "scopes", Items(MAX_SCOPES)),
    ("ApiKeyUpdate", "name", Len(NAME)),
    ("ApiKeyUpdate", "description", Len(DESCRIPTION)),
    ("ApiKeyUpdate", "scopes", Items(MAX_SCOPES)),
    ("ApiKeyUpdate", "expires_at", Within(TIME)),
    ("ApiKeyRotate", "grace_period_ms", Within(GRACE_PERIOD_MS)),
    ("OrganizationCreate", "name", Len(NAME)),
    ("VerifyRequest", "key", Len(PRESENTED_KEY)),
    ("VerifyRequest", "scopes", Items(MAX_SCOPES)),
    ("VerifyRequest", "scope_query", Len(SCOPE_QUERY)),
    ("VerifyRequest", "cost", Within(COST)),
    ("Scope", "resource", Len(RESOURCE)),
    ("ScopeCheck", "resource", Len(RESOURCE)),
    ("ScopeCheck", "target", Len(NAME)),
    ("RateLimit", "limit", Within(RATE_LIMIT)),
    ("RateLimit", "window_ms", Within(RATE_WINDOW_MS)),
    ("Credits", "remaining", Within(CREDITS)),
    ("CreditsRefill", "amount", Within(REFILL_AMOUNT)),
    ("CreditsRefill", "interval_ms", Within(REFILL_INTERVAL_MS)),
];

/// The characters each text property of a request may hold: `(schema, property, pattern)`.
/// Only request schemas (a key stored before a rule was made is still shown as it is), but for a
/// scope's resource name, whose rule is as old as scopes.
const PATTERNS: &[(&str, &str, &str)] = &[
    ("ApiKeyCreate", "name", READABLE_LINE),
    ("ApiKeyCreate", "description", READABLE_TEXT),
    ("ApiKeyCreate", "user_id", STORABLE_TEXT),
    ("ApiKeyCreate", "customer_id", STORABLE_TEXT),
    ("ApiKeyCreate", "billing_id", STORABLE_TEXT),
    ("ApiKeyUpdate", "name", READABLE_LINE),
    ("ApiKeyUpdate", "description", READABLE_TEXT),
    ("OrganizationCreate", "name", READABLE_LINE),
    ("ScopeCheck", "target", STORABLE_TEXT),
    ("Scope", "resource", RESOURCE_PATTERN),
    ("ScopeCheck", "resource", RESOURCE_PATTERN),
];

/// The characters each text parameter may hold, by name, wherever an operation takes it.
const PARAMETER_PATTERNS: &[(&str, &str)] = &[("user_id", STORABLE_TEXT), ("customer_id", STORABLE_TEXT)];

/// Each bounded parameter, by name, wherever an operation takes it.
const PARAMETERS: &[(&str, Bound)] =
    &[("limit", Within(PAGE_SIZE)), ("user_id", Len(NAME)), ("customer_id", Len(NAME))];

/// The [`Modify`] that writes `PROPERTIES` and `PARAMETERS` into the document.
pub struct Bounds;

impl Modify for Bounds {
    fn modify(&self, openapi: &mut OpenApi) {
        let schemas = &mut openapi.components.get_or_insert_with(Default::default).schemas;
        for (schema, property, bound) in PROPERTIES {
            let Some(RefOr::T(Schema::Object(object))) = schemas.get_mut(*schema) else {
                panic!("bounds: no object schema {schema}");
            };
            let Some(RefOr::T(target)) = object.properties.get_mut(*property) else {
                panic!("bounds: {schema} has no inline property {property}");
            };
            apply(target, *bound, &format!("{schema}.{property}"));
        }
        for (schema, property, pattern) in PATTERNS {
            let Some(RefOr::T(Schema::Object(object))) = schemas.get_mut(*schema) else {
                panic!("bounds: no object schema {schema}");
            };
            let Some(RefOr::T(Schema::Object(target))) = object.properties.get_mut(*property) else {
                panic!("bounds: {schema} has no inline string property {property}");
            };
            target.pattern = Some((*pattern).to_owned());
        }
        if let Some(RefOr::T(Schema::Object(scope))) = schemas.get_mut("Scope")
            && let Some(RefOr::T(Schema::Array(targets))) = scope.properties.get_mut("targets")
            && let utoipa::openapi::schema::ArrayItems::RefOrSchema(item) = &mut targets.items
            && let RefOr::T(Schema::Object(item)) = item.as_mut()
        {
            item.pattern = Some(STORABLE_TEXT.to_owned());
        } else {
            panic!("bounds: Scope.targets is not an array of inline strings");
        }
        let mut found = [false; PARAMETERS.len()];
        for item in openapi.paths.paths.values_mut() {
            let operations =
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                for parameter in operation.parameters.iter_mut().flatten() {
                    let RefOr::T(parameter) = parameter else { continue };
                    let Some(at) = PARAMETERS.iter().position(|(name, _)| *name == parameter.name) else {
                        continue;
                    };
                    let Some(RefOr::T(schema)) = parameter.schema.as_mut() else {
                        panic!("bounds: the parameter {} has no inline schema", parameter.name);
                    };
                    apply(schema, PARAMETERS[at].1, &parameter.name);
                    found[at] = true;
                    if let Some((_, pattern)) =
                        PARAMETER_PATTERNS.iter().find(|(name, _)| *name == parameter.name)
                        && let Schema::Object(object) = schema
                    {
                        object.pattern = Some((*pattern).to_owned());
                    }
                }
            }
        }
        if let Some(at) = found.iter().position(|found| !found) {
            panic!("bounds: no operation takes the parameter {}", PARAMETERS[at].0);
        }
    }
}

/// Sets `bound` on `schema`, which `what` names in a panic if the bound does not fit it.
fn apply(schema: &mut Schema, bound: Bound, what: &str) {
    match (schema, bound) {
        (Schema::Object(object), Bound::Length(Length { min, max })) => {
            object.min_length = (min > 0).then_some(min);
            object.max_length = Some(max);
        }
        (Schema::Object(object), Bound::Range(Range { min, max })) => {
            object.minimum = Some(number(min));
            object.maximum = (max != i64::MAX).then(|| number(max));
        }
        (Schema::Array(array), Bound::Items(max)) => array.max_items = Some(max),
        (_, bound) => panic!("bounds: {bound:?} does not fit the schema of {what}"),
    }
}

fn number(value: i64) -> utoipa::Number {
    utoipa::Number::Int(isize::try_from(value).expect("a bound fits a 64-bit isize"))
}
