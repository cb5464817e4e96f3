//! The connection loop: HTTP/1 over TCP with hyper, bounded in connections, header size and the
//! time a client may take to send its headers, counting each client address's failed
//! authentications, naming each request and logging it (`api::access`), drained gracefully on
//! shutdown.
//!
//! `axum::serve` sets none of these bounds, so a client sending its headers a byte at a time, or
//! opening connections without end, could hold the server's resources forever.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::api::access::Access;
use crate::api::limits::AuthFailures;

/// The bounds of the connection loop.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at most; a further one waits in the kernel's backlog until one closes.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// The most bytes of headers hyper reads before answering 431 on its own (the API answers
    /// a smaller excess with a problem document, see `api::limits`).
    pub max_header_bytes: usize,
    /// How long shutdown waits for in-flight requests before closing their connections.
    pub drain_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and drains.
///
/// Every 401 counts against its client's address in `auth_failures`; past the address's budget
/// the answer is that 429 instead. Only failures are counted, so a valid key from the same
/// address keeps working. Here, where the address is known, the count costs nothing to a
/// request that authenticates.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    auth_failures: Arc<AuthFailures>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // TCP_NODELAY: an answer goes out as soon as it is written, never held back by Nagle's
        // algorithm waiting for the client's delayed ACK.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let (router, auth_failures) = (router.clone(), auth_failures.clone());
        let service = tower::service_fn(move |request: Request<hyper::body::Incoming>| {
            let access = Access::begin(&request, remote);
            let answer = router.clone().oneshot(request.map(axum::body::Body::new));
            let auth_failures = auth_failures.clone();
            access.serve(answer, move |response| {
                if response.status() == StatusCode::UNAUTHORIZED
                    && let Err(throttled) = auth_failures.count(remote.ip())
                {
                    return throttled.into_response();
                }
                response
            })
        });
        let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("in-flight requests were still running when the drain timed out");
    }
    Ok(())
}
