//! A live fixture for every path parameter of `openapi.yaml`, in one table: the end-to-end
//! suite's coverage test and authorization matrix and the docs' examples, answers and problems
//! fill their paths from it. A path whose parameter the table does not know fails the test that
//! met it, naming the parameter (and this crate's own test fails on the contract alone).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::TestApp;

/// What a path parameter names, which says what another organization's caller is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scoping {
    /// One organization's object, by an id no other organization's object has: another
    /// organization's caller is answered 404, as for an id that does not exist (never a 403,
    /// which would say that it does).
    Owned,
    /// A name each organization gives its own objects (a user id is the caller's own label):
    /// another organization's caller is answered about its own objects under that name, and sees
    /// none of this one's.
    Named,
}

/// The future a [`PathParameter`] makes its fixture in.
type Making<'a> = Pin<Box<dyn Future<Output = Fixture> + Send + 'a>>;

/// One path parameter: its name in the contract's paths, what it names, how to make a live one
/// and where to look at it.
pub struct PathParameter {
    /// The name, as in `{name}`.
    pub name: &'static str,
    pub scoping: Scoping,
    /// The path that shows the fixture (`{}` is its value), to see that a request left it as it
    /// was; `None` where nothing shows it on its own.
    pub view: Option<&'static str>,
    /// A value that names no object, for a 404 (an owned object's); `None` for a name.
    pub nothing: Option<fn() -> String>,
    /// Makes a live one in the fixtures' organization, given those the path's earlier parameters
    /// were filled with.
    make: for<'a> fn(&'a Fixtures<'a>, &'a [Fixture]) -> Making<'a>,
}

/// Every path parameter the contract's paths take.
pub const PATH_PARAMETERS: &[PathParameter] = &[
    PathParameter {
        name: "user_id",
        scoping: Scoping::Named,
        view: None,
        nothing: None,
        make: |of, _| Box::pin(user(of)),
    },
    PathParameter {
        name: "api_key_id",
        scoping: Scoping::Owned,
        view: Some("/v1/api_keys/{}"),
        nothing: Some(|| uuid::Uuid::now_v7().to_string()),
        make: |of, before| Box::pin(api_key(of, before)),
    },
];

/// The table's entry for the parameter `name` of `path`; a parameter it lacks fails the test.
pub fn parameter(name: &str, path: &str) -> &'static PathParameter {
    PATH_PARAMETERS.iter().find(|p| p.name == name).unwrap_or_else(|| {
        panic!(
            "the path parameter `{name}` (in {path}) has no fixture: add it to PATH_PARAMETERS in \
             testing/src/fixtures.rs, with how to make a live one and what another organization \
             is answered for it"
        )
    })
}

/// The names of `path`'s parameters, in order: `{name}` each.
pub fn parameter_names(path: &str) -> Vec<&str> {
    path.split('{').skip(1).map(|rest| rest.split_once('}').expect("a closed `{`").0).collect()
}

/// Where fixtures are made: a server and the key of the organization they are to belong to.
pub struct Fixtures<'a> {
    app: &'a TestApp,
    key: &'a str,
    given: Vec<(&'a str, String)>,
    key_body: Value,
}

impl<'a> Fixtures<'a> {
    /// Fixtures made on `app` in the organization of `key`.
    pub fn of(app: &'a TestApp, key: &'a str) -> Self {
        Self { app, key, given: Vec::new(), key_body: json!({"name": "a fixture"}) }
    }

    /// Fills the parameter `name` with `value` instead of making a fixture for it.
    pub fn given(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.given.push((name, value.into()));
        self
    }

    /// Makes the keys a path names from `body` (an `api_key_create` body; the owner is still
    /// the path's user).
    pub fn keys_like(mut self, body: Value) -> Self {
        self.key_body = body;
        self
    }

    /// `path` with each `{parameter}` filled in with a live fixture, in the order the path names
    /// them (a key under a user's path is that user's).
    pub async fn fill(&self, path: &str) -> Filled {
        let mut fixtures: Vec<Fixture> = Vec::new();
        for name in parameter_names(path) {
            let entry = parameter(name, path);
            let fixture = match self.given.iter().find(|(given, _)| *given == name) {
                Some((_, value)) => {
                    Fixture { name: entry.name, value: value.clone(), made: Vec::new(), answer: None }
                }
                None => (entry.make)(self, &fixtures).await,
            };
            fixtures.push(fixture);
        }
        let filled = placed(path, fixtures.iter().map(|f| (f.name, f.value.clone())));
        Filled { path: filled, template: path.to_owned(), fixtures }
    }
}

/// `template` with each `{name}` replaced by its value.
fn placed(template: &str, values: impl Iterator<Item = (&'static str, String)>) -> String {
    let mut path = template.to_owned();
    for (name, value) in values {
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    path
}

/// What one parameter was filled with.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The parameter's name.
    pub name: &'static str,
    /// What stands in the path.
    pub value: String,
    /// The ids of the objects made for it, which another organization must never see.
    pub made: Vec<String>,
    /// The answer to the request that made it (a key's holds its secret), if one was made.
    pub answer: Option<Value>,
}

impl Fixture {
    /// The table's entry for this fixture's parameter.
    pub fn parameter(&self) -> &'static PathParameter {
        parameter(self.name, "a filled path")
    }
}

/// A path filled in with live fixtures.
#[derive(Debug, Clone)]
pub struct Filled {
    /// The path, every parameter replaced.
    pub path: String,
    /// The path as the contract writes it.
    template: String,
    pub fixtures: Vec<Fixture>,
}

impl Filled {
    /// The value the parameter `name` was filled with.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.fixtures.iter().find(|f| f.name == name).map(|f| f.value.as_str())
    }

    /// The fixture of the parameter `name`.
    pub fn fixture(&self, name: &str) -> Option<&Fixture> {
        self.fixtures.iter().find(|f| f.name == name)
    }

    /// Each parameter's name and value, as a sample request takes them.
    pub fn ids(&self) -> Vec<(&str, &str)> {
        self.fixtures.iter().map(|f| (f.name, f.value.as_str())).collect()
    }

    /// Whether the path names an object of one organization, so that another organization's
    /// caller must be answered 404 on it.
    pub fn names_an_owned_object(&self) -> bool {
        self.fixtures.iter().any(|f| f.parameter().scoping == Scoping::Owned)
    }

    /// The path with each owned object's id replaced by one that names nothing (a 404 on a path
    /// that names one), the names kept.
    pub fn naming_nothing(&self) -> String {
        let values = self.fixtures.iter().map(|f| {
            let value = f.parameter().nothing.map_or_else(|| f.value.clone(), |nothing| nothing());
            (f.name, value)
        });
        placed(&self.template, values)
    }

    /// The ids of every object made for the path, which no other organization may see.
    pub fn made(&self) -> impl Iterator<Item = &str> {
        self.fixtures.iter().flat_map(|f| f.made.iter().map(String::as_str))
    }

    /// The paths that show the fixtures on their own, to see that a request left them as they
    /// were.
    pub fn views(&self) -> Vec<String> {
        self.fixtures
            .iter()
            .filter_map(|f| f.parameter().view.map(|view| view.replace("{}", &f.value)))
            .collect()
    }
}

/// A user with a key of theirs: a name no other fixture of the run has.
async fn user(of: &Fixtures<'_>) -> Fixture {
    static USERS: AtomicU64 = AtomicU64::new(0);
    let user = format!("fixture-user-{}", USERS.fetch_add(1, Ordering::Relaxed));
    let created =
        of.app.create_json_as(of.key, &json!({"name": format!("{user}'s key"), "user_id": user})).await;
    let id = created["api_key"]["id"].as_str().expect("the new key's id").to_owned();
    Fixture { name: "user_id", value: user, made: vec![id], answer: Some(created) }
}

/// A key made from the fixtures' key body, of the path's user where the path names one.
async fn api_key(of: &Fixtures<'_>, before: &[Fixture]) -> Fixture {
    let mut body = of.key_body.clone();
    if let Some(user) = before.iter().find(|f| f.name == "user_id") {
        body["user_id"] = json!(user.value);
    }
    let created = of.app.create_json_as(of.key, &body).await;
    let id = created["api_key"]["id"].as_str().expect("the new key's id").to_owned();
    Fixture { name: "api_key_id", value: id.clone(), made: vec![id], answer: Some(created) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_parameter_of_the_contract_has_a_fixture_and_every_fixture_a_path() {
        let spec = keyward_contract::committed_spec();
        let paths: Vec<&String> = spec["paths"].as_object().expect("paths").keys().collect();
        let mut used = Vec::new();
        for path in &paths {
            for name in parameter_names(path) {
                used.push(parameter(name, path).name);
            }
        }
        for entry in PATH_PARAMETERS {
            assert!(
                used.contains(&entry.name),
                "no path of openapi.yaml takes `{}`: drop its fixture",
                entry.name
            );
        }
        let names: Vec<_> = PATH_PARAMETERS.iter().map(|p| p.name).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "one entry a parameter: {names:?}");
    }

    #[test]
    fn a_path_names_its_parameters_in_order() {
        assert_eq!(parameter_names("/v1/users/{user_id}/api_keys/{api_key_id}"), ["user_id", "api_key_id"]);
        assert!(parameter_names("/v1/api_keys").is_empty());
    }

    #[test]
    #[should_panic(
        expected = "the path parameter `identity_id` (in /v1/identities/{identity_id}) has no fixture"
    )]
    fn a_parameter_without_a_fixture_fails_naming_it() {
        parameter("identity_id", "/v1/identities/{identity_id}");
    }
}
