//! The caller: the Keyward key a request presents, judged by `App::authenticate`, with its organization and scopes.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::{HeaderMap, HeaderName, header, request::Parts};
use uuid::Uuid;

use super::AppState;
use super::access::RequestNote;
use super::consistency;
use super::error::ApiError;
use crate::app::{AppError, Refusal};
use crate::domain::Millis;
use crate::domain::actor::Actor;
use crate::domain::scope::{Access, Scope, any_grants, ungrantable};
use crate::verifier::CachedKey;

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
    /// The caller as the author of the changes it makes.
    pub fn actor(&self) -> Actor {
        Actor::ApiKey(self.key_id)
    }

    /// 403 unless the caller holds `access` to `resource`.
    pub fn require(&self, resource: &str, access: Access) -> Result<(), ApiError> {
        if any_grants(&self.key.scopes, resource, access) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                code: "auth.missing_scope",
                detail: format!(
                    "this key lacks the scope {{resource: \"{resource}\", access: \"{}\"}}",
                    access.as_str()
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
                    scope.access.as_str()
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
        let now = state.app.now();
        let seq = token.as_ref().ok().copied().flatten();
        let key = state.app.authenticate(presented, seq, now).await?;
        token?;
        RequestNote::acting_key(key.id);
        Ok(Caller { organization_id: key.organization_id, key_id: key.id, at: now, key })
    }
}

/// The key in `X-API-KEY`, or else in `Authorization: Bearer`.
fn presented_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    if let Some(value) = headers.get(&API_KEY_HEADER) {
        return value
            .to_str()
            .map(str::trim)
            .map_err(|_| AppError::Unauthenticated(Refusal::Malformed).into());
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
