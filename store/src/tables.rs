//! The store's tables: one per source type (the ingest schemas), `findings` and `audit`.

use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use vigil_detect::Finding;
use vigil_ingest::SourceKind;
use vigil_ingest::schema::{string_list_type, timestamp_type};

use crate::{Result, StoreError};

/// Every table, in a fixed order.
pub const TABLES: [&str; 6] = [
    "cloudtrail",
    "vpcflow",
    "k8s_audit",
    "falco",
    "findings",
    "audit",
];

/// The table of a source type.
pub fn of_kind(kind: SourceKind) -> &'static str {
    kind.name()
}

/// The column that identifies a row of `table` (rows are stored once per id).
pub fn id_column(table: &str) -> &'static str {
    match table {
        "findings" => "finding_id",
        _ => "event_uid",
    }
}

/// The schema of `table`, or an error naming the tables.
pub fn schema(table: &str) -> Result<SchemaRef> {
    static FINDINGS: OnceLock<SchemaRef> = OnceLock::new();
    static AUDIT: OnceLock<SchemaRef> = OnceLock::new();
    Ok(match table {
        "cloudtrail" => vigil_ingest::schema::schema(SourceKind::CloudTrail),
        "vpcflow" => vigil_ingest::schema::schema(SourceKind::VpcFlow),
        "k8s_audit" => vigil_ingest::schema::schema(SourceKind::K8sAudit),
        "falco" => vigil_ingest::schema::schema(SourceKind::Falco),
        "findings" => FINDINGS
            .get_or_init(|| {
                Arc::new(Schema::new(vec![
                    Field::new("time", timestamp_type(), true),
                    Field::new("finding_id", DataType::Utf8, false),
                    Field::new("rule_id", DataType::Utf8, false),
                    Field::new("rule_title", DataType::Utf8, false),
                    Field::new("level", DataType::Utf8, false),
                    Field::new("tags", string_list_type(), true),
                    Field::new("source", DataType::Utf8, false),
                    Field::new("event_ids", string_list_type(), true),
                    Field::new("group", DataType::Utf8, true),
                    Field::new("window_start", timestamp_type(), true),
                    Field::new("window_end", timestamp_type(), true),
                    Field::new("correlation_type", DataType::Utf8, true),
                    Field::new("value", DataType::Float64, true),
                    Field::new("suppressed", DataType::Int64, false),
                    Field::new("author", DataType::Utf8, true),
                ]))
            })
            .clone(),
        "audit" => AUDIT
            .get_or_init(|| {
                Arc::new(Schema::new(vec![
                    Field::new("time", timestamp_type(), true),
                    Field::new("event_uid", DataType::Utf8, false),
                    Field::new("action", DataType::Utf8, false),
                    Field::new("actor", DataType::Utf8, true),
                    Field::new("detail", DataType::Utf8, true),
                ]))
            })
            .clone(),
        other => {
            return Err(StoreError::Query(format!(
                "unknown table {other:?}; tables are {}",
                TABLES.join(", ")
            )));
        }
    })
}

/// The string columns of `table` that stay plain `Utf8` in Parquet: values unique per
/// row (ids) or free text. Every other string column, also inside a struct (dotted path),
/// is stored as an Arrow dictionary: see [`stored_schema`].
pub fn plain_string_columns(table: &str) -> &'static [&'static str] {
    match table {
        "cloudtrail" => &[
            "raw",
            "event_uid",
            "errorMessage",
            "requestID",
            "eventID",
            "sharedEventID",
        ],
        "vpcflow" => &["raw", "event_uid", "extra"],
        "k8s_audit" => &[
            "raw",
            "event_uid",
            "auditID",
            "requestURI",
            "objectRef.uid",
            "objectRef.resourceVersion",
            "responseStatus.message",
        ],
        "falco" => &["raw", "event_uid", "output", "uuid", "output_fields"],
        "findings" => &["finding_id", "group"],
        "audit" => &["event_uid", "detail"],
        _ => &[],
    }
}

/// The schema `table`'s Parquet files are written with: [`schema`] with every string
/// column not in [`plain_string_columns`] as `Dictionary(Int32, Utf8)`.
///
/// The bytes in the file are the same either way (Parquet dictionary-encodes strings by
/// default, and DuckDB, Spark or Athena read the files as strings); the Arrow schema kept
/// in the file's metadata tells Arrow readers (DataFusion, pyarrow) to decode such a
/// column into a dictionary array, the keys alone, instead of copying every value. For
/// categorical columns (event names, principals, access keys, IPs, regions) that makes
/// filters and groupings compare each distinct value once per row group: the access-key
/// and errors-per-hour queries of `benches/RESULTS.md` became 1.3x and 0.9x DuckDB's time
/// instead of 2.0x and 1.6x.
pub fn stored_schema(table: &str) -> Result<SchemaRef> {
    fn field(f: &Field, path: &str, plain: &[&str]) -> Field {
        let dt = match f.data_type() {
            DataType::Utf8 if !plain.contains(&path) => {
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
            }
            DataType::Struct(children) => DataType::Struct(
                children
                    .iter()
                    .map(|c| Arc::new(field(c, &format!("{path}.{}", c.name()), plain)))
                    .collect(),
            ),
            other => other.clone(),
        };
        f.clone().with_data_type(dt)
    }
    let base = schema(table)?;
    let plain = plain_string_columns(table);
    let fields: Vec<Field> = base
        .fields()
        .iter()
        .map(|f| field(f, f.name(), plain))
        .collect();
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        base.metadata().clone(),
    )))
}

/// `batch` cast column by column to `schema` (same column names and order; Arrow's cast
/// also casts a struct's children, field by field).
pub fn cast_batch(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

fn ts() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

/// Findings as a `findings` batch.
pub fn findings_batch(findings: &[Finding]) -> Result<RecordBatch> {
    let mut time = ts();
    let (mut id, mut rule, mut title, mut level, mut source) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let mut tags = ListBuilder::new(StringBuilder::new());
    let mut events = ListBuilder::new(StringBuilder::new());
    let mut group = StringBuilder::new();
    let (mut ws, mut we) = (ts(), ts());
    let mut ctype = StringBuilder::new();
    let mut value = Float64Builder::new();
    let mut suppressed = Int64Builder::new();
    let mut author = StringBuilder::new();
    for f in findings {
        time.append_value(f.time_us);
        id.append_value(&f.finding_id);
        rule.append_value(&f.rule_id);
        title.append_value(&f.rule_title);
        level.append_value(f.level.name());
        for t in &f.tags {
            tags.values().append_value(t);
        }
        tags.append(true);
        for e in &f.event_ids {
            events.values().append_value(e);
        }
        events.append(true);
        group.append_option(
            f.group
                .as_ref()
                .map(|g| serde_json::to_string(g).unwrap_or_default()),
        );
        ws.append_option(
            f.window
                .as_ref()
                .and_then(|w| vigil_ingest::time::parse_micros(&w.start)),
        );
        we.append_option(
            f.window
                .as_ref()
                .and_then(|w| vigil_ingest::time::parse_micros(&w.end)),
        );
        ctype.append_option(f.correlation_type.map(|c| {
            serde_json::to_value(c)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }));
        value.append_option(f.value);
        suppressed.append_value(f.suppressed as i64);
        author.append_option(f.author.as_deref());
        source.append_value(&f.source);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(time.finish()),
        Arc::new(id.finish()),
        Arc::new(rule.finish()),
        Arc::new(title.finish()),
        Arc::new(level.finish()),
        Arc::new(tags.finish()),
        Arc::new(source.finish()),
        Arc::new(events.finish()),
        Arc::new(group.finish()),
        Arc::new(ws.finish()),
        Arc::new(we.finish()),
        Arc::new(ctype.finish()),
        Arc::new(value.finish()),
        Arc::new(suppressed.finish()),
        Arc::new(author.finish()),
    ];
    Ok(RecordBatch::try_new(schema("findings")?, cols)?)
}

/// One record of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// When (µs).
    pub time_us: i64,
    /// What happened (`segment_sealed`, `retention_removed`, ...).
    pub action: String,
    /// Who or what did it.
    pub actor: Option<String>,
    /// Details as JSON.
    pub detail: serde_json::Value,
}

/// Audit records as an `audit` batch.
pub fn audit_batch(records: &[AuditRecord]) -> Result<RecordBatch> {
    let mut time = ts();
    let (mut uid, mut action, mut actor, mut detail) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    for r in records {
        let d = r.detail.to_string();
        time.append_value(r.time_us);
        uid.append_value(vigil_ingest::schema::content_hash(
            format!("{}|{}|{d}", r.time_us, r.action).as_bytes(),
        ));
        action.append_value(&r.action);
        actor.append_option(r.actor.as_deref());
        detail.append_value(d);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(time.finish()),
        Arc::new(uid.finish()),
        Arc::new(action.finish()),
        Arc::new(actor.finish()),
        Arc::new(detail.finish()),
    ];
    Ok(RecordBatch::try_new(schema("audit")?, cols)?)
}
