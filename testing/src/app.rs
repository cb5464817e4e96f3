//! The real server on `127.0.0.1:0` over a temporary database, and the requests the suites send.

use std::path::PathBuf;
use std::sync::Arc;

use keyward::Client;
use keyward::types::{self, ApiKeyCreated, Problem, VerifyResponse};
use keyward_server::config::Config;
use keyward_server::domain::clock::AdvancingClock;
use keyward_server::domain::key::{KeyPrefix, Secret};
use keyward_server::startup::Application;
use keyward_server::verifier::DEFAULT_MAX_AGE_MS;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;

use crate::postgres::TestDatabase;

/// How often the server writes usage held in memory to the store.
pub const FLUSH_EVERY: std::time::Duration = keyward_server::startup::FLUSH_EVERY;

/// How long a client keeps an idle connection: less than the server's wait for a request's
/// headers, after which it closes the connection.
const IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// The store it serves: a SQLite file in `dir`, or a PostgreSQL database of its own.
    pub database_url: String,
    /// The server's clock: the system's, moved ahead by `advance` where a test would wait.
    pub clock: Arc<AdvancingClock>,
    max_age_ms: i64,
    pub base_url: String,
    /// The default organization's root key (also the instance admin).
    pub root_key: String,
    /// A client holding `root_key`.
    pub client: Client,
    pub http: reqwest::Client,
    pub db_path: PathBuf,
    dir: TempDir,
    postgres: Option<Arc<TestDatabase>>,
    configure: fn(&mut Config),
    shutdown: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Runs each named test, an `async fn name(app: TestApp)`, on a fresh server over a SQLite file
/// and on one over a PostgreSQL database of its own: `on_both_stores!(a, b);` makes the tests
/// `sqlite::a`, `postgres::a`, `sqlite::b` and `postgres::b` of the module it is written in.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::spawn_app().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::spawn_postgres_app().await).await;
                }
            )*
        }
    };
}

/// Starts the real application on a free loopback port over a fresh SQLite file.
pub async fn spawn_app() -> TestApp {
    spawn_app_configured(|_| {}).await
}

/// Like [`spawn_app`], with cached keys read again after `max_age_ms`.
pub async fn spawn_app_trusting_cache_for(max_age_ms: i64) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root_key = Secret::generate(&KeyPrefix::default()).expose().to_owned();
    let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    spawn_app_in(dir, None, url, root_key, max_age_ms, |_| {}).await
}

/// Like [`spawn_app`], with settings changed by `configure` (limits, timeouts).
pub async fn spawn_app_configured(configure: fn(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root_key = Secret::generate(&KeyPrefix::default()).expose().to_owned();
    let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    spawn_app_in(dir, None, url, root_key, DEFAULT_MAX_AGE_MS, configure).await
}

/// Starts the real application over a fresh PostgreSQL database of its own.
pub async fn spawn_postgres_app() -> TestApp {
    spawn_postgres_app_configured(|_| {}).await
}

/// Like [`spawn_postgres_app`], with settings changed by `configure`.
pub async fn spawn_postgres_app_configured(configure: fn(&mut Config)) -> TestApp {
    let database = Arc::new(TestDatabase::create().await);
    let root_key = Secret::generate(&KeyPrefix::default()).expose().to_owned();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = database.url.clone();
    spawn_app_in(dir, Some(database), url, root_key, DEFAULT_MAX_AGE_MS, configure).await
}

/// A second instance over the same database as `app`, with its own caches and feed (PostgreSQL).
pub async fn spawn_peer(app: &TestApp) -> TestApp {
    spawn_peer_at(app, app.database_url.clone()).await
}

/// Another instance over `app`'s PostgreSQL database, reached at `database_url` (through a proxy).
pub async fn spawn_peer_at(app: &TestApp, database_url: String) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root_key = app.root_key.clone();
    spawn_app_in(dir, app.postgres.clone(), database_url, root_key, app.max_age_ms, app.configure).await
}

/// Starts the real application over `database_url`, adopting `root_key` on first start.
async fn spawn_app_in(
    dir: TempDir,
    postgres: Option<Arc<TestDatabase>>,
    database_url: String,
    root_key: String,
    max_age_ms: i64,
    configure: fn(&mut Config),
) -> TestApp {
    let db_path = dir.path().join("keyward.db");
    let mut config = Config::for_tests(database_url.clone());
    config.admin_key = Some(root_key.clone());
    config.cache_max_age_ms = max_age_ms;
    // The suites fail authentication on purpose, from one address, far more than a client
    // would: the limit is tested on servers that set it low (tests/api/limits.rs).
    config.auth_failures_per_minute = 1_000_000;
    configure(&mut config);
    let clock = Arc::new(AdvancingClock::default());
    let app = Application::build_with_clock(&config, clock.clone()).await.expect("the application builds");
    let base_url = format!("http://127.0.0.1:{}", app.port());
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let app = TestApp {
        database_url,
        clock,
        max_age_ms,
        client: client_for(&base_url, &root_key),
        base_url,
        root_key,
        // Idle connections are given up before the server's 10 s wait for a next request's
        // headers closes them, so none is reused just as it is closed.
        http: reqwest::Client::builder().pool_idle_timeout(IDLE).build().expect("a client"),
        db_path,
        dir,
        postgres,
        configure,
        shutdown,
        server,
    };
    app.wait_until_ready().await;
    app
}

impl TestApp {
    /// Stops the server as SIGTERM would (draining, flushing usage) and starts it again on the
    /// same database.
    pub async fn restart(self) -> TestApp {
        let _ = self.shutdown.send(());
        self.server.await.expect("the server task").expect("the server stops cleanly");
        spawn_app_in(
            self.dir,
            self.postgres,
            self.database_url,
            self.root_key,
            self.max_age_ms,
            self.configure,
        )
        .await
    }

    /// Waits until `GET /v1/ready` says the instance follows the change feed.
    pub async fn wait_until_ready(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let ready = self.anonymous(Method::GET, "/v1/ready").send().await;
            if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{} never became ready", self.base_url);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// A client of this server holding `key`.
    pub fn client_with(&self, key: &str) -> Client {
        client_for(&self.base_url, key)
    }

    /// A raw request with the root key, for what the generated client would refuse to send.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base_url)).header("x-api-key", &self.root_key)
    }

    /// Sends `method path` with the root key and `body` as it is, labelled `content_type`: the
    /// bytes and media types the generated client would not send. The server's answer, whatever
    /// it is.
    pub async fn send_body(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let request = self.request(method, path).header("content-type", content_type).body(body);
        request.send().await.expect("the server answers")
    }

    /// Sends `method path` presenting `key`, with `body` as JSON if given, and returns the status
    /// and the answer: its JSON, or its text as a JSON string when it is none.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.anonymous(method, path).header("x-api-key", key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// The JSON body of a `GET` of `path` with the root key.
    pub async fn get_json(&self, path: &str) -> Value {
        self.call(Method::GET, path, &self.root_key, None).await.1
    }

    /// The JSON body of a `POST` of `body` to `path` with the root key.
    pub async fn post_json(&self, path: &str, body: &Value) -> Value {
        self.call(Method::POST, path, &self.root_key, Some(body)).await.1
    }

    /// Creates a key from the raw `api_key_create` body `body`, presenting `key`, and returns
    /// the answer (`key`, the secret, and `api_key`); anything but a 201 fails the test.
    pub async fn create_json_as(&self, key: &str, body: &Value) -> Value {
        let (status, created) = self.call(Method::POST, "/v1/api_keys", key, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "creating a key from {body}: {created}");
        created
    }

    /// Creates a key from the raw body `body` (limits and all) with the root key, and returns the
    /// answer.
    pub async fn create_json(&self, body: &Value) -> Value {
        self.create_json_as(&self.root_key, body).await
    }

    /// Creates a key from the raw body `body` with the root key, and returns its secret and id.
    pub async fn create_raw(&self, body: &Value) -> (String, String) {
        let created = self.create_json(body).await;
        let secret = created["key"].as_str().expect("the new key's secret").to_owned();
        (secret, created["api_key"]["id"].as_str().expect("the new key's id").to_owned())
    }

    /// What the server says of `body` (`{"key": …}`, with scopes or a cost) at
    /// `POST /v1/keys/verify` with the root key, sending `token` as `Keyward-Consistency-Token`
    /// when given: the verdict of a 200, or the status of anything else.
    pub async fn verify_json(&self, body: &Value, token: Option<&str>) -> Result<VerifyResponse, StatusCode> {
        let mut request = self.request(Method::POST, "/v1/keys/verify").json(body);
        if let Some(token) = token {
            request = request.header("keyward-consistency-token", token);
        }
        let response = request.send().await.expect("the server answers");
        match response.status() {
            StatusCode::OK => Ok(response.json().await.expect("a verdict")),
            status => Err(status),
        }
    }

    /// The code of the verdict on `key`, asking no scope and sending `token` when given:
    /// anything but a 200 fails the test.
    pub async fn verdict_on(&self, key: &str, token: Option<&str>) -> types::VerifyCode {
        let answer = self.verify_json(&serde_json::json!({"key": key}), token).await;
        answer.unwrap_or_else(|status| panic!("verify answered {status}")).code
    }

    /// A raw request without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base_url))
    }

    /// Creates a key named `name` with the root key.
    pub async fn create_key(&self, name: &str) -> ApiKeyCreated {
        self.create(types::ApiKeyCreate::builder().name(name)).await
    }

    /// Creates a key from `body` with the root key.
    pub async fn create(&self, body: types::builder::ApiKeyCreate) -> ApiKeyCreated {
        self.client.api_key_create().body(body).send().await.expect("the key is created").into_inner()
    }

    /// Creates a key holding exactly `scopes`, and a client that presents it.
    pub async fn client_scoped(&self, scopes: &[(&str, types::ScopeAccess)]) -> (ApiKeyCreated, Client) {
        let scopes: Vec<types::Scope> = scopes.iter().map(|(r, a)| scope(r, *a)).collect();
        let created = self.create(types::ApiKeyCreate::builder().name("scoped").scopes(scopes)).await;
        let client = self.client_with(&created.key);
        (created, client)
    }

    /// A second organization, made by the instance admin, and a client with its root key.
    pub async fn second_organization(&self, name: &str) -> (types::OrganizationCreated, Client) {
        let created = self
            .client
            .organization_create()
            .body(types::OrganizationCreate::builder().name(name))
            .send()
            .await
            .expect("the organization is created")
            .into_inner();
        let client = self.client_with(&created.key);
        (created, client)
    }
}

/// `$query` with `$db` a connection of its own to `$app`'s store, SQLite or PostgreSQL: the same
/// query for both, on the connection type of each.
macro_rules! on_the_store {
    ($app:expr, |$db:ident| $query:expr) => {{
        use sqlx::Connection;
        if $app.database_url.starts_with("sqlite:") {
            let mut $db = sqlx::SqliteConnection::connect(&$app.database_url).await.unwrap();
            $query
        } else {
            let mut $db = sqlx::PgConnection::connect(&$app.database_url).await.unwrap();
            $query
        }
    }};
}

/// How many change records the store holds: one for every committed write.
pub async fn change_count(app: &TestApp) -> i64 {
    let count = "SELECT COUNT(*) FROM changes";
    on_the_store!(app, |db| sqlx::query_scalar(count).fetch_one(&mut db).await.unwrap())
}

/// The newest change record as stored: its entity's kind and id, its kind, its actor and the
/// fields it names (a JSON array, as text).
pub async fn newest_change(app: &TestApp) -> (String, uuid::Uuid, String, String, String) {
    let newest =
        "SELECT entity, entity_id, kind, actor, CAST(fields AS TEXT) FROM changes ORDER BY seq DESC LIMIT 1";
    on_the_store!(app, |db| sqlx::query_as(newest).fetch_one(&mut db).await.unwrap())
}

/// Starts a create whose body never ends on `app`, a server that takes one request at a time,
/// and returns once it holds that slot: the task ends when the server cuts it off.
pub async fn hold_the_only_request_slot(
    app: &TestApp,
) -> tokio::task::JoinHandle<reqwest::Result<StatusCode>> {
    use futures::StreamExt;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let never_ends = futures::stream::once(async { Ok::<_, std::io::Error>(b"{".to_vec()) })
            .chain(futures::stream::pending());
        let request = app
            .request(Method::POST, "/v1/api_keys")
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(never_ends));
        let holder = tokio::spawn(async move { request.send().await.map(|r| r.status()) });
        // Refused at once if another request had the slot; still running if it holds it.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if !holder.is_finished() {
            return holder;
        }
        assert!(std::time::Instant::now() < deadline, "the endless request never took the slot");
    }
}

/// A client of the server at `base_url` holding `key`, with retries off so that each test
/// sees every answer as the server gave it.
fn client_for(base_url: &str, key: &str) -> Client {
    Client::builder(base_url).key(key).retries(0).build().expect("a client")
}

/// A scope on every target of `resource`.
pub fn scope(resource: &str, access: types::ScopeAccess) -> types::Scope {
    types::Scope { resource: resource.parse().expect("a valid resource"), access, targets: Vec::new() }
}

/// The status and problem document of a failed client call.
pub fn problem_of<T: std::fmt::Debug>(result: Result<T, keyward::Error<Problem>>) -> (StatusCode, Problem) {
    match result {
        Err(keyward::Error::ErrorResponse(response)) => {
            let status = response.status();
            (status, response.into_inner())
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// Asserts a raw response is a problem document with `status` and `code`, and returns it.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status of {}", response.url());
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert_eq!(content_type, "application/problem+json", "content type of a {status}");
    let body: Value = response.json().await.expect("a JSON problem document");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["title"].is_string() && body["type"].is_string() && body["detail"].is_string(), "{body}");
    body
}

/// The fields a problem document's `errors` name.
pub fn problem_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .flat_map(|e| e["fields"].as_array().cloned().unwrap_or_default())
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
