//! Abuse limits at the HTTP edge: failed authentications per client address, requests in
//! flight, header size and a deadline for every request (a body sent a byte at a time included).

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use pin_project_lite::pin_project;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Timeout;
use tower::{Layer, Service};

use super::error::ApiError;

/// The most bytes of headers (names and values) a request may carry before it is refused with a
/// problem document. Past four times this, hyper refuses it before it is parsed (see `serve`).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Failed authentications per client address: a burst of `quota`, then `quota` a minute.
/// Valid credentials are never counted, so a client that fails a lot can still use a good key.
/// The connection loop (`serve.rs`) counts every 401 here.
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

/// The per-request limits every route but liveness passes through, as a tower layer: it
/// refuses oversized headers (431) and requests past the in-flight limit (503, `Retry-After`),
/// and gives every request a deadline (408). A write that already started runs to its end in
/// the application layer's own task, so the deadline never cuts one in half.
///
/// A hand-written service rather than `axum::middleware::from_fn`, which boxes the rest of the
/// stack and the future on every request (about 2,400 instructions a request, measured with
/// `cargo xtask instructions`).
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

impl<S> Layer<S> for RequestLimits {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard { inner, limits: self.clone() }
    }
}

/// [`RequestLimits`] around the rest of the stack.
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    limits: RequestLimits,
}

impl<S> Service<Request> for Guard<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Guarded<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let header_bytes: usize =
            request.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
        if header_bytes > MAX_HEADER_BYTES {
            let refused = ApiError::HeadersTooLarge { limit: MAX_HEADER_BYTES }.into_response();
            return Guarded::Refused { response: Some(refused) };
        }
        // Liveness answers even when the instance is saturated: it is alive, only busy.
        if request.uri().path() == "/v1/health" {
            return Guarded::Unlimited { future: self.inner.call(request) };
        }
        let Ok(permit) = self.limits.in_flight.clone().try_acquire_owned() else {
            let refused = ApiError::Overloaded { limit: self.limits.max_in_flight }.into_response();
            return Guarded::Refused { response: Some(refused) };
        };
        Guarded::Limited {
            future: tokio::time::timeout(self.limits.timeout, self.inner.call(request)),
            _permit: permit,
            limit_ms: u64::try_from(self.limits.timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

pin_project! {
    /// The response of a request through [`Guard`].
    #[project = GuardedProjection]
    pub enum Guarded<F> {
        Refused { response: Option<Response> },
        Unlimited { #[pin] future: F },
        Limited { #[pin] future: Timeout<F>, _permit: OwnedSemaphorePermit, limit_ms: u64 },
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for Guarded<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GuardedProjection::Refused { response } => {
                Poll::Ready(Ok(response.take().expect("a refused request is answered once")))
            }
            GuardedProjection::Unlimited { future } => future.poll(cx),
            GuardedProjection::Limited { future, limit_ms, .. } => match future.poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(answered)) => Poll::Ready(answered),
                Poll::Ready(Err(_elapsed)) => {
                    Poll::Ready(Ok(ApiError::RequestTimeout { limit_ms: *limit_ms }.into_response()))
                }
            },
        }
    }
}
