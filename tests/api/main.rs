//! The end-to-end suite: the real server on a loopback port over a real SQLite file, driven
//! through the generated client (and raw HTTP where the client would refuse to send bad input).

mod helpers;
#[path = "../../server/tests/support/postgres.rs"]
mod postgres;

mod api_keys;
mod authorization;
mod consistency;
mod coverage;
mod errors;
mod instances;
mod limits;
mod organizations;
mod partition;
mod revocation;
mod secrets;
mod system;
mod users;
mod verify;
