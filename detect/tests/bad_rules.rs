//! Rule files that are malformed in ways a parser can trip on: each is rejected with a
//! reason naming the file, and the other rules still load.

use vigil_detect::compile::{CompileOptions, Compiled, compile};
use vigil_detect::rule::load::load_paths;

const GOOD: &str = r#"
title: Good
id: 20000000-0000-4000-8000-000000000001
logsource: {product: aws, service: cloudtrail}
detection: {sel: {eventName: ConsoleLogin}, condition: sel}
"#;

/// The titles of the rules that loaded, and (title, reason) of those rejected.
fn titles_and_reasons(plan: &Compiled) -> (Vec<String>, Vec<(String, String)>) {
    let loaded = plan.report.loaded.iter().map(|l| l.title.clone()).collect();
    let reasons = plan
        .report
        .rejected
        .iter()
        .map(|r| (r.title.clone().unwrap_or_default(), r.reason.clone()))
        .collect();
    (loaded, reasons)
}

/// The reason the rule titled `title` was rejected (panics if it was not).
fn reason_of<'a>(reasons: &'a [(String, String)], title: &str) -> &'a str {
    reasons
        .iter()
        .find(|(t, _)| t == title)
        .map(|(_, r)| r.as_str())
        .unwrap_or_else(|| panic!("{title} not rejected: {reasons:?}"))
}

/// `rules` written to a file, loaded and compiled as `vigil rules check` does.
fn compiled_file(rules: &str) -> Compiled {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yml");
    std::fs::write(&path, rules).unwrap();
    compile(load_paths(&[path]).unwrap(), &CompileOptions::default()).unwrap()
}

#[test]
fn a_file_that_is_not_utf8_is_rejected_and_the_folder_still_loads() {
    // It used to abort the whole load (`vigil rules check` exited 2 on one bad file).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.yml"), GOOD).unwrap();
    std::fs::write(dir.path().join("latin1.yml"), b"title: Caf\xe9\n").unwrap();
    let set = load_paths(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(set.rules.len(), 1);
    assert_eq!(set.rejected.len(), 1);
    assert!(set.rejected[0].origin.ends_with("latin1.yml"));
    assert!(
        set.rejected[0].reason.contains("not UTF-8"),
        "{:?}",
        set.rejected
    );
}

#[test]
fn absurd_durations_and_empty_quantifiers_are_rejected() {
    // `timespan: 18446744073709551615w` overflowed (a panic in debug builds, a wrapped
    // window in release ones); `all of filter_*` with no `filter_*` held on every event.
    let rules = format!(
        r#"{GOOD}---
title: Huge window
id: 20000000-0000-4000-8000-000000000002
correlation: {{type: event_count, rules: [20000000-0000-4000-8000-000000000001], group-by: [sourceIPAddress], timespan: 18446744073709551615w, condition: {{gte: 2}}}}
---
title: Window past i64 microseconds
id: 20000000-0000-4000-8000-000000000003
correlation: {{type: event_count, rules: [20000000-0000-4000-8000-000000000001], group-by: [sourceIPAddress], timespan: 300000000000000s, condition: {{gte: 2}}}}
---
title: All of nothing
id: 20000000-0000-4000-8000-000000000004
logsource: {{product: aws, service: cloudtrail}}
detection: {{sel: {{eventName: ConsoleLogin}}, condition: sel or all of filter_*}}
---
title: One of nothing
id: 20000000-0000-4000-8000-000000000005
logsource: {{product: aws, service: cloudtrail}}
detection: {{sel: {{eventName: ConsoleLogin}}, condition: 1 of nothing_*}}
"#
    );
    let plan = compiled_file(&rules);
    let loaded: Vec<&str> = plan
        .report
        .loaded
        .iter()
        .map(|l| l.rule_id.as_str())
        .collect();
    assert_eq!(loaded, ["20000000-0000-4000-8000-000000000001"]);
    let reasons: Vec<(&str, &str)> = plan
        .report
        .rejected
        .iter()
        .map(|r| (r.rule_id.as_deref().unwrap_or("?"), r.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:#?}");
    for (id, reason) in &reasons {
        let want = if id.ends_with("02") || id.ends_with("03") {
            "too long"
        } else {
            "selects no search identifier"
        };
        assert!(reason.contains(want), "{id}: {reason}");
    }
}

#[test]
fn misused_first_seen_and_placeholder_defaults_are_rejected() {
    // first_seen (a Vigil extension) needs group-by and takes no condition; `baseline`
    // belongs to it alone; `vigil.placeholders` must list values.
    let corr = |id: u32, title: &str, body: &str| {
        format!(
            "---\ntitle: {title}\nid: 20000000-0000-4000-8000-0000000001{id:02}\ncorrelation: {{rules: [20000000-0000-4000-8000-000000000001], timespan: 1d, {body}}}\n"
        )
    };
    let rules = [
        GOOD.to_string(),
        corr(
            1,
            "Fine",
            "type: first_seen, group-by: [sourceIPAddress], baseline: 1h",
        ),
        corr(2, "No group", "type: first_seen"),
        corr(
            3,
            "With a condition",
            "type: first_seen, group-by: [sourceIPAddress], condition: {gte: 1}",
        ),
        corr(
            4,
            "Baseline elsewhere",
            "type: event_count, group-by: [sourceIPAddress], baseline: 1h, condition: {gte: 2}",
        ),
        corr(
            5,
            "Bad baseline",
            "type: first_seen, group-by: [sourceIPAddress], baseline: soon",
        ),
        "---\ntitle: Placeholder default not a list\nid: 20000000-0000-4000-8000-000000000106\n\
         logsource: {product: aws, service: cloudtrail}\n\
         detection: {sel: {sourceIPAddress|expand|cidr: '%nets%'}, condition: sel}\n\
         vigil: {placeholders: {nets: {a: b}}}\n"
            .to_string(),
    ]
    .concat();
    let (loaded, reasons) = titles_and_reasons(&compiled_file(&rules));
    assert_eq!(loaded, ["Good", "Fine"]);
    let reason = |title: &str| reason_of(&reasons, title);
    assert!(reason("No group").contains("needs group-by"));
    assert!(reason("With a condition").contains("takes no condition"));
    assert!(reason("Baseline elsewhere").contains("only to first_seen"));
    assert!(reason("Bad baseline").contains("soon"), "{reasons:?}");
    assert!(reason("Placeholder default not a list").contains("vigil.placeholders"));
    assert_eq!(reasons.len(), 5);
}

#[test]
fn correlations_whose_fields_would_be_silently_empty_are_rejected() {
    // A condition without a comparison held for every window; suppression fields outside
    // the group-by, and a chained correlation's group-by its input does not have, were
    // read as null, so every finding fell in one group.
    let corr = |id: u32, title: &str, body: &str| {
        format!(
            "---\ntitle: {title}\nid: 20000000-0000-4000-8000-0000000002{id:02}\nname: c{id}\ncorrelation: {{rules: [20000000-0000-4000-8000-000000000001], timespan: 1h, {body}}}\n"
        )
    };
    let rules = [
        GOOD.to_string(),
        corr(1, "Counted", "type: event_count, group-by: [sourceIPAddress], condition: {gte: 2}"),
        corr(2, "No comparison", "type: value_count, group-by: [sourceIPAddress], condition: {field: userName}"),
        corr(3, "Empty condition", "type: event_count, group-by: [sourceIPAddress], condition: {}"),
        corr(4, "Suppressed on another field", "type: event_count, group-by: [sourceIPAddress], condition: {gte: 2}")
            + "vigil: {suppress: {fields: [userName], window: 1h}}\n",
        "---\ntitle: Chained on a missing field\nid: 20000000-0000-4000-8000-000000000205\ncorrelation: {type: temporal, rules: [c1], group-by: [userName], timespan: 1h}\n".to_string(),
        "---\ntitle: Chained through an alias\nid: 20000000-0000-4000-8000-000000000206\ncorrelation: {type: temporal, rules: [c1], group-by: [address], timespan: 1h, aliases: {address: {c1: sourceIPAddress}}}\n".to_string(),
    ]
    .concat();
    let (loaded, reasons) = titles_and_reasons(&compiled_file(&rules));
    assert_eq!(loaded, ["Good", "Counted", "Chained through an alias"]);
    let reason = |title: &str| reason_of(&reasons, title);
    assert!(reason("No comparison").contains("no comparison"));
    assert!(reason("Empty condition").contains("no comparison"));
    assert!(reason("Suppressed on another field").contains("\"userName\" is not in"));
    assert!(reason("Chained on a missing field").contains("aliases"));
    assert_eq!(reasons.len(), 4);
}
