//! The domain: key format, hashing, scopes and validated inputs, free of HTTP, SQL and OpenAPI.

pub mod actor;
pub mod api_key;
pub mod bounds;
pub mod clock;
pub mod key;
pub mod limits;
pub mod organization;
pub mod owner;
pub mod scope;
pub mod scope_query;
pub mod validation;
pub mod verification;

/// Milliseconds since the Unix epoch, the one time unit of the API and the store.
pub type Millis = i64;

/// The current time in milliseconds since the Unix epoch.
pub fn now_millis() -> Millis {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Deserializes a field that may be left out but not be `null` (with `#[serde(default)]`): a
/// `null` where the contract does not allow one is refused, naming the field.
pub fn non_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}
