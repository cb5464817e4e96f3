//! The caller: the Keyward key a request presents, checked, with its organization and scopes.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::{HeaderMap, HeaderName, header, request::Parts};
use uuid::Uuid;

use super::AppState;
use super::access::RequestNote;
use super::consistency;
use super::error::ApiError;
use crate::domain::Millis;
use crate::domain::key::Secret;
use crate::domain::scope::{Access, Scope, any_grants, ungrantable};
use crate::domain::verification::{Unusable, usable};
use crate::verifier::{CachedKey, Resolved};

/// The header a key may be presented in, besides `Authorization: Bearer`.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

/// Who is calling: the key's organization, its id and its scopes.
#[derive(Debug, Clone)]
pub struct Caller {
    pub organization_id: Uuid,
    pub key_id: Uuid,
    /// When the request was authenticated (the clock is read once for the checks made here).
    pub at: Millis,
    key: Arc<CachedKey>,
}

impl Caller {
    /// 403 unless the caller holds `access` to `resource`.
    pub fn require(&self, resource: &str, access: Access) -> Result<(), ApiError> {
        if any_grants(&self.key.scopes, resource, access) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                code: "auth.missing_scope",
                detail: format!(
                    "this key lacks the scope {{resource: \"{resource}\", access: \"{}\"}}",
                    access_name(access)
                ),
            })
        }
    }

    /// 403 unless the caller holds every Keyward management scope in `wanted`.
    pub fn require_grantable(&self, wanted: &[Scope]) -> Result<(), ApiError> {
        match ungrantable(&self.key.scopes, wanted).first() {
            None => Ok(()),
            Some(scope) => Err(ApiError::Forbidden {
                code: "api_keys.scope_not_grantable",
                detail: format!(
                    "a key may grant a Keyward management scope only if it holds it; it lacks {{resource: \"{}\", access: \"{}\"}}",
                    scope.resource,
                    access_name(scope.access)
                ),
            }),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// A failure is a 401, which the connection loop counts against the client's address
    /// (`serve.rs`).
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        RequestNote::route(parts.extensions.get::<MatchedPath>());
        let token = consistency::requested(&parts.headers);
        let presented = presented_key(&parts.headers)?;
        let secret = Secret::parse(presented)
            .map_err(|_| unauthorized("auth.malformed_key", "the key is not a well-formed Keyward key"))?;
        let now = state.app.now();
        let verifier = state.app.verifier();
        let mut resolved = verifier.resolve(&secret, now).await?;
        // A request that names a change is answered once this instance has applied it, its own
        // key included (new, say, or just given a scope). Only a caller whose key works learns
        // whether the token names a change at all; any other waits at most the feed's delay (its
        // key may be the change's), if a place to wait is free, and is then judged as any other.
        if let Ok(Some(seq)) = token
            && state.app.is_behind(seq)
        {
            if !works(resolved.as_ref(), now) {
                state.app.wait_for(seq).await;
                resolved = verifier.resolve(&secret, now).await?;
            }
            if works(resolved.as_ref(), now) && state.app.is_behind(seq) {
                state.app.caught_up_to(seq).await?;
                resolved = verifier.resolve(&secret, now).await?;
            }
        }
        let resolved = resolved.ok_or_else(|| unauthorized("auth.invalid_key", "the key is not known"))?;
        verifier.record_use(&resolved, now);
        if let Some((code, detail)) = refusal(&resolved, now) {
            return Err(unauthorized(code, detail));
        }
        token?;
        let key = resolved.key;
        RequestNote::acting_key(key.id);
        Ok(Caller { organization_id: key.organization_id, key_id: key.id, at: now, key })
    }
}

/// Whether a key was found whose presented secret and record work at `now`.
fn works(resolved: Option<&Resolved>, now: Millis) -> bool {
    resolved.is_some_and(|r| refusal(r, now).is_none())
}

/// Why a found key cannot authenticate at `now` (its 401's code and detail), if it cannot.
fn refusal(resolved: &Resolved, now: Millis) -> Option<(&'static str, &'static str)> {
    usable(&resolved.key, resolved.secret_expires_at, now).err().map(|why| match why {
        Unusable::Rotated => ("auth.key_revoked", "the key was rotated and its grace period is over"),
        Unusable::Revoked => ("auth.key_revoked", "the key was revoked"),
        Unusable::Disabled => ("auth.key_disabled", "the key is disabled"),
        Unusable::Expired => ("auth.key_expired", "the key has expired"),
    })
}

/// The key in `X-API-KEY`, or else in `Authorization: Bearer`.
fn presented_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    if let Some(value) = headers.get(&API_KEY_HEADER) {
        return value
            .to_str()
            .map(str::trim)
            .map_err(|_| unauthorized("auth.malformed_key", "the key is not a well-formed Keyward key"));
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "auth.missing_key",
            "present a Keyward key as `X-API-KEY: <key>` or `Authorization: Bearer <key>`",
        ));
    };
    let value = value.to_str().unwrap_or_default().trim();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(unauthorized(
            "auth.unsupported_scheme",
            "the Authorization header must use the Bearer scheme",
        )),
    }
}

fn unauthorized(code: &'static str, detail: &str) -> ApiError {
    ApiError::Unauthorized { code, detail: detail.to_owned() }
}

fn access_name(access: Access) -> &'static str {
    match access {
        Access::Read => "read",
        Access::Create => "create",
        Access::Update => "update",
        Access::Delete => "delete",
        Access::Write => "write",
    }
}
