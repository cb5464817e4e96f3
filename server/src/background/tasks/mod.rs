//! The background tasks, one file each: following the change feed, and writing usage behind.

pub mod feed;
pub mod usage_flush;
