//! `expires:` in the authoring format: a date, a timestamp or a duration.

use intact_model::Expires;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

/// Parse an expiry as layout authors write it:
///
/// * `2030-01-01` (midnight UTC),
/// * `2030-01-01T12:00:00Z` or any RFC 3339 timestamp (converted to UTC,
///   fractions of a second dropped),
/// * a duration from `now`: a whole number followed by `d` (days), `w`
///   (weeks) or `y` (years of 365 days), e.g. `90d`, `12w`, `1y`.
///
/// ```
/// use intact_layout::parse_expires;
/// use time::macros::datetime;
///
/// let now = datetime!(2025-01-01 12:00 UTC);
/// assert_eq!(parse_expires("2030-01-01", now).unwrap().as_str(), "2030-01-01T00:00:00Z");
/// assert_eq!(parse_expires("90d", now).unwrap().as_str(), "2025-04-01T12:00:00Z");
/// assert!(parse_expires("90 days", now).is_err());
/// ```
pub fn parse_expires(text: &str, now: OffsetDateTime) -> Result<Expires, String> {
    let text = text.trim();
    if let Some(duration) = parse_duration(text)? {
        let at = now
            .checked_add(duration)
            .ok_or_else(|| format!("expiry {text:?} is too far in the future"))?;
        return Expires::from_datetime(at);
    }
    if let Ok(e) = Expires::parse(text) {
        return Ok(e);
    }
    if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return Expires::from_datetime(date.midnight().assume_utc());
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Expires::from_datetime(at);
    }
    Err(format!(
        "expiry {text:?} is neither a date (2030-01-01), a timestamp (2030-01-01T00:00:00Z) nor a duration (90d, 12w, 1y)"
    ))
}

/// `Ok(None)` when `text` does not look like a duration at all.
fn parse_duration(text: &str) -> Result<Option<Duration>, String> {
    let Some(unit) = text.chars().last() else {
        return Ok(None);
    };
    let digits = text.strip_suffix(unit).unwrap_or_default();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let days_per_unit = match unit {
        'd' => 1,
        'w' => 7,
        'y' => 365,
        _ => return Ok(None),
    };
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("duration {text:?} is too large"))?;
    let days = n
        .checked_mul(days_per_unit)
        .filter(|d| *d <= 365 * 1000)
        .ok_or_else(|| format!("duration {text:?} is too large"))?;
    Ok(Some(Duration::days(days)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn accepts_dates_timestamps_and_durations() {
        let now = datetime!(2024-02-29 23:59:59.7 UTC);
        for (input, out) in [
            ("2030-01-01", "2030-01-01T00:00:00Z"),
            ("2030-01-01T01:02:03Z", "2030-01-01T01:02:03Z"),
            ("2030-01-01T01:02:03.9+02:00", "2029-12-31T23:02:03Z"),
            ("1d", "2024-03-01T23:59:59Z"),
            ("2w", "2024-03-14T23:59:59Z"),
            ("1y", "2025-02-28T23:59:59Z"),
            ("0d", "2024-02-29T23:59:59Z"),
            (" 30d ", "2024-03-30T23:59:59Z"),
        ] {
            assert_eq!(parse_expires(input, now).unwrap().as_str(), out, "{input}");
        }
        for bad in [
            "",
            "d",
            "3m",
            "-1d",
            "1.5d",
            "2030-02-30",
            "tomorrow",
            "99999999999999999999d",
            "5000y",
        ] {
            assert!(parse_expires(bad, now).is_err(), "{bad:?}");
        }
    }
}
