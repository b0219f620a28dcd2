//! Differential test against rsigma (the Rust Sigma engine on crates.io, a peer nobody
//! here wrote): for every SigmaHQ CloudTrail and Kubernetes audit rule and every
//! CloudTrail and Kubernetes audit event of the shared corpus, the set of
//! (rule id, event) matches is identical (each event by its position, so that events
//! sharing an id are told apart), except where Vigil is deliberately more
//! thorough (a string match on a field holding an object or array matches its JSON
//! text); those differences are listed, each checked to be that case.

mod common;

use std::collections::BTreeSet;

use arrow::array::Array;
use common::*;
use vigil_detect::compile::{CompileOptions, compile};
use vigil_detect::rule::load::load_paths;
use vigil_ingest::SourceKind;

/// (rule id, event) with the event named by its position, `batch:row`, not its id:
/// Panther's test cases reuse event ids, and comparing by id could hide a difference
/// between two events sharing one. Messages name the event id too ([`Events::id`]).
type Pair = (String, String);

fn position(batch: usize, row: usize) -> String {
    format!("{batch}:{row}")
}

/// The events of one source type by position: their id and verbatim JSON.
struct Events(std::collections::HashMap<String, (String, String)>);

impl Events {
    fn of(data: &Batches, kind: SourceKind) -> Self {
        let mut out = std::collections::HashMap::new();
        for (i, b) in data.0.iter().enumerate().filter(|(_, b)| b.kind == kind) {
            let (raw, ids) = (string_column(b, "raw"), string_column(b, "event_uid"));
            for r in 0..raw.len() {
                out.insert(
                    position(i, r),
                    (ids.value(r).to_string(), raw.value(r).to_string()),
                );
            }
        }
        Events(out)
    }

    fn id(&self, pos: &str) -> &str {
        &self.0[pos].0
    }

    fn raw(&self, pos: &str) -> &str {
        &self.0[pos].1
    }

    /// `pairs` with each event's id after its position, for messages.
    fn named<'a>(&self, pairs: impl IntoIterator<Item = &'a Pair>) -> Vec<(String, String)> {
        pairs
            .into_iter()
            .map(|(rule, pos)| (rule.clone(), format!("{pos} {}", self.id(pos))))
            .collect()
    }
}

fn vigil_matches(
    rule_dir: &std::path::Path,
    data: &Batches,
    kind: SourceKind,
) -> (BTreeSet<Pair>, usize) {
    let set = load_paths(&[rule_dir.to_path_buf()]).unwrap();
    let plan = compile(set, &CompileOptions::default()).unwrap();
    assert!(
        plan.report.rejected.is_empty(),
        "rejected: {:#?}",
        plan.report.rejected
    );
    let mut ev = vigil_detect::eval::Evaluator::new(&plan).unwrap();
    let mut out = BTreeSet::new();
    for (i, b) in data.0.iter().enumerate().filter(|(_, b)| b.kind == kind) {
        for (rule, rows) in matched_rows(&plan, &mut ev, b) {
            for r in rows {
                out.insert((rule.clone(), position(i, r)));
            }
        }
    }
    (out, plan.rules.len())
}

fn rsigma_matches(rule_dir: &std::path::Path, data: &Batches, kind: SourceKind) -> BTreeSet<Pair> {
    let coll = rsigma_parser::parse_sigma_directory(rule_dir).unwrap();
    assert!(coll.errors.is_empty(), "{:?}", coll.errors);
    let mut engine = rsigma_eval::Engine::new();
    let errs = engine.add_rules(&coll.rules);
    assert!(errs.is_empty(), "{errs:?}");
    let mut out = BTreeSet::new();
    for (i, b) in data.0.iter().enumerate().filter(|(_, b)| b.kind == kind) {
        let raw = string_column(b, "raw");
        for r in 0..raw.len() {
            let v: serde_json::Value = serde_json::from_str(raw.value(r)).unwrap();
            for res in engine.evaluate(&rsigma_eval::JsonEvent::borrow(&v)) {
                out.insert((
                    res.header.rule_id.clone().unwrap_or_default(),
                    position(i, r),
                ));
            }
        }
    }
    out
}

fn report(name: &str, vigil: &BTreeSet<Pair>, rsigma: &BTreeSet<Pair>) -> (Vec<Pair>, Vec<Pair>) {
    let only_vigil: Vec<Pair> = vigil.difference(rsigma).cloned().collect();
    let only_rsigma: Vec<Pair> = rsigma.difference(vigil).cloned().collect();
    eprintln!(
        "{name}: vigil {} matches, rsigma {}, only vigil {}, only rsigma {}",
        vigil.len(),
        rsigma.len(),
        only_vigil.len(),
        only_rsigma.len()
    );
    (only_vigil, only_rsigma)
}

#[test]
fn cloudtrail_rules_on_corpus_cloudtrail() {
    let c = corpus();
    let mut data = batches(&[
        c.join("invictus-sigma-aws/CloudTrail"),
        c.join("stratus-red-team/docs/detonation-logs"),
        c.join("otrf-security-datasets/datasets/atomic/aws/collection"),
        c.join("loki-lambda-promtail-testdata/extracted/cloudtrail-log-file.json"),
        c.join("falco-k8saudit-tests/test/trace_files/plugins"),
        c.join(
            "otel-contrib-awslogs-testdata/extension/encoding/awslogsencodingextension/internal/unmarshaler/cloudtraillog/testdata/cloudtrail_log_cw.json",
        ),
    ]);
    // The events the AWS documentation and Panther's test cases wrap.
    for (file, key) in [
        ("aws-cloudtrail-docs/extracted_events.jsonl", "event"),
        ("panther-tests/by_log_type/AWS.CloudTrail.jsonl", "log"),
    ] {
        let wrapped = unwrapped_batches(&c.join(file), key);
        eprintln!("{file}: {} dead letters", wrapped.1.len());
        data.0.extend(wrapped.0);
    }
    // Plus generated data with the planted attacks (20k events).
    data.0.extend(generated_cloudtrail(20_000).0);
    let rules = c.join("sigma/rules/cloud/aws/cloudtrail");
    let (vigil, n) = vigil_matches(&rules, &data, SourceKind::CloudTrail);
    assert_eq!(n, 57);
    let rsigma = rsigma_matches(&rules, &data, SourceKind::CloudTrail);
    let (only_vigil, only_rsigma) = report("cloudtrail", &vigil, &rsigma);
    let events = Events::of(&data, SourceKind::CloudTrail);
    assert!(
        only_rsigma.is_empty(),
        "rsigma matched, Vigil did not: {:#?}",
        events.named(&only_rsigma)
    );
    // The one deliberate difference: SigmaHQ's aws_disable_bucket_versioning reads
    // `requestParameters|contains: 'Suspended'`, which in CloudTrail is an object; Vigil
    // matches the object's JSON text (`deliberate_differences.rs`), rsigma never matches.
    let unexplained: Vec<&Pair> = only_vigil
        .iter()
        .filter(|(rule, pos)| {
            let v: serde_json::Value = serde_json::from_str(events.raw(pos)).unwrap();
            let params = &v["requestParameters"];
            !(rule == "a136ac98-b2bc-4189-a14d-f0d0388e57a7"
                && params.is_object()
                && params.to_string().to_lowercase().contains("suspended"))
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "Vigil matched, rsigma did not: {:#?}",
        events.named(unexplained)
    );
    eprintln!("object-as-text matches: {}", only_vigil.len());
    assert!(!vigil.is_empty());
}

#[test]
fn kubernetes_rules_on_corpus_audit_events() {
    let c = corpus();
    let mut data = batches(&[c.join("falco-k8saudit-tests/k8s_audit_raw.ndjson")]);
    let eks = unwrapped_batches(
        &c.join("panther-tests/by_log_type/Amazon.EKS.Audit.jsonl"),
        "log",
    );
    eprintln!("Panther EKS: {} dead letters", eks.1.len());
    data.0.extend(eks.0);
    data.0.extend(generated_k8s(10_000).0);
    let rules = c.join("sigma/rules/application/kubernetes");
    let (vigil, n) = vigil_matches(&rules, &data, SourceKind::K8sAudit);
    assert_eq!(n, 16);
    let rsigma = rsigma_matches(&rules, &data, SourceKind::K8sAudit);
    let (only_vigil, only_rsigma) = report("k8s", &vigil, &rsigma);
    let events = Events::of(&data, SourceKind::K8sAudit);
    assert!(
        only_rsigma.is_empty(),
        "rsigma matched, Vigil did not: {:#?}",
        events.named(&only_rsigma)
    );
    assert!(
        only_vigil.is_empty(),
        "Vigil matched, rsigma did not: {:#?}",
        events.named(&only_vigil)
    );
}
