//! The API reference's test suite, one binary: the site's coverage and links, the examples run
//! against a real server, the documented answers compared with that server's, every example
//! validated and checked for contradictions, the pages that server serves, and a headless
//! browser over them.

mod answers;
mod browser;
mod consistency;
mod examples;
mod helpers;
mod problems;
mod served;
mod shapes;
mod site;
