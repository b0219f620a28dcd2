//! AWS VPC Flow Log (and Transit Gateway flow log) records to Arrow.
//!
//! # Formats
//! A flow log record is a line of space-separated values in the order of its flow log's
//! *format*. Without a header the default format (version 2, 14 fields) is assumed; a
//! header line (the field names, as AWS writes at the top of every S3-delivered file,
//! e.g. `version account-id interface-id ...`) declares a custom format for the lines that
//! follow; `--vpcflow-format` declares one for input without headers (CloudWatch Logs).
//! Field names may be written with `-` (AWS) or `_` (Athena, VRL). `-` is null.
//! `NODATA` and `SKIPDATA` records are ordinary records with most fields null.
//!
//! # Columns (after the [common columns](crate::schema))
//! Every field AWS documents, whatever the format in use, named as AWS names it (see
//! [`FLOW_FIELDS`]): ports, protocol, counts, flags, versions are integers, `start` and
//! `end` are timestamps; fields absent from a record's format are null. Header fields
//! Vigil does not know are kept, as a JSON object of strings, in the `extra` column (and
//! a warning is logged once per format).
//!
//! A record is rejected when its field count differs from its format's, when a numeric
//! field is not a number (or a port is out of range), or when it is not UTF-8.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int32Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
    new_null_array,
};
use arrow::datatypes::{DataType, Field};

use crate::schema::{CommonArrays, assemble, content_hash_into, status_word, timestamp_type};
use crate::{IngestError, Result, SourceKind};

/// How a flow log field is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowType {
    /// Text.
    Str,
    /// 32-bit integer (ports, protocol, flags, version, ...).
    Int32,
    /// 64-bit integer (packet and byte counts).
    Int64,
    /// Unix seconds, stored as a UTC timestamp.
    Time,
}

/// One documented flow log field: `(name, type, version that introduced it)`.
pub type FlowField = (&'static str, FlowType, u8);

/// Every VPC and Transit Gateway flow log field AWS documents, in column order.
/// Transit Gateway fields are listed with version 6, the version of that format.
pub const FLOW_FIELDS: &[FlowField] = &[
    ("version", FlowType::Int32, 2),
    ("account-id", FlowType::Str, 2),
    ("interface-id", FlowType::Str, 2),
    ("srcaddr", FlowType::Str, 2),
    ("dstaddr", FlowType::Str, 2),
    ("srcport", FlowType::Int32, 2),
    ("dstport", FlowType::Int32, 2),
    ("protocol", FlowType::Int32, 2),
    ("packets", FlowType::Int64, 2),
    ("bytes", FlowType::Int64, 2),
    ("start", FlowType::Time, 2),
    ("end", FlowType::Time, 2),
    ("action", FlowType::Str, 2),
    ("log-status", FlowType::Str, 2),
    ("vpc-id", FlowType::Str, 3),
    ("subnet-id", FlowType::Str, 3),
    ("instance-id", FlowType::Str, 3),
    ("tcp-flags", FlowType::Int32, 3),
    ("type", FlowType::Str, 3),
    ("pkt-srcaddr", FlowType::Str, 3),
    ("pkt-dstaddr", FlowType::Str, 3),
    ("region", FlowType::Str, 4),
    ("az-id", FlowType::Str, 4),
    ("sublocation-type", FlowType::Str, 4),
    ("sublocation-id", FlowType::Str, 4),
    ("pkt-src-aws-service", FlowType::Str, 5),
    ("pkt-dst-aws-service", FlowType::Str, 5),
    ("flow-direction", FlowType::Str, 5),
    ("traffic-path", FlowType::Int32, 5),
    ("resource-type", FlowType::Str, 6),
    ("tgw-id", FlowType::Str, 6),
    ("tgw-attachment-id", FlowType::Str, 6),
    ("tgw-src-vpc-account-id", FlowType::Str, 6),
    ("tgw-dst-vpc-account-id", FlowType::Str, 6),
    ("tgw-src-vpc-id", FlowType::Str, 6),
    ("tgw-dst-vpc-id", FlowType::Str, 6),
    ("tgw-src-subnet-id", FlowType::Str, 6),
    ("tgw-dst-subnet-id", FlowType::Str, 6),
    ("tgw-src-eni", FlowType::Str, 6),
    ("tgw-dst-eni", FlowType::Str, 6),
    ("tgw-src-az-id", FlowType::Str, 6),
    ("tgw-dst-az-id", FlowType::Str, 6),
    ("tgw-pair-attachment-id", FlowType::Str, 6),
    ("packets-lost-no-route", FlowType::Int64, 6),
    ("packets-lost-blackhole", FlowType::Int64, 6),
    ("packets-lost-mtu-exceeded", FlowType::Int64, 6),
    ("packets-lost-ttl-expired", FlowType::Int64, 6),
    ("ecs-cluster-arn", FlowType::Str, 7),
    ("ecs-cluster-name", FlowType::Str, 7),
    ("ecs-container-instance-arn", FlowType::Str, 7),
    ("ecs-container-instance-id", FlowType::Str, 7),
    ("ecs-container-id", FlowType::Str, 7),
    ("ecs-second-container-id", FlowType::Str, 7),
    ("ecs-service-name", FlowType::Str, 7),
    ("ecs-task-definition-arn", FlowType::Str, 7),
    ("ecs-task-arn", FlowType::Str, 7),
    ("ecs-task-id", FlowType::Str, 7),
    ("reject-reason", FlowType::Str, 8),
    ("resource-id", FlowType::Str, 9),
    ("encryption-status", FlowType::Int32, 10),
    ("interface-type", FlowType::Str, 11),
];

const F_ACCOUNT: usize = 1;
const F_SRCPORT: usize = 5;
const F_DSTPORT: usize = 6;
const F_SRCADDR: usize = 3;
const F_DSTADDR: usize = 4;
const F_START: usize = 10;
const F_END: usize = 11;
const F_ACTION: usize = 12;
const F_REGION: usize = 21;

/// The default (version 2) format.
pub const DEFAULT_FORMAT: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

/// Index in [`FLOW_FIELDS`] of a field name written with `-` or `_`.
pub fn field_index(name: &str) -> Option<usize> {
    if name.contains('_') {
        let dashed = name.replace('_', "-");
        FLOW_FIELDS.iter().position(|f| f.0 == dashed)
    } else {
        FLOW_FIELDS.iter().position(|f| f.0 == name)
    }
}

/// The flow-specific fields, in schema order.
pub fn fields() -> Vec<Field> {
    let mut v: Vec<Field> = FLOW_FIELDS
        .iter()
        .map(|(name, ty, _)| {
            let dt = match ty {
                FlowType::Str => DataType::Utf8,
                FlowType::Int32 => DataType::Int32,
                FlowType::Int64 => DataType::Int64,
                FlowType::Time => timestamp_type(),
            };
            Field::new(*name, dt, true)
        })
        .collect();
    v.push(Field::new("extra", DataType::Utf8, true));
    v
}

/// Where a field of a record goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A documented field: index into [`FLOW_FIELDS`].
    Known(usize),
    /// A field Vigil does not know; kept in `extra` under this name.
    Unknown(String),
}

/// A flow log format: the ordered fields of each record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFormat {
    slots: Vec<Slot>,
    /// Where the format came from, for error messages.
    origin: String,
}

impl FlowFormat {
    /// The default version 2 format.
    pub fn default_v2() -> Self {
        match Self::parse_fields(DEFAULT_FORMAT, "the default v2 format".into()) {
            Some(Ok(f)) => f,
            _ => unreachable!("the default format is valid"),
        }
    }

    /// Parses a user-supplied format (space-separated field names; `${field}` as in the
    /// AWS API's `LogFormat` is accepted too).
    pub fn parse(spec: &str) -> Result<Self> {
        let cleaned = spec.replace("${", "").replace('}', "");
        let fmt = Self::parse_fields(&cleaned, "--vpcflow-format".into())
            .ok_or_else(|| IngestError::FlowFormat {
                format: spec.into(),
                reason: "it names no documented flow log field".into(),
            })?
            .map_err(|reason| IngestError::FlowFormat {
                format: spec.into(),
                reason,
            })?;
        if let Some(Slot::Unknown(name)) = fmt.slots.iter().find(|s| matches!(s, Slot::Unknown(_)))
        {
            return Err(IngestError::FlowFormat {
                format: spec.into(),
                reason: format!(
                    "{name:?} is not a documented flow log field (see FLOW_FIELDS / docs/schema.md)"
                ),
            });
        }
        Ok(fmt)
    }

    /// A header line, if `line` is one: only lowercase field-name tokens, at least one of
    /// them a documented field. Unknown names are kept (their values go to `extra`). A
    /// header naming a field twice is `Some(Err(reason))`.
    pub fn from_header(line: &str, line_no: u64) -> Option<std::result::Result<Self, String>> {
        let is_name = |t: &str| {
            t.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
                && t.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        };
        if !line.split_ascii_whitespace().all(is_name) {
            return None;
        }
        Self::parse_fields(line, format!("the header at line {line_no}"))
    }

    fn parse_fields(spec: &str, origin: String) -> Option<std::result::Result<Self, String>> {
        let slots: Vec<Slot> = spec
            .split_ascii_whitespace()
            .map(|t| match field_index(t) {
                Some(i) => Slot::Known(i),
                None => Slot::Unknown(t.to_string()),
            })
            .collect();
        if !slots.iter().any(|s| matches!(s, Slot::Known(_))) {
            return None;
        }
        for (i, s) in slots.iter().enumerate() {
            if slots[..i].contains(s) {
                let name = match s {
                    Slot::Known(f) => FLOW_FIELDS[*f].0.to_string(),
                    Slot::Unknown(n) => n.clone(),
                };
                return Some(Err(format!(
                    "flow log format names field {name} twice (position {})",
                    i + 1
                )));
            }
        }
        Some(Ok(Self { slots, origin }))
    }

    /// Number of fields per record.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the format has no fields (never true for a parsed format).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The fields in order.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Where this format came from ("the header at line 1", "--vpcflow-format", ...).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Names of fields this format has that Vigil does not know.
    pub fn unknown_fields(&self) -> Vec<&str> {
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Unknown(n) => Some(n.as_str()),
                Slot::Known(_) => None,
            })
            .collect()
    }
}

/// A parsed field value.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Null,
    Str(&'a str),
    Int(i64),
}

enum Col {
    Str(StringBuilder),
    I32(Int32Builder),
    I64(Int64Builder),
    Time(TimestampMicrosecondBuilder),
}

impl Col {
    fn new(ty: FlowType, rows: usize, bytes: usize) -> Self {
        match ty {
            FlowType::Str => Col::Str(StringBuilder::with_capacity(rows, bytes)),
            FlowType::Int32 => Col::I32(Int32Builder::with_capacity(rows)),
            FlowType::Int64 => Col::I64(Int64Builder::with_capacity(rows)),
            FlowType::Time => {
                Col::Time(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"))
            }
        }
    }

    fn append_nulls(&mut self, n: usize) {
        match self {
            Col::Str(b) => b.append_nulls(n),
            Col::I32(b) => b.append_nulls(n),
            Col::I64(b) => b.append_nulls(n),
            Col::Time(b) => b.append_nulls(n),
        }
    }

    #[inline]
    fn push(&mut self, v: Val<'_>) {
        match (self, v) {
            (Col::Str(b), Val::Str(s)) => b.append_value(s),
            (Col::I32(b), Val::Int(i)) => b.append_value(i as i32),
            (Col::I64(b), Val::Int(i)) => b.append_value(i),
            (Col::Time(b), Val::Int(i)) => b.append_value(i.saturating_mul(1_000_000)),
            (Col::Str(b), _) => b.append_null(),
            (Col::I32(b), _) => b.append_null(),
            (Col::I64(b), _) => b.append_null(),
            (Col::Time(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Str(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::I64(b) => Arc::new(b.finish()),
            Col::Time(b) => Arc::new(b.finish()),
        }
    }
}

/// A column of the batch being built, with the number of rows it holds (columns of
/// fields a row's format lacks fall behind and are padded with nulls when next used).
struct Slotted {
    col: Col,
    rows: usize,
}

/// Parses an unsigned decimal integer (what flow log numeric fields hold); `None` for
/// anything else, including overflow.
#[inline]
fn parse_uint(tok: &[u8]) -> Option<i64> {
    if tok.is_empty() || tok.len() > 18 {
        return tok
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(tok).ok()?.parse().ok())
            .flatten();
    }
    let mut v: i64 = 0;
    for &b in tok {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(v)
}

/// Accumulates flow records into Arrow columns. Columns no record of the batch has are
/// produced as all-null arrays at the end, so a 14-field format pays for 14 columns.
pub(crate) struct Builder {
    rows: usize,
    raw_bytes: usize,
    cols: Vec<Option<Slotted>>,
    time: TimestampMicrosecondBuilder,
    status: StringBuilder,
    account_fallback: StringBuilder,
    uses_account_fallback: bool,
    event_uid: StringBuilder,
    raw: StringBuilder,
    extra: StringBuilder,
    /// Rows and raw bytes of the previous batch, to size the next one's buffers.
    last_rows: usize,
    last_raw: usize,
    /// Token spans and parsed integers of the record being appended (reused).
    toks: Vec<(u32, u32, i64)>,
}

impl Builder {
    pub fn new() -> Self {
        Self {
            rows: 0,
            raw_bytes: 0,
            cols: FLOW_FIELDS.iter().map(|_| None).collect(),
            time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            status: StringBuilder::new(),
            account_fallback: StringBuilder::new(),
            uses_account_fallback: false,
            event_uid: StringBuilder::new(),
            raw: StringBuilder::new(),
            extra: StringBuilder::new(),
            last_rows: 1024,
            last_raw: 1024 * 128,
            toks: Vec::with_capacity(64),
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn raw_bytes(&self) -> usize {
        self.raw_bytes
    }

    /// Parses and appends one record line under `format`. Returns the rejection reason.
    pub fn append(
        &mut self,
        line: &str,
        format: &FlowFormat,
        ctx: &crate::decoder::RowCtx<'_>,
    ) -> std::result::Result<(), String> {
        const MAX: usize = 64;
        let n_fields = format.len();
        if n_fields > MAX {
            return Err(format!(
                "format has {n_fields} fields; at most {MAX} are supported"
            ));
        }
        // Split on spaces (runs of spaces count as one separator).
        let bytes = line.as_bytes();
        let mut toks = std::mem::take(&mut self.toks);
        toks.clear();
        let mut from = 0usize;
        for sp in memchr::memchr_iter(b' ', bytes).chain(std::iter::once(bytes.len())) {
            if sp > from {
                toks.push((from as u32, sp as u32, 0));
            }
            from = sp + 1;
        }
        let count = toks.len();
        let r = self.append_tokens(line, &mut toks, count, format, ctx);
        self.toks = toks;
        r
    }

    fn append_tokens(
        &mut self,
        line: &str,
        toks: &mut [(u32, u32, i64)],
        count: usize,
        format: &FlowFormat,
        ctx: &crate::decoder::RowCtx<'_>,
    ) -> std::result::Result<(), String> {
        let n_fields = format.len();
        let bytes = line.as_bytes();
        if count != n_fields {
            return Err(format!(
                "record has {count} fields but {} has {n_fields}{}",
                format.origin,
                if format.origin.starts_with("the default") {
                    "; if this flow log uses a custom format, feed the file with its header line or pass --vpcflow-format"
                } else {
                    ""
                }
            ));
        }
        // Validate numeric fields first, so a bad record leaves the builders untouched.
        for (k, (a, b, int)) in toks.iter_mut().enumerate() {
            let (a, b) = (*a, *b);
            let tok = &bytes[a as usize..b as usize];
            if tok == b"-" {
                continue;
            }
            if let Slot::Known(f) = &format.slots[k] {
                let (name, ty, _) = FLOW_FIELDS[*f];
                if ty != FlowType::Str {
                    let v = parse_uint(tok).ok_or_else(|| {
                        format!(
                            "field {name} (position {}) is {:?}, not a number",
                            k + 1,
                            String::from_utf8_lossy(tok)
                        )
                    })?;
                    if (*f == F_SRCPORT || *f == F_DSTPORT) && v > 65535 {
                        return Err(format!(
                            "field {name} (position {}) is {v}, outside the port range 0-65535",
                            k + 1
                        ));
                    }
                    *int = v;
                }
            }
        }
        // Validated: append.
        let row = self.rows;
        let (cap_rows, cap_bytes) = (self.last_rows, self.last_raw / 8);
        let mut start = None;
        let mut end = None;
        let mut action = None;
        let mut has_account = false;
        let mut extra: Option<String> = None;
        for (k, slot) in format.slots.iter().enumerate() {
            let (a, b, int) = toks[k];
            let tok = &line[a as usize..b as usize];
            let v = if tok == "-" {
                Val::Null
            } else {
                match slot {
                    Slot::Known(f) if FLOW_FIELDS[*f].1 != FlowType::Str => Val::Int(int),
                    _ => Val::Str(tok),
                }
            };
            match slot {
                Slot::Known(f) => {
                    let slotted = self.cols[*f].get_or_insert_with(|| Slotted {
                        col: Col::new(FLOW_FIELDS[*f].1, cap_rows, cap_bytes),
                        rows: 0,
                    });
                    if slotted.rows < row {
                        slotted.col.append_nulls(row - slotted.rows);
                    }
                    slotted.col.push(v);
                    slotted.rows = row + 1;
                    match (*f, v) {
                        (F_START, Val::Int(t)) => start = Some(t),
                        (F_END, Val::Int(t)) => end = Some(t),
                        (F_ACTION, Val::Str(a)) => action = Some(a),
                        (F_ACCOUNT, Val::Str(_)) => has_account = true,
                        _ => {}
                    }
                }
                Slot::Unknown(name) => {
                    let e = extra.get_or_insert_with(|| String::from("{"));
                    if e.len() > 1 {
                        e.push(',');
                    }
                    let value = match v {
                        Val::Str(s) => serde_json::Value::String(s.to_string()),
                        _ => serde_json::Value::Null,
                    };
                    e.push_str(&serde_json::Value::String(name.clone()).to_string());
                    e.push(':');
                    e.push_str(&value.to_string());
                }
            }
        }
        self.rows += 1;
        self.raw_bytes += line.len();
        let time = start
            .or(end)
            .map(|s| s.saturating_mul(1_000_000))
            .or(ctx.fallback_time);
        self.time.append_option(time);
        self.status.append_option(match action {
            Some("ACCEPT") => Some(status_word(true)),
            Some("REJECT") => Some(status_word(false)),
            _ => None,
        });
        if !has_account && ctx.default_account.is_some() {
            self.uses_account_fallback = true;
        }
        self.account_fallback.append_option(if has_account {
            None
        } else {
            ctx.default_account
        });
        let mut hex = [0u8; 32];
        self.event_uid
            .append_value(content_hash_into(line.as_bytes(), &mut hex));
        self.raw.append_value(line);
        match extra {
            Some(mut e) => {
                e.push('}');
                self.extra.append_value(e);
            }
            None => self.extra.append_null(),
        }
        Ok(())
    }

    /// Builds the batch and resets the builder.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let rows = std::mem::take(&mut self.rows);
        self.last_rows = rows.max(1024);
        self.last_raw = self.raw_bytes.max(1024 * 128);
        self.raw_bytes = 0;
        let all_fields = fields();
        let mut specific: Vec<ArrayRef> = Vec::with_capacity(FLOW_FIELDS.len() + 1);
        for (i, col) in self.cols.iter_mut().enumerate() {
            let arr = match col.take() {
                Some(mut c) => {
                    if c.rows < rows {
                        c.col.append_nulls(rows - c.rows);
                    }
                    c.col.finish()
                }
                None => new_null_array(all_fields[i].data_type(), rows),
            };
            specific.push(arr);
        }
        specific.push(Arc::new(self.extra.finish()));
        let fallback = self.account_fallback.finish();
        let account: ArrayRef = if std::mem::take(&mut self.uses_account_fallback) {
            let own = specific[F_ACCOUNT]
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .cloned()
                .unwrap_or_else(|| arrow::array::StringArray::new_null(rows));
            Arc::new(
                own.iter()
                    .zip(fallback.iter())
                    .map(|(a, b)| a.or(b))
                    .collect::<arrow::array::StringArray>(),
            )
        } else {
            specific[F_ACCOUNT].clone()
        };
        let (r, b) = (self.last_rows, self.last_raw);
        let common = CommonArrays {
            time: Arc::new(self.time.finish()),
            actor_user: new_null_array(&DataType::Utf8, rows),
            src_ip: specific[F_SRCADDR].clone(),
            dst_ip: specific[F_DSTADDR].clone(),
            account,
            region: specific[F_REGION].clone(),
            status: Arc::new(self.status.finish()),
            event_uid: Arc::new(
                std::mem::replace(&mut self.event_uid, StringBuilder::with_capacity(r, r * 32))
                    .finish(),
            ),
            raw: Arc::new(
                std::mem::replace(&mut self.raw, StringBuilder::with_capacity(r, b + b / 8))
                    .finish(),
            ),
        };
        self.time = TimestampMicrosecondBuilder::with_capacity(r).with_timezone("UTC");
        self.status = StringBuilder::with_capacity(r, r * 7);
        self.extra = StringBuilder::with_capacity(r, 0);
        assemble(SourceKind::VpcFlow, rows, common, specific)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_detection() {
        let f = FlowFormat::from_header(
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status",
            1,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            f,
            FlowFormat {
                origin: "the header at line 1".into(),
                ..FlowFormat::default_v2()
            }
        );
        assert!(FlowFormat::from_header("2 123 eni-1 - - - - - - - 1 2 - NODATA", 2).is_none());
        let nat = FlowFormat::from_header("instance_id interface_id srcaddr", 1)
            .unwrap()
            .unwrap();
        assert_eq!(nat.len(), 3);
        let odd = FlowFormat::from_header("version brand-new-field", 1)
            .unwrap()
            .unwrap();
        // Found by fuzzing: a header naming a field twice made columns of unequal length.
        assert!(
            FlowFormat::from_header("version start srcaddr start", 1)
                .unwrap()
                .is_err()
        );
        assert!(FlowFormat::parse("srcaddr srcaddr").is_err());
        assert_eq!(odd.unknown_fields(), vec!["brand-new-field"]);
        assert!(FlowFormat::parse("version brand-new-field").is_err());
        assert_eq!(FlowFormat::parse("${version} ${srcaddr}").unwrap().len(), 2);
    }
}
