//! Rule gates: a rule none of whose typed-column gate leaves holds on any row of a batch
//! is skipped without evaluating its condition (what keeps thousands of rules cheap),
//! and skipping never changes what matches.

mod common;

use common::*;
use vigil_detect::eval::Evaluator;

const RULES: &str = r#"
title: Never seen event name, with a JSON-path test
id: 00000000-0000-4000-8000-000000000001
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: NeverHappens, requestParameters.bucketName|contains: logs}
  condition: sel
---
title: Bucket read
id: 00000000-0000-4000-8000-000000000002
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: GetObject}
  condition: sel
---
title: Either of two names, one seen
id: 00000000-0000-4000-8000-000000000003
logsource: {product: aws, service: cloudtrail}
detection:
  a: {eventName: NeverHappens}
  b: {eventName: PutObject}
  condition: a or b
---
title: No gate (a negation)
id: 00000000-0000-4000-8000-000000000004
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: GetObject}
  condition: not sel
"#;

/// The (rule id, rows) matches of `plan` on `events` (NDJSON, one batch), and the
/// evaluator that found them.
fn evaluate(
    plan: &vigil_detect::compile::Compiled,
    events: &str,
) -> (Vec<(String, Vec<usize>)>, Evaluator) {
    let batches = batches_of(events.as_bytes()).0;
    assert_eq!(batches.len(), 1);
    let mut ev = Evaluator::new(plan).unwrap();
    let matched = matched_rows(plan, &mut ev, &batches[0]);
    (matched, ev)
}

fn ct(id: &str, name: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"{name}","eventID":"{id}","requestParameters":{{"bucketName":"app-logs"}}}}"#
    )
}

#[test]
fn rules_whose_gate_holds_nowhere_are_skipped_and_matches_are_unchanged() {
    let plan = compile_rules(RULES);
    let events = [
        ct("e1", "GetObject"),
        ct("e2", "PutObject"),
        ct("e3", "GetObject"),
    ]
    .join("\n");
    let (matched, ev) = evaluate(&plan, &events);
    assert_eq!(
        matched,
        vec![
            (
                "00000000-0000-4000-8000-000000000002".to_string(),
                vec![0, 2]
            ),
            ("00000000-0000-4000-8000-000000000003".to_string(), vec![1]),
            ("00000000-0000-4000-8000-000000000004".to_string(), vec![1]),
        ]
    );
    // Rule 1's gate (eventName = NeverHappens) holds on no row: skipped. Rule 3's gate
    // (NeverHappens or PutObject) holds on one; rule 4 has no gate.
    assert_eq!(ev.gate_counts(), (3, 1));
}

const LAZY_RULES: &str = r#"
title: Gated on the event name, reads the user agent
id: 00000000-0000-4000-8000-000000000011
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: GetObject, userAgent|contains: curl}
  condition: sel
---
title: Not gated (a negation), reads the user agent
id: 00000000-0000-4000-8000-000000000012
logsource: {product: aws, service: cloudtrail}
detection:
  name: {eventName: GetObject}
  ua: {userAgent|contains: boto}
  condition: ua and not name
---
title: Gated on the event name, reads the source address only under a negation
id: 00000000-0000-4000-8000-000000000013
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: PutObject}
  known: {sourceIPAddress|startswith: '10.'}
  condition: sel and not known
"#;

fn ct_from(id: &str, name: &str, agent: &str, ip: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"{name}","eventID":"{id}","userAgent":"{agent}","sourceIPAddress":"{ip}"}}"#
    )
}

/// The user agent and source address are read only on the rows where a rule reading
/// them has its gate open; every other row must still come out as if they were read
/// everywhere (rules false there, negations included).
#[test]
fn fields_no_rule_is_gated_on_are_read_lazily_with_the_same_matches() {
    let plan = compile_rules(LAZY_RULES);
    let events = [
        ct_from("e0", "GetObject", "curl/8.5", "10.0.0.1"),
        ct_from("e1", "GetObject", "boto3/1.34", "203.0.113.9"),
        ct_from("e2", "PutObject", "curl/8.5", "203.0.113.9"),
        ct_from("e3", "PutObject", "boto3/1.34", "10.1.2.3"),
        ct_from("e4", "ListBuckets", "Boto3/1.34", "198.51.100.7"),
        ct_from("e5", "ListBuckets", "curl/8.5", "10.9.9.9"),
    ]
    .join("\n");
    let (matched, _) = evaluate(&plan, &events);
    assert_eq!(
        matched,
        vec![
            // GetObject with curl.
            ("00000000-0000-4000-8000-000000000011".to_string(), vec![0]),
            // boto (any case) on a row that is not GetObject.
            (
                "00000000-0000-4000-8000-000000000012".to_string(),
                vec![3, 4]
            ),
            // PutObject from outside 10/8.
            ("00000000-0000-4000-8000-000000000013".to_string(), vec![2]),
        ]
    );
}
