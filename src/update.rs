//! The body of `api_key_update` as the API takes it: each field kept, set, or cleared with
//! `null` where the contract allows one, and lists and maps that may be set empty. The type
//! progenitor would generate can say neither, so `build.rs` puts this one in its place.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::types::{ApiKeyStatus, Credits, RateLimit, Scope};

/// One field of an update: left out (the key keeps its value), set, or cleared with `null`.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Set(T),
    Clear,
}

impl<T> Patch<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `Some(value)` sets the field, `None` clears it.
    fn from(value: Option<T>) -> Self {
        value.map_or(Patch::Clear, Patch::Set)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Set(value) => value.serialize(serializer),
            // `Keep` is skipped by the fields that hold a `Patch`; were it not, `null` is the
            // nearest thing, so it is never sent by accident as a value.
            Patch::Clear | Patch::Keep => serializer.serialize_none(),
        }
    }
}

/// A partial update of an API key: what is left at its default is not sent, so the key keeps it.
///
/// ```
/// use keyward::update::ApiKeyUpdate;
/// let body = ApiKeyUpdate::new().name("billing worker (EU)").clear_rate_limit().clear_expiry();
/// assert_eq!(
///     serde_json::to_value(&body).unwrap(),
///     serde_json::json!({"name": "billing worker (EU)", "rate_limit": null, "expires_at": null})
/// );
/// ```
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApiKeyUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub description: Patch<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ApiKeyStatus>,
    /// `Some(vec![])` takes every scope away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Scope>>,
    /// Milliseconds since the Unix epoch.
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub expires_at: Patch<i64>,
    /// Replaces the metadata whole; `Some(Map::new())` empties it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub rate_limit: Patch<RateLimit>,
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub credits: Patch<Credits>,
}

/// A builder method: `$method` puts `$value` in `self.$field` and hands the update back.
macro_rules! setter {
    ($(#[$doc:meta])* $method:ident($($arg:ident: $ty:ty)?) => $field:ident = $value:expr) => {
        $(#[$doc])*
        pub fn $method(mut self $(, $arg: $ty)?) -> Self {
            self.$field = $value;
            self
        }
    };
}

impl ApiKeyUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    setter!(name(name: impl Into<String>) => name = Some(name.into()));
    setter!(description(description: impl Into<String>) => description = Patch::Set(description.into()));
    setter!(clear_description() => description = Patch::Clear);
    setter!(status(status: ApiKeyStatus) => status = Some(status));
    setter!(scopes(scopes: Vec<Scope>) => scopes = Some(scopes));
    setter!(
        /// When the key stops working, in milliseconds since the Unix epoch.
        expires_at(at_ms: i64) => expires_at = Patch::Set(at_ms)
    );
    setter!(
        /// The key never expires.
        clear_expiry() => expires_at = Patch::Clear
    );
    setter!(metadata(metadata: Map<String, Value>) => metadata = Some(metadata));
    setter!(rate_limit(rate_limit: RateLimit) => rate_limit = Patch::Set(rate_limit));
    setter!(
        /// The key has no rate limit.
        clear_rate_limit() => rate_limit = Patch::Clear
    );
    setter!(credits(credits: Credits) => credits = Patch::Set(credits));
    setter!(
        /// The key has no credit budget.
        clear_credits() => credits = Patch::Clear
    );
}
