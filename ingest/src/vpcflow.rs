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
    ArrayRef, ArrowPrimitiveType, PrimitiveArray, RecordBatch, StringBuilder, new_null_array,
};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, TimestampMicrosecondType};

use crate::blocks::{block_at, byte_mask};
use crate::columns::{StrCol, Validity};
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
    /// The numeric slots, in order, and whether each is a port (derived from `slots`).
    numeric: Vec<(usize, bool)>,
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

/// A format given in full (the default one, `--vpcflow-format`) needs one documented
/// field; [`FlowFormat::parse`] then rejects any unknown one with its name.
fn any_known(known: usize, _unknown: usize) -> bool {
    known > 0
}

impl FlowFormat {
    /// The default version 2 format.
    pub fn default_v2() -> Self {
        match Self::parse_fields(DEFAULT_FORMAT, "the default v2 format".into(), any_known) {
            Some(Ok(f)) => f,
            _ => unreachable!("the default format is valid"),
        }
    }

    /// Parses a user-supplied format (space-separated field names; `${field}` as in the
    /// AWS API's `LogFormat` is accepted too).
    pub fn parse(spec: &str) -> Result<Self> {
        let cleaned = spec.replace("${", "").replace('}', "");
        let fmt = Self::parse_fields(&cleaned, "--vpcflow-format".into(), any_known)
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

    /// A header line, if `line` is one: lowercase field-name tokens, at least two of them
    /// documented fields and more documented than not. Unknown names are kept (their
    /// values go to `extra`), so a header from a newer AWS format still reads. A header
    /// naming a field twice is `Some(Err(reason))`.
    ///
    /// Words that are mostly not field names are never a header, even when one of them is
    /// (`end`, or `end a`): a flow log with a single documented field carries no flow,
    /// while a stray line of words in a stream is garbage that must reach the dead
    /// letters rather than silently switch the format (both found by a property test).
    pub fn from_header(line: &str, line_no: u64) -> Option<std::result::Result<Self, String>> {
        let is_name = |t: &str| {
            t.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
                && t.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        };
        // Names are checked first: a data line stops at its first value, with no field
        // lookup.
        if !line.split_ascii_whitespace().all(is_name) {
            return None;
        }
        let mostly_known = |known: usize, unknown: usize| known >= 2 && known > unknown;
        Self::parse_fields(line, format!("the header at line {line_no}"), mostly_known)
    }

    /// The format `spec` names, if `enough(documented, unknown)` holds for the counts of
    /// its documented and unknown field names; `Some(Err(reason))` if it names a field
    /// twice.
    fn parse_fields(
        spec: &str,
        origin: String,
        enough: impl Fn(usize, usize) -> bool,
    ) -> Option<std::result::Result<Self, String>> {
        let slots: Vec<Slot> = spec
            .split_ascii_whitespace()
            .map(|t| match field_index(t) {
                Some(i) => Slot::Known(i),
                None => Slot::Unknown(t.to_string()),
            })
            .collect();
        let known = slots.iter().filter(|s| matches!(s, Slot::Known(_))).count();
        if !enough(known, slots.len() - known) {
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
        let plan: Vec<Step> = slots.iter().map(Step::of).collect();
        let numeric = plan
            .iter()
            .enumerate()
            .filter(|(_, s)| s.ty != FlowType::Str)
            .map(|(k, s)| (k, s.role == Role::Port))
            .collect();
        Some(Ok(Self {
            slots,
            plan,
            numeric,
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

/// Most fields a record format may have (the block decoder keeps one line's token spans
/// in fixed-size rows).
const MAX_FIELDS: usize = 64;

/// Lines whose tokens are validated before their fields are copied into the columns
/// together: enough to amortize per-column work, few enough that the token spans of a
/// chunk stay in L1/L2 cache.
const CHUNK_ROWS: usize = 64;

/// Marks a numeric field that is `-` (null) in the parsed values of a chunk (parsed
/// numbers are never negative).
const NULL_INT: i64 = -1;

/// Splits `text[start..end]` on spaces (a run of spaces is one separator). Writes the
/// first `starts.len()` token spans (absolute offsets in `text`) into `starts`/`ends`
/// and returns the number of tokens.
#[inline(always)]
fn tokenize(
    text: &[u8],
    start: usize,
    end: usize,
    starts: &mut [usize],
    ends: &mut [usize],
) -> usize {
    match tokenize_single_spaced(text, start, end, starts, ends) {
        Some(count) => count,
        None => tokenize_any(text, start, end, starts, ends),
    }
}

/// [`tokenize`] for the usual line, whose tokens are separated by single spaces (none
/// leading, trailing or doubled): one pass over the space bits, 64 bytes at a time, each
/// space ending a token and starting the next. `None` for any other line.
#[inline(always)]
fn tokenize_single_spaced(
    text: &[u8],
    start: usize,
    end: usize,
    starts: &mut [usize],
    ends: &mut [usize],
) -> Option<usize> {
    let cap = starts.len().min(ends.len());
    if start >= end || cap == 0 || text.get(end - 1) == Some(&b' ') {
        return None;
    }
    starts[0] = start;
    // Tokens started so far.
    let mut count = 1usize;
    // 1 when the byte before the current chunk is a space (the line start counts as one,
    // so that a leading space is a doubled one).
    let mut carry = 1u64;
    let mut at = start;
    let mut pad = [b' '; 64];
    while at < end {
        let mut spaces = byte_mask(block_at(text, at, &mut pad), b' ');
        let left = end - at;
        if left < 64 {
            spaces &= !(u64::MAX << left);
        }
        if spaces & ((spaces << 1) | carry) != 0 {
            return None;
        }
        carry = spaces >> 63;
        while spaces != 0 {
            let p = at + spaces.trailing_zeros() as usize;
            if count < cap {
                ends[count - 1] = p;
                starts[count] = p + 1;
            } else if count == cap {
                ends[count - 1] = p;
            }
            count += 1;
            spaces &= spaces - 1;
        }
        at += 64;
    }
    if count <= cap {
        ends[count - 1] = end;
    }
    Some(count)
}

/// [`tokenize`] for any line, 64 bytes at a time: token starts are the non-space bytes
/// after a space (or the line start), token ends the spaces after a non-space byte (or
/// the line end), both read off bit masks.
#[inline]
fn tokenize_any(
    text: &[u8],
    start: usize,
    end: usize,
    starts: &mut [usize],
    ends: &mut [usize],
) -> usize {
    debug_assert_eq!(starts.len(), ends.len());
    let cap = starts.len().min(ends.len());
    let (mut n_starts, mut n_ends) = (0usize, 0usize);
    // 1 when the byte before the current chunk is part of a token.
    let mut carry = 0u64;
    let mut at = start;
    let mut pad = [b' '; 64];
    while at < end {
        let mut spaces = byte_mask(block_at(text, at, &mut pad), b' ');
        let left = end - at;
        if left < 64 {
            // Bytes past the line count as spaces.
            spaces |= !0u64 << left;
        }
        let token = !spaces;
        let prev = (token << 1) | carry;
        let mut token_starts = token & !prev;
        let mut token_ends = spaces & prev;
        carry = token >> 63;
        while token_starts != 0 {
            if n_starts < cap {
                starts[n_starts] = at + token_starts.trailing_zeros() as usize;
            }
            n_starts += 1;
            token_starts &= token_starts - 1;
        }
        while token_ends != 0 {
            if n_ends < cap {
                ends[n_ends] = at + token_ends.trailing_zeros() as usize;
            }
            n_ends += 1;
            token_ends &= token_ends - 1;
        }
        at += 64;
    }
    if carry != 0 {
        if n_ends < cap {
            ends[n_ends] = end;
        }
        n_ends += 1;
    }
    debug_assert_eq!(n_starts, n_ends);
    n_starts
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

/// The value of up to eight ASCII digits: the `len` (1 to 8) bytes of `word` (little
/// endian, first digit in the lowest byte), `None` unless all are digits. Eight digits
/// at once (SWAR): pad to eight with leading zeros, check every byte is `'0'..='9'`, then
/// combine pairs, quads and halves with three multiplies.
#[inline(always)]
fn parse_digits8(word: u64, len: usize) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    debug_assert!((1..=8).contains(&len));
    let pad = 64 - 8 * len as u32;
    // The digits moved to the high bytes, the freed low bytes set to '0'.
    let x = word.checked_shl(pad).unwrap_or(0) | ZEROS.checked_shr(64 - pad).unwrap_or(0);
    // Every byte 0x30..=0x39: high nibble 3, and still 3 after adding 6 (no carries, as
    // every byte is below 0x40).
    if x & 0xF0F0_F0F0_F0F0_F0F0 != ZEROS
        || (x.wrapping_add(0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0 != ZEROS
    {
        return None;
    }
    let d = x - ZEROS;
    let pairs = (d.wrapping_mul(10) + (d >> 8)) & 0x00FF_00FF_00FF_00FF;
    let quads = (pairs.wrapping_mul(1 + (100 << 16)) >> 16) & 0x0000_FFFF_0000_FFFF;
    Some(quads.wrapping_mul(1 + (10000 << 32)) >> 32)
}

/// [`parse_uint`] of the token `bytes[a..b]`, reading eight bytes at a time when `bytes`
/// has room past the token (it is a line of a larger block, or followed by more fields).
#[inline(always)]
fn parse_uint_at(bytes: &[u8], a: usize, b: usize) -> Option<i64> {
    let len = b - a;
    let word_at = |at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes)
    };
    match len {
        1..=8 => {
            if let Some(w) = word_at(a) {
                return parse_digits8(w, len).map(|v| v as i64);
            }
        }
        9..=16 => {
            if let (Some(hi), Some(lo)) = (word_at(a), word_at(b - 8)) {
                let hi = parse_digits8(hi, len - 8)?;
                let lo = parse_digits8(lo, 8)?;
                return Some((hi * 100_000_000 + lo) as i64);
            }
        }
        _ => {}
    }
    parse_uint(&bytes[a..b])
}

/// A primitive column: values and validity, written directly.
struct PrimCol<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    validity: Validity,
}

impl<T: ArrowPrimitiveType> PrimCol<T> {
    fn with_capacity(rows: usize) -> Self {
        Self {
            values: Vec::with_capacity(rows),
            validity: Validity::with_capacity(rows),
        }
    }

    fn len(&self) -> usize {
        self.values.len()
    }

    fn push_nulls(&mut self, n: usize) {
        self.values
            .resize(self.values.len() + n, T::Native::default());
        self.validity.push_n(false, n);
    }

    fn finish(self) -> PrimitiveArray<T> {
        PrimitiveArray::new(ScalarBuffer::from(self.values), self.validity.finish())
    }
}

/// The columns of every documented field, grouped by type; `slot_of[field]` is the
/// field's index in its type's vector. A column is created on first use (padded with
/// nulls for the rows before), so a batch pays only for the fields its records have.
struct Columns {
    strs: Vec<Option<StrCol>>,
    /// Bytes each string column held in the previous batch, to size the next one.
    str_bytes: Vec<usize>,
    i32s: Vec<Option<PrimCol<Int32Type>>>,
    i64s: Vec<Option<PrimCol<Int64Type>>>,
    times: Vec<Option<PrimCol<TimestampMicrosecondType>>>,
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
            str_bytes: vec![0; s as usize],
            i32s: (0..i).map(|_| None).collect(),
            i64s: (0..l).map(|_| None).collect(),
            times: (0..t).map(|_| None).collect(),
            slot_of,
        }
    }
}

/// The column in `$opt`, created with `$new` if absent and padded with nulls to `$rows`
/// rows (the rows before this chunk).
macro_rules! column {
    ($opt:expr, $rows:expr, $new:expr) => {{
        let c = $opt.get_or_insert_with(|| $new);
        if c.len() < $rows {
            c.push_nulls($rows - c.len());
        }
        c
    }};
}

/// What [`Builder::append_lines`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Appended {
    /// Lines consumed (appended or rejected), from the first.
    pub lines: usize,
    /// Rows appended.
    pub rows: usize,
    /// It stopped because the batch reached the requested number of rows.
    pub full: bool,
}

/// Token spans and parsed numbers of the lines of one chunk: row `r`'s field `k` is at
/// index `r * n_fields + k`.
struct Chunk {
    starts: Vec<usize>,
    ends: Vec<usize>,
    ints: Vec<i64>,
    /// Per appended row: its line's span in the text.
    lines: Vec<(usize, usize)>,
}

/// Accumulates flow records into Arrow columns. Columns no record of the batch has are
/// produced as all-null arrays at the end, so a 14-field format pays for 14 columns.
///
/// Records are appended a block of lines at a time ([`Builder::append_lines`]), in
/// chunks of [`CHUNK_ROWS`] lines: first every line of the chunk is split into tokens and
/// validated (field count, numbers, ports), the bad ones reported; then each column is
/// filled for all the good rows in one tight loop, so the per-field dispatch is paid
/// once per chunk rather than once per record.
pub(crate) struct Builder {
    rows: usize,
    cols: Columns,
    /// Per row: event time when it is not `start` (else null); only materialized when
    /// some row needs it.
    time_fallback: Vec<Option<i64>>,
    time_differs: bool,
    status: StrCol,
    /// Per row: the envelope's account when the record has none; materialized lazily.
    account_fallback: Vec<Option<String>>,
    uses_account_fallback: bool,
    event_uid: StrCol,
    raw: StrCol,
    /// Rows with unknown fields: (row, JSON object of them).
    extra: Vec<(usize, String)>,
    /// Rows and raw bytes of the previous batch, to size the next one's buffers.
    last_rows: usize,
    last_raw: usize,
    chunk: Chunk,
    /// All-null columns of the last batch size, shared by the fields no record has.
    null_cache: NullCache,
}

/// All-null arrays of one length, one per column type, reused while batches keep that
/// length (they are immutable, so every absent column can share one).
#[derive(Default)]
struct NullCache {
    rows: usize,
    arrays: Vec<(DataType, ArrayRef)>,
}

impl NullCache {
    fn get(&mut self, dt: &DataType, rows: usize) -> ArrayRef {
        if self.rows != rows {
            self.rows = rows;
            self.arrays.clear();
        }
        if let Some((_, a)) = self.arrays.iter().find(|(t, _)| t == dt) {
            return a.clone();
        }
        let a = new_null_array(dt, rows);
        self.arrays.push((dt.clone(), a.clone()));
        a
    }
}

impl Builder {
    pub fn new() -> Self {
        let (r, b) = (1024, 1024 * 128);
        Self {
            rows: 0,
            cols: Columns::new(),
            time_fallback: Vec::new(),
            time_differs: false,
            status: StrCol::with_capacity(r, r * 7),
            account_fallback: Vec::new(),
            uses_account_fallback: false,
            event_uid: StrCol::with_capacity(r, r * 32),
            raw: StrCol::with_capacity(r, b + b / 8),
            extra: Vec::new(),
            last_rows: r,
            last_raw: b,
            chunk: Chunk {
                starts: Vec::new(),
                ends: Vec::new(),
                ints: Vec::new(),
                lines: Vec::with_capacity(CHUNK_ROWS),
            },
            null_cache: NullCache::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn raw_bytes(&self) -> usize {
        self.raw.value_bytes()
    }

    /// Parses and appends one record line under `format`. Returns the rejection reason.
    pub fn append(
        &mut self,
        line: &str,
        format: &FlowFormat,
        ctx: &crate::decoder::RowCtx<'_>,
    ) -> std::result::Result<(), String> {
        let mut rejected = Vec::new();
        self.append_lines(
            line,
            &[(0, line.len())],
            format,
            ctx,
            usize::MAX,
            &mut rejected,
        );
        match rejected.pop() {
            Some((_, reason)) => Err(reason),
            None => Ok(()),
        }
    }

    /// Parses and appends the record lines `text[a..b]` for each `(a, b)` of `lines`, in
    /// order, under `format`. A rejected line is pushed to `rejected` as (its index in
    /// `lines`, the reason) and leaves the columns untouched. Stops early, right after
    /// the row that brings the batch to `stop_at_rows` rows, so that the caller can flush
    /// exactly where a row-at-a-time loop would.
    pub fn append_lines(
        &mut self,
        text: &str,
        lines: &[(usize, usize)],
        format: &FlowFormat,
        ctx: &crate::decoder::RowCtx<'_>,
        stop_at_rows: usize,
        rejected: &mut Vec<(usize, String)>,
    ) -> Appended {
        let n = format.len();
        if n > MAX_FIELDS {
            for i in 0..lines.len() {
                rejected.push((
                    i,
                    format!("format has {n} fields; at most {MAX_FIELDS} are supported"),
                ));
            }
            return Appended {
                lines: lines.len(),
                rows: 0,
                full: false,
            };
        }
        let mut chunk = std::mem::replace(
            &mut self.chunk,
            Chunk {
                starts: Vec::new(),
                ends: Vec::new(),
                ints: Vec::new(),
                lines: Vec::new(),
            },
        );
        let need = CHUNK_ROWS * n;
        if chunk.starts.len() < need {
            chunk.starts.resize(need, 0);
            chunk.ends.resize(need, 0);
            chunk.ints.resize(need, 0);
        }
        let bytes = text.as_bytes();
        let mut done = Appended {
            lines: 0,
            rows: 0,
            full: false,
        };
        while done.lines < lines.len() && !done.full {
            // Validate a chunk of lines.
            chunk.lines.clear();
            let mut i = done.lines;
            while i < lines.len() && chunk.lines.len() < CHUNK_ROWS {
                let (a, b) = lines[i];
                let base = chunk.lines.len() * n;
                let row = base..base + n;
                let count = tokenize(
                    bytes,
                    a,
                    b,
                    &mut chunk.starts[row.clone()],
                    &mut chunk.ends[row.clone()],
                );
                if count != n {
                    rejected.push((i, count_mismatch(count, format)));
                } else {
                    match validate(
                        bytes,
                        format,
                        &chunk.starts[row.clone()],
                        &chunk.ends[row.clone()],
                        &mut chunk.ints[row],
                    ) {
                        Ok(()) => {
                            chunk.lines.push((a, b));
                            if self.rows + chunk.lines.len() >= stop_at_rows {
                                done.full = true;
                                i += 1;
                                break;
                            }
                        }
                        Err(reason) => rejected.push((i, reason)),
                    }
                }
                i += 1;
            }
            done.lines = i;
            done.rows += chunk.lines.len();
            self.commit(text, &chunk, format, ctx);
        }
        self.chunk = chunk;
        done
    }

    /// Appends the validated rows of `chunk` column by column.
    fn commit(
        &mut self,
        text: &str,
        chunk: &Chunk,
        format: &FlowFormat,
        ctx: &crate::decoder::RowCtx<'_>,
    ) {
        let rows = chunk.lines.len();
        if rows == 0 {
            return;
        }
        let n = format.len();
        let row0 = self.rows;
        let bytes = text.as_bytes();
        let (cap_rows, cap_bytes) = (self.last_rows, self.last_raw / 8);
        let is_null = |a: usize, b: usize| b == a + 1 && bytes[a] == b'-';
        let mut start_field = None;
        let mut end_field = None;
        let mut action_field = None;
        let mut account_field = None;
        for (k, step) in format.plan.iter().enumerate() {
            if step.field == UNKNOWN {
                continue;
            }
            let slot = self.cols.slot_of[step.field as usize] as usize;
            match step.ty {
                FlowType::Str => {
                    match step.role {
                        Role::Action => action_field = Some(k),
                        Role::Account => account_field = Some(k),
                        _ => {}
                    }
                    let last = self.cols.str_bytes[slot];
                    let bytes_hint = if last > 0 { last + last / 8 } else { cap_bytes };
                    let c = column!(
                        self.cols.strs[slot],
                        row0,
                        StrCol::with_capacity(cap_rows, bytes_hint)
                    );
                    let mut r = 0;
                    while r < rows {
                        let m = (rows - r).min(64);
                        let mut bits = 0u64;
                        for i in 0..m {
                            let t = (r + i) * n + k;
                            let (a, b) = (chunk.starts[t], chunk.ends[t]);
                            let valid = !is_null(a, b);
                            if valid {
                                c.push_span_data(text, a, b);
                            } else {
                                c.push_null_offset();
                            }
                            bits |= u64::from(valid) << i;
                        }
                        c.validity.append_bits(bits, m);
                        r += m;
                    }
                }
                FlowType::Int32 => {
                    let c = column!(self.cols.i32s[slot], row0, PrimCol::with_capacity(cap_rows));
                    fill_ints(c, &chunk.ints, k, n, rows, |v| v as i32);
                }
                FlowType::Int64 => {
                    let c = column!(self.cols.i64s[slot], row0, PrimCol::with_capacity(cap_rows));
                    fill_ints(c, &chunk.ints, k, n, rows, |v| v);
                }
                FlowType::Time => {
                    match step.role {
                        Role::Start => start_field = Some(k),
                        Role::End => end_field = Some(k),
                        _ => {}
                    }
                    let c = column!(
                        self.cols.times[slot],
                        row0,
                        PrimCol::with_capacity(cap_rows)
                    );
                    fill_ints(c, &chunk.ints, k, n, rows, |v| v.saturating_mul(1_000_000));
                }
            }
        }
        // `status` from `action`.
        match action_field {
            Some(k) => {
                for t in (k..rows * n).step_by(n) {
                    self.status
                        .push_option(match &bytes[chunk.starts[t]..chunk.ends[t]] {
                            b"ACCEPT" => Some(status_word(true)),
                            b"REJECT" => Some(status_word(false)),
                            _ => None,
                        });
                }
            }
            None => self.status.push_nulls(rows),
        }
        // `time` is `start` unless a row lacks it.
        let int_of = |field: Option<usize>, r: usize| {
            field
                .map(|k| chunk.ints[r * n + k])
                .filter(|&v| v != NULL_INT)
        };
        if self.time_differs || (0..rows).any(|r| int_of(start_field, r).is_none()) {
            for r in 0..rows {
                let start = int_of(start_field, r);
                let fallback = if start.is_some() {
                    None
                } else {
                    int_of(end_field, r)
                        .map(|s| s.saturating_mul(1_000_000))
                        .or(ctx.fallback_time)
                };
                if start.is_none() && !self.time_differs {
                    self.time_differs = true;
                    self.time_fallback = vec![None; row0 + r];
                }
                if self.time_differs {
                    self.time_fallback.push(fallback);
                }
            }
        }
        // The envelope's account for rows without their own.
        if ctx.default_account.is_some() || self.uses_account_fallback {
            for r in 0..rows {
                let has_account = account_field
                    .is_some_and(|k| !is_null(chunk.starts[r * n + k], chunk.ends[r * n + k]));
                let fallback_account = if has_account {
                    None
                } else {
                    ctx.default_account
                };
                if fallback_account.is_some() && !self.uses_account_fallback {
                    self.uses_account_fallback = true;
                    self.account_fallback = vec![None; row0 + r];
                }
                if self.uses_account_fallback {
                    self.account_fallback
                        .push(fallback_account.map(str::to_string));
                }
            }
        }
        // Unknown fields, as a JSON object per row.
        if format.plan.iter().any(|s| s.field == UNKNOWN) {
            for r in 0..rows {
                let mut e = String::from("{");
                for (k, slot) in format.slots.iter().enumerate() {
                    let Slot::Unknown(name) = slot else {
                        continue;
                    };
                    let (a, b) = (chunk.starts[r * n + k], chunk.ends[r * n + k]);
                    if e.len() > 1 {
                        e.push(',');
                    }
                    e.push_str(&serde_json::Value::String(name.clone()).to_string());
                    e.push(':');
                    if is_null(a, b) {
                        e.push_str("null");
                    } else {
                        e.push_str(&serde_json::Value::String(text[a..b].to_string()).to_string());
                    }
                }
                e.push('}');
                self.extra.push((row0 + r, e));
            }
        }
        // `event_uid` and `raw`.
        let mut hex = [0u8; 32];
        for &(a, b) in &chunk.lines {
            let line = &text[a..b];
            self.event_uid
                .push(content_hash_into(line.as_bytes(), &mut hex));
            self.raw.push_span_data(text, a, b);
            self.raw.validity.push(true);
        }
        self.rows += rows;
    }

    /// Builds the batch and resets the builder.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let rows = std::mem::take(&mut self.rows);
        self.last_rows = rows.max(1024);
        self.last_raw = self.raw.value_bytes().max(1024 * 128);
        let all_fields = fields();
        let mut specific: Vec<ArrayRef> = Vec::with_capacity(FLOW_FIELDS.len() + 1);
        for (i, (_, ty, _)) in FLOW_FIELDS.iter().enumerate() {
            let slot = self.cols.slot_of[i] as usize;
            macro_rules! take {
                ($vec:expr, $finish:expr) => {
                    $vec[slot].take().map(|mut c| {
                        if c.len() < rows {
                            c.push_nulls(rows - c.len());
                        }
                        $finish(c)
                    })
                };
            }
            let column: Option<ArrayRef> = match ty {
                FlowType::Str => take!(self.cols.strs, |c: StrCol| {
                    self.cols.str_bytes[slot] = c.value_bytes();
                    c.finish(SourceKind::VpcFlow)
                })
                .transpose()?
                .map(|a| Arc::new(a) as ArrayRef),
                FlowType::Int32 => take!(self.cols.i32s, |c: PrimCol<Int32Type>| {
                    Arc::new(c.finish()) as ArrayRef
                }),
                FlowType::Int64 => take!(self.cols.i64s, |c: PrimCol<Int64Type>| {
                    Arc::new(c.finish()) as ArrayRef
                }),
                FlowType::Time => take!(self.cols.times, |c: PrimCol<TimestampMicrosecondType>| {
                    Arc::new(c.finish().with_timezone("UTC")) as ArrayRef
                }),
            };
            specific.push(match column {
                Some(c) => c,
                None => self.null_cache.get(all_fields[i].data_type(), rows),
            });
        }
        let extra: ArrayRef = if self.extra.is_empty() {
            self.null_cache.get(&DataType::Utf8, rows)
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
        let status = std::mem::replace(&mut self.status, StrCol::with_capacity(r, r * 7));
        let event_uid = std::mem::replace(&mut self.event_uid, StrCol::with_capacity(r, r * 32));
        let raw = std::mem::replace(&mut self.raw, StrCol::with_capacity(r, b + b / 8));
        let common = CommonArrays {
            time,
            actor_user: self.null_cache.get(&DataType::Utf8, rows),
            src_ip: specific[F_SRCADDR].clone(),
            dst_ip: specific[F_DSTADDR].clone(),
            account,
            region: specific[F_REGION].clone(),
            status: Arc::new(status.finish(SourceKind::VpcFlow)?),
            event_uid: Arc::new(event_uid.finish(SourceKind::VpcFlow)?),
            raw: Arc::new(raw.finish(SourceKind::VpcFlow)?),
        };
        assemble(SourceKind::VpcFlow, rows, common, specific)
    }
}

/// Appends field `k` of the `rows` rows of a chunk's parsed numbers `ints` (`n` per
/// row) to `c`, converted by `f`; [`NULL_INT`] is null.
#[inline(always)]
fn fill_ints<T: ArrowPrimitiveType>(
    c: &mut PrimCol<T>,
    ints: &[i64],
    k: usize,
    n: usize,
    rows: usize,
    f: impl Fn(i64) -> T::Native,
) {
    let mut r = 0;
    while r < rows {
        let m = (rows - r).min(64);
        let mut bits = 0u64;
        for i in 0..m {
            let v = ints[(r + i) * n + k];
            let valid = v != NULL_INT;
            c.values
                .push(if valid { f(v) } else { T::Native::default() });
            bits |= u64::from(valid) << i;
        }
        c.validity.append_bits(bits, m);
        r += m;
    }
}

/// The rejection reason of a record with `count` fields where `format` has another number.
fn count_mismatch(count: usize, format: &FlowFormat) -> String {
    format!(
        "record has {count} fields but {} has {}{}",
        format.origin,
        format.len(),
        if format.origin.starts_with("the default") {
            "; if this flow log uses a custom format, feed the file with its header line or pass --vpcflow-format"
        } else {
            ""
        }
    )
}

/// Checks the numeric fields of one record (token spans `starts`/`ends` into `bytes`) and
/// stores their values in `ints` ([`NULL_INT`] for `-`). The reason names the first bad
/// field.
#[inline]
fn validate(
    bytes: &[u8],
    format: &FlowFormat,
    starts: &[usize],
    ends: &[usize],
    ints: &mut [i64],
) -> std::result::Result<(), String> {
    for &(k, port) in &format.numeric {
        let (a, b) = (starts[k], ends[k]);
        let tok = &bytes[a..b];
        if tok == b"-" {
            ints[k] = NULL_INT;
            continue;
        }
        let name = || FLOW_FIELDS[format.plan[k].field as usize].0;
        let v = parse_uint_at(bytes, a, b).ok_or_else(|| {
            format!(
                "field {} (position {}) is {:?}, not a number",
                name(),
                k + 1,
                String::from_utf8_lossy(tok)
            )
        })?;
        if port && v > 65535 {
            return Err(format!(
                "field {} (position {}) is {v}, outside the port range 0-65535",
                name(),
                k + 1
            ));
        }
        ints[k] = v;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod legacy;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The bit-mask tokenizer agrees with a plain split on spaces, wherever the line
        /// sits in the text (chunks past the text's end are padded), for lines of up to
        /// several 64-byte chunks, single-spaced (the fast path) or not, and stores only
        /// as many spans as it is given room for.
        #[test]
        fn tokenize_matches_a_plain_split(
            before in "[ a-z\n]{0,70}",
            line in prop_oneof![
                "[ a-z0-9\\-:.\t\r]{0,200}",
                proptest::collection::vec("[a-z0-9\\-:.]{1,40}", 0..20).prop_map(|t| t.join(" ")),
            ],
            after in "[ a-z\n]{0,70}",
            room in 0usize..70,
        ) {
            let text = format!("{before}{line}{after}");
            let (a, b) = (before.len(), before.len() + line.len());
            let want: Vec<&str> = line.split(' ').filter(|t| !t.is_empty()).collect();
            let single = !line.is_empty()
                && !line.starts_with(' ')
                && !line.ends_with(' ')
                && !line.contains("  ");
            for fast in [false, true] {
                let mut starts = vec![usize::MAX; room];
                let mut ends = vec![usize::MAX; room];
                let count = if fast {
                    let count = tokenize_single_spaced(text.as_bytes(), a, b, &mut starts, &mut ends);
                    prop_assert_eq!(count.is_some(), single && room > 0);
                    match count {
                        Some(c) => c,
                        None => continue,
                    }
                } else {
                    tokenize(text.as_bytes(), a, b, &mut starts, &mut ends)
                };
                prop_assert_eq!(count, want.len());
                let got: Vec<&str> = starts
                    .iter()
                    .zip(&ends)
                    .take(count.min(room))
                    .map(|(&s, &e)| &text[s..e])
                    .collect();
                prop_assert_eq!(&got[..], &want[..count.min(room)]);
            }
            let mut starts = vec![usize::MAX; room];
            let mut ends = vec![usize::MAX; room];
            prop_assert_eq!(tokenize_any(text.as_bytes(), a, b, &mut starts, &mut ends), want.len());
        }
    }

    proptest! {
        /// The eight-bytes-at-a-time number parser agrees with the byte loop, on digits,
        /// near-digits (`/`, `:`, `\x30`-adjacent bytes) and anything, at any length and
        /// at the end of the text (where it cannot read ahead).
        #[test]
        fn parse_uint_at_matches_parse_uint(
            tok in prop_oneof![
                "[0-9]{1,20}",
                "[0-9/:]{1,17}",
                proptest::collection::vec(any::<u8>(), 1..20)
                    .prop_map(|v| String::from_utf8_lossy(&v).into_owned()),
            ],
            after in "[ 0-9a-z]{0,10}",
        ) {
            let text = format!("{tok}{after}");
            let got = parse_uint_at(text.as_bytes(), 0, tok.len());
            prop_assert_eq!(got, parse_uint(tok.as_bytes()), "{:?}", tok);
        }
    }

    /// What a builder did with a run of lines: rejected one (its index and reason) or
    /// produced a batch.
    #[derive(Debug, PartialEq)]
    enum Outcome {
        /// Section, line, reason.
        Rejected(usize, usize, String),
        Batch(RecordBatch),
    }

    /// How to append a run of lines in the differential test: the envelope context
    /// (account, time), whether to append line by line, the batch size at which to stop
    /// and build, and whether to build at the end of the run.
    type Run = ((Option<String>, Option<i64>), bool, usize, bool);

    fn run_strategy() -> impl Strategy<Value = Run> {
        (
            (
                prop::option::weighted(0.3, "[0-9]{12}"),
                prop::option::weighted(0.3, 0i64..2_000_000_000_000_000),
            ),
            any::<bool>(),
            prop_oneof![3 => 1usize..12, 1 => 60usize..200],
            any::<bool>(),
        )
    }

    proptest! {
        /// Validity bits appended 1 to 64 at a time, across word boundaries, read back
        /// as Arrow's null buffer: none while all are valid, else exactly the bits.
        #[test]
        fn validity_matches_a_list_of_bools(
            ops in prop::collection::vec((1usize..=64, any::<u64>(), 0u8..4), 0..40),
        ) {
            let mut v = Validity::with_capacity(10);
            let mut want = vec![];
            for (n, bits, kind) in ops {
                match kind {
                    0 => {
                        let bits = if n == 64 { bits } else { bits & ((1 << n) - 1) };
                        v.append_bits(bits, n);
                        want.extend((0..n).map(|i| bits >> i & 1 == 1));
                    }
                    1 => {
                        v.push(bits & 1 == 1);
                        want.push(bits & 1 == 1);
                    }
                    k => {
                        v.push_n(k == 2, n * 3);
                        want.extend(std::iter::repeat_n(k == 2, n * 3));
                    }
                }
            }
            let got: Option<Vec<bool>> = v.finish().map(|b| b.iter().collect());
            let want = want.iter().any(|&b| !b).then_some(want);
            prop_assert_eq!(got, want);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// Differential test of the block builder against the row-at-a-time builder it
        /// replaced (`legacy`): for random lines (valid and bad records, nulls, odd
        /// spacing, non-ASCII text), formats (default, custom, unknown fields), envelope
        /// contexts, batch sizes and line-by-line or block appends, both reject the same
        /// lines with the same reasons and build equal batches at the same points.
        #[test]
        fn block_builder_matches_the_row_builder(
            sections in prop::collection::vec(legacy::strategies::sections(), 1..3)
                .prop_map(|s| s.concat()),
            runs in prop::collection::vec(run_strategy(), 10),
        ) {
            let mut new = Builder::new();
            let mut old = legacy::LegacyBuilder::new();
            let (mut got, mut want) = (vec![], vec![]);
            for (s, ((header, run), ((account, time), one_by_one, stop, finish))) in
                sections.iter().zip(&runs).enumerate()
            {
                let format = header
                    .as_deref()
                    .and_then(|h| FlowFormat::from_header(h, 1)?.ok())
                    .unwrap_or_else(FlowFormat::default_v2);
                let ctx = crate::decoder::RowCtx {
                    default_account: account.as_deref(),
                    fallback_time: *time,
                };
                for (i, line) in run.iter().enumerate() {
                    match old.append(line, &format, &ctx) {
                        Err(reason) => want.push(Outcome::Rejected(s, i, reason)),
                        Ok(()) if old.len() >= *stop => {
                            want.push(Outcome::Batch(old.finish().unwrap()));
                        }
                        Ok(()) => {}
                    }
                }
                if *one_by_one {
                    for (i, line) in run.iter().enumerate() {
                        match new.append(line, &format, &ctx) {
                            Err(reason) => got.push(Outcome::Rejected(s, i, reason)),
                            Ok(()) if new.len() >= *stop => {
                                got.push(Outcome::Batch(new.finish().unwrap()));
                            }
                            Ok(()) => {}
                        }
                    }
                } else {
                    let text = run.join("\n");
                    let mut spans = vec![];
                    let mut at = 0;
                    for line in run {
                        spans.push((at, at + line.len()));
                        at += line.len() + 1;
                    }
                    let mut i = 0;
                    let mut rejected = vec![];
                    while i < spans.len() {
                        let done =
                            new.append_lines(&text, &spans[i..], &format, &ctx, *stop, &mut rejected);
                        prop_assert!(done.lines > 0);
                        for (j, reason) in rejected.drain(..) {
                            got.push(Outcome::Rejected(s, i + j, reason));
                        }
                        i += done.lines;
                        if done.full {
                            got.push(Outcome::Batch(new.finish().unwrap()));
                        }
                    }
                }
                if *finish && old.len() > 0 {
                    want.push(Outcome::Batch(old.finish().unwrap()));
                    got.push(Outcome::Batch(new.finish().unwrap()));
                }
            }
            if old.len() > 0 {
                want.push(Outcome::Batch(old.finish().unwrap()));
            }
            if new.len() > 0 {
                got.push(Outcome::Batch(new.finish().unwrap()));
            }
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
        // Found by the mixed-lines property test: a lone word is garbage, not a header.
        assert!(FlowFormat::from_header("end", 1).is_none());
        assert!(FlowFormat::from_header("  start ", 1).is_none());
        // Found again by it in CI: one field name among other words is garbage too.
        assert!(FlowFormat::from_header("end a", 1).is_none());
        assert!(FlowFormat::from_header("srcaddr end dstport x y z", 1).is_none());
        let nat = FlowFormat::from_header("instance_id interface_id srcaddr", 1)
            .unwrap()
            .unwrap();
        assert_eq!(nat.len(), 3);
        let odd = FlowFormat::from_header("version srcaddr brand-new-field", 1)
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
