//! Tests of the generators as a user sees them: parsable output with the fields the
//! real producers write (checked against the real logs of `shared/corpus`),
//! determinism, monotonic time, sizes, and the planted attacks.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use serde_json::Value;

use super::attacks::*;
use super::*;

fn lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|&c| c == b'\n').filter(|l| !l.is_empty())
}

fn parse(line: &[u8]) -> Value {
    match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(e) => panic!("not JSON ({e}): {}", String::from_utf8_lossy(line)),
    }
}

fn ct(cfg: &GenConfig, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    write_cloudtrail(&mut out, cfg, n, CloudTrailForm::Ndjson).expect("write to vec");
    out
}

fn flows(cfg: &GenConfig, n: usize, form: FlowForm) -> Vec<u8> {
    let mut out = Vec::new();
    write_vpcflow(&mut out, cfg, n, form).expect("write to vec");
    out
}

fn k8s(cfg: &GenConfig, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    write_k8s_audit(&mut out, cfg, n).expect("write to vec");
    out
}

fn falco(cfg: &GenConfig, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    write_falco(&mut out, cfg, n).expect("write to vec");
    out
}

fn seeded(seed: u64) -> GenConfig {
    GenConfig {
        seed,
        ..GenConfig::default()
    }
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_str().unwrap_or("")
}

fn is_uuid(x: &str) -> bool {
    let b = x.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}

/// `2024-05-01T12:00:00Z` with `frac` fractional digits before the `Z`.
fn is_rfc3339(x: &str, frac: usize) -> bool {
    let b = x.as_bytes();
    let want = if frac == 0 { 20 } else { 21 + frac };
    b.len() == want
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 if frac > 0 => c == b'.',
            _ if i == want - 1 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("vigil-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn corpus() -> PathBuf {
    crate::corpus_dir().expect("shared corpus not found: set VIGIL_CORPUS")
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_different_bytes() {
    let a = seeded(7);
    let b = seeded(8);
    let s3 = CloudTrailForm::S3Object {
        events_per_file: 100,
    };
    let run = |cfg: &GenConfig| -> Vec<Vec<u8>> {
        let mut ct_s3 = Vec::new();
        write_cloudtrail(&mut ct_s3, cfg, 1500, s3).expect("write");
        vec![
            ct(cfg, 1500),
            ct_s3,
            flows(cfg, 5000, FlowForm::V2Default),
            flows(cfg, 5000, FlowForm::V5Custom),
            k8s(cfg, 1500),
            falco(cfg, 300),
        ]
    };
    let (a1, a2, b1) = (run(&a), run(&a), run(&b));
    for (i, ((x, y), z)) in a1.iter().zip(&a2).zip(&b1).enumerate() {
        assert!(!x.is_empty(), "output {i} is empty");
        assert_eq!(
            x, y,
            "output {i} differs between two runs with the same seed"
        );
        assert_ne!(x, z, "output {i} is the same for seeds 7 and 8");
    }
}

#[test]
fn cloudtrail_events_have_the_fields_and_identities_cloudtrail_writes() {
    let cfg = GenConfig::default();
    let out = ct(&cfg, 30_000);
    let evs: Vec<Value> = lines(&out).map(parse).collect();
    assert_eq!(evs.len(), 30_000);
    let mut names = HashSet::new();
    let mut errors = 0;
    let mut read_only = 0;
    let mut types = HashMap::new();
    let mut last_time = String::new();
    for e in &evs {
        for k in [
            "eventVersion",
            "eventTime",
            "eventSource",
            "eventName",
            "awsRegion",
            "sourceIPAddress",
            "userAgent",
            "eventID",
            "eventType",
            "recipientAccountId",
            "eventCategory",
            "userIdentity.type",
        ] {
            assert!(!s(e, k).is_empty(), "{k} missing in {e}");
        }
        for k in ["requestParameters", "responseElements"] {
            assert!(e.get(k).is_some(), "{k} missing in {e}");
        }
        assert!(
            e["readOnly"].is_boolean() && e["managementEvent"].is_boolean(),
            "{e}"
        );
        let time = s(e, "eventTime");
        assert!(is_rfc3339(time, 0), "eventTime {time}");
        assert!(
            time >= last_time.as_str(),
            "time went back: {last_time} then {time}"
        );
        last_time = time.to_string();
        assert!(is_uuid(s(e, "eventID")), "{e}");
        assert!(s(e, "eventSource").ends_with(".amazonaws.com"));
        assert_eq!(
            e["eventCategory"] == "Data",
            e["managementEvent"] == false,
            "data events are not management events: {e}"
        );
        let name = s(e, "eventName");
        names.insert(name.to_string());
        errors += e.get("errorCode").is_some() as usize;
        read_only += (e["readOnly"] == true) as usize;
        let id = &e["userIdentity"];
        let ty = s(id, "type");
        *types.entry(ty.to_string()).or_insert(0) += 1;
        let acct = s(id, "accountId");
        match ty {
            "IAMUser" => {
                assert!(s(id, "principalId").starts_with("AIDA"), "{id}");
                assert_eq!(
                    s(id, "arn"),
                    format!("arn:aws:iam::{acct}:user/{}", s(id, "userName"))
                );
                let key = s(id, "accessKeyId");
                if name == "ConsoleLogin" {
                    assert!(key.is_empty(), "{e}");
                } else if id.get("sessionContext").is_some() {
                    assert!(key.starts_with("ASIA"), "{e}");
                } else {
                    assert!(key.starts_with("AKIA") && key.len() == 20, "{e}");
                }
            }
            "AssumedRole" => {
                let issuer = &id["sessionContext"]["sessionIssuer"];
                assert_eq!(s(issuer, "type"), "Role");
                assert!(
                    s(id, "principalId").starts_with(&format!("{}:", s(issuer, "principalId")))
                );
                assert!(s(id, "arn").starts_with(&format!(
                    "arn:aws:sts::{acct}:assumed-role/{}/",
                    s(issuer, "userName")
                )));
                assert!(s(id, "accessKeyId").starts_with("ASIA"), "{e}");
                let attrs = &id["sessionContext"]["attributes"];
                assert!(matches!(s(attrs, "mfaAuthenticated"), "true" | "false"));
                assert!(
                    s(attrs, "creationDate") <= time,
                    "session created after use: {e}"
                );
            }
            "AWSService" => assert!(s(id, "invokedBy").ends_with(".amazonaws.com"), "{e}"),
            "Root" => assert_eq!(s(id, "arn"), format!("arn:aws:iam::{acct}:root")),
            "WebIdentityUser" => assert_eq!(name, "AssumeRoleWithWebIdentity"),
            other => panic!("unexpected identity type {other}"),
        }
        match name {
            "ConsoleLogin" => {
                assert_eq!(s(e, "eventType"), "AwsConsoleSignIn");
                let outcome = s(e, "responseElements.ConsoleLogin");
                assert!(matches!(outcome, "Success" | "Failure"), "{e}");
                assert!(matches!(s(e, "additionalEventData.MFAUsed"), "Yes" | "No"));
                assert_eq!(
                    outcome == "Failure",
                    s(e, "errorMessage") == "Failed authentication"
                );
            }
            "RunInstances" if e.get("errorCode").is_none() => {
                assert!(
                    s(
                        &e["requestParameters"]["instancesSet"]["items"][0],
                        "imageId"
                    )
                    .starts_with("ami-")
                );
                assert!(
                    s(
                        &e["responseElements"]["instancesSet"]["items"][0],
                        "instanceId"
                    )
                    .starts_with("i-")
                );
            }
            "AuthorizeSecurityGroupIngress" => {
                let cidr = &e["requestParameters"]["ipPermissions"]["items"][0]["ipRanges"]["items"]
                    [0]["cidrIp"];
                assert!(cidr.as_str().is_some_and(|c| c.contains('/')), "{e}");
            }
            "GetObject" | "PutObject" => {
                assert_eq!(s(e, "eventCategory"), "Data");
                assert_eq!(s(&e["resources"][0], "type"), "AWS::S3::Object");
            }
            _ => {}
        }
    }
    let n = evs.len() as f64;
    let err_share = errors as f64 / n;
    assert!(
        (0.015..0.05).contains(&err_share),
        "error share {err_share}"
    );
    assert!(read_only as f64 / n > 0.7, "read-only calls dominate");
    for t in ["IAMUser", "AssumedRole", "AWSService", "Root"] {
        assert!(
            types.get(t).copied().unwrap_or(0) > 0,
            "no {t} identity in {types:?}"
        );
    }
    for name in [
        "DescribeInstances",
        "ListBuckets",
        "AssumeRole",
        "GetObject",
        "PutObject",
        "Decrypt",
        "ConsoleLogin",
        "CreateUser",
        "CreateAccessKey",
        "AttachUserPolicy",
        "PutBucketPolicy",
        "AuthorizeSecurityGroupIngress",
        "RunInstances",
        "StopLogging",
        "DeleteTrail",
        "UpdateLoginProfile",
        "PutBucketVersioning",
        "GetSecretValue",
    ] {
        assert!(names.contains(name), "no {name} in 30 000 events");
    }
}

#[test]
fn cloudtrail_s3_objects_hold_the_same_events_as_ndjson() {
    let cfg = GenConfig::default();
    let mut s3 = Vec::new();
    let bytes = write_cloudtrail(
        &mut s3,
        &cfg,
        2500,
        CloudTrailForm::S3Object {
            events_per_file: 1000,
        },
    )
    .expect("write");
    assert_eq!(bytes as usize, s3.len());
    assert_ne!(
        s3.last(),
        Some(&b'\n'),
        "objects are separated, not terminated, by newlines"
    );
    let objects: Vec<Value> = lines(&s3).map(parse).collect();
    let sizes: Vec<usize> = objects
        .iter()
        .map(|o| o["Records"].as_array().map(Vec::len).unwrap_or(0))
        .collect();
    assert_eq!(sizes, vec![1000, 1000, 500]);
    let from_s3: Vec<Value> = objects
        .iter()
        .flat_map(|o| o["Records"].as_array().cloned().unwrap_or_default())
        .collect();
    let from_ndjson: Vec<Value> = lines(&ct(&cfg, 2500)).map(parse).collect();
    assert_eq!(from_s3, from_ndjson);

    let mut one = Vec::new();
    write_cloudtrail(
        &mut one,
        &cfg,
        10,
        CloudTrailForm::S3Object { events_per_file: 0 },
    )
    .expect("write");
    assert_eq!(parse(&one)["Records"].as_array().map(Vec::len), Some(10));
    let mut none = Vec::new();
    assert_eq!(
        write_cloudtrail(
            &mut none,
            &cfg,
            0,
            CloudTrailForm::S3Object { events_per_file: 5 }
        )
        .expect("write"),
        0
    );
}

fn check_flows(out: &[u8], form: FlowForm) -> Vec<HashMap<String, String>> {
    let mut it = lines(out);
    let header = std::str::from_utf8(it.next().expect("header")).expect("utf8");
    assert_eq!(header, flow_header(form));
    let names: Vec<&str> = header.split(' ').collect();
    let version = if form == FlowForm::V5Custom { "5" } else { "2" };
    let mut recs = Vec::new();
    let mut last_start = 0i64;
    for l in it {
        let l = std::str::from_utf8(l).expect("utf8");
        let vals: Vec<&str> = l.split(' ').collect();
        assert_eq!(vals.len(), names.len(), "field count of {l:?}");
        let r: HashMap<String, String> = names
            .iter()
            .zip(&vals)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(r["version"], version);
        let start: i64 = r["start"].parse().expect("start");
        let end: i64 = r["end"].parse().expect("end");
        assert!(start >= last_start, "start went back in {l}");
        assert!((0..=65).contains(&(end - start)), "{l}");
        last_start = start;
        match r["log-status"].as_str() {
            "OK" => {
                assert!(matches!(r["action"].as_str(), "ACCEPT" | "REJECT"), "{l}");
                let packets: u64 = r["packets"].parse().expect("packets");
                let bytes: u64 = r["bytes"].parse().expect("bytes");
                assert!(
                    packets >= 1 && bytes >= packets * 40 && bytes <= packets * 1500,
                    "{l}"
                );
                for k in ["srcport", "dstport", "protocol"] {
                    r[k].parse::<u32>().expect("number");
                }
                if form == FlowForm::V5Custom {
                    let flags: u8 = r["tcp-flags"].parse().expect("flags");
                    assert!([0u8, 1, 2, 3, 18, 19].contains(&flags), "{l}");
                    if r["protocol"] != "6" {
                        assert_eq!(flags, 0, "{l}");
                    }
                    assert_eq!(r["type"], "IPv4");
                    assert!(matches!(r["flow-direction"].as_str(), "ingress" | "egress"));
                    let path = r["traffic-path"].as_str();
                    if r["flow-direction"] == "ingress" {
                        assert_eq!(path, "-", "{l}");
                    } else {
                        assert!(matches!(path, "1" | "7" | "8"), "{l}");
                    }
                }
            }
            "NODATA" | "SKIPDATA" => {
                for k in [
                    "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes",
                    "action",
                ] {
                    assert_eq!(r[k], "-", "{l}");
                }
            }
            other => panic!("log-status {other}"),
        }
        if form == FlowForm::V5Custom {
            assert!(r["vpc-id"].starts_with("vpc-") && r["subnet-id"].starts_with("subnet-"));
            assert!(r["instance-id"] == "-" || r["instance-id"].starts_with("i-"));
            assert_eq!(r["region"], "us-east-1");
            assert!(r["az-id"].starts_with("use1-az"));
        }
        assert!(r["interface-id"].starts_with("eni-"));
        recs.push(r);
    }
    recs
}

#[test]
fn flow_records_match_their_header_and_look_like_real_traffic() {
    let cfg = GenConfig::default();
    for form in [FlowForm::V2Default, FlowForm::V5Custom] {
        let recs = check_flows(&flows(&cfg, 60_000, form), form);
        assert_eq!(recs.len(), 60_000);
        let n = recs.len() as f64;
        let no_data = recs.iter().filter(|r| r["log-status"] != "OK").count() as f64 / n;
        assert!(
            (0.004..0.02).contains(&no_data),
            "NODATA/SKIPDATA share {no_data}"
        );
        let rejects = recs.iter().filter(|r| r["action"] == "REJECT").count();
        assert!(rejects > 300, "inbound scans are rejected: {rejects}");
        let mut ports: HashMap<&str, usize> = HashMap::new();
        for r in &recs {
            if r["srcaddr"].starts_with("10.") && r["log-status"] == "OK" {
                *ports.entry(r["dstport"].as_str()).or_default() += 1;
            }
        }
        let mut top: Vec<(&str, usize)> = ports.into_iter().collect();
        top.sort_by_key(|p| std::cmp::Reverse(p.1));
        let top5: Vec<&str> = top.iter().take(5).map(|p| p.0).collect();
        for p in ["443", "53", "5432"] {
            assert!(
                top5.contains(&p),
                "{p} is among the busiest destination ports: {top5:?}"
            );
        }
        assert!(
            recs.iter()
                .any(|r| r["protocol"] == "17" && r["dstport"] == "53")
        );
    }
}

#[test]
fn k8s_events_are_audit_events_with_consistent_stages() {
    let out = k8s(&GenConfig::default(), 20_000);
    let evs: Vec<Value> = lines(&out).map(parse).collect();
    assert_eq!(evs.len(), 20_000);
    let mut verbs: HashMap<String, usize> = HashMap::new();
    let mut last = String::new();
    let mut pod_bodies = 0;
    for (i, e) in evs.iter().enumerate() {
        assert_eq!(e["kind"], "Event");
        assert_eq!(e["apiVersion"], "audit.k8s.io/v1");
        assert!(matches!(
            s(e, "level"),
            "Metadata" | "Request" | "RequestResponse"
        ));
        assert!(is_uuid(s(e, "auditID")));
        assert!(!s(e, "user.username").is_empty() && !s(e, "userAgent").is_empty());
        assert!(e["sourceIPs"][0].is_string());
        assert!(s(e, "requestURI").starts_with('/'));
        let received = s(e, "requestReceivedTimestamp");
        let stage_ts = s(e, "stageTimestamp");
        assert!(is_rfc3339(received, 6) && is_rfc3339(stage_ts, 6), "{e}");
        assert!(stage_ts >= received && received >= last.as_str(), "{e}");
        last = received.to_string();
        *verbs.entry(s(e, "verb").to_string()).or_default() += 1;
        match s(e, "stage") {
            "RequestReceived" => {
                assert!(e.get("responseStatus").is_none() && e.get("annotations").is_none());
                assert_eq!(received, stage_ts);
                if let Some(next) = evs.get(i + 1) {
                    assert_eq!(next["auditID"], e["auditID"], "ResponseComplete follows");
                    assert_eq!(next["stage"], "ResponseComplete");
                }
            }
            "ResponseComplete" => {
                assert!(e["responseStatus"]["code"].is_u64(), "{e}");
                let decision = e["annotations"]["authorization.k8s.io/decision"]
                    .as_str()
                    .unwrap_or("");
                assert!(matches!(decision, "allow" | "forbid"), "{e}");
            }
            other => panic!("stage {other}"),
        }
        if s(e, "objectRef.resource") == "pods" && e["level"] == "RequestResponse" {
            let c = &e["requestObject"]["spec"]["containers"][0];
            assert!(!s(c, "image").is_empty(), "{e}");
            pod_bodies += 1;
        }
    }
    let reads: usize = ["get", "list", "watch"]
        .iter()
        .map(|v| verbs.get(*v).copied().unwrap_or(0))
        .sum();
    assert!(
        reads as f64 / evs.len() as f64 > 0.5,
        "get/list/watch dominate: {verbs:?}"
    );
    for v in ["create", "update", "patch", "delete"] {
        assert!(verbs.get(v).copied().unwrap_or(0) > 0, "no {v}: {verbs:?}");
    }
    assert!(pod_bodies > 10, "pod creations carry their spec");
}

#[test]
fn falco_alerts_match_the_default_rules() {
    let out = falco(&GenConfig::default(), 3000);
    let rules = std::fs::read_to_string(corpus().join("falco-rules/rules/falco_rules.yaml"))
        .expect("falco rules in shared/corpus")
        + &std::fs::read_to_string(corpus().join("falco-rules/rules/falco-incubating_rules.yaml"))
            .expect("incubating rules");
    let mut last = 0i64;
    let mut seen = HashSet::new();
    for l in lines(&out) {
        let a = parse(l);
        let keys: BTreeSet<&str> = a
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let want: BTreeSet<&str> = [
            "hostname",
            "output",
            "output_fields",
            "priority",
            "rule",
            "source",
            "tags",
            "time",
            "uuid",
        ]
        .into();
        assert_eq!(keys, want);
        let t = a["output_fields"]["evt.time"]
            .as_i64()
            .expect("evt.time ns");
        assert!(t >= last, "time went back");
        last = t;
        let time = s(&a, "time");
        assert!(is_rfc3339(time, 9), "{time}");
        let secs = t.div_euclid(1_000_000_000);
        let mut b = Vec::new();
        super::time::push_rfc3339_nanos(&mut b, t);
        assert_eq!(
            time.as_bytes(),
            b.as_slice(),
            "time and evt.time agree ({secs})"
        );
        let output = s(&a, "output");
        assert_eq!(&output[18..20], ": ");
        assert!(output[20..].starts_with(s(&a, "priority")));
        let tags: Vec<&str> = a["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut sorted = tags.clone();
        sorted.sort();
        assert_eq!(tags, sorted, "Falco writes tags sorted");
        assert!(s(&a, "hostname").ends_with(".ec2.internal"));
        let rule = s(&a, "rule");
        if seen.insert(rule.to_string()) {
            let at = rules
                .find(&format!("- rule: {rule}\n"))
                .unwrap_or_else(|| panic!("{rule} is a Falco rule"));
            let def = &rules[at..];
            let def = &def[..def[2..].find("\n- ").map(|i| i + 2).unwrap_or(def.len())];
            let prio = def
                .split("priority:")
                .nth(1)
                .and_then(|p| p.split_whitespace().next())
                .unwrap_or("");
            let expect = match prio {
                "INFO" | "INFORMATIONAL" => "Informational".to_string(),
                p => format!("{}{}", &p[..1], p[1..].to_lowercase()),
            };
            assert_eq!(s(&a, "priority"), expect, "{rule}");
            let msg = output[20..]
                .split_once(' ')
                .map(|x| x.1)
                .unwrap_or("")
                .split(" |")
                .next()
                .unwrap_or("");
            assert!(def.contains(&format!("output: {msg} |")), "{rule}: {msg}");
            for tag in &tags {
                assert!(def.contains(tag), "{rule} has tag {tag}");
            }
        }
    }
    assert!(seen.len() >= 8, "{seen:?}");
}

#[test]
fn emitted_fields_are_fields_real_logs_have() {
    let c = corpus();
    // CloudTrail: every key we write appears in the real events of the corpus.
    let mut top = HashSet::new();
    let mut ident = HashSet::new();
    let mut add = |e: &Value| {
        if let Some(o) = e.as_object() {
            top.extend(o.keys().cloned());
        }
        if let Some(o) = e["userIdentity"].as_object() {
            ident.extend(o.keys().cloned());
        }
    };
    let dir = c.join("invictus-sigma-aws/CloudTrail");
    for f in std::fs::read_dir(&dir).expect("invictus CloudTrail files in shared/corpus") {
        let v: Value =
            serde_json::from_slice(&std::fs::read(f.expect("entry").path()).expect("read"))
                .expect("json");
        v["Records"]
            .as_array()
            .into_iter()
            .flatten()
            .for_each(&mut add);
    }
    for l in lines(
        &std::fs::read(c.join("panther-tests/by_log_type/AWS.CloudTrail.jsonl"))
            .expect("panther tests"),
    ) {
        add(&parse(l)["log"]);
    }
    let doc = std::fs::read_to_string(
        c.join("aws-cloudtrail-docs/doc_source/cloudtrail-event-reference-user-identity.md"),
    )
    .expect("doc");
    let out = ct(&GenConfig::default(), 20_000);
    for e in lines(&out).map(parse) {
        for k in e.as_object().into_iter().flat_map(|o| o.keys()) {
            assert!(top.contains(k), "CloudTrail has no top-level {k}");
        }
        for k in e["userIdentity"]
            .as_object()
            .into_iter()
            .flat_map(|o| o.keys())
        {
            assert!(
                ident.contains(k) || doc.contains(&format!("\"{k}\"")),
                "CloudTrail has no userIdentity.{k}"
            );
        }
    }
    // Flow logs: every header field is an AWS flow log field.
    let fields: Value = serde_json::from_slice(
        &std::fs::read(c.join("aws-vpc-flow-logs-docs/extracted/fields.json")).expect("fields"),
    )
    .expect("json");
    let known: HashSet<&str> = fields
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["field"].as_str())
        .collect();
    for f in flow_header(FlowForm::V5Custom).split(' ') {
        assert!(known.contains(f), "{f} is not a flow log field");
    }
    // Kubernetes: top-level keys of real audit events.
    let mut k8s_keys = HashSet::new();
    for l in lines(
        &std::fs::read(c.join("falco-k8saudit-tests/k8s_audit_raw.ndjson")).expect("k8s corpus"),
    ) {
        k8s_keys.extend(
            parse(l)
                .as_object()
                .into_iter()
                .flat_map(|o| o.keys().cloned()),
        );
    }
    for e in lines(&k8s(&GenConfig::default(), 3000)).map(parse) {
        for k in e.as_object().into_iter().flat_map(|o| o.keys()) {
            assert!(k8s_keys.contains(k), "audit events have no {k}");
        }
    }
}

#[test]
fn sizes_are_as_documented() {
    let cfg = GenConfig::default();
    let avg = |b: &[u8], n: usize| b.len() as f64 / n as f64;
    let c = avg(&ct(&cfg, 20_000), 20_000);
    assert!((1000.0..1600.0).contains(&c), "CloudTrail {c}");
    let v2 = avg(&flows(&cfg, 50_000, FlowForm::V2Default), 50_000);
    assert!((95.0..135.0).contains(&v2), "flow v2 {v2}");
    let v5 = avg(&flows(&cfg, 50_000, FlowForm::V5Custom), 50_000);
    assert!((200.0..270.0).contains(&v5), "flow v5 {v5}");
    let k = avg(&k8s(&cfg, 20_000), 20_000);
    assert!((900.0..1600.0).contains(&k), "k8s {k}");
    let f = avg(&falco(&cfg, 5_000), 5_000);
    assert!((1000.0..1900.0).contains(&f), "falco {f}");
}

#[test]
fn planted_cloudtrail_attack_is_findable_by_its_key_and_address() {
    let cfg = GenConfig::default();
    let mut g = CloudTrailGenerator::new(&cfg, 30_000);
    let mut out = Vec::new();
    write_cloudtrail_with(&mut out, &mut g, CloudTrailForm::Ndjson).expect("write");
    let evs: Vec<Value> = lines(&out).map(parse).collect();
    let from_attacker: Vec<&Value> = evs
        .iter()
        .filter(|e| e["sourceIPAddress"] == CLOUD_ATTACKER_IP)
        .collect();
    let names: Vec<&str> = from_attacker.iter().map(|e| s(e, "eventName")).collect();
    assert_eq!(
        names,
        [
            "GetCallerIdentity",
            "ListBuckets",
            "ListUsers",
            "CreateUser",
            "CreateAccessKey",
            "AttachUserPolicy",
            "CreateLoginProfile",
            "ConsoleLogin",
            "StopLogging",
            "DeleteTrail",
            "GetSecretValue",
            "DeleteBucketPublicAccessBlock",
            "PutBucketPolicy",
            "AuthorizeSecurityGroupIngress",
        ]
    );
    for e in &from_attacker[..7] {
        assert_eq!(s(e, "userIdentity.accessKeyId"), LEAKED_ACCESS_KEY_ID);
        assert_eq!(s(e, "userIdentity.arn"), LEAKED_USER_ARN);
    }
    let backdoor_id = s(from_attacker[3], "responseElements.user.userId");
    assert_eq!(
        s(from_attacker[4], "responseElements.accessKey.accessKeyId"),
        BACKDOOR_ACCESS_KEY_ID
    );
    assert_eq!(
        s(from_attacker[5], "requestParameters.policyArn"),
        "arn:aws:iam::aws:policy/AdministratorAccess"
    );
    let login = from_attacker[7];
    assert_eq!(s(login, "userIdentity.arn"), BACKDOOR_USER_ARN);
    assert_eq!(s(login, "additionalEventData.MFAUsed"), "No");
    assert_eq!(s(login, "responseElements.ConsoleLogin"), "Success");
    for e in &from_attacker[8..] {
        assert_eq!(s(e, "userIdentity.accessKeyId"), BACKDOOR_ACCESS_KEY_ID);
        assert_eq!(s(e, "userIdentity.principalId"), backdoor_id);
    }
    assert_eq!(s(from_attacker[8], "requestParameters.name"), TRAIL_ARN);
    assert_eq!(
        s(from_attacker[10], "requestParameters.secretId"),
        STOLEN_SECRET
    );
    let policy = &from_attacker[12]["requestParameters"]["bucketPolicy"]["Statement"][0];
    assert_eq!(
        (s(policy, "Effect"), s(policy, "Principal")),
        ("Allow", "*")
    );
    assert_eq!(
        s(from_attacker[12], "requestParameters.bucketName"),
        PUBLIC_BUCKET
    );
    let perm = &from_attacker[13]["requestParameters"]["ipPermissions"]["items"][0];
    assert_eq!(
        s(from_attacker[13], "requestParameters.groupId"),
        OPENED_SECURITY_GROUP
    );
    assert_eq!(
        (
            perm["fromPort"].as_u64(),
            s(&perm["ipRanges"]["items"][0], "cidrIp")
        ),
        (Some(22), "0.0.0.0/0")
    );
    // In the background the leaked key is used from its usual address only.
    for e in &evs {
        if s(e, "userIdentity.accessKeyId") == LEAKED_ACCESS_KEY_ID
            && e["sourceIPAddress"] != CLOUD_ATTACKER_IP
        {
            assert_eq!(s(e, "sourceIPAddress"), LEAKED_KEY_HOME_IP);
        }
    }
    assert!(
        evs.iter()
            .filter(|e| s(e, "userIdentity.accessKeyId") == LEAKED_ACCESS_KEY_ID)
            .count()
            > 7
    );
    let planted = g.planted();
    assert_eq!(planted.iter().map(|p| p.events).sum::<u64>(), 14);
    assert!(planted.iter().all(|p| p.kind == "cloudtrail"));
    let keys: Vec<&str> = planted.iter().map(|p| p.indicator.as_str()).collect();
    assert!(keys.contains(&LEAKED_ACCESS_KEY_ID) && keys.contains(&PUBLIC_BUCKET));
}

#[test]
fn planted_network_kubernetes_and_falco_attacks_are_findable() {
    let cfg = GenConfig::default();
    // Flows.
    let mut g = FlowGenerator::new(&cfg, 200_000);
    let mut out = Vec::new();
    write_vpcflow_with(&mut out, &mut g, FlowForm::V5Custom).expect("write");
    let recs = check_flows(&out, FlowForm::V5Custom);
    let scan: Vec<_> = recs.iter().filter(|r| r["srcaddr"] == SCANNER_IP).collect();
    assert_eq!(scan.len(), 100);
    assert!(scan.iter().all(|r| r["action"] == "REJECT"
        && r["dstaddr"] == SCANNED_HOST_IP
        && r["tcp-flags"] == "2"));
    assert_eq!(
        scan.iter()
            .map(|r| &r["dstport"])
            .collect::<HashSet<_>>()
            .len(),
        100
    );
    let exfil: u64 = recs
        .iter()
        .filter(|r| r["dstaddr"] == EXFIL_DEST_IP && r["srcaddr"].starts_with("10.20."))
        .map(|r| r["bytes"].parse::<u64>().unwrap_or(0))
        .sum();
    assert!(exfil > 3_000_000_000, "exfiltrated {exfil} bytes");
    assert!(recs.iter().any(|r| r["srcaddr"] == CLOUD_ATTACKER_IP
        && r["dstport"] == "22"
        && r["action"] == "ACCEPT"));
    assert_eq!(g.planted().len(), 3);

    // Kubernetes audit.
    let mut g = K8sAuditGenerator::new(&cfg, 5000);
    let mut buf = Vec::new();
    while g.next_into(&mut buf) {
        buf.push(b'\n');
    }
    let evs: Vec<Value> = lines(&buf).map(parse).collect();
    let anon: Vec<_> = evs
        .iter()
        .filter(|e| e["user"]["username"] == "system:anonymous")
        .collect();
    assert_eq!(anon.len(), 3);
    assert!(anon.iter().all(|e| e["sourceIPs"][0] == K8S_ATTACKER_IP));
    let exec: Vec<_> = evs
        .iter()
        .filter(|e| e["objectRef"]["subresource"] == "exec" && e["objectRef"]["name"] == EXEC_POD)
        .collect();
    assert_eq!(exec.len(), 1);
    assert_eq!(exec[0]["user"]["username"], K8S_ATTACKER_USER);
    assert_eq!(exec[0]["responseStatus"]["code"], 101);
    let pod = evs
        .iter()
        .find(|e| e["objectRef"]["name"] == PRIVILEGED_POD)
        .expect("privileged pod created");
    let spec = &pod["requestObject"]["spec"];
    assert_eq!(spec["containers"][0]["securityContext"]["privileged"], true);
    assert_eq!(spec["hostPID"], true);
    assert_eq!(spec["volumes"][0]["hostPath"]["path"], "/");
    let crb = evs
        .iter()
        .find(|e| e["objectRef"]["name"] == ADMIN_BINDING)
        .expect("binding created");
    assert_eq!(crb["requestObject"]["roleRef"]["name"], "cluster-admin");
    assert_eq!(
        crb["requestObject"]["subjects"][0]["name"],
        "jenkins-deployer"
    );
    // The stolen token is normally used from inside the cluster.
    assert!(evs.iter().any(
        |e| e["user"]["username"] == K8S_ATTACKER_USER && e["sourceIPs"][0] != K8S_ATTACKER_IP
    ));
    assert_eq!(g.planted().iter().map(|p| p.events).sum::<u64>(), 9);

    // Falco.
    let mut g = FalcoGenerator::new(&cfg, 500);
    let mut buf = Vec::new();
    while g.next_into(&mut buf) {
        buf.push(b'\n');
    }
    let alerts: Vec<Value> = lines(&buf).map(parse).collect();
    let shell = alerts
        .iter()
        .find(|a| {
            a["rule"] == "Terminal shell in container"
                && a["output_fields"]["k8s.pod.name"] == EXEC_POD
        })
        .expect("shell in the exec'd pod");
    assert_eq!(shell["output_fields"]["container.id"], EXEC_CONTAINER_ID);
    assert!(
        alerts
            .iter()
            .any(|a| a["output_fields"]["fd.sip"] == K8S_ATTACKER_IP)
    );
    assert_eq!(g.planted().len(), 4);
}

#[test]
fn without_attacks_nothing_is_planted() {
    let cfg = GenConfig {
        attacks: false,
        ..GenConfig::default()
    };
    for out in [
        ct(&cfg, 20_000),
        flows(&cfg, 100_000, FlowForm::V5Custom),
        k8s(&cfg, 5000),
        falco(&cfg, 500),
    ] {
        let text = String::from_utf8(out).expect("utf8");
        for needle in [
            "192.0.2.",
            BACKDOOR_USER,
            PRIVILEGED_POD,
            ADMIN_BINDING,
            "system:anonymous",
        ] {
            assert!(!text.contains(needle), "{needle} found without attacks");
        }
    }
}

#[test]
fn dataset_has_every_source_near_the_budget_and_a_truthful_manifest() {
    let cfg = GenConfig::default();
    let dir = TempDir::new("dataset");
    let target = 12_000_000;
    let m = write_dataset(&dir.0, &cfg, target).expect("dataset");
    let total = m.total_bytes as f64;
    assert!(
        (0.8..1.3).contains(&(total / target as f64)),
        "{total} bytes for {target}"
    );
    let mut on_disk = 0u64;
    for f in &m.files {
        let bytes = std::fs::read(dir.0.join(&f.path)).expect("file in manifest exists");
        assert_eq!(bytes.len() as u64, f.bytes, "{}", f.path);
        on_disk += f.bytes;
        assert!(f.first_time <= f.last_time);
        let events = match f.format {
            "cloudtrail-s3-object" => parse(&bytes)["Records"]
                .as_array()
                .map(Vec::len)
                .unwrap_or(0) as u64,
            "vpcflow-v5-custom" | "vpcflow-v2-default" => lines(&bytes).count() as u64 - 1,
            _ => lines(&bytes).count() as u64,
        };
        assert_eq!(events, f.events, "{}", f.path);
    }
    assert_eq!(on_disk, m.total_bytes);
    let count = std::fs::read_dir(&dir.0).expect("dir").count();
    assert_eq!(count, 4, "cloudtrail, vpcflow, k8s, falco and nothing else");
    for kind in ["cloudtrail", "vpcflow", "k8s_audit", "falco"] {
        assert!(m.events_of(kind) > 0, "{kind}");
        assert!(
            m.attacks.iter().any(|a| a.kind == kind),
            "attacks planted in {kind}"
        );
    }
    // The scenarios line up across sources.
    let at = |ind: &str, kind: &str| {
        m.attacks
            .iter()
            .find(|a| a.indicator == ind && a.kind == kind)
            .map(|a| a.first_time)
            .unwrap_or_else(|| panic!("{ind} planted in {kind}"))
    };
    let exec = at(EXEC_POD, "k8s_audit");
    let shell = at(EXEC_POD, "falco");
    assert!(
        (shell - exec).abs() <= 60,
        "Falco sees the shell when it is exec'd: {exec} {shell}"
    );
    assert!(
        at(CLOUD_ATTACKER_IP, "vpcflow") >= at(OPENED_SECURITY_GROUP, "cloudtrail"),
        "SSH after port 22 was opened"
    );
    assert!(
        at(EXFIL_DEST_IP, "vpcflow") > exec,
        "exfiltration after the compromise"
    );
    let json = m.to_json();
    assert_eq!(json["files"].as_array().map(Vec::len), Some(m.files.len()));
    assert_eq!(
        json["attacks"].as_array().map(Vec::len),
        Some(m.attacks.len())
    );

    // Same seed, same dataset.
    let again = TempDir::new("dataset-again");
    let m2 = write_dataset(&again.0, &cfg, target).expect("dataset");
    assert_eq!(m, m2);
    for f in &m.files {
        assert_eq!(
            std::fs::read(dir.0.join(&f.path)).ok(),
            std::fs::read(again.0.join(&f.path)).ok(),
            "{}",
            f.path
        );
    }
}

#[test]
fn dataset_options_add_the_ndjson_copy_and_the_manifest_file() {
    let dir = TempDir::new("dataset-opts");
    let opts = DatasetOptions {
        cloudtrail_ndjson: true,
        write_manifest: true,
        events_per_file: 500,
        ..DatasetOptions::default()
    };
    let m = write_dataset_with(&dir.0, &GenConfig::default(), 1, &opts).expect("dataset");
    let ndjson = std::fs::read(dir.0.join("cloudtrail.ndjson")).expect("ndjson copy");
    assert_eq!(lines(&ndjson).count() as u64, m.events_of("cloudtrail"));
    let written: Value =
        serde_json::from_slice(&std::fs::read(dir.0.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(written, m.to_json());
    assert!(
        m.files
            .iter()
            .filter(|f| f.format == "cloudtrail-s3-object")
            .all(|f| f.events <= 500)
    );
}

/// Writes samples for eyeballing: `VIGIL_GEN_DUMP=/tmp/x cargo test -p vigil-bench -- --ignored dump`.
#[test]
#[ignore]
fn dump_samples() {
    let Some(dir) = std::env::var_os("VIGIL_GEN_DUMP") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("dump dir");
    let n: usize = std::env::var("VIGIL_GEN_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let cfg = GenConfig::default();
    let mut f = std::fs::File::create(dir.join("ct.ndjson")).expect("create");
    write_cloudtrail(&mut f, &cfg, n, CloudTrailForm::Ndjson).expect("write");
    let mut f = std::fs::File::create(dir.join("flow5.log")).expect("create");
    write_vpcflow(&mut f, &cfg, n * 10, FlowForm::V5Custom).expect("write");
    let mut f = std::fs::File::create(dir.join("flow2.log")).expect("create");
    write_vpcflow(&mut f, &cfg, n, FlowForm::V2Default).expect("write");
    let mut f = std::fs::File::create(dir.join("k8s.ndjson")).expect("create");
    write_k8s_audit(&mut f, &cfg, n).expect("write");
    let mut f = std::fs::File::create(dir.join("falco.ndjson")).expect("create");
    write_falco(&mut f, &cfg, n / 10).expect("write");
    let mb: u64 = std::env::var("VIGIL_GEN_DATASET_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let t = std::time::Instant::now();
    let m = write_dataset(&dir.join("dataset"), &cfg, mb * 1_000_000).expect("dataset");
    eprintln!(
        "dataset: {} bytes in {:.2}s",
        m.total_bytes,
        t.elapsed().as_secs_f64()
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&m.to_json()).expect("json")
    );
}

/// Prints generation speed and average sizes (no assertion: speed is claimed in
/// benchmarks, not tests): `cargo test -p vigil-bench --release -- --ignored measure --nocapture`.
#[test]
#[ignore]
fn measure_throughput() {
    let cfg = GenConfig::default();
    let report = |name: &str, n: usize, f: &dyn Fn(&mut std::io::Sink) -> u64| {
        let t = std::time::Instant::now();
        let bytes = f(&mut std::io::sink());
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{name:>14}: {n} events, {:.0} B/event, {:.0} MB/s",
            bytes as f64 / n as f64,
            bytes as f64 / secs / 1e6
        );
    };
    let n = 400_000;
    report("cloudtrail s3", n, &|w| {
        write_cloudtrail(
            w,
            &cfg,
            n,
            CloudTrailForm::S3Object {
                events_per_file: 1000,
            },
        )
        .expect("io")
    });
    report("vpcflow v2", n * 10, &|w| {
        write_vpcflow(w, &cfg, n * 10, FlowForm::V2Default).expect("io")
    });
    report("vpcflow v5", n * 10, &|w| {
        write_vpcflow(w, &cfg, n * 10, FlowForm::V5Custom).expect("io")
    });
    report("k8s audit", n, &|w| {
        write_k8s_audit(w, &cfg, n).expect("io")
    });
    report("falco", n, &|w| write_falco(w, &cfg, n).expect("io"));
}
