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

impl ApiKeyUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Patch::Set(description.into());
        self
    }

    pub fn clear_description(mut self) -> Self {
        self.description = Patch::Clear;
        self
    }

    pub fn status(mut self, status: ApiKeyStatus) -> Self {
        self.status = Some(status);
        self
    }

    pub fn scopes(mut self, scopes: Vec<Scope>) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// When the key stops working, in milliseconds since the Unix epoch.
    pub fn expires_at(mut self, at_ms: i64) -> Self {
        self.expires_at = Patch::Set(at_ms);
        self
    }

    /// The key never expires.
    pub fn clear_expiry(mut self) -> Self {
        self.expires_at = Patch::Clear;
        self
    }

    pub fn metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    pub fn rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.rate_limit = Patch::Set(rate_limit);
        self
    }

    /// The key has no rate limit.
    pub fn clear_rate_limit(mut self) -> Self {
        self.rate_limit = Patch::Clear;
        self
    }

    pub fn credits(mut self, credits: Credits) -> Self {
        self.credits = Patch::Set(credits);
        self
    }

    /// The key has no credit budget.
    pub fn clear_credits(mut self) -> Self {
        self.credits = Patch::Clear;
        self
    }
}
