//! A field whose gate leaves all have a bound (`compile::gate_bound`) is looked up only on
//! the rows whose value can satisfy one, and its other leaves lazily. That must change no
//! verdict.
//!
//! - Length bounds (exact literals): random rules gated on `userAgent` equalities (ASCII
//!   and not, case-insensitive and `cased`) mixed with rules gated on `eventName` that
//!   read `userAgent` otherwise, over events whose user agents are mostly long (so the
//!   bounded path is taken) with some equal to the literals in other cases or in other
//!   Unicode forms.
//! - Literal bounds (patterns that require a literal): random rules gated on
//!   `userIdentity.arn` (`re` with and without `i`, `contains` with and without `cased`,
//!   `endswith`, a regular expression that requires nothing) mixed with rules that read it
//!   otherwise, over long ARNs, some holding the literals in other cases, in other Unicode
//!   forms, or split across two consecutive events.
//!
//! Either way the matches must be the same with and without the bounds, on plain and on
//! dictionary-encoded batches.

mod common;

use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;
use vigil_detect::compile::{CompileOptions, Compiled};

/// Literals of the `userAgent` equalities.
const LITERALS: [&str; 6] = [
    "TruffleHog",
    "kelvin",
    "Straße",
    "İstanbul",
    "curl/8.5",
    "ωmega",
];

/// User agents of the events: equal to a literal in another case or Unicode form, near
/// misses, and (most often) long ones that fit no literal's length.
const SHORT_AGENTS: [&str; 10] = [
    "trufflehog",
    "TRUFFLEHOG",
    "\u{212A}ELVIN",
    "STRASSE",
    "straße",
    "i\u{307}stanbul",
    "CURL/8.5",
    "ΩMEGA",
    "TruffleHo",
    "",
];

const NAMES: [&str; 3] = ["GetCallerIdentity", "ListBuckets", "CreateUser"];
const TOKENS: [&str; 4] = ["trufflehog", "python", "\u{212A}", "cli"];

fn rule(i: usize, shape: usize, lit: usize, cased: bool, name: usize, token: usize) -> String {
    let lit = LITERALS[lit % LITERALS.len()];
    let m = if cased { "|cased" } else { "" };
    let name = NAMES[name % NAMES.len()];
    let token = TOKENS[token % TOKENS.len()];
    let detection = match shape % 5 {
        0 => format!("  sel: {{userAgent{m}: '{lit}'}}\n  condition: sel\n"),
        1 => format!(
            "  sel: {{eventName: {name}, userAgent|contains: '{token}'}}\n  condition: sel\n"
        ),
        2 => format!(
            "  sel: {{userAgent{m}: '{lit}'}}\n  filter: {{userAgent|contains: '{token}'}}\n  condition: sel and not filter\n"
        ),
        3 => format!(
            "  sel: {{eventName: {name}}}\n  ua: {{userAgent|startswith: '{token}'}}\n  condition: sel and not ua\n"
        ),
        _ => format!("  sel: {{eventName: {name}}}\n  condition: sel\n"),
    };
    format!(
        "title: rule {i}\nid: 00000000-0000-4000-8000-{i:012}\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n{detection}"
    )
}

/// Event `i`: its user agent one of [`SHORT_AGENTS`], absent (the index past them: a null
/// in the column), or (`None`) a long one.
fn event(i: usize, name: usize, agent: Option<usize>) -> String {
    let agent = match agent {
        Some(a) if a == SHORT_AGENTS.len() => String::new(),
        Some(a) => format!(
            ",\"userAgent\":{}",
            serde_json::Value::String(SHORT_AGENTS[a % SHORT_AGENTS.len()].to_string())
        ),
        None => format!(
            ",\"userAgent\":\"aws-cli/2.15.{i} Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/s3.cp\""
        ),
    };
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"{}","eventID":"e{i}"{agent}}}"#,
        NAMES[name % NAMES.len()],
    )
}

fn plan(rules: &str, without_length_bounds: bool) -> Compiled {
    compile_rules_with(
        rules,
        &CompileOptions {
            without_length_bounds,
            ..CompileOptions::default()
        },
    )
}

/// Matches with and without the bounds, on plain and dictionary-encoded batches (all
/// four must agree); returns them.
fn same_either_way(rules: &str, events: &str) -> BTreeSet<(String, String)> {
    let plain = batches_of(events.as_bytes()).0;
    let dict: Vec<_> = plain.iter().map(encoded).collect();
    let (bounded, unbounded) = (plan(rules, false), plan(rules, true));
    let expect = matched_pairs(&unbounded, &plain, None, "event_uid");
    assert_eq!(
        matched_pairs(&bounded, &plain, None, "event_uid"),
        expect,
        "plain batches, rules:\n{rules}"
    );
    assert_eq!(
        matched_pairs(&unbounded, &dict, None, "event_uid"),
        expect,
        "dictionary batches without bounds, rules:\n{rules}"
    );
    assert_eq!(
        matched_pairs(&bounded, &dict, None, "event_uid"),
        expect,
        "dictionary batches, rules:\n{rules}"
    );
    expect
}

#[test]
fn a_value_lowercased_to_a_shorter_literal_still_matches() {
    // "\u{212A}ELVIN" (the Kelvin sign, 3 bytes) lowercases to "kelvin": 8 bytes against a
    // literal of 6, so only the bound for values that are not ASCII admits it. The other
    // rows are long, so the field is read through the bound.
    let rules = rule(0, 0, 1, false, 0, 0);
    let events: Vec<String> = (0..12)
        .map(|i| event(i, 0, (i == 5).then_some(2)))
        .collect();
    let matches = same_either_way(&rules, &events.join("\n"));
    let expect: BTreeSet<(String, String)> = [(
        "00000000-0000-4000-8000-000000000000".to_string(),
        "e5".to_string(),
    )]
    .into();
    assert_eq!(matches, expect);
}

#[test]
fn gated_and_lazily_read_leaves_of_one_field_both_decide() {
    // Rule 0: `userAgent: 'TruffleHog'` (the gate) and not containing "python"; rule 1:
    // gated on eventName, `userAgent|contains: 'python'` (read lazily). Rules 2 and 3 test
    // eventName alone, so that more rules can be gated on eventName than on userAgent
    // (as with SigmaHQ's rules) and rule 1 is gated on it.
    let rules = [
        rule(0, 2, 0, false, 0, 1),
        rule(1, 1, 0, false, 0, 1),
        rule(2, 4, 0, false, 1, 0),
        rule(3, 4, 0, false, 2, 0),
    ]
    .join("---\n");
    let events: Vec<String> = (0..16)
        .map(|i| event(i, 0, (i % 8 == 0).then_some(i / 8)))
        .collect();
    let plan = plan(&rules, false);
    let kp = &plan.kinds[vigil_ingest::SourceKind::CloudTrail.index()];
    // Every gate leaf on eventName and on userAgent is an equality: both have bounds.
    assert_eq!(kp.bounds.iter().filter(|b| b.is_some()).count(), 2);
    let matches = same_either_way(&rules, &events.join("\n"));
    // e0 and e8 have "trufflehog" and "TRUFFLEHOG" (rule 0); the 14 long ones contain
    // "Python" (rule 1).
    assert_eq!(
        matches
            .iter()
            .filter(|(r, _)| r.ends_with("000000000000"))
            .count(),
        2
    );
    assert_eq!(
        matches
            .iter()
            .filter(|(r, _)| r.ends_with("000000000001"))
            .count(),
        14
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn length_bounds_change_no_verdict(
        rules in proptest::collection::vec(
            (0..5usize, 0..6usize, any::<bool>(), 0..3usize, 0..4usize), 1..6),
        events in proptest::collection::vec(
            (0..3usize, prop_oneof![6 => Just(None), 1 => (0..=SHORT_AGENTS.len()).prop_map(Some)]),
            4..64),
    ) {
        // Two rules on eventName alone, so that rules reading both fields are gated on
        // eventName, as with SigmaHQ's rules.
        let rules: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(i, &(s, l, c, n, t))| rule(i, s, l, c, n, t))
            .chain([rule(90, 4, 0, false, 1, 0), rule(91, 4, 0, false, 2, 0)])
            .collect();
        let events: Vec<String> = events
            .iter()
            .enumerate()
            .map(|(i, &(n, a))| event(i, n, a))
            .collect();
        same_either_way(&rules.join("---\n"), &events.join("\n"));
    }
}

/// Rule shapes on `userIdentity.arn`; all but the last two are gated on it.
const ARN_RULES: [&str; 8] = [
    "  sel: {userIdentity.arn|re: '.+:assumed-role/aws:.+'}\n  condition: sel\n",
    "  sel: {userIdentity.arn|re|i: ':assumed-role/aws:'}\n  condition: sel\n",
    "  sel: {userIdentity.arn|contains: ':assumed-role/kube:'}\n  condition: sel\n",
    "  sel: {userIdentity.arn|contains|cased: 'role/AWS:'}\n  condition: sel\n",
    "  sel: {userIdentity.arn|endswith: '/session-7'}\n  condition: sel\n",
    "  sel: {userIdentity.arn|re: '.+:assumed-role/aws:.+'}\n  filter: {userIdentity.arn|contains: 'admin'}\n  condition: sel and not filter\n",
    "  sel: {eventName: GetCallerIdentity, userIdentity.arn|contains: 'ec2'}\n  condition: sel\n",
    "  sel: {eventName: ListBuckets, userIdentity.arn|re: 'ab|aws:'}\n  condition: sel\n",
];

/// Role names in the ARNs: most hold no literal; others hold one in either case, with the
/// Kelvin sign for a `k` (which lowercases to `k`), or only its first or second half.
const ROLES: [&str; 12] = [
    "Admin",
    "ReadOnly",
    "aws:ec2-instance",
    "AWS:ec2-instance",
    "aws:admin",
    "kube:node",
    "KUBE:node",
    "\u{212A}ube:node",
    "eks-node-group",
    "aws-reserved-sso",
    "x/session-7",
    "y",
];

fn arn_rule(i: usize, shape: usize) -> String {
    format!(
        "title: arn rule {i}\nid: 00000000-0000-4000-8000-{i:012}\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n{}",
        ARN_RULES[shape % ARN_RULES.len()]
    )
}

/// An event whose ARN is that of role `role` (`None`: a role holding no literal), with a
/// long session name; `split` makes the value start with "role/aws:" and end with
/// ":assumed-", so that two consecutive such values hold the literal ":assumed-role/aws:"
/// across them in the column's text (and neither holds it).
fn arn_event(i: usize, name: usize, role: Option<usize>, split: bool) -> String {
    let role = match role {
        Some(r) => ROLES[r % ROLES.len()].to_string(),
        None => format!("service-role-{i}"),
    };
    let arn = if split {
        format!("role/aws:session-{i}-of-{role}-with-a-long-name:assumed-")
    } else {
        format!("arn:aws:sts::123456789012:assumed-role/{role}/session-{i}-with-a-long-name")
    };
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"{}","eventID":"e{i}","userIdentity":{{"type":"AssumedRole","arn":{}}}}}"#,
        NAMES[name % NAMES.len()],
        serde_json::Value::String(arn),
    )
}

#[test]
fn literal_bounds_are_taken_and_decide_like_full_lookups() {
    let rules = (0..6)
        .map(|s| arn_rule(s, s))
        .collect::<Vec<_>>()
        .join("---\n");
    let plan = plan(&rules, false);
    let kp = &plan.kinds[vigil_ingest::SourceKind::CloudTrail.index()];
    assert_eq!(
        kp.bounds.iter().filter(|b| b.is_some()).count(),
        1,
        "the ARN has a bound"
    );
    // 40 events, mostly without a literal; e3 and e4 ("aws:" roles), e5 ("AWS:" role),
    // e6 and e7 ("kube:" in both cases), e8 (the Kelvin sign), e11 ("/session-7" is not
    // its ending: no match), e20 and e21 (the literal split across them).
    let events: Vec<String> = (0..40)
        .map(|i| match i {
            3 => arn_event(i, 0, Some(2), false),
            4 => arn_event(i, 0, Some(4), false),
            5 => arn_event(i, 0, Some(3), false),
            6 => arn_event(i, 0, Some(5), false),
            7 => arn_event(i, 0, Some(6), false),
            8 => arn_event(i, 0, Some(7), false),
            11 => arn_event(i, 0, Some(10), false),
            20 | 21 => arn_event(i, 0, None, true),
            _ => arn_event(i, 0, None, false),
        })
        .collect();
    let matches = same_either_way(&rules, &events.join("\n"));
    let by_rule = |r: usize| -> Vec<String> {
        let id = format!("00000000-0000-4000-8000-{r:012}");
        matches
            .iter()
            .filter(|(rule, _)| *rule == id)
            .map(|(_, e)| e.clone())
            .collect()
    };
    // The case-sensitive expression: only the lowercase "aws:" roles.
    assert_eq!(by_rule(0), ["e3", "e4"]);
    // Case-insensitive: "AWS:" too.
    assert_eq!(by_rule(1), ["e3", "e4", "e5"]);
    // Sigma's case-insensitive contains: both cases, and the Kelvin sign lowercased.
    assert_eq!(by_rule(2), ["e6", "e7", "e8"]);
    assert_eq!(by_rule(3), ["e5"]);
    assert!(by_rule(4).is_empty());
    // "aws:admin" is filtered out.
    assert_eq!(by_rule(5), ["e3"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn literal_bounds_change_no_verdict(
        shapes in proptest::collection::vec(0..ARN_RULES.len(), 1..6),
        events in proptest::collection::vec(
            (0..3usize, prop_oneof![8 => Just(None), 1 => (0..ROLES.len()).prop_map(Some)], 0..16u8),
            4..64),
    ) {
        // Two rules on eventName alone, so that rules reading both fields are gated on
        // eventName, as with SigmaHQ's rules.
        let rules: Vec<String> = shapes
            .iter()
            .enumerate()
            .map(|(i, &s)| arn_rule(i, s))
            .chain([rule(90, 4, 0, false, 1, 0), rule(91, 4, 0, false, 2, 0)])
            .collect();
        let events: Vec<String> = events
            .iter()
            .enumerate()
            .map(|(i, &(n, role, split))| arn_event(i, n, role, split == 0))
            .collect();
        same_either_way(&rules.join("---\n"), &events.join("\n"));
    }
}
