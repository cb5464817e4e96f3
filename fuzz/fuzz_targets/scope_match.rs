//! Fuzz target: the scope matcher never panics, grants exactly what a scope's access and
//! targets cover, and a key may grant only management scopes it holds itself (a root key's role
//! resolved to the scopes it stands for).
#![no_main]

use keyward_server::domain::scope::{Access, Scope, any_grants, resolved, ungrantable};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    held: Vec<(String, u8, Vec<String>)>,
    wanted: Vec<(String, u8, Vec<String>)>,
    resource: String,
    access: u8,
    target: Option<String>,
}

fn access(n: u8) -> Access {
    [Access::Read, Access::Create, Access::Update, Access::Delete, Access::Write][usize::from(n % 5)]
}

fn scopes(raw: Vec<(String, u8, Vec<String>)>) -> Vec<Scope> {
    raw.into_iter().map(|(resource, a, targets)| Scope { resource, access: access(a), targets }).collect()
}

fuzz_target!(|input: Input| {
    let held = scopes(input.held);
    let wanted = access(input.access);
    for scope in &held {
        let granted = scope.grants(&input.resource, wanted, input.target.as_deref());
        let by_access = scope.access == wanted || scope.access == Access::Write;
        let by_target =
            scope.targets.is_empty() || input.target.as_ref().is_some_and(|t| scope.targets.contains(t));
        assert_eq!(granted, scope.resource == input.resource && by_access && by_target);
    }
    let any = any_grants(&held, &input.resource, wanted);
    assert_eq!(any, resolved(&held).iter().any(|s| s.grants(&input.resource, wanted, None)));
    let asked = scopes(input.wanted);
    for refused in ungrantable(&held, &asked) {
        assert!(asked.contains(&refused), "only scopes that were asked for are refused");
    }
});
