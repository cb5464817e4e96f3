//! Read your own writes on any instance: a [`Client`](crate::Client) keeps the newest consistency
//! token Keyward answered it with and sends it with every later request, so whichever instance
//! answers has applied every write this client saw acknowledged.
//!
//! A token is opaque to callers; the SDK relies on one property Keyward promises: a later write's
//! token sorts after an earlier one's, so the newest of two is the greater.

use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// The header a write answers with, and a request sends back.
pub const CONSISTENCY_TOKEN: HeaderName = HeaderName::from_static("keyward-consistency-token");

/// The newest token a client holds, shared by its clones.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tokens(Arc<Mutex<Option<HeaderValue>>>);

/// Whether `token` has the form Keyward's tokens have (`ct1_` and 16 lowercase hexadecimal
/// digits): anything else would sort wrongly and stick, so it is never kept.
pub(crate) fn is_token(token: &[u8]) -> bool {
    token.len() == 20
        && token.starts_with(b"ct1_")
        && token[4] <= b'7'
        && token[4..].iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// `token` as a header value, if it has the form Keyward's tokens have.
pub(crate) fn parse(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(token).ok().filter(|value| is_token(value.as_bytes()))
}

impl Tokens {
    /// Keeps `token` if it is a token and newer than the one held.
    pub(crate) fn raise(&self, token: &HeaderValue) {
        if !is_token(token.as_bytes()) {
            return;
        }
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if held.as_ref().is_none_or(|held| held.as_bytes() < token.as_bytes()) {
            *held = Some(token.clone());
        }
    }

    /// Keeps the token of an answer, if it carries a newer one.
    pub(crate) fn observe(&self, headers: &HeaderMap) {
        if let Some(token) = headers.get(&CONSISTENCY_TOKEN) {
            self.raise(token);
        }
    }

    /// Puts the newest token in a request's headers (keeping the request's own if that is newer).
    pub(crate) fn stamp(&self, headers: &mut HeaderMap) {
        if let Some(own) = headers.get(&CONSISTENCY_TOKEN) {
            self.raise(own);
        }
        if let Some(token) = self.current() {
            headers.insert(CONSISTENCY_TOKEN, token);
        }
    }

    pub(crate) fn current(&self) -> Option<HeaderValue> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_token_is_kept_whatever_order_answers_come_in() {
        let tokens = Tokens::default();
        assert!(tokens.current().is_none());
        tokens.raise(&HeaderValue::from_static("ct1_000000000000000a"));
        tokens.raise(&HeaderValue::from_static("ct1_0000000000000009"));
        assert_eq!(tokens.current().unwrap(), "ct1_000000000000000a");
        let mut headers = HeaderMap::new();
        headers.insert(CONSISTENCY_TOKEN, HeaderValue::from_static("ct1_0000000000000100"));
        tokens.observe(&headers);
        let mut request = HeaderMap::new();
        tokens.stamp(&mut request);
        assert_eq!(request[&CONSISTENCY_TOKEN], "ct1_0000000000000100");
    }

    #[test]
    fn what_is_not_a_token_is_never_kept() {
        let tokens = Tokens::default();
        tokens.raise(&HeaderValue::from_static("ct1_000000000000000a"));
        for bad in ["zzz", "ct1_ZZZZZZZZZZZZZZZZ", "ct2_000000000000000b", "ct1_000000000000000bb"] {
            tokens.raise(&HeaderValue::from_static(bad));
        }
        assert_eq!(tokens.current().unwrap(), "ct1_000000000000000a");
    }
}
