//! The request examples of an operation in curl, JavaScript, Python and Go, rendered from `templates/samples/`.
//!
//! Each example calls the document's first server, takes the credential from
//! the environment variable [`credential_variable`] names, fills path
//! parameters with their examples, sends the example body, and prints the
//! response's status line, then its body.

use minijinja::Environment;
use serde::Serialize;
use serde_json::Value;

use crate::DocsError;
use crate::spec::{Api, Operation, SecurityKind};

/// A language the examples are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Language {
    /// The tab's id, such as `python`.
    pub id: &'static str,
    /// The tab's label, such as `Python`.
    pub label: &'static str,
    /// The Markdown code fence's info string, also the HTML `language-` class.
    pub fence: &'static str,
    /// The extension of a file that runs the example as it stands (`mjs` for top-level `await`).
    pub extension: &'static str,
    template: &'static str,
}

/// Every language, in tab order.
pub const LANGUAGES: [Language; 4] = [
    Language { id: "curl", label: "curl", fence: "sh", extension: "sh", template: "samples/curl.sh" },
    Language {
        id: "javascript",
        label: "JavaScript",
        fence: "js",
        extension: "mjs",
        template: "samples/fetch.mjs",
    },
    Language {
        id: "python",
        label: "Python",
        fence: "python",
        extension: "py",
        template: "samples/requests.py",
    },
    Language { id: "go", label: "Go", fence: "go", extension: "go", template: "samples/main.go" },
];

/// One rendered example.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub language: Language,
    pub code: String,
}

/// The environment variable the examples read the credential from, such as `KEYWARD_KEY`.
pub fn credential_variable(api: &Api) -> String {
    let stem: String = api
        .title
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
        .collect();
    let stem = stem.split('_').filter(|part| !part.is_empty()).collect::<Vec<_>>().join("_");
    if stem.is_empty() { "API_KEY".to_owned() } else { format!("{stem}_KEY") }
}

/// The request every example of an operation sends, as every template is given it.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRequest {
    pub method: String,
    pub method_lower: String,
    /// The document's first server, the path with its parameters' examples, and the query
    /// parameters that are required or exemplified.
    pub url: String,
    /// The environment variable the credential is read from.
    pub variable: String,
    pub headers: Vec<SampleHeader>,
    pub body: Option<SampleBody>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SampleHeader {
    pub name: String,
    /// The literal value, for headers that are not the credential.
    pub value: String,
    /// Whether the value is the credential, read from the environment after `prefix`.
    pub credential: bool,
    pub prefix: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SampleBody {
    pub media_type: String,
    /// Whether the body is JSON (sent with `json=` by Python).
    pub json: bool,
    /// The body as the text sent on the wire, pretty-printed when JSON.
    pub text: String,
    /// The body as a Python literal.
    pub python: String,
}

/// The four examples of `operation`.
pub fn samples(env: &Environment<'_>, api: &Api, operation: &Operation) -> Result<Vec<Sample>, DocsError> {
    let request = sample_request(api, operation);
    LANGUAGES
        .iter()
        .map(|language| {
            let template =
                env.get_template(language.template).map_err(|err| template_error(language.template, &err))?;
            let code = template.render(&request).map_err(|err| template_error(language.template, &err))?;
            Ok(Sample { language: *language, code: code.trim_end().to_owned() })
        })
        .collect()
}

fn template_error(name: &str, err: &minijinja::Error) -> DocsError {
    DocsError::Template { name: name.to_owned(), detail: format!("{err:#}") }
}

/// The request the examples of `operation` send: its first request example, its path and
/// header parameters' examples, the credential and the `Accept` its success needs.
pub fn sample_request(api: &Api, operation: &Operation) -> SampleRequest {
    let variable = credential_variable(api);
    let mut path = operation.path.clone();
    for parameter in operation.path_parameters() {
        path = path.replace(&format!("{{{}}}", parameter.name), &percent_encode(&scalar(&parameter.example)));
    }
    let query: Vec<String> = operation
        .parameters
        .iter()
        .filter(|p| p.location == "query" && (p.required || p.example_given))
        .map(|p| format!("{}={}", percent_encode(&p.name), percent_encode(&scalar(&p.example))))
        .collect();
    let url = if query.is_empty() {
        format!("{}{path}", api.server_url)
    } else {
        format!("{}{path}?{}", api.server_url, query.join("&"))
    };

    let mut headers = Vec::new();
    if let Some(alternative) = operation.security.first() {
        for scheme in alternative.iter().filter_map(|name| api.security_schemes.get(name)) {
            let (name, prefix) = match &scheme.kind {
                SecurityKind::HeaderKey(name) => (name.clone(), String::new()),
                SecurityKind::Bearer => ("Authorization".to_owned(), "Bearer ".to_owned()),
                SecurityKind::Basic => ("Authorization".to_owned(), "Basic ".to_owned()),
                SecurityKind::Other(_) => continue,
            };
            headers.push(SampleHeader { name, value: String::new(), credential: true, prefix });
        }
    }
    for parameter in
        operation.parameters.iter().filter(|p| p.location == "header" && (p.required || p.example_given))
    {
        headers.push(SampleHeader {
            name: parameter.name.clone(),
            value: scalar(&parameter.example),
            credential: false,
            prefix: String::new(),
        });
    }
    let success = operation
        .responses
        .iter()
        .find(|r| r.status.parse::<u16>().is_ok_and(|s| (200..400).contains(&s)))
        .and_then(|r| r.content.first());
    if let Some(media) = success {
        headers.push(literal_header("Accept", &media.media_type));
    }

    let body = operation.request_body.as_ref().and_then(|body| {
        let media = body.content.iter().find(|m| is_json(&m.media_type)).or_else(|| body.content.first())?;
        let value = media.examples.first().map(|e| e.value.clone())?;
        let json = is_json(&media.media_type);
        let text = match (&value, json) {
            (_, true) => serde_json::to_string_pretty(&value).unwrap_or_default(),
            (Value::String(text), false) => text.clone(),
            (other, false) => other.to_string(),
        };
        Some(SampleBody {
            media_type: media.media_type.clone(),
            json,
            python: python_literal(&value, 0),
            text,
        })
    });
    if let Some(body) = &body {
        headers.push(literal_header("Content-Type", &body.media_type));
    }
    SampleRequest {
        method: operation.method.clone(),
        method_lower: operation.method.to_ascii_lowercase(),
        url,
        variable,
        headers,
        body,
    }
}

fn literal_header(name: &str, value: &str) -> SampleHeader {
    SampleHeader { name: name.to_owned(), value: value.to_owned(), credential: false, prefix: String::new() }
}

fn is_json(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or_default().trim();
    essence == "application/json" || essence.ends_with("+json")
}

/// A parameter's example as it goes in a URL or header: strings bare, the rest as JSON.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `value` as a Python literal, pretty-printed with four-space indents from `indent` on.
fn python_literal(value: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent + 4);
    let close = " ".repeat(indent);
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => number.to_string(),
        // JSON's string escapes are Python's too.
        Value::String(text) => Value::String(text.clone()).to_string(),
        Value::Array(items) if items.is_empty() => "[]".to_owned(),
        Value::Array(items) => {
            let items: Vec<String> =
                items.iter().map(|item| format!("{pad}{},", python_literal(item, indent + 4))).collect();
            format!("[\n{}\n{close}]", items.join("\n"))
        }
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(key, item)| {
                    format!("{pad}{}: {},", Value::String(key.clone()), python_literal(item, indent + 4))
                })
                .collect();
            format!("{{\n{}\n{close}}}", entries.join("\n"))
        }
    }
}

/// The template filters that quote a string for each language.
pub fn register_filters(env: &mut Environment<'_>) {
    env.add_filter("sh_quote", |text: String| format!("'{}'", text.replace('\'', r"'\''")));
    // A JSON string is a valid string literal in JavaScript, Python and Go alike.
    env.add_filter("str_literal", |text: String| Value::String(text).to_string());
    env.add_filter("go_raw", |text: String| {
        if text.contains('`') { Value::String(text).to_string() } else { format!("`{text}`") }
    });
    env.add_filter("indent_after_first", |text: String, width: usize| {
        text.replace('\n', &format!("\n{}", " ".repeat(width)))
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn python_literals_spell_true_false_and_none_their_way() {
        let value = json!({"a": [true, null], "b": {}, "c": "x\"y"});
        assert_eq!(
            python_literal(&value, 0),
            "{\n    \"a\": [\n        True,\n        None,\n    ],\n    \"b\": {},\n    \"c\": \"x\\\"y\",\n}"
        );
    }

    #[test]
    fn urls_escape_what_is_not_unreserved() {
        assert_eq!(percent_encode("user 42/é"), "user%2042%2F%C3%A9");
    }
}
