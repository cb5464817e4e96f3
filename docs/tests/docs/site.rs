//! The generated site covers the whole contract, links only to what exists, and loads nothing from elsewhere.

use std::collections::BTreeSet;

use keyward_docs::LANGUAGES;
use serde_json::Value;

use crate::helpers::{api, attribute_values, page, raw_spec, sample_in_html, sample_in_markdown, site};

/// Every operation of `openapi.yaml` with its documented statuses, read without the generator.
fn documented_operations() -> Vec<(String, Vec<String>)> {
    let spec = raw_spec();
    let mut operations = Vec::new();
    for item in spec["paths"].as_object().expect("paths").values() {
        for (method, operation) in item.as_object().expect("a path item") {
            if !["get", "put", "post", "delete", "options", "head", "patch", "trace"]
                .contains(&method.as_str())
            {
                continue;
            }
            let id = operation["operationId"].as_str().expect("every operation has an id").to_owned();
            let statuses = operation["responses"].as_object().expect("responses").keys().cloned().collect();
            operations.push((id, statuses));
        }
    }
    operations
}

#[test]
fn every_operation_and_every_documented_status_has_a_page_and_an_anchor() {
    let operations = documented_operations();
    assert!(operations.len() >= 10, "openapi.yaml documents {} operations", operations.len());
    let (index_html, index_md) = (page("index.html"), page("index.md"));
    for (id, statuses) in &operations {
        let html = page(&format!("operations/{id}.html"));
        let markdown = page(&format!("operations/{id}.md"));
        assert!(index_html.contains(&format!("href=\"operations/{id}.html\"")), "the index links to {id}");
        assert!(index_md.contains(&format!("(operations/{id}.md)")), "the Markdown index links to {id}");
        for status in statuses {
            assert!(html.contains(&format!("id=\"status-{status}\"")), "{id}'s page documents its {status}");
            assert!(
                html.contains(&format!("href=\"#status-{status}\"")),
                "{id}'s status table lists {status}"
            );
            assert!(
                markdown.contains(&format!("<a id=\"status-{status}\"></a>")),
                "{id}'s Markdown has {status}"
            );
        }
        let shown = html.matches("id=\"status-").count();
        assert_eq!(shown, statuses.len(), "{id}'s page shows exactly the documented statuses");
    }
    let pages = site().paths().filter(|p| p.starts_with("operations/") && p.ends_with(".html")).count();
    assert_eq!(pages, operations.len(), "one page per operation, and no other");
}

#[test]
fn every_schema_has_a_page_in_html_and_markdown() {
    let spec = raw_spec();
    for name in spec["components"]["schemas"].as_object().expect("schemas").keys() {
        assert!(site().get(&format!("schemas/{name}.html")).is_some(), "{name} has an HTML page");
        assert!(site().get(&format!("schemas/{name}.md")).is_some(), "{name} has a Markdown page");
    }
}

#[test]
fn every_operation_page_shows_an_example_in_each_language_identical_in_html_and_markdown() {
    for operation in &api().operations {
        let html = page(&format!("operations/{}.html", operation.id));
        let markdown = page(&format!("operations/{}.md", operation.id));
        for language in &LANGUAGES {
            let shown = sample_in_html(html, language);
            assert!(
                shown.contains(&api().server_url),
                "{} {} calls the server",
                operation.id,
                language.label
            );
            assert_eq!(shown, sample_in_markdown(markdown, language), "{} {}", operation.id, language.label);
        }
    }
}

#[test]
fn every_relative_link_and_source_in_the_html_resolves_to_a_file_and_an_anchor() {
    let mut checked = 0;
    for path in site().paths().filter(|p| p.ends_with(".html")) {
        for target in ["href", "src"].iter().flat_map(|attribute| attribute_values(page(path), attribute)) {
            if target.starts_with("https://") {
                continue;
            }
            assert!(!target.starts_with("http:") && !target.starts_with("//"), "{path} links to {target}");
            let (file, anchor) = resolve(path, &target);
            let text =
                site().text(&file).unwrap_or_else(|| panic!("{path} links to {target}: no file {file}"));
            if let Some(anchor) = anchor.filter(|a| !a.is_empty()) {
                let ids: BTreeSet<String> = if file.ends_with(".html") {
                    attribute_values(text, "id").into_iter().collect()
                } else {
                    markdown_anchors(text)
                };
                assert!(ids.contains(&anchor), "{path} links to {target}: {file} has no id {anchor}");
            }
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} links were checked");
}

#[test]
fn every_relative_link_in_the_markdown_resolves_to_a_file_and_an_anchor() {
    for path in site().paths().filter(|p| p.ends_with(".md")) {
        let text = page(path);
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let target = &rest[..rest.find(')').expect("a link closes")];
            if target.starts_with("https://") {
                continue;
            }
            let (file, anchor) = resolve(path, target);
            let linked =
                site().text(&file).unwrap_or_else(|| panic!("{path} links to {target}: no file {file}"));
            if let Some(anchor) = anchor {
                assert!(markdown_anchors(linked).contains(&anchor), "{path} links to {target}: no anchor");
            }
        }
    }
}

#[test]
fn no_page_loads_anything_from_another_site() {
    for path in site().paths() {
        let Some(text) = site().text(path) else { continue };
        if path.ends_with(".html") {
            for source in attribute_values(text, "src") {
                assert!(!source.contains("//"), "{path} loads {source}");
            }
            for link in text.split("<link ").skip(1) {
                let tag = &link[..link.find('>').expect("a <link> closes")];
                assert!(!tag.contains("href=\"http"), "{path} links a resource from elsewhere: <link {tag}>");
            }
            assert!(
                !text.contains("<style") && !text.contains(" style=\""),
                "{path} keeps its styles in style.css"
            );
            assert!(!text.contains("<script>"), "{path} has no inline script (the server's CSP forbids it)");
        }
        if path.ends_with(".css") {
            assert!(!text.contains("@import") && !text.contains("url("), "{path} loads nothing");
        }
    }
}

#[test]
fn the_stylesheet_has_a_dark_scheme_and_a_narrow_screen_layout() {
    let css = page("assets/style.css");
    assert!(css.contains("@media (prefers-color-scheme: dark)"));
    assert!(css.contains("@media (max-width:"));
    for path in site().paths().filter(|p| p.ends_with(".html")) {
        let html = page(path);
        assert!(
            html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"),
            "{path}"
        );
        let ids = attribute_values(html, "id");
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{path} repeats an id");
    }
}

#[test]
fn problem_examples_in_the_contract_each_have_an_anchor_on_the_problems_page() {
    let spec = raw_spec();
    let problems = page("problems.html");
    let ids: BTreeSet<String> = attribute_values(problems, "id").into_iter().collect();
    let mut codes = Vec::new();
    collect_problem_codes(&spec, &mut codes);
    for code in &codes {
        assert!(ids.contains(code), "problems.html has no anchor for {code}");
    }
}

/// The `code` of every example in the document that is a problem document whose `type` names it.
fn collect_problem_codes(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(code)), Some(Value::String(kind))) = (map.get("code"), map.get("type"))
                && kind.ends_with(&format!("#{code}"))
            {
                out.push(code.clone());
            }
            map.values().for_each(|v| collect_problem_codes(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_problem_codes(v, out)),
        _ => {}
    }
}

/// The site file and anchor a relative link from the page at `from` names.
fn resolve(from: &str, target: &str) -> (String, Option<String>) {
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor.to_owned())),
        None => (target, None),
    };
    if path.is_empty() {
        return (from.to_owned(), anchor);
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in path.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            other => parts.push(other),
        }
    }
    (parts.join("/"), anchor)
}

/// The anchors of a Markdown page: its explicit `<a id>`s.
fn markdown_anchors(text: &str) -> BTreeSet<String> {
    attribute_values(text, "id").into_iter().collect()
}
