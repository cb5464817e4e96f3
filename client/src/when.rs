//! Shows times and durations to people: local time with "in 3 days" or "2 hours ago", and windows as `min` or `30s`.

use jiff::{Timestamp, tz::TimeZone};

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// `2026-12-10 14:03 CET (in 3 days)`: epoch milliseconds `at` in the local
/// time zone, and how far it is from `now`.
pub fn local_time(at: i64, now: i64) -> String {
    local(at, now, "%Y-%m-%d %H:%M %Z")
}

/// `2026-12-10 14:03 (in 3 days)`: as [`local_time`] without the zone, for a table's cell.
pub fn local_time_short(at: i64, now: i64) -> String {
    local(at, now, "%Y-%m-%d %H:%M")
}

fn local(at: i64, now: i64, format: &str) -> String {
    match Timestamp::from_millisecond(at) {
        Ok(timestamp) => {
            let local = timestamp.to_zoned(TimeZone::system()).strftime(format);
            format!("{local} ({})", relative(at, now))
        }
        Err(_) => at.to_string(),
    }
}

/// "just now", "in 3 days", "2 hours ago": the distance from `now` to `at`
/// in the largest unit it holds once, rounded.
pub fn relative(at: i64, now: i64) -> String {
    let distance = at.saturating_sub(now);
    let magnitude = distance.saturating_abs();
    if magnitude < 45 * SECOND {
        return "just now".to_owned();
    }
    let (size, unit) = match magnitude {
        m if m < HOUR => (MINUTE, "minute"),
        m if m < DAY => (HOUR, "hour"),
        m if m < 60 * DAY => (DAY, "day"),
        m if m < 365 * DAY => (30 * DAY, "month"),
        _ => (365 * DAY, "year"),
    };
    // Rounded, so that a key made to expire in 30 days reads "in 30 days" a moment later.
    let count = ((magnitude + size / 2) / size).max(1);
    let plural = if count == 1 { "" } else { "s" };
    if distance > 0 { format!("in {count} {unit}{plural}") } else { format!("{count} {unit}{plural} ago") }
}

/// A window in the CLI's own syntax: `sec`, `min`, `hour`, `day`, or a
/// duration such as `30s` or `90m`, else milliseconds (`1500ms`).
pub fn window(ms: i64) -> String {
    match ms {
        SECOND => "sec".to_owned(),
        MINUTE => "min".to_owned(),
        HOUR => "hour".to_owned(),
        DAY => "day".to_owned(),
        ms if ms > 0 && ms % DAY == 0 => format!("{}d", ms / DAY),
        ms if ms > 0 && ms % HOUR == 0 => format!("{}h", ms / HOUR),
        ms if ms > 0 && ms % MINUTE == 0 => format!("{}m", ms / MINUTE),
        ms if ms > 0 && ms % SECOND == 0 => format!("{}s", ms / SECOND),
        ms => format!("{ms}ms"),
    }
}

/// The time now, in epoch milliseconds.
pub fn now() -> i64 {
    Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_in_their_largest_whole_unit() {
        let now = 1_800_000_000_000;
        assert_eq!(relative(now + 10 * SECOND, now), "just now");
        assert_eq!(relative(now + 3 * DAY + HOUR, now), "in 3 days");
        assert_eq!(relative(now - 2 * HOUR - 5 * MINUTE, now), "2 hours ago");
        assert_eq!(relative(now + 30 * DAY - 5 * SECOND, now), "in 30 days");
        assert_eq!(relative(now - MINUTE, now), "1 minute ago");
        assert_eq!(relative(now + 90 * DAY, now), "in 3 months");
        assert_eq!(relative(now - 800 * DAY, now), "2 years ago");
    }

    #[test]
    fn a_local_time_shows_the_date_and_the_distance() {
        let now = 1_800_000_000_000;
        let shown = local_time(now + 3 * DAY, now);
        assert!(shown.ends_with(" (in 3 days)"), "{shown}");
        assert!(shown.starts_with("2027-01-"), "{shown}");
    }

    #[test]
    fn windows_read_as_the_cli_takes_them() {
        assert_eq!(window(60_000), "min");
        assert_eq!(window(30_000), "30s");
        assert_eq!(window(7_200_000), "2h");
        assert_eq!(window(86_400_000), "day");
        assert_eq!(window(1_500), "1500ms");
    }
}
