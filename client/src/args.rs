//! Parses the argument values that need more than `FromStr`: URLs, scopes, times, durations, limits, metadata.

use std::io::{self, BufRead, IsTerminal};
use std::num::NonZeroU64;

use jiff::{Span, SpanRelativeTo, Timestamp, civil::Date, tz::TimeZone};
use keyward::types::{
    CreditsRefill, RateLimit, Scope, ScopeAccess, ScopeCheck, ScopeResource, ScopeTargetsItem,
    VerifyRequestScopeQuery,
};
use serde_json::{Map, Value};

/// Parses `resource:access[:target1,target2]` into a scope.
///
/// A resource may itself hold `:`, so the resource ends at the first segment
/// after it that names an access (`read`, `create`, `update`, `delete`,
/// `write`); whatever follows is the comma-separated list of targets.
pub fn parse_scope(input: &str) -> Result<Scope, String> {
    let segments: Vec<&str> = input.split(':').collect();
    let Some(access_at) = (1..segments.len()).find(|&i| segments[i].parse::<ScopeAccess>().is_ok()) else {
        return Err(format!(
            "expected resource:access[:target,...] with access one of read, create, update, delete, write, got '{input}'"
        ));
    };
    let resource = segments[..access_at].join(":");
    let resource = ScopeResource::try_from(resource.as_str())
        .map_err(|e| format!("the resource '{resource}' is not valid: {e}"))?;
    let access =
        segments[access_at].parse::<ScopeAccess>().expect("the access segment was found by parsing it");
    let targets = if access_at + 1 < segments.len() {
        let list = segments[access_at + 1..].join(":");
        list.split(',')
            .map(|target| {
                ScopeTargetsItem::try_from(target)
                    .map_err(|e| format!("the target '{target}' is not valid: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    Ok(Scope { access, resource, targets })
}

/// Parses `resource:access[:target]`, a scope a verified key must hold.
pub fn parse_scope_check(input: &str) -> Result<ScopeCheck, String> {
    let scope = parse_scope(input)?;
    let target = match scope.targets.as_slice() {
        [] => None,
        [target] => Some(target.to_string()),
        _ => {
            return Err(format!(
                "a verify checks one target per scope, got '{input}'; repeat --scope instead"
            ));
        }
    };
    Ok(ScopeCheck {
        resource: scope.resource.to_string().try_into().map_err(|e| format!("{e}"))?,
        access: scope.access,
        target: target.map(|t| t.try_into()).transpose().map_err(|e| format!("{e}"))?,
    })
}

/// A verify's scope query, as it is sent: the server parses it and says where it does not.
pub fn parse_scope_query(input: &str) -> Result<VerifyRequestScopeQuery, String> {
    VerifyRequestScopeQuery::try_from(input).map_err(|e| format!("the query is not valid: {e}"))
}

/// `LIMIT/WINDOW`, such as `100/min`, `10/30s` or `100/60000` (milliseconds).
pub fn parse_rate_limit(input: &str) -> Result<RateLimit, String> {
    let (limit, window) = split_pair(input, "LIMIT/WINDOW, such as 100/min")?;
    Ok(RateLimit {
        limit: limit
            .parse::<NonZeroU64>()
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or("LIMIT is a positive whole number, at most 4294967295")?,
        window_ms: window_ms(window)?,
    })
}

/// `AMOUNT/INTERVAL`, such as `1000/day` or `1000/86400000` (milliseconds).
pub fn parse_refill(input: &str) -> Result<CreditsRefill, String> {
    let (amount, interval) = split_pair(input, "AMOUNT/INTERVAL, such as 1000/day")?;
    let amount = amount.parse::<NonZeroU64>().map_err(|_| "AMOUNT is a positive whole number")?;
    let interval_ms = i64::try_from(window_ms(interval)?.get()).map_err(|_| "INTERVAL is too long")?;
    Ok(CreditsRefill { amount, interval_ms })
}

fn split_pair<'a>(input: &'a str, shape: &str) -> Result<(&'a str, &'a str), String> {
    let (a, b) = input.split_once('/').ok_or_else(|| format!("expected {shape}"))?;
    Ok((a.trim(), b.trim()))
}

/// A window as milliseconds (`60000`), a unit (`sec`, `min`, `hour`, `day`)
/// or a duration (`30s`, `15m`, `2h`, `1d`).
fn window_ms(input: &str) -> Result<NonZeroU64, String> {
    if let Ok(ms) = input.parse::<NonZeroU64>() {
        return Ok(ms);
    }
    let duration = match input {
        "s" | "sec" | "second" => "1s",
        "m" | "min" | "minute" => "1m",
        "h" | "hour" => "1h",
        "d" | "day" => "1d",
        "w" | "week" => "1w",
        other => other,
    };
    let ms = parse_duration_ms(duration).map_err(|_| {
        format!("'{input}' is not a window: use sec, min, hour, day, a duration such as 30s, or milliseconds")
    })?;
    u64::try_from(ms)
        .ok()
        .and_then(NonZeroU64::new)
        .ok_or_else(|| "the window must be longer than zero".to_owned())
}

/// A duration such as `30d`, `12h`, `1w 2d` or `PT90M`, in milliseconds.
fn parse_duration_ms(input: &str) -> Result<i64, String> {
    let span: Span = input.parse().map_err(|e| format!("'{input}' is not a duration: {e}"))?;
    let duration = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| format!("'{input}' is not a duration: use weeks or shorter units"))?;
    i64::try_from(duration.as_millis()).map_err(|_| format!("'{input}' is too long"))
}

/// `--expires-in`: a duration from now such as `30d` or `12h`, as a positive
/// number of milliseconds.
pub fn parse_expires_in(input: &str) -> Result<i64, String> {
    match parse_duration_ms(input)? {
        ms if ms > 0 => Ok(ms),
        _ => Err("the duration must be longer than zero".to_owned()),
    }
}

/// A time: RFC 3339 (`2027-01-31T12:00:00Z`), a date (`2027-01-31`,
/// midnight in the local time zone) or milliseconds since the Unix epoch.
pub fn parse_time(input: &str) -> Result<i64, String> {
    let input = input.trim();
    if let Ok(ms) = input.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(timestamp) = input.parse::<Timestamp>() {
        return Ok(timestamp.as_millisecond());
    }
    if let Ok(date) = input.parse::<Date>()
        && let Ok(zoned) = date.to_zoned(TimeZone::system())
    {
        return Ok(zoned.timestamp().as_millisecond());
    }
    Err(format!(
        "'{input}' is not a time: use RFC 3339 (2027-01-31T12:00:00Z), a date (2027-01-31) or epoch milliseconds"
    ))
}

/// Checks that `--url` names an HTTP server, such as `http://127.0.0.1:8080`.
pub fn parse_url(input: &str) -> Result<String, String> {
    let rest = input.strip_prefix("http://").or_else(|| input.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(input.to_owned()),
        _ => Err("expected a URL such as https://keys.example.com or http://127.0.0.1:8080".to_owned()),
    }
}

/// A duration for `--timeout`, such as `10s` or `500ms`.
pub fn parse_timeout(input: &str) -> Result<std::time::Duration, String> {
    let ms = parse_duration_ms(input)?;
    u64::try_from(ms)
        .ok()
        .filter(|&ms| ms > 0)
        .map(std::time::Duration::from_millis)
        .ok_or_else(|| "the timeout must be longer than zero".to_owned())
}

/// Parses a JSON object, such as `{"team":"billing"}`, for `--metadata`.
pub fn parse_metadata(input: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(input) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("expected a JSON object such as '{\"team\":\"billing\"}'".to_owned()),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

/// A secret from the first line of stdin, asking for `what` on a terminal.
pub fn read_stdin_line(what: &str) -> Result<String, String> {
    if io::stdin().is_terminal() {
        eprint!("{what}: ");
    }
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the {what} from stdin: {e}"))?;
    match line.trim() {
        "" => Err(format!("no {what} on stdin")),
        secret => Ok(secret.to_owned()),
    }
}

/// Turns a revision such as `3` into the `ETag` form `"3"`; an `ETag` given
/// as such (quoted, or weak with `W/`) is kept as it is.
pub fn parse_if_match(input: &str) -> Result<String, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("expected a revision such as 3 or an ETag such as '\"3\"'".to_owned());
    }
    if input.starts_with('"') || input.starts_with("W/") || input == "*" {
        Ok(input.to_owned())
    } else {
        Ok(format!("\"{input}\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_takes_a_unit_a_duration_or_milliseconds() {
        for (input, limit, window) in [
            ("100/60000", 100, 60_000),
            ("100/min", 100, 60_000),
            ("5/sec", 5, 1_000),
            ("10/30s", 10, 30_000),
            ("1000/day", 1000, 86_400_000),
            ("7/2h", 7, 7_200_000),
        ] {
            let parsed = parse_rate_limit(input).unwrap();
            assert_eq!((parsed.limit.get(), parsed.window_ms.get()), (limit, window), "{input}");
        }
        for bad in ["100", "0/min", "10/0", "a/b", "-1/5", "5000000000/1", "10/fortnight", "1/1mo"] {
            assert!(parse_rate_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_refill_takes_the_same_windows() {
        let refill = parse_refill("1000/day").unwrap();
        assert_eq!((refill.amount.get(), refill.interval_ms), (1000, 86_400_000));
        let refill = parse_refill("5/1000").unwrap();
        assert_eq!((refill.amount.get(), refill.interval_ms), (5, 1000));
        assert!(parse_refill("0/day").is_err());
    }

    #[test]
    fn a_time_is_rfc_3339_a_date_or_epoch_milliseconds() {
        assert_eq!(parse_time("2027-01-31T12:00:00Z").unwrap(), 1_801_396_800_000);
        assert_eq!(parse_time("2027-01-31T13:00:00+01:00").unwrap(), 1_801_396_800_000);
        assert_eq!(parse_time("1801396800000").unwrap(), 1_801_396_800_000);
        assert!(parse_time("2027-01-31").is_ok());
        let err = parse_time("next tuesday").unwrap_err();
        assert!(err.contains("RFC 3339"), "{err}");
    }

    #[test]
    fn expires_in_is_a_positive_duration() {
        assert_eq!(parse_expires_in("30d").unwrap(), 30 * 86_400_000);
        assert_eq!(parse_expires_in("12h").unwrap(), 12 * 3_600_000);
        assert_eq!(parse_expires_in("1w 2d").unwrap(), 9 * 86_400_000);
        assert!(parse_expires_in("0s").is_err());
        assert!(parse_expires_in("3 months").is_err(), "a month has no fixed length");
        assert!(parse_expires_in("soon").is_err());
    }

    fn scope(input: &str) -> (String, String, Vec<String>) {
        let scope = parse_scope(input).unwrap();
        (
            scope.resource.to_string(),
            scope.access.to_string(),
            scope.targets.iter().map(|t| t.to_string()).collect(),
        )
    }

    #[test]
    fn a_scope_without_targets_applies_to_all() {
        assert_eq!(scope("api_keys:read"), ("api_keys".into(), "read".into(), vec![]));
    }

    #[test]
    fn a_scope_takes_comma_separated_targets() {
        assert_eq!(
            scope("invoices:write:inv_1,inv_2"),
            ("invoices".into(), "write".into(), vec!["inv_1".into(), "inv_2".into()])
        );
    }

    #[test]
    fn a_resource_may_hold_colons() {
        assert_eq!(
            scope("billing:invoices:delete:a:b"),
            ("billing:invoices".into(), "delete".into(), vec!["a:b".into()])
        );
    }

    #[test]
    fn a_scope_without_an_access_is_refused() {
        let err = parse_scope("api_keys").unwrap_err();
        assert!(err.contains("resource:access"), "{err}");
        assert!(parse_scope("api_keys:admin").is_err());
        assert!(parse_scope("read").is_err());
    }

    #[test]
    fn a_scope_with_an_invalid_resource_is_refused() {
        let err = parse_scope("API_keys:read").unwrap_err();
        assert!(err.contains("the resource 'API_keys' is not valid"), "{err}");
        assert!(parse_scope(":read").is_err());
    }

    #[test]
    fn a_scope_with_an_empty_target_is_refused() {
        assert!(parse_scope("api_keys:read:").is_err());
        assert!(parse_scope("api_keys:read:a,,b").is_err());
    }

    #[test]
    fn a_verified_scope_names_at_most_one_target() {
        let check = parse_scope_check("invoices:read:inv_1").unwrap();
        assert_eq!((check.resource.as_str(), check.access.to_string().as_str()), ("invoices", "read"));
        assert_eq!(check.target.as_deref().map(|t| t.as_str()), Some("inv_1"));
        assert!(parse_scope_check("invoices:read").unwrap().target.is_none());
        assert!(parse_scope_check("invoices:read:a,b").is_err());
    }

    #[test]
    fn url_must_be_http_with_a_host() {
        assert!(parse_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_url("https://keys.example.com/").is_ok());
        assert!(parse_url("127.0.0.1:8080").is_err());
        assert!(parse_url("http://").is_err());
        assert!(parse_url("ftp://example.com").is_err());
    }

    #[test]
    fn a_timeout_is_a_duration() {
        assert_eq!(parse_timeout("500ms").unwrap(), std::time::Duration::from_millis(500));
        assert_eq!(parse_timeout("10s").unwrap(), std::time::Duration::from_secs(10));
        assert!(parse_timeout("0s").is_err());
    }

    #[test]
    fn metadata_must_be_a_json_object() {
        let map = parse_metadata(r#"{"team":"billing","tier":2}"#).unwrap();
        assert_eq!(map["tier"], 2);
        assert!(parse_metadata("[1,2]").is_err());
        assert!(parse_metadata("{team").is_err());
    }

    #[test]
    fn if_match_quotes_a_bare_revision() {
        assert_eq!(parse_if_match("3").unwrap(), "\"3\"");
        assert_eq!(parse_if_match("\"3\"").unwrap(), "\"3\"");
        assert_eq!(parse_if_match("W/\"3\"").unwrap(), "W/\"3\"");
        assert!(parse_if_match(" ").is_err());
    }
}
