//! Suppression: repeats of a rule's finding for the same field values within a window
//! are folded into the first one, which carries the count in `suppressed`.
//!
//! The surviving finding is held until its window closes (the newest event time passes
//! the window's end) or the input ends, so that it reports the final count.

use std::collections::HashMap;

use crate::finding::Finding;

/// A rule id and the values of its suppression fields.
type Key = (String, Vec<Option<String>>);

/// Suppression state of all rules: per key, the surviving finding and its window end.
#[derive(Default)]
pub struct Suppressor {
    held: HashMap<Key, (Finding, i64)>,
}

impl Suppressor {
    /// Offers a finding to suppression under `key` with a window of `window_secs`.
    /// Returns the finding to emit now, if any (a previous survivor whose window closed).
    pub fn offer(
        &mut self,
        f: Finding,
        key: Vec<Option<String>>,
        window_secs: u64,
    ) -> Option<Finding> {
        let k = (f.rule_id.clone(), key);
        match self.held.get_mut(&k) {
            Some((survivor, end)) if f.time_us <= *end => {
                survivor.suppressed += 1 + f.suppressed;
                None
            }
            _ => {
                let end = f
                    .time_us
                    .saturating_add((window_secs as i64).saturating_mul(1_000_000));
                self.held.insert(k, (f, end)).map(|(old, _)| old)
            }
        }
    }

    /// Survivors whose window ended before `now_us`.
    pub fn sweep(&mut self, now_us: i64) -> Vec<Finding> {
        let due: Vec<_> = self
            .held
            .iter()
            .filter(|(_, (_, end))| *end < now_us)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out: Vec<Finding> = due
            .into_iter()
            .filter_map(|k| self.held.remove(&k).map(|(f, _)| f))
            .collect();
        out.sort_by(|a, b| (a.time_us, &a.finding_id).cmp(&(b.time_us, &b.finding_id)));
        out
    }

    /// Every held survivor (end of input).
    pub fn finish(&mut self) -> Vec<Finding> {
        self.sweep(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(t: i64) -> Finding {
        Finding {
            finding_id: format!("f{t}"),
            rule_id: "r".into(),
            rule_title: "t".into(),
            level: crate::rule::Level::High,
            tags: vec![],
            time: String::new(),
            time_us: t,
            source: "cloudtrail".into(),
            event_ids: vec![],
            group: None,
            window: None,
            correlation_type: None,
            value: None,
            suppressed: 0,
            author: None,
        }
    }

    #[test]
    fn folds_repeats_into_the_first() {
        let mut s = Suppressor::default();
        let k = vec![Some("alice".to_string())];
        assert!(s.offer(f(0), k.clone(), 60).is_none());
        assert!(s.offer(f(10_000_000), k.clone(), 60).is_none());
        assert!(s.offer(f(30_000_000), k.clone(), 60).is_none());
        // Outside the window: the survivor is released with its count.
        let out = s.offer(f(120_000_000), k.clone(), 60).unwrap();
        assert_eq!((out.finding_id.as_str(), out.suppressed), ("f0", 2));
        let rest = s.finish();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].suppressed, 0);
    }
}
