//! Builds a [`Client`] that sends a Keyward key with every request.

use std::{error::Error as StdError, fmt, time::Duration};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::Client;

/// How long a request may take, connecting included, unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The header that carries the Keyward key.
const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

impl Client {
    /// Builds a client for `base_url` that sends `key` as `X-API-KEY` on every
    /// request, with [`DEFAULT_TIMEOUT`].
    ///
    /// `base_url` is the server's root, such as `http://127.0.0.1:8080`; a
    /// trailing `/` is ignored.
    pub fn with_key(base_url: &str, key: &str) -> Result<Self, ClientBuildError> {
        Self::with_key_and_timeout(base_url, key, DEFAULT_TIMEOUT)
    }

    /// Like [`Client::with_key`], with `timeout` for connecting and for each
    /// whole request.
    pub fn with_key_and_timeout(
        base_url: &str,
        key: &str,
        timeout: Duration,
    ) -> Result<Self, ClientBuildError> {
        let mut value = HeaderValue::from_str(key).map_err(|_| ClientBuildError::InvalidKey)?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, value);
        let http = reqwest::ClientBuilder::new()
            .default_headers(headers)
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(ClientBuildError::Http)?;
        Ok(Self::new_with_client(base_url.trim_end_matches('/'), http))
    }
}

/// Why [`Client::with_key`] could not build a client.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientBuildError {
    /// The key holds characters an HTTP header cannot carry; the message
    /// never repeats the key.
    InvalidKey,
    /// The HTTP client could not be set up.
    Http(reqwest::Error),
}

impl fmt::Display for ClientBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidKey => f.write_str("the key is not a valid HTTP header value"),
            Self::Http(_) => f.write_str("cannot set up the HTTP client"),
        }
    }
}

impl StdError for ClientBuildError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::InvalidKey => None,
            Self::Http(e) => Some(e),
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
    fn a_trailing_slash_on_the_base_url_is_dropped() {
        let client = Client::with_key("http://127.0.0.1:8080/", "kw_secret").unwrap();
        assert_eq!(client.baseurl, "http://127.0.0.1:8080");
    }
}
