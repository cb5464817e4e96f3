//! Bad input: every error is an `application/problem+json` document with the right 4xx status
//! and a stable code, never a 500 or a plain-text body, and nothing stored changes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, problem_fields, spawn_app};

async fn post_keys(app: &TestApp, body: &Value) -> reqwest::Response {
    app.request(Method::POST, "/v1/api_keys").json(body).send().await.unwrap()
}

async fn key_count(app: &TestApp) -> usize {
    let page: Value = app
        .request(Method::GET, "/v1/api_keys?limit=100&include_deleted=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["api_keys"].as_array().unwrap().len()
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = spawn_app().await;
    for body in ["{\"name\": ", "not json", "{\"name\": \"a\"} trailing", ""] {
        let response = app
            .request(Method::POST, "/v1/api_keys")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "request.malformed_json").await;
    }
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({}), "name"),
        (json!({"name": 7}), "name"),
        (json!({"name": "a", "nmae": "typo"}), "nmae"),
        (json!({"name": "a", "description": null}), "description"),
        (json!({"name": "a", "status": "paused"}), "status"),
        (json!({"name": "a", "scopes": [{"resource": "q", "access": "admin"}]}), "scopes[0].access"),
        (json!({"name": "a", "scopes": [{"resource": "q"}]}), "scopes[0].access"),
        (json!({"name": "a", "metadata": [1, 2]}), "metadata"),
        (json!({"name": "a", "expires_at": 1.5}), "expires_at"),
        (json!(["name"]), ""),
    ];
    for (body, field) in cases {
        let problem = assert_problem(post_keys(&app, &body).await, 422, "request.invalid_body").await;
        if !field.is_empty() {
            assert_eq!(problem_fields(&problem), vec![field.to_owned()], "{body}");
        }
    }
}

#[tokio::test]
async fn every_bound_the_schema_declares_is_enforced_naming_the_field() {
    let app = spawn_app().await;
    let many_scopes: Vec<Value> =
        (0..51).map(|i| json!({"resource": format!("r{i}"), "access": "read"})).collect();
    let many_targets: Vec<String> = (0..101).map(|i| format!("t{i}")).collect();
    let big_metadata: serde_json::Map<String, Value> = (0..65).map(|i| (format!("k{i}"), json!(i))).collect();
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"name": "n".repeat(129)}), "name"),
        (json!({"name": "a", "description": "d".repeat(1025)}), "description"),
        (json!({"name": "a", "user_id": ""}), "user_id"),
        (json!({"name": "a", "customer_id": "c".repeat(129)}), "customer_id"),
        (json!({"name": "a", "billing_id": ""}), "billing_id"),
        (json!({"name": "a", "prefix": "Bad"}), "prefix"),
        (json!({"name": "a", "prefix": "a234567890123"}), "prefix"),
        (json!({"name": "a", "expires_at": -1}), "expires_at"),
        (json!({"name": "a", "scopes": many_scopes}), "scopes"),
        (json!({"name": "a", "scopes": [{"resource": "Queues", "access": "read"}]}), "scopes[0].resource"),
        (
            json!({"name": "a", "scopes": [{"resource": "q".repeat(65), "access": "read"}]}),
            "scopes[0].resource",
        ),
        (
            json!({"name": "a", "scopes": [{"resource": "q", "access": "read", "targets": many_targets}]}),
            "scopes[0].targets",
        ),
        (
            json!({"name": "a", "scopes": [{"resource": "q", "access": "read", "targets": [""]}]}),
            "scopes[0].targets[0]",
        ),
        (json!({"name": "a", "metadata": big_metadata}), "metadata"),
    ];
    for (body, field) in cases {
        let problem = assert_problem(post_keys(&app, &body).await, 422, "request.invalid_body").await;
        assert!(problem_fields(&problem).contains(&field.to_owned()), "{field}: {problem}");
    }
    let at_the_bounds = json!({
        "name": "é".repeat(128),
        "description": "",
        "prefix": "a23456789012",
        "expires_at": 0,
        "metadata": (0..64).map(|i| (format!("k{i}"), json!(i))).collect::<serde_json::Map<_, _>>(),
    });
    assert_eq!(post_keys(&app, &at_the_bounds).await.status(), 201, "values at the bounds are accepted");
}

#[tokio::test]
async fn an_invalid_update_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let created = app.create_key("steady").await;
    let path = format!("/v1/api_keys/{}", created.api_key.id);
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": null}), "name"),
        (json!({"status": null}), "status"),
        (json!({"expires_at": -5}), "expires_at"),
        (json!({"scopes": null}), "scopes"),
        (json!({"unknown": 1}), "unknown"),
    ] {
        let response = app.request(Method::PATCH, &path).json(&body).send().await.unwrap();
        let problem = assert_problem(response, 422, "request.invalid_body").await;
        assert_eq!(problem_fields(&problem), vec![field.to_owned()], "{body}");
    }
    let key: Value = app.request(Method::GET, &path).send().await.unwrap().json().await.unwrap();
    assert_eq!((key["name"].as_str(), key["revision"].as_i64()), (Some("steady"), Some(1)));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = spawn_app().await;
    let plain = app
        .request(Method::POST, "/v1/api_keys")
        .header("content-type", "text/plain")
        .body("{\"name\": \"a\"}")
        .send()
        .await
        .unwrap();
    assert_problem(plain, 415, "request.unsupported_media_type").await;
    let missing = app.request(Method::POST, "/v1/api_keys").body("{\"name\": \"a\"}").send().await.unwrap();
    assert_problem(missing, 415, "request.unsupported_media_type").await;
}

#[tokio::test]
async fn an_oversized_body_is_a_413() {
    let app = spawn_app().await;
    let body = json!({"name": "big", "description": "x".repeat(70 * 1024)});
    assert_problem(post_keys(&app, &body).await, 413, "request.body_too_large").await;
}

#[tokio::test]
async fn a_body_declared_too_large_is_a_413_before_it_is_sent() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app().await;
    let address = app.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // The headers promise 10 MB; not one byte of it follows.
    let head = format!(
        "POST /v1/api_keys HTTP/1.1\r\nHost: {address}\r\nX-API-KEY: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n",
        app.root_key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("the server answers without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("content-type: application/problem+json"), "{answer}");
    assert!(answer.contains("request.body_too_large"), "{answer}");
}

#[tokio::test]
async fn an_accept_header_without_json_is_a_406() {
    let app = spawn_app().await;
    for accept in ["text/html", "application/xml", "application/json;q=0"] {
        let response =
            app.request(Method::GET, "/v1/api_keys").header("accept", accept).send().await.unwrap();
        assert_problem(response, 406, "request.not_acceptable").await;
    }
    let wildcard =
        app.request(Method::GET, "/v1/api_keys").header("accept", "text/html, */*;q=0.1").send().await;
    assert_eq!(wildcard.unwrap().status(), 200);
}

#[tokio::test]
async fn a_method_no_route_declares_is_a_405_with_allow() {
    let app = spawn_app().await;
    let id = app.create_key("k").await.api_key.id;
    let query = Method::from_bytes(b"QUERY").unwrap();
    for (method, path, allowed) in [
        (Method::PUT, "/v1/api_keys".to_owned(), "GET,HEAD,POST"),
        (query.clone(), "/v1/api_keys".to_owned(), "GET,HEAD,POST"),
        (Method::POST, format!("/v1/api_keys/{id}"), "GET,HEAD,PATCH,DELETE"),
        (query, "/v1/health".to_owned(), "GET,HEAD"),
    ] {
        let response = app.request(method.clone(), &path).send().await.unwrap();
        let allow = response.headers().get("allow").map(|v| v.to_str().unwrap().to_owned());
        assert_problem(response, 405, "request.method_not_allowed").await;
        let mut allow: Vec<_> =
            allow.expect("an Allow header").split(',').map(str::trim).map(str::to_owned).collect();
        let mut expected: Vec<_> = allowed.split(',').map(str::to_owned).collect();
        allow.sort();
        expected.sort();
        assert_eq!(allow, expected, "{method} {path}");
    }
}

#[tokio::test]
async fn a_malformed_path_parameter_is_a_400_naming_it() {
    let app = spawn_app().await;
    for path in ["/v1/api_keys/not-a-uuid", "/v1/users/ann/api_keys/1234"] {
        let response = app.request(Method::GET, path).send().await.unwrap();
        let problem = assert_problem(response, 400, "request.invalid_query").await;
        assert_eq!(problem_fields(&problem), vec!["api_key_id".to_owned()], "{path}");
    }
    let long_user = format!("/v1/users/{}/api_keys", "u".repeat(129));
    let problem = assert_problem(
        app.request(Method::GET, &long_user).send().await.unwrap(),
        400,
        "request.invalid_query",
    )
    .await;
    assert_eq!(problem_fields(&problem), vec!["user_id".to_owned()]);
}

#[tokio::test]
async fn every_query_parameter_bound_is_enforced_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("page_token=short", "page_token"),
        ("page_token=%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B", "page_token"),
        ("status=paused", "status"),
        ("include_deleted=yes", "include_deleted"),
        ("_embed=1", "_embed"),
        ("pretty=maybe", "pretty"),
        ("customer_id=", "customer_id"),
        ("limit=5&limit=6", "limit"),
    ] {
        let response = app.request(Method::GET, &format!("/v1/api_keys?{query}")).send().await.unwrap();
        let problem = assert_problem(response, 400, "request.invalid_query").await;
        assert_eq!(problem_fields(&problem), vec![field.to_owned()], "{query}");
    }
    let user = format!("/v1/api_keys?user_id={}", "u".repeat(129));
    let problem =
        assert_problem(app.request(Method::GET, &user).send().await.unwrap(), 400, "request.invalid_query")
            .await;
    assert_eq!(problem_fields(&problem), vec!["user_id".to_owned()]);
}

#[tokio::test]
async fn every_cursor_the_schema_allows_is_accepted() {
    let app = spawn_app().await;
    for token in ["zzzzzzzzzzzzzzzzzzzzzz", "AAAAAAAAAAAAAAAAAAAAAA", "_-_-_-_-_-_-_-_-_-_-_-"] {
        let response =
            app.request(Method::GET, &format!("/v1/api_keys?page_token={token}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{token}");
    }
}

#[tokio::test]
async fn missing_or_bad_credentials_are_a_401_with_www_authenticate() {
    let app = spawn_app().await;
    let unknown = keyward_server::domain::key::Secret::generate(&Default::default());
    let mut typo = app.root_key.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    let cases = [
        (None, "auth.missing_key"),
        (Some(("x-api-key", "nonsense".to_owned())), "auth.malformed_key"),
        (Some(("x-api-key", typo)), "auth.malformed_key"),
        (Some(("x-api-key", unknown.expose().to_owned())), "auth.invalid_key"),
        (Some(("authorization", format!("Basic {}", app.root_key))), "auth.unsupported_scheme"),
        (Some(("authorization", format!("Bearer {}", unknown.expose()))), "auth.invalid_key"),
    ];
    for (header, code) in cases {
        let mut request = app.anonymous(Method::GET, "/v1/api_keys");
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"keyward\"");
        assert_problem(response, 401, code).await;
    }
}

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let app = spawn_app().await;
    let response = app.request(Method::GET, "/v2/anything").send().await.unwrap();
    assert_problem(response, 404, "request.route_not_found").await;
}

#[tokio::test]
async fn a_flood_of_bad_requests_stores_nothing() {
    let app = spawn_app().await;
    let before = key_count(&app).await;
    for body in [json!({}), json!({"name": ""}), json!({"name": "a", "prefix": "!"}), json!({"name": 1})] {
        assert!(post_keys(&app, &body).await.status().is_client_error());
    }
    let response = app
        .request(Method::POST, "/v1/api_keys")
        .header("content-type", "application/json")
        .body("{\"name\": \"half")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(key_count(&app).await, before);
}

#[tokio::test]
async fn null_where_the_schema_allows_none_is_a_422_naming_the_field_and_stores_nothing() {
    let app = spawn_app().await;
    let before = key_count(&app).await;
    let with_null_refill = json!({"name": "n", "credits": {"remaining": 5, "refill": null}});
    let problem = assert_problem(post_keys(&app, &with_null_refill).await, 422, "request.invalid_body").await;
    assert_eq!(problem_fields(&problem), ["credits.refill"], "{problem}");
    assert_eq!(key_count(&app).await, before, "nothing was stored");

    let created: Value = post_keys(&app, &json!({"name": "kept"})).await.json().await.unwrap();
    let id = created["api_key"]["id"].as_str().unwrap();
    let update = app
        .request(Method::PATCH, &format!("/v1/api_keys/{id}"))
        .json(&json!({"credits": {"remaining": 1, "refill": null}}));
    let problem = assert_problem(update.send().await.unwrap(), 422, "request.invalid_body").await;
    assert_eq!(problem_fields(&problem), ["credits.refill"], "{problem}");

    let key = created["key"].as_str().unwrap();
    let body = json!({"key": key, "scopes": [{"resource": "invoices", "access": "read", "target": null}]});
    let verify = app.request(Method::POST, "/v1/keys/verify").json(&body);
    let problem = assert_problem(verify.send().await.unwrap(), 422, "request.invalid_body").await;
    assert_eq!(problem_fields(&problem), ["scopes[0].target"], "{problem}");
}
