//! Calendar arithmetic and the timestamp spellings the real producers use.

use super::json::{push_i64, push_padded};

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
}

/// Splits Unix seconds into a UTC calendar date and time (proleptic Gregorian,
/// Howard Hinnant's `civil_from_days`).
pub(crate) fn civil(unix: i64) -> Civil {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    Civil {
        year: if m <= 2 { y + 1 } else { y },
        month: m,
        day: d,
        hour: secs / 3600,
        min: secs / 60 % 60,
        sec: secs % 60,
    }
}

/// Unix seconds of a UTC calendar date at midnight (Hinnant's `days_from_civil`).
#[cfg(test)]
pub(crate) fn unix_from_date(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400
}

fn push_date_time(b: &mut Vec<u8>, c: &Civil, sep: u8) {
    push_padded(b, c.year as u64, 4);
    b.push(b'-');
    push_padded(b, c.month as u64, 2);
    b.push(b'-');
    push_padded(b, c.day as u64, 2);
    b.push(sep);
    push_padded(b, c.hour as u64, 2);
    b.push(b':');
    push_padded(b, c.min as u64, 2);
    b.push(b':');
    push_padded(b, c.sec as u64, 2);
}

/// `2024-05-01T12:00:00Z` (CloudTrail's `eventTime`).
pub(crate) fn push_rfc3339(b: &mut Vec<u8>, unix: i64) {
    push_date_time(b, &civil(unix), b'T');
    b.push(b'Z');
}

/// `2024-05-01T12:00:00.123456Z` (Kubernetes audit timestamps).
pub(crate) fn push_rfc3339_micros(b: &mut Vec<u8>, unix_us: i64) {
    push_date_time(b, &civil(unix_us.div_euclid(1_000_000)), b'T');
    b.push(b'.');
    push_padded(b, unix_us.rem_euclid(1_000_000) as u64, 6);
    b.push(b'Z');
}

/// `2024-05-01T12:00:00.123456789Z` (Falco's `time`).
pub(crate) fn push_rfc3339_nanos(b: &mut Vec<u8>, unix_ns: i64) {
    push_date_time(b, &civil(unix_ns.div_euclid(1_000_000_000)), b'T');
    b.push(b'.');
    push_padded(b, unix_ns.rem_euclid(1_000_000_000) as u64, 9);
    b.push(b'Z');
}

/// `12:00:00.123456789` (the time prefix of Falco's `output`).
pub(crate) fn push_clock_nanos(b: &mut Vec<u8>, unix_ns: i64) {
    let c = civil(unix_ns.div_euclid(1_000_000_000));
    push_padded(b, c.hour as u64, 2);
    b.push(b':');
    push_padded(b, c.min as u64, 2);
    b.push(b':');
    push_padded(b, c.sec as u64, 2);
    b.push(b'.');
    push_padded(b, unix_ns.rem_euclid(1_000_000_000) as u64, 9);
}

/// `20240501T1205Z` (CloudTrail and flow log S3 object names).
pub(crate) fn compact_minute(unix: i64) -> String {
    let c = civil(unix);
    let mut b = Vec::with_capacity(14);
    push_padded(&mut b, c.year as u64, 4);
    push_padded(&mut b, c.month as u64, 2);
    push_padded(&mut b, c.day as u64, 2);
    b.push(b'T');
    push_padded(&mut b, c.hour as u64, 2);
    push_padded(&mut b, c.min as u64, 2);
    b.push(b'Z');
    String::from_utf8_lossy(&b).into_owned()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `May 1, 2024, 1:00:00 PM` (STS credential `expiration`) when `comma` is true,
/// `May 1, 2024 1:00:00 PM` (IAM `createDate`) otherwise.
pub(crate) fn push_aws_human(b: &mut Vec<u8>, unix: i64, comma: bool) {
    let c = civil(unix);
    b.extend_from_slice(MONTHS[(c.month - 1) as usize].as_bytes());
    b.push(b' ');
    push_i64(b, c.day as i64);
    b.extend_from_slice(b", ");
    push_i64(b, c.year);
    if comma {
        b.push(b',');
    }
    b.push(b' ');
    let h12 = match c.hour % 12 {
        0 => 12,
        h => h,
    };
    push_i64(b, h12 as i64);
    b.push(b':');
    push_padded(b, c.min as u64, 2);
    b.push(b':');
    push_padded(b, c.sec as u64, 2);
    b.extend_from_slice(if c.hour < 12 { b" AM" } else { b" PM" });
}

/// Caches the RFC 3339 spelling of the last second formatted: consecutive events
/// usually fall in the same second.
#[derive(Debug, Clone)]
pub(crate) struct SecondCache {
    unix: i64,
    text: Vec<u8>,
}

impl SecondCache {
    /// An empty cache.
    pub fn new() -> Self {
        SecondCache {
            unix: i64::MIN,
            text: Vec::with_capacity(20),
        }
    }

    /// The `2024-05-01T12:00:00Z` spelling of `unix`.
    pub fn get(&mut self, unix: i64) -> &[u8] {
        if unix != self.unix {
            self.text.clear();
            push_rfc3339(&mut self.text, unix);
            self.unix = unix;
        }
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut b = Vec::new();
        f(&mut b);
        String::from_utf8(b).expect("ascii")
    }

    #[test]
    fn formats_known_instants() {
        let t = unix_from_date(2024, 5, 1);
        assert_eq!(t, 1_714_521_600);
        assert_eq!(
            s(|b| push_rfc3339(b, t + 13 * 3600 + 5)),
            "2024-05-01T13:00:05Z"
        );
        assert_eq!(
            s(|b| push_rfc3339_micros(b, (t + 59) * 1_000_000 + 42)),
            "2024-05-01T00:00:59.000042Z"
        );
        assert_eq!(
            s(|b| push_rfc3339_nanos(b, t * 1_000_000_000 + 123_456_789)),
            "2024-05-01T00:00:00.123456789Z"
        );
        assert_eq!(
            s(|b| push_aws_human(b, t + 13 * 3600, true)),
            "May 1, 2024, 1:00:00 PM"
        );
        assert_eq!(
            s(|b| push_aws_human(b, t, false)),
            "May 1, 2024 12:00:00 AM"
        );
        assert_eq!(compact_minute(t + 305), "20240501T0005Z");
        assert_eq!(civil(unix_from_date(2000, 2, 29)).day, 29);
        assert_eq!(civil(unix_from_date(1969, 12, 31) + 86_399).hour, 23);
    }
}
