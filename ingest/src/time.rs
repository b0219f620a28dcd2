//! Timestamp parsing shared by the parsers.

use chrono::{DateTime, NaiveDateTime};

/// Parses an RFC 3339 / ISO 8601 timestamp into microseconds since the epoch (UTC).
/// Accepts `Z` or numeric offsets, any number of fraction digits (nanoseconds are
/// truncated to microseconds), and, as CloudTrail and Kubernetes never omit it but hand
/// written test data sometimes does, a missing offset meaning UTC.
pub fn parse_micros(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    None
}

/// Seconds since the epoch to microseconds, or `None` on overflow.
pub fn secs_to_micros(secs: i64) -> Option<i64> {
    secs.checked_mul(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_sources_write() {
        assert_eq!(
            parse_micros("2023-07-10T11:42:36Z"),
            Some(1_688_989_356_000_000)
        );
        assert_eq!(
            parse_micros("2018-10-25T13:58:49.730588Z"),
            Some(1_540_475_929_730_588)
        );
        assert_eq!(
            parse_micros("2025-02-10T09:15:40.698757000Z"),
            Some(1_739_178_940_698_757)
        );
        assert_eq!(
            parse_micros("2023-07-10T13:42:36+02:00"),
            Some(1_688_989_356_000_000)
        );
        assert_eq!(
            parse_micros("2023-07-10T11:42:36"),
            Some(1_688_989_356_000_000)
        );
        assert_eq!(parse_micros("yesterday"), None);
    }
}
