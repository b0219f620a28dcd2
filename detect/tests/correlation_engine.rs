//! Event-time behaviour of the correlation stage: reordering within the allowed
//! lateness, late events counted and reported (never silently dropped), bounded state,
//! suppression on every rule type, and `temporal_ordered` steps at the same time
//! counting as in order however they arrive.

mod common;

use common::*;
use vigil_detect::correlate::CorrelationConfig;
use vigil_detect::rule::load::load_str;
use vigil_detect::{Engine, EngineOptions, Finding, detect_batch};

const RULES: &str = r#"
title: failed login
id: failed-login
name: failed_login
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: ConsoleLogin, errorMessage: Failed authentication}
  condition: sel
level: low
---
title: brute force
id: brute-force
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [sourceIPAddress]
  timespan: 10m
  condition: {gte: 5}
  generate: true
level: high
"#;

fn ev(t: i64, id: &str, ip: &str) -> String {
    let time = vigil_detect::finding::rfc3339(1_700_000_000_000_000 + t * 1_000_000);
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"{time}","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","errorMessage":"Failed authentication","sourceIPAddress":"{ip}","eventID":"{id}"}}"#
    )
}

/// Feeds each group of lines as its own batch, in order.
fn run(
    rules: &str,
    cfg: CorrelationConfig,
    batches: &[Vec<String>],
) -> (Vec<Finding>, vigil_detect::DetectStats) {
    let engine = Engine::from_rules(
        load_str(rules, std::path::Path::new("r.yml")),
        EngineOptions {
            correlation: cfg,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        engine.report().rejected.is_empty(),
        "{:?}",
        engine.report().rejected
    );
    let mut ev = engine.evaluator().unwrap();
    let mut det = engine.detector();
    let mut out = Vec::new();
    for lines in batches {
        for b in batches_of(lines.join("\n").as_bytes()).0 {
            out.extend(det.push([detect_batch(engine.plan(), &mut ev, &b).unwrap()]));
        }
    }
    out.extend(det.finish());
    (out, det.stats().clone())
}

fn brute(fs: &[Finding]) -> Vec<&Finding> {
    fs.iter().filter(|f| f.rule_id == "brute-force").collect()
}

#[test]
fn out_of_order_within_lateness_gives_the_in_order_result() {
    let in_order: Vec<String> = (0..5)
        .map(|i| ev(i * 60, &format!("e{i}"), "198.51.100.7"))
        .collect();
    let mut shuffled = in_order.clone();
    shuffled.reverse();
    let cfg = CorrelationConfig {
        allowed_lateness_secs: Some(600),
        ..Default::default()
    };
    let (a, _) = run(RULES, cfg.clone(), &[in_order]);
    let (b, stats) = run(
        RULES,
        cfg,
        &shuffled.into_iter().map(|l| vec![l]).collect::<Vec<_>>(),
    );
    assert_eq!(brute(&a).len(), 1);
    assert_eq!(brute(&a)[0].finding_id, brute(&b)[0].finding_id);
    assert_eq!(stats.correlation.late_events, 0);
}

#[test]
fn late_events_are_counted_and_their_own_findings_still_emitted() {
    // Allowed lateness 1 minute. Four failures at t=0..3 min, then one at t=60 min (the
    // watermark moves to 59 min and the four are processed), then a failure from t=100 s
    // arrives: older than events already processed, it is late for correlation.
    let mut batches = vec![
        (0..4)
            .map(|i| ev(i * 60, &format!("e{i}"), "198.51.100.7"))
            .collect::<Vec<_>>(),
    ];
    batches.push(vec![ev(3600, "later", "203.0.113.1")]);
    batches.push(vec![ev(100, "late", "198.51.100.7")]);
    let cfg = CorrelationConfig {
        allowed_lateness_secs: Some(60),
        ..Default::default()
    };
    let (fs, stats) = run(RULES, cfg, &batches);
    assert_eq!(stats.correlation.late_events, 1);
    assert!(
        brute(&fs).is_empty(),
        "the late fifth failure must not complete the window"
    );
    // `generate: true`: every failure is a finding of its own, the late one included.
    let own: Vec<&str> = fs
        .iter()
        .filter(|f| f.rule_id == "failed-login")
        .map(|f| f.event_ids[0].as_str())
        .collect();
    assert!(own.contains(&"late"), "{own:?}");
    assert_eq!(own.len(), 6);
}

#[test]
fn group_state_is_bounded_and_evictions_counted() {
    // 50 distinct source IPs with 1 failure each, cap 10 groups: evictions are counted;
    // an IP with 5 failures in a row still fires.
    let mut lines: Vec<String> = (0..50)
        .map(|i| ev(i, &format!("s{i}"), &format!("198.51.100.{i}")))
        .collect();
    lines.extend((0..5).map(|i| ev(100 + i, &format!("b{i}"), "203.0.113.200")));
    let cfg = CorrelationConfig {
        allowed_lateness_secs: None,
        max_groups: 10,
        ..Default::default()
    };
    let (fs, stats) = run(RULES, cfg, &[lines]);
    assert!(
        stats.correlation.evicted_groups >= 40,
        "{:?}",
        stats.correlation
    );
    assert_eq!(brute(&fs).len(), 1);
}

/// Failed logins a minute apart: six from one address, then one from another.
fn six_then_one() -> Vec<String> {
    (0..7)
        .map(|i| {
            ev(
                i * 60,
                &format!("e{i}"),
                if i < 6 { "198.51.100.7" } else { "203.0.113.9" },
            )
        })
        .collect()
}

#[test]
fn suppression_folds_repeats_into_the_first_finding() {
    let rules = RULES.replace(
        "level: low\n---",
        "level: low\nvigil:\n  suppress:\n    fields: [sourceIPAddress]\n    window: 1h\n---",
    );
    let lines = six_then_one();
    let (fs, stats) = run(
        &rules,
        CorrelationConfig {
            allowed_lateness_secs: None,
            ..Default::default()
        },
        &[lines],
    );
    let own: Vec<&Finding> = fs.iter().filter(|f| f.rule_id == "failed-login").collect();
    assert_eq!(own.len(), 2, "{own:#?}");
    let first = own.iter().find(|f| f.event_ids == ["e0"]).unwrap();
    assert_eq!(first.suppressed, 5);
    assert_eq!(stats.suppressed, 5);
    // Correlations are unaffected by the base rule's suppression.
    assert_eq!(brute(&fs).len(), 1);
}

/// The same suppression given as an option (`vigil detect --suppress
/// failed-login=sourceIPAddress@1h`): its fields must key the suppression as the rule's
/// own block does. (They were ignored: the plan took the hits' suppression values from
/// the rule file before the option applied, so every repeat folded into one finding.)
#[test]
fn suppression_given_as_an_option_keys_on_its_fields() {
    let lines = six_then_one();
    let engine = Engine::from_rules(
        load_str(RULES, std::path::Path::new("r.yml")),
        EngineOptions {
            correlation: CorrelationConfig {
                allowed_lateness_secs: None,
                ..Default::default()
            },
            suppress: [(
                "failed-login".to_string(),
                vigil_detect::rule::Suppress {
                    fields: vec!["sourceIPAddress".into()],
                    window_secs: 3600,
                },
            )]
            .into(),
            ..Default::default()
        },
    )
    .unwrap();
    let mut ev = engine.evaluator().unwrap();
    let mut det = engine.detector();
    let mut fs = Vec::new();
    for b in batches_of(lines.join("\n").as_bytes()).0 {
        fs.extend(det.push([detect_batch(engine.plan(), &mut ev, &b).unwrap()]));
    }
    fs.extend(det.finish());
    let mut own: Vec<(Vec<String>, u64)> = fs
        .iter()
        .filter(|f| f.rule_id == "failed-login")
        .map(|f| (f.event_ids.clone(), f.suppressed))
        .collect();
    own.sort();
    assert_eq!(
        own,
        [(vec!["e0".to_string()], 5), (vec!["e6".to_string()], 0)],
        "{own:?}"
    );
}

/// Detection rules for the steps (`eventName` is the step's name), loaded in `load`
/// order, and a `temporal_ordered` correlation `sequence` over `steps` in that order.
fn sequence_rules(steps: &[&str], load: &[&str]) -> String {
    let mut rules = String::new();
    for s in load {
        rules += &format!(
            "title: step {s}\nid: step-{s}\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  sel: {{eventName: {s}}}\n  condition: sel\nlevel: low\n---\n"
        );
    }
    let refs: Vec<String> = steps.iter().map(|s| format!("step-{s}")).collect();
    rules += &format!(
        "title: sequence\nid: sequence\ncorrelation:\n  type: temporal_ordered\n  rules: [{}]\n  group-by: [userIdentity.arn]\n  timespan: 10m\nlevel: high\n",
        refs.join(", ")
    );
    rules
}

/// A CloudTrail event named `name` (also its id) at `t` seconds, by one identity.
fn step(t: i64, name: &str) -> String {
    let time = vigil_detect::finding::rfc3339(1_700_000_000_000_000 + t * 1_000_000);
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"{time}","eventSource":"iam.amazonaws.com","eventName":"{name}","eventID":"{name}","userIdentity":{{"arn":"arn:aws:iam::111122223333:user/mallory"}}}}"#
    )
}

/// Every ordering of `xs`.
fn permutations<T: Clone>(xs: &[T]) -> Vec<Vec<T>> {
    if xs.is_empty() {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for i in 0..xs.len() {
        let mut rest = xs.to_vec();
        let x = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, x.clone());
            out.push(p);
        }
    }
    out
}

/// The event ids of each `sequence` finding over `steps`, for `events` (`(seconds,
/// step)`) fed in every way that must not matter: the steps' rules loaded in their order
/// and reversed (which orders the hits of one batch); the events in every order, in one
/// batch or one batch each; with no lateness limit, with a reorder buffer (5 minutes),
/// and, where the batches come in event-time order, with none (each batch processed
/// before the next arrives, so a tied event can arrive after its partner was
/// processed). Asserts that all agree and that none was late.
fn sequence_findings(steps: &[&str], events: &[(i64, &str)]) -> Vec<Vec<String>> {
    let mut results: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    let reversed: Vec<&str> = steps.iter().rev().copied().collect();
    for load in [steps.to_vec(), reversed] {
        for lateness in [None, Some(300), Some(0)] {
            let engine = Engine::from_rules(
                load_str(&sequence_rules(steps, &load), std::path::Path::new("r.yml")),
                EngineOptions {
                    correlation: CorrelationConfig {
                        allowed_lateness_secs: lateness,
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )
            .unwrap();
            assert!(
                engine.report().rejected.is_empty(),
                "{:?}",
                engine.report().rejected
            );
            for order in permutations(events) {
                let in_time_order = order.windows(2).all(|w| w[0].0 <= w[1].0);
                let lines: Vec<String> = order.iter().map(|(t, s)| step(*t, s)).collect();
                for batch_each in [false, true] {
                    if lateness == Some(0) && batch_each && !in_time_order {
                        // An event older than one already processed is late by design.
                        continue;
                    }
                    let batches: Vec<String> = if batch_each {
                        lines.clone()
                    } else {
                        vec![lines.join("\n")]
                    };
                    let mut ev = engine.evaluator().unwrap();
                    let mut det = engine.detector();
                    let mut fs = Vec::new();
                    for text in &batches {
                        for b in batches_of(text.as_bytes()).0 {
                            fs.extend(
                                det.push([detect_batch(engine.plan(), &mut ev, &b).unwrap()]),
                            );
                        }
                    }
                    fs.extend(det.finish());
                    let how = format!(
                        "rules loaded {load:?}, lateness {lateness:?}, events {order:?}, {}",
                        if batch_each {
                            "one batch each"
                        } else {
                            "one batch"
                        }
                    );
                    assert_eq!(det.stats().correlation.late_events, 0, "{how}");
                    let got = fs
                        .iter()
                        .filter(|f| f.rule_id == "sequence")
                        .map(|f| f.event_ids.clone())
                        .collect();
                    results.push((how, got));
                }
            }
        }
    }
    let (first_how, first) = results[0].clone();
    for (how, got) in &results {
        assert_eq!(got, &first, "{how} differs from {first_how}");
    }
    first
}

/// Regression: `temporal_ordered` ties depended on rule load order. Two events in the
/// same second, step A then step B, completed the sequence only if A's hit was processed
/// first, which depended on which rule loaded first and on batching.
#[test]
fn temporal_ordered_ties_complete_the_sequence_however_they_arrive() {
    assert_eq!(
        sequence_findings(&["A", "B"], &[(0, "A"), (0, "B")]),
        [["A", "B"]]
    );
}

#[test]
fn temporal_ordered_strictly_reversed_steps_do_not_fire() {
    assert!(sequence_findings(&["A", "B"], &[(0, "B"), (1, "A")]).is_empty());
    // The same pair a second apart the right way round fires.
    assert_eq!(
        sequence_findings(&["A", "B"], &[(0, "A"), (1, "B")]),
        [["A", "B"]]
    );
}

#[test]
fn temporal_ordered_three_steps_with_a_tie_in_the_middle() {
    let abc = ["A", "B", "C"];
    // A, then B and C in the same second.
    assert_eq!(
        sequence_findings(&abc, &[(0, "A"), (1, "B"), (1, "C")]),
        [["A", "B", "C"]]
    );
    // A and B in the same second, then C.
    assert_eq!(
        sequence_findings(&abc, &[(0, "A"), (0, "B"), (1, "C")]),
        [["A", "B", "C"]]
    );
    // Near misses: C strictly before B; B strictly before A (C tied with A).
    assert!(sequence_findings(&abc, &[(0, "A"), (1, "C"), (2, "B")]).is_empty());
    assert!(sequence_findings(&abc, &[(0, "B"), (1, "A"), (1, "C")]).is_empty());
    // Ties, but the last steps outside the timespan (10 minutes) of the first.
    assert!(sequence_findings(&abc, &[(0, "A"), (601, "B"), (601, "C")]).is_empty());
}

/// [`RULES`]' failed login with one correlation over it: `condition` in a 1h window.
fn counting(condition: &str) -> String {
    let base = RULES.split("---").next().unwrap_or_default();
    format!(
        "{base}---\ntitle: counted\nid: counted\ncorrelation: {{type: event_count, rules: [failed_login], group-by: [sourceIPAddress], timespan: 1h, condition: {condition}}}\nlevel: high\n"
    )
}

fn counted(condition: &str, times: &[i64]) -> Vec<(usize, String)> {
    let events: Vec<String> = times
        .iter()
        .map(|t| ev(*t, &format!("e{t}"), "198.51.100.1"))
        .collect();
    let cfg = CorrelationConfig {
        allowed_lateness_secs: None,
        ..Default::default()
    };
    let (fs, _) = run(&counting(condition), cfg, &[events]);
    fs.iter()
        .filter(|f| f.rule_id == "counted")
        .map(|f| (f.event_ids.len(), f.event_ids.join(",")))
        .collect()
}

#[test]
fn eq_and_lt_wait_for_whole_windows() {
    // `eq: 3` is decided on whole windows, from a group's first event: exactly three
    // events in [0, 3600] fire; four do not (on sliding windows `eq` would fire at the
    // third event of any burst, as `gte` does).
    assert_eq!(
        counted("{eq: 3}", &[0, 10, 20]),
        [(3, "e0,e10,e20".to_string())]
    );
    assert_eq!(counted("{eq: 3}", &[0, 10, 20, 30]), []);
    // Three events within an hour that straddle two whole windows: [0, 3600] holds 0 and
    // 3500, [3700, 7300] holds 3700 and 3900.
    assert_eq!(counted("{eq: 3}", &[0, 3500, 3700, 3900]), []);
    // `lt: 3`: [0, 3600] holds two events, [3700, 7300] one. On sliding windows it would
    // hold at every group's first event.
    assert_eq!(
        counted("{lt: 3}", &[0, 3500, 3700]),
        [(2, "e0,e3500".to_string()), (1, "e3700".to_string())]
    );
    assert_eq!(counted("{lt: 3}", &[0, 10, 20, 30]), []);
    // Between two bounds (`gte` with `lte`): whole windows too.
    assert_eq!(
        counted("{gte: 2, lte: 3}", &[0, 10, 4000, 4010, 4020, 4030]),
        [(2, "e0,e10".to_string())]
    );
    // `gte` slides: 3500, 3700 and 3900 s are three events within an hour.
    assert_eq!(
        counted("{gte: 3}", &[0, 3500, 3700, 3900]),
        [(3, "e3500,e3700,e3900".to_string())]
    );
}

/// Groups with nothing left in their window are let go, so a long stream of short-lived
/// groups stays under the group cap without evicting anything (before, every group was
/// kept until the cap evicted it, and `evicted_groups` counted mostly that cleanup).
#[test]
fn idle_groups_expire_instead_of_filling_the_cap() {
    // One failed login a minute, each from a new address, for 200 minutes; the brute
    // force rule's window is 10 minutes, so about 11 groups are alive at any time.
    let lines: Vec<String> = (0..200)
        .map(|i| ev(i * 60, &format!("e{i}"), &format!("198.51.100.{}", i % 250)))
        .collect();
    let (fs, stats) = run(
        RULES,
        CorrelationConfig {
            allowed_lateness_secs: None,
            max_groups: 50,
            ..Default::default()
        },
        &[lines],
    );
    assert!(brute(&fs).is_empty());
    let c = &stats.correlation;
    assert_eq!(c.evicted_groups, 0, "{c:?}");
    assert!(c.expired_groups >= 150, "{c:?}");
}

/// A `temporal_ordered` group without its first step keeps only the events of its
/// latest timestamp: later steps seen before any first step cannot complete a sequence
/// still to come. With a per-group cap of 2 events, 30 second steps a minute apart
/// dropped 28 of them before; the sequence that follows still fires, and a first step
/// in the same second as a second step still completes it.
#[test]
fn a_sequence_waiting_for_its_first_step_holds_only_its_latest_events() {
    let rules = sequence_rules(&["A", "B"], &["A", "B"]);
    let cfg = || CorrelationConfig {
        allowed_lateness_secs: None,
        max_entries: 2,
        ..Default::default()
    };
    let mut lines: Vec<String> = (0..30).map(|i| step(i * 10, "B")).collect();
    lines.push(step(400, "A"));
    lines.push(step(410, "B"));
    let (fs, stats) = run(&rules, cfg(), &[lines]);
    assert_eq!(
        stats.correlation.dropped_entries, 0,
        "{:?}",
        stats.correlation
    );
    let seq: Vec<&Finding> = fs.iter().filter(|f| f.rule_id == "sequence").collect();
    assert_eq!(seq.len(), 1, "{seq:#?}");
    // A tie: B, then A in the same second.
    let lines = vec![step(0, "B"), step(100, "B"), step(100, "A")];
    let (fs, _) = run(&rules, cfg(), &[lines]);
    assert_eq!(fs.iter().filter(|f| f.rule_id == "sequence").count(), 1);
}
