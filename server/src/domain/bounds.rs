//! Every bound on a request's values, declared once: the checks, their messages and the OpenAPI schema (`api/bounds.rs`) read them here.

use super::key::PREFIX_MAX_LEN;

/// A string's length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Length {
    pub min: usize,
    pub max: usize,
}

/// An integer's range; a `max` of `i64::MAX` is no upper bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: i64,
    pub max: i64,
}

/// A name, or one of your ids (user, customer, billing), or a scope's target.
pub const NAME: Length = Length { min: 1, max: 128 };
/// A key's description.
pub const DESCRIPTION: Length = Length { min: 0, max: 1024 };
/// A scope's resource name.
pub const RESOURCE: Length = Length { min: 1, max: 64 };
/// The characters of a scope's resource name: a lowercase letter, then lowercase letters, digits
/// and `_ . : -` (`Checker::resource`).
pub const RESOURCE_PATTERN: &str = "^[a-z][a-z0-9_.:-]*$";
/// A key's readable start (its pattern is the key format's, `KeyPrefix::parse`).
pub const PREFIX: Length = Length { min: 1, max: PREFIX_MAX_LEN };
/// The longest presented key the verifier looks at.
pub const PRESENTED_KEY: Length = Length { min: 0, max: 512 };
/// A verification's scope query (`domain/scope_query.rs`).
pub const SCOPE_QUERY: Length = Length { min: 1, max: 1000 };

/// Text every store holds: anything but NUL (PostgreSQL refuses it in text and in JSON).
pub const STORABLE_TEXT: &str = r"^[^\x00]*$";
/// A name people read (a key's, an organization's): no control character (line breaks and tabs
/// included) and no bidirectional formatting character (`Checker::name`).
pub const READABLE_LINE: &str = r"^[^\x00-\x1F\x7F-\x9F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$";
/// A description: as a name, but line breaks and tabs are allowed (`Checker::description`).
pub const READABLE_TEXT: &str =
    r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$";

/// A time in milliseconds since the Unix epoch.
pub const TIME: Range = Range { min: 0, max: i64::MAX };
/// A rate limit's verifications per window.
pub const RATE_LIMIT: Range = Range { min: 1, max: 1_000_000 };
/// A rate limit's window: up to a day.
pub const RATE_WINDOW_MS: Range = Range { min: 1, max: 86_400_000 };
/// A key's credits.
pub const CREDITS: Range = Range { min: 0, max: 1_000_000_000_000 };
/// What a refill sets the credits back to.
pub const REFILL_AMOUNT: Range = Range { min: 1, max: 1_000_000_000_000 };
/// How often credits refill: a second to a leap year.
pub const REFILL_INTERVAL_MS: Range = Range { min: 1_000, max: 31_622_400_000 };
/// How long a rotated-away secret keeps working: up to 30 days.
pub const GRACE_PERIOD_MS: Range = Range { min: 0, max: 30 * 24 * 60 * 60 * 1000 };
/// The credits one verification may spend.
pub const COST: Range = Range { min: 0, max: 1_000_000_000 };
/// The keys a page of a listing holds.
pub const PAGE_SIZE: Range = Range { min: 1, max: 100 };

/// The most scopes one key may hold, or one verification ask for.
pub const MAX_SCOPES: usize = 50;
/// The most targets one scope may list.
pub const MAX_TARGETS: usize = 100;
/// The most top-level entries in a key's metadata.
pub const MAX_METADATA_ENTRIES: usize = 64;
/// The most bytes a key's metadata may take as compact JSON.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;
/// How deep a scope query may nest parentheses.
pub const MAX_SCOPE_QUERY_DEPTH: usize = 32;
/// How deep a key's metadata may nest arrays and objects (the metadata object itself is 1).
pub const MAX_METADATA_DEPTH: usize = 5;
