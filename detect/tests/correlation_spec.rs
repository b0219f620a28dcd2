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

/// The specification file `file` with the failed-login base rule it references.
fn failed_logins(file: &str) -> RuleSet {
    load(
        &[spec().join(file)],
        &base(
            "failed",
            Some("5638f7c0-ac70-491d-8465-2a65075e0d86"),
            "failed",
        ),
    )
}

#[test]
fn event_count_many_failed_logins_per_host_in_an_hour() {
    let rules = failed_logins("tests/schema/correlation/event_count.yml");
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
    // value_avg over the last 24h at each event: (10.0.0.3, carol) 600 (> 500 at once),
    // then 500 (550, still above: no second finding); dave 100, then 800 (450).
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
    assert_eq!(avg[0].value, Some(600.0));
    assert_eq!(avg[0].event_ids, ["v1"]);
    // Median BytesOut per source: 10.0.0.3 -> 600 at its first event (then 550: still
    // holding); 10.0.0.4 -> 100, then 450 >= 300.
    let med = of_rule(&fs, "median bytes");
    assert_eq!(med.len(), 2, "{med:#?}");
    let mut values: Vec<f64> = med.iter().filter_map(|f| f.value).collect();
    values.sort_by(f64::total_cmp);
    assert_eq!(values, [450.0, 600.0]);
    // No process events here: the rare-process example (`spec_examples_06_to_12`) stays
    // silent.
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

/// The correlation findings of one example (its file under `extracted/`) with `extra`
/// base rules over `events`.
fn example(n: u32, extra: &str, events: &[String]) -> Vec<Finding> {
    let file = spec().join(format!("extracted/correlation-examples/example_{n:02}.yml"));
    run(load(&[file], extra), events)
        .into_iter()
        .filter(|f| f.source == "correlation")
        .collect()
}

/// `(group as field=value pairs, value, event count)` of findings, sorted.
fn summary(fs: &[Finding]) -> Vec<(Vec<String>, f64, usize)> {
    let mut out: Vec<(Vec<String>, f64, usize)> = fs
        .iter()
        .map(|f| {
            let group = f
                .group
                .iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("<null>")))
                .collect();
            (group, f.value.unwrap_or(f64::NAN), f.event_ids.len())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn owned(pairs: &[&str]) -> Vec<String> {
    pairs.iter().map(|p| p.to_string()).collect()
}

/// Examples 06 to 12 of the specification (event_count, value_count, temporal,
/// temporal_ordered, value_sum, value_avg, value_percentile), each on events built for
/// it: the case the example describes, and the near misses it must not fire on.
#[test]
fn spec_examples_06_to_12() {
    const FAILED: &str = "5638f7c0-ac70-491d-8465-2a65075e0d86";
    let failed = base("failed_logon", Some(FAILED), "fail");

    // 06: 100 or more failed logins on one computer within an hour.
    let mut events = Vec::new();
    for i in 0..100 {
        events.push(ev(
            i,
            &format!("a{i}"),
            r#""Kind":"fail","ComputerName":"A""#,
        ));
        events.push(ev(
            i,
            &format!("c{i}"),
            r#""Kind":"fail","ComputerName":"C""#,
        ));
        // 100 on C too, but one every 40 s: never 100 within an hour.
        let t = 40 * i;
        events.push(ev(
            t,
            &format!("d{i}"),
            r#""Kind":"fail","ComputerName":"D""#,
        ));
    }
    events.retain(|e| !e.contains(r#""eventID":"c99""#)); // 99 on C
    let fs = example(6, &failed, &events);
    assert_eq!(summary(&fs), [(owned(&["ComputerName=A"]), 100.0, 100)]);

    // 07: 100 or more distinct users failing on one (computer, workstation) in a day.
    let mut events = Vec::new();
    for u in 0..100 {
        let fields = |ws: &str, user: String| {
            format!(r#""Kind":"fail","ComputerName":"A","WorkstationName":"{ws}","User":"{user}""#)
        };
        events.push(ev(
            u * 10,
            &format!("w1-{u}"),
            &fields("W1", format!("u{u}")),
        ));
        if u < 99 {
            // 99 users, each twice.
            for k in 0..2 {
                events.push(ev(
                    u * 10 + k,
                    &format!("w2-{u}-{k}"),
                    &fields("W2", format!("u{u}")),
                ));
            }
        }
        // 100 users over two workstations.
        let ws = if u % 2 == 0 { "W3" } else { "W4" };
        events.push(ev(
            u * 10,
            &format!("w34-{u}"),
            &fields(ws, format!("u{u}")),
        ));
    }
    let fs = example(7, &failed, &events);
    assert_eq!(
        summary(&fs),
        [(owned(&["ComputerName=A", "WorkstationName=W1"]), 100.0, 100)]
    );

    // 08: three reconnaissance commands by one user on one computer within 5 minutes.
    let recon = base("recon_cmd_a", None, "ra")
        + &base("recon_cmd_b", None, "rb")
        + &base("recon_cmd_c", None, "rc");
    let cmd = |t: i64, kind: &str, host: &str, user: &str| {
        ev(
            t,
            &format!("{kind}-{host}-{user}-{t}"),
            &format!(r#""Kind":"{kind}","ComputerName":"{host}","User":"{user}""#),
        )
    };
    let events = vec![
        // alice: c, a, b within 4 minutes (any order).
        cmd(0, "rc", "A", "alice"),
        cmd(60, "ra", "A", "alice"),
        cmd(240, "rb", "A", "alice"),
        // bob: two of the three.
        cmd(0, "ra", "A", "bob"),
        cmd(60, "rb", "A", "bob"),
        // carol: all three over 6 minutes.
        cmd(0, "ra", "A", "carol"),
        cmd(100, "rb", "A", "carol"),
        cmd(400, "rc", "A", "carol"),
        // dave: the third on another computer.
        cmd(0, "ra", "A", "dave"),
        cmd(10, "rb", "A", "dave"),
        cmd(20, "rc", "B", "dave"),
    ];
    let fs = example(8, &recon, &events);
    assert_eq!(
        summary(&fs),
        [(owned(&["ComputerName=A", "User=alice"]), 3.0, 3)]
    );

    // 09: many failed logins, then a successful one, by one user within an hour.
    let logins = base("many_failed_logins", None, "fail") + &base("successful_login", None, "ok");
    let login = |t: i64, kind: &str, user: &str| {
        ev(
            t,
            &format!("{kind}-{user}-{t}"),
            &format!(r#""Kind":"{kind}","User":"{user}""#),
        )
    };
    let events = vec![
        login(0, "fail", "alice"),
        login(600, "ok", "alice"),
        // bob: success first.
        login(0, "ok", "bob"),
        login(60, "fail", "bob"),
        // carol: success after 66 minutes.
        login(0, "fail", "carol"),
        login(4000, "ok", "carol"),
    ];
    let fs = example(9, &logins, &events);
    assert_eq!(summary(&fs), [(owned(&["User=alice"]), 2.0, 2)]);

    // 10: more than 1 MB sent to websites by one (source, user) within an hour.
    let web = base("website_access", None, "web");
    let sent = |t: i64, user: &str, bytes: u64| {
        ev(
            t,
            &format!("{user}-{t}"),
            &format!(r#""Kind":"web","SourceIP":"10.0.0.1","User":"{user}","bytes_sent":{bytes}"#),
        )
    };
    let events = vec![
        sent(0, "alice", 400_000),
        sent(60, "alice", 400_000),
        sent(120, "alice", 400_000),
        // bob: exactly 1 MB (not more).
        sent(0, "bob", 500_000),
        sent(60, "bob", 500_000),
        // erin: 1.2 MB over two hours.
        sent(0, "erin", 400_000),
        sent(3601, "erin", 400_000),
        sent(7202, "erin", 400_000),
    ];
    let fs = example(10, &web, &events);
    assert_eq!(
        summary(&fs),
        [(owned(&["SourceIP=10.0.0.1", "User=alice"]), 1_200_000.0, 3)]
    );

    // 11: average bytes out above 500 over the last 24 hours, at each event; one finding
    // each time it starts to hold.
    let net = base("rule_a_id", None, "net");
    let out = |t: i64, user: &str, bytes: u64| {
        ev(
            t,
            &format!("{user}-{t}"),
            &format!(r#""Kind":"net","SourceIP":"10.0.0.3","User":"{user}","BytesOut":{bytes}"#),
        )
    };
    let day = 86_400;
    let events = vec![
        // frank: 100, 100, then 2000 (average 733) and 100 (575: still above).
        out(0, "frank", 100),
        out(60, "frank", 100),
        out(120, "frank", 2000),
        out(180, "frank", 100),
        // A day later the window holds only the new events: 100 (below), 1000 (550).
        out(2 * day, "frank", 100),
        out(2 * day + 60, "frank", 1000),
        // dave: 100 and 800, average 450.
        out(0, "dave", 100),
        out(60, "dave", 800),
    ];
    let fs = example(11, &net, &events);
    let s = summary(&fs);
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(
        s.iter()
            .all(|(g, _, _)| g == &owned(&["SourceIP=10.0.0.3", "User=frank"]))
    );
    assert!((s[0].1 - 2200.0 / 3.0).abs() < 1e-9 || (s[1].1 - 2200.0 / 3.0).abs() < 1e-9);
    assert!(s.iter().any(|(_, v, n)| *v == 550.0 && *n == 2), "{s:?}");

    // 12: a process image making up at most 1% of a computer's process starts in the
    // last 24 hours (the value is not a number: its share of the window, in percent).
    let procs = base("process_creation", None, "proc");
    let spawn = |t: i64, host: &str, image: &str| {
        ev(
            t,
            &format!("{host}-{t}"),
            &format!(r#""Kind":"proc","ComputerName":"{host}","image":"{image}""#),
        )
    };
    let svchost = r"C:\\Windows\\System32\\svchost.exe";
    let evil = r"C:\\Users\\Public\\evil.exe";
    let mut events = Vec::new();
    for i in 0..150 {
        events.push(spawn(i, "A", svchost));
    }
    events.push(spawn(200, "A", evil)); // 1 of 151: 0.66%
    events.push(spawn(201, "A", evil)); // 2 of 152: 1.3%
    for i in 0..50 {
        events.push(spawn(i, "B", svchost));
    }
    events.push(spawn(200, "B", evil)); // 1 of 51: 1.96%
    let fs = example(12, &procs, &events);
    let s = summary(&fs);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(
        s[0].0,
        owned(&["ComputerName=A", r"image=C:\Users\Public\evil.exe"])
    );
    assert!(
        (s[0].1 - 100.0 / 151.0).abs() < 1e-9 && s[0].2 == 1,
        "{s:?}"
    );
    assert_eq!(fs[0].event_ids, ["A-200"]);
}

/// `event_count_ecs.yml`: the same count, grouped by an ECS field, `dns.question.name`,
/// a nested path (and, in events that flatten it, a key with dots).
#[test]
fn event_count_ecs_groups_by_a_nested_field() {
    let rules = failed_logins("tests/schema/correlation/event_count_ecs.yml");
    let mut events = Vec::new();
    for i in 0..100 {
        // 100 nested within the hour, alternately nested and flattened for another name.
        events.push(ev(
            i * 30,
            &format!("n{i}"),
            r#""Kind":"failed","dns":{"question":{"name":"evil.example"}}"#,
        ));
        let other = if i % 2 == 0 {
            r#""Kind":"failed","dns":{"question":{"name":"split.example"}}"#
        } else {
            r#""Kind":"failed","dns.question.name":"split.example""#
        };
        events.push(ev(i * 30, &format!("s{i}"), other));
        // 99 for a third name.
        if i < 99 {
            events.push(ev(
                i,
                &format!("f{i}"),
                r#""Kind":"failed","dns":{"question":{"name":"few.example"}}"#,
            ));
        }
    }
    let fs = run(rules, &events);
    let c = of_rule(&fs, "Many failed logins");
    let mut names: Vec<&str> = c
        .iter()
        .filter_map(|f| f.group.as_ref()?["dns.question.name"].as_deref())
        .collect();
    names.sort();
    assert_eq!(names, ["evil.example", "split.example"], "{c:#?}");
    assert!(
        c.iter()
            .all(|f| f.event_ids.len() == 100 && f.value == Some(100.0))
    );
}
