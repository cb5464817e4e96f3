//! Request ids and the access log: every response carries `X-Request-Id` (a well-formed one the
//! client sent, else a new one), and every request leaves one log line, written by the
//! connection loop where the client's address is known.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use uuid::Uuid;

/// The header that names a request, in both directions.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id a client may give.
const MAX_REQUEST_ID: usize = 128;

tokio::task_local! {
    /// What the handling of the request this task serves has learned for its log line.
    static NOTE: Arc<RequestNote>;
}

/// What the handling of a request learns for its log line: the route it matched and the key
/// that acted. Shared task-local with the request's future (`Access::serve`), so that noting
/// costs no entry in the request's extensions, and kept by the `Access` too, so that a request
/// whose client went away still has it for its line.
#[derive(Debug, Default)]
pub struct RequestNote {
    route: OnceLock<MatchedPath>,
    api_key_id: OnceLock<Uuid>,
}

impl RequestNote {
    /// Notes, for the request being served, the key that authenticated it.
    pub fn acting_key(key_id: Uuid) {
        let _ = NOTE.try_with(|note| note.api_key_id.set(key_id));
    }

    /// Notes, for the request being served, the route template it matched
    /// (`/v1/api_keys/{api_key_id}`).
    pub fn route(route: Option<&MatchedPath>) {
        let _ = NOTE.try_with(|note| {
            if let Some(route) = route {
                let _ = note.route.set(route.clone());
            }
        });
    }
}

/// A request on its way in: its id, and what its log line needs of it.
#[derive(Debug)]
pub struct Access {
    request_id: HeaderValue,
    method: Method,
    /// The request's URI, shared (no copy): its path goes in a line that names no route.
    uri: Uri,
    started: Instant,
    note: Arc<RequestNote>,
    client: SocketAddr,
    /// Whether its line was written; one dropped before (the client went away and the
    /// request's future with it) writes its own.
    logged: bool,
}

impl Access {
    /// Takes the request's id: a well-formed `X-Request-Id` it came with, else a new one.
    pub fn begin<B>(request: &Request<B>, client: SocketAddr) -> Self {
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .filter(|id| is_well_formed(id.as_bytes()))
            .cloned()
            .unwrap_or_else(new_request_id);
        Self {
            request_id,
            method: request.method().clone(),
            uri: request.uri().clone(),
            started: Instant::now(),
            note: Arc::default(),
            client,
            logged: false,
        }
    }

    /// Serves the request (`answer`, the router's future) with a note its handling fills, then
    /// gives the response its id and writes the request's log line.
    pub async fn serve<B, E>(
        mut self,
        answer: impl Future<Output = Result<Response<B>, E>>,
        finish: impl FnOnce(Response<B>) -> Response<B>,
    ) -> Result<Response<B>, E> {
        let response = NOTE.scope(self.note.clone(), answer).await?;
        let mut response = finish(response);
        self.end(&mut response);
        Ok(response)
    }

    /// Gives the response the request's id and writes the request's log line: at info, or at
    /// warn with the path for a failed authentication or a fault of the server. No secret is in
    /// it: keys travel in headers and bodies, neither of which is logged.
    fn end<B>(&mut self, response: &mut Response<B>) {
        response.headers_mut().insert(REQUEST_ID, self.request_id.clone());
        self.log(response.status().as_u16());
    }

    fn log(&mut self, status: u16) {
        self.logged = true;
        let latency_us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let path = self.uri.path();
        let route = self.note.route.get().map_or(path, MatchedPath::as_str);
        let request_id = self.request_id.to_str().unwrap_or_default();
        let api_key_id = self.note.api_key_id.get().map(tracing::field::display);
        let client = tracing::field::display(self.client);
        let method = self.method.as_str();
        if status == StatusCode::UNAUTHORIZED.as_u16() || status >= 500 {
            tracing::warn!(
                target: "keyward::access",
                method, route, path, status, latency_us, client, request_id, api_key_id,
                "request failed"
            );
        } else if status == CLIENT_CLOSED {
            tracing::info!(
                target: "keyward::access",
                method, route, status, latency_us, client, request_id, api_key_id,
                "the client went away before the answer"
            );
        } else {
            tracing::info!(
                target: "keyward::access",
                method, route, status, latency_us, client, request_id, api_key_id,
                "request"
            );
        }
    }
}

/// The status an access line gives a request whose client went away before its answer (as nginx
/// logs it); a write it asked for still runs to its end (`app::App::detached`).
const CLIENT_CLOSED: u16 = 499;

impl Drop for Access {
    fn drop(&mut self) {
        if !self.logged {
            self.log(CLIENT_CLOSED);
        }
    }
}

/// 1 to 128 characters, each a letter, a digit or one of `-_.:/+=`: what a tracing system
/// sends, and nothing a log line or a terminal could misread.
fn is_well_formed(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id.iter().all(|&b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b))
}

/// A new request id: 32 hexadecimal digits, a random number drawn once per process followed by
/// a count of the ids it made, so ids are unique across instances and restarts without a random
/// draw or a clock read per request.
fn new_request_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    static PROCESS: OnceLock<[u8; 16]> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let process = PROCESS.get_or_init(|| {
        let random: u64 = rand::random();
        std::array::from_fn(|i| HEX[((random >> (60 - 4 * i)) & 0xf) as usize])
    });
    let mut count = COUNT.fetch_add(1, Ordering::Relaxed);
    let mut id = [0u8; 32];
    id[..16].copy_from_slice(process);
    for digit in id[16..].iter_mut().rev() {
        *digit = HEX[(count & 0xf) as usize];
        count >>= 4;
    }
    HeaderValue::from_bytes(&id).expect("hexadecimal digits are a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(is_well_formed(b"0190c8c2-3f4a-7d1e-9b6a-2f1c3d4e5a6b"));
        assert!(is_well_formed(b"Root=1-5759e988-bd862e3fe1be46a994272793"));
        assert!(!is_well_formed(b""));
        assert!(!is_well_formed(b"has space"));
        assert!(!is_well_formed(b"quote\""));
        assert!(!is_well_formed(&[b'a'; MAX_REQUEST_ID + 1]));
    }

    #[test]
    fn a_request_keeps_a_well_formed_id_and_gets_a_new_one_otherwise() {
        let kept = Request::builder().header("x-request-id", "abc-123").body(()).unwrap();
        let client = SocketAddr::from(([127, 0, 0, 1], 9));
        assert_eq!(Access::begin(&kept, client).request_id, "abc-123");
        let replaced = Request::builder().header("x-request-id", "bad id").body(()).unwrap();
        let access = Access::begin(&replaced, client);
        assert_eq!(access.request_id.len(), 32);
        let another = Request::builder().body(()).unwrap();
        assert_ne!(Access::begin(&another, client).request_id, access.request_id, "each request its own");
    }
}
