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
    /// Per slot, what the decoder does with the value (derived from `slots`).
    plan: Vec<Step>,
    /// Where the format came from, for error messages.
    origin: String,
}

/// What to do with one field of a record, precomputed per format so that the per-record
/// loop does no lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    /// Index in [`FLOW_FIELDS`], or [`UNKNOWN`].
    field: u8,
    ty: FlowType,
    role: Role,
}

/// Marks a field Vigil does not know (its value goes to `extra`).
const UNKNOWN: u8 = u8::MAX;

/// Fields the common columns and validation care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    Port,
    Start,
    End,
    Action,
    Account,
}

impl Step {
    fn of(slot: &Slot) -> Self {
        match slot {
            Slot::Unknown(_) => Step {
                field: UNKNOWN,
                ty: FlowType::Str,
                role: Role::Plain,
            },
            Slot::Known(f) => Step {
                field: *f as u8,
                ty: FLOW_FIELDS[*f].1,
                role: match *f {
                    F_SRCPORT | F_DSTPORT => Role::Port,
                    F_START => Role::Start,
                    F_END => Role::End,
                    F_ACTION => Role::Action,
                    F_ACCOUNT => Role::Account,
                    _ => Role::Plain,
                },
            },
        }
    }
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
        let plan = slots.iter().map(Step::of).collect();
        Some(Ok(Self {
            slots,
            plan,
            origin,
        }))
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

/// One column of the batch being built, with the number of rows it holds (columns of
/// fields a row's format lacks fall behind and are padded with nulls when next used).
struct Typed<B> {
    b: B,
    rows: usize,
}

/// The builders of every documented field, grouped by type; `slot_of[field]` is the
/// field's index in its type's vector. A column is created on first use.
struct Columns {
    strs: Vec<Option<Typed<StringBuilder>>>,
    i32s: Vec<Option<Typed<Int32Builder>>>,
    i64s: Vec<Option<Typed<Int64Builder>>>,
    times: Vec<Option<Typed<TimestampMicrosecondBuilder>>>,
    slot_of: [u8; FLOW_FIELDS.len()],
}

impl Columns {
    fn new() -> Self {
        let mut slot_of = [0u8; FLOW_FIELDS.len()];
        let (mut s, mut i, mut l, mut t) = (0u8, 0u8, 0u8, 0u8);
        for (k, (_, ty, _)) in FLOW_FIELDS.iter().enumerate() {
            let n = match ty {
                FlowType::Str => &mut s,
                FlowType::Int32 => &mut i,
                FlowType::Int64 => &mut l,
                FlowType::Time => &mut t,
            };
            slot_of[k] = *n;
            *n += 1;
        }
        Self {
            strs: (0..s).map(|_| None).collect(),
            i32s: (0..i).map(|_| None).collect(),
            i64s: (0..l).map(|_| None).collect(),
            times: (0..t).map(|_| None).collect(),
            slot_of,
        }
    }
}

macro_rules! column {
    ($vec:expr, $row:expr, $new:expr) => {{
        let c = $vec.get_or_insert_with(|| Typed { b: $new, rows: 0 });
        if c.rows < $row {
            c.b.append_nulls($row - c.rows);
        }
        c.rows = $row + 1;
        &mut c.b
    }};
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

/// Splits `bytes` on spaces (a run of spaces is one separator) into `(start, end)` token
/// spans, eight bytes at a time: each word is compared with eight spaces at once and
/// the matches are read off the resulting bit mask.
#[inline]
fn split_spaces(bytes: &[u8], toks: &mut Vec<(u32, u32, i64)>) {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const SPACES: u64 = 0x2020_2020_2020_2020;
    let mut from = 0usize;
    let mut push = |sp: usize, from: &mut usize| {
        if sp > *from {
            toks.push((*from as u32, sp as u32, 0));
        }
        *from = sp + 1;
    };
    let mut i = 0usize;
    while i + 8 <= bytes.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i..i + 8]);
        let x = u64::from_le_bytes(w) ^ SPACES;
        // High bit set exactly in the bytes of `x` that are zero (bytes equal to ' ').
        let mut m = !(((x & LO7) + LO7) | x | LO7);
        while m != 0 {
            let sp = i + (m.trailing_zeros() / 8) as usize;
            push(sp, &mut from);
            m &= m - 1;
        }
        i += 8;
    }
    for (k, &b) in bytes[i..].iter().enumerate() {
        if b == b' ' {
            push(i + k, &mut from);
        }
    }
    push(bytes.len(), &mut from);
}

/// Accumulates flow records into Arrow columns. Columns no record of the batch has are
/// produced as all-null arrays at the end, so a 14-field format pays for 14 columns.
pub(crate) struct Builder {
    rows: usize,
    raw_bytes: usize,
    cols: Columns,
    /// Per row: event time when it is not `start` (else null); only materialized when
    /// some row needs it.
    time_fallback: Vec<Option<i64>>,
    time_differs: bool,
    status: StringBuilder,
    /// Per row: the envelope's account when the record has none; materialized lazily.
    account_fallback: Vec<Option<String>>,
    uses_account_fallback: bool,
    event_uid: StringBuilder,
    raw: StringBuilder,
    /// Rows with unknown fields: (row, JSON object of them).
    extra: Vec<(usize, String)>,
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
            cols: Columns::new(),
            time_fallback: Vec::new(),
            time_differs: false,
            status: StringBuilder::new(),
            account_fallback: Vec::new(),
            uses_account_fallback: false,
            event_uid: StringBuilder::new(),
            raw: StringBuilder::new(),
            extra: Vec::new(),
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
        let bytes = line.as_bytes();
        let mut toks = std::mem::take(&mut self.toks);
        toks.clear();
        split_spaces(bytes, &mut toks);
        let r = self.append_tokens(line, &mut toks, format, ctx);
        self.toks = toks;
        r
    }

    fn append_tokens(
        &mut self,
        line: &str,
        toks: &mut [(u32, u32, i64)],
        format: &FlowFormat,
        ctx: &crate::decoder::RowCtx<'_>,
    ) -> std::result::Result<(), String> {
        let n_fields = format.len();
        let count = toks.len();
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
        for (k, (tok_span, step)) in toks.iter_mut().zip(&format.plan).enumerate() {
            if matches!(step.ty, FlowType::Str) {
                continue;
            }
            let tok = &bytes[tok_span.0 as usize..tok_span.1 as usize];
            if tok == b"-" {
                continue;
            }
            let name = FLOW_FIELDS[step.field as usize].0;
            let v = parse_uint(tok).ok_or_else(|| {
                format!(
                    "field {name} (position {}) is {:?}, not a number",
                    k + 1,
                    String::from_utf8_lossy(tok)
                )
            })?;
            if step.role == Role::Port && v > 65535 {
                return Err(format!(
                    "field {name} (position {}) is {v}, outside the port range 0-65535",
                    k + 1
                ));
            }
            tok_span.2 = v;
        }
        // Validated: append.
        let row = self.rows;
        let (cap_rows, cap_bytes) = (self.last_rows, self.last_raw / 8);
        let mut start = None;
        let mut end = None;
        let mut action = None;
        let mut has_account = false;
        let mut extra: Option<String> = None;
        for (k, (&(a, b, int), step)) in toks.iter().zip(&format.plan).enumerate() {
            let tok = &line[a as usize..b as usize];
            let null = tok == "-";
            if step.field == UNKNOWN {
                let name = match &format.slots[k] {
                    Slot::Unknown(n) => n.as_str(),
                    Slot::Known(_) => "",
                };
                let e = extra.get_or_insert_with(|| String::from("{"));
                if e.len() > 1 {
                    e.push(',');
                }
                e.push_str(&serde_json::Value::String(name.to_string()).to_string());
                e.push(':');
                if null {
                    e.push_str("null");
                } else {
                    e.push_str(&serde_json::Value::String(tok.to_string()).to_string());
                }
                continue;
            }
            let slot = self.cols.slot_of[step.field as usize] as usize;
            match step.ty {
                FlowType::Str => {
                    let c = column!(
                        self.cols.strs[slot],
                        row,
                        StringBuilder::with_capacity(cap_rows, cap_bytes)
                    );
                    if null {
                        c.append_null();
                    } else {
                        c.append_value(tok);
                        match step.role {
                            Role::Action => action = Some(tok),
                            Role::Account => has_account = true,
                            _ => {}
                        }
                    }
                }
                FlowType::Int32 => {
                    let c = column!(
                        self.cols.i32s[slot],
                        row,
                        Int32Builder::with_capacity(cap_rows)
                    );
                    if null {
                        c.append_null()
                    } else {
                        c.append_value(int as i32)
                    }
                }
                FlowType::Int64 => {
                    let c = column!(
                        self.cols.i64s[slot],
                        row,
                        Int64Builder::with_capacity(cap_rows)
                    );
                    if null {
                        c.append_null()
                    } else {
                        c.append_value(int)
                    }
                }
                FlowType::Time => {
                    let c = column!(
                        self.cols.times[slot],
                        row,
                        TimestampMicrosecondBuilder::with_capacity(cap_rows).with_timezone("UTC")
                    );
                    if null {
                        c.append_null();
                    } else {
                        c.append_value(int.saturating_mul(1_000_000));
                        match step.role {
                            Role::Start => start = Some(int),
                            Role::End => end = Some(int),
                            _ => {}
                        }
                    }
                }
            }
        }
        self.rows += 1;
        self.raw_bytes += line.len();
        // `time` is `start` unless a row lacks it.
        let fallback = if start.is_some() {
            None
        } else {
            end.map(|s| s.saturating_mul(1_000_000))
                .or(ctx.fallback_time)
        };
        if start.is_none() && !self.time_differs {
            self.time_differs = true;
            self.time_fallback = vec![None; row];
        }
        if self.time_differs {
            self.time_fallback.push(fallback);
        }
        self.status.append_option(match action {
            Some("ACCEPT") => Some(status_word(true)),
            Some("REJECT") => Some(status_word(false)),
            _ => None,
        });
        let fallback_account = if has_account {
            None
        } else {
            ctx.default_account
        };
        if fallback_account.is_some() && !self.uses_account_fallback {
            self.uses_account_fallback = true;
            self.account_fallback = vec![None; row];
        }
        if self.uses_account_fallback {
            self.account_fallback
                .push(fallback_account.map(str::to_string));
        }
        let mut hex = [0u8; 32];
        self.event_uid
            .append_value(content_hash_into(line.as_bytes(), &mut hex));
        self.raw.append_value(line);
        if let Some(mut e) = extra {
            e.push('}');
            self.extra.push((row, e));
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
        for (i, (_, ty, _)) in FLOW_FIELDS.iter().enumerate() {
            let slot = self.cols.slot_of[i] as usize;
            macro_rules! take {
                ($vec:expr) => {
                    match $vec[slot].take() {
                        Some(mut c) => {
                            if c.rows < rows {
                                c.b.append_nulls(rows - c.rows);
                            }
                            Arc::new(c.b.finish()) as ArrayRef
                        }
                        None => new_null_array(all_fields[i].data_type(), rows),
                    }
                };
            }
            specific.push(match ty {
                FlowType::Str => take!(self.cols.strs),
                FlowType::Int32 => take!(self.cols.i32s),
                FlowType::Int64 => take!(self.cols.i64s),
                FlowType::Time => take!(self.cols.times),
            });
        }
        let extra: ArrayRef = if self.extra.is_empty() {
            new_null_array(&DataType::Utf8, rows)
        } else {
            let mut b = StringBuilder::new();
            let mut next = 0;
            for (row, e) in self.extra.drain(..) {
                b.append_nulls(row - next);
                b.append_value(e);
                next = row + 1;
            }
            b.append_nulls(rows - next);
            Arc::new(b.finish())
        };
        specific.push(extra);
        let account: ArrayRef = if std::mem::take(&mut self.uses_account_fallback) {
            let own = specific[F_ACCOUNT]
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .cloned()
                .unwrap_or_else(|| arrow::array::StringArray::new_null(rows));
            let fallback = std::mem::take(&mut self.account_fallback);
            Arc::new(
                own.iter()
                    .zip(fallback.iter())
                    .map(|(a, b)| a.or(b.as_deref()))
                    .collect::<arrow::array::StringArray>(),
            )
        } else {
            specific[F_ACCOUNT].clone()
        };
        let time: ArrayRef = if std::mem::take(&mut self.time_differs) {
            let start = specific[F_START]
                .as_any()
                .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
                .cloned()
                .unwrap_or_else(|| arrow::array::TimestampMicrosecondArray::new_null(rows));
            let fallback = std::mem::take(&mut self.time_fallback);
            Arc::new(
                start
                    .iter()
                    .zip(fallback)
                    .map(|(s, f)| s.or(f))
                    .collect::<arrow::array::TimestampMicrosecondArray>()
                    .with_timezone("UTC"),
            )
        } else {
            specific[F_START].clone()
        };
        let (r, b) = (self.last_rows, self.last_raw);
        let common = CommonArrays {
            time,
            actor_user: new_null_array(&DataType::Utf8, rows),
            src_ip: specific[F_SRCADDR].clone(),
            dst_ip: specific[F_DSTADDR].clone(),
            account,
            region: specific[F_REGION].clone(),
            status: Arc::new(
                std::mem::replace(&mut self.status, StringBuilder::with_capacity(r, r * 7))
                    .finish(),
            ),
            event_uid: Arc::new(
                std::mem::replace(&mut self.event_uid, StringBuilder::with_capacity(r, r * 32))
                    .finish(),
            ),
            raw: Arc::new(
                std::mem::replace(&mut self.raw, StringBuilder::with_capacity(r, b + b / 8))
                    .finish(),
            ),
        };
        assemble(SourceKind::VpcFlow, rows, common, specific)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The SWAR splitter agrees with a plain split on spaces.
        #[test]
        fn split_spaces_matches_a_plain_split(line in "[ a-z0-9\\-:.]{0,90}") {
            let mut toks = Vec::new();
            split_spaces(line.as_bytes(), &mut toks);
            let got: Vec<&str> = toks.iter().map(|&(a, b, _)| &line[a as usize..b as usize]).collect();
            let want: Vec<&str> = line.split(' ').filter(|t| !t.is_empty()).collect();
            prop_assert_eq!(got, want);
        }
    }

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
