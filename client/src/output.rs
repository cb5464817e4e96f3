//! Prints results on stdout as JSON, YAML or tables for people, and messages on stderr; the only place that writes to stdout.
//!
//! What is printed for people passes through [`crate::terminal`]: each value is escaped before
//! it is laid out, and the laid-out text once more as it is written, so no control or
//! bidirectional formatting character the server sent reaches a terminal, whichever path
//! built the text. JSON and YAML are written as the API gave them.

use std::io::{self, IsTerminal, Write};

use clap::ValueEnum;
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

use crate::terminal;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tables and labelled fields, with local times (the default on a terminal)
    Table,
    /// The API's JSON, indented (the default when stdout is not a terminal)
    Json,
    /// The API's JSON as YAML
    Yaml,
}

impl Format {
    /// The format asked for, else tables on a terminal and JSON otherwise.
    pub fn choose(asked: Option<Format>) -> Format {
        asked.unwrap_or(if io::stdout().is_terminal() { Format::Table } else { Format::Json })
    }
}

/// What a command prints: `document` as JSON or YAML, or `table` for people, its control and
/// bidirectional formatting characters escaped but its line breaks kept.
pub fn print<T: Serialize>(format: Format, document: &T, table: impl FnOnce() -> String) {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(document).expect("the API's types serialize") + "\n",
        Format::Yaml => yaml_serde::to_string(document).expect("the API's types serialize"),
        Format::Table => terminal::escape_keeping_lines(&table()).into_owned(),
    };
    write_stdout(&text);
}

/// Writes `line` and a line break to stderr, every control and bidirectional formatting
/// character in it escaped (a line break inside it included).
pub fn write_stderr_line(line: &str) {
    let mut stderr = io::stderr().lock();
    // Nothing is left to tell of a failure to write to stderr.
    let _ = writeln!(stderr, "{}", terminal::escape(line));
}

/// Writes `text` to stdout; a closed stdout (`| head`) ends the command
/// quietly.
pub fn write_stdout(text: &str) {
    let mut stdout = io::stdout().lock();
    if stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_err() {
        std::process::exit(0);
    }
}

/// A table with a header row, as `kubectl get` prints one: no borders,
/// columns fitted to the terminal.
pub fn table<const N: usize>(header: [&str; N], rows: impl IntoIterator<Item = [String; N]>) -> String {
    let mut table = borderless();
    table.set_header(header);
    for row in rows {
        table.add_row(row.map(|cell| terminal::escape(&cell).into_owned()));
    }
    trimmed(table)
}

/// Labelled fields, one a line: `Name      ci`.
pub fn fields(rows: impl IntoIterator<Item = (&'static str, String)>) -> String {
    let mut table = borderless();
    for (label, value) in rows {
        table.add_row([label.to_owned(), terminal::escape(&value).into_owned()]);
    }
    trimmed(table)
}

/// A table without borders, its columns fitted to the terminal.
fn borderless() -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Dynamic);
    table
}

/// The table's lines without the padding comfy-table leaves at each end.
fn trimmed(table: Table) -> String {
    let mut text = String::new();
    for line in table.lines() {
        let line = line.strip_prefix(' ').unwrap_or(&line).trim_end();
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The block that shows a secret once: what it is, that it will not be shown
/// again, and the secret alone on its line.
pub fn secret_block(what: &str, secret: &str) -> String {
    format!("\n{what}, shown this once: store it now, it cannot be shown again.\n\n    {secret}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_has_a_header_and_aligned_columns() {
        let text =
            table(["ID", "NAME"], [["1".to_owned(), "ci".to_owned()], ["22".to_owned(), "x".to_owned()]]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("ID"), "{text}");
        assert_eq!(lines[1].find("ci"), lines[0].find("NAME"), "{text}");
    }

    #[test]
    fn the_secret_stands_alone_on_its_line() {
        let block = secret_block("The new key's secret", "kw_abc");
        assert!(block.lines().any(|line| line.trim() == "kw_abc"), "{block}");
        assert!(block.contains("shown this once"), "{block}");
    }
}
