//! What a person sees, pinned as `insta` snapshots: each command's table or view, the secret block, the error lines with their exit codes and every `--help`, from the real binary against a real server.
//!
//! Each test types commands as a person at a terminal would (tables, `KEYWARD_OUTPUT=table`)
//! and writes a transcript: the command line, its exit code, its stdout and its stderr. What
//! differs from run to run (ids, secrets, times, consistency and page tokens, the server's port,
//! the temporary directory, the server's version) is replaced by a placeholder, as wide as what it
//! replaces wherever a table or a view shows it, so their columns stay as they were laid out. The snapshots under `snapshots/` are reviewed in the repository;
//! a difference fails the test, and CI (`CI=true`) never writes a new one.

use std::collections::HashMap;
use std::process::Output;

use regex::{Captures, Regex};

use crate::{Run, TestServer, spawn_server, stdout};

/// A person's session at a terminal: the commands typed and what each showed.
struct Transcript<'a> {
    server: &'a TestServer,
    text: String,
}

impl<'a> Transcript<'a> {
    fn new(server: &'a TestServer) -> Self {
        Self { server, text: String::new() }
    }

    /// Types `keyward ARGS` with the server's URL and root key in the environment.
    async fn type_in(&mut self, args: &[&str]) -> Output {
        self.type_with("", args, self.server.run(args)).await
    }

    /// Types `keyward ARGS` as `run` sets it up, the line shown after `before` (the environment
    /// that differs from the usual, `KEYWARD_KEY=… `, or a pipe into it).
    async fn type_with(&mut self, before: &str, args: &[&str], run: Run<'_>) -> Output {
        let output = run.env("KEYWARD_OUTPUT", "table").output().await;
        self.record(before, args, &output);
        output
    }

    /// A comment, `# why`, before the next command.
    fn note(&mut self, comment: &str) {
        self.text.push_str(&format!("# {comment}\n"));
    }

    fn record(&mut self, before: &str, args: &[&str], output: &Output) {
        let line: Vec<String> = args.iter().map(|arg| quoted(arg)).collect();
        self.text.push_str(&format!("$ {before}keyward {}\n", line.join(" ")));
        self.text.push_str(&format!("[exit {}]\n", output.status.code().expect("an exit code")));
        for (name, stream) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            if !stream.is_empty() {
                self.text.push_str(&format!("--- {name}\n{}", String::from_utf8_lossy(stream)));
                if !stream.ends_with(b"\n") {
                    self.text.push_str("⏎ (no final line break)\n");
                }
            }
        }
        self.text.push('\n');
    }

    /// The transcript with what differs from run to run replaced.
    fn finish(self) -> String {
        normalized(self.server, &self.text)
    }
}

/// `arg` as a shell would need it typed.
fn quoted(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:,=@%+".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) { arg.to_owned() } else { format!("'{arg}'") }
}

/// `text` with each value that differs from run to run replaced by a placeholder: ids and secrets
/// numbered in the order they first appear (so the same key reads the same throughout), as wide
/// as they are, and so are times, masked keys and consistency tokens; page tokens, the server's
/// URL, the temporary directory and the version.
fn normalized(server: &TestServer, text: &str) -> String {
    let text = text.replace(&server.url, "http://127.0.0.1:PORT");
    let text = text.replace(&server.dir.path().display().to_string(), "/TMP");
    let text = numbered(&text, r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", |n| {
        format!("id:{n:05}-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
    });
    // A secret: the prefix, 32 random base62 characters and a 6-character checksum.
    let text = numbered(&text, r"\bkw_[0-9A-Za-z]{38}\b", |n| format!("kw_SECRET{n:0>32}"));
    let replacements = [
        // A masked key as a table shows it: the prefix and the secret's first four characters.
        (r"\bkw_[0-9A-Za-z]{4}…", "kw_XXXX…"),
        (r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}\b", "YYYY-MM-DD hh:mm"),
        // A time a narrow table cut short to its date.
        (r"\b\d{4}-\d{2}-\d{2}…", "YYYY-MM-DD…"),
        (r"\bct1_[0-9a-f]{16}\b", "ct1_XXXXXXXXXXXXXXXX"),
        (r"(--page-token )'?[^\s,']+'?", "${1}PAGE_TOKEN"),
        (r"(?m)^(Version +)\S+$", "${1}VERSION"),
    ];
    let mut text = text;
    for (pattern, replacement) in replacements {
        text = Regex::new(pattern).expect("a valid pattern").replace_all(&text, replacement).into_owned();
    }
    text
}

/// `text` with each distinct match of `pattern` replaced by `placeholder(n)`, `n` counting from 1
/// in the order the values first appear.
fn numbered(text: &str, pattern: &str, placeholder: impl Fn(usize) -> String) -> String {
    let mut seen: HashMap<String, usize> = HashMap::new();
    Regex::new(pattern)
        .expect("a valid pattern")
        .replace_all(text, |found: &Captures| {
            let next = seen.len() + 1;
            placeholder(*seen.entry(found[0].to_owned()).or_insert(next))
        })
        .into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_as_a_person_sees_them() {
    let server = spawn_server().await;
    let mut session = Transcript::new(&server);

    session.note("a key with every option: its fields, then its secret once, the token on stderr");
    let created = session
        .type_in(&[
            "keys",
            "create",
            "--name",
            "billing worker",
            "--description",
            "the nightly invoice run",
            "--user-id",
            "alice",
            "--customer-id",
            "cus_42",
            "--billing-id",
            "bill_7",
            "--scope",
            "invoices:write:inv_1,inv_2",
            "--scope",
            "api_keys:read",
            "--metadata",
            r#"{"team":"billing","tier":2}"#,
            "--rate-limit",
            "100/min",
            "--credits",
            "1000",
            "--refill",
            "1000/day",
            "--expires-in",
            "3d",
        ])
        .await;
    let shown = stdout(&created);
    let id = crate::field(&shown, "ID").to_owned();
    let secret = shown
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("kw_") && !line.ends_with('…'))
        .expect("the secret on a line of its own")
        .to_owned();

    session.note("a bare key");
    session.type_in(&["keys", "create", "--name", "ci", "--status", "disabled"]).await;
    let (revoked, _) = server.create_key(&["--name", "gone"]).await;
    crate::json(&server.keyward(&["keys", "delete", &revoked]).await);

    session.note("its secret verified: the verdict, the limits it spent, the expiry warning");
    session.type_in(&["keys", "verify", &secret, "--scope", "invoices:write:inv_1"]).await;
    session.note("a verdict that is not VALID exits 6");
    session.type_in(&["keys", "verify", &secret, "--scope", "invoices:delete"]).await;
    session.type_in(&["keys", "get", &id]).await;
    session.type_in(&["keys", "list"]).await;
    session.type_in(&["keys", "list", "--include-deleted"]).await;
    session.note("more than a page: the hint on stderr");
    let first = session.type_in(&["keys", "list", "--include-deleted", "--limit", "2"]).await;
    let hint = crate::stderr(&first);
    let token = hint
        .split_once("--page-token ")
        .and_then(|(_, rest)| rest.split([',', ' ', '\n']).next())
        .expect("the next page is named on stderr")
        .to_owned();
    session.type_in(&["keys", "list", "--include-deleted", "--limit", "2", "--page-token", &token]).await;
    session.type_in(&["keys", "list", "--include-deleted", "--limit", "2", "--all"]).await;
    session.type_in(&["keys", "list", "--user-id", "nobody"]).await;

    session.note("an update shows the key as it is now");
    session
        .type_in(&[
            "keys",
            "update",
            &id,
            "--name",
            "billing worker (EU)",
            "--clear-description",
            "--clear-metadata",
            "--clear-rate-limit",
            "--credits",
            "5",
            "--if-match",
            "1",
        ])
        .await;
    session.note("a new secret, shown once");
    session.type_in(&["keys", "rotate", &id, "--grace", "1h"]).await;
    session.type_in(&["keys", "delete", &id]).await;
    session.type_in(&["keys", "get", &id, "--include-deleted"]).await;

    insta::assert_snapshot!("keys", session.finish());
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_list_fits_a_narrow_terminal_as_a_person_sees_it() {
    let server = spawn_server().await;
    for name in [
        "billing worker (EU) for the nightly invoice run",
        "deploy — staging and production, rotated every month by the platform team",
        "ci",
    ] {
        server.create_key(&["--name", name, "--expires-in", "30d", "--user-id", "wide"]).await;
    }
    let mut session = Transcript::new(&server);
    for columns in ["120", "80", "40"] {
        session.note(&format!("COLUMNS={columns}"));
        let args = ["keys", "list", "--user-id", "wide"];
        session
            .type_with(&format!("COLUMNS={columns} "), &args, server.run(&args).env("COLUMNS", columns))
            .await;
    }
    insta::assert_snapshot!("keys_list_narrow", session.finish());
}

#[tokio::test(flavor = "multi_thread")]
async fn users_keys_as_a_person_sees_them() {
    let server = spawn_server().await;
    let (alice, _) =
        server.create_key(&["--name", "alice's", "--user-id", "alice", "--scope", "queues:read"]).await;
    server.create_key(&["--name", "alice's second", "--user-id", "alice", "--expires-in", "30d"]).await;
    let (bob, _) = server.create_key(&["--name", "bob's", "--user-id", "bob"]).await;
    let mut session = Transcript::new(&server);
    session.type_in(&["users", "keys", "list", "alice"]).await;
    session.type_in(&["users", "keys", "list", "alice", "--limit", "1"]).await;
    session.type_in(&["users", "keys", "list", "carol"]).await;
    session.type_in(&["users", "keys", "get", "alice", &alice]).await;
    session.note("bob's key is not alice's");
    session.type_in(&["users", "keys", "get", "alice", &bob]).await;
    insta::assert_snapshot!("users_keys", session.finish());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_organization_the_server_and_profiles_as_a_person_sees_them() {
    let server = spawn_server().await;
    let mut session = Transcript::new(&server);
    session.type_in(&["org", "get"]).await;
    session.note("a new organization and its root key, shown once");
    session.type_in(&["org", "create", "--name", "acme"]).await;
    let args = ["health"];
    session.type_with("", &args, server.run(&args).key(None)).await;
    let args = ["ready"];
    session.type_with("", &args, server.run(&args).key(None)).await;

    let args = ["login", "--key-stdin"];
    let run = server.run(&args).key(None).stdin(&format!("{}\n", server.root_key));
    session.type_with("echo $KEY | ", &args, run).await;
    session.note("the profile's URL and key");
    let args = ["org", "get"];
    session.type_with("", &args, server.run(&args).key(None).url(None)).await;
    session.type_in(&["logout"]).await;
    session.type_in(&["logout"]).await;
    session.type_in(&["keys", "list", "--profile", "prod"]).await;
    insta::assert_snapshot!("organization_server_profiles", session.finish());
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_as_a_person_sees_them() {
    let server = spawn_server().await;
    let (id, _) = server.create_key(&["--name", "target"]).await;
    let (_, reader) = server.create_key(&["--name", "reader", "--scope", "api_keys:read"]).await;
    let mut session = Transcript::new(&server);

    session.note("refused by the server: exit 1");
    session
        .type_in(&["keys", "create", "--name", "x", "--metadata", r#"{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}"#])
        .await;
    session.type_in(&["keys", "update", &id, "--name", "again", "--if-match", "7"]).await;
    session.note("not found: exit 3");
    session.type_in(&["keys", "get", "00000000-0000-4000-8000-000000000000"]).await;
    session.type_in(&["keys", "rotate", "00000000-0000-4000-8000-000000000000"]).await;
    session.note("authentication: exit 4");
    let args = ["keys", "list"];
    session
        .type_with("KEYWARD_KEY=kw_not_a_real_key ", &args, server.run(&args).key(Some("kw_not_a_real_key")))
        .await;
    let args = ["keys", "create", "--name", "x"];
    session.type_with("KEYWARD_KEY=$READER ", &args, server.run(&args).key(Some(&reader))).await;
    let args = ["org", "create", "--name", "nested"];
    session.type_with("KEYWARD_KEY=$READER ", &args, server.run(&args).key(Some(&reader))).await;
    session.note("usage: exit 2");
    let args = ["keys", "list"];
    session.type_with("KEYWARD_KEY= ", &args, server.run(&args).key(None)).await;
    session.type_in(&["keys", "update", &id]).await;
    session.type_in(&["keys", "create", "--name", ""]).await;
    session.type_in(&["keys", "create", "--name", "x", "--scope", "api_keys"]).await;
    session.type_in(&["keys", "create", "--name", "x", "--rate-limit", "0/min"]).await;
    session.type_in(&["keys", "create", "--name", "x", "--expires-in", "soon"]).await;
    session.type_in(&["keys", "create", "--refill", "5/day"]).await;
    session.type_in(&["keys", "list", "--limit", "101"]).await;
    session.type_in(&["keys", "get", "not-an-id"]).await;
    session.type_in(&["keys", "get", &id, "--consistency-token", "not-a-token"]).await;
    session.type_in(&["keys", "frobnicate"]).await;
    session.note("the server cannot be reached: exit 5");
    let args = ["keys", "list", "--retries", "0"];
    session
        .type_with(
            "KEYWARD_URL=http://127.0.0.1:1 ",
            &args,
            server.run(&args).url(Some("http://127.0.0.1:1")),
        )
        .await;
    insta::assert_snapshot!("errors", session.finish());
}

/// Every command whose `--help` is pinned: the main command, each group and each command of one.
const COMMANDS: [&[&str]; 22] = [
    &[],
    &["keys"],
    &["keys", "create"],
    &["keys", "list"],
    &["keys", "get"],
    &["keys", "update"],
    &["keys", "rotate"],
    &["keys", "delete"],
    &["keys", "verify"],
    &["users"],
    &["users", "keys"],
    &["users", "keys", "list"],
    &["users", "keys", "get"],
    &["org"],
    &["org", "get"],
    &["org", "create"],
    &["login"],
    &["logout"],
    &["health"],
    &["ready"],
    &["openapi"],
    &["completions"],
];

#[tokio::test(flavor = "multi_thread")]
async fn every_help_as_a_person_sees_it() {
    let server = spawn_server().await;
    for command in COMMANDS {
        let mut args = command.to_vec();
        args.push("--help");
        let output = server.run(&args).key(None).url(None).output().await;
        assert!(output.status.success() && output.stderr.is_empty(), "{args:?}: {}", crate::stderr(&output));
        let help = stdout(&output);
        for sub in subcommands(&help) {
            let mut path = command.to_vec();
            path.push(&sub);
            assert!(COMMANDS.contains(&path.as_slice()), "{path:?} has no pinned help: add it to COMMANDS");
        }
        let name = if command.is_empty() { "help".to_owned() } else { format!("help_{}", command.join("_")) };
        insta::assert_snapshot!(name, help);
    }
}

/// The commands a help lists under `Commands:`, but `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}
