//! Builds a [`Client`]: the key it sends, TLS roots, timeouts and the retry policy it follows.

use std::{error::Error as StdError, fmt, time::Duration};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{
    Certificate, Method, StatusCode,
    header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER},
};

use crate::Client;
use crate::consistency::Tokens;

/// How long a request may take, connecting included, unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times a request is sent again, unless told otherwise.
pub const DEFAULT_RETRIES: u32 = 2;

/// The longest wait before a retry, unless told otherwise; a server asking
/// for a longer one (`Retry-After`) gets its answer returned instead.
pub const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(10);

/// The header that carries the Keyward key.
const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

/// The first wait before a retry without `Retry-After`; each next one doubles.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

impl Client {
    /// Starts a client for `base_url`, the server's root such as
    /// `https://keys.example.com` (a trailing `/` is ignored).
    ///
    /// ```no_run
    /// # fn run() -> Result<(), keyward::ClientBuildError> {
    /// use std::time::Duration;
    ///
    /// let client = keyward::Client::builder("https://keys.example.com")
    ///     .key("kw_...")
    ///     .timeout(Duration::from_secs(5))
    ///     .retries(3)
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(base_url: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            retry: RetryPolicy { retries: DEFAULT_RETRIES, max_delay: DEFAULT_MAX_RETRY_DELAY },
            roots: Ok(Vec::new()),
            consistency_token: None,
        }
    }

    /// A client for `base_url` that sends `key` as `X-API-KEY` on every
    /// request, with the default timeout and retries.
    pub fn with_key(base_url: &str, key: &str) -> Result<Self, ClientBuildError> {
        Self::builder(base_url).key(key).build()
    }

    /// The retry policy this client follows.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// The newest consistency token this client (or a clone of it) was answered with: hand it to
    /// another client, in this process or another ([`ClientBuilder::consistency_token`],
    /// [`Client::read_after`]), and that client's requests see every write this one saw
    /// acknowledged, on whichever instance answers them.
    pub fn consistency_token(&self) -> Option<String> {
        self.inner.tokens.current().and_then(|token| token.to_str().ok().map(str::to_owned))
    }

    /// From now on, answers to this client reflect at least the write that answered with
    /// `token` (ignored unless it is newer than the one the client holds).
    pub fn read_after(&self, token: &str) -> Result<(), ClientBuildError> {
        let token = crate::consistency::parse(token).ok_or(ClientBuildError::InvalidConsistencyToken)?;
        self.inner.tokens.raise(&token);
        Ok(())
    }
}

/// What a [`Client`] carries beside its HTTP client: its retry policy, and the newest consistency
/// token it holds (shared by its clones), sent with every request so that it reads its own writes
/// on any instance.
#[derive(Clone, Debug)]
pub struct Session {
    retry: RetryPolicy,
    tokens: Tokens,
}

/// Sets up a [`Client`]; see [`Client::builder`].
///
/// TLS: `https://` URLs are verified against the platform's roots (on Linux
/// the system store, or the file `SSL_CERT_FILE` names instead), plus any
/// added with [`ClientBuilder::ca_certificate_pem`] for a private CA.
pub struct ClientBuilder {
    base_url: String,
    key: Option<String>,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    retry: RetryPolicy,
    roots: Result<Vec<Certificate>, ClientBuildError>,
    consistency_token: Option<String>,
}

/// Everything but the key, which is never printed.
impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("roots", &self.roots.as_ref().map(Vec::len))
            .field("consistency_token", &self.consistency_token)
            .finish()
    }
}

impl ClientBuilder {
    /// Sends `key` as `X-API-KEY` on every request.
    pub fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_owned());
        self
    }

    /// How long each attempt of a request may take, connecting included
    /// (30 s unless set).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long connecting may take (the whole [`ClientBuilder::timeout`]
    /// unless set).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How many times a request is sent again after a failure that is safe to
    /// retry (see [`RetryPolicy`]); 0 turns retries off. 2 unless set.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retry.retries = retries;
        self
    }

    /// The longest wait before a retry (10 s unless set).
    pub fn max_retry_delay(mut self, delay: Duration) -> Self {
        self.retry.max_delay = delay;
        self
    }

    /// Trusts the CA certificates in `pem` (one or more PEM blocks) beside
    /// the platform's roots.
    pub fn ca_certificate_pem(mut self, pem: &[u8]) -> Self {
        if let Ok(roots) = &mut self.roots {
            match Certificate::from_pem_bundle(pem) {
                Ok(certificates) if !certificates.is_empty() => roots.extend(certificates),
                Ok(_) => self.roots = Err(ClientBuildError::InvalidCertificate(None)),
                Err(e) => self.roots = Err(ClientBuildError::InvalidCertificate(Some(e))),
            }
        }
        self
    }

    /// Starts the client at a consistency token another client was answered with
    /// ([`Client::consistency_token`]): its answers reflect at least that write.
    pub fn consistency_token(mut self, token: &str) -> Self {
        self.consistency_token = Some(token.to_owned());
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, ClientBuildError> {
        let tokens = Tokens::default();
        if let Some(token) = &self.consistency_token {
            tokens.raise(&crate::consistency::parse(token).ok_or(ClientBuildError::InvalidConsistencyToken)?);
        }
        let mut headers = HeaderMap::new();
        if let Some(key) = &self.key {
            let mut value = HeaderValue::from_str(key).map_err(|_| ClientBuildError::InvalidKey)?;
            value.set_sensitive(true);
            headers.insert(API_KEY_HEADER, value);
        }
        let http = reqwest::ClientBuilder::new()
            .default_headers(headers)
            // Keyward closes a connection that sends no request for 10 s; one idle for 5 s is
            // given up first, so none is reused just as the server closes it.
            .pool_idle_timeout(Duration::from_secs(5))
            .connect_timeout(self.connect_timeout.unwrap_or(self.timeout))
            .timeout(self.timeout)
            .tls_certs_merge(self.roots?)
            .build()
            .map_err(ClientBuildError::Http)?;
        Ok(Client::new_with_client(&self.base_url, http, Session { retry: self.retry, tokens }))
    }
}

/// When a [`Client`] sends a request again, and how long it waits first.
///
/// Retried, whatever the method: a request that never reached the server
/// (the connection was refused, reset or timed out; not a certificate that
/// fails its checks) and a `503` (Keyward answers it only
/// when it did nothing: too many requests in flight, or a store too busy,
/// its transaction rolled back). Retried only for `GET` and `HEAD`, which
/// change nothing: a timeout or a dropped connection after sending, a `502`
/// or a `504` from a proxy. Never retried: anything else, so a create, a
/// rotation or a verify that spends credits runs at most once.
///
/// The wait is the server's `Retry-After` when it sends one (if that is
/// longer than the maximum delay, its answer is returned at once), else
/// 200 ms doubled on each retry, with jitter, up to the maximum delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a request is sent again.
    pub retries: u32,
    /// The longest wait before a retry.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `attempt + 1` after `outcome`, or `None`
    /// if the outcome stands.
    fn delay(
        &self,
        method: &Method,
        outcome: &reqwest::Result<reqwest::Response>,
        attempt: u32,
    ) -> Option<Duration> {
        if attempt >= self.retries {
            return None;
        }
        let changes_nothing = *method == Method::GET || *method == Method::HEAD;
        let retry_after = match outcome {
            Err(e) if e.is_connect() && refused_or_dropped(e) => None,
            Err(e) if changes_nothing && (e.is_timeout() || e.is_request()) => None,
            Err(_) => return None,
            Ok(response) => match response.status() {
                StatusCode::SERVICE_UNAVAILABLE => retry_after(response.headers()),
                StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT if changes_nothing => {
                    retry_after(response.headers())
                }
                _ => return None,
            },
        };
        match retry_after {
            Some(wait) if wait > self.max_delay => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(attempt)),
        }
    }

    /// 200 ms doubled `attempt` times, capped at the maximum delay, then
    /// scaled by a random factor in [0.5, 1] so that clients refused at once
    /// do not come back at once.
    fn backoff(&self, attempt: u32) -> Duration {
        let doubled = FIRST_BACKOFF.saturating_mul(1u32 << attempt.min(16));
        doubled.min(self.max_delay).mul_f64(rand::random_range(0.5..=1.0))
    }
}

/// Whether a connection failed for want of a peer (refused, reset, timed
/// out), which may pass, rather than for a certificate or a name, which will not.
fn refused_or_dropped(error: &reqwest::Error) -> bool {
    use std::io::ErrorKind;
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::NotConnected
                    | ErrorKind::TimedOut
            );
        }
        next = e.source();
    }
    error.is_timeout()
}

/// `Retry-After` as a number of seconds (Keyward sends no dates).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds))
}

impl ClientHooks<Session> for Client {
    async fn exec(
        &self,
        mut request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let Session { retry: policy, tokens } = self.inner();
        tokens.stamp(request.headers_mut());
        let mut attempt = 0;
        loop {
            // Every body the SDK sends is bytes in memory, so a copy can be made.
            let again = if attempt < policy.retries { request.try_clone() } else { None };
            let method = request.method().clone();
            let outcome = self.client().execute(request).await;
            if let Ok(response) = &outcome {
                tokens.observe(response.headers());
            }
            let Some(again) = again else { return outcome };
            let Some(wait) = policy.delay(&method, &outcome, attempt) else { return outcome };
            drop(outcome);
            tokio::time::sleep(wait).await;
            request = again;
            attempt += 1;
        }
    }
}

/// Why [`ClientBuilder::build`] could not build a client.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientBuildError {
    /// The key holds characters an HTTP header cannot carry; the message
    /// never repeats the key.
    InvalidKey,
    /// The CA certificate is not PEM, or holds no certificate.
    InvalidCertificate(Option<reqwest::Error>),
    /// The HTTP client could not be set up.
    Http(reqwest::Error),
    /// The consistency token is not of the form Keyward's tokens have (`ct1_` and 16
    /// hexadecimal digits).
    InvalidConsistencyToken,
}

impl fmt::Display for ClientBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidKey => f.write_str("the key is not a valid HTTP header value"),
            Self::InvalidCertificate(_) => f.write_str("the CA certificate is not a PEM certificate"),
            Self::Http(_) => f.write_str("cannot set up the HTTP client"),
            Self::InvalidConsistencyToken => {
                f.write_str("the consistency token is not one Keyward gave (ct1_ and 16 hexadecimal digits)")
            }
        }
    }
}

impl StdError for ClientBuildError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::InvalidKey | Self::InvalidCertificate(None) | Self::InvalidConsistencyToken => None,
            Self::InvalidCertificate(Some(e)) | Self::Http(e) => Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_with_a_newline_is_refused_without_being_repeated() {
        let err = Client::with_key("http://127.0.0.1:8080", "kw_secret\n").unwrap_err();
        assert!(matches!(err, ClientBuildError::InvalidKey));
        assert!(!err.to_string().contains("kw_secret"));
    }

    #[test]
    fn a_builder_never_prints_its_key() {
        let builder = Client::builder("http://127.0.0.1:8080").key("kw_secret");
        assert!(!format!("{builder:?}").contains("kw_secret"));
    }

    #[test]
    fn a_trailing_slash_on_the_base_url_is_dropped() {
        let client = Client::with_key("http://127.0.0.1:8080/", "kw_secret").unwrap();
        assert_eq!(client.baseurl, "http://127.0.0.1:8080");
    }

    #[test]
    fn a_ca_certificate_that_is_not_pem_is_refused() {
        let err = Client::builder("https://127.0.0.1:8443").ca_certificate_pem(b"not a certificate").build();
        assert!(matches!(err, Err(ClientBuildError::InvalidCertificate(_))), "{err:?}");
    }

    #[test]
    fn the_retry_policy_is_what_was_set() {
        let client = Client::builder("http://127.0.0.1:8080")
            .retries(5)
            .max_retry_delay(Duration::from_secs(1))
            .build()
            .unwrap();
        assert_eq!(client.retry_policy(), RetryPolicy { retries: 5, max_delay: Duration::from_secs(1) });
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_delay_with_jitter() {
        let policy = RetryPolicy { retries: 10, max_delay: Duration::from_secs(1) };
        for attempt in 0..10 {
            let full = (FIRST_BACKOFF * 2u32.pow(attempt)).min(policy.max_delay);
            let wait = policy.backoff(attempt);
            assert!(wait <= full && wait >= full / 2, "attempt {attempt}: {wait:?} of {full:?}");
        }
    }

    fn answer(status: u16, retry_after: Option<&'static str>) -> reqwest::Result<reqwest::Response> {
        let mut response = http::Response::builder().status(status);
        if let Some(seconds) = retry_after {
            response = response.header(RETRY_AFTER, seconds);
        }
        Ok(reqwest::Response::from(response.body(Vec::<u8>::new()).unwrap()))
    }

    const POLICY: RetryPolicy = RetryPolicy { retries: 2, max_delay: Duration::from_secs(10) };

    #[test]
    fn a_503_is_retried_whatever_the_method_after_its_retry_after() {
        for method in [Method::GET, Method::POST, Method::PATCH, Method::DELETE] {
            assert_eq!(
                POLICY.delay(&method, &answer(503, Some("1")), 0),
                Some(Duration::from_secs(1)),
                "{method}"
            );
        }
        let backoff = POLICY.delay(&Method::POST, &answer(503, None), 1).unwrap();
        assert!(
            backoff >= Duration::from_millis(200) && backoff <= Duration::from_millis(400),
            "{backoff:?}"
        );
    }

    #[test]
    fn a_gateway_error_is_retried_only_for_a_read() {
        assert!(POLICY.delay(&Method::GET, &answer(502, None), 0).is_some());
        assert!(POLICY.delay(&Method::GET, &answer(504, None), 0).is_some());
        assert_eq!(POLICY.delay(&Method::POST, &answer(502, None), 0), None);
        assert_eq!(POLICY.delay(&Method::PATCH, &answer(504, None), 0), None);
    }

    #[test]
    fn other_answers_stand() {
        for status in [200, 201, 400, 401, 404, 409, 412, 422, 429, 500] {
            assert_eq!(POLICY.delay(&Method::GET, &answer(status, Some("1")), 0), None, "{status}");
        }
    }

    #[test]
    fn retries_stop_at_the_count_and_at_a_wait_longer_than_the_maximum() {
        assert_eq!(POLICY.delay(&Method::GET, &answer(503, Some("1")), 2), None);
        assert_eq!(POLICY.delay(&Method::GET, &answer(503, Some("60")), 0), None);
        let off = RetryPolicy { retries: 0, ..POLICY };
        assert_eq!(off.delay(&Method::GET, &answer(503, Some("1")), 0), None);
    }

    #[test]
    fn retry_after_is_read_as_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&headers), None);
    }
}
