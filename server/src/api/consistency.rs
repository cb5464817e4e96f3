//! Consistency tokens: every write answers with one (`Keyward-Consistency-Token`), naming its
//! change record; a request that sends one back is answered only once this instance has applied
//! that change, so a caller reads its own writes on any instance (as Zanzibar's zookies and
//! SpiceDB's `at_least_as_fresh` do). Opaque to clients: `ct1_` and the record's `seq` in 16
//! hexadecimal digits, so that a later token also sorts after an earlier one.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::error::ApiError;
use crate::domain::validation::FieldError;

/// The header a write answers with and a request may send back.
pub const CONSISTENCY_TOKEN: HeaderName = HeaderName::from_static("keyward-consistency-token");

/// What every token starts with (its version).
const PREFIX: &str = "ct1_";

/// The token of the change record `seq`.
pub fn encode(seq: i64) -> HeaderValue {
    let token = format!("{PREFIX}{:016x}", seq.max(0));
    HeaderValue::from_str(&token).expect("ASCII")
}

/// The header pair a write's answer carries.
pub fn header(seq: i64) -> (HeaderName, HeaderValue) {
    (CONSISTENCY_TOKEN, encode(seq))
}

/// The `seq` a request's token names, if it sent one; 400 if it is not a token.
pub fn requested(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(&CONSISTENCY_TOKEN) else {
        return Ok(None);
    };
    value.to_str().ok().and_then(decode).map(Some).ok_or_else(|| invalid("is not a consistency token"))
}

/// The `seq` of a well-formed token.
fn decode(token: &str) -> Option<i64> {
    let digits = token.strip_prefix(PREFIX)?;
    if digits.len() != 16 || !digits.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    i64::from_str_radix(digits, 16).ok()
}

/// A 400 about the token.
pub fn invalid(message: &str) -> ApiError {
    ApiError::BadRequest {
        code: "request.invalid_consistency_token",
        detail: "the Keyward-Consistency-Token header names no change this service made".into(),
        errors: vec![FieldError {
            code: "invalid_consistency_token",
            message: format!("{message}; send one a write of this service answered with"),
            field: "Keyward-Consistency-Token".into(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_sorts_with_its_change() {
        for seq in [0, 1, 255, 1 << 40, i64::MAX] {
            let token = encode(seq);
            assert_eq!(decode(token.to_str().unwrap()), Some(seq));
        }
        assert!(encode(9).to_str().unwrap() < encode(10).to_str().unwrap());
        assert!(encode(255).to_str().unwrap() < encode(4096).to_str().unwrap());
    }

    #[test]
    fn anything_else_is_not_a_token() {
        for bad in
            ["", "ct1_", "ct1_12", "ct2_0000000000000001", "ct1_000000000000000G", "ct1_000000000000000A"]
        {
            assert_eq!(decode(bad), None, "{bad}");
        }
        assert_eq!(decode("ct1_ffffffffffffffff"), None, "past i64");
    }
}
