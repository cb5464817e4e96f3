//! What the docs tests share: the site built from the compiled-in contract, sending an
//! operation's example request to a real server (`keyward-testing`'s, as the end-to-end suite's),
//! and reading pages.

use std::path::PathBuf;
use std::process::Command;
use std::sync::LazyLock;

use keyward_docs::spec::{Api, Operation};
use keyward_docs::{Language, Site, sample_request};
use keyward_server::contract::OPENAPI_YAML;
use keyward_testing::TestApp;
use serde_json::Value;

static SITE: LazyLock<Site> =
    LazyLock::new(|| keyward_docs::build_site(OPENAPI_YAML).expect("the site builds from openapi.yaml"));
static API: LazyLock<Api> = LazyLock::new(|| Api::parse(OPENAPI_YAML).expect("openapi.yaml parses"));

/// The site generated from the contract the server is built with: what it serves at `/docs`.
pub fn site() -> &'static Site {
    &SITE
}

/// The contract as the generator reads it.
pub fn api() -> &'static Api {
    &API
}

/// The contract as plain JSON values, read without the generator, to check the generator against.
pub fn raw_spec() -> Value {
    keyward_contract::committed_spec()
}

/// A file of the site as text.
pub fn page(path: &str) -> &'static str {
    site().text(path).unwrap_or_else(|| panic!("the site has no text file {path}"))
}

/// The example requests of an operation, sent to a test server.
pub trait Samples {
    /// The request `operation`'s examples send, as its pages show it, to this server: the
    /// path's parameters are `ids` (by name) where given, the credential is `credential`.
    fn sample(
        &self,
        operation: &Operation,
        ids: &[(&str, &str)],
        credential: &str,
    ) -> reqwest::RequestBuilder;

    /// [`Samples::sample`]'s request in parts, to change before sending; without a credential
    /// header when `credential` is `None`.
    fn sample_parts(
        &self,
        operation: &Operation,
        ids: &[(&str, &str)],
        credential: Option<&str>,
    ) -> SampleParts;
}

impl Samples for TestApp {
    fn sample(
        &self,
        operation: &Operation,
        ids: &[(&str, &str)],
        credential: &str,
    ) -> reqwest::RequestBuilder {
        self.sample_parts(operation, ids, Some(credential)).request(&self.http)
    }

    fn sample_parts(
        &self,
        operation: &Operation,
        ids: &[(&str, &str)],
        credential: Option<&str>,
    ) -> SampleParts {
        let sample = sample_request(api(), operation);
        let mut real_path = operation.path.clone();
        for parameter in operation.path_parameters() {
            let shown = shown_value(&parameter.example);
            let real =
                ids.iter().find(|(name, _)| *name == parameter.name).map_or(shown.as_str(), |(_, id)| id);
            real_path = real_path.replace(&format!("{{{}}}", parameter.name), real);
        }
        let shown_url = shown_url(operation);
        assert!(sample.url.starts_with(&shown_url), "{}: the examples call {}", operation.id, sample.url);
        let url = format!("{}{real_path}{}", self.base_url, &sample.url[shown_url.len()..]);
        let headers = sample
            .headers
            .iter()
            .filter_map(|header| match (header.credential, credential) {
                (true, Some(credential)) => {
                    Some((header.name.clone(), format!("{}{credential}", header.prefix)))
                }
                (true, None) => None,
                (false, _) => Some((header.name.clone(), header.value.clone())),
            })
            .collect();
        SampleParts { method: sample.method, url, headers, body: sample.body.map(|body| body.text) }
    }
}

/// The URL `operation`'s examples call, as its pages show it: each path parameter its example.
pub fn shown_url(operation: &Operation) -> String {
    let mut path = operation.path.clone();
    for parameter in operation.path_parameters() {
        path = path.replace(&format!("{{{}}}", parameter.name), &shown_value(&parameter.example));
    }
    format!("{}{path}", api().server_url)
}

/// A parameter's example as a path shows it.
pub fn shown_value(example: &Value) -> String {
    match example {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// An example request to a test server, as parts: the URL is the server's.
#[derive(Debug, Clone)]
pub struct SampleParts {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl SampleParts {
    /// The request, to send with `http`.
    pub fn request(self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).expect("a method");
        let mut request = http.request(method, &self.url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(body) = self.body {
            request = request.body(body);
        }
        request
    }
}

/// The example body `operation`'s examples send, as JSON, if it has one.
pub fn sample_body(operation: &Operation) -> Option<Value> {
    let body = sample_request(api(), operation).body?;
    Some(serde_json::from_str(&body.text).expect("the example body is JSON"))
}

/// The values of every `name="…"` attribute in `html`, unescaped.
pub fn attribute_values(html: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest.find('"').map(|end| unescape(&rest[..end]))
        })
        .collect()
}

/// Undoes the HTML escaping minijinja applies.
pub fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

/// The example in `language` exactly as an operation's HTML page shows it.
pub fn sample_in_html(html: &str, language: &Language) -> String {
    let start_tag = format!("data-sample=\"{}\">", language.id);
    let start = html.find(&start_tag).unwrap_or_else(|| panic!("no {} example on the page", language.label))
        + start_tag.len();
    let end = html[start..].find("</code>").expect("the example's code element closes") + start;
    unescape(&html[start..end])
}

/// The example in `language` exactly as an operation's Markdown page shows it.
pub fn sample_in_markdown(markdown: &str, language: &Language) -> String {
    let heading = format!("### {}\n\n```{}\n", language.label, language.fence);
    let start =
        markdown.find(&heading).unwrap_or_else(|| panic!("no {} example in the Markdown", language.label))
            + heading.len();
    let end = markdown[start..].find("\n```\n").expect("the example's code fence closes") + start;
    markdown[start..end].to_owned()
}

/// The workspace's target folder, where tests leave what a person may want to look at.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Fails the test, with what to do, when `program` cannot be run.
pub fn require_tool(program: &str, version_flag: &str, how_to_install: &str) {
    let found = Command::new(program).arg(version_flag).output().is_ok_and(|output| output.status.success());
    assert!(
        found,
        "`{program}` is needed to run this test but cannot be run: {how_to_install} (.ci/run installs it)"
    );
}
