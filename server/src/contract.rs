//! The hand-written contract, compiled in: the server serves it at `GET /openapi.yaml` and
//! renders its reference at `/docs`. Comparing it with the handlers is the `keyward-contract`
//! crate's job, in tests and `cargo xtask openapi check`, never the running server's.

/// `openapi.yaml`, as committed.
pub const OPENAPI_YAML: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"));
