//! Event-time behaviour of the correlation stage: reordering within the allowed
//! lateness, late events counted and reported (never silently dropped), bounded state,
//! and suppression on every rule type.

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
            out.extend(det.push(detect_batch(engine.plan(), &mut ev, &b).unwrap()));
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

#[test]
fn suppression_folds_repeats_into_the_first_finding() {
    let rules = RULES.replace(
        "level: low\n---",
        "level: low\nvigil:\n  suppress:\n    fields: [sourceIPAddress]\n    window: 1h\n---",
    );
    let lines: Vec<String> = (0..7)
        .map(|i| {
            ev(
                i * 60,
                &format!("e{i}"),
                if i < 6 { "198.51.100.7" } else { "203.0.113.9" },
            )
        })
        .collect();
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
