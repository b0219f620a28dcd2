//! Findings: what detection reports.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::rule::{CorrelationType, Level};

/// A detection result, one JSON object per line on `vigil detect`'s stdout.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    /// Deterministic: the same rule on the same events gives the same id, so replays and
    /// duplicate deliveries dedupe.
    pub finding_id: String,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// The rule's level.
    pub level: Level,
    /// The rule's tags (ATT&CK).
    pub tags: Vec<String>,
    /// Event time of the (last) event, RFC 3339 UTC.
    pub time: String,
    /// `time` in microseconds since the epoch.
    #[serde(skip)]
    pub time_us: i64,
    /// The source type of the events (`cloudtrail`, ...), or `correlation`.
    pub source: String,
    /// Ids of the events behind the finding (CloudTrail `eventID`, Kubernetes
    /// `auditID:stage`, Falco `uuid`, content hashes otherwise).
    pub event_ids: Vec<String>,
    /// Correlations: the group-by field -> value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<BTreeMap<String, Option<String>>>,
    /// Correlations: the first and last event time of the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Correlations: the type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_type: Option<CorrelationType>,
    /// Correlations: the aggregated value the condition compared (count, sum, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Repeats of this finding suppressed into it (rule suppression settings).
    pub suppressed: u64,
    /// The rule's author (the Detection Rule License asks matches to credit it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

impl Finding {
    /// A finding of the rule described by `meta` at `time_us` over `event_ids`: the rule's
    /// id, title, level, tags and author, nothing suppressed yet, no correlation fields
    /// (correlations set `group`, `window`, `correlation_type` and `value`).
    pub fn of_rule(
        meta: &crate::rule::Meta,
        finding_id: String,
        time_us: i64,
        source: String,
        event_ids: Vec<String>,
    ) -> Self {
        Finding {
            finding_id,
            rule_id: meta.id.0.clone(),
            rule_title: meta.title.clone(),
            level: meta.level,
            tags: meta.tags.clone(),
            time: rfc3339(time_us),
            time_us,
            source,
            event_ids,
            group: None,
            window: None,
            correlation_type: None,
            value: None,
            suppressed: 0,
            author: meta.author.clone(),
        }
    }
}

/// A correlation's time window.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Window {
    /// First event time, RFC 3339 UTC.
    pub start: String,
    /// Last event time, RFC 3339 UTC.
    pub end: String,
}

/// The civil date `(year, month, day)` of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm, proleptic Gregorian).
pub(crate) fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Microseconds since the epoch as RFC 3339 UTC (`2024-05-01T12:00:00.123456Z`, the
/// fraction only when non-zero).
pub fn rfc3339(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if micros == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{micros:06}Z")
    }
}

/// The deterministic id of a finding of `rule_id` over `event_ids` (in the given order)
/// with an optional discriminator (a correlation's group and window).
pub fn finding_id(rule_id: &str, event_ids: &[String], extra: &str) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(rule_id.as_bytes());
    for id in event_ids {
        h.update(&[0]);
        h.update(id.as_bytes());
    }
    h.update(&[1]);
    h.update(extra.as_bytes());
    format!("{:032x}", h.digest128())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(rfc3339(1_688_989_356_000_000), "2023-07-10T11:42:36Z");
        assert_eq!(
            rfc3339(1_540_475_929_730_588),
            "2018-10-25T13:58:49.730588Z"
        );
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let a = finding_id("r", &["e1".into()], "");
        assert_eq!(a, finding_id("r", &["e1".into()], ""));
        assert_ne!(a, finding_id("r", &["e2".into()], ""));
        assert_ne!(a, finding_id("q", &["e1".into()], ""));
        assert_eq!(a.len(), 32);
    }
}
