//! The Keyward SDK: the client and types generated from `openapi.yaml`, plus thin helpers.
//!
//! Every operation of the API is a builder on [`Client`], named after its
//! operation id:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use futures::TryStreamExt;
//!
//! let client = keyward::Client::with_key("http://127.0.0.1:8080", "kw_...")?;
//! let key = client
//!     .api_key_create()
//!     .body(keyward::types::ApiKeyCreate::builder().name("ci"))
//!     .send()
//!     .await?
//!     .into_inner();
//! println!("store this secret now: {}", key.key);
//!
//! let mut keys = client.api_key_list().limit(50).stream_embedded();
//! while let Some(api_key) = keys.try_next().await? {
//!     println!("{} {}", api_key.id, api_key.name);
//! }
//! # Ok(())
//! # }
//! ```

mod client;
mod consistency;
mod error;
mod pages;
pub mod update;

pub use client::{
    ClientBuildError, ClientBuilder, DEFAULT_MAX_RETRY_DELAY, DEFAULT_RETRIES, DEFAULT_TIMEOUT, RetryPolicy,
    Session,
};
pub use consistency::CONSISTENCY_TOKEN;
pub use error::ApiError;
pub use generated::*;
pub use pages::{ListPage, PagedRequest};

/// The code progenitor generates from `openapi.yaml` at build time.
mod generated {
    include!(concat!(env!("OUT_DIR"), "/codegen.rs"));
}
