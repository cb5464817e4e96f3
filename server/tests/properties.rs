//! Properties of the key format, masking, scopes, scope queries and patches, over generated inputs (proptest).

use keyward_server::bootstrap::ensure_default_organization;
use keyward_server::domain::actor::Actor;
use keyward_server::domain::api_key::{ApiKeyPatch, KeyStatus, NewApiKey};
use keyward_server::domain::key::{KeyHasher, KeyPrefix, Secret};
use keyward_server::domain::limits::{Credits, CreditsRefill, RateLimit};
use keyward_server::domain::scope::{Access, Scope};
use keyward_server::domain::scope_query::ScopeQuery;
use keyward_server::store::{self, ChangeKind, ChangeNote};
use proptest::prelude::*;
use serde_json::{Map, Value};

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn prefix() -> impl Strategy<Value = KeyPrefix> {
    "[a-z][a-z0-9]{0,11}".prop_map(|p| KeyPrefix::parse(&p).expect("the strategy makes valid prefixes"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_generated_key_always_parses_back_to_itself(prefix in prefix()) {
        let secret = Secret::generate(&prefix);
        let parsed = Secret::parse(secret.expose()).expect("a generated key parses");
        prop_assert_eq!(parsed.expose(), secret.expose());
        prop_assert_eq!(parsed.prefix(), prefix.as_str());
    }

    #[test]
    fn the_checksum_catches_every_single_character_change(prefix in prefix(), position in any::<prop::sample::Index>()) {
        let secret = Secret::generate(&prefix);
        let key = secret.expose().as_bytes();
        // Any character of the key, the prefix's included, but the `_` that ends the prefix.
        let at = position.index(key.len() - 1);
        let at = if key[at] == b'_' { at + 1 } else { at };
        for &other in BASE62.iter().filter(|&&c| c != key[at]) {
            let mut changed = key.to_vec();
            changed[at] = other;
            let changed = String::from_utf8(changed).unwrap();
            prop_assert!(Secret::parse(&changed).is_err(), "{} parsed after changing character {}", changed, at);
        }
    }

    #[test]
    fn the_checksum_catches_every_swap_of_two_adjacent_characters(prefix in prefix()) {
        let secret = Secret::generate(&prefix);
        let key = secret.expose().as_bytes();
        for at in 0..key.len() - 1 {
            if key[at] == key[at + 1] {
                continue; // no change to catch
            }
            let mut swapped = key.to_vec();
            swapped.swap(at, at + 1);
            let swapped = String::from_utf8(swapped).unwrap();
            prop_assert!(Secret::parse(&swapped).is_err(), "{} parsed after swapping {} and {}", swapped, at, at + 1);
        }
    }

    #[test]
    fn masking_shows_only_the_prefix_and_four_random_characters(prefix in prefix()) {
        let secret = Secret::generate(&prefix);
        let masked = secret.masked();
        let shown = prefix.as_str().len() + 1 + 4;
        prop_assert_eq!(masked.len(), secret.expose().len(), "the mask keeps the length");
        prop_assert_eq!(&masked[..shown], &secret.expose()[..shown]);
        prop_assert!(masked[shown..].bytes().all(|b| b == b'*'), "{} shows more than {} characters", masked, shown);
    }

    #[test]
    fn a_scope_grants_what_its_access_covers_and_nothing_on_another_resource(
        resource in "[a-z][a-z0-9_]{0,10}",
        other in "[a-z][a-z0-9_]{0,10}",
        held in access(),
        wanted in access(),
        targets in proptest::collection::vec("[a-z0-9]{1,8}", 0..4),
        target in proptest::option::of("[a-z0-9]{1,8}"),
    ) {
        let scope = Scope { resource: resource.clone(), access: held, targets: targets.clone() };
        let granted = scope.grants(&resource, wanted, target.as_deref());
        let by_access = held == wanted || held == Access::Write;
        let by_target = targets.is_empty() || target.as_ref().is_some_and(|t| targets.contains(t));
        prop_assert_eq!(granted, by_access && by_target);
        if other != resource {
            prop_assert!(!scope.grants(&other, wanted, target.as_deref()));
        }
    }
}

fn access() -> impl Strategy<Value = Access> {
    prop_oneof![
        Just(Access::Read),
        Just(Access::Create),
        Just(Access::Update),
        Just(Access::Delete),
        Just(Access::Write)
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| Value::from(i64::from(n))),
        "[ -~]{0,16}".prop_map(Value::String),
    ]
}

fn metadata() -> impl Strategy<Value = Map<String, Value>> {
    let value = json_leaf().prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    proptest::collection::btree_map("[a-z_]{1,12}", value, 0..8).prop_map(|m| m.into_iter().collect())
}

fn scopes() -> impl Strategy<Value = Vec<Scope>> {
    let scope = ("[a-z][a-z0-9_.:-]{0,20}", access(), proptest::collection::vec("[a-zA-Z0-9]{1,12}", 0..3))
        .prop_map(|(resource, access, targets)| Scope { resource, access, targets });
    proptest::collection::vec(scope, 0..5)
}

fn rate_limit() -> impl Strategy<Value = RateLimit> {
    (1i32..=1_000_000, 1i64..=86_400_000).prop_map(|(limit, window_ms)| RateLimit { limit, window_ms })
}

fn credits() -> impl Strategy<Value = Credits> {
    let refill = (1i64..=1_000_000_000_000, 1_000i64..=31_622_400_000)
        .prop_map(|(amount, interval_ms)| CreditsRefill { amount, interval_ms });
    (0i64..=1_000_000_000_000, proptest::option::of(refill))
        .prop_map(|(remaining, refill)| Credits { remaining, refill })
}

fn status() -> impl Strategy<Value = KeyStatus> {
    prop_oneof![Just(KeyStatus::Enabled), Just(KeyStatus::Disabled)]
}

/// A key to patch with every field set, so a field a patch leaves out has a value to keep.
fn full_key() -> impl Strategy<Value = NewApiKey> {
    (
        "[a-zA-Z0-9 ()-]{1,40}",
        "[ -~]{0,60}",
        status(),
        scopes(),
        0i64..=4_102_444_800_000,
        metadata(),
        rate_limit(),
        credits(),
    )
        .prop_map(|(name, description, status, scopes, expires_at, metadata, rate_limit, credits)| {
            NewApiKey {
                name,
                description: Some(description),
                status,
                scopes,
                expires_at: Some(expires_at),
                metadata,
                rate_limit: Some(rate_limit),
                credits: Some(credits),
                ..Default::default()
            }
        })
}

fn patch() -> impl Strategy<Value = ApiKeyPatch> {
    (
        proptest::option::of("[a-zA-Z0-9 ()-]{1,40}"),
        proptest::option::of(proptest::option::of("[ -~]{0,60}")),
        proptest::option::of(status()),
        proptest::option::of(scopes()),
        proptest::option::of(proptest::option::of(0i64..=4_102_444_800_000)),
        proptest::option::of(metadata()),
        proptest::option::of(proptest::option::of(rate_limit())),
        proptest::option::of(proptest::option::of(credits())),
    )
        .prop_map(|(name, description, status, scopes, expires_at, metadata, rate_limit, credits)| {
            ApiKeyPatch { name, description, status, scopes, expires_at, metadata, rate_limit, credits }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Through the real store (a SQLite file): every field the patch sets reads back as the
    /// patch has it, and every field it leaves out reads back as before.
    #[test]
    fn a_patch_written_and_read_back_equals_the_patch(new in full_key(), patch in patch()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        runtime.block_on(async {
            let store = store::connect(&format!("sqlite://{}", dir.path().join("p.db").display())).await.unwrap();
            let hasher = KeyHasher::default();
            let admin = Secret::generate(&KeyPrefix::default());
            ensure_default_organization(store.as_ref(), &hasher, Some(admin.clone()), 1).await.unwrap();
            let found = store.api_key_by_digest(&hasher.digest(&admin)).await.unwrap();
            let organization_id = found.expect("the root key is stored").api_key.organization_id;
            let (issued, _) = new.clone().issue(organization_id, &hasher, 1_000).expect("the strategy makes valid keys");
            store.api_key_insert(&issued, Actor::Operator).await.unwrap();
            let before = issued.api_key;
            let patch = patch.clone().check().expect("the strategy makes valid patches");
            let mut patched = before.clone();
            let changed = patch.apply(&mut patched, 2_000);
            let written = store.api_key_write(&patched, before.revision, &ChangeNote::new(ChangeKind::Updated, Actor::Operator, &[]), None).await.unwrap();
            assert!(written.is_some(), "the write at the read revision goes through");
            let read = store.api_key_get(organization_id, before.id).await.unwrap();
            assert_eq!(read.name, patch.name.clone().unwrap_or(before.name.clone()));
            assert_eq!(read.description, patch.description.clone().unwrap_or(before.description.clone()));
            assert_eq!(read.status, patch.status.unwrap_or(before.status));
            assert_eq!(read.scopes, patch.scopes.clone().unwrap_or(before.scopes.clone()));
            assert_eq!(read.expires_at, patch.expires_at.unwrap_or(before.expires_at));
            assert_eq!(read.metadata, patch.metadata.clone().unwrap_or(before.metadata.clone()));
            assert_eq!(read.rate_limit, patch.rate_limit.unwrap_or(before.rate_limit));
            assert_eq!(read.credits, patch.credits.unwrap_or(before.credits));
            assert_eq!(read.revision, before.revision + i64::from(changed), "a revision only for a change");
        });
    }
}

/// The terms generated queries are made of: resource names with colons, targets with quotes,
/// spaces, brackets and parentheses, and terms without a target.
const TERMS: [(&str, Access, Option<&str>); 6] = [
    ("invoices", Access::Read, None),
    ("invoices", Access::Write, None),
    ("billing:eu:invoices", Access::Delete, None),
    ("files", Access::Read, Some(r#"a "b" (c) [d]: e"#)),
    ("files", Access::Read, Some("x y")),
    ("files", Access::Update, None),
];
const ACCESSES: [Access; 5] = [Access::Read, Access::Create, Access::Update, Access::Delete, Access::Write];

/// A generated query: a term, or operands joined by operators (`true`: `AND`), written without
/// any parenthesis the precedence does not need.
#[derive(Debug, Clone)]
enum Query {
    Term(usize),
    Chain(Vec<Query>, Vec<bool>),
}

fn query() -> impl Strategy<Value = Query> {
    let leaf = (0..TERMS.len()).prop_map(Query::Term);
    leaf.prop_recursive(4, 32, 4, |inner| {
        (prop::collection::vec(inner, 2..5), prop::collection::vec(any::<bool>(), 4))
            .prop_map(|(operands, ands)| Query::Chain(operands, ands))
    })
}

fn held() -> impl Strategy<Value = Vec<Scope>> {
    let scope = (0..TERMS.len(), 0..ACCESSES.len(), prop::collection::vec(any::<bool>(), 2)).prop_map(
        |(t, a, which)| {
            let targets = [r#"a "b" (c) [d]: e"#, "x y"];
            Scope {
                resource: TERMS[t].0.to_owned(),
                access: ACCESSES[a],
                targets: targets
                    .iter()
                    .zip(which)
                    .filter(|(_, w)| *w)
                    .map(|(t, _)| (*t).to_owned())
                    .collect(),
            }
        },
    );
    prop::collection::vec(scope, 0..5)
}

fn term(i: usize) -> String {
    let (resource, access, target) = TERMS[i];
    let access = serde_json::to_value(access).unwrap();
    let target = target.map(|t| format!("[{}]", serde_json::to_string(t).unwrap())).unwrap_or_default();
    format!("{resource}:{}{target}", access.as_str().unwrap())
}

impl Query {
    /// As a person may write it: operators in mixed case, only the parentheses that group.
    fn written(&self, nested: bool) -> String {
        let Query::Chain(operands, ands) = self else {
            let Query::Term(i) = self else { unreachable!() };
            return term(*i);
        };
        let mut text = String::new();
        for (i, operand) in operands.iter().enumerate() {
            if i > 0 {
                let spelled = if ands[i - 1] { ["AND", "and", "And"] } else { ["OR", "or", "oR"] };
                text.push_str(&format!(" {} ", spelled[i % 3]));
            }
            text.push_str(&operand.written(true));
        }
        if nested { format!("( {text})") } else { text }
    }

    /// The operands of a chain grouped by the precedence: the `OR` of `AND`s.
    fn groups(operands: &[Query], ands: &[bool]) -> Vec<Vec<Query>> {
        let mut groups = vec![vec![operands[0].clone()]];
        for (operand, &and) in operands[1..].iter().zip(ands) {
            if and {
                groups.last_mut().unwrap().push(operand.clone());
            } else {
                groups.push(vec![operand.clone()]);
            }
        }
        groups
    }

    /// Fully parenthesized by the precedence, worked out here and not by the parser.
    fn normal(&self) -> String {
        let Query::Chain(operands, ands) = self else {
            let Query::Term(i) = self else { unreachable!() };
            return term(*i);
        };
        let join = |items: Vec<String>, operator: &str| {
            if items.len() == 1 {
                items.into_iter().next().unwrap()
            } else {
                format!("({})", items.join(operator))
            }
        };
        let groups = Self::groups(operands, ands)
            .iter()
            .map(|group| join(group.iter().map(Query::normal).collect(), " AND "))
            .collect();
        join(groups, " OR ")
    }

    /// Whether `held` satisfies the query, by the precedence, evaluated here.
    fn holds(&self, held: &[Scope]) -> bool {
        match self {
            Query::Term(i) => {
                let (resource, access, target) = TERMS[*i];
                held.iter().any(|s| s.grants(resource, access, target))
            }
            Query::Chain(operands, ands) => Self::groups(operands, ands)
                .iter()
                .any(|group| group.iter().all(|operand| operand.holds(held))),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_scope_query_and_its_fully_parenthesized_normal_form_give_the_same_verdict(query in query(), held in held()) {
        let written = query.written(false);
        let normal = query.normal();
        let parsed = ScopeQuery::parse(&written).map_err(|e| TestCaseError::fail(format!("{written}: {e}")))?;
        let parsed_normal = ScopeQuery::parse(&normal).map_err(|e| TestCaseError::fail(format!("{normal}: {e}")))?;
        prop_assert_eq!(parsed.holds(&held), parsed_normal.holds(&held), "{} and {}", written, normal);
        prop_assert_eq!(parsed.holds(&held), query.holds(&held), "{} against {:?}", written, held);
        prop_assert_eq!(parsed.parenthesized(), normal);
    }
}
