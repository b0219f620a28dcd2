//! Sigma correlation rules over hits, in event time.
//!
//! Hits of the rules a correlation references wait in a reorder buffer and are processed
//! in event-time order once the *watermark* (newest event time seen minus the allowed
//! lateness) has passed them, so out-of-order arrival within the allowed lateness does
//! not change results. A hit older than a hit already processed is *late* (processing it
//! would break event-time order): it is counted and reported (and the rule's own finding
//! still emitted), never silently used or lost.
//!
//! Windows, per group (the `group-by` values); `sliding` decides which kind a rule gets:
//! - Sliding: each new event is evaluated with the events of the last `timespan`
//!   (inclusive). For `event_count`, `value_count`, `value_sum` with `gt`/`gte` and
//!   `temporal`, `temporal_ordered` with `gt`/`gte` (or none), when the condition holds a
//!   finding is emitted with those events and the group starts afresh (one finding per
//!   episode, not one per further event). `value_avg` and `value_percentile` always
//!   slide; their value moves both ways, so the window is kept and a finding is raised
//!   each time the condition starts to hold.
//! - `value_percentile` on a value that is not a number (the specification's example
//!   aggregates a process image name): the share, in percent, of the window's events
//!   that have the new event's value; a finding names the value and its event.
//! - Fixed: conditions that can only be decided once a window is complete (`lt`, `lte`,
//!   `eq`, `neq` and bounds combining them with others) use windows that open at a
//!   group's first event and close `timespan` later; they are evaluated when the
//!   watermark passes the close, or at the end of input. On sliding windows `lt` and
//!   `neq` would hold at every group's first event, and `eq` would be `gte`.
//! - `first_seen` (a Vigil extension): an event whose group values were not seen within
//!   the last `timespan` is reported, after a `baseline` spent learning.
//! - `temporal` without a condition needs every referenced rule in the window (the
//!   specification: "all events defined by the rules ... must occur"); with one, the
//!   number of distinct rules that fired is compared. `temporal_ordered` also needs them
//!   in the given order: events of the rules, one per rule in the order the rules are
//!   listed, at non-decreasing times. Events at the same time count as in order
//!   whichever was processed first (CloudTrail times have one-second resolution, so a
//!   scripted sequence often shares one), so the result depends neither on arrival nor
//!   on rule load order; an event strictly earlier than the previous step's does not
//!   count. With a condition, the length of the longest such prefix of the rules is
//!   compared.
//!
//! State is bounded: at most `max_groups` groups per correlation (the least recently
//! active are evicted) and `max_entries` events per group (the oldest are dropped);
//! both are counted and logged (drops: the first ten, then at every power of two, each
//! line with the running total, so a flood cannot flood the log).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use crate::compile::{Compiled, CorrInput, CorrelationPlan};
use crate::finding::{Finding, Window, finding_id, rfc3339};
use crate::rule::{CmpOp, CorrelationType};

/// Settings of the correlation stage.
#[derive(Debug, Clone)]
pub struct CorrelationConfig {
    /// Hits older than the newest event time minus this are late (counted and reported,
    /// not correlated). `None`: no limit (whole inputs are ordered; for batch runs).
    pub allowed_lateness_secs: Option<u64>,
    /// Hits held for reordering before the oldest are processed regardless.
    pub max_buffered: usize,
    /// Groups kept per correlation rule.
    pub max_groups: usize,
    /// Events kept per group.
    pub max_entries: usize,
    /// Event ids listed in one correlation finding (the count is still exact).
    pub max_event_ids: usize,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        Self {
            allowed_lateness_secs: Some(300),
            max_buffered: 1_000_000,
            max_groups: 100_000,
            max_entries: 10_000,
            max_event_ids: 1_000,
        }
    }
}

/// Counters of the correlation stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CorrelationStats {
    /// Hits that arrived after their time was processed.
    pub late_events: u64,
    /// Groups evicted at the group cap.
    pub evicted_groups: u64,
    /// Events dropped at the per-group cap.
    pub dropped_entries: u64,
    /// Idle groups let go: nothing in their window any more (not counted as evictions).
    pub expired_groups: u64,
    /// Correlation findings reported.
    pub findings: u64,
    /// Findings of correlations that only feed other correlations (not reported).
    pub internal_findings: u64,
}

/// A hit waiting for its turn.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    time_us: i64,
    seq: u64,
    corr: usize,
    input: usize,
    group: Vec<Option<String>>,
    values: Vec<Option<String>>,
    event_ids: Vec<String>,
}

impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.time_us, self.seq).cmp(&(o.time_us, o.seq))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

#[derive(Debug, Clone)]
struct Entry {
    time_us: i64,
    input: usize,
    value: Option<String>,
    event_ids: Vec<String>,
}

#[derive(Debug, Default)]
struct Group {
    entries: VecDeque<Entry>,
    /// Fixed windows: when the open window started (`None`: none open; always `None` for
    /// sliding correlations and `first_seen`).
    window_start: Option<i64>,
    last_seen: i64,
    /// Sliding-window aggregates, kept in step with `entries`.
    agg: Agg,
    /// `value_avg`, `value_percentile`: the condition held at the group's last event (a
    /// finding is raised when it starts to hold, not again while it keeps holding).
    holding: bool,
}

/// Running aggregates of a sliding window, so that each event costs O(1) rather than a
/// pass over the window.
#[derive(Debug, Default)]
struct Agg {
    distinct: HashMap<String, u32>,
    /// Entries with a value.
    valued: u32,
    sum: f64,
    /// Entries whose value is a number (those `sum` adds up).
    numbers: u32,
    per_input: Vec<u32>,
}

impl Agg {
    fn add(&mut self, e: &Entry) {
        if let Some(v) = &e.value {
            *self.distinct.entry(v.clone()).or_default() += 1;
            self.valued += 1;
            if let Ok(x) = v.trim().parse::<f64>() {
                self.sum += x;
                self.numbers += 1;
            }
        }
        if self.per_input.len() <= e.input {
            self.per_input.resize(e.input + 1, 0);
        }
        self.per_input[e.input] += 1;
    }

    fn remove(&mut self, e: &Entry) {
        if let Some(v) = &e.value {
            if let Some(n) = self.distinct.get_mut(v) {
                *n -= 1;
                if *n == 0 {
                    self.distinct.remove(v);
                }
            }
            self.valued = self.valued.saturating_sub(1);
            if let Ok(x) = v.trim().parse::<f64>() {
                self.sum -= x;
                self.numbers = self.numbers.saturating_sub(1);
            }
        }
        if let Some(n) = self.per_input.get_mut(e.input) {
            *n = n.saturating_sub(1);
        }
    }

    fn clear(&mut self) {
        *self = Agg::default();
    }
}

#[derive(Debug, Default)]
struct State {
    groups: HashMap<Vec<Option<String>>, Group>,
    /// (window close, group) timers for windows decided at their close.
    timers: BinaryHeap<Reverse<(i64, Vec<Option<String>>)>>,
    /// Time of the first event processed (`first_seen`: the baseline starts there).
    first_us: Option<i64>,
    /// When idle groups were last looked for ([`Correlator::expire`]).
    swept_at: Option<i64>,
}

/// A finding of a correlation, before it becomes a [`Finding`].
#[derive(Debug, Clone)]
pub struct CorrelationHit {
    /// Index into [`Compiled::correlations`].
    pub corr: usize,
    /// The finding.
    pub finding: Finding,
    /// Group-by values.
    pub group: Vec<Option<String>>,
}

/// The correlation stage.
pub struct Correlator {
    cfg: CorrelationConfig,
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    max_seen: i64,
    processed_upto: i64,
    states: Vec<State>,
    stats: CorrelationStats,
    warned_late: u64,
    warned_drops: u64,
    warned_evictions: u64,
}

/// Whether a correlation is decided on sliding windows as each event arrives (rather
/// than on fixed windows, when they close).
///
/// - `value_avg` and `value_percentile`: always; adding an event can move their value
///   either way, and the value of the last `timespan` is what the condition is about.
/// - `event_count`, `value_count`, `value_sum`: with `gt` and `gte` only. These values
///   only grow as a window takes in events, so `lt`, `lte`, `eq` and `neq` need a whole
///   window: on sliding windows `lt` and `neq` would hold at a group's first event, and
///   `eq: N` at the N-th event of any burst, however many follow (it would be `gte`).
/// - `temporal`, `temporal_ordered`: without a condition or with `gt`/`gte` (the ordered
///   check prunes with an upper bound that only a growing condition allows).
/// - `first_seen` is decided per event and has no window.
fn sliding(kind: CorrelationType, cmps: &[(CmpOp, f64)]) -> bool {
    match kind {
        CorrelationType::ValueAvg
        | CorrelationType::ValuePercentile
        | CorrelationType::FirstSeen => true,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
            cmps.iter().all(|(op, _)| op.monotone())
        }
        CorrelationType::EventCount | CorrelationType::ValueCount | CorrelationType::ValueSum => {
            !cmps.is_empty() && cmps.iter().all(|(op, _)| op.monotone())
        }
    }
}

impl Correlator {
    /// A correlation stage for `plan`'s correlation rules.
    pub fn new(plan: &Compiled, cfg: CorrelationConfig) -> Self {
        Self {
            cfg,
            heap: BinaryHeap::new(),
            seq: 0,
            max_seen: i64::MIN,
            processed_upto: i64::MIN,
            states: plan.correlations.iter().map(|_| State::default()).collect(),
            stats: CorrelationStats::default(),
            warned_late: 0,
            warned_drops: 0,
            warned_evictions: 0,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &CorrelationStats {
        &self.stats
    }

    /// Offers one hit's feeds. Returns false when the hit is late.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        plan: &Compiled,
        corr: usize,
        input: usize,
        time_us: i64,
        group: Vec<Option<String>>,
        values: Vec<Option<String>>,
        event_ids: Vec<String>,
    ) -> bool {
        if time_us < self.processed_upto {
            self.stats.late_events += 1;
            if worth_logging(&mut self.warned_late) {
                tracing::warn!(
                    rule_id = %plan.correlations[corr].rule.meta.id,
                    event_time = %rfc3339(time_us),
                    processed_up_to = %rfc3339(self.processed_upto),
                    late_total = self.stats.late_events,
                    "event arrived after its time window was processed; not correlated (raise the allowed lateness)"
                );
            }
            return false;
        }
        self.max_seen = self.max_seen.max(time_us);
        self.seq += 1;
        self.heap.push(Reverse(Pending {
            time_us,
            seq: self.seq,
            corr,
            input,
            group,
            values,
            event_ids,
        }));
        true
    }

    fn watermark(&self) -> i64 {
        match self.cfg.allowed_lateness_secs {
            Some(l) => self
                .max_seen
                .saturating_sub((l as i64).saturating_mul(1_000_000)),
            None => i64::MIN,
        }
    }

    /// Processes what the watermark allows; returns the correlation findings produced.
    pub fn advance(&mut self, plan: &Compiled) -> Vec<CorrelationHit> {
        let wm = self.watermark();
        self.drain(plan, wm, false)
    }

    /// Processes everything and closes every window (end of input).
    pub fn finish(&mut self, plan: &Compiled) -> Vec<CorrelationHit> {
        self.drain(plan, i64::MAX, true)
    }

    fn drain(&mut self, plan: &Compiled, wm: i64, all: bool) -> Vec<CorrelationHit> {
        let mut out = Vec::new();
        loop {
            let over = self.heap.len() > self.cfg.max_buffered;
            let next = match self.heap.peek() {
                Some(Reverse(p)) if all || over || p.time_us <= wm => {
                    self.heap.pop().map(|Reverse(p)| p)
                }
                _ => None,
            };
            let Some(p) = next else { break };
            self.close_due(plan, p.time_us, &mut out);
            self.processed_upto = self.processed_upto.max(p.time_us);
            let c = p.corr;
            self.process(plan, p, &mut out);
            self.expire(plan, c);
        }
        let until = if all {
            i64::MAX
        } else {
            wm.min(self.processed_upto)
        };
        self.close_due(plan, until, &mut out);
        if all {
            // Close every open window.
            for c in 0..self.states.len() {
                let keys: Vec<_> = self.states[c].groups.keys().cloned().collect();
                for k in keys {
                    self.close_window(plan, c, &k, &mut out);
                }
            }
        }
        out
    }

    /// Closes windows (of close-evaluated correlations) that end before `t`.
    fn close_due(&mut self, plan: &Compiled, t: i64, out: &mut Vec<CorrelationHit>) {
        for c in 0..self.states.len() {
            while let Some(Reverse((end, _))) = self.states[c].timers.peek() {
                if *end >= t {
                    break;
                }
                let Some(Reverse((end, key))) = self.states[c].timers.pop() else {
                    break;
                };
                let still = self.states[c]
                    .groups
                    .get(&key)
                    .and_then(|g| g.window_start)
                    .map(|s| s + span(plan, c));
                if still == Some(end) {
                    self.close_window(plan, c, &key, out);
                }
            }
        }
    }

    fn close_window(
        &mut self,
        plan: &Compiled,
        c: usize,
        key: &Vec<Option<String>>,
        out: &mut Vec<CorrelationHit>,
    ) {
        let cp = &plan.correlations[c];
        if sliding(cp.rule.kind, &cp.rule.condition.cmps) {
            return;
        }
        let Some(g) = self.states[c].groups.get_mut(key) else {
            return;
        };
        if g.entries.is_empty() {
            return;
        }
        let entries: Vec<Entry> = g.entries.drain(..).collect();
        g.window_start = None;
        if let Some(value) = evaluate(
            cp.rule.kind,
            &cp.rule.condition.cmps,
            cp.rule.condition.percentile,
            cp.inputs.len(),
            &entries,
        ) {
            self.emit(plan, c, key.clone(), &entries, value, out);
        }
    }

    fn process(&mut self, plan: &Compiled, p: Pending, out: &mut Vec<CorrelationHit>) {
        let c = p.corr;
        let cp = &plan.correlations[c];
        if cp.rule.kind == CorrelationType::FirstSeen {
            return self.first_seen(plan, p, out);
        }
        let sp = span(plan, c);
        let mono = sliding(cp.rule.kind, &cp.rule.condition.cmps);
        if !self.states[c].groups.contains_key(&p.group)
            && self.states[c].groups.len() >= self.cfg.max_groups
        {
            self.evict(plan, c);
        }
        let value = if p.values.iter().all(Option::is_none) {
            None
        } else {
            Some(
                p.values
                    .iter()
                    .map(|v| v.clone().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\u{1f}"),
            )
        };
        let entry = Entry {
            time_us: p.time_us,
            input: p.input,
            value,
            event_ids: p.event_ids,
        };
        if mono {
            let g = self.states[c].groups.entry(p.group.clone()).or_default();
            g.last_seen = p.time_us;
            while g
                .entries
                .front()
                .is_some_and(|e| e.time_us < p.time_us - sp)
            {
                if let Some(old) = g.entries.pop_front() {
                    g.agg.remove(&old);
                }
            }
            // `temporal_ordered` with no first step in the window: entries of later steps
            // older than this event can never follow a first step still to come (events
            // are processed in time order, and a first step never arrives with an earlier
            // time, `prune_unstarted`), so a group waiting for its first step holds only
            // the events of its latest timestamp (a first step at that time still counts).
            if prune_unstarted(plan, c) && g.agg.per_input.first().is_none_or(|n| *n == 0) {
                while g.entries.front().is_some_and(|e| e.time_us < p.time_us) {
                    if let Some(old) = g.entries.pop_front() {
                        g.agg.remove(&old);
                    }
                }
            }
            g.agg.add(&entry);
            g.entries.push_back(entry);
            if g.entries.len() > self.cfg.max_entries {
                if let Some(old) = g.entries.pop_front() {
                    g.agg.remove(&old);
                }
                dropped(
                    &mut self.stats,
                    &mut self.warned_drops,
                    cp,
                    self.cfg.max_entries,
                );
            }
            // `value_percentile` on a value that is not a number (the specification's
            // example: a process image name): the share of the window's events that have
            // this value, in percent, so `lte: 1` finds a value rarer than 1 in 100. The
            // event alone is reported and the window kept: it is the baseline.
            if cp.rule.kind == CorrelationType::ValuePercentile
                && let Some(v) = g.entries.back().and_then(|e| e.value.clone())
                && v.trim().parse::<f64>().is_err()
            {
                let share = 100.0 * f64::from(g.agg.distinct.get(&v).copied().unwrap_or(0))
                    / f64::from(g.agg.valued.max(1));
                let holds = cp
                    .rule
                    .condition
                    .cmps
                    .iter()
                    .all(|(op, t)| op.holds(share, *t));
                if holds && let Some(e) = g.entries.back().cloned() {
                    self.emit(plan, c, p.group, &[e], share, out);
                    if let (Some(field), Some(last)) =
                        (cp.rule.condition.fields.first(), out.last_mut())
                    {
                        // Which value was rare, next to the group-by values.
                        if let Some(group) = last.finding.group.as_mut() {
                            group.insert(field.clone(), Some(v));
                        }
                    }
                }
                return;
            }
            let v = sliding_value(
                cp.rule.kind,
                &cp.rule.condition.cmps,
                cp.rule.condition.percentile,
                cp.inputs.len(),
                g,
            );
            if matches!(
                cp.rule.kind,
                CorrelationType::ValueAvg | CorrelationType::ValuePercentile
            ) {
                // The window's average or percentile moves both ways: one finding each
                // time the condition starts to hold, the window kept (it is still the
                // last `timespan` of the group).
                let started = v.is_some() && !g.holding;
                g.holding = v.is_some();
                if let (true, Some(v)) = (started, v) {
                    let entries: Vec<Entry> = g.entries.iter().cloned().collect();
                    self.emit(plan, c, p.group, &entries, v, out);
                }
            } else if let Some(v) = v {
                let entries: Vec<Entry> = g.entries.drain(..).collect();
                g.agg.clear();
                self.emit(plan, c, p.group, &entries, v, out);
            }
        } else {
            let needs_close = self.states[c]
                .groups
                .get(&p.group)
                .and_then(|g| g.window_start)
                .is_some_and(|s| p.time_us > s + sp);
            if needs_close {
                self.close_window(plan, c, &p.group, out);
            }
            let st = &mut self.states[c];
            let g = st.groups.entry(p.group.clone()).or_default();
            g.last_seen = p.time_us;
            if g.window_start.is_none() {
                g.window_start = Some(p.time_us);
                st.timers.push(Reverse((p.time_us + sp, p.group.clone())));
            }
            let g = st.groups.get_mut(&p.group).expect("inserted above");
            g.entries.push_back(entry);
            if g.entries.len() > self.cfg.max_entries {
                g.entries.pop_front();
                dropped(
                    &mut self.stats,
                    &mut self.warned_drops,
                    cp,
                    self.cfg.max_entries,
                );
            }
        }
    }

    /// `first_seen`: reports an event whose group values were not seen within the last
    /// `timespan`, once the baseline has passed. Groups only remember when they were
    /// last seen; an event without all of its group values is not a value and is skipped.
    fn first_seen(&mut self, plan: &Compiled, p: Pending, out: &mut Vec<CorrelationHit>) {
        let c = p.corr;
        if p.group.iter().any(Option::is_none) {
            return;
        }
        let sp = span(plan, c);
        let baseline = (plan.correlations[c].rule.baseline_secs as i64).saturating_mul(1_000_000);
        let start = *self.states[c].first_us.get_or_insert(p.time_us);
        if !self.states[c].groups.contains_key(&p.group)
            && self.states[c].groups.len() >= self.cfg.max_groups
        {
            self.evict(plan, c);
        }
        let groups = &mut self.states[c].groups;
        let new = groups
            .get(&p.group)
            .is_none_or(|g| p.time_us - g.last_seen > sp);
        let g = groups.entry(p.group.clone()).or_default();
        g.last_seen = g.last_seen.max(p.time_us);
        if new && p.time_us >= start.saturating_add(baseline) {
            let entry = Entry {
                time_us: p.time_us,
                input: p.input,
                value: None,
                event_ids: p.event_ids,
            };
            self.emit(plan, c, p.group, &[entry], 1.0, out);
        }
    }

    /// Lets go of correlation `c`'s groups with nothing left in their window: last seen
    /// more than `timespan` before the newest event processed, and (fixed windows) no
    /// window open. Such a group behaves as a new one would, so nothing changes but the
    /// memory, and the group cap is left for active groups. Looked for once per
    /// `timespan` of event time (at least a minute), so the cost is amortised.
    fn expire(&mut self, plan: &Compiled, c: usize) {
        let sp = span(plan, c);
        let now = self.processed_upto;
        let st = &mut self.states[c];
        let due = st
            .swept_at
            .is_none_or(|at| now.saturating_sub(at) >= sp.max(60_000_000));
        if !due {
            return;
        }
        st.swept_at = Some(now);
        let before = st.groups.len();
        // Only fixed windows open (`window_start`); one still open is kept until it closes.
        st.groups
            .retain(|_, g| g.last_seen >= now.saturating_sub(sp) || g.window_start.is_some());
        self.stats.expired_groups += (before - st.groups.len()) as u64;
    }

    fn evict(&mut self, plan: &Compiled, c: usize) {
        let cp = &plan.correlations[c];
        let ordered = cp.rule.kind == CorrelationType::TemporalOrdered;
        let st = &mut self.states[c];
        // Least recently active first; for `temporal_ordered`, groups without the first
        // step before any (they cannot complete a sequence until one comes).
        let mut by_age: Vec<(bool, i64, Vec<Option<String>>)> = st
            .groups
            .iter()
            .map(|(k, g)| {
                let started = !ordered || g.agg.per_input.first().is_some_and(|n| *n > 0);
                (started, g.last_seen, k.clone())
            })
            .collect();
        by_age.sort();
        let n = (by_age.len() / 10).max(1);
        for (_, _, k) in by_age.into_iter().take(n) {
            st.groups.remove(&k);
            self.stats.evicted_groups += 1;
        }
        if worth_logging(&mut self.warned_evictions) {
            tracing::warn!(
                rule_id = %cp.rule.meta.id,
                evicted = n,
                evicted_total = self.stats.evicted_groups,
                max_groups = self.cfg.max_groups,
                "correlation state at its group cap; least recently active groups evicted (raise --max-groups)"
            );
        }
    }

    fn emit(
        &mut self,
        plan: &Compiled,
        c: usize,
        group: Vec<Option<String>>,
        entries: &[Entry],
        value: f64,
        out: &mut Vec<CorrelationHit>,
    ) {
        let cp = &plan.correlations[c];
        if cp.emit {
            self.stats.findings += 1;
        } else {
            self.stats.internal_findings += 1;
        }
        let mut ids: Vec<String> = Vec::new();
        for e in entries {
            for id in &e.event_ids {
                ids.push(id.clone());
            }
        }
        ids.sort();
        ids.dedup();
        let start = entries.iter().map(|e| e.time_us).min().unwrap_or(0);
        let end = entries.iter().map(|e| e.time_us).max().unwrap_or(0);
        let group_map: BTreeMap<String, Option<String>> = cp
            .rule
            .group_by
            .iter()
            .cloned()
            .zip(group.iter().cloned())
            .collect();
        let discriminator = format!("{group_map:?}|{start}|{end}");
        let finding_id = finding_id(&cp.rule.meta.id.0, &ids, &discriminator);
        ids.truncate(self.cfg.max_event_ids);
        let finding = Finding {
            group: Some(group_map),
            window: Some(Window {
                start: rfc3339(start),
                end: rfc3339(end),
            }),
            correlation_type: Some(cp.rule.kind),
            value: Some(value),
            ..Finding::of_rule(
                &cp.rule.meta,
                finding_id,
                end,
                "correlation".into(),
                ids.clone(),
            )
        };
        // Feed parent correlations (their group-by values taken by name).
        for &parent in &cp.parents {
            let pp = &plan.correlations[parent];
            let Some((input, names)) =
                pp.inputs.iter().enumerate().find_map(|(i, inp)| match inp {
                    CorrInput::Correlation { corr, group_fields } if *corr == c => {
                        Some((i, group_fields))
                    }
                    _ => None,
                })
            else {
                continue;
            };
            let pgroup: Vec<Option<String>> = names
                .iter()
                .map(|name| {
                    cp.rule
                        .group_by
                        .iter()
                        .position(|n| n == name)
                        .and_then(|i| group.get(i).cloned().flatten())
                })
                .collect();
            self.seq += 1;
            self.heap.push(Reverse(Pending {
                time_us: end,
                seq: self.seq,
                corr: parent,
                input,
                group: pgroup,
                values: Vec::new(),
                event_ids: ids.clone(),
            }));
        }
        out.push(CorrelationHit {
            corr: c,
            finding,
            group,
        });
    }
}

/// Whether correlation `c` is a `temporal_ordered` whose first step's events always
/// arrive at the time being processed: a detection rule's hits, or a sliding
/// correlation's findings (a whole-window correlation's finding arrives when its window
/// closes, with an earlier time).
fn prune_unstarted(plan: &Compiled, c: usize) -> bool {
    let cp = &plan.correlations[c];
    cp.rule.kind == CorrelationType::TemporalOrdered
        && match cp.inputs.first() {
            Some(CorrInput::Rule { .. }) => true,
            Some(CorrInput::Correlation { corr, .. }) => {
                let child = &plan.correlations[*corr].rule;
                sliding(child.kind, &child.condition.cmps)
            }
            None => false,
        }
}

/// Whether the `count`-th occurrence of a warning (counted here) is logged: the first
/// ten, then at every power of two, each line with the running total, so that a flood
/// of late events, drops or evictions cannot flood the log.
fn worth_logging(count: &mut u64) -> bool {
    *count += 1;
    *count <= 10 || count.is_power_of_two()
}

/// Counts (and, see [`worth_logging`], logs) an event dropped at the per-group cap.
fn dropped(stats: &mut CorrelationStats, warned: &mut u64, cp: &CorrelationPlan, cap: usize) {
    stats.dropped_entries += 1;
    if worth_logging(warned) {
        tracing::warn!(
            rule_id = %cp.rule.meta.id,
            max_entries = cap,
            dropped_total = stats.dropped_entries,
            "correlation group at its event cap; its oldest event dropped (raise --max-entries)"
        );
    }
}

/// The value of a sliding window if its condition holds, from the running
/// aggregates.
fn sliding_value(
    kind: CorrelationType,
    cmps: &[(CmpOp, f64)],
    percentile: Option<f64>,
    n_inputs: usize,
    g: &Group,
) -> Option<f64> {
    let holds = |v: f64| cmps.iter().all(|(op, t)| op.holds(v, *t));
    let v = match kind {
        CorrelationType::EventCount => g.entries.len() as f64,
        CorrelationType::ValueCount => g.agg.distinct.len() as f64,
        CorrelationType::ValueSum => g.agg.sum,
        CorrelationType::ValueAvg => {
            if g.agg.numbers == 0 {
                return None;
            }
            g.agg.sum / f64::from(g.agg.numbers)
        }
        CorrelationType::ValuePercentile => {
            let mut xs: Vec<f64> = g
                .entries
                .iter()
                .filter_map(|e| e.value.as_ref().and_then(|v| v.trim().parse::<f64>().ok()))
                .collect();
            percentile_of(&mut xs, percentile.unwrap_or(50.0))?
        }
        CorrelationType::Temporal => {
            let distinct = g.agg.per_input.iter().filter(|n| **n > 0).count();
            if cmps.is_empty() {
                return (distinct == n_inputs).then_some(distinct as f64);
            }
            distinct as f64
        }
        CorrelationType::TemporalOrdered => {
            // Any rule's hit can complete the sequence, not only the last rule's: a later
            // step at the same time may have been processed before it. The sequence gets
            // no further than the leading rules with events in the window (an upper bound,
            // and the condition is monotone), so most events are decided without a pass.
            let reachable = (0..n_inputs)
                .take_while(|&i| g.agg.per_input.get(i).is_some_and(|n| *n > 0))
                .count();
            let possible = if cmps.is_empty() {
                reachable == n_inputs
            } else {
                holds(reachable as f64)
            };
            if !possible {
                return None;
            }
            let next = ordered_progress(g.entries.iter(), n_inputs);
            if cmps.is_empty() {
                return (next == n_inputs).then_some(next as f64);
            }
            next as f64
        }
        CorrelationType::FirstSeen => return None,
    };
    holds(v).then_some(v)
}

/// How far the referenced rules get in order among `entries`: the largest `k` such that
/// there are entries of inputs `0, 1, .., k-1` at non-decreasing times. Entries at the
/// same time count as in order whichever comes first in `entries`, so neither arrival
/// nor rule load order changes the result. `entries` may be in any order.
fn ordered_progress<'a, I>(entries: I, n_inputs: usize) -> usize
where
    I: Iterator<Item = &'a Entry> + Clone,
{
    let times = entries.clone().map(|e| e.time_us);
    if times.clone().zip(times.skip(1)).all(|(a, b)| a <= b) {
        return progress_in_time_order(entries.map(|e| (e.time_us, e.input)), n_inputs);
    }
    // Hits are processed in event-time order, but a chained correlation's finding can
    // arrive with an earlier time than hits already in the group.
    let mut steps: Vec<(i64, usize)> = entries.map(|e| (e.time_us, e.input)).collect();
    steps.sort_by_key(|&(t, _)| t);
    progress_in_time_order(steps.into_iter(), n_inputs)
}

/// [`ordered_progress`] over `(time, input)` pairs sorted by time. Greedy, each step
/// matched at the earliest time it can be (which leaves the most room for the next
/// step), ties included: on reaching a step, the following steps already seen at the
/// same time are taken too.
fn progress_in_time_order(steps: impl Iterator<Item = (i64, usize)>, n_inputs: usize) -> usize {
    // The latest time each input was seen at, so far.
    let mut latest: Vec<Option<i64>> = vec![None; n_inputs];
    let mut prev = i64::MIN;
    let mut next = 0;
    for (t, input) in steps {
        debug_assert!(prev <= t, "steps not in time order");
        prev = t;
        if let Some(l) = latest.get_mut(input) {
            *l = Some(t);
        }
        // Step `next - 1` was taken at or before `t`. An event of step `next` seen at an
        // earlier time than `t` was already passed over (it came before step `next - 1`'s
        // event); one at `t` follows it or ties with it.
        while next < n_inputs && latest[next] == Some(t) {
            next += 1;
        }
        if next == n_inputs {
            break;
        }
    }
    next
}

/// The `p`-th percentile (0-100) of `xs`, interpolated linearly between the two nearest
/// ranks (rsigma's and numpy's default); `None` for no values.
fn percentile_of(xs: &mut [f64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_unstable_by(f64::total_cmp);
    let rank = p / 100.0 * (xs.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(xs[lo] + (xs[hi] - xs[lo]) * (rank - lo as f64))
}

fn span(plan: &Compiled, c: usize) -> i64 {
    (plan.correlations[c].rule.timespan_secs as i64).saturating_mul(1_000_000)
}

/// The aggregated value of a window if the condition holds.
fn evaluate(
    kind: CorrelationType,
    cmps: &[(CmpOp, f64)],
    percentile: Option<f64>,
    n_inputs: usize,
    entries: &[Entry],
) -> Option<f64> {
    let holds = |v: f64| cmps.iter().all(|(op, t)| op.holds(v, *t));
    let nums = || {
        entries
            .iter()
            .filter_map(|e| e.value.as_ref().and_then(|v| v.trim().parse::<f64>().ok()))
    };
    let v = match kind {
        CorrelationType::EventCount => entries.len() as f64,
        CorrelationType::ValueCount => {
            let mut vals: Vec<&String> = entries.iter().filter_map(|e| e.value.as_ref()).collect();
            vals.sort();
            vals.dedup();
            vals.len() as f64
        }
        CorrelationType::ValueSum => nums().sum(),
        CorrelationType::ValueAvg => {
            let xs: Vec<f64> = nums().collect();
            if xs.is_empty() {
                return None;
            }
            xs.iter().sum::<f64>() / xs.len() as f64
        }
        CorrelationType::ValuePercentile => {
            let mut xs: Vec<f64> = nums().collect();
            percentile_of(&mut xs, percentile.unwrap_or(50.0))?
        }
        CorrelationType::Temporal => {
            let mut seen = vec![false; n_inputs];
            for e in entries {
                if let Some(s) = seen.get_mut(e.input) {
                    *s = true;
                }
            }
            let distinct = seen.iter().filter(|s| **s).count() as f64;
            if cmps.is_empty() {
                return (distinct as usize == n_inputs).then_some(distinct);
            }
            distinct
        }
        CorrelationType::TemporalOrdered => {
            let next = ordered_progress(entries.iter(), n_inputs);
            if cmps.is_empty() {
                return (next == n_inputs).then_some(next as f64);
            }
            next as f64
        }
        CorrelationType::FirstSeen => return None,
    };
    holds(v).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries of `(seconds, input)`, in the order given (the processing order).
    fn entries(steps: &[(i64, usize)]) -> Vec<Entry> {
        steps
            .iter()
            .map(|&(t, input)| Entry {
                time_us: t * 1_000_000,
                input,
                value: None,
                event_ids: Vec::new(),
            })
            .collect()
    }

    fn progress(steps: &[(i64, usize)], n_inputs: usize) -> usize {
        ordered_progress(entries(steps).iter(), n_inputs)
    }

    #[test]
    fn ordered_progress_counts_ties_as_in_order_in_either_processing_order() {
        // Regression: temporal_ordered ties depended on rule load order (the greedy scan
        // in processing order missed B-then-A at the same second).
        assert_eq!(progress(&[(0, 0), (0, 1)], 2), 2);
        assert_eq!(progress(&[(0, 1), (0, 0)], 2), 2);
        // Three steps, all at once, in every processing order.
        for order in [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ] {
            let steps: Vec<(i64, usize)> = order.iter().map(|&i| (5, i)).collect();
            assert_eq!(progress(&steps, 3), 3, "{order:?}");
        }
    }

    #[test]
    fn ordered_progress_rejects_strictly_earlier_later_steps() {
        assert_eq!(progress(&[(0, 1), (1, 0)], 2), 1);
        assert_eq!(
            progress(&[(1, 0), (0, 1)], 2),
            1,
            "processing order is not time order"
        );
        // A, C, B at increasing times: A then B, and C came before B.
        assert_eq!(progress(&[(0, 0), (1, 2), (2, 1)], 3), 2);
        // B before A, then C tied with A: B is too early.
        assert_eq!(progress(&[(0, 1), (1, 2), (1, 0)], 3), 1);
        assert_eq!(progress(&[(0, 1), (0, 2)], 3), 0);
        assert_eq!(progress(&[], 3), 0);
    }

    #[test]
    fn ordered_progress_with_a_tie_in_the_middle() {
        // A, then B and C in the same second (C processed first).
        assert_eq!(progress(&[(0, 0), (1, 2), (1, 1)], 3), 3);
        // A and B in the same second (B first), then C.
        assert_eq!(progress(&[(0, 1), (0, 0), (1, 2)], 3), 3);
        // An early B is passed over for one tied with A; C follows.
        assert_eq!(progress(&[(0, 1), (3, 1), (3, 0), (4, 2)], 3), 3);
        // A later A does not undo progress made with an earlier one.
        assert_eq!(progress(&[(0, 0), (1, 1), (2, 0), (3, 2)], 3), 3);
    }

    #[test]
    fn ordered_progress_matches_a_brute_force_search() {
        // Every sequence of up to 5 events over 3 inputs and 3 distinct times, in every
        // processing order given by the enumeration: the greedy answer equals the longest
        // prefix found by trying every choice of events.
        fn brute(steps: &[(i64, usize)], n_inputs: usize) -> usize {
            fn go(steps: &[(i64, usize)], k: usize, after: i64, n_inputs: usize) -> usize {
                if k == n_inputs {
                    return k;
                }
                steps
                    .iter()
                    .filter(|&&(t, i)| i == k && t >= after)
                    .map(|&(t, _)| go(steps, k + 1, t, n_inputs))
                    .max()
                    .unwrap_or(k)
            }
            go(steps, 0, i64::MIN, n_inputs)
        }
        let alphabet: Vec<(i64, usize)> =
            (0..3).flat_map(|t| (0..3).map(move |i| (t, i))).collect();
        let mut checked = 0;
        for len in 0..=5u32 {
            for code in 0..alphabet.len().pow(len) {
                let mut c = code;
                let steps: Vec<(i64, usize)> = (0..len)
                    .map(|_| {
                        let s = alphabet[c % alphabet.len()];
                        c /= alphabet.len();
                        s
                    })
                    .collect();
                assert_eq!(progress(&steps, 3), brute(&steps, 3), "{steps:?}");
                checked += 1;
            }
        }
        assert!(checked > 60_000);
    }
}
