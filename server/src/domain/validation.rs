//! Field-level validation that collects every problem in a request, not just the first.

use serde_json::{Map, Value};

use super::bounds::{
    self, DESCRIPTION, Length, MAX_METADATA_BYTES, MAX_METADATA_DEPTH, MAX_METADATA_ENTRIES, MAX_SCOPES,
    MAX_TARGETS, NAME, RESOURCE, Range,
};
use super::key::KeyPrefix;
use super::limits::{Credits, RateLimit};
use super::scope::Scope;

/// One invalid field: a stable code, a message for a person, and the field's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub code: &'static str,
    pub message: String,
    pub field: String,
}

/// Collects field errors while a request is checked.
#[derive(Debug, Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    pub fn fail(&mut self, field: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.errors.push(FieldError { code, message: message.into(), field: field.into() });
    }

    /// A string whose length in characters lies within `bound`, holding no NUL (no database
    /// stores one in text: PostgreSQL refuses it, so no store takes it).
    pub fn text(&mut self, field: &str, value: &str, bound: Length) {
        self.no_nul(field, value);
        self.length(field, value, bound);
    }

    /// A string whose length in characters lies within `bound`, whatever it holds.
    pub fn length(&mut self, field: &str, value: &str, bound: Length) {
        let Length { min, max } = bound;
        // A character takes one to four bytes: the byte length often settles it uncounted.
        if value.len() <= max && value.len().div_ceil(4) >= min {
            return;
        }
        let len = value.chars().count();
        if len < min {
            self.fail(field, "too_short", format!("must be at least {min} characters long"));
        } else if len > max {
            self.fail(field, "too_long", format!("must be at most {max} characters long"));
        }
    }

    /// A string without the NUL character.
    fn no_nul(&mut self, field: &str, value: &str) {
        if value.contains('\0') {
            self.fail(field, "invalid_character", NUL_MESSAGE);
        }
    }

    /// A name people read (a key's, an organization's): within [`NAME`], on one line, without
    /// control characters or the invisible marks that reorder text around them.
    pub fn name(&mut self, field: &str, value: &str) {
        self.text(field, value, NAME);
        self.readable(field, value, Lines::One);
    }

    /// An optional id of yours (user, customer, billing) or a scope's target: within [`NAME`].
    pub fn label(&mut self, field: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.text(field, value, NAME);
        }
    }

    /// A description: within [`DESCRIPTION`], readable, line breaks and tabs allowed.
    pub fn description(&mut self, field: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.text(field, value, DESCRIPTION);
            self.readable(field, value, Lines::Many);
        }
    }

    /// Text free of control characters and bidirectional formatting characters (a NUL is
    /// reported by [`Checker::text`]).
    fn readable(&mut self, field: &str, value: &str, lines: Lines) {
        let allowed = |c: char| lines == Lines::Many && matches!(c, '\n' | '\t');
        if let Some(c) = value.chars().find(|&c| c != '\0' && is_unreadable(c) && !allowed(c)) {
            let message = match lines {
                Lines::One => {
                    "must not contain control characters (line breaks and tabs included) or \
                               bidirectional formatting characters"
                }
                Lines::Many => {
                    "must not contain control characters other than line breaks and tabs, or \
                                bidirectional formatting characters"
                }
            };
            self.fail(field, "invalid_character", format!("{message}; found U+{:04X}", u32::from(c)));
        }
    }

    /// A key prefix, `kw` when absent.
    pub fn prefix(&mut self, field: &str, value: Option<&str>) -> KeyPrefix {
        match value {
            None => KeyPrefix::default(),
            Some(value) => KeyPrefix::parse(value).unwrap_or_else(|| {
                self.fail(
                    field,
                    "invalid_prefix",
                    format!(
                        "must be a lowercase letter followed by at most {} lowercase letters or digits",
                        bounds::PREFIX.max - 1
                    ),
                );
                KeyPrefix::default()
            }),
        }
    }

    /// A time, if given.
    pub fn time(&mut self, field: &str, value: Option<i64>) {
        if let Some(value) = value {
            self.range(field, value, bounds::TIME);
        }
    }

    pub fn scopes(&mut self, field: &str, scopes: &[Scope]) {
        if scopes.len() > MAX_SCOPES {
            self.fail(field, "too_many", format!("must hold at most {MAX_SCOPES} scopes"));
        }
        for (i, scope) in scopes.iter().enumerate() {
            let resource_field = format!("{field}[{i}].resource");
            self.text(&resource_field, &scope.resource, RESOURCE);
            self.resource(&resource_field, &scope.resource);
            if scope.targets.len() > MAX_TARGETS {
                self.fail(
                    format!("{field}[{i}].targets"),
                    "too_many",
                    format!("must list at most {MAX_TARGETS} targets"),
                );
            }
            for (j, target) in scope.targets.iter().enumerate() {
                self.text(&format!("{field}[{i}].targets[{j}]"), target, NAME);
            }
        }
    }

    /// A scope's resource name: [`bounds::RESOURCE_PATTERN`].
    pub fn resource(&mut self, field: &str, resource: &str) {
        if !is_resource_name(resource) {
            self.fail(
                field,
                "invalid_resource",
                "must start with a lowercase letter and hold only lowercase letters, digits and _ . : -",
            );
        }
    }

    pub fn metadata(&mut self, field: &str, metadata: &Map<String, Value>) {
        if let Some(path) = nul_in_object(field, metadata) {
            self.fail(path, "invalid_character", NUL_MESSAGE);
        }
        if metadata.len() > MAX_METADATA_ENTRIES {
            self.fail(field, "too_many", format!("must hold at most {MAX_METADATA_ENTRIES} entries"));
        }
        let bytes = serde_json::to_vec(metadata).map_or(usize::MAX, |json| json.len());
        if bytes > MAX_METADATA_BYTES {
            self.fail(
                field,
                "too_large",
                format!("must take at most {MAX_METADATA_BYTES} bytes as JSON, not {bytes}"),
            );
        }
        if metadata.values().map(depth).max().unwrap_or(0) + 1 > MAX_METADATA_DEPTH {
            self.fail(
                field,
                "too_deep",
                format!("must nest at most {MAX_METADATA_DEPTH} levels of objects and arrays"),
            );
        }
    }

    /// An integer within `bound`.
    pub fn range(&mut self, field: &str, value: i64, bound: Range) {
        let Range { min, max } = bound;
        if !(min..=max).contains(&value) {
            let message = if max == i64::MAX {
                format!("must be at least {min}")
            } else {
                format!("must be between {min} and {max}")
            };
            self.fail(field, "out_of_range", message);
        }
    }

    pub fn rate_limit(&mut self, field: &str, rate_limit: Option<&RateLimit>) {
        if let Some(r) = rate_limit {
            self.range(&format!("{field}.limit"), i64::from(r.limit), bounds::RATE_LIMIT);
            self.range(&format!("{field}.window_ms"), r.window_ms, bounds::RATE_WINDOW_MS);
        }
    }

    pub fn credits(&mut self, field: &str, credits: Option<&Credits>) {
        if let Some(c) = credits {
            self.range(&format!("{field}.remaining"), c.remaining, bounds::CREDITS);
            if let Some(refill) = c.refill {
                self.range(&format!("{field}.refill.amount"), refill.amount, bounds::REFILL_AMOUNT);
                self.range(
                    &format!("{field}.refill.interval_ms"),
                    refill.interval_ms,
                    bounds::REFILL_INTERVAL_MS,
                );
            }
        }
    }

    /// The checked value, or every problem found.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() { Ok(value) } else { Err(self.errors) }
    }
}

/// The message for a NUL where text is stored.
const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// Whether a text may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

/// A control character (C0, DEL, C1) or a bidirectional formatting character (the marks, embeddings,
/// overrides and isolates of Unicode's bidirectional algorithm), which a terminal or a page would
/// act on instead of showing.
fn is_unreadable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The path of the first key or string under `object` (named `field`) holding a NUL.
fn nul_in_object(field: &str, object: &Map<String, Value>) -> Option<String> {
    object.iter().find_map(|(key, value)| {
        let path = format!("{field}.{key}");
        if key.contains('\0') { Some(path) } else { nul_in(&path, value) }
    })
}

fn nul_in(path: &str, value: &Value) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then(|| path.to_owned()),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| nul_in(&format!("{path}[{i}]"), item))
        }
        Value::Object(entries) => nul_in_object(path, entries),
        _ => None,
    }
}

/// How many levels of arrays and objects `value` nests (a scalar is 0).
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(entries) => 1 + entries.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// [`bounds::RESOURCE_PATTERN`]
fn is_resource_name(s: &str) -> bool {
    !s.is_empty() && s.chars().enumerate().all(|(i, c)| is_resource_character(i, c))
}

/// Whether `c` may stand at offset `i` of a resource name ([`bounds::RESOURCE_PATTERN`]): a
/// lowercase letter first, then lowercase letters, digits and `_ . : -`.
pub fn is_resource_character(i: usize, c: char) -> bool {
    c.is_ascii_lowercase() || (i > 0 && (c.is_ascii_digit() || "_.:-".contains(c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scope::Access;

    #[test]
    fn metadata_is_refused_past_its_size_or_depth_and_accepted_up_to_them() {
        let codes = |metadata: Value| {
            let mut checker = Checker::default();
            checker.metadata("metadata", metadata.as_object().unwrap());
            checker
                .finish(())
                .err()
                .map(|errors| errors.iter().map(|e| e.code).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let nested =
            |levels: usize| (1..levels).fold(Value::from(1), |inner, _| serde_json::json!({ "n": inner }));
        assert!(codes(serde_json::json!({ "deep": nested(MAX_METADATA_DEPTH) })).is_empty());
        assert_eq!(codes(serde_json::json!({ "deep": nested(MAX_METADATA_DEPTH + 1) })), ["too_deep"]);
        let text = |n: usize| Value::from("x".repeat(n));
        // {"k":"…"} is 8 bytes around the text.
        assert!(codes(serde_json::json!({ "k": text(MAX_METADATA_BYTES - 8) })).is_empty());
        assert_eq!(codes(serde_json::json!({ "k": text(MAX_METADATA_BYTES - 7) })), ["too_large"]);
    }

    #[test]
    fn the_patterns_the_schema_states_accept_exactly_what_the_checks_accept() {
        use super::super::bounds::{READABLE_LINE, READABLE_TEXT, RESOURCE_PATTERN, STORABLE_TEXT};
        let matches = |pattern: &str, c: char| {
            let regex = regress::Regex::new(pattern).unwrap();
            regex.find(&format!("a{c}b")).is_some()
        };
        let accepted = |check: fn(&mut Checker, &str), c: char| {
            let mut checker = Checker::default();
            check(&mut checker, &format!("a{c}b"));
            checker.finish(()).is_ok()
        };
        let chars = (0..0x3000).chain([0xFEFF, 0x1F511]).filter_map(char::from_u32);
        for c in chars {
            let code = u32::from(c);
            assert_eq!(
                matches(READABLE_LINE, c),
                accepted(|k, v| k.name("name", v), c),
                "U+{code:04X} in a name"
            );
            assert_eq!(
                matches(READABLE_TEXT, c),
                accepted(|k, v| k.description("description", Some(v)), c),
                "U+{code:04X} in a description"
            );
            assert_eq!(
                matches(STORABLE_TEXT, c),
                accepted(|k, v| k.label("user_id", Some(v)), c),
                "U+{code:04X} in an id"
            );
            assert_eq!(
                matches(RESOURCE_PATTERN, c),
                accepted(|k, v| k.resource("resource", v), c),
                "U+{code:04X} in a resource name"
            );
        }
    }

    #[test]
    fn lengths_are_counted_in_characters_not_bytes() {
        let mut checker = Checker::default();
        checker.text("name", &"é".repeat(128), NAME);
        assert!(checker.finish(()).is_ok());
        let codes = |value: &str, min, max| {
            let mut checker = Checker::default();
            checker.text("name", value, Length { min, max });
            checker.finish(()).err().map(|errors| errors[0].code)
        };
        assert_eq!(codes(&"é".repeat(129), 1, 128), Some("too_long"));
        assert_eq!(codes("é", 2, 8), Some("too_short"), "two bytes, one character");
        assert_eq!(codes("ab", 2, 2), None);
        assert_eq!(codes("", 1, 8), Some("too_short"));
        assert_eq!(codes("😀😀", 2, 2), None, "eight bytes, two characters");
    }

    #[test]
    fn every_invalid_field_is_reported_with_its_path() {
        let mut checker = Checker::default();
        checker.text("name", "", NAME);
        checker.scopes(
            "scopes",
            &[Scope { resource: "Bad".into(), access: Access::Read, targets: vec![String::new()] }],
        );
        let errors = checker.finish(()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "scopes[0].resource", "scopes[0].targets[0]"]);
    }
}
