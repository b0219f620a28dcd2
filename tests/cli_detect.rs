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
    // Both are logged, naming the rule and the flag to raise.
    assert!(
        stderr.contains("least recently active groups evicted"),
        "{stderr}"
    );
    assert!(stderr.contains("raise --max-entries"), "{stderr}");
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

/// The shipped known-bad-network rule matches nothing until a feed is given, says so in
/// `rules check`, and reads a feed in Spamhaus DROP's format from `--placeholder-file`.
#[test]
fn known_bad_networks_come_from_a_placeholder_file() {
    const RULE: &str = "Traffic With a Known-Bad Network Accepted";
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows.log");
    std::fs::write(
        &flows,
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
         2 111122223333 eni-1 10.0.0.5 198.51.100.7 50000 443 6 10 5000 1795000000 1795000060 ACCEPT OK\n\
         2 111122223333 eni-1 10.0.0.5 81.2.69.1 50001 443 6 10 5000 1795000000 1795000060 ACCEPT OK\n\
         2 111122223333 eni-1 45.9.148.3 10.0.0.5 50002 22 6 1 44 1795000000 1795000060 REJECT OK\n\
         2 111122223333 eni-1 45.9.148.9 10.0.0.5 50003 22 6 1 44 1795000000 1795000060 ACCEPT OK\n",
    )
    .unwrap();
    let feed = dir.path().join("drop.txt");
    std::fs::write(
        &feed,
        "; Spamhaus DROP List (excerpt, made up)\n\
         ; Last-Modified: Tue, 1 Dec 2026\n\
         45.9.148.0/24 ; SBL000001\n\
         \n\
         # an internal addition\n\
         203.0.113.0/24\n\
         198.51.100.7 # a single host, FireHOL-style\n",
    )
    .unwrap();
    let of_rule = |out: &std::process::Output| -> Vec<serde_json::Value> {
        findings(out)
            .into_iter()
            .filter(|f| f["rule_title"] == RULE)
            .collect()
    };
    // No feed: the rule loads, warns, and matches nothing.
    let check = vigil(&["rules", "check"]);
    let text = String::from_utf8_lossy(&check.stdout);
    let at = text.find(RULE).expect("rule listed");
    assert!(
        text[at..]
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("warning") && l.contains("no values")),
        "{text}"
    );
    assert!(check.status.success());
    let out = vigil(&["detect", flows.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(of_rule(&out).is_empty());
    // With the feed: the accepted records from or to a listed range or host (the rejected
    // one from the same range and the record to an unlisted address do not match).
    let arg = format!("known_bad_networks={}", feed.display());
    let out = vigil(&[
        "detect",
        "--placeholder-file",
        &arg,
        flows.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits = of_rule(&out);
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert_eq!(hits[0]["level"], "high");
    let check = vigil(&["rules", "check", "--placeholder-file", &arg]);
    let text = String::from_utf8_lossy(&check.stdout);
    let at = text.find(RULE).expect("rule listed");
    assert!(!text[at..].lines().nth(1).unwrap_or("").contains("warning"));
    // An unreadable feed is an error naming it; a bad range rejects the rule.
    let out = vigil(&[
        "detect",
        "--placeholder-file",
        "known_bad_networks=/nonexistent/drop.txt",
        flows.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/drop.txt"));
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "45.9.148.0/33\n").unwrap();
    let check = vigil(&[
        "rules",
        "check",
        "--placeholder-file",
        &format!("known_bad_networks={}", bad.display()),
    ]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("45.9.148.0/33"));
}
