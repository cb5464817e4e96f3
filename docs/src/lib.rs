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
//! and are run against a real server by `tests/docs/examples.rs`; the document's
//! response examples are checked against that server's answers by
//! `tests/docs/answers.rs`. The pages call the document's first server; a server
//! that serves them names itself instead ([`Site::resolve_for`]).

mod example;
mod markdown;
mod render;
mod samples;
pub mod spec;
mod status;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

pub use samples::{
    LANGUAGES, Language, SampleBody, SampleHeader, SampleRequest, credential_variable, sample_request,
};

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
    /// The scheme and authority of the server the examples call, such as `http://127.0.0.1:8080`.
    origin: String,
}

/// The scheme and authority of a server, such as `http://127.0.0.1:8080`: what the pages'
/// examples call when a server serves them. Only a well-formed host (a name, an IPv4 address or
/// a bracketed IPv6 address, then an optional port) gets in, so it needs no escaping in HTML,
/// Markdown, a shell string or any example's string literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// `scheme://authority`, when the scheme is `http` or `https` and `authority` is `host[:port]`.
    pub fn new(scheme: &str, authority: &str) -> Option<Self> {
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "http" | "https") {
            return None;
        }
        let (host_ok, port) = match authority.strip_prefix('[') {
            Some(bracketed) => {
                let (address, after) = bracketed.split_once(']')?;
                let port = if after.is_empty() { None } else { Some(after.strip_prefix(':')?) };
                let ipv6 = !address.is_empty()
                    && address.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
                (ipv6, port)
            }
            None => {
                let (host, port) = match authority.split_once(':') {
                    Some((host, port)) => (host, Some(port)),
                    None => (authority, None),
                };
                let name = !host.is_empty()
                    && host.len() <= 253
                    && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
                (name, port)
            }
        };
        let port_ok =
            port.is_none_or(|p| (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()));
        (host_ok && port_ok).then(|| Self(format!("{scheme}://{}", authority.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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

    /// The scheme and authority of the server the pages' examples call: the document's first.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The file at `url_path`, as [`Site::resolve`] finds it, its pages' examples calling `base`
    /// instead of the document's server; every other file as it is.
    pub fn resolve_for(&self, url_path: &str, base: &BaseUrl) -> Option<(&str, Cow<'_, [u8]>)> {
        let (path, bytes) = self.resolve(url_path)?;
        let is_page = path.ends_with(".html") || path.ends_with(".md");
        let text = std::str::from_utf8(bytes).ok().filter(|_| is_page && !self.origin.is_empty());
        match text {
            Some(text) if text.contains(&self.origin) => {
                Some((path, Cow::Owned(text.replace(&self.origin, base.as_str()).into_bytes())))
            }
            _ => Some((path, Cow::Borrowed(bytes))),
        }
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
    site.origin = origin(&api.server_url).to_owned();
    Ok(site)
}

/// The scheme and authority of a URL: `http://host:8080` of `http://host:8080/base`.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
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
        for (path, served_as) in [
            ("operations/a.html", "text/html; charset=utf-8"),
            ("operations/a.md", "text/markdown; charset=utf-8"),
            ("openapi.yaml", "application/yaml"),
            ("assets/favicon.svg", "image/svg+xml"),
        ] {
            assert_eq!(content_type(path), served_as, "{path}");
        }
    }

    #[test]
    fn a_base_url_takes_a_host_name_or_address_and_a_port_and_nothing_to_escape() {
        let base = |scheme, authority| BaseUrl::new(scheme, authority).map(|b| b.0);
        assert_eq!(base("http", "127.0.0.1:41234").as_deref(), Some("http://127.0.0.1:41234"));
        assert_eq!(base("HTTPS", "Keys.Example.com").as_deref(), Some("https://keys.example.com"));
        assert_eq!(base("http", "[::1]:8080").as_deref(), Some("http://[::1]:8080"));
        assert_eq!(base("http", "[::1]").as_deref(), Some("http://[::1]"));
        for refused in
            ["", "a b", "x'y", "x\"y", "<script>", "host:port", "host:123456", "u@host", "[::1]x", "a/b"]
        {
            assert_eq!(base("http", refused), None, "{refused}");
        }
        assert_eq!(base("javascript", "host"), None);
    }

    #[test]
    fn pages_served_for_another_base_url_call_it_and_other_files_stay_as_they_are() {
        let mut site = Site { origin: "http://127.0.0.1:8080".into(), ..Site::default() };
        site.insert("index.html", "<code>curl 'http://127.0.0.1:8080/v1/health'</code>");
        site.insert("index.md", "`http://127.0.0.1:8080/v1/health`");
        site.insert("openapi.yaml", "url: http://127.0.0.1:8080");
        let base = BaseUrl::new("http", "localhost:3000").unwrap();
        for (path, served) in [
            ("", "<code>curl 'http://localhost:3000/v1/health'</code>"),
            ("index.md", "`http://localhost:3000/v1/health`"),
            ("openapi.yaml", "url: http://127.0.0.1:8080"),
        ] {
            let text = String::from_utf8(site.resolve_for(path, &base).unwrap().1.into_owned()).unwrap();
            assert_eq!(text, served, "{path}");
        }
        assert_eq!(origin("https://keys.example.com/base"), "https://keys.example.com");
    }

    #[test]
    fn an_example_made_up_for_want_of_one_in_the_document_says_so_and_a_given_one_does_not() {
        let spec = r#"
openapi: 3.0.3
info: {title: Pets, version: "1"}
paths:
  /pets/{pet_id}:
    get:
      operationId: pet_view
      parameters: [{name: pet_id, in: path, required: true, schema: {type: string}, example: rex}]
      responses:
        '200':
          description: The pet
          content: {application/json: {schema: {$ref: '#/components/schemas/Pet'}}}
components:
  schemas:
    Pet: {type: object, required: [name], properties: {name: {type: string}}}
"#;
        let note = "Made up from the schema, as the document gives no example: not a real answer.";
        let site = build_site(spec).unwrap();
        for page in
            ["operations/pet_view.html", "operations/pet_view.md", "schemas/Pet.html", "schemas/Pet.md"]
        {
            assert!(site.text(page).unwrap().contains(note), "{page}");
        }
        let given = spec.replace(
            "properties: {name: {type: string}}",
            "properties: {name: {type: string}}, example: {name: Rex}",
        );
        let given = given.replace(
            "schema: {$ref: '#/components/schemas/Pet'}}",
            "schema: {$ref: '#/components/schemas/Pet'}, example: {name: Rex}}",
        );
        let site = build_site(&given).unwrap();
        for page in
            ["operations/pet_view.html", "operations/pet_view.md", "schemas/Pet.html", "schemas/Pet.md"]
        {
            assert!(!site.text(page).unwrap().contains(note), "{page}");
        }
    }

    #[test]
    fn the_generator_reports_a_document_that_is_not_yaml() {
        assert!(matches!(build_site("openapi: [unclosed"), Err(DocsError::Yaml(_))));
    }
}
