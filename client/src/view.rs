//! How each of the API's resources reads as a table for people: keys, verdicts, organizations, health.

use std::io;

use keyward::types::{ApiKey, ApiKeyStatus, Credits, Health, Organization, RateLimit, Scope, VerifyResponse};
use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, Serializer};
use serde_json::{Map, Value};

use crate::output::{Column, fields, table};
use crate::when::{local_time, local_time_short, now, relative, window};

/// The columns of `keys list`, the first to be left out last. A time cut short still shows its
/// date (`2026-12-10…`).
const KEY_COLUMNS: [Column; 6] = [
    Column::whole("ID"),
    Column::cut("NAME", 8),
    Column::whole("STATUS"),
    Column::whole("KEY"),
    Column::cut("EXPIRES", 11),
    Column::cut("LAST USED", 11),
];

/// `keys list`: one key a row, newest first.
pub fn key_rows(keys: &[ApiKey]) -> String {
    if keys.is_empty() {
        return "No API keys.\n".to_owned();
    }
    table(KEY_COLUMNS, key_cells(keys, now()))
}

/// The cells of each key's row in `keys list`, at `now`.
fn key_cells(keys: &[ApiKey], now: i64) -> impl Iterator<Item = [String; 6]> + '_ {
    keys.iter().map(move |key| {
        [
            key.id.to_string(),
            key.name.clone(),
            status(key, now).to_owned(),
            short_mask(&key.masked_key),
            key.expires_at.map_or_else(|| "never".to_owned(), |at| local_time_short(at, now)),
            key.last_used_at.map_or_else(|| "never".to_owned(), |at| local_time_short(at, now)),
        ]
    })
}

/// One key, a field a line.
pub fn key_fields(key: &ApiKey) -> String {
    let now = now();
    let optional = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    let time = |at: Option<i64>, none: &str| at.map_or_else(|| none.to_owned(), |at| local_time(at, now));
    let mut rows = vec![
        ("ID", key.id.to_string()),
        ("Name", key.name.clone()),
        ("Description", optional(&key.description)),
        ("Status", status(key, now).to_owned()),
        ("Key", short_mask(&key.masked_key)),
        ("User", optional(&key.user_id)),
        ("Customer", optional(&key.customer_id)),
        ("Billing", optional(&key.billing_id)),
        ("Scopes", scopes(&key.scopes)),
        ("Rate limit", key.rate_limit.as_ref().map_or_else(|| "none".to_owned(), rate_limit)),
        ("Credits", key.credits.as_ref().map_or_else(|| "unlimited".to_owned(), credits)),
        ("Expires", time(key.expires_at, "never")),
        ("Last used", time(key.last_used_at, "never")),
        ("Uses", key.usage_count.to_string()),
        ("Created", local_time(key.created_at, now)),
        ("Updated", local_time(key.updated_at, now)),
        ("Revision", key.revision.to_string()),
    ];
    if key.deleted {
        rows.push(("Revoked", time(key.deleted_at, "yes")));
    }
    if !key.metadata.is_empty() {
        rows.push(("Metadata", metadata(&key.metadata)));
    }
    fields(rows)
}

/// A verdict: `VALID` or why not, then the key it names and its limits.
pub fn verdict(response: &VerifyResponse) -> String {
    let now = now();
    let mut rows = vec![("Verdict", response.code.to_string())];
    if let Some(key) = &response.api_key {
        rows.push(("Key", format!("{} ({})", key.name, key.id)));
        rows.push(("Scopes", scopes(&key.scopes)));
    }
    if let Some(state) = &response.rate_limit {
        rows.push((
            "Rate limit",
            format!("{} of {} left, resets {}", state.remaining, state.limit, relative(state.reset_at, now)),
        ));
    }
    if let Some(state) = &response.credits {
        rows.push(("Credits", format!("{} left", state.remaining)));
    }
    if let Some(warning) = &response.expiry_warning {
        rows.push(("Warning", format!("{} ({})", warning.message, local_time(warning.expires_at, now))));
    }
    fields(rows)
}

/// An organization, a field a line.
pub fn organization(organization: &Organization) -> String {
    fields([
        ("ID", organization.id.to_string()),
        ("Name", organization.name.clone()),
        ("Created", local_time(organization.created_at, now())),
    ])
}

/// What `/v1/health` or `/v1/ready` answered.
pub fn health(health: &Health) -> String {
    fields([("Status", health.status.to_string()), ("Version", health.version.clone())])
}

/// `kw_7Qk2…`: a masked key without its run of `*`, which a table has no room for.
fn short_mask(masked: &str) -> String {
    format!("{}…", masked.trim_end_matches('*'))
}

/// Metadata as one line of JSON, `{"team":"billing"}`, whose strings keep their control
/// characters for the table to escape as it escapes every value: `\u{1b}` here as in a name,
/// not JSON's `\u001b`, and U+202E (which JSON leaves as it is) escaped too.
fn metadata(metadata: &Map<String, Value>) -> String {
    /// JSON's compact form, but a control character is written as itself.
    struct RawControls;

    impl Formatter for RawControls {
        fn write_char_escape<W: ?Sized + io::Write>(
            &mut self,
            writer: &mut W,
            escape: CharEscape,
        ) -> io::Result<()> {
            let raw = match escape {
                CharEscape::Backspace => 0x08,
                CharEscape::Tab => b'\t',
                CharEscape::LineFeed => b'\n',
                CharEscape::FormFeed => 0x0c,
                CharEscape::CarriageReturn => b'\r',
                CharEscape::AsciiControl(byte) => byte,
                quote_or_solidus => return CompactFormatter.write_char_escape(writer, quote_or_solidus),
            };
            writer.write_all(&[raw])
        }
    }

    let mut json = Vec::new();
    metadata
        .serialize(&mut Serializer::with_formatter(&mut json, RawControls))
        .expect("JSON serializes into memory");
    String::from_utf8(json).expect("JSON of strings is UTF-8")
}

/// `revoked`, `expired`, `disabled` or `enabled`: what a verify would say
/// first of these.
fn status(key: &ApiKey, now: i64) -> &'static str {
    if key.deleted {
        "revoked"
    } else if key.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        match key.status {
            ApiKeyStatus::Enabled => "enabled",
            ApiKeyStatus::Disabled => "disabled",
        }
    }
}

/// Scopes as the CLI takes them: `invoices:write:inv_1,inv_2 api_keys:read`.
fn scopes(scopes: &[Scope]) -> String {
    if scopes.is_empty() {
        return "none".to_owned();
    }
    scopes
        .iter()
        .map(|scope| {
            let mut text = format!("{}:{}", *scope.resource, scope.access);
            if !scope.targets.is_empty() {
                let targets: Vec<&str> = scope.targets.iter().map(|target| target.as_str()).collect();
                text.push(':');
                text.push_str(&targets.join(","));
            }
            text
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `100/min`, as `--rate-limit` takes it.
fn rate_limit(limit: &RateLimit) -> String {
    format!("{}/{}", limit.limit, window(i64::try_from(limit.window_ms.get()).unwrap_or(i64::MAX)))
}

/// `420 left, back to 1000 every day`.
fn credits(credits: &Credits) -> String {
    match &credits.refill {
        Some(refill) => {
            format!(
                "{} left, back to {} every {}",
                credits.remaining,
                refill.amount,
                window(refill.interval_ms)
            )
        }
        None => format!("{} left", credits.remaining),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::output::table_at;
    use crate::terminal::is_escaped;

    const NOW: i64 = 1_800_000_000_000;

    /// A key as the API would send it, with `fields` over the defaults.
    fn key(fields: Value) -> ApiKey {
        let mut key = json!({
            "id": "0b6f3c52-8a41-4f7e-9c1d-2e5a7b9d4f10",
            "organization_id": "7d2e9a14-3b5c-4e8f-a1d6-9c0b2f4e6a83",
            "name": "billing worker",
            "description": null,
            "prefix": "kw",
            "masked_key": "kw_7Qk2****************************",
            "status": "enabled",
            "scopes": [],
            "metadata": {},
            "user_id": null,
            "customer_id": null,
            "billing_id": null,
            "rate_limit": null,
            "credits": null,
            "expires_at": null,
            "last_used_at": null,
            "usage_count": 0,
            "revision": 1,
            "deleted": false,
            "deleted_at": null,
            "created_at": NOW - 86_400_000,
            "updated_at": NOW - 86_400_000,
            "_links": {"self": {"href": "/v1/api_keys/0b6f3c52-8a41-4f7e-9c1d-2e5a7b9d4f10"}}
        });
        for (name, value) in fields.as_object().expect("fields are an object") {
            key[name] = value.clone();
        }
        serde_json::from_value(key).expect("a key as the API sends one")
    }

    /// Whether `text` holds no control or bidirectional formatting character but its line breaks.
    fn shows_none_raw(text: &str) -> bool {
        text.chars().all(|c| c == '\n' || !is_escaped(c))
    }

    #[test]
    fn a_key_shows_every_control_and_bidi_character_it_holds_escaped() {
        let shown = key_fields(&key(json!({
            "name": "esc\u{1b}[31mred\u{0}",
            "description": "line\r\nover\u{9b}",
            "user_id": "u\u{202e}1",
            "customer_id": "cus\u{7}",
            "billing_id": "bill\u{2066}",
            "metadata": {"note\u{1b}": "a\u{1b}[2Jb\rc\u{202e}d\u{0}", "plain": "café 日本 🔑"}
        })));
        assert!(shows_none_raw(&shown), "{shown:?}");
        let field = |label: &str| {
            shown
                .lines()
                .find_map(|line| line.strip_prefix(label))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no {label} in {shown}"))
                .to_owned()
        };
        assert_eq!(field("Name"), "esc\\u{1b}[31mred\\u{0}");
        assert_eq!(field("Description"), "line\\u{d}\\u{a}over\\u{9b}");
        assert_eq!(field("User"), "u\\u{202e}1");
        assert_eq!(field("Customer"), "cus\\u{7}");
        assert_eq!(field("Billing"), "bill\\u{2066}");
        assert_eq!(
            field("Metadata"),
            r#"{"note\u{1b}":"a\u{1b}[2Jb\u{d}c\u{202e}d\u{0}","plain":"café 日本 🔑"}"#,
            "one form of escape, JSON's own escapes of quotes kept"
        );
    }

    #[test]
    fn metadata_keeps_json_s_quoting_of_quotes_and_backslashes() {
        let quoted: Map<String, Value> =
            serde_json::from_value(json!({"path": "C:\\keys", "say": "\"hi\"", "n": [1, null]})).unwrap();
        assert_eq!(metadata(&quoted), r#"{"path":"C:\\keys","say":"\"hi\"","n":[1,null]}"#);
    }

    #[test]
    fn a_key_list_shows_names_escaped() {
        let shown = key_rows(&[key(json!({"name": "esc\u{1b}[31mred\u{202e}"}))]);
        assert!(shows_none_raw(&shown), "{shown:?}");
        assert!(shown.contains("esc\\u{1b}[31mred\\u{202e}"), "{shown}");
    }

    #[test]
    fn a_verdict_and_an_organization_show_names_escaped() {
        let verdict: VerifyResponse = serde_json::from_value(json!({
            "valid": true,
            "code": "VALID",
            "api_key": serde_json::to_value(key(json!({"name": "v\u{1b}]0;title\u{7}"}))).unwrap(),
            "rate_limit": null,
            "credits": null
        }))
        .expect("a verdict as the API sends one");
        let shown = view_of_verdict(&verdict);
        assert!(shows_none_raw(&shown) && shown.contains("v\\u{1b}]0;title\\u{7}"), "{shown:?}");

        let organization: Organization = serde_json::from_value(json!({
            "id": "7d2e9a14-3b5c-4e8f-a1d6-9c0b2f4e6a83",
            "name": "acme\u{202e}\r",
            "created_at": NOW,
            "_links": {"self": {"href": "/v1/organizations/7d2e9a14-3b5c-4e8f-a1d6-9c0b2f4e6a83"}}
        }))
        .expect("an organization as the API sends one");
        let shown = super::organization(&organization);
        assert!(shows_none_raw(&shown) && shown.contains("acme\\u{202e}\\u{d}"), "{shown:?}");
    }

    fn view_of_verdict(response: &VerifyResponse) -> String {
        verdict(response)
    }

    /// A page of keys as people name them, each expiring and used at some time.
    fn a_page_of_keys() -> Vec<ApiKey> {
        let names = [
            "billing worker (EU) for the nightly invoice run",
            "ci",
            "deploy — staging and production, rotated every month by the platform team",
            "日本のパートナー向けキー",
        ];
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                key(json!({
                    "id": format!("0b6f3c52-8a41-4f7e-9c1d-2e5a7b9d4f1{i}"),
                    "name": name,
                    "expires_at": NOW + 3 * 86_400_000,
                    "last_used_at": if i % 2 == 0 { json!(NOW - 7_200_000) } else { json!(null) },
                    "status": if i == 1 { "disabled" } else { "enabled" }
                }))
            })
            .collect()
    }

    fn key_table(keys: &[ApiKey], width: Option<u16>) -> String {
        table_at(width, KEY_COLUMNS, key_cells(keys, NOW))
    }

    /// Every id of `keys` whole on its own row of `shown`, under the header.
    fn ids_are_whole(keys: &[ApiKey], shown: &str) {
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 1 + keys.len(), "a line a key:\n{shown}");
        for (key, line) in keys.iter().zip(&lines[1..]) {
            let id = key.id.to_string();
            assert!(line.starts_with(&id), "{id} is not whole on its line:\n{shown}");
        }
    }

    /// The number of columns `line` takes on a terminal (these are all one column wide but
    /// the CJK ideographs and kana, which take two).
    fn columns(line: &str) -> usize {
        line.chars().map(|c| if ('\u{3000}'..='\u{9fff}').contains(&c) { 2 } else { 1 }).sum()
    }

    #[test]
    fn at_80_columns_a_key_table_keeps_every_id_whole_and_fits() {
        let keys = a_page_of_keys();
        let shown = key_table(&keys, Some(80));
        ids_are_whole(&keys, &shown);
        for line in shown.lines() {
            assert!(columns(line) <= 80, "{} columns: {line:?}\n{shown}", columns(line));
        }
        let first = shown.lines().nth(1).unwrap();
        assert!(first.contains("billing…") && first.contains("enabled"), "names are cut, not ids: {shown}");
        assert!(
            first.contains("kw_7Qk2…") && first.contains("2027-01-1"),
            "the expiry's date shows: {shown}"
        );
    }

    #[test]
    fn at_40_columns_ids_stay_whole_and_the_other_columns_are_left_out() {
        let keys = a_page_of_keys();
        let shown = key_table(&keys, Some(40));
        ids_are_whole(&keys, &shown);
        for line in shown.lines() {
            assert!(columns(line) <= 40, "{line:?}\n{shown}");
        }
    }

    #[test]
    fn a_wide_terminal_shows_the_whole_table_as_a_pipe_does() {
        let keys = a_page_of_keys();
        let natural = key_table(&keys, None);
        assert_eq!(key_table(&keys, Some(250)), natural);
        assert!(natural.contains(&format!("{}  ", keys[2].name)), "{natural}");
        assert!(natural.contains("(in 3 days)") && natural.contains("(2 hours ago)"), "{natural}");
    }

    #[test]
    fn a_terminal_that_reports_0_columns_gets_the_table_at_its_natural_width() {
        let keys = a_page_of_keys();
        for width in [Some(0), Some(1), Some(12), None] {
            let shown = key_table(&keys, width);
            ids_are_whole(&keys, &shown);
            assert_eq!(shown, key_table(&keys, None), "{width:?} is no width at all");
        }
    }

    #[test]
    fn every_width_keeps_ids_whole_and_fits_all_but_an_id_alone() {
        let keys = a_page_of_keys();
        for width in 20..=250 {
            let shown = key_table(&keys, Some(width));
            ids_are_whole(&keys, &shown);
            for line in shown.lines() {
                let over = columns(line) > usize::from(width);
                assert!(!over || line.len() == 36, "{width} columns: {line:?}\n{shown}");
            }
        }
    }

    #[test]
    fn a_key_s_fields_keep_its_id_and_labels_whole_at_any_width() {
        let key = key(json!({"description": "what the nightly invoice run of the billing worker uses"}));
        let id = key.id.to_string();
        for width in [Some(0), Some(30), Some(40), Some(80), None] {
            let shown = crate::output::fields_at(
                width,
                [("ID", id.clone()), ("Description", key.description.clone().unwrap())],
            );
            assert!(shown.lines().any(|line| line == format!("ID           {id}")), "{width:?}:\n{shown}");
            assert!(
                shown.lines().nth(1).is_some_and(|line| line.starts_with("Description  what")),
                "{width:?}:\n{shown}"
            );
        }
    }
}
