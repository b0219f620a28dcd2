//! Timestamp parsing shared by the parsers.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Parses an RFC 3339 / ISO 8601 timestamp into microseconds since the epoch (UTC).
/// Accepts `Z` or numeric offsets, any number of fraction digits (nanoseconds are
/// truncated to microseconds), and, as CloudTrail and Kubernetes never omit it but hand
/// written test data sometimes does, a missing offset meaning UTC.
pub fn parse_micros(s: &str) -> Option<i64> {
    if let Some(us) = parse_utc_seconds(s.as_bytes()) {
        return Some(us);
    }
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

/// The form CloudTrail writes, `YYYY-MM-DDTHH:MM:SSZ`, read directly (the general parser
/// is several times slower and this is on every event's path); `None` for anything else,
/// including a leap second, which the general parser then handles.
fn parse_utc_seconds(b: &[u8]) -> Option<i64> {
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let t = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, mo, d)?.and_hms_opt(h, mi, sec)?;
    Some(t.and_utc().timestamp_micros())
}

/// Seconds since the epoch to microseconds, or `None` on overflow.
pub fn secs_to_micros(secs: i64) -> Option<i64> {
    secs.checked_mul(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The direct reading of `YYYY-MM-DDTHH:MM:SSZ` agrees with the general RFC 3339
        /// parser on every such string, valid dates or not.
        #[test]
        fn fast_path_agrees_with_chrono(
            y in 0u32..10000, mo in 0u32..14, d in 0u32..33,
            h in 0u32..26, mi in 0u32..62, sec in 0u32..62,
        ) {
            let s = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{sec:02}Z");
            let general = DateTime::parse_from_rfc3339(&s).ok().map(|t| t.timestamp_micros());
            match parse_utc_seconds(s.as_bytes()) {
                Some(us) => prop_assert_eq!(Some(us), general, "{}", s),
                // Only leap seconds (and invalid strings) go to the general parser.
                None => prop_assert!(general.is_none() || sec == 60, "{}", s),
            }
            prop_assert_eq!(parse_micros(&s), general, "{}", s);
        }
    }

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
