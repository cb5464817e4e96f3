//! What a parser's message says, in the words of the API: serde's, serde_json's and the standard
//! library's messages (`invalid type: floating point `1e23`, expected i64`, `invalid digit found
//! in string`) become what a caller must send (`must be a whole number, not a number with a
//! fraction or an exponent`).

/// The message for a field whose value did not deserialize, from the deserializer's own.
pub fn field_message(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (unexpected, expected) = split_expected(rest);
        return format!("must be {}, not {}", expected_words(expected), unexpected_words(unexpected));
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        let (unexpected, expected) = split_expected(rest);
        return format!("must be {}, not {}", expected_words(expected), value_words(unexpected));
    }
    if let Some(rest) = message.strip_prefix("invalid length ") {
        let (_, expected) = split_expected(rest);
        return format!("must be {}", expected_words(expected));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (_, expected) = split_expected(rest);
        return format!("must be {}", choices(expected));
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (_, expected) = split_expected(rest);
        return if expected.is_empty() || expected == "there are no fields" {
            "is not a field here; none is expected".to_owned()
        } else {
            format!("is not a field here; expected {}", choices(expected))
        };
    }
    if message.starts_with("missing field ") {
        return "is required".to_owned();
    }
    if message.starts_with("duplicate field ") {
        return "is given more than once".to_owned();
    }
    match message {
        "invalid digit found in string" => "must be a whole number".to_owned(),
        "cannot parse integer from empty string" => "must be a whole number, not empty".to_owned(),
        "number too large to fit in target type" | "number too small to fit in target type" => {
            "must be a whole number within the documented range".to_owned()
        }
        "provided string was not `true` or `false`" => "must be true or false".to_owned(),
        "invalid float literal" => "must be a number".to_owned(),
        other
            if other.starts_with("UUID parsing failed") || other.starts_with("invalid length: expected") =>
        {
            "must be a UUID such as 0190c8c2-3f4a-7d1e-9b6a-2f1c3d4e5a6b".to_owned()
        }
        other => strip_rust(other),
    }
}

/// What a JSON syntax error says, with its place, without serde_json's wording.
pub fn json_syntax(error: &serde_json::Error) -> String {
    let at = format!("line {}, column {}", error.line(), error.column());
    match error.classify() {
        serde_json::error::Category::Eof => format!("the JSON ends too soon ({at})"),
        serde_json::error::Category::Io => "the body could not be read".to_owned(),
        serde_json::error::Category::Syntax | serde_json::error::Category::Data => {
            let text = error.to_string();
            let what = text.split(" at line ").next().unwrap_or_default();
            let what = match what {
                "trailing characters" => "more follows the JSON value",
                "expected value" => "a JSON value is expected",
                "key must be a string" => "an object's keys must be strings",
                "invalid escape" | "invalid unicode code point" => "a string holds an invalid escape",
                "control character (\\u0000-\\u001F) found while parsing a string" => {
                    "a string holds an unescaped control character"
                }
                "lone leading surrogate in hex escape" | "unexpected end of hex escape" => {
                    "a string holds an invalid \\u escape"
                }
                "number out of range" => "a number is too large",
                _ => "the syntax is broken",
            };
            format!("{what} ({at})")
        }
    }
}

/// `X, expected Y` → (`X`, `Y`).
fn split_expected(rest: &str) -> (&str, &str) {
    rest.rsplit_once(", expected ").unwrap_or((rest, ""))
}

/// What serde says it expected, as the API's words.
fn expected_words(expected: &str) -> String {
    let expected = expected.trim();
    let integer = |lo: &str, hi: &str| format!("a whole number from {lo} to {hi}");
    match expected {
        "i8" => integer("-128", "127"),
        "i16" => integer("-32768", "32767"),
        "i32" => integer("-2147483648", "2147483647"),
        "i64" => integer("-9223372036854775808", "9223372036854775807"),
        "u8" => integer("0", "255"),
        "u16" => integer("0", "65535"),
        "u32" => integer("0", "4294967295"),
        "u64" => integer("0", "18446744073709551615"),
        "f32" | "f64" => "a number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a string" | "a borrowed string" | "a character" => "a string".to_owned(),
        "a sequence" => "an array".to_owned(),
        "a map" | "a JSON object" => "an object".to_owned(),
        "unit" => "null".to_owned(),
        "a UUID string" => "a UUID such as 0190c8c2-3f4a-7d1e-9b6a-2f1c3d4e5a6b".to_owned(),
        other if other.starts_with("struct ") || other.starts_with("a map") => "an object".to_owned(),
        other
            if other.starts_with("tuple")
                || other.starts_with("a sequence")
                || other.starts_with("an array") =>
        {
            "an array".to_owned()
        }
        other if other.starts_with("enum ") || other.starts_with("variant identifier") => {
            "one of the documented values".to_owned()
        }
        other => strip_rust(other),
    }
}

/// What serde says it found (`floating point `1e23``, `string "x"`, `map`), as words.
fn unexpected_words(unexpected: &str) -> String {
    let kind = unexpected.split([' ', '`']).next().unwrap_or_default();
    match kind {
        "floating" => "a number with a fraction or an exponent",
        "integer" => "a whole number",
        "string" | "char" => "a string",
        "boolean" => "true or false",
        "null" | "unit" | "Option" => "null",
        "sequence" => "an array",
        "map" => "an object",
        _ => "a value of another type",
    }
    .to_owned()
}

/// What serde says of a value out of range (`integer `-1``), as the value itself.
fn value_words(unexpected: &str) -> String {
    match unexpected.split_once('`') {
        Some((_, value)) => value.trim_end_matches('`').to_owned(),
        None => unexpected_words(unexpected),
    }
}

/// serde's list of choices (`` `a`, `b` or `c` ``, `one of ...`) as one of quoted names.
fn choices(expected: &str) -> String {
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match names.as_slice() {
        [] => "one of the documented values".to_owned(),
        [one] => format!("\"{one}\""),
        many => format!("one of {}", many.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")),
    }
}

/// A message of unknown form, with Rust's type names and backticks taken out.
fn strip_rust(message: &str) -> String {
    message.replace('`', "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_of<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        field_message(
            serde_json::from_str::<T>(json).unwrap_err().to_string().split(" at line").next().unwrap(),
        )
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        count: i64,
        small: Option<u32>,
        flag: Option<bool>,
        status: Option<Status>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Status {
        Enabled,
        Disabled,
    }

    #[test]
    fn type_errors_say_what_is_expected_in_words() {
        assert_eq!(
            message_of::<Body>(r#"{"count": 1e23}"#),
            "must be a whole number from -9223372036854775808 to 9223372036854775807, not a number with a \
             fraction or an exponent"
        );
        assert_eq!(
            message_of::<Body>(r#"{"count": "7"}"#),
            "must be a whole number from -9223372036854775808 to 9223372036854775807, not a string"
        );
        assert_eq!(
            message_of::<Body>(r#"{"count": 1, "small": -1}"#),
            "must be a whole number from 0 to 4294967295, not -1"
        );
        assert_eq!(
            message_of::<Body>(r#"{"count": 1, "flag": 1}"#),
            "must be true or false, not a whole number"
        );
        assert_eq!(
            message_of::<Body>(r#"{"count": 1, "status": "paused"}"#),
            r#"must be one of "enabled", "disabled""#
        );
        assert_eq!(message_of::<Body>(r#"{}"#), "is required");
        assert_eq!(
            message_of::<Body>(r#"{"count": 1, "cuont": 2}"#),
            r#"is not a field here; expected one of "count", "small", "flag", "status""#
        );
    }

    #[test]
    fn no_message_names_a_rust_type_or_uses_backticks() {
        for json in
            [r#"{"count": 1e23}"#, r#"{"count": []}"#, r#"{"count": {}}"#, r#"{"count": null}"#, "[1]"]
        {
            let message = message_of::<Body>(json);
            for rust in ["i64", "u32", "struct", "Option", "`", "sequence", "map"] {
                assert!(!message.contains(rust), "{json}: {message}");
            }
        }
    }

    #[test]
    fn parse_errors_of_query_values_say_what_is_expected() {
        let int = "x".parse::<i32>().unwrap_err().to_string();
        assert_eq!(field_message(&int), "must be a whole number");
        let boolean = "yes".parse::<bool>().unwrap_err().to_string();
        assert_eq!(field_message(&boolean), "must be true or false");
    }

    #[test]
    fn json_syntax_errors_give_their_place() {
        let error = serde_json::from_str::<serde_json::Value>("{\"a\": ").unwrap_err();
        assert_eq!(json_syntax(&error), "the JSON ends too soon (line 1, column 6)");
        let error = serde_json::from_str::<serde_json::Value>("{} x").unwrap_err();
        assert_eq!(json_syntax(&error), "more follows the JSON value (line 1, column 4)");
    }
}
