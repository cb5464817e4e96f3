//! The API reference's test suite, one binary: the site's coverage and links, the examples run
//! against a real server, the pages that server serves, and a headless browser over them.

mod browser;
mod examples;
mod helpers;
mod served;
mod site;
