//! Prints results on stdout as JSON, YAML or tables for people, and messages on stderr; the only place that writes to stdout.
//!
//! What is printed for people passes through [`crate::terminal`]: each value is escaped before
//! it is laid out, and the laid-out text once more as it is written, so no control or
//! bidirectional formatting character the server sent reaches a terminal, whichever path
//! built the text. JSON and YAML are written as the API gave them.

use std::io::{self, IsTerminal, Write};

use clap::ValueEnum;
use comfy_table::{ColumnConstraint, ContentArrangement, Row, Table, Width, presets};
use serde::Serialize;

use crate::terminal;

/// The narrowest width a table is fitted to: a terminal that reports fewer columns (some report
/// 0) is taken to have said nothing, and the table is printed at its natural width.
const NARROWEST: u16 = 20;

/// The width of an id (a hyphenated UUID), which a value column of [`fields`] never goes below.
const ID_WIDTH: u16 = 36;

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

/// A column of a [`table`]: its title, and how it gives way on a terminal too narrow for the
/// whole table.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    title: &'static str,
    fit: Fit,
}

/// How a column gives way.
#[derive(Clone, Copy, Debug)]
enum Fit {
    /// Never cut: an id, a status, a masked key, which are no use in part.
    Whole,
    /// Cut short with `…`, down to this many columns.
    Cut(u16),
}

impl Column {
    /// A column whose values are never cut.
    pub const fn whole(title: &'static str) -> Self {
        Self { title, fit: Fit::Whole }
    }

    /// A column whose values may be cut short with `…`, to no fewer than `narrowest` columns.
    pub const fn cut(title: &'static str, narrowest: u16) -> Self {
        Self { title, fit: Fit::Cut(narrowest) }
    }
}

/// The columns between two of a [`table`]'s.
const GAP: u16 = 2;

/// A table with a header row, as `kubectl get` prints one: no borders, a row a line, fitted
/// to the terminal (see [`width`]). When it is too wide, the columns that may be cut share the
/// room the others leave, each down to its narrowest; if that is still too wide, columns are
/// left out from the right. The first column, each row's id, is never cut nor left out, so it
/// can always be copied whole.
pub fn table<const N: usize>(columns: [Column; N], rows: impl IntoIterator<Item = [String; N]>) -> String {
    table_at(width(), columns, rows)
}

/// [`table`] fitted to `width` columns, or at its natural width with `None` or a width too
/// narrow to mean anything (0, say).
pub fn table_at<const N: usize>(
    width: Option<u16>,
    columns: [Column; N],
    rows: impl IntoIterator<Item = [String; N]>,
) -> String {
    let mut table = borderless(None);
    table.set_truncation_indicator("…");
    let mut header = Row::from(columns.map(|column| column.title));
    header.max_height(1);
    table.set_header(header);
    for row in rows {
        let mut row = Row::from(row.map(|cell| terminal::escape(&cell).into_owned()));
        row.max_height(1);
        table.add_row(row);
    }
    if let Some(width) = width.and_then(usable) {
        let fits = columns.map(|column| column.fit);
        let laid_out = lay_out(&table.column_max_content_widths(), &fits, width);
        for (column, laid_out) in table.column_iter_mut().zip(laid_out) {
            column.set_constraint(match laid_out {
                Some(content) => ColumnConstraint::Absolute(Width::Fixed(content + column.padding_width())),
                None => ColumnConstraint::Hidden,
            });
        }
    }
    trimmed(table)
}

/// The width of each column's content in `width` columns, `None` for one left out: see
/// [`table`]. `natural` is each column's widest content; the first column is kept whole
/// whatever its fit.
fn lay_out(natural: &[u16], fits: &[Fit], width: u16) -> Vec<Option<u16>> {
    let narrowest = |i: usize| match fits[i] {
        Fit::Cut(narrowest) if i > 0 => natural[i].min(narrowest),
        _ => natural[i],
    };
    let needs = |shown: usize| {
        let gaps = usize::from(GAP) * shown.saturating_sub(1);
        (0..shown).map(|i| usize::from(narrowest(i))).sum::<usize>() + gaps
    };
    let mut shown = natural.len();
    while shown > 1 && needs(shown) > usize::from(width) {
        shown -= 1;
    }
    let mut widths: Vec<u16> = (0..shown).map(narrowest).collect();
    // The room left goes to the columns that were cut, a column at a time, in turn.
    let mut room = usize::from(width).saturating_sub(needs(shown));
    while room > 0 {
        let wanting: Vec<usize> = (0..shown).filter(|&i| widths[i] < natural[i]).collect();
        if wanting.is_empty() {
            break;
        }
        for i in wanting.into_iter().take(room) {
            widths[i] += 1;
            room -= 1;
        }
    }
    (0..natural.len()).map(|i| (i < shown).then(|| widths[i])).collect()
}

/// Labelled fields, one a line: `Name      ci`, fitted to the terminal (see [`width`]); the
/// values' column is never narrower than an id.
pub fn fields(rows: impl IntoIterator<Item = (&'static str, String)>) -> String {
    fields_at(width(), rows)
}

/// [`fields`] fitted to `width` columns, or at its natural width with `None` or a width too
/// narrow to mean anything.
pub fn fields_at(width: Option<u16>, rows: impl IntoIterator<Item = (&'static str, String)>) -> String {
    let mut table = borderless(width);
    for (label, value) in rows {
        table.add_row([label.to_owned(), terminal::escape(&value).into_owned()]);
    }
    let mut columns = table.column_iter_mut();
    if let Some(labels) = columns.next() {
        labels.set_constraint(ColumnConstraint::ContentWidth);
    }
    if let Some(values) = columns.next() {
        let narrowest = ID_WIDTH + values.padding_width();
        values.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(narrowest)));
    }
    trimmed(table)
}

/// The width tables are fitted to: `COLUMNS` if it holds a usable width (as `ls` reads it),
/// else the terminal's when stdout is one; `None` when piped.
fn width() -> Option<u16> {
    let columns = std::env::var("COLUMNS").ok().and_then(|columns| columns.trim().parse::<u16>().ok());
    // A table that is not told its width asks the terminal stdout is, if it is one.
    columns.and_then(usable).or_else(|| Table::new().width())
}

/// `width` if a table can be fitted to it, else `None`: a terminal that reports 0 columns has
/// said nothing, and a table fitted to it would be a character a line.
fn usable(width: u16) -> Option<u16> {
    (width >= NARROWEST).then_some(width)
}

/// A table without borders, its values wrapped to fit `width` columns if it is usable, else at
/// its natural width; never fitted to what the terminal reports itself, which [`width`] has read.
fn borderless(width: Option<u16>) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).force_no_tty();
    match width.and_then(usable) {
        Some(width) => table.set_width(width).set_content_arrangement(ContentArrangement::Dynamic),
        None => table.set_content_arrangement(ContentArrangement::Disabled),
    };
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
        let text = table_at(
            None,
            [Column::whole("ID"), Column::cut("NAME", 4)],
            [["1".to_owned(), "ci".to_owned()], ["22".to_owned(), "x".to_owned()]],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("ID"), "{text}");
        assert_eq!(lines[1].find("ci"), lines[0].find("NAME"), "{text}");
    }

    #[test]
    fn columns_that_may_be_cut_share_the_room_the_others_leave() {
        let fits = [Fit::Whole, Fit::Cut(4), Fit::Whole, Fit::Cut(6)];
        let natural = [36, 40, 8, 30];
        assert_eq!(lay_out(&natural, &fits, 200), [Some(36), Some(40), Some(8), Some(30)], "room for all");
        // 36 + 8 whole, 3 gaps of 2: 30 left, 4 and 6 at least, the other 20 shared in turn.
        assert_eq!(lay_out(&natural, &fits, 80), [Some(36), Some(14), Some(8), Some(16)]);
        assert_eq!(
            lay_out(&natural, &fits, 60),
            [Some(36), Some(4), Some(8), Some(6)],
            "each at its narrowest"
        );
        assert_eq!(
            lay_out(&natural, &fits, 59),
            [Some(36), Some(11), Some(8), None],
            "then left out from the right"
        );
        assert_eq!(lay_out(&natural, &fits, 40), [Some(36), None, None, None]);
        assert_eq!(
            lay_out(&natural, &fits, 20),
            [Some(36), None, None, None],
            "the first is always shown whole"
        );
        assert_eq!(lay_out(&[u16::MAX, u16::MAX], &[Fit::Cut(4), Fit::Cut(4)], 80), [Some(u16::MAX), None]);
    }

    #[test]
    fn the_secret_stands_alone_on_its_line() {
        let block = secret_block("The new key's secret", "kw_abc");
        assert!(block.lines().any(|line| line.trim() == "kw_abc"), "{block}");
        assert!(block.contains("shown this once"), "{block}");
    }
}
