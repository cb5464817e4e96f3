//! The domain path of a verification, alone: parse and checksum, hash, the record checks, scopes and scope queries.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_server::domain::api_key::NewApiKey;
use keyward_server::domain::key::{KeyHasher, Secret};
use keyward_server::domain::scope::{Access, Scope};
use keyward_server::domain::scope_query::ScopeQuery;
use keyward_server::domain::verification::{ScopeCheck, Wanted, check_key};
use uuid::Uuid;

fn domain_path(c: &mut Criterion) {
    let hasher = KeyHasher::default();
    let peppered = KeyHasher::new(Some(b"a server pepper of some length".to_vec()));
    let new = NewApiKey {
        name: "bench".into(),
        scopes: vec![
            Scope::new("invoices", Access::Read),
            Scope {
                resource: "queues".into(),
                access: Access::Write,
                targets: vec!["q1".into(), "q2".into()],
            },
        ],
        ..Default::default()
    };
    let (issued, secret) = new.issue(Uuid::now_v7(), &hasher, 0).unwrap();
    let presented = secret.expose().to_owned();
    let key = issued.api_key;
    let checks =
        vec![ScopeCheck { resource: "queues".into(), access: Access::Delete, target: Some("q2".into()) }];
    let wanted = Wanted { scopes: &checks, query: None };
    let query_text = r#"(invoices:write OR invoices:read) AND queues:delete["q2"]"#;
    let query = ScopeQuery::parse(query_text).unwrap();
    let malformed = format!("{}x", &presented[..presented.len() - 1]);

    c.bench_function("parse and checksum", |b| b.iter(|| Secret::parse(black_box(&presented)).unwrap()));
    c.bench_function("sha-256 digest", |b| b.iter(|| hasher.digest(black_box(&secret))));
    c.bench_function("hmac-sha-256 digest (pepper)", |b| b.iter(|| peppered.digest(black_box(&secret))));
    c.bench_function("record and scope checks", |b| b.iter(|| check_key(black_box(&key), None, wanted, 1)));
    c.bench_function("whole domain path (parse, hash, checks)", |b| {
        b.iter(|| {
            let secret = Secret::parse(black_box(&presented)).unwrap();
            let digest = hasher.digest(&secret);
            black_box(digest.matches(&issued.digest.0));
            check_key(&key, None, wanted, 1)
        })
    });
    c.bench_function("scope query parse (three terms)", |b| {
        b.iter(|| ScopeQuery::parse(black_box(query_text)))
    });
    c.bench_function("scope query evaluation (three terms)", |b| {
        b.iter(|| black_box(&query).holds(black_box(&key.scopes)))
    });
    c.bench_function("malformed key rejected", |b| b.iter(|| Secret::parse(black_box(&malformed)).is_err()));
}

criterion_group!(benches, domain_path);
criterion_main!(benches);
