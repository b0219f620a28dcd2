//! Helpers shared by the detection tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Fields, Schema};
use vigil_ingest::input::{self, Input};
use vigil_ingest::{DeadLetter, Decoder, DecoderConfig, EventBatch, Flush, Sink};

/// The shared corpus (see [`vigil_bench::corpus_dir`]).
pub fn corpus() -> PathBuf {
    vigil_bench::corpus_dir().expect("the shared corpus (../shared/corpus or $VIGIL_CORPUS)")
}

#[derive(Default)]
pub struct Batches(pub Vec<EventBatch>, pub Vec<DeadLetter>);

impl Sink for Batches {
    fn flush(&mut self, f: Flush) -> vigil_ingest::Result<()> {
        self.0.extend(f.batches);
        Ok(())
    }
    fn dead_letter(&mut self, d: DeadLetter) -> vigil_ingest::Result<()> {
        self.1.push(d);
        Ok(())
    }
}

/// Decodes every file below `paths` into batches.
pub fn batches(paths: &[PathBuf]) -> Batches {
    let mut out = Batches::default();
    let cfg = DecoderConfig::default();
    for i in input::expand(paths).unwrap() {
        let name = i.name();
        let r = input::open(&i, Arc::new(AtomicU64::new(0))).unwrap();
        Decoder::from_reader(r, &name, &cfg, &mut out)
            .run()
            .unwrap();
    }
    out
}

/// Decodes the events a JSON-lines file wraps, one per line under `key` (Panther's test
/// cases keep the event under `log`, the AWS documentation extracts under `event`).
pub fn unwrapped_batches(path: &Path, key: &str) -> Batches {
    let text = std::fs::read_to_string(path).unwrap();
    let mut events = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        events.push_str(&case[key].to_string());
        events.push('\n');
    }
    batches_of(events.as_bytes())
}

/// Decodes bytes into batches.
pub fn batches_of(bytes: &[u8]) -> Batches {
    let mut out = Batches::default();
    vigil_ingest::decode_bytes(bytes, "test", &DecoderConfig::default(), &mut out).unwrap();
    out
}

pub fn file_input(p: &Path) -> Input {
    Input::File(p.to_path_buf())
}

/// Compiles Sigma YAML text, asserting that every rule loaded.
pub fn compile_rules(rules: &str) -> vigil_detect::compile::Compiled {
    compile_rules_with(rules, &vigil_detect::compile::CompileOptions::default())
}

/// [`compile_rules`] with options.
pub fn compile_rules_with(
    rules: &str,
    opts: &vigil_detect::compile::CompileOptions,
) -> vigil_detect::compile::Compiled {
    let set = vigil_detect::rule::load::load_str(rules, Path::new("test.yml"));
    let plan = vigil_detect::compile::compile(set, opts).unwrap();
    assert!(
        plan.report.rejected.is_empty(),
        "rejected: {:#?}",
        plan.report.rejected
    );
    plan
}

/// Every (rule id, event id) match of `plan` on the batches of `kind` (all kinds when
/// `None`), event ids read from the string column `id_column`.
pub fn matched_pairs<'b>(
    plan: &vigil_detect::compile::Compiled,
    batches: impl IntoIterator<Item = &'b EventBatch>,
    kind: Option<vigil_ingest::SourceKind>,
    id_column: &str,
) -> std::collections::BTreeSet<(String, String)> {
    use arrow::array::{Array, StringArray};
    let mut ev = vigil_detect::eval::Evaluator::new(plan).unwrap();
    let mut out = std::collections::BTreeSet::new();
    for b in batches
        .into_iter()
        .filter(|b| kind.is_none_or(|k| b.kind == k))
    {
        let ids = b.batch.column_by_name(id_column).unwrap();
        let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
        for m in ev.evaluate(plan, b.kind, &b.batch).unwrap() {
            for r in m.rows.iter() {
                assert!(ids.is_valid(r), "{id_column} is null on a matched row");
                out.insert((
                    plan.rules[m.rule].meta.id.0.clone(),
                    ids.value(r).to_string(),
                ));
            }
        }
    }
    out
}

/// The rows of `batch` each rule matched, as sorted (rule id, rows) pairs.
pub fn matched_rows(
    plan: &vigil_detect::compile::Compiled,
    ev: &mut vigil_detect::eval::Evaluator,
    batch: &EventBatch,
) -> Vec<(String, Vec<usize>)> {
    let mut matched: Vec<(String, Vec<usize>)> = ev
        .evaluate(plan, batch.kind, &batch.batch)
        .unwrap()
        .into_iter()
        .map(|m| {
            (
                plan.rules[m.rule].meta.id.to_string(),
                m.rows.iter().collect(),
            )
        })
        .collect();
    matched.sort();
    matched
}

/// The plain string column `name` of `b` (panics if it has none: `raw` and `event_uid`
/// always exist).
pub fn string_column(b: &EventBatch, name: &str) -> arrow::array::StringArray {
    b.batch
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap()
        .clone()
}

/// Row `row` of string column `name` (plain or dictionary-encoded); `None` when the
/// value is null or the batch has no such column. Panics on a non-string column.
pub fn text_value<'a>(b: &'a EventBatch, name: &str, row: usize) -> Option<&'a str> {
    use arrow::array::{Array, AsArray};
    let c = b.batch.column_by_name(name)?;
    if c.is_null(row) {
        return None;
    }
    if let Some(s) = c.as_string_opt::<i32>() {
        return Some(s.value(row));
    }
    let d = c
        .as_dictionary_opt::<arrow::datatypes::Int32Type>()
        .unwrap_or_else(|| panic!("column {name} is not text"));
    Some(
        d.values()
            .as_string::<i32>()
            .value(d.keys().value(row) as usize),
    )
}

/// `n` CloudTrail events from the benchmark generator (default config: seed 42, with its
/// planted attacks), as NDJSON decoded to batches.
pub fn generated_cloudtrail(n: usize) -> Batches {
    let mut bytes = Vec::new();
    vigil_bench::generate::write_cloudtrail(
        &mut bytes,
        &vigil_bench::generate::GenConfig::default(),
        n,
        vigil_bench::generate::CloudTrailForm::Ndjson,
    )
    .unwrap();
    batches_of(&bytes)
}

/// `n` Kubernetes audit events from the benchmark generator (default config), decoded.
pub fn generated_k8s(n: usize) -> Batches {
    let mut bytes = Vec::new();
    vigil_bench::generate::write_k8s_audit(
        &mut bytes,
        &vigil_bench::generate::GenConfig::default(),
        n,
    )
    .unwrap();
    batches_of(&bytes)
}

/// `dt` with every string type, also inside structs, as `Dictionary(Int32, Utf8)`.
pub fn dictionary_type(dt: &DataType) -> DataType {
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
pub fn encoded(b: &EventBatch) -> EventBatch {
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
