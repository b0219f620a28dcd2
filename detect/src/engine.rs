//! The detection engine's entry points: load and compile rules once ([`Engine`]),
//! evaluate batches on any number of threads ([`Engine::evaluator`], [`detect_batch`]),
//! and turn their hits into findings, correlations and suppression on one thread
//! ([`Detector`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use vigil_ingest::EventBatch;

use crate::Result;
use crate::compile::{CompileOptions, Compiled, LoadReport, compile};
use crate::correlate::{CorrelationConfig, CorrelationStats, Correlator};
use crate::eval::Evaluator;
use crate::finding::{Finding, finding_id};
use crate::hits::{Hit, Hits, collect, id_at};
use crate::rule::load::{RuleSet, load_paths};
use crate::rule::{AnyRule, Suppress};
use crate::suppress::Suppressor;

/// How the engine is set up.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Rule compilation (placeholder values).
    pub compile: CompileOptions,
    /// Correlation windows and state bounds.
    pub correlation: CorrelationConfig,
    /// Suppression per rule id, overriding what rules say.
    pub suppress: BTreeMap<String, Suppress>,
}

/// Compiled rules, shared by every thread.
#[derive(Clone)]
pub struct Engine {
    plan: Arc<Compiled>,
    opts: EngineOptions,
}

impl Engine {
    /// Loads and compiles the rules below `paths`.
    pub fn load(paths: &[PathBuf], opts: EngineOptions) -> Result<Engine> {
        Self::from_rules(load_paths(paths)?, opts)
    }

    /// Compiles an already loaded rule set.
    pub fn from_rules(mut set: RuleSet, opts: EngineOptions) -> Result<Engine> {
        // Suppression given in the options replaces the rules' own before compiling: the
        // plan decides which values each hit carries from it.
        for r in &mut set.rules {
            let meta = match r {
                AnyRule::Detection(d) => &mut d.meta,
                AnyRule::Correlation(c) => &mut c.meta,
                AnyRule::Filter(_) => continue,
            };
            if let Some(s) = opts.suppress.get(&meta.id.0) {
                meta.options.suppress = Some(s.clone());
            }
        }
        let plan = compile(set, &opts.compile)?;
        Ok(Engine {
            plan: Arc::new(plan),
            opts,
        })
    }

    /// The compiled plan.
    pub fn plan(&self) -> &Arc<Compiled> {
        &self.plan
    }

    /// What loaded and what was rejected.
    pub fn report(&self) -> &LoadReport {
        &self.plan.report
    }

    /// Per-thread evaluation state.
    pub fn evaluator(&self) -> Result<Evaluator> {
        Evaluator::new(&self.plan)
    }

    /// The single-threaded stage that makes findings.
    pub fn detector(&self) -> Detector {
        Detector {
            correlator: Correlator::new(&self.plan, self.opts.correlation.clone()),
            plan: self.plan.clone(),
            suppressor: Suppressor::default(),
            stats: DetectStats::default(),
            max_seen: i64::MIN,
            lateness_us: self
                .opts
                .correlation
                .allowed_lateness_secs
                .map(|s| (s as i64).saturating_mul(1_000_000)),
        }
    }
}

/// Evaluates every rule of the batch's source on it (any thread).
pub fn detect_batch(plan: &Compiled, ev: &mut Evaluator, batch: &EventBatch) -> Result<Hits> {
    let matches = ev.evaluate(plan, batch.kind, &batch.batch)?;
    Ok(collect(plan, batch.kind, &batch.batch, &matches))
}

/// Counters of a detection run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DetectStats {
    /// Rule matches on events.
    pub hits: u64,
    /// Findings emitted.
    pub findings: u64,
    /// Findings folded into another by suppression.
    pub suppressed: u64,
    /// Findings per rule id.
    pub by_rule: BTreeMap<String, u64>,
    /// The correlation stage.
    pub correlation: CorrelationStats,
}

/// Turns hits into findings: one per match of a rule that emits, correlation findings,
/// suppression. Single-threaded; feed it hits in any order (see [`crate::correlate`]).
pub struct Detector {
    plan: Arc<Compiled>,
    correlator: Correlator,
    suppressor: Suppressor,
    stats: DetectStats,
    max_seen: i64,
    lateness_us: Option<i64>,
}

impl Detector {
    /// Takes the hits of some batches (one [`detect_batch`]'s, or a flush's); returns
    /// the findings ready to emit.
    pub fn push(&mut self, batches: impl IntoIterator<Item = Hits>) -> Vec<Finding> {
        let plan = self.plan.clone();
        let mut out = Vec::new();
        for batch in batches {
            let (ids, hits) = batch.into_parts();
            for h in hits {
                self.stats.hits += 1;
                self.max_seen = self.max_seen.max(h.time_us);
                let event_id = id_at(ids.as_deref(), h.row).to_string();
                self.hit(&plan, h, event_id, &mut out);
            }
        }
        let corr = self.correlator.advance(&plan);
        self.correlation_findings(corr, &mut out);
        let now = match self.lateness_us {
            Some(l) => self.max_seen.saturating_sub(l),
            None => i64::MIN,
        };
        out.extend(self.suppressor.sweep(now));
        self.count(&out);
        out
    }

    /// One hit of `plan`'s (its event's id `event_id`): the correlations it feeds, and
    /// its rule's finding, suppressed or not, into `out`.
    fn hit(&mut self, plan: &Compiled, h: Hit, event_id: String, out: &mut Vec<Finding>) {
        let info = &plan.rules[h.rule];
        let extra = h.extra.map(|e| *e).unwrap_or_default();
        for f in extra.feeds {
            self.correlator.push(
                plan,
                f.corr,
                f.input,
                h.time_us,
                f.group,
                f.values,
                vec![event_id.clone()],
            );
        }
        if info.emit {
            let finding = Finding::of_rule(
                &info.meta,
                finding_id(&info.meta.id.0, std::slice::from_ref(&event_id), ""),
                h.time_us,
                h.kind.name().into(),
                vec![event_id],
            );
            match &info.meta.options.suppress {
                Some(s) => out.extend(self.suppressor.offer(
                    finding,
                    extra.suppress_key,
                    s.window_secs,
                )),
                None => out.push(finding),
            }
        }
    }

    /// Ends the input: processes every waiting hit, closes every window, releases every
    /// suppressed finding.
    pub fn finish(&mut self) -> Vec<Finding> {
        let plan = self.plan.clone();
        let mut out = Vec::new();
        let corr = self.correlator.finish(&plan);
        self.correlation_findings(corr, &mut out);
        out.extend(self.suppressor.finish());
        self.count(&out);
        out
    }

    fn correlation_findings(
        &mut self,
        corr: Vec<crate::correlate::CorrelationHit>,
        out: &mut Vec<Finding>,
    ) {
        for ch in corr {
            let cp = &self.plan.correlations[ch.corr];
            if !cp.emit {
                continue;
            }
            match &cp.rule.meta.options.suppress {
                Some(s) => {
                    let key = s
                        .fields
                        .iter()
                        .map(|f| {
                            cp.rule
                                .group_by
                                .iter()
                                .position(|g| g == f)
                                .and_then(|i| ch.group.get(i).cloned().flatten())
                        })
                        .collect();
                    out.extend(self.suppressor.offer(ch.finding, key, s.window_secs));
                }
                None => out.push(ch.finding),
            }
        }
    }

    fn count(&mut self, out: &[Finding]) {
        for f in out {
            self.stats.findings += 1;
            self.stats.suppressed += f.suppressed;
            *self.stats.by_rule.entry(f.rule_id.clone()).or_default() += 1;
        }
        self.stats.correlation = self.correlator.stats().clone();
    }

    /// Counters so far.
    pub fn stats(&self) -> &DetectStats {
        &self.stats
    }
}
