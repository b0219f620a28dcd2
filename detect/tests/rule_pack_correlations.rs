//! The shipped correlation rules (`detect/rules/correlations/`), run through the engine.
//!
//! - Generated estate with the planted attacks: every source generated over the same two
//!   hours (so the cross-source steps line up in event time), the whole pack run over it.
//!   Each correlation fires on its planted story, with the expected group values, on
//!   planted events only, and nowhere else ([`expected_on_generated`] is the table).
//! - The same estate generated without attacks (and a second seed at twice the density):
//!   no correlation fires; the counts of their input rules' findings are printed to show
//!   what they had to work with.
//! - Stratus Red Team and the Invictus lab account (real CloudTrail): the CloudTrail
//!   correlations the generator cannot trigger (the generated attacker reads one secret).
//! - Constructed events: for each correlation, its positive case next to the near misses
//!   it must not fire on (wrong order, another identity, outside the window, below the
//!   threshold).
//!
//! Run with `--nocapture` for the findings behind each number.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};
use vigil_bench::generate::{self, FlowForm, GenConfig, attacks};
use vigil_detect::compile::CorrInput;
use vigil_detect::correlate::CorrelationConfig;
use vigil_detect::finding::rfc3339;
use vigil_detect::rule::load::{load_paths, load_str};
use vigil_detect::{Engine, EngineOptions, Finding, detect_batch};
use vigil_ingest::{EventBatch, SourceKind};

// Titles of the shipped correlation rules.
const PORT_SCAN: &str = "Port Scan Against VPC Addresses";
const SECRETS: &str = "Many Secrets Read With Long-Term Credentials";
const BACKDOOR: &str = "Backdoor Administrator User Built Step by Step";
const MFA_TRAIL: &str = "Console Login Without MFA Followed by CloudTrail Being Stopped";
const DISTRO_SSH: &str =
    "AWS API Driven From an Attack Distribution, Then SSH or RDP From the Same Address";
const SG_SSH: &str =
    "Security Group Opened to the Internet, Then SSH or RDP From the Address That Opened It";
const EGRESS: &str = "Sustained Large Egress From One Address to One Internet Destination";
const TAKEOVER: &str = "Exec Into a Pod, Then Node or Cluster Control Taken by the Same Identity";
const EXEC_READ: &str = "Exec Into a Pod and Credential Files Read in It";
const NEW_ADDRESS_TRAFFIC: &str =
    "IAM User Calls From a New Address, Then Hosts Send Traffic to That Address";
const NEW_DESTINATION_EGRESS: &str = "Large Egress to a Destination New for Its Source";
const ESCAPE_POD_EXEC: &str = "Pod Able to Reach the Node Created, Then a Command Executed in It";
/// The intermediate correlation the takeover sequence is chained on: never emitted.
const CONTROL_GRANTED: &str = "Workload or Binding Granting Node or Cluster Control Created";
/// The first_seen steps of the two sequences above: never emitted.
const NEW_ADDRESS: &str = "New Source Address for an IAM User or Root";
const NEW_DESTINATION: &str = "Destination New for Its Source";
/// The first step of the escape-capable pod sequence: never emitted.
const ESCAPE_POD: &str = "Pod Able to Reach the Node Created";
/// Correlations that only feed others.
const INTERNAL: [&str; 4] = [CONTROL_GRANTED, NEW_ADDRESS, NEW_DESTINATION, ESCAPE_POD];

/// Every shipped correlation, the internal ones included.
const ALL: [&str; 16] = [
    PORT_SCAN,
    SECRETS,
    BACKDOOR,
    MFA_TRAIL,
    DISTRO_SSH,
    SG_SSH,
    EGRESS,
    TAKEOVER,
    EXEC_READ,
    NEW_ADDRESS_TRAFFIC,
    NEW_DESTINATION_EGRESS,
    ESCAPE_POD_EXEC,
    CONTROL_GRANTED,
    NEW_ADDRESS,
    NEW_DESTINATION,
    ESCAPE_POD,
];

fn pack_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// The whole shipped pack, for batch runs (no lateness limit).
fn pack_engine() -> Engine {
    let engine = Engine::from_rules(
        load_paths(&[pack_dir()]).unwrap(),
        EngineOptions {
            correlation: CorrelationConfig {
                allowed_lateness_secs: None,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        engine.report().rejected.is_empty(),
        "{:#?}",
        engine.report().rejected
    );
    let titles: BTreeSet<&str> = engine
        .plan()
        .correlations
        .iter()
        .map(|c| c.rule.meta.title.as_str())
        .collect();
    assert_eq!(titles, ALL.into_iter().collect(), "shipped correlations");
    engine
}

/// Every finding of `engine` over `batches`, in one run.
fn run(engine: &Engine, batches: &[EventBatch]) -> Vec<Finding> {
    let mut ev = engine.evaluator().unwrap();
    let mut det = engine.detector();
    let mut out = Vec::new();
    for b in batches {
        out.extend(det.push([detect_batch(engine.plan(), &mut ev, b).unwrap()]));
    }
    out.extend(det.finish());
    let s = &det.stats().correlation;
    assert_eq!(
        (s.late_events, s.evicted_groups, s.dropped_entries),
        (0, 0, 0),
        "{s:?}"
    );
    out
}

/// A correlation finding's group: `(field, value)` pairs sorted by field.
type Group = Vec<(String, String)>;

fn correlations(fs: &[Finding]) -> Vec<&Finding> {
    fs.iter().filter(|f| f.source == "correlation").collect()
}

/// `field=value` pairs of a correlation finding's group, sorted by field.
fn group_of(f: &Finding) -> Group {
    f.group
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().unwrap_or_else(|| "<null>".into())))
        .collect()
}

fn show(f: &Finding) -> String {
    format!(
        "{}: group {:?}, window {} .. {}, value {}, {} events, {} repeats folded in",
        f.rule_title,
        group_of(f),
        f.window.as_ref().map_or("", |w| &w.start),
        f.window.as_ref().map_or("", |w| &w.end),
        f.value.unwrap_or(f64::NAN),
        f.event_ids.len(),
        f.suppressed
    )
}

// ---------------------------------------------------------------------------------------
// Generated estate

/// Seconds every generated source spans. Long enough that no planted scenario is
/// compressed below its real duration except the last SSH sessions and the exfiltration
/// (spread over 14 instead of 25-30 minutes).
const SPAN_SECS: f64 = 7200.0;

/// Lines from a generator (`next` appends one record, false at the end), after an
/// optional header line.
fn generated(header: Option<&str>, mut next: impl FnMut(&mut Vec<u8>) -> bool) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(h) = header {
        out.extend_from_slice(h.as_bytes());
        out.push(b'\n');
    }
    while next(&mut out) {
        out.push(b'\n');
    }
    out
}

/// Every source of the estate over the same [`SPAN_SECS`]: CloudTrail, the production VPC
/// (version 5 records) and the staging VPC (version 2), Kubernetes audit and Falco; sizes
/// times `density`.
fn estate(cfg: &GenConfig, density: u64) -> Vec<EventBatch> {
    let mut bytes = Vec::new();
    let mut g = generate::CloudTrailGenerator::new(cfg, 10_000 * density).with_span_secs(SPAN_SECS);
    bytes.push(generated(None, |b| g.next_into(b)));
    for (mut g, form) in [
        (
            generate::FlowGenerator::new(cfg, 30_000 * density),
            FlowForm::V5Custom,
        ),
        (
            generate::FlowGenerator::staging(cfg, 5_000 * density),
            FlowForm::V2Default,
        ),
    ] {
        g = g.with_span_secs(SPAN_SECS);
        bytes.push(generated(Some(generate::flow_header(form)), |b| {
            g.next_into(b, form)
        }));
    }
    let mut g = generate::K8sAuditGenerator::new(cfg, 4_000 * density).with_span_secs(SPAN_SECS);
    bytes.push(generated(None, |b| g.next_into(b)));
    let mut g = generate::FalcoGenerator::new(cfg, 800 * density).with_span_secs(SPAN_SECS);
    bytes.push(generated(None, |b| g.next_into(b)));
    let mut out = Vec::new();
    for b in &bytes {
        let d = batches_of(b);
        assert!(d.1.is_empty(), "dead letters: {:#?}", d.1);
        out.extend(d.0);
    }
    out
}

fn text<'a>(b: &'a EventBatch, name: &str, row: usize) -> &'a str {
    text_value(b, name, row).unwrap_or("")
}

/// What the generator planted, found by the documented attacker values.
#[derive(Debug, Default)]
struct Planted {
    /// Event ids of every planted event, all sources.
    events: BTreeSet<String>,
    /// Source addresses of the planted egress records to the exfiltration address (the
    /// pod and the NAT gateway).
    exfil_sources: BTreeSet<String>,
}

fn planted(batches: &[EventBatch]) -> Planted {
    let mut p = Planted::default();
    for b in batches {
        for r in 0..b.batch.num_rows() {
            let is = match b.kind {
                SourceKind::CloudTrail => {
                    text(b, "sourceIPAddress", r) == attacks::CLOUD_ATTACKER_IP
                }
                SourceKind::VpcFlow => {
                    let (src, dst) = (text(b, "srcaddr", r), text(b, "dstaddr", r));
                    if dst == attacks::EXFIL_DEST_IP {
                        p.exfil_sources.insert(src.to_string());
                    }
                    [
                        attacks::SCANNER_IP,
                        attacks::CLOUD_ATTACKER_IP,
                        attacks::EXFIL_DEST_IP,
                    ]
                    .iter()
                    .any(|a| *a == src || *a == dst)
                }
                SourceKind::K8sAudit => text(b, "src_endpoint_ip", r) == attacks::K8S_ATTACKER_IP,
                SourceKind::Falco => {
                    let raw: Value = serde_json::from_str(text(b, "raw", r)).unwrap();
                    let of = &raw["output_fields"];
                    of["container.id"] == attacks::EXEC_CONTAINER_ID
                        || of["k8s.pod.name"] == attacks::PRIVILEGED_POD
                }
            };
            if is {
                p.events.insert(text(b, "event_uid", r).to_string());
            }
        }
    }
    p
}

/// One expected correlation finding on the generated estate.
struct Expect {
    rule: &'static str,
    group: Vec<(&'static str, String)>,
    /// Repeats folded into it by the rule's suppression.
    suppressed: u64,
}

/// Per correlation, the findings the planted attacks must raise (and no other).
fn expected_on_generated(p: &Planted) -> Vec<Expect> {
    let one = |rule, group: &[(&'static str, &str)]| Expect {
        rule,
        group: group.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        suppressed: 0,
    };
    let mut out = vec![
        // 100 ports in 100 s: a finding every 20 ports, folded into the first.
        Expect {
            suppressed: 4,
            ..one(PORT_SCAN, &[("srcaddr", attacks::SCANNER_IP)])
        },
        one(
            BACKDOOR,
            &[("requestParameters.userName", attacks::BACKDOOR_USER)],
        ),
        one(
            MFA_TRAIL,
            &[("userIdentity.arn", attacks::BACKDOOR_USER_ARN)],
        ),
        one(
            DISTRO_SSH,
            &[("remote_address", attacks::CLOUD_ATTACKER_IP)],
        ),
        one(SG_SSH, &[("remote_address", attacks::CLOUD_ATTACKER_IP)]),
        // The leaked key's first call from the attacker's address, then the bastion's
        // replies to the attacker's SSH sessions.
        one(
            NEW_ADDRESS_TRAFFIC,
            &[("remote_address", attacks::CLOUD_ATTACKER_IP)],
        ),
        one(TAKEOVER, &[("user.username", attacks::K8S_ATTACKER_USER)]),
        one(
            EXEC_READ,
            &[
                ("namespace", attacks::EXEC_NAMESPACE),
                ("pod", attacks::EXEC_POD),
            ],
        ),
    ];
    // ~210 MB a record, 25 records from each source: a finding every gigabyte, folded
    // into the first.
    for src in &p.exfil_sources {
        // The first record to the exfiltration address is new for its source and over
        // 100 MB.
        out.push(one(
            NEW_DESTINATION_EGRESS,
            &[("dstaddr", attacks::EXFIL_DEST_IP), ("srcaddr", src)],
        ));
        out.push(Expect {
            suppressed: 4,
            ..one(
                EGRESS,
                &[("dstaddr", attacks::EXFIL_DEST_IP), ("srcaddr", src)],
            )
        });
    }
    out
}

#[test]
fn each_correlation_fires_on_its_planted_story_and_nowhere_else() {
    let engine = pack_engine();
    let data = estate(&GenConfig::default(), 1);
    let planted = planted(&data);
    let fs = run(&engine, &data);
    let corr = correlations(&fs);
    eprintln!("\ngenerated estate with attacks: correlation findings");
    for f in &corr {
        eprintln!("    {}", show(f));
    }
    assert_eq!(
        planted.exfil_sources.len(),
        2,
        "pod and NAT gateway: {:?}",
        planted.exfil_sources
    );
    let expected = expected_on_generated(&planted);
    let mut wrong = Vec::new();
    for e in &expected {
        let want: Group = e
            .group
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let n = corr
            .iter()
            .filter(|f| f.rule_title == e.rule && group_of(f) == want)
            .inspect(|f| {
                if f.suppressed != e.suppressed {
                    wrong.push(format!(
                        "{}: {} repeats folded, expected {}",
                        show(f),
                        f.suppressed,
                        e.suppressed
                    ));
                }
            })
            .count();
        if n != 1 {
            wrong.push(format!("{} {want:?}: {n} findings, expected 1", e.rule));
        }
    }
    for f in &corr {
        let off: Vec<&String> = f
            .event_ids
            .iter()
            .filter(|id| !planted.events.contains(*id))
            .collect();
        if !off.is_empty() {
            wrong.push(format!("{}: events not planted: {off:?}", show(f)));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(
        corr.len(),
        expected.len(),
        "unexpected correlation findings"
    );
    // The generated attacker reads a single secret: nothing for the harvesting rule here
    // (see the Stratus test).
    assert!(!corr.iter().any(|f| f.rule_title == SECRETS));
    assert!(
        fs.iter()
            .all(|f| !INTERNAL.contains(&f.rule_title.as_str()))
    );
}

#[test]
fn no_correlation_fires_on_the_estate_without_attacks() {
    let engine = pack_engine();
    // The inputs each correlation had to work with: (rule id, title) per input.
    let plan = engine.plan();
    let inputs: Vec<(&str, Vec<(&str, &str)>)> = plan
        .correlations
        .iter()
        .map(|c| {
            let ins = c
                .inputs
                .iter()
                .map(|i| match i {
                    CorrInput::Rule { rule, .. } => {
                        let m = &plan.rules[*rule].meta;
                        (m.id.0.as_str(), m.title.as_str())
                    }
                    CorrInput::Correlation { corr, .. } => {
                        let m = &plan.correlations[*corr].rule.meta;
                        (m.id.0.as_str(), m.title.as_str())
                    }
                })
                .collect();
            (c.rule.meta.title.as_str(), ins)
        })
        .collect();
    for (seed, density) in [(42, 1), (7, 2)] {
        let cfg = GenConfig {
            seed,
            attacks: false,
            ..GenConfig::default()
        };
        let fs = run(&engine, &estate(&cfg, density));
        let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &fs {
            *per_rule.entry(f.rule_id.as_str()).or_default() += 1;
        }
        eprintln!(
            "\ngenerated estate without attacks (seed {seed}, density x{density}): input findings per correlation"
        );
        for (title, ins) in &inputs {
            eprintln!("    {title}");
            for (id, t) in ins {
                eprintln!("        {:6}  {t}", per_rule.get(id).copied().unwrap_or(0));
            }
        }
        let corr = correlations(&fs);
        for f in &corr {
            eprintln!("    FIRED {}", show(f));
        }
        assert!(
            corr.is_empty(),
            "{} correlation findings on background",
            corr.len()
        );
        // Background has material for the sequences: rejected flows, accepted SSH from
        // the internet (the office), operators' exec into pods, credential file reads.
        for id in [
            "8240ea0d-bc49-43f1-a851-4e225e838a52",
            "9ff42671-45dc-4262-83e0-29ced2325811",
            "a91e1416-57e9-41f7-8538-631b0ca964e3",
            "391ba6a0-89d5-469d-960d-09485ac03ce5",
        ] {
            assert!(per_rule.contains_key(id), "no background findings of {id}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Real CloudTrail: Stratus Red Team and the Invictus lab

#[test]
fn cloudtrail_correlations_on_stratus_and_invictus() {
    let engine = pack_engine();
    let stratus: Vec<String> =
        std::fs::read_to_string(corpus().join("stratus-red-team/labelled_events.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].to_string())
            .collect();
    let stratus = batches_of(stratus.join("\n").as_bytes());
    let invictus = batches(&[corpus().join("invictus-sigma-aws/CloudTrail")]);
    assert!(stratus.1.is_empty() && invictus.1.is_empty());
    // (correlation, its single group-by field and value, repeats folded in)
    type Want = (&'static str, (&'static str, &'static str), u64);
    let expected: [(&str, &Batches, Vec<Want>); 2] = [
        // 20 secrets read in 4 s by the detonation: two findings of ten, folded; the
        // backdoor admin user technique (three calls within one second).
        (
            "stratus",
            &stratus,
            vec![
                (
                    SECRETS,
                    (
                        "userIdentity.arn",
                        "arn:aws:iam::903144391865:user/christophe",
                    ),
                    1,
                ),
                (
                    BACKDOOR,
                    ("requestParameters.userName", "malicious-iam-user"),
                    0,
                ),
            ],
        ),
        // The lab's key reads the 20 secrets three times: Terraform creating them and the
        // Stratus detonation within the same minute (11:57), then a Terraform refresh
        // (12:07, the rule's documented false positive), all within the 30 minutes of
        // suppression: one finding with 5 repeats. The detonation's backdoor user.
        (
            "invictus",
            &invictus,
            vec![
                (
                    SECRETS,
                    (
                        "userIdentity.arn",
                        "arn:aws:iam::123837392027:user/bert-jan",
                    ),
                    5,
                ),
                (
                    BACKDOOR,
                    ("requestParameters.userName", "malicious-iam-user"),
                    0,
                ),
            ],
        ),
    ];
    for (name, data, want) in expected {
        let fs = run(&engine, &data.0);
        let corr = correlations(&fs);
        eprintln!("\n{name}: correlation findings");
        for f in &corr {
            eprintln!("    {}", show(f));
        }
        let got: BTreeSet<(String, Group, u64)> = corr
            .iter()
            .map(|f| (f.rule_title.clone(), group_of(f), f.suppressed))
            .collect();
        let want: BTreeSet<(String, Group, u64)> = want
            .iter()
            .map(|(t, (k, v), s)| (t.to_string(), vec![(k.to_string(), v.to_string())], *s))
            .collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(corr.len(), want.len(), "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// Constructed events: each correlation next to its near misses

/// Unix microseconds of minute 0 of the constructed cases.
const T0: i64 = 1_795_000_000_000_000;

fn at(secs: i64) -> String {
    rfc3339(T0 + secs * 1_000_000)
}

/// A document to decode on its own (a source's bytes).
struct Doc(Vec<u8>);

/// A CloudTrail event at `secs` by IAM user `user` from `ip`, with extra members.
fn ct(secs: i64, user: &str, ip: &str, source: &str, name: &str, extra: Value) -> Doc {
    let mut e = json!({
        "eventVersion": "1.09", "eventTime": at(secs),
        "eventSource": source, "eventName": name, "awsRegion": "eu-west-1",
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9 exe/x86_64.ubuntu.22",
        "eventID": format!("ct-{secs}-{name}-{user}"), "eventType": "AwsApiCall",
        "userIdentity": {"type": "IAMUser", "userName": user,
                         "arn": format!("arn:aws:iam::111122223333:user/{user}"), "accountId": "111122223333"}
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    Doc(serde_json::to_vec(&e).unwrap())
}

const KALI_UA: &str = "aws-cli/2.13.25 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023";

const FLOW_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status pkt-dst-aws-service flow-direction";

/// A version 5 flow record starting at `secs`.
fn flow(secs: i64, src: &str, dst: &str, dport: u16, bytes: u64, action: &str) -> Doc {
    let start = (T0 / 1_000_000) + secs;
    let dir = if src.starts_with("10.") {
        "egress"
    } else {
        "ingress"
    };
    Doc(format!(
        "{FLOW_HEADER}\n5 111122223333 eni-0a1b2c3d {src} {dst} 50000 {dport} 6 {} {bytes} {start} {} {action} OK - {dir}\n",
        bytes / 1000 + 1,
        start + 60
    )
    .into_bytes())
}

/// A Kubernetes audit event at `secs` by `user` on `object`, with extra members.
fn k8s(secs: i64, user: &str, verb: &str, object: Value, extra: Value) -> Doc {
    let mut e = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": format!("audit-{secs}-{verb}-{user}"), "stage": "ResponseComplete",
        "requestURI": "/api/v1/x", "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["203.0.113.80"], "objectRef": object,
        "responseStatus": {"metadata": {}, "code": 201},
        "requestReceivedTimestamp": at(secs),
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    Doc(serde_json::to_vec(&e).unwrap())
}

fn exec(secs: i64, user: &str, pod: &str, ns: &str) -> Doc {
    k8s(
        secs,
        user,
        "create",
        json!({"resource": "pods", "namespace": ns, "name": pod, "subresource": "exec", "apiVersion": "v1"}),
        json!({}),
    )
}

fn pod_create(secs: i64, user: &str, spec: Value) -> Doc {
    k8s(
        secs,
        user,
        "create",
        json!({"resource": "pods", "namespace": "kube-system", "apiVersion": "v1"}),
        json!({"requestObject": {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "dbg"}, "spec": spec}}),
    )
}

fn privileged_pod(secs: i64, user: &str) -> Doc {
    pod_create(
        secs,
        user,
        json!({"containers": [{"name": "c", "image": "alpine:3.19", "securityContext": {"privileged": true}}]}),
    )
}

fn admin_binding(secs: i64, user: &str) -> Doc {
    k8s(
        secs,
        user,
        "create",
        json!({"resource": "clusterrolebindings", "name": "x", "apiGroup": "rbac.authorization.k8s.io"}),
        json!({"requestObject": {"kind": "ClusterRoleBinding", "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": [{"kind": "ServiceAccount", "name": "d", "namespace": "ci"}]}}),
    )
}

/// A Falco alert of `rule` at `secs` in `pod` of `ns`, with extra output fields.
fn falco(secs: i64, rule: &str, pod: &str, ns: &str, fields: Value) -> Doc {
    let mut e = json!({
        "output": "x", "priority": "Warning", "rule": rule, "source": "syscall",
        "time": at(secs), "uuid": format!("falco-{secs}-{pod}"),
        "output_fields": {"container.id": "0123456789ab", "k8s.pod.name": pod, "k8s.ns.name": ns}
    });
    for (k, v) in fields.as_object().unwrap() {
        e["output_fields"][k] = v.clone();
    }
    Doc(serde_json::to_vec(&e).unwrap())
}

/// One constructed case: what it is, the correlation, its events and the groups it must
/// produce findings for (empty: must not fire).
struct Case {
    what: &'static str,
    rule: &'static str,
    docs: Vec<Doc>,
    groups: Vec<Vec<(&'static str, String)>>,
}

fn case(what: &'static str, rule: &'static str, docs: Vec<Doc>) -> Case {
    Case {
        what,
        rule,
        docs,
        groups: Vec::new(),
    }
}

impl Case {
    fn fires(mut self, group: &[(&'static str, &str)]) -> Self {
        self.groups
            .push(group.iter().map(|(k, v)| (*k, v.to_string())).collect());
        self
    }
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let iam = "iam.amazonaws.com";

    // Backdoor administrator: CreateUser, admin policy, key for that user, any order.
    let backdoor = |t: [i64; 3], key_for: &str| {
        vec![
            ct(
                t[0],
                "ops",
                "198.51.100.7",
                iam,
                "CreateUser",
                json!({"requestParameters": {"userName": "bk"}}),
            ),
            ct(
                t[1],
                "ops",
                "198.51.100.7",
                iam,
                "AttachUserPolicy",
                json!({"requestParameters": {"userName": "bk", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}}),
            ),
            ct(
                t[2],
                "ops",
                "198.51.100.7",
                iam,
                "CreateAccessKey",
                json!({"requestParameters": {"userName": key_for}}),
            ),
        ]
    };
    out.push(
        case(
            "user, admin policy, key",
            BACKDOOR,
            backdoor([0, 60, 120], "bk"),
        )
        .fires(&[("requestParameters.userName", "bk")]),
    );
    out.push(
        case(
            "key issued before the policy",
            BACKDOOR,
            backdoor([0, 60, 30], "bk"),
        )
        .fires(&[("requestParameters.userName", "bk")]),
    );
    out.push(
        case(
            "all in one second, arriving key first",
            BACKDOOR,
            backdoor([5, 5, 5], "bk").into_iter().rev().collect(),
        )
        .fires(&[("requestParameters.userName", "bk")]),
    );
    out.push(case(
        "key for another user",
        BACKDOOR,
        backdoor([0, 60, 120], "other"),
    ));
    out.push(case(
        "key 40 minutes after the user",
        BACKDOOR,
        backdoor([0, 60, 2400], "bk"),
    ));

    // Console login without MFA, then the same identity stops a trail.
    let login = |t, user: &str| {
        ct(
            t,
            user,
            "198.51.100.7",
            "signin.amazonaws.com",
            "ConsoleLogin",
            json!({"responseElements": {"ConsoleLogin": "Success"}, "additionalEventData": {"MFAUsed": "No"}}),
        )
    };
    let stop = |t, user: &str| {
        ct(
            t,
            user,
            "198.51.100.7",
            "cloudtrail.amazonaws.com",
            "StopLogging",
            json!({"requestParameters": {"name": "t"}}),
        )
    };
    out.push(
        case(
            "login then stop 50 min later",
            MFA_TRAIL,
            vec![login(0, "eve"), stop(3000, "eve")],
        )
        .fires(&[("userIdentity.arn", "arn:aws:iam::111122223333:user/eve")]),
    );
    out.push(case(
        "stop before the login",
        MFA_TRAIL,
        vec![stop(0, "eve"), login(60, "eve")],
    ));
    out.push(case(
        "stop by someone else",
        MFA_TRAIL,
        vec![login(0, "eve"), stop(60, "ops")],
    ));
    out.push(case(
        "stop 70 min after the login",
        MFA_TRAIL,
        vec![login(0, "eve"), stop(4200, "eve")],
    ));

    // Secrets harvesting: ten different secrets in ten minutes with long-term keys.
    let reads = |n: i64, distinct: bool, identity: Value| -> Vec<Doc> {
        (0..n)
            .map(|i| {
                let id = if distinct { format!("prod/s{i}") } else { "prod/s0".to_string() };
                ct(i * 30, "eve", "198.51.100.7", "secretsmanager.amazonaws.com", "GetSecretValue",
                   json!({"requestParameters": {"secretId": id}, "userIdentity": identity.clone()}))
            })
            .collect()
    };
    let user =
        json!({"type": "IAMUser", "userName": "eve", "arn": "arn:aws:iam::111122223333:user/eve"});
    let role =
        json!({"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/app/i-1"});
    out.push(
        case(
            "ten secrets in five minutes",
            SECRETS,
            reads(10, true, user.clone()),
        )
        .fires(&[("userIdentity.arn", "arn:aws:iam::111122223333:user/eve")]),
    );
    out.push(case("nine secrets", SECRETS, reads(9, true, user.clone())));
    out.push(case(
        "one secret ten times",
        SECRETS,
        reads(10, false, user),
    ));
    out.push(case(
        "ten secrets by a role session",
        SECRETS,
        reads(10, true, role),
    ));

    // Port scan: 20 different ports rejected from one source in five minutes.
    let probes = |n: u16, same_source: bool, action: &str| -> Vec<Doc> {
        (0..n)
            .map(|i| {
                let src = if same_source {
                    "198.51.100.77".to_string()
                } else {
                    format!("198.51.100.{}", i + 1)
                };
                flow(i64::from(i) * 5, &src, "10.0.0.24", 1000 + i, 44, action)
            })
            .collect()
    };
    out.push(
        case("20 ports rejected", PORT_SCAN, probes(20, true, "REJECT"))
            .fires(&[("srcaddr", "198.51.100.77")]),
    );
    out.push(case(
        "19 ports rejected",
        PORT_SCAN,
        probes(19, true, "REJECT"),
    ));
    out.push(case(
        "20 ports from 20 sources",
        PORT_SCAN,
        probes(20, false, "REJECT"),
    ));
    out.push(case(
        "20 ports accepted",
        PORT_SCAN,
        probes(20, true, "ACCEPT"),
    ));

    // Sustained egress: records over 100 MB adding up to 1 GB to one destination in an hour.
    let egress = |n: i64, mb: u64, every_secs: i64, same_dest: bool| -> Vec<Doc> {
        (0..n)
            .map(|i| {
                let dst = if same_dest {
                    "81.2.69.160".to_string()
                } else {
                    format!("81.2.69.{}", 160 + i)
                };
                flow(
                    i * every_secs,
                    "10.0.3.9",
                    &dst,
                    443,
                    mb * 1_000_000,
                    "ACCEPT",
                )
            })
            .collect()
    };
    out.push(
        case(
            "5 x 210 MB in 40 minutes",
            EGRESS,
            egress(5, 210, 600, true),
        )
        .fires(&[("dstaddr", "81.2.69.160"), ("srcaddr", "10.0.3.9")]),
    );
    out.push(case("4 x 210 MB", EGRESS, egress(4, 210, 600, true)));
    out.push(case(
        "5 x 210 MB to five destinations",
        EGRESS,
        // Within the first_seen steps' 15 minutes of learning, so that the new-destination
        // sequence stays out of it.
        egress(5, 210, 120, false),
    ));
    out.push(case(
        "12 x 99 MB (no record is large)",
        EGRESS,
        egress(12, 99, 60, true),
    ));
    out.push(case(
        "5 x 210 MB over 80 minutes",
        EGRESS,
        egress(5, 210, 1200, true),
    ));

    // Attack distribution's CLI, then SSH from the same address.
    let kali = |t, ip: &str| {
        ct(
            t,
            "svc",
            ip,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            json!({"userAgent": KALI_UA}),
        )
    };
    out.push(
        case(
            "kali call, SSH 20 h later",
            DISTRO_SSH,
            vec![
                kali(0, "81.2.69.66"),
                flow(72_000, "81.2.69.66", "10.0.0.24", 22, 5000, "ACCEPT"),
            ],
        )
        .fires(&[("remote_address", "81.2.69.66")]),
    );
    out.push(case(
        "SSH before the kali call",
        DISTRO_SSH,
        vec![
            flow(0, "81.2.69.66", "10.0.0.24", 22, 5000, "ACCEPT"),
            kali(60, "81.2.69.66"),
        ],
    ));
    out.push(case(
        "SSH from another address",
        DISTRO_SSH,
        vec![
            kali(0, "81.2.69.66"),
            flow(60, "81.2.69.67", "10.0.0.24", 22, 5000, "ACCEPT"),
        ],
    ));
    out.push(case(
        "SSH rejected",
        DISTRO_SSH,
        vec![
            kali(0, "81.2.69.66"),
            flow(60, "81.2.69.66", "10.0.0.24", 22, 44, "REJECT"),
        ],
    ));
    out.push(case(
        "ordinary CLI, then SSH",
        DISTRO_SSH,
        vec![
            ct(
                0,
                "svc",
                "81.2.69.66",
                "sts.amazonaws.com",
                "GetCallerIdentity",
                json!({}),
            ),
            flow(60, "81.2.69.66", "10.0.0.24", 22, 5000, "ACCEPT"),
        ],
    ));

    // Security group opened to the world, then SSH from the address that opened it.
    let open = |t, ip: &str, cidr: &str| {
        ct(
            t,
            "ops",
            ip,
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"requestParameters": {"groupId": "sg-1", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIp": cidr}}),
        )
    };
    out.push(
        case(
            "opened, SSH 10 min later",
            SG_SSH,
            vec![
                open(0, "81.2.69.66", "0.0.0.0/0"),
                flow(600, "81.2.69.66", "10.0.0.24", 22, 5000, "ACCEPT"),
            ],
        )
        .fires(&[("remote_address", "81.2.69.66")]),
    );
    out.push(case(
        "opened to one address only",
        SG_SSH,
        vec![
            open(0, "81.2.69.66", "81.2.69.66/32"),
            flow(600, "81.2.69.66", "10.0.0.24", 22, 5000, "ACCEPT"),
        ],
    ));
    out.push(case(
        "SSH 3 h later",
        SG_SSH,
        vec![
            open(0, "81.2.69.66", "0.0.0.0/0"),
            flow(10_800, "81.2.69.66", "10.0.0.24", 22, 5000, "ACCEPT"),
        ],
    ));
    out.push(case(
        "SSH from elsewhere",
        SG_SSH,
        vec![
            open(0, "81.2.69.66", "0.0.0.0/0"),
            flow(600, "81.2.69.99", "10.0.0.24", 22, 5000, "ACCEPT"),
        ],
    ));

    // Exec into a pod, then node or cluster control by the same identity.
    let sa = "system:serviceaccount:ci:deployer";
    out.push(
        case(
            "exec, then privileged pod",
            TAKEOVER,
            vec![exec(0, sa, "api-1", "payments"), privileged_pod(300, sa)],
        )
        .fires(&[("user.username", sa)]),
    );
    out.push(case("exec, then host-path pod (not privileged)", TAKEOVER, vec![
        exec(0, sa, "api-1", "payments"),
        pod_create(300, sa, json!({"containers": [{"name": "c", "image": "alpine:3.19"}], "volumes": [{"name": "h", "hostPath": {"path": "/"}}]})),
    ]).fires(&[("user.username", sa)]));
    out.push(
        case(
            "exec, then cluster-admin binding",
            TAKEOVER,
            vec![exec(0, sa, "api-1", "payments"), admin_binding(600, sa)],
        )
        .fires(&[("user.username", sa)]),
    );
    out.push(case(
        "privileged pod, then exec",
        TAKEOVER,
        vec![privileged_pod(0, sa), exec(300, sa, "api-1", "payments")],
    ));
    out.push(case(
        "exec by one, privileged pod by another",
        TAKEOVER,
        vec![
            exec(0, "alice", "api-1", "payments"),
            privileged_pod(300, sa),
        ],
    ));
    out.push(case(
        "exec, then an ordinary pod",
        TAKEOVER,
        vec![
            exec(0, sa, "api-1", "payments"),
            pod_create(
                300,
                sa,
                json!({"containers": [{"name": "c", "image": "alpine:3.19"}]}),
            ),
        ],
    ));
    out.push(case(
        "exec, binding 2 h later",
        TAKEOVER,
        vec![exec(0, sa, "api-1", "payments"), admin_binding(7200, sa)],
    ));

    // Exec into a pod and a credential file read seen by Falco in it.
    let read = |t, pod: &str, ns: &str| {
        falco(
            t,
            "Read sensitive file untrusted",
            pod,
            ns,
            json!({"fd.name": "/etc/shadow", "evt.type": "openat", "proc.cmdline": "cat /etc/shadow"}),
        )
    };
    out.push(
        case(
            "exec, then /etc/shadow read",
            EXEC_READ,
            vec![
                exec(0, "alice", "api-1", "payments"),
                read(40, "api-1", "payments"),
            ],
        )
        .fires(&[("namespace", "payments"), ("pod", "api-1")]),
    );
    out.push(
        case(
            "read stamped a few seconds before the exec",
            EXEC_READ,
            vec![
                read(0, "api-1", "payments"),
                exec(3, "alice", "api-1", "payments"),
            ],
        )
        .fires(&[("namespace", "payments"), ("pod", "api-1")]),
    );
    out.push(case(
        "read in another pod",
        EXEC_READ,
        vec![
            exec(0, "alice", "api-1", "payments"),
            read(40, "api-2", "payments"),
        ],
    ));
    out.push(case(
        "same pod name, other namespace",
        EXEC_READ,
        vec![
            exec(0, "alice", "api-1", "payments"),
            read(40, "api-1", "shop"),
        ],
    ));
    out.push(case(
        "read 15 min later",
        EXEC_READ,
        vec![
            exec(0, "alice", "api-1", "payments"),
            read(900, "api-1", "payments"),
        ],
    ));
    out.push(case(
        "exec and an interactive shell only",
        EXEC_READ,
        vec![
            exec(0, "alice", "api-1", "payments"),
            falco(
                40,
                "Terminal shell in container",
                "api-1",
                "payments",
                json!({"proc.cmdline": "sh"}),
            ),
        ],
    ));

    // A pod able to reach the node, then a command executed in that pod (by anyone).
    let host_path = |t, user: &str| {
        pod_create(
            t,
            user,
            json!({"containers": [{"name": "c", "image": "alpine:3.19"}],
                   "volumes": [{"name": "root", "hostPath": {"path": "/"}}]}),
        )
    };
    let plain_pod = |t, user: &str| {
        pod_create(
            t,
            user,
            json!({"containers": [{"name": "c", "image": "alpine:3.19"}]}),
        )
    };
    let in_dbg = [("namespace", "kube-system"), ("pod", "dbg")];
    out.push(
        case(
            "privileged pod, exec into it by another user",
            ESCAPE_POD_EXEC,
            vec![
                privileged_pod(0, "alice"),
                exec(300, "bob", "dbg", "kube-system"),
            ],
        )
        .fires(&in_dbg),
    );
    out.push(
        case(
            "host path pod, attach 50 min later",
            ESCAPE_POD_EXEC,
            vec![
                host_path(0, "alice"),
                exec(3000, "alice", "dbg", "kube-system"),
            ],
        )
        .fires(&in_dbg),
    );
    let misses = [
        (
            "privileged pod, exec into another pod",
            vec![
                privileged_pod(0, "alice"),
                exec(300, "alice", "api-1", "kube-system"),
            ],
        ),
        (
            "privileged pod, exec into a pod of that name elsewhere",
            vec![
                privileged_pod(0, "alice"),
                exec(300, "alice", "dbg", "default"),
            ],
        ),
        (
            // (By another user: the same user's exec, then escalation, is the takeover
            // sequence.)
            "exec before the pod was created",
            vec![
                exec(0, "bob", "dbg", "kube-system"),
                privileged_pod(300, "alice"),
            ],
        ),
        (
            "privileged pod, exec 2 h later",
            vec![
                privileged_pod(0, "alice"),
                exec(7200, "alice", "dbg", "kube-system"),
            ],
        ),
        (
            "an ordinary pod, exec into it",
            vec![
                plain_pod(0, "alice"),
                exec(300, "alice", "dbg", "kube-system"),
            ],
        ),
    ];
    for (what, docs) in misses {
        out.push(case(what, ESCAPE_POD_EXEC, docs));
    }

    // An IAM user calls from an address new for it (after the first_seen step's 15
    // minutes of learning), then a host sends traffic to that address. The first call, at
    // 0, starts the learning period.
    let call =
        |t, user: &str, ip: &str| ct(t, user, ip, "s3.amazonaws.com", "ListBuckets", json!({}));
    const HOME: &str = "81.2.69.10";
    const NEW: &str = "81.2.69.66";
    let to_new = |t, action: &str| flow(t, "10.0.0.24", NEW, 51000, 5000, action);
    out.push(
        case(
            "home, then a new address, then traffic to it",
            NEW_ADDRESS_TRAFFIC,
            vec![
                call(0, "svc", HOME),
                call(5000, "svc", NEW),
                to_new(5600, "ACCEPT"),
            ],
        )
        .fires(&[("remote_address", NEW)]),
    );
    out.push(
        case(
            "an address last used 15 days ago",
            NEW_ADDRESS_TRAFFIC,
            vec![
                call(0, "svc", NEW),
                call(15 * 86_400, "svc", NEW),
                to_new(15 * 86_400 + 600, "ACCEPT"),
            ],
        )
        .fires(&[("remote_address", NEW)]),
    );
    out.push(
        case(
            "an address new for this user, known for another",
            NEW_ADDRESS_TRAFFIC,
            vec![
                call(0, "ops", NEW),
                call(5000, "svc", NEW),
                to_new(5600, "ACCEPT"),
            ],
        )
        .fires(&[("remote_address", NEW)]),
    );
    // Near misses: none of these fires.
    let misses = [
        (
            "new address within the learning period",
            vec![
                call(0, "svc", HOME),
                call(600, "svc", NEW),
                to_new(900, "ACCEPT"),
            ],
        ),
        (
            "address used 13 days ago",
            vec![
                call(0, "svc", NEW),
                call(13 * 86_400, "svc", NEW),
                to_new(13 * 86_400 + 600, "ACCEPT"),
            ],
        ),
        (
            "traffic before the new address",
            vec![
                call(0, "svc", HOME),
                to_new(4000, "ACCEPT"),
                call(5000, "svc", NEW),
            ],
        ),
        (
            "traffic rejected",
            vec![
                call(0, "svc", HOME),
                call(5000, "svc", NEW),
                to_new(5600, "REJECT"),
            ],
        ),
        (
            "traffic to another address",
            vec![
                call(0, "svc", HOME),
                call(5000, "svc", NEW),
                flow(5600, "10.0.0.24", "81.2.69.67", 51000, 5000, "ACCEPT"),
            ],
        ),
        (
            "traffic 25 h later",
            vec![
                call(0, "svc", HOME),
                call(5000, "svc", NEW),
                to_new(5000 + 25 * 3600, "ACCEPT"),
            ],
        ),
        (
            "a role session (short-term credentials) from the new address",
            vec![
                call(0, "svc", HOME),
                ct(
                    5000,
                    "svc",
                    NEW,
                    "s3.amazonaws.com",
                    "ListBuckets",
                    json!({"userIdentity": {"type": "AssumedRole",
                        "arn": "arn:aws:sts::111122223333:assumed-role/app/i-0abc", "accountId": "111122223333"}}),
                ),
                to_new(5600, "ACCEPT"),
            ],
        ),
    ];
    for (what, docs) in misses {
        out.push(case(what, NEW_ADDRESS_TRAFFIC, docs));
    }

    // Large egress to a destination new for its source: the first flow, at 0, starts the
    // first_seen step's learning period (15 minutes).
    let to = |t, dst: &str, mb: u64| flow(t, "10.0.3.9", dst, 443, mb * 1_000_000, "ACCEPT");
    const OLD_PEER: &str = "81.2.69.1";
    const FRESH: &str = "81.2.69.200";
    out.push(
        case(
            "210 MB to a new destination",
            NEW_DESTINATION_EGRESS,
            vec![to(0, OLD_PEER, 1), to(4000, FRESH, 210)],
        )
        .fires(&[("dstaddr", FRESH), ("srcaddr", "10.0.3.9")]),
    );
    out.push(
        case(
            "new destination, 210 MB 50 minutes later",
            NEW_DESTINATION_EGRESS,
            vec![to(0, OLD_PEER, 1), to(4000, FRESH, 1), to(7000, FRESH, 210)],
        )
        .fires(&[("dstaddr", FRESH), ("srcaddr", "10.0.3.9")]),
    );
    out.push(
        case(
            "210 MB to a destination last seen 8 days ago",
            NEW_DESTINATION_EGRESS,
            vec![to(0, FRESH, 1), to(8 * 86_400, FRESH, 210)],
        )
        .fires(&[("dstaddr", FRESH), ("srcaddr", "10.0.3.9")]),
    );
    let misses = [
        (
            "210 MB to a long-standing peer",
            vec![to(0, FRESH, 1), to(4000, FRESH, 210)],
        ),
        (
            "210 MB to a new destination within the learning period",
            vec![to(0, OLD_PEER, 1), to(600, FRESH, 210)],
        ),
        (
            "new destination, 210 MB 2 h later",
            vec![
                to(0, OLD_PEER, 1),
                to(4000, FRESH, 1),
                to(11_200, FRESH, 210),
            ],
        ),
        (
            "99 MB to a new destination",
            vec![to(0, OLD_PEER, 1), to(4000, FRESH, 99)],
        ),
        (
            "210 MB to a new destination from another source",
            vec![
                to(0, OLD_PEER, 1),
                to(4000, FRESH, 1),
                flow(4100, "10.0.3.10", FRESH, 443, 210_000_000, "ACCEPT"),
                flow(0, "10.0.3.10", FRESH, 443, 1_000_000, "ACCEPT"),
            ],
        ),
    ];
    for (what, docs) in misses {
        out.push(case(what, NEW_DESTINATION_EGRESS, docs));
    }
    out
}

#[test]
fn constructed_sequences_and_their_near_misses() {
    let engine = pack_engine();
    let cases = cases();
    let mut covered = BTreeSet::new();
    let mut wrong = Vec::new();
    for c in &cases {
        let mut data = Vec::new();
        for d in &c.docs {
            let b = batches_of(&d.0);
            assert!(b.1.is_empty(), "{}: dead letters {:#?}", c.what, b.1);
            assert_eq!(
                b.0.iter().map(|b| b.batch.num_rows()).sum::<usize>(),
                1,
                "{}",
                c.what
            );
            data.extend(b.0);
        }
        let fs = run(&engine, &data);
        let got: Vec<Group> = correlations(&fs)
            .iter()
            .filter(|f| f.rule_title == c.rule)
            .map(|f| group_of(f))
            .collect();
        let want: Vec<Group> = c
            .groups
            .iter()
            .map(|g| g.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
            .collect();
        eprintln!(
            "{:72} {:28} {}",
            c.rule.chars().take(72).collect::<String>(),
            c.what,
            if got.is_empty() {
                "-".to_string()
            } else {
                format!("fires {got:?}")
            }
        );
        if got != want {
            wrong.push(format!(
                "{} / {}: got {got:?}, expected {want:?}",
                c.rule, c.what
            ));
        }
        // No other correlation is set off by a constructed case.
        for f in correlations(&fs) {
            if f.rule_title != c.rule {
                wrong.push(format!("{} / {}: also {}", c.rule, c.what, show(f)));
            }
        }
        if !want.is_empty() {
            covered.insert(c.rule);
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Every emitted correlation has a positive case here.
    let emitted: BTreeSet<&str> = ALL.into_iter().filter(|t| !INTERNAL.contains(t)).collect();
    assert_eq!(covered, emitted);
}

/// Regression for an engine bug found while validating the pack: `temporal_ordered`
/// documented ties as allowed, yet two events with the same timestamp in the right order
/// (step A, then step B) completed the sequence only if rule A's hit happened to be
/// processed first: hits of one batch are queued rule by rule in load order, and hits of
/// later batches after earlier ones, so the outcome depended on which rule file loaded
/// first and on batching. CloudTrail times have one-second resolution, so whole
/// sequences share a timestamp (Stratus's admin-user technique does). Here step B's rule
/// loads first. (`correlation_engine.rs` covers ties in every arrival order.)
#[test]
fn temporal_ordered_ties_do_not_depend_on_rule_load_order() {
    let rules = r#"
title: step b
id: step-b
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: B}
  condition: sel
level: low
---
title: step a
id: step-a
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: A}
  condition: sel
level: low
---
title: a then b
id: a-then-b
correlation:
  type: temporal_ordered
  rules: [step-a, step-b]
  group-by: [userIdentity.arn]
  timespan: 10m
level: high
"#;
    let engine = Engine::from_rules(
        load_str(rules, Path::new("r.yml")),
        EngineOptions {
            correlation: CorrelationConfig {
                allowed_lateness_secs: None,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap();
    let ev = |name: &str| {
        format!(
            r#"{{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"x","eventName":"{name}","eventID":"{name}","userIdentity":{{"arn":"u"}}}}"#
        )
    };
    // A then B, same second, one batch.
    let fs = run(
        &engine,
        &batches_of(format!("{}\n{}", ev("A"), ev("B")).as_bytes()).0,
    );
    assert_eq!(
        fs.iter().filter(|f| f.rule_id == "a-then-b").count(),
        1,
        "A then B at the same time did not complete the sequence"
    );
    // The same two events in separate batches, B's first.
    let mut data = batches_of(ev("B").as_bytes()).0;
    data.extend(batches_of(ev("A").as_bytes()).0);
    let fs = run(&engine, &data);
    assert_eq!(
        fs.iter().filter(|f| f.rule_id == "a-then-b").count(),
        1,
        "B's batch before A's at the same time did not complete the sequence"
    );
}
