//! The end-to-end suite: the real server on a loopback port over a real SQLite file, driven
//! through the generated client (and raw HTTP where the client would refuse to send bad input).
//! The server, the requests every test sends and the path parameters' fixtures are
//! `keyward-testing`'s, shared with the docs' tests.

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
