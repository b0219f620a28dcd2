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
