//! A running server serves the generated site at `/docs`, file for file, whatever the `Accept` header.

use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::redirect::Policy;

use crate::helpers::{site, spawn_server};

#[tokio::test]
async fn the_server_serves_every_file_of_the_site_under_docs_with_its_content_type() {
    let server = spawn_server().await;
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for path in site().paths() {
        let response = server
            .http
            .get(format!("{}/docs/{path}", server.base_url))
            .header(ACCEPT, browser_accept)
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status().as_u16(), 200, "/docs/{path}");
        let content_type = response.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        assert_eq!(content_type, keyward_docs::content_type(path), "/docs/{path}");
        assert!(response.headers().contains_key("content-security-policy"), "/docs/{path}");
        let body = response.bytes().await.expect("a body");
        assert_eq!(body.as_ref(), site().get(path).unwrap(), "/docs/{path} is the generated file");
    }
}

#[tokio::test]
async fn docs_redirects_to_the_index_and_pages_resolve_without_their_extension() {
    let server = spawn_server().await;
    let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let response = http.get(format!("{}/docs", server.base_url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 308);
    assert_eq!(response.headers()[LOCATION], "docs/");

    let index =
        http.get(format!("{}/docs/", server.base_url)).header(ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(index.status().as_u16(), 200);
    assert_eq!(index.bytes().await.unwrap().as_ref(), site().get("index.html").unwrap());

    // Problem documents' `type` is `/docs/problems#<code>`: that path must be a page.
    let problems = http.get(format!("{}/docs/problems", server.base_url)).send().await.unwrap();
    assert_eq!(problems.status().as_u16(), 200);
    assert_eq!(problems.bytes().await.unwrap().as_ref(), site().get("problems.html").unwrap());
}

#[tokio::test]
async fn a_missing_page_is_a_404_problem_document() {
    let server = spawn_server().await;
    let response =
        server.http.get(format!("{}/docs/operations/nothing.html", server.base_url)).send().await.unwrap();
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
    let server = spawn_server().await;
    let problems = crate::helpers::page("problems.html");
    let url = |path: &str| format!("{}{path}", server.base_url);
    let responses = [
        server.http.get(url("/v1/api_keys")).send().await.unwrap(),
        server.http.get(url("/v1/api_keys")).header("x-api-key", "not a key").send().await.unwrap(),
        server.http.get(url("/v1/nowhere")).send().await.unwrap(),
        server
            .http
            .get(url("/v1/api_keys"))
            .header("x-api-key", &server.root_key)
            .header(ACCEPT, "text/html")
            .send()
            .await
            .unwrap(),
        server
            .http
            .get(url("/v1/api_keys/not-a-uuid"))
            .header("x-api-key", &server.root_key)
            .send()
            .await
            .unwrap(),
        server
            .http
            .get(url("/v1/api_keys/00000000-0000-7000-8000-000000000000"))
            .header("x-api-key", &server.root_key)
            .send()
            .await
            .unwrap(),
        server
            .http
            .post(url("/v1/api_keys"))
            .header("x-api-key", &server.root_key)
            .header(CONTENT_TYPE, "application/json")
            .body("{}")
            .send()
            .await
            .unwrap(),
    ];
    for response in responses {
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
