//! The compiled plan has the shape `ARCHITECTURE.md` describes: a predicate used by
//! several rules is one leaf, evaluated once; every string pattern on a field, from every
//! rule, is in that field's one Hyperscan database.

mod common;

use common::compile_rules;
use vigil_detect::fields::resolve;
use vigil_ingest::SourceKind;

const RULES: &str = r#"
title: one
id: one
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: ConsoleLogin, userAgent|contains: evil}
  condition: sel
---
title: two
id: two
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: ConsoleLogin, sourceIPAddress|startswith: '10.'}
  condition: sel
---
title: three
id: three
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName|startswith: Delete
    userAgent|contains: [evil, bad]
  condition: sel
"#;

#[test]
fn shared_predicates_are_one_leaf_and_each_field_has_one_database() {
    let plan = compile_rules(RULES);
    assert_eq!(plan.rules.len(), 3);
    let kp = &plan.kinds[SourceKind::CloudTrail.index()];
    let field = |name: &str| {
        let access = resolve(SourceKind::CloudTrail, name);
        kp.fields
            .iter()
            .position(|f| f.access == access)
            .unwrap_or_else(|| panic!("{name} not in the plan"))
    };
    let leaves_on = |fi: usize| -> Vec<&str> {
        let mut d: Vec<&str> = kp
            .leaves
            .iter()
            .filter(|l| l.field == fi)
            .map(|l| l.describe.as_str())
            .collect();
        d.sort();
        d
    };
    // `eventName: ConsoleLogin` (rules one and two) is one leaf; `startswith Delete` is
    // the other. `userAgent|contains: evil` (rules one and three) is one leaf, `bad` the
    // other.
    let (name, agent, ip) = (
        field("eventName"),
        field("userAgent"),
        field("sourceIPAddress"),
    );
    assert_eq!(leaves_on(name).len(), 2, "{:?}", leaves_on(name));
    assert_eq!(leaves_on(agent).len(), 2, "{:?}", leaves_on(agent));
    assert_eq!(leaves_on(ip).len(), 1);
    assert_eq!(kp.leaves.len(), 5);
    // One database per field, holding the patterns of every rule on it: each pattern
    // leads to exactly one leaf, and together they cover the field's leaves.
    for fi in [name, agent, ip] {
        let db = kp.fields[fi]
            .db
            .as_ref()
            .expect("a string field has a database");
        let mut covered: Vec<u32> = db.leaves_of.iter().flatten().copied().collect();
        covered.sort();
        covered.dedup();
        let mut want: Vec<u32> = (0..kp.leaves.len() as u32)
            .filter(|&l| kp.leaves[l as usize].field == fi)
            .collect();
        want.sort();
        assert_eq!(covered, want, "field {fi}");
    }
    // Each rule's condition reads the shared leaves: rules one and two both reach the
    // ConsoleLogin leaf.
    let console = kp
        .leaves
        .iter()
        .position(|l| l.field == name && l.describe.contains("ConsoleLogin"))
        .expect("ConsoleLogin leaf") as u32;
    let reading: Vec<usize> = kp
        .rules
        .iter()
        .filter(|(_, node)| {
            let mut ls = Vec::new();
            node.leaves(&mut ls);
            ls.contains(&console)
        })
        .map(|(r, _)| *r)
        .collect();
    assert_eq!(reading.len(), 2, "{reading:?}");
}
