//! RFC 3339 timestamps, fixable with `SOURCE_DATE_EPOCH` for reproducible
//! output.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::AttestError;

/// The clock attestations are stamped with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system time.
    System,
    /// A fixed time, seconds since the Unix epoch.
    Fixed(i64),
}

impl Clock {
    /// `Fixed` from `SOURCE_DATE_EPOCH` when it is set, else `System`;
    /// a value that is not a whole number of seconds is an error.
    pub fn from_env() -> Result<Self, AttestError> {
        Self::from_source_date_epoch(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())
    }

    /// As [`Clock::from_env`], from the variable's value.
    pub fn from_source_date_epoch(value: Option<&str>) -> Result<Self, AttestError> {
        match value {
            None | Some("") => Ok(Clock::System),
            Some(v) => v.trim().parse::<i64>().map(Clock::Fixed).map_err(|_| {
                AttestError::Time(format!(
                    "SOURCE_DATE_EPOCH={v:?} is not a number of seconds"
                ))
            }),
        }
    }

    /// Now, by this clock, in RFC 3339 (UTC, `Z`).
    pub fn now(&self) -> Result<String, AttestError> {
        match self {
            Clock::System => format(OffsetDateTime::now_utc()),
            Clock::Fixed(secs) => format(
                OffsetDateTime::from_unix_timestamp(*secs)
                    .map_err(|e| AttestError::Time(e.to_string()))?,
            ),
        }
    }
}

/// RFC 3339 in UTC with a `Z`, whole seconds.
pub fn format(t: OffsetDateTime) -> Result<String, AttestError> {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|e| AttestError::Time(e.to_string()))?;
    t.format(&Rfc3339)
        .map_err(|e| AttestError::Time(e.to_string()))
}

/// Parse an RFC 3339 timestamp.
pub fn parse(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_fixes_the_time() {
        let c = Clock::from_source_date_epoch(Some("1700000000")).unwrap();
        assert_eq!(c.now().unwrap(), "2023-11-14T22:13:20Z");
        assert!(Clock::from_source_date_epoch(Some("soon")).is_err());
        assert_eq!(Clock::from_source_date_epoch(None).unwrap(), Clock::System);
        assert!(parse("2023-11-14T22:13:20Z").is_ok());
        assert!(parse("2023-11-14 22:13:20").is_err());
    }
}
