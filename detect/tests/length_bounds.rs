//! A field whose gate leaves are all exact literals is looked up only on the rows whose
//! value has a length that can equal one (`compile::len_bound`), and its other leaves
//! lazily. That must change no verdict. Property test: random rules gated on `userAgent`
//! equalities (ASCII and not, case-insensitive and `cased`) mixed with rules gated on
//! `eventName` that read `userAgent` otherwise, over events whose user agents are mostly
//! long (so the bounded path is taken) with some equal to the literals in other cases
//! or in other Unicode forms, give the same matches with and without the bounds, on
//! plain and on dictionary-encoded batches.

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

fn event(i: usize, name: usize, agent: Option<usize>) -> String {
    let agent = match agent {
        Some(a) => SHORT_AGENTS[a % SHORT_AGENTS.len()].to_string(),
        None => format!(
            "aws-cli/2.15.{i} Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/s3.cp"
        ),
    };
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"{}","eventID":"e{i}","userAgent":{}}}"#,
        NAMES[name % NAMES.len()],
        serde_json::Value::String(agent),
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
            (0..3usize, prop_oneof![6 => Just(None), 1 => (0..10usize).prop_map(Some)]),
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
