//! Tidy: the style a compiler does not check, over every tracked Rust file, as plain `cargo test`s.
//!
//! In the manner of rust-analyzer's `xtask/src/tidy.rs`. Each test runs one rule over every file
//! `git ls-files` lists and fails listing every offending `path:line` at once. The needles that would
//! make a file an offender are spelled with `concat!`, so this file does not find itself.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Markers of a test switched off or of code left to write.
const FORBIDDEN: [&str; 3] = [concat!("#[", "ignore"), concat!("todo", "!("), concat!("unimplemented", "!(")];

#[test]
fn every_rust_file_opens_with_a_doc_line() {
    check("open with a `//!` line saying the file's one job", missing_doc_line);
}

#[test]
fn no_test_is_ignored_and_no_stub_remains() {
    check("switch a test off or leave a stub; fix it or delete it", forbidden_markers);
}

#[test]
fn no_line_ends_in_whitespace() {
    check("end a line in whitespace", trailing_whitespace);
}

#[test]
fn every_rust_file_ends_with_a_newline() {
    check("lack a final newline", missing_final_newline);
}

#[test]
fn each_rule_finds_what_it_names() {
    let ignored = format!("//! A test.\n\n{}]\nfn f() {{}}\n", FORBIDDEN[0]);
    let stub = format!("//! A stub.\nfn f() {{\n    {}\"later\")\n}}\n", FORBIDDEN[1]);
    assert!(missing_doc_line("//! Fine.\n").is_empty());
    assert_eq!(missing_doc_line("#![cfg(unix)]\n//! Too late.\n"), [(1, "")]);
    assert_eq!(missing_doc_line("/// An item doc.\n"), [(1, "")]);
    assert_eq!(forbidden_markers(&ignored), [(3, FORBIDDEN[0])]);
    assert_eq!(forbidden_markers(&stub), [(3, FORBIDDEN[1])]);
    assert!(trailing_whitespace("//! Fine.\nfn f() {}\n").is_empty());
    assert_eq!(trailing_whitespace("//! Spaces. \nfn f() {}\t\r\n"), [(1, ""), (2, "")]);
    assert!(missing_final_newline("//! Fine.\n").is_empty());
    assert_eq!(missing_final_newline("//! Cut.\nfn f() {}"), [(2, "")]);
}

/// A place a rule was broken: the 1-based line, and what was found there when it is worth saying.
type Offence = (usize, &'static str);

fn missing_doc_line(text: &str) -> Vec<Offence> {
    if text.starts_with("//!") { Vec::new() } else { vec![(1, "")] }
}

fn forbidden_markers(text: &str) -> Vec<Offence> {
    let lines = text.split('\n').enumerate();
    lines
        .flat_map(|(i, line)| FORBIDDEN.into_iter().filter(|m| line.contains(m)).map(move |m| (i + 1, m)))
        .collect()
}

/// Splitting on `\n` alone keeps a `\r`, so CRLF line ends count as whitespace too.
fn trailing_whitespace(text: &str) -> Vec<Offence> {
    let lines = text.split('\n').enumerate();
    lines.filter(|(_, line)| line.ends_with(char::is_whitespace)).map(|(i, _)| (i + 1, "")).collect()
}

fn missing_final_newline(text: &str) -> Vec<Offence> {
    if text.ends_with('\n') { Vec::new() } else { vec![(text.split('\n').count(), "")] }
}

/// Runs `rule` over every tracked Rust file and fails listing each offence as `path:line`.
fn check(what_offenders_do: &str, rule: fn(&str) -> Vec<Offence>) {
    let mut offences = Vec::new();
    for (path, text) in tracked_rust_files() {
        for (line, found) in rule(&text) {
            let found = if found.is_empty() { String::new() } else { format!(": `{found}`") };
            offences.push(format!("{}:{line}{found}", path.display()));
        }
    }
    assert!(
        offences.is_empty(),
        "{} place(s) {what_offenders_do}:\n  {}",
        offences.len(),
        offences.join("\n  ")
    );
}

/// Every `.rs` file `git ls-files` lists, with its text, by its path from the repository root.
fn tracked_rust_files() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace root");
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--", "*.rs"])
        .current_dir(root)
        .output()
        .expect("git runs");
    assert!(listed.status.success(), "git ls-files failed: {}", String::from_utf8_lossy(&listed.stderr));
    let paths = listed.stdout.split(|&b| b == 0).filter(|path| !path.is_empty());
    let files: Vec<_> = paths
        .filter_map(|path| {
            let path = PathBuf::from(std::str::from_utf8(path).expect("a tracked path is UTF-8"));
            match std::fs::read_to_string(root.join(&path)) {
                Ok(text) => Some((path, text)),
                // Tracked but deleted in the working tree: nothing left to check.
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => panic!("cannot read {}: {e}", path.display()),
            }
        })
        .collect();
    assert!(!files.is_empty(), "git ls-files lists no Rust file under {}", root.display());
    files
}
