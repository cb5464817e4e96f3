//! Bad input: every error is an `application/problem+json` document with the right 4xx status
//! and a stable code, never a 500 or a plain-text body, and nothing stored changes.

use keyward_server::api::bounds::Bound;
use keyward_testing::{TestApp, assert_problem, on_both_stores, problem_fields};
use reqwest::Method;
use serde_json::{Value, json};

on_both_stores!(
    malformed_json_is_a_400,
    a_body_of_the_wrong_shape_is_a_422_naming_the_field,
    every_bound_the_schema_declares_is_enforced_naming_the_field,
    every_bounded_property_of_the_contract_is_refused_past_its_bound_naming_it,
    an_invalid_update_is_refused_and_changes_nothing,
    a_body_that_is_not_json_is_a_415,
    an_oversized_body_is_a_413,
    a_body_declared_too_large_is_a_413_before_it_is_sent,
    an_accept_header_without_json_is_a_406,
    a_method_no_route_declares_is_a_405_with_allow,
    a_malformed_path_parameter_is_a_400_naming_it,
    every_query_parameter_bound_is_enforced_naming_the_parameter,
    every_cursor_the_schema_allows_is_accepted,
    missing_or_bad_credentials_are_a_401_with_www_authenticate,
    an_unknown_path_is_a_404_problem,
    a_flood_of_bad_requests_stores_nothing,
    null_where_the_schema_allows_none_is_a_422_naming_the_field_and_stores_nothing,
    a_nul_anywhere_in_a_body_is_a_422_naming_the_field_and_stores_nothing,
    a_nul_in_a_path_or_query_value_is_a_400_naming_it,
    control_and_bidi_characters_are_refused_in_names_and_descriptions_only,
    every_bad_query_parameter_is_reported_and_an_unknown_one_is_refused,
    problem_details_say_what_is_expected_in_words_not_in_rust,
);

async fn post_keys(app: &TestApp, body: &Value) -> reqwest::Response {
    app.request(Method::POST, "/v1/api_keys").json(body).send().await.unwrap()
}

async fn post_organization(app: &TestApp, body: &Value) -> reqwest::Response {
    app.request(Method::POST, "/v1/organizations").json(body).send().await.unwrap()
}

async fn key_count(app: &TestApp) -> usize {
    let page: Value = app.get_json("/v1/api_keys?limit=100&include_deleted=true").await;
    page["api_keys"].as_array().unwrap().len()
}

async fn malformed_json_is_a_400(app: TestApp) {
    for body in ["{\"name\": ", "not json", "{\"name\": \"a\"} trailing", ""] {
        let response = app.send_body(Method::POST, "/v1/api_keys", "application/json", body).await;
        assert_problem(response, 400, "request.malformed_json").await;
    }
}

async fn a_body_of_the_wrong_shape_is_a_422_naming_the_field(app: TestApp) {
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

async fn every_bound_the_schema_declares_is_enforced_naming_the_field(app: TestApp) {
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

async fn an_invalid_update_is_refused_and_changes_nothing(app: TestApp) {
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
    let key: Value = app.get_json(&path).await;
    assert_eq!((key["name"].as_str(), key["revision"].as_i64()), (Some("steady"), Some(1)));
}

async fn a_body_that_is_not_json_is_a_415(app: TestApp) {
    let plain = app.send_body(Method::POST, "/v1/api_keys", "text/plain", "{\"name\": \"a\"}").await;
    assert_problem(plain, 415, "request.unsupported_media_type").await;
    let missing = app.request(Method::POST, "/v1/api_keys").body("{\"name\": \"a\"}").send().await.unwrap();
    assert_problem(missing, 415, "request.unsupported_media_type").await;
}

async fn an_oversized_body_is_a_413(app: TestApp) {
    let body = json!({"name": "big", "description": "x".repeat(70 * 1024)});
    assert_problem(post_keys(&app, &body).await, 413, "request.body_too_large").await;
}

async fn a_body_declared_too_large_is_a_413_before_it_is_sent(app: TestApp) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

async fn an_accept_header_without_json_is_a_406(app: TestApp) {
    for accept in ["text/html", "application/xml", "application/json;q=0"] {
        let response =
            app.request(Method::GET, "/v1/api_keys").header("accept", accept).send().await.unwrap();
        assert_problem(response, 406, "request.not_acceptable").await;
    }
    let wildcard =
        app.request(Method::GET, "/v1/api_keys").header("accept", "text/html, */*;q=0.1").send().await;
    assert_eq!(wildcard.unwrap().status(), 200);
}

async fn a_method_no_route_declares_is_a_405_with_allow(app: TestApp) {
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

async fn a_malformed_path_parameter_is_a_400_naming_it(app: TestApp) {
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

async fn every_query_parameter_bound_is_enforced_naming_the_parameter(app: TestApp) {
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

async fn every_cursor_the_schema_allows_is_accepted(app: TestApp) {
    for token in ["zzzzzzzzzzzzzzzzzzzzzz", "AAAAAAAAAAAAAAAAAAAAAA", "_-_-_-_-_-_-_-_-_-_-_-"] {
        let response =
            app.request(Method::GET, &format!("/v1/api_keys?page_token={token}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{token}");
    }
}

async fn missing_or_bad_credentials_are_a_401_with_www_authenticate(app: TestApp) {
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

async fn an_unknown_path_is_a_404_problem(app: TestApp) {
    let response = app.request(Method::GET, "/v2/anything").send().await.unwrap();
    assert_problem(response, 404, "request.route_not_found").await;
}

async fn a_flood_of_bad_requests_stores_nothing(app: TestApp) {
    let before = key_count(&app).await;
    for body in [json!({}), json!({"name": ""}), json!({"name": "a", "prefix": "!"}), json!({"name": 1})] {
        assert!(post_keys(&app, &body).await.status().is_client_error());
    }
    let response = app.send_body(Method::POST, "/v1/api_keys", "application/json", "{\"name\": \"half").await;
    assert_eq!(response.status(), 400);
    assert_eq!(key_count(&app).await, before);
}

async fn null_where_the_schema_allows_none_is_a_422_naming_the_field_and_stores_nothing(app: TestApp) {
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

async fn a_nul_anywhere_in_a_body_is_a_422_naming_the_field_and_stores_nothing(app: TestApp) {
    let before = key_count(&app).await;
    let cases = [
        (json!({"name": "nul\u{0}byte"}), "name"),
        (json!({"name": "a", "description": "d\u{0}"}), "description"),
        (json!({"name": "a", "user_id": "\u{0}"}), "user_id"),
        (json!({"name": "a", "customer_id": "c\u{0}"}), "customer_id"),
        (json!({"name": "a", "billing_id": "b\u{0}"}), "billing_id"),
        (json!({"name": "a", "metadata": {"k": "v\u{0}"}}), "metadata.k"),
        (json!({"name": "a", "metadata": {"k\u{0}": 1}}), "metadata.k\u{0}"),
        (json!({"name": "a", "metadata": {"k": [1, {"deep": "\u{0}"}]}}), "metadata.k[1].deep"),
        (
            json!({"name": "a", "scopes": [{"resource": "q", "access": "read", "targets": ["t\u{0}"]}]}),
            "scopes[0].targets[0]",
        ),
    ];
    for (body, field) in cases {
        let problem = assert_problem(post_keys(&app, &body).await, 422, "request.invalid_body").await;
        assert_eq!(problem_fields(&problem), vec![field.to_owned()], "{body}");
        assert_eq!(problem["errors"][0]["code"], "invalid_character", "{problem}");
    }
    assert_eq!(key_count(&app).await, before, "nothing was stored");

    let created = app.create_json(&json!({"name": "target"})).await;
    let path = format!("/v1/api_keys/{}", created["api_key"]["id"].as_str().unwrap());
    for (body, field) in [
        (json!({"name": "x\u{0}"}), "name"),
        (json!({"description": "\u{0}"}), "description"),
        (json!({"metadata": {"k": "\u{0}"}}), "metadata.k"),
    ] {
        let response = app.request(Method::PATCH, &path).json(&body).send().await.unwrap();
        let problem = assert_problem(response, 422, "request.invalid_body").await;
        assert_eq!(problem_fields(&problem), vec![field.to_owned()], "{body}");
    }
    assert_eq!(app.get_json(&path).await["revision"], 1, "the key did not change");

    let response = post_organization(&app, &json!({"name": "nul\u{0}org"})).await;
    let problem = assert_problem(response, 422, "request.invalid_body").await;
    assert_eq!(problem_fields(&problem), vec!["name".to_owned()]);
}

async fn a_nul_in_a_path_or_query_value_is_a_400_naming_it(app: TestApp) {
    let created = app.create_json(&json!({"name": "ann's", "user_id": "ann"})).await;
    let id = created["api_key"]["id"].as_str().unwrap();
    for (path, field) in [
        ("/v1/users/nul%00byte/api_keys".to_owned(), "user_id"),
        (format!("/v1/users/ann%00/api_keys/{id}"), "user_id"),
        ("/v1/api_keys?customer_id=c%00".to_owned(), "customer_id"),
        ("/v1/api_keys?user_id=%00".to_owned(), "user_id"),
    ] {
        let response = app.request(Method::GET, &path).send().await.unwrap();
        let problem = assert_problem(response, 400, "request.invalid_query").await;
        assert_eq!(problem_fields(&problem), vec![field.to_owned()], "{path}");
    }
}

async fn control_and_bidi_characters_are_refused_in_names_and_descriptions_only(app: TestApp) {
    let before = key_count(&app).await;
    for (body, field) in [
        (json!({"name": "esc\u{1b}[31mred"}), "name"),
        (json!({"name": "line\nbreak"}), "name"),
        (json!({"name": "carriage\rreturn"}), "name"),
        (json!({"name": "tab\there"}), "name"),
        (json!({"name": "del\u{7f}"}), "name"),
        (json!({"name": "c1\u{9b}"}), "name"),
        (json!({"name": "txt.exe\u{202e}fdp"}), "name"),
        (json!({"name": "isolate\u{2066}"}), "name"),
        (json!({"name": "mark\u{200f}"}), "name"),
        (json!({"name": "a", "description": "esc\u{1b}]0;title\u{7}"}), "description"),
        (json!({"name": "a", "description": "override\u{202d}"}), "description"),
    ] {
        let problem = assert_problem(post_keys(&app, &body).await, 422, "request.invalid_body").await;
        assert_eq!(problem_fields(&problem), vec![field.to_owned()], "{body}");
        assert_eq!(problem["errors"][0]["code"], "invalid_character", "{problem}");
    }
    assert_eq!(key_count(&app).await, before, "nothing was stored");
    let response = post_organization(&app, &json!({"name": "org\u{202e}"})).await;
    assert_problem(response, 422, "request.invalid_body").await;

    // What is not shown as a name is stored exactly: text on several lines in a description,
    // any character but NUL in your own ids and in metadata, and every script and emoji.
    let exact = json!({
        "name": "naïve 日本 🔑 مفتاح",
        "description": "first line\n\tsecond line",
        "user_id": "esc\u{1b}id",
        "customer_id": "cus\u{202e}42",
        "metadata": {"raw": "bell\u{7}\u{202e}"},
    });
    let response = post_keys(&app, &exact).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let view = app.get_json(&format!("/v1/api_keys/{}", created["api_key"]["id"].as_str().unwrap())).await;
    for field in ["name", "description", "user_id", "customer_id", "metadata"] {
        assert_eq!(view[field], exact[field], "{field} is stored exactly");
    }
}

async fn every_bad_query_parameter_is_reported_and_an_unknown_one_is_refused(app: TestApp) {
    let response = app
        .request(
            Method::GET,
            "/v1/api_keys?limit=ten&include_deleted=maybe&status=paused&bogus=1&pretty=true",
        )
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 400, "request.invalid_query").await;
    let mut fields = problem_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["bogus", "include_deleted", "limit", "status"], "{problem}");
    let unknown = problem["errors"].as_array().unwrap().iter().find(|e| e["fields"][0] == "bogus").unwrap();
    assert_eq!(unknown["code"], "unknown_parameter", "{problem}");

    // Every operation refuses a parameter it does not have, as a body refuses an unknown field.
    let created = app.create_json(&json!({"name": "target"})).await;
    let id = created["api_key"]["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, format!("/v1/api_keys/{id}?limit=1")),
        (Method::GET, "/v1/organization?verbose=true".to_owned()),
        (Method::GET, "/v1/health?x=1".to_owned()),
        (Method::DELETE, format!("/v1/api_keys/{id}?force=true")),
    ] {
        let response = app.request(method, &path).send().await.unwrap();
        let problem = assert_problem(response, 400, "request.invalid_query").await;
        assert_eq!(problem["errors"][0]["code"], "unknown_parameter", "{path}: {problem}");
    }
    assert_eq!(app.get_json(&format!("/v1/api_keys/{id}")).await["deleted"], false, "nothing was done");
}

async fn problem_details_say_what_is_expected_in_words_not_in_rust(app: TestApp) {
    let created = app.create_json(&json!({"name": "target"})).await;
    let path = format!("/v1/api_keys/{}", created["api_key"]["id"].as_str().unwrap());
    let bodies = [
        (Method::POST, "/v1/api_keys".to_owned(), r#"{"name": "a", "expires_at": 1e+23}"#),
        (Method::POST, "/v1/api_keys".to_owned(), r#"{"name": "a", "expires_at": "soon"}"#),
        (
            Method::POST,
            "/v1/api_keys".to_owned(),
            r#"{"name": "a", "rate_limit": {"limit": -1, "window_ms": 1000}}"#,
        ),
        (Method::POST, "/v1/api_keys".to_owned(), r#"{"name": "a", "scopes": {"resource": "q"}}"#),
        (Method::POST, "/v1/api_keys".to_owned(), r#"{"name": "a", "status": "paused"}"#),
        (Method::POST, "/v1/api_keys".to_owned(), r#"{"name": ["a"]}"#),
        (Method::POST, "/v1/api_keys".to_owned(), r#"{"name": "a""#),
        (Method::PATCH, path.clone(), r#"{"credits": {"remaining": 1.5}}"#),
    ];
    let rust = [
        "i64",
        "i32",
        "u32",
        "u64",
        "f64",
        "struct ",
        "Option",
        "`",
        "invalid type",
        "invalid value",
        "sequence",
        "EOF",
        "serde",
    ];
    for (method, path, body) in bodies {
        let response = app.send_body(method, &path, "application/json", body).await;
        assert!(response.status().is_client_error(), "{body}");
        let problem: Value = response.json().await.unwrap();
        let text = problem.to_string();
        for word in rust {
            assert!(!text.contains(word), "{body} got {text}");
        }
    }
    for query in ["limit=ten", "limit=99999999999", "include_deleted=yes"] {
        let response = app.request(Method::GET, &format!("/v1/api_keys?{query}")).send().await.unwrap();
        let text = response.text().await.unwrap();
        for word in rust.iter().chain(&["invalid digit", "provided string"]) {
            assert!(!text.contains(word), "{query} got {text}");
        }
    }
    let problem = assert_problem(
        app.send_body(
            Method::POST,
            "/v1/api_keys",
            "application/json",
            r#"{"name": "a", "expires_at": 1e+23}"#,
        )
        .await,
        422,
        "request.invalid_body",
    )
    .await;
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("must be a whole number"), "{message}");
}

/// Where a component schema's property is sent: the operation, a valid body around it, and the
/// path the error names it by. A schema the table bounds but this does not place fails the test.
fn placed(app_key_path: &str, schema: &str, property: &str, value: Value) -> (Method, String, Value, String) {
    let key = |extra: Value| {
        let mut body = json!({"name": "bounded"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let at = |object: Value| {
        let mut object = object;
        object.as_object_mut().unwrap().insert(property.to_owned(), value.clone());
        object
    };
    let create = |body: Value| (Method::POST, "/v1/api_keys".to_owned(), body);
    let verify = |body: Value| (Method::POST, "/v1/keys/verify".to_owned(), body);
    let (method, path, body, field) = match schema {
        "ApiKeyCreate" => {
            let (m, p, b) = create(at(json!({"name": "bounded"})));
            (m, p, b, property.to_owned())
        }
        "ApiKeyUpdate" => (Method::PATCH, app_key_path.to_owned(), at(json!({})), property.to_owned()),
        "ApiKeyRotate" => {
            (Method::POST, format!("{app_key_path}/rotate"), at(json!({})), property.to_owned())
        }
        "OrganizationCreate" => {
            (Method::POST, "/v1/organizations".to_owned(), at(json!({"name": "o"})), property.to_owned())
        }
        "VerifyRequest" => {
            let (m, p, b) = verify(at(json!({"key": "kw_x"})));
            (m, p, b, property.to_owned())
        }
        "Scope" => {
            let scope = at(json!({"resource": "q", "access": "read"}));
            let (m, p, b) = create(key(json!({"scopes": [scope]})));
            (m, p, b, format!("scopes[0].{property}"))
        }
        "ScopeCheck" => {
            let scope = at(json!({"resource": "q", "access": "read"}));
            let (m, p, b) = verify(json!({"key": "kw_x", "scopes": [scope]}));
            (m, p, b, format!("scopes[0].{property}"))
        }
        "RateLimit" => {
            let limit = at(json!({"limit": 1, "window_ms": 1000}));
            let (m, p, b) = create(key(json!({"rate_limit": limit})));
            (m, p, b, format!("rate_limit.{property}"))
        }
        "Credits" => {
            let (m, p, b) = create(key(json!({"credits": at(json!({"remaining": 1}))})));
            (m, p, b, format!("credits.{property}"))
        }
        "CreditsRefill" => {
            let refill = at(json!({"amount": 1, "interval_ms": 1000}));
            let (m, p, b) = create(key(json!({"credits": {"remaining": 1, "refill": refill}})));
            (m, p, b, format!("credits.refill.{property}"))
        }
        other => panic!("a bound of {other}.{property} is declared but not placed in a request here"),
    };
    (method, path, body, field)
}

/// The values just past `bound`: one below its least, one above its most (where there is one).
fn past(bound: Bound, property: &str) -> Vec<Value> {
    match bound {
        Bound::Length(length) => {
            let mut values = vec![Value::from("x".repeat(length.max + 1))];
            if length.min > 0 {
                values.push(Value::from("x".repeat(length.min - 1)));
            }
            values
        }
        Bound::Range(range) => {
            let mut values = Vec::new();
            if range.min > i64::MIN {
                values.push(Value::from(range.min - 1));
            }
            if range.max < i64::MAX {
                values.push(Value::from(range.max + 1));
            }
            values
        }
        Bound::Items(max) => {
            let item = |i: usize| match property {
                "scopes" => json!({"resource": format!("r{i}"), "access": "read"}),
                other => panic!("no item to repeat for {other}"),
            };
            vec![Value::Array((0..=max).map(item).collect())]
        }
    }
}

async fn every_bounded_property_of_the_contract_is_refused_past_its_bound_naming_it(app: TestApp) {
    let created = app.create_key("target").await;
    let key_path = format!("/v1/api_keys/{}", created.api_key.id);
    let mut checked = 0;
    for &(schema, property, bound) in keyward_server::api::bounds::PROPERTIES {
        for value in past(bound, property) {
            let (method, path, body, field) = placed(&key_path, schema, property, value);
            let response = app.request(method, &path).json(&body).send().await.unwrap();
            let problem = assert_problem(response, 422, "request.invalid_body").await;
            assert!(problem_fields(&problem).contains(&field), "{schema}.{property} as {body}: {problem}");
            checked += 1;
        }
    }
    assert!(checked >= keyward_server::api::bounds::PROPERTIES.len(), "only {checked} values were tried");
    let view = app.get_json(&key_path).await;
    assert_eq!(
        (view["revision"].as_i64(), view["deleted"].as_bool()),
        (Some(1), Some(false)),
        "nothing changed"
    );
}
