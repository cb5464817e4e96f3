//! What the test suites share, one copy for all: the real server on a loopback port over a fresh
//! SQLite file or a PostgreSQL database of its own ([`TestApp`]), the requests every suite sends
//! (a key made, a verdict read, JSON posted), and a live fixture for every path parameter of
//! `openapi.yaml` ([`fixtures`]).
//!
//! It is a crate of its own, a dev-dependency of the packages whose tests use it (the SDK's
//! end-to-end suite in `tests/api`, and `keyward-docs`' tests), so that each links one compiled
//! copy with its own dependencies and reaches it without a cycle: it depends on the server, the
//! SDK and the contract, and none of them on it.

mod app;
pub mod fixtures;
/// A PostgreSQL database of its own for one test; the file stays beside the server's store suite
/// (`server/tests/store/`), which reads it from there.
#[path = "../../server/tests/support/postgres.rs"]
pub mod postgres;

pub use app::*;
pub use fixtures::Fixtures;
pub use postgres::TestDatabase;
