//! Parses the argument values that need more than `FromStr`: URL, scopes, metadata, `If-Match`.

use keyward::types::{Scope, ScopeAccess, ScopeResource, ScopeTargetsItem};
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

/// Checks that `--url` names an HTTP server, such as `http://127.0.0.1:8080`.
/// `LIMIT/WINDOW_MS`, such as `100/60000`.
pub fn parse_rate_limit(input: &str) -> Result<keyward::types::RateLimit, String> {
    let (limit, window) = split_pair(input, "LIMIT/WINDOW_MS")?;
    Ok(keyward::types::RateLimit {
        limit: limit.try_into().map_err(|_| "LIMIT is at most 4294967295")?,
        window_ms: window,
    })
}

/// `AMOUNT/INTERVAL_MS`, such as `1000/86400000`.
pub fn parse_refill(input: &str) -> Result<keyward::types::CreditsRefill, String> {
    let (amount, interval) = split_pair(input, "AMOUNT/INTERVAL_MS")?;
    let interval_ms = i64::try_from(interval.get()).map_err(|_| "INTERVAL_MS is too large")?;
    Ok(keyward::types::CreditsRefill { amount, interval_ms })
}

/// Two positive whole numbers separated by `/`.
fn split_pair(input: &str, shape: &str) -> Result<(std::num::NonZeroU64, std::num::NonZeroU64), String> {
    let parse = |s: &str| {
        s.trim()
            .parse::<std::num::NonZeroU64>()
            .map_err(|_| format!("expected {shape}, two positive numbers"))
    };
    let (a, b) = input.split_once('/').ok_or_else(|| format!("expected {shape}"))?;
    Ok((parse(a)?, parse(b)?))
}

pub fn parse_url(input: &str) -> Result<String, String> {
    let rest = input.strip_prefix("http://").or_else(|| input.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(input.to_owned()),
        _ => Err("expected a URL such as http://127.0.0.1:8080".to_owned()),
    }
}

/// Parses a JSON object, such as `{"team":"billing"}`, for `--metadata`.
pub fn parse_metadata(input: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(input) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("expected a JSON object such as '{\"team\":\"billing\"}'".to_owned()),
        Err(e) => Err(format!("not valid JSON: {e}")),
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
    fn limits_are_two_positive_numbers_around_a_slash() {
        let limit = parse_rate_limit("100/60000").unwrap();
        assert_eq!((limit.limit.get(), limit.window_ms.get()), (100, 60_000));
        let refill = parse_refill("5/1000").unwrap();
        assert_eq!((refill.amount.get(), refill.interval_ms), (5, 1000));
        for bad in ["100", "0/10", "10/0", "a/b", "-1/5", "5000000000/1"] {
            assert!(parse_rate_limit(bad).is_err(), "{bad}");
        }
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
    fn url_must_be_http_with_a_host() {
        assert!(parse_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_url("https://keys.example.com/").is_ok());
        assert!(parse_url("127.0.0.1:8080").is_err());
        assert!(parse_url("http://").is_err());
        assert!(parse_url("ftp://example.com").is_err());
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
