//! `vigil detect` and `vigil rules check` end to end, on real files.

mod common;

use common::{corpus, json_lines as findings, vigil};

#[test]
fn rules_check_reports_loaded_and_rejected_with_reasons() {
    let c = corpus();
    let out = vigil(&[
        "rules",
        "check",
        c.join("sigma/rules/cloud/aws").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("57 loaded, 0 rejected"));

    let out = vigil(&[
        "rules",
        "check",
        "--json",
        c.join("sigma/unsupported/cloud").to_str().unwrap(),
        c.join("sigma/rules/cloud/azure").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rejected = report["rejected"].as_array().unwrap();
    assert!(!rejected.is_empty());
    for r in rejected {
        let reason = r["reason"].as_str().unwrap();
        assert!(
            reason.contains("timeframe")
                || reason.contains("pipe syntax")
                || reason.contains("matches nothing Vigil ingests"),
            "{reason}"
        );
        assert!(r["origin"].as_str().unwrap().ends_with(".yml"));
    }

    // The shipped pack loads cleanly.
    let out = vigil(&["rules", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Runs `vigil args` with its stdout a pipe whose read end is closed before it starts,
/// as `vigil ... | head -1` leaves it once `head` is done.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    common::vigil_cmd(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_output_pipe_ends_detect_and_rules_check_quietly() {
    // `vigil detect ... | head -1` printed `vigil: error: Broken pipe (os error 32)` and
    // exited 2 (serde_json's error hid the I/O error from `main`); `vigil rules check |
    // head -1` panicked in `println!`. The reader going away is not an error.
    let c = corpus();
    let rules = c.join("sigma/rules/cloud/aws");
    let out = with_closed_stdout(&[
        "detect",
        "--rules",
        rules.to_str().unwrap(),
        c.join("invictus-sigma-aws/CloudTrail").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("error"), "{stderr}");
    // It did stop at the first finding: the run's closing summary was never reached.
    assert!(!stderr.contains("findings ("), "{stderr}");

    let out = with_closed_stdout(&["rules", "check", rules.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(
        !stderr.contains("error") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn detect_prints_one_finding_per_line_deterministically() {
    let c = corpus();
    let rules = c.join("sigma/rules/cloud/aws");
    let data = c.join("invictus-sigma-aws/CloudTrail");
    let a = vigil(&[
        "detect",
        "--rules",
        rules.to_str().unwrap(),
        "--threads",
        "2",
        data.to_str().unwrap(),
    ]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let fa = findings(&a);
    assert!(!fa.is_empty());
    for f in &fa {
        for k in ["finding_id", "rule_id", "rule_title", "level", "time"] {
            assert!(f[k].is_string(), "{k} in {f}");
        }
        assert_eq!(f["event_ids"].as_array().unwrap().len(), 1);
    }
    let stderr = String::from_utf8_lossy(&a.stderr);
    assert!(
        stderr.contains("57 rules loaded") && stderr.contains("findings"),
        "{stderr}"
    );
    // Same input, same findings (ids included), whatever the thread interleaving.
    let b = vigil(&[
        "detect",
        "--rules",
        rules.to_str().unwrap(),
        "--threads",
        "1",
        data.to_str().unwrap(),
    ]);
    let mut ia: Vec<String> = fa
        .iter()
        .map(|f| f["finding_id"].as_str().unwrap().to_string())
        .collect();
    let mut ib: Vec<String> = findings(&b)
        .iter()
        .map(|f| f["finding_id"].as_str().unwrap().to_string())
        .collect();
    ia.sort();
    ib.sort();
    assert_eq!(ia, ib);
}

#[test]
fn detect_correlations_report_group_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        r#"
title: Access denied
id: 11111111-1111-4111-8111-111111111111
name: denied
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {errorCode: [AccessDenied, Client.UnauthorizedOperation]}
  condition: sel
level: low
---
title: Many denied calls by one principal
id: 22222222-2222-4222-8222-222222222222
correlation:
  type: event_count
  rules: [denied]
  group-by: [userIdentity.arn]
  timespan: 10m
  condition: {gte: 3}
level: medium
"#,
    )
    .unwrap();
    let data = corpus().join("stratus-red-team/docs/detonation-logs");
    let out = vigil(&[
        "detect",
        "--rules",
        rules.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fs = findings(&out);
    assert!(
        !fs.is_empty(),
        "stratus detonations include bursts of denied calls"
    );
    for f in &fs {
        assert_eq!(f["rule_id"], "22222222-2222-4222-8222-222222222222");
        assert!(f["group"]["userIdentity.arn"].is_string());
        assert!(f["window"]["start"].is_string() && f["event_ids"].as_array().unwrap().len() >= 3);
    }
    // The state caps are the user's to set: one group per rule evicts as principals
    // alternate, and the evictions are counted.
    let capped = vigil(&[
        "detect",
        "--rules",
        rules.to_str().unwrap(),
        "--max-groups",
        "1",
        "--max-entries",
        "2",
        "--stats-json",
        data.to_str().unwrap(),
    ]);
    assert!(capped.status.success());
    let stderr = String::from_utf8_lossy(&capped.stderr);
    let stats: serde_json::Value = serde_json::from_str(
        stderr
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .expect("stats JSON"),
    )
    .unwrap();
    let corr = &stats["correlation"];
    assert!(corr["evicted_groups"].as_u64().unwrap() > 0, "{stats}");
    assert!(corr["dropped_entries"].as_u64().unwrap() > 0, "{stats}");
    let out = vigil(&["detect", "--max-groups", "0", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn detect_with_the_shipped_pack_needs_no_flags() {
    let out = vigil(&[
        "detect",
        corpus()
            .join("stratus-red-team/docs/detonation-logs")
            .to_str()
            .unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!findings(&out).is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("from the shipped pack"));
}
