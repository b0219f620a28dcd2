//! The JSON prefilter (leaves on fields read from the event's JSON decided without
//! parsing it: a string leaf is false where the JSON text lacks its literal, every leaf
//! takes its absent-field value where the text lacks the field's keys) must not change
//! any verdict. Property test: random rules on JSON fields (every string modifier,
//! wildcards, `cased`, `exists`, `null`, numbers, negations) over random CloudTrail
//! events whose JSON uses escapes (`\u0053` for `S`, `\/`, `\"`), non-ASCII text that
//! lowercases to ASCII (the Kelvin sign `K`), numbers, booleans, arrays, nested objects
//! and absent objects give the same (rule, event) matches with and without the
//! prefilter. A hand-written case pins each escape route.

mod common;

use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;
use vigil_detect::compile::{CompileOptions, Compiled};

/// The last two are top-level fields whose keys mostly occur only nested (in
/// `requestParameters`), sometimes at the top as well.
const FIELDS: [&str; 9] = [
    "requestParameters.bucketName",
    "requestParameters",
    "requestParameters.tags",
    "requestParameters.policy",
    "responseElements.status",
    "additionalEventData.MFAUsed",
    "requestParameters.missing",
    "bucketName",
    "policy",
];
/// String modifiers, then tests that are not string matches (their value is fixed).
const MODIFIERS: [&str; 10] = [
    "",
    "|contains",
    "|startswith",
    "|endswith",
    "|contains|cased",
    "|contains|all",
    "|exists",
    "|exists",
    "",
    "|gt",
];
/// Sigma values: plain words, wildcards, text with characters that have no literal
/// (`:`, `/`, `"`), numbers and booleans as text.
const VALUES: [&str; 12] = [
    "Suspended",
    "suspended",
    "secret*Bucket",
    "ad?in",
    "kelvin",
    "ACL:public",
    "spl/it",
    "'\"Effect\":\"Allow\"'",
    "1234",
    "true",
    "Enabled",
    "'*'",
];
/// JSON texts of `requestParameters.bucketName`-like string values: escapes that hide a
/// literal from a plain text search, and the characters around them.
const STRINGS: [&str; 10] = [
    r#""Suspended""#,
    r#""\u0053uspended""#,
    r#""\u212Aelvin""#,
    "\"\u{212A}elvin\"",
    r#""my-secret-Bucket""#,
    r#""admin""#,
    r#""ACL:public-read""#,
    r#""spl\/it""#,
    r#""{\"Effect\":\"Allow\"}""#,
    r#""Enabled""#,
];
/// JSON texts of other values: numbers, booleans, arrays, objects.
const OTHERS: [&str; 6] = [
    "1234",
    "true",
    r#"["Suspended", {"k": "Enabled"}]"#,
    r#"{"Status": "Suspended"}"#,
    r#"{"Effect" : "Allow"}"#,
    "null",
];
const NAMES: [&str; 2] = ["PutBucketVersioning", "GetObject"];

fn modifier_index(m: usize) -> usize {
    m % MODIFIERS.len()
}

fn rule(i: usize, field: usize, modifier: usize, value: usize, negate: bool) -> String {
    let m = modifier;
    let modifier = MODIFIERS[modifier_index(m)];
    let value = VALUES[value % VALUES.len()];
    let value = match modifier_index(m) {
        // `all` needs two values.
        5 => format!("[{value}, ended]"),
        6 => "true".to_string(),
        7 => "false".to_string(),
        8 => "null".to_string(),
        9 => "1000".to_string(),
        _ => value.to_string(),
    };
    format!(
        "title: rule {i}\nid: 00000000-0000-4000-8000-{i:012}\nlogsource: {{product: aws, service: cloudtrail}}\n\
         detection:\n  gate: {{eventName: {}}}\n  sel:\n    {}{}: {}\n  condition: gate and {}sel\n",
        NAMES[i % NAMES.len()],
        FIELDS[field % FIELDS.len()],
        modifier,
        value,
        if negate { "not " } else { "" },
    )
}

fn value(v: usize) -> &'static str {
    if v < STRINGS.len() {
        STRINGS[v]
    } else {
        OTHERS[(v - STRINGS.len()) % OTHERS.len()]
    }
}

/// An event; `d` over 15 leaves `responseElements` out, and `c` over 15 leaves out
/// `requestParameters` altogether (absent fields), under 3 adds `additionalEventData`.
/// Some events also have a top-level `policy` (`c % 5 == 1`, ahead of the nested one)
/// or `bucketName` (`d % 5 == 2`, last), or the text `"policy"` as a top-level value
/// (`b % 7 == 3`).
fn event(i: usize, name: usize, a: usize, b: usize, c: usize, d: usize) -> String {
    let request = if c > 15 {
        String::new()
    } else {
        format!(
            r#","requestParameters":{{"bucketName":{},"tags":{},"policy":{}}}"#,
            value(a),
            value(b),
            value(c)
        )
    };
    let response = if d > 15 {
        String::new()
    } else {
        format!(r#","responseElements":{{"status":{}}}"#, value(d))
    };
    let extra = if c < 3 {
        format!(r#","additionalEventData":{{"MFAUsed":{}}}"#, value(a))
    } else {
        String::new()
    };
    let top_policy = if c % 5 == 1 {
        format!(r#","policy":{}"#, value(b))
    } else {
        String::new()
    };
    let top_bucket = if d % 5 == 2 {
        format!(r#","bucketName":{}"#, value(a))
    } else {
        String::new()
    };
    let policy_text = if b % 7 == 3 {
        r#","errorCode":"policy""#
    } else {
        ""
    };
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"{}","eventID":"e{i}"{top_policy}{request}{response}{extra}{policy_text}{top_bucket}}}"#,
        NAMES[name % NAMES.len()],
    )
}

fn plan(rules: &str, without_prefilter: bool) -> Compiled {
    compile_rules_with(
        rules,
        &CompileOptions {
            without_prefilter,
            ..CompileOptions::default()
        },
    )
}

/// (rule id, event id) matches with and without the prefilter, and whether the
/// prefilter was built at all.
type Matches = BTreeSet<(String, String)>;

fn both(rules: &str, events: &str) -> (Matches, Matches) {
    let batches = batches_of(events.as_bytes());
    assert!(batches.1.is_empty(), "{:?}", batches.1);
    let with = plan(rules, false);
    let without = plan(rules, true);
    assert!(without.kinds.iter().all(|k| k.prefilter.is_none()));
    (
        matched_pairs(&with, &batches.0, None, "eventID"),
        matched_pairs(&without, &batches.0, None, "eventID"),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prefilter_changes_no_verdict(
        rules in proptest::collection::vec((0..9usize, 0..10usize, 0..12usize, any::<bool>()), 1..8),
        events in proptest::collection::vec((0..2usize, 0..16usize, 0..16usize, 0..19usize, 0..19usize), 1..40),
    ) {
        let rules: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(i, &(f, m, v, n))| rule(i, f, m, v, n))
            .collect();
        let rules = rules.join("---\n");
        let events: Vec<String> = events
            .iter()
            .enumerate()
            .map(|(i, &(n, a, b, c, d))| event(i, n, a, b, c, d))
            .collect();
        let events = events.join("\n");
        let (with, without) = both(&rules, &events);
        prop_assert_eq!(with, without, "rules:\n{}\nevents:\n{}", rules, events);
    }
}

/// Each way a matching value can be missing from a plain text search of the event: a
/// `\u` escape, a non-ASCII character that lowercases to ASCII, a value inside an object
/// matched as JSON text. All match, with the prefilter built; an event lacking the
/// literal does not.
#[test]
fn escaped_and_folded_values_still_match() {
    let rules = rule(0, 0, 1, 0, false) // bucketName|contains: Suspended
        + "---\n"
        + &rule(2, 0, 0, 4, false) // bucketName: kelvin
        + "---\n"
        + &rule(4, 1, 1, 0, false); // requestParameters|contains: Suspended
    let events = [
        event(0, 0, 1, 15, 15, 15), // "\u0053uspended"
        event(1, 0, 2, 15, 15, 15), // "\u212Aelvin" (escaped Kelvin sign)
        event(2, 0, 3, 15, 15, 15), // Kelvin sign, UTF-8
        event(3, 0, 5, 12, 15, 15), // tags: ["Suspended", ...]
        event(4, 0, 5, 15, 15, 15), // "admin": no rule
    ]
    .join("\n");
    let compiled = plan(&rules, false);
    assert!(compiled.kinds.iter().any(|k| k.prefilter.is_some()));
    let (with, without) = both(&rules, &events);
    let want: Matches = [
        ("00000000-0000-4000-8000-000000000000", "e0"),
        ("00000000-0000-4000-8000-000000000004", "e0"),
        ("00000000-0000-4000-8000-000000000002", "e1"),
        ("00000000-0000-4000-8000-000000000002", "e2"),
        ("00000000-0000-4000-8000-000000000004", "e3"),
    ]
    .into_iter()
    .map(|(r, e)| (r.to_string(), e.to_string()))
    .collect();
    assert_eq!(with, want);
    assert_eq!(without, want);
}

/// The plan of the SigmaHQ rules under `rules`, with or without the prefilter.
fn sigma_plan(rules: &std::path::Path, without_prefilter: bool) -> Compiled {
    let set = vigil_detect::rule::load::load_paths(&[rules.to_path_buf()]).unwrap();
    let opts = CompileOptions {
        without_prefilter,
        ..CompileOptions::default()
    };
    vigil_detect::compile::compile(set, &opts).unwrap()
}

/// Per event of `b` (a Kubernetes audit batch): whether it has a top-level key an audit
/// `Event` does not define.
fn unknown_keys(b: &vigil_ingest::EventBatch) -> &arrow::array::BooleanArray {
    b.batch
        .column_by_name(vigil_ingest::schema::UNKNOWN_KEYS_COLUMN)
        .and_then(|c| c.as_any().downcast_ref::<arrow::array::BooleanArray>())
        .expect("a Kubernetes audit batch has the unknown-keys column")
}

/// How many of `batches`' events the prefilter read to evaluate `plan`.
fn prefilter_scans(plan: &Compiled, batches: &[vigil_ingest::EventBatch]) -> u64 {
    let mut ev = vigil_detect::eval::Evaluator::new(plan).unwrap();
    for b in batches {
        ev.evaluate(plan, b.kind, &b.batch).unwrap();
    }
    ev.prefilter_scans()
}

/// Real Kubernetes pod creations (Panther's EKS audit test events) and generated ones
/// carry `capabilities` under each container's `securityContext`. SigmaHQ's
/// privileged-pod rule reads a top-level `capabilities`, which audit events do not
/// have: the prefilter finds the key only nested, so the rule is decided without
/// parsing those events, and every SigmaHQ Kubernetes verdict stays the same.
#[test]
fn keys_found_only_nested_spare_parsing() {
    use vigil_detect::eval::Evaluator;
    let c = corpus();
    let eks = std::fs::read_to_string(c.join("panther-tests/by_log_type/Amazon.EKS.Audit.jsonl"))
        .unwrap();
    let mut events = String::new();
    for line in eks.lines().filter(|l| !l.trim().is_empty()) {
        let mut case: serde_json::Value = serde_json::from_str(line).unwrap();
        // Many of Panther's cases are partial events; the two fields the decoder needs
        // to take one as an audit event are filled in where missing.
        let log = case["log"].as_object_mut().unwrap();
        for (k, v) in [
            ("apiVersion", "audit.k8s.io/v1"),
            ("requestReceivedTimestamp", "2024-05-01T00:00:00Z"),
        ] {
            log.entry(k).or_insert(v.into());
        }
        events.push_str(&case["log"].to_string());
        events.push('\n');
    }
    let mut data = batches_of(events.as_bytes());
    assert!(data.1.is_empty(), "{:?}", data.1);
    let pods = |data: &Batches| {
        data.0
            .iter()
            .map(|b| {
                (0..b.batch.num_rows())
                    .filter(|&r| {
                        text_value(b, "verb", r) == Some("create")
                            && text_value(b, "raw", r)
                                .is_some_and(|t| t.contains("\"capabilities\""))
                    })
                    .count()
            })
            .sum::<usize>()
    };
    assert_eq!(pods(&data), 3, "Panther's three pod creations");
    data.0.extend(generated_k8s(5_000).0);
    let pod_creations = pods(&data);
    let rules = c.join("sigma/rules/application/kubernetes");
    let (with, without) = (sigma_plan(&rules, false), sigma_plan(&rules, true));
    let parsed = |p: &Compiled| {
        let mut ev = Evaluator::new(p).unwrap();
        for b in &data.0 {
            ev.evaluate(p, b.kind, &b.batch).unwrap();
        }
        (ev.parsed_events(), ev.prefilter_scans())
    };
    let ((parsed_with, scans), (parsed_without, _)) = (parsed(&with), parsed(&without));
    // Only events with a top-level key an audit `Event` does not define (Panther's cases
    // carry Panther's own `p_*` keys) have their text read: in every other one,
    // `capabilities` and `hostPath` are known absent from the decoder's column.
    let with_unknown: usize = data
        .0
        .iter()
        .filter(|b| b.kind == vigil_ingest::SourceKind::K8sAudit)
        .map(|b| unknown_keys(b).true_count())
        .sum();
    assert!(
        scans > 0 && scans <= with_unknown as u64,
        "{scans} of {with_unknown}"
    );
    let generated = generated_k8s(5_000);
    let generated_unknown: usize = generated
        .0
        .iter()
        .map(|b| unknown_keys(b).true_count())
        .sum();
    assert_eq!(generated_unknown, 0);
    assert_eq!(
        prefilter_scans(&with, &generated.0),
        0,
        "generated pod creations are decided unread"
    );
    let matched = matched_pairs(&with, &data.0, None, "event_uid");
    assert!(!matched.is_empty());
    assert_eq!(matched, matched_pairs(&without, &data.0, None, "event_uid"));
    // Without the prefilter, every pod creation is parsed for `capabilities`; with it,
    // no event needs parsing for these rules.
    assert!(parsed_without >= pod_creations as u64, "{parsed_without}");
    assert_eq!(parsed_with, 0);
}

/// A key found at the top level often enough is then taken as present without walking
/// the event's text to it. Here `policy` is at the top of the first 100 events, only
/// nested (in `requestParameters`) in the next 100, and at the top again in the last 50:
/// the verdicts stay those without the prefilter, and the nested ones, no longer walked
/// to, are parsed.
#[test]
fn keys_settled_at_the_top_still_decide_correctly() {
    // Even rule numbers: gated on the events' `PutBucketVersioning`.
    let rules = [
        rule(0, 8, 6, 0, false), // policy|exists: true
        rule(2, 8, 8, 0, false), // policy: null
        rule(4, 8, 1, 0, false), // policy|contains: Suspended
    ]
    .join("---\n");
    let events: Vec<String> = (0..250)
        .map(|i| {
            // c = 16: a top-level `policy` ("Suspended", b = 0) and no
            // `requestParameters`; c = 4: only the nested one.
            let c = if (100..200).contains(&i) { 4 } else { 16 };
            event(i, 0, 0, 0, c, 0)
        })
        .collect();
    let events = events.join("\n");
    let (with, without) = both(&rules, &events);
    assert_eq!(with, without);
    // Rule 0 (`exists`) holds on the events with a top-level `policy`, rule 2 (`null`)
    // on the others, and rule 4 (`contains`) where it is at the top.
    let count = |n: &str| with.iter().filter(|(r, _)| r.ends_with(n)).count();
    assert_eq!(
        (
            count("000000000000"),
            count("000000000002"),
            count("000000000004")
        ),
        (150, 100, 150)
    );
    let plan = plan(&rules, false);
    let batches = batches_of(events.as_bytes()).0;
    let mut ev = vigil_detect::eval::Evaluator::new(&plan).unwrap();
    for b in &batches {
        ev.evaluate(&plan, b.kind, &b.batch).unwrap();
    }
    // Every event is parsed: those with `policy` at the top to read it, the nested
    // ones because the key was settled at the top after the first 64 walks. (Walked to,
    // they would have been decided absent without parsing.)
    assert_eq!(ev.parsed_events(), 250);
}

/// SigmaHQ's privileged-pod and host-path rules read top-level `capabilities` and
/// `hostPath`, keys an audit `Event` does not define. An event that has one anyway (the
/// decoder marks it in `has_unknown_keys`) is read and matched; one with only an
/// unrelated unknown key is read and not matched; the others are decided unread. The
/// verdicts are those without the prefilter.
#[test]
fn unknown_top_level_keys_are_read_and_the_others_decided_unread() {
    let pod = |i: usize, extra: &str| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a{i}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create","user":{{"username":"dev"}},"objectRef":{{"resource":"pods","namespace":"default","name":"p{i}","apiVersion":"v1"}},"requestObject":{{"spec":{{"containers":[{{"name":"c","securityContext":{{"capabilities":{{"add":["SYS_ADMIN"]}}}}}}],"volumes":[{{"name":"h","hostPath":{{"path":"/"}}}}]}}}},"requestReceivedTimestamp":"2024-05-01T00:00:0{i}Z"{extra}}}"#
        )
    };
    let events = [
        pod(0, ""),
        pod(1, r#","capabilities":["SYS_ADMIN"]"#),
        pod(2, r#","hostPath":"/""#),
        pod(3, r#","note":"capabilities""#),
        pod(4, ""),
    ]
    .join("\n");
    let data = batches_of(events.as_bytes());
    assert!(data.1.is_empty(), "{:?}", data.1);
    let unknown: Vec<bool> = data
        .0
        .iter()
        .flat_map(|b| unknown_keys(b).iter().map(|v| v == Some(true)))
        .collect();
    assert_eq!(unknown, [false, true, true, true, false]);
    let rules = corpus().join("sigma/rules/application/kubernetes/audit");
    let (with, without) = (sigma_plan(&rules, false), sigma_plan(&rules, true));
    let matched = matched_pairs(&with, &data.0, None, "event_uid");
    assert_eq!(matched, matched_pairs(&without, &data.0, None, "event_uid"));
    let ids: std::collections::BTreeSet<&str> = matched.iter().map(|(_, e)| e.as_str()).collect();
    assert_eq!(
        ids,
        ["a1:ResponseComplete", "a2:ResponseComplete"].into(),
        "{matched:?}"
    );
    assert_eq!(
        prefilter_scans(&with, &data.0),
        3,
        "only the events with unknown keys are read"
    );
}
