//! `fieldref` between fields read from typed columns and from the event's JSON, in
//! every pairing, with and without `not`, gated and ungated: Vigil's matches equal
//! rsigma's on events where the two values are equal, differ only in case, differ, or
//! one is missing. Field references are decided in phase 3 (the JSON parse), from the
//! values of just the fields a reference reads.

mod common;

use std::collections::BTreeSet;

use common::*;

/// (field, referenced field): JSON/typed, JSON/JSON, typed/typed, typed/JSON.
const PAIRS: [(&str, &str); 4] = [
    ("requestParameters.userName", "userIdentity.userName"),
    (
        "requestParameters.userName",
        "responseElements.user.userName",
    ),
    ("userIdentity.userName", "errorMessage"),
    ("userIdentity.userName", "requestParameters.userName"),
];

fn rules() -> String {
    let mut docs = Vec::new();
    for (i, (field, other)) in PAIRS.iter().enumerate() {
        for (j, condition) in ["gate and same", "gate and not same", "same"]
            .iter()
            .enumerate()
        {
            let n = i * 3 + j;
            docs.push(format!(
                "title: ref {n}\nid: 00000000-0000-4000-8000-{n:012}\n\
                 logsource: {{product: aws, service: cloudtrail}}\n\
                 detection:\n  gate: {{eventName: CreateAccessKey}}\n  \
                 same: {{{field}|fieldref: {other}}}\n  condition: {condition}\n"
            ));
        }
    }
    docs.join("---\n")
}

/// Events: every combination of the three user names present, equal to `alice`, to
/// `Alice`, to `bob`, or absent.
fn events() -> String {
    let value = |k: usize| match k {
        0 => Some("alice"),
        1 => Some("Alice"),
        2 => Some("bob"),
        _ => None,
    };
    let mut lines = Vec::new();
    for a in 0..4 {
        for b in 0..4 {
            for c in 0..4 {
                for name in ["CreateAccessKey", "GetUser"] {
                    let id = format!("e{a}{b}{c}{name}");
                    let ident = match value(a) {
                        Some(v) => {
                            format!(r#","userIdentity":{{"type":"IAMUser","userName":"{v}"}}"#)
                        }
                        None => String::new(),
                    };
                    let request = match value(b) {
                        Some(v) => format!(r#","requestParameters":{{"userName":"{v}"}}"#),
                        None => String::new(),
                    };
                    let response = match value(c) {
                        Some(v) => format!(
                            r#","responseElements":{{"user":{{"userName":"{v}"}}}},"errorMessage":"{v}""#
                        ),
                        None => String::new(),
                    };
                    lines.push(format!(
                        r#"{{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","eventID":"{id}"{ident}{request}{response}}}"#
                    ));
                }
            }
        }
    }
    lines.join("\n")
}

fn rsigma_pairs(rules: &str, events: &str) -> BTreeSet<(String, String)> {
    let coll = rsigma_parser::parse_sigma_yaml(rules).unwrap();
    assert!(coll.errors.is_empty(), "{:?}", coll.errors);
    let mut engine = rsigma_eval::Engine::new();
    assert!(engine.add_rules(&coll.rules).is_empty());
    let mut out = BTreeSet::new();
    for line in events.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for m in engine.evaluate(&rsigma_eval::JsonEvent::borrow(&v)) {
            out.insert((
                m.header.rule_id.clone().unwrap_or_default(),
                v["eventID"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn field_references_match_rsigma_in_every_pairing() {
    let (rules, events) = (rules(), events());
    let plan = compile_rules(&rules);
    let data = batches_of(events.as_bytes());
    assert!(data.1.is_empty(), "{:?}", data.1);
    let vigil = matched_pairs(&plan, &data.0, None, "eventID");
    let rsigma = rsigma_pairs(&rules, &events);
    // Every rule matches somewhere, and none everywhere.
    for n in 0..PAIRS.len() * 3 {
        let id = format!("00000000-0000-4000-8000-{n:012}");
        let hits = vigil.iter().filter(|(r, _)| *r == id).count();
        assert!(hits > 0 && hits < 128, "rule {n}: {hits} matches");
    }
    assert_eq!(vigil, rsigma);
}
