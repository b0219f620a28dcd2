//! Fields read lazily (only on the rows where a rule reading them has its gate open) must
//! not change any verdict. Property test: random rule sets mixing gated and ungated
//! rules, negations, `1 of`/`all of`, over random CloudTrail events, give the same
//! (rule, event) matches in Vigil as in rsigma, which reads every field of every event.

mod common;

use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;

const NAMES: [&str; 4] = ["GetObject", "PutObject", "ListBuckets", "DeleteBucket"];
const AGENTS: [&str; 4] = ["curl/8.5", "Boto3/1.34", "aws-cli/2.15", "Mozilla/5.0"];
const IPS: [&str; 3] = ["10.0.0.1", "203.0.113.9", "10.9.8.7"];
const ERRORS: [&str; 2] = ["AccessDenied", "NoSuchBucket"];

const CONDITIONS: [&str; 10] = [
    "name and agent",
    "name and not ip",
    "(name or error) and agent",
    "not name and ip",
    "agent",
    "name and (agent or not ip)",
    "all of them",
    "1 of them",
    "error and not agent",
    "name",
];

fn rule(i: usize, name: usize, agent: usize, ip: usize, error: usize, cond: usize) -> String {
    format!(
        "title: rule {i}\nid: 00000000-0000-4000-8000-{i:012}\nlogsource: {{product: aws, service: cloudtrail}}\n\
         detection:\n  name: {{eventName: {}}}\n  agent: {{userAgent|contains: '{}'}}\n  \
         ip: {{sourceIPAddress|startswith: '{}'}}\n  error: {{errorCode: {}}}\n  condition: {}\n",
        NAMES[name % NAMES.len()],
        // A token of the agent: "curl", "boto3", ...
        AGENTS[agent % AGENTS.len()]
            .split('/')
            .next()
            .unwrap_or_default(),
        if ip.is_multiple_of(2) { "10." } else { "203." },
        ERRORS[error % ERRORS.len()],
        CONDITIONS[cond % CONDITIONS.len()],
    )
}

fn event(i: usize, name: usize, agent: usize, ip: usize, error: usize) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"{}","eventID":"e{i}","userAgent":"{}","sourceIPAddress":"{}","errorCode":"{}"}}"#,
        NAMES[name % NAMES.len()],
        AGENTS[agent % AGENTS.len()],
        IPS[ip % IPS.len()],
        ERRORS[error % ERRORS.len()],
    )
}

type Pair = (String, String);

fn vigil(rules: &str, events: &str) -> BTreeSet<Pair> {
    let plan = compile_rules(rules);
    matched_pairs(&plan, &batches_of(events.as_bytes()).0, None, "eventID")
}

fn rsigma(rules: &str, events: &str) -> BTreeSet<Pair> {
    let coll = rsigma_parser::parse_sigma_yaml(rules).unwrap();
    assert!(coll.errors.is_empty(), "{:?}", coll.errors);
    let mut engine = rsigma_eval::Engine::new();
    let errs = engine.add_rules(&coll.rules);
    assert!(errs.is_empty(), "{errs:?}");
    let mut out = BTreeSet::new();
    for line in events.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["eventID"].as_str().unwrap().to_string();
        for res in engine.evaluate(&rsigma_eval::JsonEvent::borrow(&v)) {
            out.insert((res.header.rule_id.clone().unwrap_or_default(), id.clone()));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn lazily_read_fields_give_rsigmas_verdicts(
        rules in proptest::collection::vec((0..8usize, 0..8usize, 0..8usize, 0..8usize, 0..10usize), 1..7),
        events in proptest::collection::vec((0..8usize, 0..8usize, 0..8usize, 0..8usize), 1..60),
    ) {
        let rules: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(i, &(n, a, p, e, c))| rule(i, n, a, p, e, c))
            .collect();
        let rules = rules.join("---\n");
        let events: Vec<String> = events
            .iter()
            .enumerate()
            .map(|(i, &(n, a, p, e))| event(i, n, a, p, e))
            .collect();
        let events = events.join("\n");
        prop_assert_eq!(vigil(&rules, &events), rsigma(&rules, &events), "rules:\n{}", rules);
    }
}
