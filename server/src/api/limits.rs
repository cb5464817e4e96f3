//! Abuse limits at the HTTP edge: failed authentications per client address, requests in
//! flight, header size and a deadline for every request (a body sent a byte at a time included).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use tokio::sync::Semaphore;

use super::error::ApiError;

/// The most bytes of headers (names and values) a request may carry before it is refused with a
/// problem document. Past four times this, hyper refuses it before it is parsed (see `serve`).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Failed authentications per client address: a burst of `quota`, then `quota` a minute.
/// Valid credentials are never counted, so a client that fails a lot can still use a good key.
pub struct AuthFailures {
    quota: NonZeroU32,
    limiter: RateLimiter<IpAddr, HashMapStateStore<IpAddr>, DefaultClock>,
}

impl AuthFailures {
    pub fn per_minute(quota: NonZeroU32) -> Self {
        Self { quota, limiter: RateLimiter::hashmap(Quota::per_minute(quota)) }
    }

    /// Counts one failed authentication from `address`; once its budget is spent, the error to
    /// answer instead of the 401.
    pub fn count(&self, address: IpAddr) -> Result<(), ApiError> {
        self.limiter.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            ApiError::TooManyAuthFailures { quota: self.quota.get(), retry_after_s: wait.as_secs() + 1 }
        })
    }

    /// Forgets the addresses whose budget is whole again, so memory follows recent failures.
    pub fn forget_recovered(&self) {
        self.limiter.retain_recent();
    }
}

/// The per-request limits every route but liveness passes through.
#[derive(Clone)]
pub struct RequestLimits {
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    timeout: Duration,
}

impl RequestLimits {
    pub fn new(max_in_flight: usize, timeout: Duration) -> Self {
        Self { in_flight: Arc::new(Semaphore::new(max_in_flight)), max_in_flight, timeout }
    }
}

/// Refuses oversized headers (431) and requests past the in-flight limit (503, `Retry-After`),
/// and gives every request a deadline (408). A write that already started runs to its end in
/// the application layer's own task, so the deadline never cuts one in half.
pub async fn guard(State(limits): State<RequestLimits>, request: Request, next: Next) -> Response {
    let header_bytes: usize =
        request.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if header_bytes > MAX_HEADER_BYTES {
        return ApiError::HeadersTooLarge { limit: MAX_HEADER_BYTES }.into_response();
    }
    // Liveness answers even when the instance is saturated: it is alive, only busy.
    if request.uri().path() == "/v1/health" {
        return next.run(request).await;
    }
    let Ok(_permit) = limits.in_flight.clone().try_acquire_owned() else {
        return ApiError::Overloaded { limit: limits.max_in_flight }.into_response();
    };
    match tokio::time::timeout(limits.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout {
            limit_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
        }
        .into_response(),
    }
}
