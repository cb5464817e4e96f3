//! The verdict's JSON, written by hand for the hot path: a cached key's static rendering with its
//! usage spliced in, byte-identical to what the derived serializations write (tested below).

use serde::Serialize;

use crate::api::model::{VerifyResponse, api_key_path};
use crate::domain::api_key::ApiKey;
use crate::domain::scope::resolved;
use crate::verifier::KeyUsage;

/// The same JSON as [`ApiKeyBody`](crate::api::model::ApiKeyBody), written from the static parts of a cached key's rendering
/// (made once per cached record by [`render_key`]) with its usage spliced in: the verify hot
/// path answers without copying the record (a test keeps the two byte-identical).
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyJson<'a> {
    pub rendering: &'a [Box<str>; 3],
    pub usage: KeyUsage,
}

impl ApiKeyJson<'_> {
    /// Appends the key's JSON to `out`.
    pub fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let [before_credits, before_last_used, rest] = self.rendering;
        out.extend_from_slice(before_credits.as_bytes());
        serde_json::to_writer(&mut *out, &self.usage.credits)?;
        out.extend_from_slice(b",\"usage_count\":");
        serde_json::to_writer(&mut *out, &self.usage.usage_count)?;
        out.extend_from_slice(before_last_used.as_bytes());
        serde_json::to_writer(&mut *out, &self.usage.last_used_at)?;
        out.extend_from_slice(rest.as_bytes());
        Ok(())
    }
}

/// Appends `lead` (the JSON up to a field's value) and the value's JSON to `out`.
fn field(out: &mut Vec<u8>, lead: &[u8], value: &impl Serialize) -> serde_json::Result<()> {
    out.extend_from_slice(lead);
    serde_json::to_writer(&mut *out, value)
}

/// [`field`] when there is a value; an absent one is left out.
fn optional_field(out: &mut Vec<u8>, lead: &[u8], value: Option<&impl Serialize>) -> serde_json::Result<()> {
    value.map_or(Ok(()), |value| field(out, lead, value))
}

/// The parts of a key's JSON (as [`ApiKeyBody`](crate::api::model::ApiKeyBody) writes it) that do not change with use: all
/// before `credits`, from `revision` to `last_used_at`, and from `expires_at` to the end.
pub fn render_key(key: &ApiKey) -> serde_json::Result<[Box<str>; 3]> {
    let mut first = Vec::with_capacity(512);
    field(&mut first, b"{\"id\":", &key.id)?;
    field(&mut first, b",\"organization_id\":", &key.organization_id)?;
    field(&mut first, b",\"name\":", &key.name)?;
    field(&mut first, b",\"description\":", &key.description)?;
    field(&mut first, b",\"user_id\":", &key.user_id)?;
    field(&mut first, b",\"customer_id\":", &key.customer_id)?;
    field(&mut first, b",\"billing_id\":", &key.billing_id)?;
    field(&mut first, b",\"prefix\":", &key.prefix)?;
    field(&mut first, b",\"masked_key\":", &key.masked_key)?;
    field(&mut first, b",\"status\":", &key.status)?;
    field(&mut first, b",\"scopes\":", &resolved(&key.scopes))?;
    field(&mut first, b",\"metadata\":", &key.metadata)?;
    field(&mut first, b",\"rate_limit\":", &key.rate_limit)?;
    first.extend_from_slice(b",\"credits\":");
    let mut second = Vec::with_capacity(96);
    field(&mut second, b",\"revision\":", &key.revision)?;
    field(&mut second, b",\"created_at\":", &key.created_at)?;
    field(&mut second, b",\"updated_at\":", &key.updated_at)?;
    second.extend_from_slice(b",\"last_used_at\":");
    let mut third = Vec::with_capacity(160);
    field(&mut third, b",\"expires_at\":", &key.expires_at)?;
    field(&mut third, b",\"deleted\":", &key.deleted_at.is_some())?;
    field(&mut third, b",\"deleted_at\":", &key.deleted_at)?;
    field(&mut third, b",\"_links\":{\"self\":{\"href\":", &api_key_path(key.id))?;
    third.extend_from_slice(b"}}}");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).map(String::into_boxed_str);
    // serde_json writes UTF-8 only, and every lead above is ASCII.
    match (text(first), text(second), text(third)) {
        (Ok(first), Ok(second), Ok(third)) => Ok([first, second, third]),
        _ => Err(serde::ser::Error::custom("a key's JSON is not UTF-8")),
    }
}

impl VerifyResponse<'_> {
    /// Appends the verdict's JSON to `out`: compact, fields in declaration order, absent ones
    /// left out (what `#[derive(Serialize)]` with `skip_serializing_if = "Option::is_none"` writes).
    pub fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(if self.valid {
            b"{\"valid\":true,\"code\":"
        } else {
            b"{\"valid\":false,\"code\":"
        });
        serde_json::to_writer(&mut *out, &self.code)?;
        if let Some(api_key) = &self.api_key {
            out.extend_from_slice(b",\"api_key\":");
            api_key.write(out)?;
        }
        optional_field(out, b",\"rate_limit\":", self.rate_limit.as_ref())?;
        optional_field(out, b",\"credits\":", self.credits.as_ref())?;
        optional_field(out, b",\"expiry_warning\":", self.expiry_warning.as_ref())?;
        optional_field(out, b",\"rotated\":", self.rotated.as_ref())?;
        out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::api::model::{ApiKeyBody, CreditsState, ExpiryWarning, RotatedSecret};
    use crate::domain::api_key::NewApiKey;
    use crate::domain::key::KeyHasher;
    use crate::domain::limits::{Credits, CreditsRefill, RateLimit, RateLimitState};
    use crate::domain::scope::{Access, Scope};
    use crate::domain::verification::VerifyCode;

    /// The key's JSON as every other response writes it: the owned, derived [`ApiKeyBody`].
    fn body(key: &ApiKey, usage: KeyUsage) -> ApiKeyBody {
        let mut owned = key.clone();
        usage.apply(&mut owned);
        ApiKeyBody::from(owned)
    }

    #[test]
    fn the_spliced_key_json_writes_exactly_what_the_owned_body_writes() {
        let (issued, _) = NewApiKey {
            name: "view".into(),
            description: Some("d".into()),
            customer_id: Some("c".into()),
            scopes: vec![Scope { resource: "q".into(), access: Access::Read, targets: vec!["t".into()] }],
            metadata: serde_json::json!({"a": [1, {"b": null}]}).as_object().unwrap().clone(),
            rate_limit: Some(RateLimit { limit: 5, window_ms: 1000 }),
            credits: Some(Credits {
                remaining: 9,
                refill: Some(CreditsRefill { amount: 9, interval_ms: 5000 }),
            }),
            expires_at: Some(77),
            ..Default::default()
        }
        .issue(Uuid::now_v7(), &KeyHasher::default(), 1)
        .unwrap();
        let mut key = issued.api_key;
        key.deleted_at = Some(3);
        let usage = KeyUsage {
            usage_count: 12,
            last_used_at: Some(99),
            credits: Some(Credits { remaining: 4, refill: None }),
        };
        let rendering = render_key(&key).unwrap();
        for usage in [usage, KeyUsage { usage_count: 0, last_used_at: None, credits: None }] {
            let mut spliced = Vec::new();
            ApiKeyJson { rendering: &rendering, usage }.write(&mut spliced).unwrap();
            let owned = serde_json::to_string(&body(&key, usage)).unwrap();
            assert_eq!(String::from_utf8(spliced).unwrap(), owned);
        }
    }

    #[test]
    fn a_verdict_is_written_as_its_derived_serialization_would_be() {
        #[derive(Serialize)]
        struct Derived {
            valid: bool,
            code: VerifyCode,
            #[serde(skip_serializing_if = "Option::is_none")]
            api_key: Option<ApiKeyBody>,
            #[serde(skip_serializing_if = "Option::is_none")]
            rate_limit: Option<RateLimitState>,
            #[serde(skip_serializing_if = "Option::is_none")]
            credits: Option<CreditsState>,
            #[serde(skip_serializing_if = "Option::is_none")]
            expiry_warning: Option<ExpiryWarning>,
            #[serde(skip_serializing_if = "Option::is_none")]
            rotated: Option<RotatedSecret>,
        }
        let (issued, _) = NewApiKey { name: "verdict \"q\" é".into(), ..Default::default() }
            .issue(Uuid::now_v7(), &KeyHasher::default(), 1)
            .unwrap();
        let key = issued.api_key;
        let usage = KeyUsage { usage_count: 3, last_used_at: Some(5), credits: None };
        let rendering = render_key(&key).unwrap();
        let written = |full: bool| {
            let response = VerifyResponse {
                valid: full,
                code: if full { VerifyCode::Valid } else { VerifyCode::NotFound },
                api_key: full.then_some(ApiKeyJson { rendering: &rendering, usage }),
                rate_limit: full.then_some(RateLimitState { limit: 5, remaining: 4, reset_at: 9 }),
                credits: full.then_some(CreditsState { remaining: 7 }),
                expiry_warning: full
                    .then(|| ExpiryWarning { expires_at: 11, message: "the key expires in 1 minute".into() }),
                rotated: full.then_some(RotatedSecret { grace_ends_at: 13 }),
            };
            let mut out = Vec::new();
            response.write(&mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let derived = |full: bool| {
            serde_json::to_string(&Derived {
                valid: full,
                code: if full { VerifyCode::Valid } else { VerifyCode::NotFound },
                api_key: full.then(|| body(&key, usage)),
                rate_limit: full.then_some(RateLimitState { limit: 5, remaining: 4, reset_at: 9 }),
                credits: full.then_some(CreditsState { remaining: 7 }),
                expiry_warning: full
                    .then(|| ExpiryWarning { expires_at: 11, message: "the key expires in 1 minute".into() }),
                rotated: full.then_some(RotatedSecret { grace_ends_at: 13 }),
            })
            .unwrap()
        };
        assert_eq!(written(true), derived(true));
        assert_eq!(written(false), derived(false));
    }
}
