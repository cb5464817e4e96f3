//! Keyward's server: issues API keys, stores only their digests, and manages them over HTTP.

pub mod api;
pub mod app;
pub mod background;
pub mod bootstrap;
pub mod config;
pub mod contract;
pub mod domain;
pub mod feed;
pub mod operator;
pub mod serve;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod verifier;
