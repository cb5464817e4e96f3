//! A running server serves the generated site at `/docs`, file for file, whatever the `Accept`
//! header, its pages' examples calling that very server.

use keyward_docs::{BaseUrl, LANGUAGES};
use keyward_testing::spawn_app;
use reqwest::Method;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HOST, LOCATION};
use reqwest::redirect::Policy;

use crate::helpers::{api, sample_in_html, sample_in_markdown, site};

#[tokio::test]
async fn the_server_serves_every_file_of_the_site_under_docs_with_its_content_type() {
    let server = spawn_app().await;
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for path in site().paths() {
        let request = server.anonymous(Method::GET, &format!("/docs/{path}")).header(ACCEPT, browser_accept);
        let response = request.send().await.expect("the server answers");
        assert_eq!(response.status().as_u16(), 200, "/docs/{path}");
        let content_type = response.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        assert_eq!(content_type, keyward_docs::content_type(path), "/docs/{path}");
        assert!(response.headers().contains_key("content-security-policy"), "/docs/{path}");
        let body = response.bytes().await.expect("a body");
        let base = BaseUrl::new("http", server.base_url.trim_start_matches("http://")).unwrap();
        let generated = site().resolve_for(path, &base).unwrap().1;
        assert_eq!(body.as_ref(), generated.as_ref(), "/docs/{path} is the generated file, for this server");
    }
}

#[tokio::test]
async fn the_served_pages_examples_call_the_server_that_serves_them() {
    let server = spawn_app().await;
    let port = server.base_url.rsplit(':').next().unwrap().to_owned();
    assert_ne!(format!("http://127.0.0.1:{port}"), api().server_url, "the test server has a port of its own");
    for operation in &api().operations {
        let page = |extension: &str| {
            server.anonymous(Method::GET, &format!("/docs/operations/{}.{extension}", operation.id)).send()
        };
        let response = page("html").await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(policy.starts_with("default-src 'none'"), "the pages keep their CSP: {policy}");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-cache");
        let html = response.text().await.unwrap();
        let markdown = page("md").await.unwrap().text().await.unwrap();
        for language in &LANGUAGES {
            for shown in [sample_in_html(&html, language), sample_in_markdown(&markdown, language)] {
                assert!(
                    shown.contains(&format!(
                        "http://127.0.0.1:{port}{}",
                        operation.path.split('{').next().unwrap()
                    )),
                    "{} in {} calls the server on port {port}:\n{shown}",
                    operation.id,
                    language.label
                );
                assert!(!shown.contains(&api().server_url), "{} in {}", operation.id, language.label);
            }
        }
    }
}

#[tokio::test]
async fn a_proxys_host_and_scheme_name_the_server_and_a_host_that_is_no_host_names_the_documents() {
    let server = spawn_app().await;
    let page = |host: &'static str, proto: Option<&'static str>| {
        let mut request =
            server.anonymous(Method::GET, "/docs/operations/health_view.html").header(HOST, host);
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let curl = |html: &str| sample_in_html(html, &LANGUAGES[0]);
    assert!(
        curl(&page("keys.example.com", Some("https")).await).contains("'https://keys.example.com/v1/health'")
    );
    assert!(
        curl(&page("keys.example.com:8443", None).await).contains("'http://keys.example.com:8443/v1/health'")
    );
    let refused = page("evil.example.com'; rm -rf ~; echo '", None).await;
    assert!(curl(&refused).contains(&format!("'{}/v1/health'", api().server_url)), "{}", curl(&refused));
    assert!(!refused.contains("rm -rf"));
}

#[tokio::test]
async fn docs_redirects_to_the_index_and_pages_resolve_without_their_extension() {
    let server = spawn_app().await;
    let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let response = http.get(format!("{}/docs", server.base_url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 308);
    assert_eq!(response.headers()[LOCATION], "docs/");

    let base = BaseUrl::new("http", server.base_url.trim_start_matches("http://")).unwrap();
    let index =
        http.get(format!("{}/docs/", server.base_url)).header(ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(index.status().as_u16(), 200);
    assert_eq!(
        index.bytes().await.unwrap().as_ref(),
        site().resolve_for("index.html", &base).unwrap().1.as_ref()
    );

    // Problem documents' `type` is `/docs/problems#<code>`: that path must be a page.
    let problems = http.get(format!("{}/docs/problems", server.base_url)).send().await.unwrap();
    assert_eq!(problems.status().as_u16(), 200);
    assert_eq!(
        problems.bytes().await.unwrap().as_ref(),
        site().resolve_for("problems.html", &base).unwrap().1.as_ref()
    );
}

#[tokio::test]
async fn a_missing_page_is_a_404_problem_document() {
    let server = spawn_app().await;
    let response = server.anonymous(Method::GET, "/docs/operations/nothing.html").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
}

#[test]
fn the_docs_routes_are_not_operations_of_the_contract() {
    let generated = keyward_server::api::openapi();
    assert!(generated.paths.paths.keys().all(|path| !path.starts_with("/docs")));
}

#[tokio::test]
async fn problem_types_the_server_answers_with_link_to_an_anchor_of_the_problems_page() {
    let server = spawn_app().await;
    let problems = crate::helpers::page("problems.html");
    let requests = [
        server.anonymous(Method::GET, "/v1/api_keys"),
        server.anonymous(Method::GET, "/v1/api_keys").header("x-api-key", "not a key"),
        server.anonymous(Method::GET, "/v1/nowhere"),
        server.request(Method::GET, "/v1/api_keys").header(ACCEPT, "text/html"),
        server.request(Method::GET, "/v1/api_keys/not-a-uuid"),
        server.request(Method::GET, "/v1/api_keys/00000000-0000-7000-8000-000000000000"),
        server.request(Method::POST, "/v1/api_keys").header(CONTENT_TYPE, "application/json").body("{}"),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let problem: serde_json::Value = response.json().await.expect("a problem document");
        let kind = problem["type"].as_str().expect("a type");
        let anchor = kind.strip_prefix("/docs/problems#").unwrap_or_else(|| panic!("type {kind}"));
        assert!(
            problems.contains(&format!("id=\"{anchor}\"")),
            "a {status} answers with type {kind}, which the problems page does not document"
        );
    }
}
