//! String matches on a number column (Kubernetes `responseStatus.code`, an Arrow integer
//! column) compare against the number's decimal text, as Sigma's values match: `403`
//! equals `'403'`, `startswith: '40'` holds on 403 and 404, and a number whose text
//! merely contains the digits in another order does not match.

mod common;

use common::*;
use vigil_detect::eval::Evaluator;

const RULES: &str = r#"
title: Forbidden, written as a number
id: 00000000-0000-4000-8000-0000000000a1
logsource: {product: kubernetes, service: audit}
detection:
  sel: {responseStatus.code: 403}
  condition: sel
---
title: Any 40x, as text
id: 00000000-0000-4000-8000-0000000000a2
logsource: {product: kubernetes, service: audit}
detection:
  sel: {responseStatus.code|startswith: '40'}
  condition: sel
---
title: Ends in 1
id: 00000000-0000-4000-8000-0000000000a3
logsource: {product: kubernetes, service: audit}
detection:
  sel: {responseStatus.code|endswith: '1'}
  condition: sel
"#;

fn k8s(audit_id: &str, code: i64) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{audit_id}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"get","user":{{"username":"alice"}},"sourceIPs":["10.0.0.1"],"responseStatus":{{"metadata":{{}},"code":{code}}},"requestReceivedTimestamp":"2026-11-29T10:00:00.000000Z"}}"#
    )
}

#[test]
fn number_columns_match_string_patterns_on_their_decimal_text() {
    let plan = compile_rules(RULES);
    let events = [
        k8s("a0", 403),
        k8s("a1", 404),
        k8s("a2", 200),
        k8s("a3", 304),
        k8s("a4", 201),
        k8s("a5", 401),
    ]
    .join("\n");
    let batches = batches_of(events.as_bytes()).0;
    assert_eq!(batches.len(), 1);
    let mut ev = Evaluator::new(&plan).unwrap();
    // Twice: the second pass answers from the value cache.
    for _ in 0..2 {
        assert_eq!(
            matched_rows(&plan, &mut ev, &batches[0]),
            vec![
                ("00000000-0000-4000-8000-0000000000a1".to_string(), vec![0]),
                (
                    "00000000-0000-4000-8000-0000000000a2".to_string(),
                    vec![0, 1, 5]
                ),
                (
                    "00000000-0000-4000-8000-0000000000a3".to_string(),
                    vec![4, 5]
                ),
            ]
        );
    }
}

/// Tests on an integer column, in every kind Sigma has: numbers, text patterns,
/// comparisons, `null`, `exists`, negation.
const INT_TESTS: [&str; 12] = [
    "403",
    "'40*'",
    "'*1'",
    "'ALLOW'",
    "null",
    "[401, 403]",
    "|exists: true",
    "|exists: false",
    "|gt: 300",
    "|lte: 201",
    "|contains: '0'",
    "|re: '^5..$'",
];

fn int_rule(i: usize, test: usize, negate: bool) -> String {
    let t = INT_TESTS[test % INT_TESTS.len()];
    let sel = match t.strip_prefix('|') {
        Some(modified) => format!("responseStatus.code|{modified}"),
        None => format!("responseStatus.code: {t}"),
    };
    format!(
        "title: int {i}\nid: 00000000-0000-4000-8000-{i:012}\nlogsource: {{product: kubernetes, service: audit}}\n\
         detection:\n  sel:\n    {sel}\n  verb: {{verb: get}}\n  condition: verb and {}sel\n",
        if negate { "not " } else { "" }
    )
}

/// An event with status code `code`: 0 leaves `responseStatus` out, 1 leaves its
/// `code` out, 2 makes it `null`.
fn k8s_code(audit_id: &str, code: i64) -> String {
    let status = match code {
        0 => String::new(),
        1 => r#","responseStatus":{"metadata":{}}"#.to_string(),
        2 => r#","responseStatus":{"code":null}"#.to_string(),
        c => format!(r#","responseStatus":{{"code":{c}}}"#),
    };
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{audit_id}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"get","user":{{"username":"alice"}}{status},"requestReceivedTimestamp":"2026-11-29T10:00:00.000000Z"}}"#
    )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Integer columns are decided once per distinct value (the first 16; any further
    /// value row by row) unless a field reference reads them, when every row is
    /// tested. A rule set with and without an extra field reference on
    /// `responseStatus.code` takes the two routes; the other rules' matches must agree.
    #[test]
    fn integer_columns_decide_each_distinct_value_once(
        rules in proptest::collection::vec((0..12usize, proptest::prelude::any::<bool>()), 1..10),
        codes in proptest::collection::vec(
            proptest::prop_oneof![0..3i64, 100..600i64, 400..405i64],
            1..300,
        ),
    ) {
        let rules: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(i, &(t, n))| int_rule(i, t, n))
            .collect();
        let rules = rules.join("---\n");
        let with_reference = format!(
            "{rules}---\ntitle: reference\nid: 10000000-0000-4000-8000-000000000000\n\
             logsource: {{product: kubernetes, service: audit}}\n\
             detection:\n  sel: {{responseStatus.code|fieldref: verb}}\n  condition: sel\n"
        );
        let events: Vec<String> = codes
            .iter()
            .enumerate()
            .map(|(i, &c)| k8s_code(&format!("a{i}"), c))
            .collect();
        let batches = batches_of(events.join("\n").as_bytes()).0;
        let by_value = compile_rules(&rules);
        let by_row = compile_rules(&with_reference);
        proptest::prop_assert!(by_row.kinds.iter().any(|k| k.referenced.iter().any(|&r| r)));
        let mut row_pairs = matched_pairs(&by_row, &batches, None, "auditID");
        row_pairs.retain(|(r, _)| !r.starts_with("10000000"));
        proptest::prop_assert_eq!(matched_pairs(&by_value, &batches, None, "auditID"), row_pairs);
    }
}
