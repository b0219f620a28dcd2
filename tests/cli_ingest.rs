//! `vigil ingest` end to end: real files on disk, the real binary, and the Parquet it
//! writes read back by independent readers (pyarrow and DuckDB, installed by
//! `scripts/setup.sh --test`).

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::{corpus, vigil};

fn stats(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("stats JSON: {e}: {stdout:?}"))
}

#[test]
fn stats_json_counts_a_folder_of_s3_objects() {
    let dir = corpus().join("invictus-sigma-aws/CloudTrail");
    let out = vigil(&["ingest", "--stats-json", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = stats(&out);
    assert_eq!(s["events"]["cloudtrail"], 2900);
    assert_eq!(s["events"]["vpcflow"], 0);
    assert_eq!(s["events"]["k8s_audit"], 0);
    assert_eq!(s["events"]["falco"], 0);
    assert_eq!(s["rejected"], 0);
    let on_disk: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(s["bytes"].as_u64(), Some(on_disk));
    assert!(s["seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn stdin_and_gzip_and_exit_codes() {
    // stdin
    let f = corpus().join("falco-k8saudit-tests/k8s_audit_raw.ndjson");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["ingest", "--stats-json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&std::fs::read(&f).unwrap()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(stats(&out)["events"]["k8s_audit"], 51);

    // gzip detected by content, rejected records do not fail the run
    let gz = corpus().join("loki-lambda-promtail-testdata/tools/lambda-promtail/testdata");
    let out = vigil(&["ingest", "--stats-json", gz.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = stats(&out);
    assert!(s["events"]["cloudtrail"].as_u64().unwrap() > 0);
    assert_eq!(s["events"]["vpcflow"], 3);
    assert!(
        s["rejected"].as_u64().unwrap() > 0,
        "ALB/NLB/WAF/CloudFront lines are rejected"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dead-letter: {"),
        "dead letters go to stderr without --out: {stderr}"
    );

    // unusable arguments and missing inputs: non-zero with a clear message
    let out = vigil(&["ingest", "/nonexistent/flows.log"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read input /nonexistent/flows.log")
    );
    let out = vigil(&["ingest", "--format", "syslog", "x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format"));
    let out = vigil(&["ingest", "--vpcflow-format", "version made-up-field", "x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("made-up-field"));
}

#[test]
fn parquet_round_trip_through_independent_readers() {
    let c = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let mut inputs = vec![c.join("invictus-sigma-aws/CloudTrail")];
    let mut logs: Vec<PathBuf> = std::fs::read_dir(c.join("aws-vpc-flow-logs-docs/extracted"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    inputs.extend(logs);
    inputs.extend([
        c.join("otel-contrib-awslogs-testdata/extension/encoding/awslogsencodingextension/internal/unmarshaler/vpc-flow-log/testdata/vpc_flow_log_too_many_fields.log"),
        c.join("falco-k8saudit-tests/k8s_audit_raw.ndjson"),
        c.join("falco-website-alert-examples/alerts.ndjson"),
    ]);
    let mut args = vec![
        "ingest".to_string(),
        "--stats-json".into(),
        "--threads".into(),
        "2".into(),
        "--out".into(),
        out_dir.display().to_string(),
    ];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = vigil(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = stats(&out);
    // The deliberately malformed too-many-fields fixture is the one rejection.
    assert_eq!(s["rejected"], 1);
    let dead = std::fs::read_to_string(out_dir.join("dead-letter.ndjson")).unwrap();
    let dead: Vec<serde_json::Value> = dead
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(dead.len(), 1);
    assert!(
        dead.iter()
            .any(|d| d["reason"].as_str().unwrap().contains("has 15 fields") && d["line"] == 2)
    );

    // Expected values straight from the source files.
    let mut ids = Vec::new();
    for e in std::fs::read_dir(c.join("invictus-sigma-aws/CloudTrail")).unwrap() {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        for r in v["Records"].as_array().unwrap() {
            ids.push(r["eventID"].as_str().unwrap().to_string());
        }
    }
    ids.sort();

    let script = r#"
import sys, json, pyarrow.parquet as pq, duckdb
d = sys.argv[1]
ct = pq.read_table(d + '/cloudtrail.parquet')
flows = pq.read_table(d + '/vpcflow.parquet')
con = duckdb.connect()
res = {
  'pyarrow_counts': {k: pq.read_metadata(f'{d}/{k}.parquet').num_rows for k in ['cloudtrail','vpcflow','k8s_audit','falco']},
  'duckdb_ct_count': con.execute(f"select count(*) from read_parquet('{d}/cloudtrail.parquet')").fetchone()[0],
  'event_ids': sorted(ct.column('eventID').to_pylist()),
  'duckdb_ids_match_uid': con.execute(f"select count(*) from read_parquet('{d}/cloudtrail.parquet') where event_uid = \"eventID\"").fetchone()[0],
  'assume_role': con.execute(f"select count(*) from read_parquet('{d}/cloudtrail.parquet') where \"eventName\" = 'AssumeRole'").fetchone()[0],
  'ssh_rejects': con.execute(f"select count(*) from read_parquet('{d}/vpcflow.parquet') where dstport = 22 and action = 'REJECT'").fetchone()[0],
  'first_flow': con.execute(f"select srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, epoch(start)::bigint, action from read_parquet('{d}/vpcflow.parquet') where srcport = 20641").fetchall(),
  'k8s_users': con.execute(f"select count(distinct \"user\".username) from read_parquet('{d}/k8s_audit.parquet')").fetchone()[0],
  'falco_rules': sorted(set(pq.read_table(d + '/falco.parquet').column('rule').to_pylist())),
  'mfa': con.execute(f"select count(*) from read_parquet('{d}/cloudtrail.parquet') where \"userIdentity\".\"sessionContext\".attributes.\"mfaAuthenticated\"").fetchone()[0],
}
print(json.dumps(res))
"#;
    let py = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&out_dir)
        .output()
        .expect("python3 runs");
    assert!(
        py.status.success(),
        "python readers failed (run scripts/setup.sh --test): {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(r["pyarrow_counts"]["cloudtrail"], s["events"]["cloudtrail"]);
    assert_eq!(r["pyarrow_counts"]["vpcflow"], s["events"]["vpcflow"]);
    assert_eq!(r["pyarrow_counts"]["k8s_audit"], 51);
    assert_eq!(r["pyarrow_counts"]["falco"], 18);
    assert_eq!(r["duckdb_ct_count"], 2900);
    assert_eq!(r["duckdb_ids_match_uid"], 2900);
    let got: Vec<String> = r["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, ids);

    // Counts computed from the raw files, independently.
    let mut assume = 0;
    let mut mfa = 0;
    for e in std::fs::read_dir(c.join("invictus-sigma-aws/CloudTrail")).unwrap() {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        for r in v["Records"].as_array().unwrap() {
            assume += (r["eventName"] == "AssumeRole") as i64;
            mfa += (r["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] == "true")
                as i64;
        }
    }
    assert_eq!(r["assume_role"], assume);
    assert_eq!(r["mfa"], mfa);
    let mut ssh_rejects = 0;
    for e in std::fs::read_dir(c.join("aws-vpc-flow-logs-docs/extracted")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "log") {
            let text = std::fs::read_to_string(&p).unwrap();
            let mut lines = text.lines();
            let header: Vec<&str> = lines.next().unwrap().split(' ').collect();
            let (Some(dp), Some(act)) = (
                header.iter().position(|h| *h == "dstport"),
                header.iter().position(|h| *h == "action"),
            ) else {
                continue;
            };
            for l in lines {
                let f: Vec<&str> = l.split(' ').collect();
                ssh_rejects += (f[dp] == "22" && f[act] == "REJECT") as i64;
            }
        }
    }
    assert_eq!(r["ssh_rejects"], ssh_rejects);
    assert_eq!(
        r["first_flow"],
        serde_json::json!([[
            "172.31.16.139",
            "172.31.16.21",
            20641,
            22,
            6,
            20,
            4249,
            1418530010,
            "ACCEPT"
        ]])
    );
    let users: std::collections::BTreeSet<String> =
        std::fs::read_to_string(c.join("falco-k8saudit-tests/k8s_audit_raw.ndjson"))
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["user"]["username"].as_str().map(str::to_string))
            .collect();
    assert_eq!(r["k8s_users"], users.len());
    assert!(
        r["falco_rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "Terminal shell in container")
    );
}
