//! Keyward's API reference: a static site of HTML and Markdown pages generated from `openapi.yaml` alone.
//!
//! [`build_site`] reads the OpenAPI 3.0 document and returns every file of
//! the site in memory: one page per operation and per schema, an index
//! grouped by tag, a page of problem codes, the same pages as Markdown beside
//! the HTML, the stylesheet and script, and the document itself. Nothing is
//! fetched from elsewhere. `cargo xtask docs` writes the site to a folder; the
//! server serves the very same files under `/docs`.
//!
//! The request examples are rendered from templates in `templates/samples/`
//! and are run against a real server by `tests/examples.rs`.

mod example;
mod markdown;
mod render;
mod samples;
pub mod spec;
mod status;

use std::collections::BTreeMap;
use std::path::Path;

pub use samples::{LANGUAGES, Language, credential_variable};

/// Everything that can stop the site from being built.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("the OpenAPI document is not valid YAML: {0}")]
    Yaml(String),
    #[error("the OpenAPI document is malformed: {0}")]
    Spec(String),
    #[error("the reference `{0}` points at nothing in the document")]
    DanglingRef(String),
    #[error("template `{name}` failed: {detail}")]
    Template { name: String, detail: String },
}

/// The generated site: relative path (such as `operations/api_key_view.html`) to file contents.
#[derive(Debug, Clone, Default)]
pub struct Site {
    files: BTreeMap<String, Vec<u8>>,
}

impl Site {
    /// The contents of the file at `path`, relative to the site's root.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// The contents of the file at `path` as text, when it is UTF-8.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(|bytes| std::str::from_utf8(bytes).ok())
    }

    /// Every file's path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The file a URL path below the site's root names: `""` is `index.html`, and `problems`
    /// finds `problems.html`, as static web servers usually do.
    pub fn resolve(&self, url_path: &str) -> Option<(&str, &[u8])> {
        let path = url_path.trim_start_matches('/');
        let candidates = if path.is_empty() || path.ends_with('/') {
            vec![format!("{path}index.html")]
        } else {
            vec![path.to_owned(), format!("{path}.html"), format!("{path}/index.html")]
        };
        candidates
            .into_iter()
            .find_map(|candidate| self.files.get_key_value(&candidate))
            .map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
    }

    /// Writes every file below `dir`, creating folders as needed.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        for (path, bytes) in &self.files {
            let target = dir.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(target, bytes)?;
        }
        Ok(())
    }

    fn insert(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), bytes.into());
    }
}

/// The `Content-Type` to serve a site file with, from its extension.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("yaml") => "application/yaml",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Builds the whole site from the text of an OpenAPI 3.0 document.
pub fn build_site(spec_yaml: &str) -> Result<Site, DocsError> {
    let api = spec::Api::parse(spec_yaml)?;
    let mut site = render::render(&api)?;
    site.insert("openapi.yaml", spec_yaml.as_bytes());
    Ok(site)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths_resolve_as_static_web_servers_resolve_them() {
        let mut site = Site::default();
        site.insert("index.html", "i");
        site.insert("problems.html", "p");
        site.insert("assets/style.css", "s");
        assert_eq!(site.resolve("").map(|(path, _)| path), Some("index.html"));
        assert_eq!(site.resolve("/problems").map(|(path, _)| path), Some("problems.html"));
        assert_eq!(site.resolve("assets/style.css").map(|(path, _)| path), Some("assets/style.css"));
        assert_eq!(site.resolve("../secrets"), None);
    }

    #[test]
    fn files_are_served_with_the_type_their_extension_names() {
        assert_eq!(content_type("operations/a.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("operations/a.md"), "text/markdown; charset=utf-8");
        assert_eq!(content_type("openapi.yaml"), "application/yaml");
        assert_eq!(content_type("assets/favicon.svg"), "image/svg+xml");
    }

    #[test]
    fn the_generator_reports_a_document_that_is_not_yaml() {
        assert!(matches!(build_site("openapi: [unclosed"), Err(DocsError::Yaml(_))));
    }
}
