//! The command groups of `keyward`, a file each: its clap arguments, its `run` and its views; `main.rs` lists them.

pub mod keys;
pub mod login;
pub mod organizations;
pub mod system;
pub mod users;
