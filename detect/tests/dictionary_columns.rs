//! Batches whose string columns are dictionary-encoded (as the store writes categorical
//! columns to Parquet, and as Arrow readers of those files return them) are evaluated
//! once per distinct value; the matches must be exactly those of the same batches with
//! plain strings. Checked with every SigmaHQ CloudTrail and Kubernetes audit rule on the
//! corpus events and generated events.

mod common;

use arrow::datatypes::DataType;
use common::*;
use vigil_detect::compile::{CompileOptions, Compiled, compile};
use vigil_detect::rule::load::load_paths;
use vigil_ingest::{EventBatch, SourceKind};

fn plan(rules: &std::path::Path) -> Compiled {
    let plan = compile(
        load_paths(&[rules.to_path_buf()]).unwrap(),
        &CompileOptions::default(),
    )
    .unwrap();
    assert!(
        plan.report.rejected.is_empty(),
        "{:#?}",
        plan.report.rejected
    );
    plan
}

fn same_matches(rules: &std::path::Path, data: &Batches, kind: SourceKind) {
    let plan = plan(rules);
    let plain = matched_pairs(&plan, &data.0, Some(kind), "event_uid");
    let dict: Vec<EventBatch> = data
        .0
        .iter()
        .filter(|b| b.kind == kind)
        .map(encoded)
        .collect();
    assert!(dict.iter().any(|b| {
        b.batch
            .schema()
            .fields()
            .iter()
            .any(|f| matches!(f.data_type(), DataType::Dictionary(_, _)))
    }));
    let encoded_matches = matched_pairs(&plan, &dict, Some(kind), "event_uid");
    assert!(!plain.is_empty());
    assert_eq!(plain, encoded_matches);
}

#[test]
fn dictionary_encoded_cloudtrail_gives_the_same_matches() {
    let c = corpus();
    let mut data = batches(&[
        c.join("invictus-sigma-aws/CloudTrail"),
        c.join("stratus-red-team/docs/detonation-logs"),
    ]);
    data.0.extend(generated_cloudtrail(20_000).0);
    same_matches(
        &c.join("sigma/rules/cloud/aws/cloudtrail"),
        &data,
        SourceKind::CloudTrail,
    );
}

#[test]
fn dictionary_encoded_kubernetes_audit_gives_the_same_matches() {
    let c = corpus();
    let mut data = batches(&[c.join("falco-k8saudit-tests/k8s_audit_raw.ndjson")]);
    data.0.extend(generated_k8s(10_000).0);
    same_matches(
        &c.join("sigma/rules/application/kubernetes"),
        &data,
        SourceKind::K8sAudit,
    );
}
