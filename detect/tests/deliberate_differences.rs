//! Where Vigil and rsigma differ on purpose, each pinned with a minimal case checked
//! against the Sigma specification.

mod common;

use std::collections::BTreeSet;

use common::*;

fn vigil_ids(rules: &str, events: &str) -> BTreeSet<String> {
    let plan = compile_rules(rules);
    matched_pairs(&plan, &batches_of(events.as_bytes()).0, None, "event_uid")
        .into_iter()
        .map(|(_, id)| id)
        .collect()
}

fn rsigma_ids(rules: &str, events: &str) -> BTreeSet<String> {
    let coll = rsigma_parser::parse_sigma_yaml(rules).unwrap();
    let mut engine = rsigma_eval::Engine::new();
    assert!(engine.add_rules(&coll.rules).is_empty());
    let mut out = BTreeSet::new();
    for line in events.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if !engine
            .evaluate(&rsigma_eval::JsonEvent::borrow(&v))
            .is_empty()
        {
            out.insert(v["eventID"].as_str().unwrap().to_string());
        }
    }
    out
}

fn ct(id: &str, name: &str, extra: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"{name}","eventID":"{id}"{extra}}}"#
    )
}

/// SigmaHQ's aws_disable_bucket_versioning writes `requestParameters|contains:
/// 'Suspended'`, but in CloudTrail `requestParameters` is an object
/// (`{"VersioningConfiguration":{"Status":"Suspended"}}`). The rule's authors mean "the
/// request suspends versioning"; Vigil matches a string test on an object against its
/// JSON text, rsigma never matches an object.
#[test]
fn string_match_on_an_object_uses_its_json_text() {
    let rule = std::fs::read_to_string(
        corpus().join("sigma/rules/cloud/aws/cloudtrail/aws_disable_bucket_versioning.yml"),
    )
    .unwrap();
    let events = [
        ct("suspend", "PutBucketVersioning", r#","requestParameters":{"bucketName":"b","VersioningConfiguration":{"Status":"Suspended"}}"#),
        ct("enable", "PutBucketVersioning", r#","requestParameters":{"bucketName":"b","VersioningConfiguration":{"Status":"Enabled"}}"#),
    ]
    .join("\n");
    assert_eq!(
        vigil_ids(&rule, &events),
        BTreeSet::from(["suspend".to_string()])
    );
    assert_eq!(rsigma_ids(&rule, &events), BTreeSet::new());
}

/// rsigma 0.23 anchors `startswith`/`endswith` values that contain wildcards at the wrong
/// end (a `startswith` pattern with `?` behaves like `endswith`). The specification:
/// "startswith: The value is expected at the beginning of the field's content".
#[test]
fn startswith_with_a_wildcard_is_anchored_at_the_start() {
    let rule = r#"
title: starts
id: starts-with-wildcard
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName|startswith: 'Put?ucket'
  condition: sel
"#;
    let events = [
        ct("starts", "PutBucketPolicy", ""),
        ct("ends", "XPutBucket", ""),
    ]
    .join("\n");
    // Vigil: only the value that starts with the pattern.
    assert_eq!(
        vigil_ids(rule, &events),
        BTreeSet::from(["starts".to_string()])
    );
    // rsigma: the reverse.
    assert_eq!(
        rsigma_ids(rule, &events),
        BTreeSet::from(["ends".to_string()])
    );
}

/// The specification on `exists`: "this check only verifies the presence of a field, not
/// its value, be it empty or null". rsigma 0.23 treats a field whose value is `null` as
/// absent. Vigil counts it present, on typed columns (`errorCode`: a null column row is
/// then looked up in the event's JSON) and on paths read from the JSON alike; a `null`
/// search and `neq` keep treating it as having no value.
#[test]
fn exists_counts_a_field_whose_value_is_null() {
    let rules = r#"
title: typed present
id: typed-present
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    errorCode|exists: true
  condition: sel
---
title: typed absent
id: typed-absent
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    errorCode|exists: false
  condition: sel
---
title: raw present
id: raw-present
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    requestParameters.policy|exists: true
  condition: sel
---
title: raw absent
id: raw-absent
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    requestParameters.policy|exists: false
  condition: sel
---
title: null
id: is-null
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    requestParameters.policy: null
  condition: sel
---
title: neq
id: not-x
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    requestParameters.policy|neq: x
  condition: sel
"#;
    let events = [
        ct(
            "value",
            "PutBucketPolicy",
            r#","errorCode":"AccessDenied","requestParameters":{"policy":"p"}"#,
        ),
        ct(
            "null",
            "PutBucketPolicy",
            r#","errorCode":null,"requestParameters":{"policy":null}"#,
        ),
        ct("absent", "PutBucketPolicy", r#","requestParameters":{}"#),
        ct(
            "empty",
            "PutBucketPolicy",
            r#","errorCode":"","requestParameters":{"policy":""}"#,
        ),
    ]
    .join("\n");
    let per_rule = |id: &str| -> BTreeSet<String> {
        let plan = compile_rules(rules);
        matched_pairs(&plan, &batches_of(events.as_bytes()).0, None, "event_uid")
            .into_iter()
            .filter(|(r, _)| r == id)
            .map(|(_, e)| e)
            .collect()
    };
    let set = |ids: &[&str]| -> BTreeSet<String> { ids.iter().map(|s| s.to_string()).collect() };
    for kind in ["typed", "raw"] {
        assert_eq!(
            per_rule(&format!("{kind}-present")),
            set(&["value", "null", "empty"]),
            "{kind}"
        );
        assert_eq!(
            per_rule(&format!("{kind}-absent")),
            set(&["absent"]),
            "{kind}"
        );
    }
    assert_eq!(per_rule("is-null"), set(&["null", "absent"]));
    assert_eq!(per_rule("not-x"), set(&["value", "empty"]));
    // rsigma: the null field is absent.
    let only = |id: &str| -> String {
        rules
            .split("---")
            .find(|r| r.contains(&format!("id: {id}\n")))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        rsigma_ids(&only("typed-present"), &events),
        set(&["value", "empty"])
    );
    assert_eq!(
        rsigma_ids(&only("raw-absent"), &events),
        set(&["null", "absent"])
    );
}
