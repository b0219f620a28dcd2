//! The Sigma specification's correlation examples and schema tests
//! (`sigma-specification/extracted/correlation-examples`, `tests/schema/correlation`)
//! load unchanged, and each behaves as the specification describes on events
//! constructed for it. Base rules the examples reference by name or id are written here
//! (the specification leaves them out) against CloudTrail-shaped events carrying the
//! example's fields.

mod common;

use std::path::PathBuf;

use common::*;
use vigil_detect::correlate::CorrelationConfig;
use vigil_detect::rule::load::{RuleSet, load_file, load_str};
use vigil_detect::{Engine, EngineOptions, Finding, detect_batch};

fn spec() -> PathBuf {
    corpus().join("sigma-specification")
}

/// A base rule named `name` (and with id `name` unless given) matching events whose
/// `Kind` is `kind`.
fn base(name: &str, id: Option<&str>, kind: &str) -> String {
    format!(
        "title: base {name}\nid: {}\nname: {name}\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  sel:\n    Kind: {kind}\n  condition: sel\nlevel: low\n---\n",
        id.unwrap_or(name)
    )
}

/// A CloudTrail-shaped event at `t` seconds with extra fields.
fn ev(t: i64, id: &str, extra: &str) -> String {
    let time = vigil_detect::finding::rfc3339(1_700_000_000_000_000 + t * 1_000_000);
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"{time}","eventSource":"test","eventName":"Test","eventID":"{id}",{extra}}}"#
    )
}

fn run(rules: RuleSet, events: &[String]) -> Vec<Finding> {
    let opts = EngineOptions {
        correlation: CorrelationConfig {
            allowed_lateness_secs: None,
            ..Default::default()
        },
        ..Default::default()
    };
    let engine = Engine::from_rules(rules, opts).unwrap();
    assert!(
        engine.report().rejected.is_empty(),
        "{:#?}",
        engine.report().rejected
    );
    let mut ev = engine.evaluator().unwrap();
    let mut det = engine.detector();
    let mut out = Vec::new();
    for b in batches_of(events.join("\n").as_bytes()).0 {
        let hits = detect_batch(engine.plan(), &mut ev, &b).unwrap();
        out.extend(det.push([hits]));
    }
    out.extend(det.finish());
    out
}

fn load(files: &[PathBuf], extra: &str) -> RuleSet {
    let mut set = load_str(extra, std::path::Path::new("base.yml"));
    for f in files {
        set.extend(load_file(f).unwrap());
    }
    set
}

fn of_rule<'a>(fs: &'a [Finding], title: &str) -> Vec<&'a Finding> {
    fs.iter().filter(|f| f.rule_title == title).collect()
}

#[test]
fn every_correlation_example_and_schema_test_loads() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(spec().join("tests/schema/correlation"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for e in std::fs::read_dir(spec().join("extracted/correlation-examples")).unwrap() {
        let p = e.unwrap().path();
        if std::fs::read_to_string(&p)
            .unwrap()
            .contains("correlation:")
        {
            files.push(p);
        }
    }
    files.sort();
    assert_eq!(files.len(), 8 + 10);
    let mut fragments = 0;
    for f in files {
        let set = load_file(&f).unwrap();
        if std::fs::read_to_string(&f).unwrap().contains("type:") {
            assert!(
                set.rejected.is_empty(),
                "{}: {:?}",
                f.display(),
                set.rejected
            );
            assert!(
                set.rules
                    .iter()
                    .any(|r| matches!(r, vigil_detect::rule::AnyRule::Correlation(_))),
                "{}",
                f.display()
            );
        } else {
            // A fragment of the specification text showing only `rules:`: rejected,
            // saying what is missing.
            fragments += 1;
            assert_eq!(set.rejected.len(), 1, "{}", f.display());
            assert!(
                set.rejected[0].reason.contains("no type"),
                "{:?}",
                set.rejected
            );
        }
    }
    assert_eq!(fragments, 1);
}

#[test]
fn event_count_many_failed_logins_per_host_in_an_hour() {
    let rules = load(
        &[spec().join("tests/schema/correlation/event_count.yml")],
        &base(
            "failed",
            Some("5638f7c0-ac70-491d-8465-2a65075e0d86"),
            "failed",
        ),
    );
    // 100 failed logins on pc1 within the hour: one finding. pc2: 99, no finding. pc3:
    // 100 spread over two hours: no window holds 100.
    let mut events = Vec::new();
    for i in 0..100 {
        events.push(ev(
            i * 30,
            &format!("a{i}"),
            r#""Kind":"failed","ComputerName":"pc1""#,
        ));
    }
    for i in 0..99 {
        events.push(ev(
            i,
            &format!("b{i}"),
            r#""Kind":"failed","ComputerName":"pc2""#,
        ));
    }
    for i in 0..100 {
        events.push(ev(
            i * 80,
            &format!("c{i}"),
            r#""Kind":"failed","ComputerName":"pc3""#,
        ));
    }
    let fs = run(rules, &events);
    let c = of_rule(&fs, "Many failed logins");
    assert_eq!(c.len(), 1, "{c:#?}");
    assert_eq!(
        c[0].group.as_ref().unwrap()["ComputerName"].as_deref(),
        Some("pc1")
    );
    assert_eq!(c[0].value, Some(100.0));
    assert_eq!(c[0].event_ids.len(), 100);
    // The referenced rule does not `generate` its own findings.
    assert!(of_rule(&fs, "base failed").is_empty());
}

#[test]
fn value_count_distinct_users_per_source() {
    let rules = load(
        &[spec().join("tests/schema/correlation/value_count.yml")],
        &base(
            "failed",
            Some("5638f7c0-ac70-491d-8465-2a65075e0d86"),
            "failed",
        ),
    );
    let mut events = Vec::new();
    // 100 distinct users from (pc1, ws1): finding. (pc2, ws1): 150 attempts but 99 users.
    for i in 0..100 {
        events.push(ev(
            i,
            &format!("a{i}"),
            &format!(
                r#""Kind":"failed","ComputerName":"pc1","WorkstationName":"ws1","User":"u{i}""#
            ),
        ));
    }
    for i in 0..150 {
        events.push(ev(
            i,
            &format!("b{i}"),
            &format!(
                r#""Kind":"failed","ComputerName":"pc2","WorkstationName":"ws1","User":"u{}""#,
                i % 99
            ),
        ));
    }
    let fs = run(rules, &events);
    let c = of_rule(&fs, "Failed login");
    assert_eq!(c.len(), 1, "{c:#?}");
    assert_eq!(
        c[0].group.as_ref().unwrap()["ComputerName"].as_deref(),
        Some("pc1")
    );
    assert_eq!(c[0].value, Some(100.0));
}

#[test]
fn temporal_needs_every_rule_in_the_window_in_any_order() {
    let extra = base("recon_cmd_a", None, "a")
        + &base("recon_cmd_b", None, "b")
        + &base("recon_cmd_c", None, "c");
    let rules = load(
        &[spec().join("tests/schema/correlation/temporal.yml")],
        &extra,
    );
    let host = |u: &str| format!(r#""ComputerName":"pc","User":"{u}""#);
    let events = vec![
        // alice: c, a, b within 5 minutes -> finding
        ev(0, "1", &format!(r#""Kind":"c",{}"#, host("alice"))),
        ev(60, "2", &format!(r#""Kind":"a",{}"#, host("alice"))),
        ev(120, "3", &format!(r#""Kind":"b",{}"#, host("alice"))),
        // bob: a and b only -> no finding (rsigma 0.23 fires here: it defaults to "any one")
        ev(0, "4", &format!(r#""Kind":"a",{}"#, host("bob"))),
        ev(10, "5", &format!(r#""Kind":"b",{}"#, host("bob"))),
        // carol: all three but over 10 minutes -> no finding
        ev(0, "6", &format!(r#""Kind":"a",{}"#, host("carol"))),
        ev(300, "7", &format!(r#""Kind":"b",{}"#, host("carol"))),
        ev(600, "8", &format!(r#""Kind":"c",{}"#, host("carol"))),
    ];
    let fs = run(rules, &events);
    let c = of_rule(&fs, "Recon");
    assert_eq!(c.len(), 1, "{c:#?}");
    assert_eq!(
        c[0].group.as_ref().unwrap()["User"].as_deref(),
        Some("alice")
    );
    assert_eq!(c[0].event_ids, vec!["1", "2", "3"]);
}

#[test]
fn temporal_ordered_needs_the_given_order() {
    let extra = base("recon_cmd_a", None, "a")
        + &base("recon_cmd_b", None, "b")
        + &base("recon_cmd_c", None, "c");
    let rules = load(
        &[spec().join("tests/schema/correlation/temporal_ordered.yml")],
        &extra,
    );
    let who = |u: &str| format!(r#""ComputerName":"pc","User":"{u}""#);
    let events = vec![
        ev(0, "1", &format!(r#""Kind":"a",{}"#, who("alice"))),
        ev(1, "2", &format!(r#""Kind":"b",{}"#, who("alice"))),
        ev(2, "3", &format!(r#""Kind":"c",{}"#, who("alice"))),
        ev(0, "4", &format!(r#""Kind":"c",{}"#, who("bob"))),
        ev(1, "5", &format!(r#""Kind":"b",{}"#, who("bob"))),
        ev(2, "6", &format!(r#""Kind":"a",{}"#, who("bob"))),
    ];
    let fs = run(rules, &events);
    let c = of_rule(&fs, "Recon ordered");
    assert_eq!(c.len(), 1, "{c:#?}");
    assert_eq!(
        c[0].group.as_ref().unwrap()["User"].as_deref(),
        Some("alice")
    );
}

#[test]
fn value_sum_avg_percentile() {
    let extra = base("website_access", None, "web")
        + &base("rule_a_id", None, "net")
        + &base("process_creation", None, "proc");
    let mut p50 = load_str(
        "title: median bytes\ncorrelation:\n  type: value_percentile\n  rules: [rule_a_id]\n  group-by: [SourceIP]\n  timespan: 1h\n  condition: {field: BytesOut, percentile: 50, gte: 300}\n",
        std::path::Path::new("p.yml"),
    );
    let mut rules = load(
        &[
            spec().join("tests/schema/correlation/value_sum.yml"),
            spec().join("tests/schema/correlation/value_avg.yml"),
            spec().join("tests/schema/correlation/value_percentile.yml"),
        ],
        &extra,
    );
    rules.rules.append(&mut p50.rules);
    let mut events = Vec::new();
    // value_sum: 3 x 400 kB = 1.2 MB from (10.0.0.1, alice) in an hour -> finding; bob: 900 kB.
    for i in 0..3 {
        events.push(ev(
            i * 60,
            &format!("s{i}"),
            r#""Kind":"web","SourceIP":"10.0.0.1","User":"alice","bytes_sent":400000"#,
        ));
    }
    events.push(ev(
        10,
        "s9",
        r#""Kind":"web","SourceIP":"10.0.0.2","User":"bob","bytes_sent":900000"#,
    ));
    // value_avg over 24h windows: (10.0.0.3, carol) 600 and 500 -> avg 550 > 500; dave 100, 800 -> 450.
    events.push(ev(
        0,
        "v1",
        r#""Kind":"net","SourceIP":"10.0.0.3","User":"carol","BytesOut":600"#,
    ));
    events.push(ev(
        100,
        "v2",
        r#""Kind":"net","SourceIP":"10.0.0.3","User":"carol","BytesOut":500"#,
    ));
    events.push(ev(
        0,
        "v3",
        r#""Kind":"net","SourceIP":"10.0.0.4","User":"dave","BytesOut":100"#,
    ));
    events.push(ev(
        100,
        "v4",
        r#""Kind":"net","SourceIP":"10.0.0.4","User":"dave","BytesOut":800"#,
    ));
    let fs = run(rules, &events);
    let sum = of_rule(&fs, "Possible Exfiltration to Website");
    assert_eq!(sum.len(), 1, "{sum:#?}");
    assert_eq!(sum[0].value, Some(1_200_000.0));
    let avg = of_rule(&fs, "Suspicious average network traffic");
    assert_eq!(avg.len(), 1, "{avg:#?}");
    assert_eq!(
        avg[0].group.as_ref().unwrap()["User"].as_deref(),
        Some("carol")
    );
    assert_eq!(avg[0].value, Some(550.0));
    // Median BytesOut per source: 10.0.0.3 -> 550 >= 300; 10.0.0.4 -> 450 >= 300.
    let med = of_rule(&fs, "median bytes");
    assert_eq!(med.len(), 2, "{med:#?}");
    // The specification's value_percentile example aggregates a string field (Image);
    // Vigil computes percentiles of numeric values only, so it loads but cannot fire.
    assert!(
        of_rule(
            &fs,
            "A computer spawned a processes name in the last 24h than 1% of all the processes."
        )
        .is_empty()
    );
}

#[test]
fn aliases_join_different_fields_of_different_rules() {
    let extra = base("internal_error", None, "err") + &base("new_network_connection", None, "conn");
    let rules = load(
        &[spec().join("extracted/correlation-examples/example_15.yml")],
        &extra,
    );
    let events = vec![
        ev(
            0,
            "e1",
            r#""Kind":"err","destination":{"ip":"10.0.0.5"},"source":{"ip":"203.0.113.9"}"#,
        ),
        ev(
            5,
            "c1",
            r#""Kind":"conn","source":{"ip":"10.0.0.5"},"destination":{"ip":"203.0.113.9"}"#,
        ),
        // Same addresses swapped the other way round: no match.
        ev(
            6,
            "c2",
            r#""Kind":"conn","source":{"ip":"203.0.113.9"},"destination":{"ip":"10.0.0.6"}"#,
        ),
    ];
    let fs = run(rules, &events);
    let c: Vec<&Finding> = fs.iter().filter(|f| f.source == "correlation").collect();
    assert_eq!(c.len(), 1, "{c:#?}");
    assert_eq!(
        c[0].group.as_ref().unwrap()["internal_ip"].as_deref(),
        Some("10.0.0.5")
    );
    assert_eq!(c[0].event_ids, vec!["c1", "e1"]);
}

#[test]
fn chained_correlations_failed_logins_then_success() {
    // The specification's complete example, with its Windows logsource pointed at the
    // constructed events.
    let text =
        std::fs::read_to_string(spec().join("extracted/correlation-examples/example_16.yml"))
            .unwrap()
            .replace("product: windows", "product: aws")
            .replace("service: security", "service: cloudtrail");
    let rules = load_str(&text, std::path::Path::new("example_16.yml"));
    let mut events = Vec::new();
    // alice: 10 failures then a success within 10 minutes -> the chain fires (high).
    for i in 0..10 {
        events.push(ev(
            i * 10,
            &format!("f{i}"),
            r#""EventID":4625,"User":"alice""#,
        ));
    }
    events.push(ev(200, "ok1", r#""EventID":4624,"User":"alice""#));
    // bob: a success first, then 10 failures: not "followed by success".
    events.push(ev(0, "ok2", r#""EventID":4624,"User":"bob""#));
    for i in 0..10 {
        events.push(ev(
            10 + i,
            &format!("g{i}"),
            r#""EventID":529,"User":"bob""#,
        ));
    }
    let fs = run(rules, &events);
    let chain = of_rule(
        &fs,
        "Correlation - Multiple Failed Logins Followed by Successful Login",
    );
    assert_eq!(chain.len(), 1, "{fs:#?}");
    assert_eq!(chain[0].level, vigil_detect::rule::Level::High);
    assert_eq!(
        chain[0].group.as_ref().unwrap()["User"].as_deref(),
        Some("alice")
    );
    assert!(
        chain[0].event_ids.contains(&"ok1".to_string())
            && chain[0].event_ids.contains(&"f0".to_string())
    );
}
