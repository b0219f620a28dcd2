//! The Arrow schemas Vigil produces, one per [`SourceKind`], and the common columns every
//! one of them starts with.
//!
//! # Common columns (named after OCSF)
//! Every batch starts with the same eleven columns so that later stages can correlate a
//! CloudTrail principal with flows and pods without knowing each source's field names.
//! Names are OCSF attribute paths with `.` written as `_`.
//!
//! The mapping per source is [`COMMON_MAPPING`] (rendered in `docs/schema.md`).
//!
//! `time` is null only for flow records whose format has neither `start` nor `end`
//! (outside a CloudWatch Logs envelope, whose timestamp is used otherwise).
//!
//! Content hashes are the 128-bit XXH3 of the raw record, as 32 lowercase hex digits.
//! The source-specific columns follow, named exactly as the source names its fields; see
//! [`crate::cloudtrail`], [`crate::vpcflow`], [`crate::k8s`] and [`crate::falco`].

use std::sync::{Arc, OnceLock};

use arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::{IngestError, Result, SourceKind};

/// Arrow type of every timestamp column: microseconds since the epoch, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Arrow type of list-of-string columns (`sourceIPs`, `user.groups`, `tags`).
pub fn string_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// Names of the common columns, in order.
pub const COMMON_COLUMNS: [&str; 11] = [
    "time",
    "class_uid",
    "class_name",
    "actor_user",
    "src_endpoint_ip",
    "dst_endpoint_ip",
    "cloud_account_uid",
    "cloud_region",
    "status",
    "event_uid",
    "raw",
];

/// The common column fields, in order.
pub fn common_fields() -> Vec<Field> {
    vec![
        Field::new("time", timestamp_type(), true),
        Field::new("class_uid", DataType::Int32, false),
        Field::new("class_name", DataType::Utf8, false),
        Field::new("actor_user", DataType::Utf8, true),
        Field::new("src_endpoint_ip", DataType::Utf8, true),
        Field::new("dst_endpoint_ip", DataType::Utf8, true),
        Field::new("cloud_account_uid", DataType::Utf8, true),
        Field::new("cloud_region", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, true),
        Field::new("event_uid", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, false),
    ]
}

/// OCSF class of each source type: `(class_uid, class_name)`.
pub fn ocsf_class(kind: SourceKind) -> (i32, &'static str) {
    match kind {
        SourceKind::CloudTrail | SourceKind::K8sAudit => (6003, "API Activity"),
        SourceKind::VpcFlow => (4001, "Network Activity"),
        SourceKind::Falco => (2004, "Detection Finding"),
    }
}

/// The column, in the sources whose decoder knows their events' top-level keys
/// ([`defines_top_level_key`]), telling whether an event has a top-level key its source
/// does not define (such keys stay in `raw`).
pub const UNKNOWN_KEYS_COLUMN: &str = "has_unknown_keys";

/// For a source whose batches have [`UNKNOWN_KEYS_COLUMN`]: whether a key is one its
/// events define at the top level (a field named by any other key is absent from an
/// event whose column is `false`). `None` for the others.
pub fn defines_top_level_key(kind: SourceKind) -> Option<fn(&str) -> bool> {
    match kind {
        SourceKind::K8sAudit => Some(crate::k8s::is_event_key),
        _ => None,
    }
}

/// The full, stable schema of batches of `kind`: the common columns, then the
/// source-specific ones.
pub fn schema(kind: SourceKind) -> SchemaRef {
    static SCHEMAS: OnceLock<[SchemaRef; 4]> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        SourceKind::ALL.map(|k| {
            let mut fields = common_fields();
            fields.extend(match k {
                SourceKind::CloudTrail => crate::cloudtrail::fields(),
                SourceKind::VpcFlow => crate::vpcflow::fields(),
                SourceKind::K8sAudit => crate::k8s::fields(),
                SourceKind::Falco => crate::falco::fields(),
            });
            Arc::new(Schema::new(fields))
        })
    });
    all[kind.index()].clone()
}

/// The common columns of one batch, built by a source's builder.
pub(crate) struct CommonArrays {
    pub time: ArrayRef,
    pub actor_user: ArrayRef,
    pub src_ip: ArrayRef,
    pub dst_ip: ArrayRef,
    pub account: ArrayRef,
    pub region: ArrayRef,
    pub status: ArrayRef,
    pub event_uid: ArrayRef,
    pub raw: ArrayRef,
}

/// Assembles a batch of `kind` from its common and specific columns.
pub(crate) fn assemble(
    kind: SourceKind,
    rows: usize,
    common: CommonArrays,
    specific: Vec<ArrayRef>,
) -> Result<RecordBatch> {
    let (uid, name) = ocsf_class(kind);
    let mut columns: Vec<ArrayRef> = vec![
        common.time,
        Arc::new(Int32Array::from_value(uid, rows)),
        Arc::new(StringArray::new_repeated(name, rows)),
        common.actor_user,
        common.src_ip,
        common.dst_ip,
        common.account,
        common.region,
        common.status,
        common.event_uid,
        common.raw,
    ];
    columns.extend(specific);
    RecordBatch::try_new(schema(kind), columns).map_err(|source| IngestError::Arrow {
        kind: kind.name(),
        source,
    })
}

/// The OCSF status word for success or failure.
pub(crate) fn status_word(success: bool) -> &'static str {
    if success { "Success" } else { "Failure" }
}

/// 128-bit XXH3 of `raw` as 32 lowercase hex digits: the content hash used as `event_uid`
/// for records that carry no id of their own.
pub fn content_hash(raw: &[u8]) -> String {
    let mut buf = [0u8; 32];
    content_hash_into(raw, &mut buf).to_string()
}

/// [`content_hash`] written into `buf`, without allocating.
pub fn content_hash_into<'b>(raw: &[u8], buf: &'b mut [u8; 32]) -> &'b str {
    /// The two lowercase hex digits of every byte.
    const HEX_PAIRS: [[u8; 2]; 256] = {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut t = [[0u8; 2]; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = [HEX[i >> 4], HEX[i & 15]];
            i += 1;
        }
        t
    };
    let h = xxhash_rust::xxh3::xxh3_128(raw).to_be_bytes();
    for (pair, b) in buf.chunks_exact_mut(2).zip(h) {
        pair.copy_from_slice(&HEX_PAIRS[b as usize]);
    }
    // Only ASCII hex digits were written.
    std::str::from_utf8(buf).unwrap_or_default()
}

/// Renders every schema as Markdown (the body of `docs/schema.md`, which a test keeps in
/// step with the code).
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str("# Vigil event schemas\n\n");
    out.push_str("Generated from `ingest/src/schema.rs` by the test `ingest/tests/schema_doc.rs` ");
    out.push_str(
        "(run it with `VIGIL_BLESS=1` to regenerate). One stable Arrow schema per source ",
    );
    out.push_str("type; every batch and Parquet file of that type has exactly these columns.\n\n");
    out.push_str("## Common columns (named after OCSF)\n\n");
    out.push_str(
        "| column | CloudTrail | VPC flow | Kubernetes audit | Falco |\n|---|---|---|---|---|\n",
    );
    for (col, ct, vf, k8s, falco) in COMMON_MAPPING {
        out.push_str(&format!("| `{col}` | {ct} | {vf} | {k8s} | {falco} |\n"));
    }
    out.push_str(
        "\nContent hashes are the 128-bit XXH3 of the raw record, as 32 lowercase hex digits.\n",
    );
    out.push_str(
        "Fields not flattened into columns stay in `raw` and are addressable by dotted path ",
    );
    out.push_str("(`requestParameters.bucketName`, `output_fields.proc.cmdline`, ");
    out.push_str("`annotations.authorization.k8s.io/decision`): see `vigil_ingest::path`.\n");
    for kind in SourceKind::ALL {
        out.push_str(&format!(
            "\n## `{}`\n\n| column | type | nullable |\n|---|---|---|\n",
            kind.name()
        ));
        for f in schema(kind).fields() {
            render_field(&mut out, "", f);
        }
    }
    out
}

fn render_field(out: &mut String, prefix: &str, f: &Field) {
    let name = format!("{prefix}{}", f.name());
    let ty = match f.data_type() {
        DataType::Struct(_) => "struct".to_string(),
        DataType::List(item) => format!("list<{}>", item.data_type()),
        other => other.to_string(),
    };
    out.push_str(&format!(
        "| `{name}` | {ty} | {} |\n",
        if f.is_nullable() { "yes" } else { "no" }
    ));
    if let DataType::Struct(children) = f.data_type() {
        for c in children {
            render_field(out, &format!("{name}."), c);
        }
    }
}

/// How each common column is filled per source: `(column, cloudtrail, vpcflow, k8s, falco)`.
pub const COMMON_MAPPING: [(&str, &str, &str, &str, &str); 11] = [
    (
        "time",
        "`eventTime` (`@timestamp` if absent)",
        "`start`, else `end`, else the envelope timestamp",
        "`requestReceivedTimestamp`, else `stageTimestamp`, `timestamp`, `metadata.creationTimestamp`",
        "`time`, else `output_fields.evt.time`",
    ),
    ("class_uid", "6003", "4001", "6003", "2004"),
    (
        "class_name",
        "API Activity",
        "Network Activity",
        "API Activity",
        "Detection Finding",
    ),
    (
        "actor_user",
        "`userIdentity.arn`, else `principalId`, else `invokedBy`",
        "null",
        "`user.username`",
        "`output_fields` `user.name`, else `ka.user.name`",
    ),
    (
        "src_endpoint_ip",
        "`sourceIPAddress` when it is an IP address",
        "`srcaddr`",
        "`sourceIPs[0]`",
        "`output_fields` `fd.cip`",
    ),
    (
        "dst_endpoint_ip",
        "null",
        "`dstaddr`",
        "null",
        "`output_fields` `fd.sip`",
    ),
    (
        "cloud_account_uid",
        "`recipientAccountId`, else `userIdentity.accountId`, else envelope account",
        "`account-id`, else CloudWatch Logs `owner`",
        "CloudWatch Logs `owner`",
        "null",
    ),
    ("cloud_region", "`awsRegion`", "`region`", "null", "null"),
    (
        "status",
        "`Failure` if `errorCode` is set, else `Success`",
        "`ACCEPT` → `Success`, `REJECT` → `Failure`",
        "`responseStatus.code` < 400 → `Success`, else `Failure`",
        "null",
    ),
    (
        "event_uid",
        "`eventID` (content hash if absent)",
        "content hash of the line",
        "`auditID:stage` (`auditID` without stage; hash without either)",
        "`uuid` (content hash if absent)",
    ),
    (
        "raw",
        "the event JSON, verbatim (inside an envelope: the event, not the envelope)",
        "the record line, verbatim",
        "the event JSON, verbatim",
        "the alert JSON, verbatim",
    ),
];
