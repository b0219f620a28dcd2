//! Batches whose string columns are dictionary-encoded (as the store writes categorical
//! columns to Parquet, and as Arrow readers of those files return them) are evaluated
//! once per distinct value; the matches must be exactly those of the same batches with
//! plain strings. Checked with every SigmaHQ CloudTrail and Kubernetes audit rule on the
//! corpus events and generated events.

mod common;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Fields, Schema};
use common::*;
use vigil_detect::compile::{CompileOptions, Compiled, compile};
use vigil_detect::rule::load::load_paths;
use vigil_ingest::{EventBatch, SourceKind};

/// `dt` with every string type, also inside structs, as `Dictionary(Int32, Utf8)`.
fn dictionary_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Utf8 => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| {
                    Arc::new(
                        f.as_ref()
                            .clone()
                            .with_data_type(dictionary_type(f.data_type())),
                    )
                })
                .collect::<Fields>(),
        ),
        other => other.clone(),
    }
}

/// `b` with every string column but `raw` and `event_uid` dictionary-encoded.
fn encoded(b: &EventBatch) -> EventBatch {
    let schema = b.batch.schema();
    let mut fields: Vec<Field> = Vec::new();
    let mut columns = Vec::new();
    for (f, c) in schema.fields().iter().zip(b.batch.columns()) {
        let dt = if matches!(f.name().as_str(), "raw" | "event_uid") {
            f.data_type().clone()
        } else {
            dictionary_type(f.data_type())
        };
        columns.push(arrow::compute::cast(c, &dt).unwrap());
        fields.push(f.as_ref().clone().with_data_type(dt));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    EventBatch { batch, ..b.clone() }
}

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
