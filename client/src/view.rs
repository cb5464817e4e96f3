//! How each of the API's resources reads as a table for people: keys, verdicts, organizations, health.

use keyward::types::{ApiKey, ApiKeyStatus, Credits, Health, Organization, RateLimit, Scope, VerifyResponse};

use crate::output::{fields, table};
use crate::when::{local_time, local_time_short, now, relative, window};

/// `keys list`: one key a row, newest first.
pub fn key_rows(keys: &[ApiKey]) -> String {
    let now = now();
    if keys.is_empty() {
        return "No API keys.\n".to_owned();
    }
    table(
        ["ID", "NAME", "STATUS", "KEY", "EXPIRES", "LAST USED"],
        keys.iter().map(|key| {
            [
                key.id.to_string(),
                key.name.clone(),
                status(key, now).to_owned(),
                short_mask(&key.masked_key),
                key.expires_at.map_or_else(|| "never".to_owned(), |at| local_time_short(at, now)),
                key.last_used_at.map_or_else(|| "never".to_owned(), |at| local_time_short(at, now)),
            ]
        }),
    )
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
        rows.push(("Metadata", serde_json::to_string(&key.metadata).expect("JSON serializes")));
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
