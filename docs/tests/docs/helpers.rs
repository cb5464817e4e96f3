//! What the docs tests share: the site built from the compiled-in contract, a real server, sending
//! an operation's example request to it, and reading pages.

use std::path::PathBuf;
use std::process::Command;
use std::sync::LazyLock;

use keyward_docs::spec::{Api, Operation};
use keyward_docs::{Language, Site, sample_request};
use keyward_server::config::Config;
use keyward_server::contract::OPENAPI_YAML;
use keyward_server::domain::key::{KeyPrefix, Secret};
use keyward_server::startup::Application;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;

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

/// A running server over a fresh SQLite file, and its root key.
pub struct TestServer {
    pub base_url: String,
    pub root_key: String,
    pub http: reqwest::Client,
    _dir: TempDir,
    _shutdown: oneshot::Sender<()>,
}

/// Starts the real application on a free loopback port, with an adopted root key.
pub async fn spawn_server() -> TestServer {
    spawn_server_with(|_| {}).await
}

/// Starts the real application as [`spawn_server`] does, its settings changed by `adjust` first.
pub async fn spawn_server_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root_key = Secret::generate(&KeyPrefix::default()).expose().to_owned();
    let mut config = Config::for_tests(format!("sqlite://{}", dir.path().join("keyward.db").display()));
    config.admin_key = Some(root_key.clone());
    adjust(&mut config);
    let app = Application::build(&config).await.expect("the application builds");
    let base_url = format!("http://127.0.0.1:{}", app.port());
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestServer { base_url, root_key, http: reqwest::Client::new(), _dir: dir, _shutdown: shutdown }
}

impl TestServer {
    /// Creates an API key (for `user_id`, when given) with the root key, and returns its id.
    pub async fn create_key(&self, user_id: Option<&str>) -> String {
        let mut body = json!({"name": "made for a docs example"});
        if let Some(user_id) = user_id {
            body["user_id"] = json!(user_id);
        }
        let created = self.create_key_from(&body).await;
        created["api_key"]["id"].as_str().expect("the new key's id").to_owned()
    }

    /// Creates an API key from an `api_key_create` body with the root key, and returns the
    /// answer: `key`, the secret, and `api_key`.
    pub async fn create_key_from(&self, body: &Value) -> Value {
        let (status, created) = self.call("POST", "/v1/api_keys", &self.root_key, Some(body)).await;
        assert_eq!(status, 201, "creating a key for an example with {body}: {created}");
        created
    }

    /// Sends `method path` with `key` and a JSON body, and returns the status and the JSON answer.
    pub async fn call(&self, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request =
            self.http.request(method, format!("{}{path}", self.base_url)).header("x-api-key", key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// The request `operation`'s examples send, as its pages show it, to this server: the
    /// path's parameters are `ids` (by name) where given, the credential is `credential`.
    pub fn sample(
        &self,
        operation: &Operation,
        ids: &[(&str, &str)],
        credential: &str,
    ) -> reqwest::RequestBuilder {
        let sample = self.sample_parts(operation, ids, Some(credential));
        let method = reqwest::Method::from_bytes(sample.method.as_bytes()).expect("a method");
        let mut request = self.http.request(method, &sample.url);
        for (name, value) in &sample.headers {
            request = request.header(name, value);
        }
        if let Some(body) = sample.body {
            request = request.body(body);
        }
        request
    }

    /// [`TestServer::sample`]'s request in parts, to change before sending; without a credential
    /// header when `credential` is `None`.
    pub fn sample_parts(
        &self,
        operation: &Operation,
        ids: &[(&str, &str)],
        credential: Option<&str>,
    ) -> SampleParts {
        let sample = sample_request(api(), operation);
        let (mut shown_path, mut real_path) = (operation.path.clone(), operation.path.clone());
        for parameter in operation.path_parameters() {
            let placeholder = format!("{{{}}}", parameter.name);
            let shown = match &parameter.example {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let real =
                ids.iter().find(|(name, _)| *name == parameter.name).map_or(shown.as_str(), |(_, id)| id);
            real_path = real_path.replace(&placeholder, real);
            shown_path = shown_path.replace(&placeholder, &shown);
        }
        let shown_url = format!("{}{shown_path}", api().server_url);
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

/// An example request to a test server, as parts: the URL is the server's.
#[derive(Debug, Clone)]
pub struct SampleParts {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
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
