//! The row-at-a-time flow record builder that [`super::Builder`] replaced, kept verbatim
//! as the oracle of the differential tests: the block decoder must produce exactly the
//! batches and rejection reasons this one does.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int32Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
    new_null_array,
};
use arrow::datatypes::DataType;

use super::{
    F_ACCOUNT, F_DSTADDR, F_REGION, F_SRCADDR, F_START, FLOW_FIELDS, FlowFormat, FlowType, Role,
    Slot, UNKNOWN, fields,
};
use crate::schema::{CommonArrays, assemble, content_hash_into, status_word};
use crate::{Result, SourceKind};

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
pub(crate) struct LegacyBuilder {
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

impl LegacyBuilder {
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

/// Random flow log text for the differential tests: records under several formats
/// (valid, with nulls, `NODATA`, numbers out of range, wrong field counts, odd spacing,
/// `\r` endings, non-ASCII text), header lines (documented, unknown and repeated
/// fields), blank and whitespace-only lines, and other text.
pub(crate) mod strategies {
    use proptest::prelude::*;

    use super::FLOW_FIELDS;

    /// A value for any field: mostly numbers (valid for every numeric field), some
    /// nulls, words, out-of-range and overlong numbers.
    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => "[0-9]{1,5}",
            1 => "6553[4-7]",
            1 => "(9223372036854775807|9223372036854775808|2147483648|4294967296)",
            2 => "[0-9]{6,12}",
            1 => "[0-9]{17,21}",
            2 => Just("-".to_string()),
            2 => "(ACCEPT|REJECT|OK|NODATA|SKIPDATA)",
            2 => "[a-z][a-z0-9.:\\-]{0,30}",
            1 => "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
            1 => "[a-zé\u{3000}\t0-9]{1,8}",
            1 => "[0-9a-f]{33,40}",
        ]
    }

    /// A value for a numeric field: mostly a valid one.
    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => "[0-9]{1,4}",
            1 => "1[0-9]{9}",
            1 => Just("-".to_string()),
            1 => token(),
        ]
    }

    /// A default-format (v2) record, usually valid.
    fn v2_record() -> impl Strategy<Value = String> {
        (
            "[0-9]{1,2}",
            prop_oneof![
                Just("123456789012".to_string()),
                Just("-".to_string()),
                token()
            ],
            "eni-[0-9a-f]{8,17}",
            prop::collection::vec(token(), 2),
            prop::collection::vec(number(), 7),
            prop_oneof![
                Just("ACCEPT OK".to_string()),
                Just("REJECT OK".to_string()),
                Just("- NODATA".to_string()),
                Just("- SKIPDATA".to_string()),
                (token(), token()).prop_map(|(a, b)| format!("{a} {b}")),
            ],
        )
            .prop_map(|(v, acct, eni, addrs, nums, tail)| {
                format!(
                    "{v} {acct} {eni} {} {} {tail}",
                    addrs.join(" "),
                    nums.join(" ")
                )
            })
    }

    /// A header naming `k` fields: documented ones (written with `-` or `_`), sometimes
    /// an unknown one, sometimes one twice.
    pub(crate) fn header() -> impl Strategy<Value = String> {
        (
            prop::sample::subsequence((0..FLOW_FIELDS.len()).collect::<Vec<_>>(), 2..26),
            any::<bool>(),
            0usize..4,
            any::<prop::sample::Index>(),
        )
            .prop_map(|(fields, underscores, extra, at)| {
                let mut names: Vec<String> = fields
                    .iter()
                    .map(|&f| {
                        let n = FLOW_FIELDS[f].0;
                        if underscores {
                            n.replace('-', "_")
                        } else {
                            n.to_string()
                        }
                    })
                    .collect();
                let i = at.index(names.len() + 1);
                match extra {
                    1 => names.insert(i, "brand-new-field".into()),
                    2 => {
                        let dup = names[at.index(names.len())].clone();
                        names.insert(i, dup);
                    }
                    _ => {}
                }
                names.join(" ")
            })
    }

    /// Any one line (without its line ending).
    pub(crate) fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            12 => v2_record(),
            6 => prop::collection::vec(prop_oneof![3 => number(), 1 => token()], 1..27)
                .prop_map(|t| t.join(" ")),
            2 => prop::collection::vec(token(), 1..16).prop_map(|t| t.join("  ")),
            2 => (v2_record(), "( |  |\t)").prop_map(|(r, s)| format!("{s}{r}")),
            2 => (v2_record(), "( |  |\r|\r\r| \r)").prop_map(|(r, s)| format!("{r}{s}")),
            2 => header(),
            1 => Just(super::super::DEFAULT_FORMAT.to_string()),
            1 => "( |\t|\u{3000}|\u{a0}){0,3}",
            1 => "[a-z ]{1,20}",
            1 => "[^\n{\\[]{0,40}",
        ]
    }

    /// A record of `n` fields of any kind, often valid for a custom format of `n` fields.
    fn fitted_record(n: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop_oneof![3 => number(), 1 => token()], n).prop_map(|t| t.join(" "))
    }

    /// Sections of a flow log: a header (`None`: none, the default format), then lines,
    /// many of them records with as many fields as the header names.
    pub(crate) fn sections() -> impl Strategy<Value = Vec<(Option<String>, Vec<String>)>> {
        let section = prop::option::weighted(0.5, header()).prop_flat_map(|h| {
            let n = h.as_deref().map_or(14, |h| h.split(' ').count());
            let lines = prop::collection::vec(
                prop_oneof![1 => fitted_record(n).boxed(), 1 => line().boxed()],
                0..25,
            );
            (Just(h), lines)
        });
        prop::collection::vec(section, 1..5)
    }

    /// Flow log text: `sections`' headers and lines, each ending with `\n`, after a
    /// first line that starts with a digit (so that a decoder hands the whole text to its
    /// text-block path at once).
    pub(crate) fn text() -> impl Strategy<Value = String> {
        (v2_record(), sections()).prop_map(|(first, sections)| {
            let mut text = format!("{first}\n");
            for (header, lines) in sections {
                for l in header.iter().chain(&lines) {
                    text.push_str(l);
                    text.push('\n');
                }
            }
            text
        })
    }
}
