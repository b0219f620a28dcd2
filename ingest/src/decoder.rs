//! The streaming decoder: bytes in, Arrow batches and dead letters out.
//!
//! One [`Decoder`] reads one input (already decompressed: see [`crate::input`]) in
//! bounded chunks and tells formats apart as it goes:
//!
//! - a JSON object whose first member is `"Records": [` (a CloudTrail S3 object) and a
//!   top-level JSON array are streamed element by element, so their size is not bounded
//!   by memory;
//! - other JSON values (envelopes, single events, pretty-printed documents) are parsed
//!   whole, up to [`DecoderConfig::max_record_bytes`];
//! - once a single-line JSON value followed by a newline has been seen, the input is
//!   treated as NDJSON and parsed line by line, so a malformed line costs only that line;
//! - any other line is a VPC flow log header or record.
//!
//! Decoded rows accumulate per source type and are handed to a [`Sink`] in a [`Flush`]
//! whenever a batch reaches [`DecoderConfig::batch_rows`] rows or
//! [`DecoderConfig::batch_bytes`] bytes, and at the end of the input. Every flush carries
//! a [`Checkpoint`]: how far into the input every record has been emitted (as a batch row
//! or a dead letter), which is what a streaming source may commit once the flush is
//! durable.

use std::io::Read;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::RecordBatch;
use simd_json::prelude::*;
use simd_json::tape::{Node, Tape, Value};

use crate::scan::{
    FirstKey, Scan, ValueScanner, array_element_spans, object_member_spans, peek_records, skip_ws,
};
use crate::vpcflow::FlowFormat;
use crate::{DeadLetter, Format, IngestError, Result, SourceKind};
use crate::{cloudtrail, falco, k8s, vpcflow};

/// How a [`Decoder`] behaves.
#[derive(Debug, Clone)]
pub struct DecoderConfig {
    /// Which formats to accept.
    pub format: Format,
    /// The VPC flow log format of header-less input (default: version 2).
    pub flow_format: Option<FlowFormat>,
    /// Rows per batch (per source type) before a flush.
    pub batch_rows: usize,
    /// Bytes of raw records per batch before a flush.
    pub batch_bytes: usize,
    /// Largest single record or non-streamed JSON document; larger ones are dead-lettered
    /// (with their first bytes) and skipped in constant memory.
    pub max_record_bytes: usize,
    /// Bytes requested from the reader at a time.
    pub read_chunk: usize,
    /// A one-line CloudTrail S3 object is parsed in slices of about this many bytes
    /// (small enough for the parsed tape to stay in cache).
    pub records_slice_bytes: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            format: Format::Auto,
            flow_format: None,
            batch_rows: 8192,
            batch_bytes: 16 << 20,
            max_record_bytes: 64 << 20,
            read_chunk: 1 << 20,
            records_slice_bytes: 128 << 10,
        }
    }
}

/// How far an input has been decoded. Every record that starts before `offset` has been
/// emitted, in this flush or an earlier one, as a row or a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The input's display name.
    pub source: Arc<str>,
    /// Decompressed bytes of the input fully processed.
    pub offset: u64,
    /// Events emitted so far from this input (all flushes).
    pub events: u64,
    /// Records rejected so far from this input.
    pub rejected: u64,
    /// Whether the input has been read to its end.
    pub complete: bool,
}

/// One Arrow batch of one source type.
#[derive(Debug, Clone)]
pub struct EventBatch {
    /// The source type; `batch.schema()` is [`crate::schema::schema`] of it.
    pub kind: SourceKind,
    /// The rows.
    pub batch: RecordBatch,
}

/// The batches emitted together, and the checkpoint they complete.
#[derive(Debug, Clone)]
pub struct Flush {
    /// At most one batch per source type, only non-empty ones.
    pub batches: Vec<EventBatch>,
    /// Where the input stands once these batches are durable.
    pub checkpoint: Checkpoint,
}

/// Receives what a [`Decoder`] produces.
///
/// ```
/// use vigil_ingest::{DeadLetter, Flush, Sink};
///
/// /// Counts rows and rejections.
/// #[derive(Default)]
/// struct Count { rows: usize, rejected: usize }
///
/// impl Sink for Count {
///     fn flush(&mut self, flush: Flush) -> vigil_ingest::Result<()> {
///         self.rows += flush.batches.iter().map(|b| b.batch.num_rows()).sum::<usize>();
///         Ok(())
///     }
///     fn dead_letter(&mut self, _dl: DeadLetter) -> vigil_ingest::Result<()> {
///         self.rejected += 1;
///         Ok(())
///     }
/// }
///
/// let mut sink = Count::default();
/// let input = br#"{"Records":[{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers"}]}
/// 2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK
/// not a log line"#;
/// vigil_ingest::decode_bytes(input, "example", &Default::default(), &mut sink)?;
/// assert_eq!((sink.rows, sink.rejected), (2, 1));
/// # Ok::<(), vigil_ingest::IngestError>(())
/// ```
pub trait Sink {
    /// Takes a flush of batches; an error stops decoding.
    fn flush(&mut self, flush: Flush) -> Result<()>;
    /// Takes one rejected record; an error stops decoding.
    fn dead_letter(&mut self, dl: DeadLetter) -> Result<()>;
}

/// Counts of what one input produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Events per source type, indexed by [`SourceKind::index`].
    pub events: [u64; 4],
    /// Records dead-lettered.
    pub rejected: u64,
    /// CloudWatch Logs control messages skipped (health checks, not data).
    pub control_messages: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
}

impl DecodeStats {
    /// Adds another input's counts to these.
    pub fn add(&mut self, other: &DecodeStats) {
        for (a, b) in self.events.iter_mut().zip(other.events) {
            *a += b;
        }
        self.rejected += other.rejected;
        self.control_messages += other.control_messages;
        self.bytes += other.bytes;
    }

    /// Total events of all source types.
    pub fn total_events(&self) -> u64 {
        self.events.iter().sum()
    }
}

/// Defaults an envelope gives the events inside it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowCtx<'a> {
    /// Account id to use when the event has none (CloudWatch Logs `owner`).
    pub default_account: Option<&'a str>,
    /// Event time to use when the event has none (CloudWatch Logs `timestamp`), in µs.
    pub fallback_time: Option<i64>,
}

/// What a JSON value is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    Auto,
    CloudTrail,
}

/// Decodes all of `input` (uncompressed bytes). See [`Decoder`].
pub fn decode_bytes(
    input: &[u8],
    source: &str,
    cfg: &DecoderConfig,
    sink: &mut dyn Sink,
) -> Result<DecodeStats> {
    Decoder::from_reader(input, source, cfg, sink).run()
}

/// Decodes one input read from `reader`. See the [module docs](self).
pub struct Decoder<'a, R: Read> {
    reader: R,
    buf: Vec<u8>,
    len: usize,
    pos: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// Lines counted up to absolute offset `line_abs`: `line_no` is the line there.
    line_abs: u64,
    line_no: u64,
    mode: Mode,
    parser: Parser,
    core: Core<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Undetermined,
    Ndjson,
    Document,
}

#[derive(Debug)]
enum State {
    Top,
    /// Scanning a top-level JSON value that starts at an absolute offset.
    TopValue {
        start: u64,
        scanner: ValueScanner,
        resume: u64,
    },
    /// Inside the `Records` array of a one-line CloudTrail S3 object, decoded in slices
    /// (see `Decoder::records_line`).
    RecordsLine,
    /// Inside a streamed array (`records`: the `Records` of a CloudTrail object).
    Elements {
        records: bool,
    },
    Element {
        records: bool,
        start: u64,
        scanner: ValueScanner,
        resume: u64,
    },
    /// After a `Records` array: the rest of the enclosing object.
    OuterRest {
        scanner: ValueScanner,
        resume: u64,
    },
    /// Discarding an oversized value, then continuing with `then`.
    SkipValue {
        scanner: ValueScanner,
        resume: u64,
        then: Box<State>,
    },
    /// Discarding an oversized line.
    SkipLine,
}

/// Everything but the input buffer, so that records borrowed from the buffer can be
/// processed while these are mutated.
struct Core<'a> {
    cfg: &'a DecoderConfig,
    source: Arc<str>,
    sink: &'a mut dyn Sink,
    ct: cloudtrail::Builder,
    vf: vpcflow::Builder,
    k8s: k8s::Builder,
    falco: falco::Builder,
    flow_format: FlowFormat,
    envelope_flow_format: FlowFormat,
    warned_unknown_fields: bool,
    stats: DecodeStats,
    /// Record lines of the text block being decoded, waiting for the flow builder.
    flow_run: FlowRun,
    /// Lines the flow builder rejected (reused).
    flow_rejected: Vec<(usize, String)>,
}

/// A run of VPC flow record lines of one text block, all under the current format.
#[derive(Default)]
struct FlowRun {
    /// Each line's span in the block, without its line ending.
    spans: Vec<(usize, usize)>,
    /// Each line's number, and where in the block the next line starts.
    ends: Vec<(u64, usize)>,
}

impl FlowRun {
    /// Lines collected before they are handed to the builder (so that they are still in
    /// cache when it reads them).
    const MAX_LINES: usize = 1024;

    fn clear(&mut self) {
        self.spans.clear();
        self.ends.clear();
    }
}

struct Parser {
    scratch: Vec<u8>,
    buffers: simd_json::Buffers,
    nodes: Vec<Node<'static>>,
}

impl Parser {
    fn new() -> Self {
        Self {
            scratch: Vec::new(),
            buffers: simd_json::Buffers::default(),
            nodes: Vec::new(),
        }
    }

    /// Parses a copy of `bytes`.
    fn parse(&mut self, bytes: &[u8]) -> std::result::Result<Tape<'_>, simd_json::Error> {
        let Parser {
            scratch,
            buffers,
            nodes,
        } = self;
        scratch.clear();
        scratch.extend_from_slice(bytes);
        scratch.resize(bytes.len() + simd_json::INPUT_PADDING, 0);
        let mut tape = Tape(std::mem::take(nodes)).reset();
        simd_json::fill_tape_padded(scratch, bytes.len(), buffers, &mut tape)?;
        Ok(tape)
    }

    /// Parses `[` + `body` + `]`; also returns simd-json's structural indexes (offsets of
    /// every `{}[]:,` and value start, counting the added `[` as offset 0).
    fn parse_array_of(
        &mut self,
        body: &[u8],
    ) -> std::result::Result<(Tape<'_>, &[u32]), simd_json::Error> {
        let Parser {
            scratch,
            buffers,
            nodes,
        } = self;
        scratch.clear();
        scratch.push(b'[');
        scratch.extend_from_slice(body);
        scratch.push(b']');
        let len = scratch.len();
        scratch.resize(len + simd_json::INPUT_PADDING, 0);
        let mut tape = Tape(std::mem::take(nodes)).reset();
        simd_json::fill_tape_padded(scratch, len, buffers, &mut tape)?;
        Ok((tape, buffers.structural_indexes()))
    }
}

/// Spans of the elements of the JSON array `[` + `body` + `]`, found from simd-json's
/// structural indexes (no second pass over the bytes), as offsets in that array. `None`
/// unless every element is an object.
fn array_object_spans(body: &[u8], structurals: &[u32]) -> Option<Vec<Range<usize>>> {
    // Offsets count the `[` added before `body`: the first structural is that `[`, the
    // last the `]` added after it; in between, offset `i` is `body[i - 1]`.
    let (&first, rest) = structurals.split_first()?;
    let (&last, inner) = rest.split_last()?;
    if first != 0 || last as usize != body.len() + 1 {
        return None;
    }
    let mut spans = Vec::with_capacity(inner.len() / 64);
    let mut depth = 1u32;
    let mut elem_start = 0usize;
    for &i in inner {
        let i = i as usize;
        let c = *body.get(i.wrapping_sub(1))?;
        match c {
            b'{' | b'[' => {
                if depth == 1 {
                    if c != b'{' {
                        return None;
                    }
                    elem_start = i;
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 1 {
                    spans.push(elem_start..i + 1);
                } else if depth == 0 {
                    return None;
                }
            }
            b',' | b':' => {}
            _ if depth == 1 => return None,
            _ => {}
        }
    }
    (depth == 1).then_some(spans)
}

/// A record found inside an envelope, decoded after the envelope's tape is released.
enum SubDoc {
    /// A span of the envelope's own bytes.
    Span(Range<usize>, Hint, String),
    /// A decoded JSON string (CloudWatch Logs `message`, lookup-events `CloudTrailEvent`).
    Text(String, Hint, String),
}

/// What to do with a parsed JSON value.
enum Plan {
    Done,
    Reject(String),
    Sub {
        docs: Vec<SubDoc>,
        account: Option<String>,
        times: Vec<Option<i64>>,
    },
}

impl<'a, R: Read> Decoder<'a, R> {
    /// A decoder reading from `reader`; `source` names the input in checkpoints and
    /// dead letters.
    pub fn from_reader(
        reader: R,
        source: &str,
        cfg: &'a DecoderConfig,
        sink: &'a mut dyn Sink,
    ) -> Self {
        let flow_format = cfg
            .flow_format
            .clone()
            .unwrap_or_else(FlowFormat::default_v2);
        Self {
            reader,
            buf: Vec::new(),
            len: 0,
            pos: 0,
            base: 0,
            eof: false,
            line_abs: 0,
            line_no: 1,
            mode: Mode::Undetermined,
            parser: Parser::new(),
            core: Core {
                cfg,
                source: Arc::from(source),
                sink,
                ct: cloudtrail::Builder::new(),
                vf: vpcflow::Builder::new(),
                k8s: k8s::Builder::new(),
                falco: falco::Builder::new(),
                envelope_flow_format: flow_format.clone(),
                flow_format,
                warned_unknown_fields: false,
                stats: DecodeStats::default(),
                flow_run: FlowRun::default(),
                flow_rejected: Vec::new(),
            },
        }
    }

    fn abs(&self, rel: usize) -> u64 {
        self.base + rel as u64
    }

    fn rel(&self, abs: u64) -> usize {
        (abs - self.base) as usize
    }

    /// 1-based line number of absolute offset `abs` (monotonic callers only).
    fn line_at(&mut self, abs: u64) -> u64 {
        if abs > self.line_abs {
            let from = self.rel(self.line_abs.max(self.base));
            let to = self.rel(abs).min(self.len);
            if from < to {
                self.line_no += memchr::memchr_iter(b'\n', &self.buf[from..to]).count() as u64;
            }
            self.line_abs = abs;
        }
        self.line_no
    }

    /// Reads more input, first dropping bytes before `keep` (absolute). Returns `false` at
    /// the end of the input.
    fn fill(&mut self, keep: u64) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let keep_rel = self.rel(keep.min(self.abs(self.len)));
        if keep_rel > 0 {
            let keep_abs = self.abs(keep_rel);
            self.line_at(keep_abs);
            self.buf.copy_within(keep_rel..self.len, 0);
            self.len -= keep_rel;
            self.pos -= keep_rel.min(self.pos);
            self.base += keep_rel as u64;
        }
        let chunk = self.core.cfg.read_chunk.max(4096);
        if self.buf.len() < self.len + chunk {
            self.buf.resize(self.len + chunk, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.len..self.len + chunk]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.len += n;
                    self.core.stats.bytes += n as u64;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof
                            | std::io::ErrorKind::InvalidData
                            | std::io::ErrorKind::InvalidInput
                    ) =>
                {
                    // A truncated or corrupt compressed stream: what was decoded so far
                    // stands; the loss is reported, the run goes on.
                    self.eof = true;
                    let at = self.abs(self.len);
                    let line = self.line_at(at);
                    self.core.reject_at(
                        line,
                        at,
                        format!(
                            "input is truncated or corrupt after {at} decompressed bytes ({e}); the rest of this input could not be read"
                        ),
                        b"",
                    )?;
                    return Ok(false);
                }
                Err(source) => {
                    return Err(IngestError::Read {
                        source_name: self.core.source.to_string(),
                        offset: self.abs(self.len),
                        source,
                    });
                }
            }
        }
    }

    /// Decodes the whole input, flushing as it goes. Returns the counts.
    pub fn run(mut self) -> Result<DecodeStats> {
        let mut state = State::Top;
        loop {
            state = match state {
                State::Top => {
                    if self.pos == 0
                        && self.base == 0
                        && self.len >= 3
                        && self.buf[..3] == [0xEF, 0xBB, 0xBF]
                    {
                        self.pos = 3;
                    }
                    self.pos = skip_ws(&self.buf[..self.len], self.pos);
                    if self.pos >= self.len {
                        if self.fill(self.abs(self.pos))? {
                            State::Top
                        } else {
                            break;
                        }
                    } else {
                        match self.buf[self.pos] {
                            b'{' => match peek_records(&self.buf[..self.len], self.pos) {
                                FirstKey::RecordsArray(after) => {
                                    self.pos = skip_ws(&self.buf[..self.len], after);
                                    State::RecordsLine
                                }
                                FirstKey::NeedMore if !self.eof => {
                                    self.fill(self.abs(self.pos))?;
                                    State::Top
                                }
                                _ if self.mode == Mode::Ndjson => self.line()?,
                                _ => {
                                    let start = self.abs(self.pos);
                                    State::TopValue {
                                        start,
                                        scanner: ValueScanner::new(),
                                        resume: start,
                                    }
                                }
                            },
                            b'[' => {
                                self.pos += 1;
                                State::Elements { records: false }
                            }
                            _ => self.line()?,
                        }
                    }
                }
                State::RecordsLine => self.records_line()?,
                State::TopValue {
                    start,
                    mut scanner,
                    resume,
                } => match scanner.scan(&self.buf[..self.len], self.rel(resume)) {
                    Scan::Done(end) => {
                        let span = self.rel(start)..end;
                        if self.mode == Mode::Undetermined {
                            let one_line = memchr::memchr(b'\n', &self.buf[span.clone()]).is_none();
                            self.mode = if one_line {
                                Mode::Ndjson
                            } else {
                                Mode::Document
                            };
                        }
                        let line = self.line_at(start);
                        self.core.json(
                            &mut self.parser,
                            &self.buf[span],
                            start,
                            line,
                            Hint::Auto,
                        )?;
                        self.pos = end;
                        State::Top
                    }
                    Scan::NeedMore(at) => self.need_more(
                        State::TopValue {
                            start,
                            scanner,
                            resume: self.abs(at),
                        },
                        start,
                    )?,
                    Scan::Invalid(at) => {
                        self.pos = at;
                        self.line()?
                    }
                },
                State::Elements { records } => {
                    let mut i = self.pos;
                    while i < self.len && matches!(self.buf[i], b' ' | b'\t' | b'\r' | b'\n' | b',')
                    {
                        i += 1;
                    }
                    self.pos = i;
                    if i >= self.len {
                        if self.fill(self.abs(self.pos))? {
                            State::Elements { records }
                        } else {
                            let at = self.abs(self.pos);
                            let line = self.line_at(at);
                            self.core.reject_at(
                                line,
                                at,
                                "input ends inside a JSON array (missing `]`)".into(),
                                b"",
                            )?;
                            break;
                        }
                    } else if self.buf[i] == b']' {
                        self.pos = i + 1;
                        if records {
                            let start = self.abs(self.pos);
                            State::OuterRest {
                                scanner: ValueScanner::inside(1),
                                resume: start,
                            }
                        } else {
                            State::Top
                        }
                    } else {
                        let start = self.abs(i);
                        State::Element {
                            records,
                            start,
                            scanner: ValueScanner::new(),
                            resume: start,
                        }
                    }
                }
                State::Element {
                    records,
                    start,
                    mut scanner,
                    resume,
                } => match scanner.scan(&self.buf[..self.len], self.rel(resume)) {
                    Scan::Done(end) => {
                        let hint = if records {
                            Hint::CloudTrail
                        } else {
                            Hint::Auto
                        };
                        let span = self.rel(start)..end;
                        let line = self.line_at(start);
                        self.core
                            .json(&mut self.parser, &self.buf[span], start, line, hint)?;
                        self.pos = end;
                        State::Elements { records }
                    }
                    Scan::NeedMore(at) => self.need_more(
                        State::Element {
                            records,
                            start,
                            scanner,
                            resume: self.abs(at),
                        },
                        start,
                    )?,
                    Scan::Invalid(at) => {
                        let line = self.line_at(start);
                        let bad = self.buf[at];
                        self.core.reject_at(
                            line,
                            self.abs(at),
                            format!("unexpected {:?} inside a JSON array", bad as char),
                            &self.buf[at..at + 1],
                        )?;
                        self.pos = at + 1;
                        State::Elements { records }
                    }
                },
                State::OuterRest {
                    mut scanner,
                    resume,
                } => match scanner.scan(&self.buf[..self.len], self.rel(resume)) {
                    Scan::Done(end) => {
                        self.pos = end;
                        State::Top
                    }
                    Scan::NeedMore(at) => {
                        let at_abs = self.abs(at);
                        self.pos = at;
                        if self.fill(at_abs)? {
                            State::OuterRest {
                                scanner,
                                resume: at_abs,
                            }
                        } else {
                            let line = self.line_at(at_abs);
                            self.core.reject_at(
                                line,
                                at_abs,
                                "input ends inside the object holding `Records` (missing `}`)"
                                    .into(),
                                b"",
                            )?;
                            break;
                        }
                    }
                    Scan::Invalid(at) => {
                        self.pos = at + 1;
                        State::Top
                    }
                },
                State::SkipValue {
                    mut scanner,
                    resume,
                    then,
                } => match scanner.scan(&self.buf[..self.len], self.rel(resume)) {
                    Scan::Done(end) | Scan::Invalid(end) => {
                        self.pos = end;
                        *then
                    }
                    Scan::NeedMore(at) => {
                        self.pos = at;
                        let at_abs = self.abs(at);
                        if self.fill(at_abs)? {
                            State::SkipValue {
                                scanner,
                                resume: at_abs,
                                then,
                            }
                        } else {
                            break;
                        }
                    }
                },
                State::SkipLine => match memchr::memchr(b'\n', &self.buf[self.pos..self.len]) {
                    Some(k) => {
                        self.pos += k + 1;
                        State::Top
                    }
                    None => {
                        self.pos = self.len;
                        if self.fill(self.abs(self.pos))? {
                            State::SkipLine
                        } else {
                            break;
                        }
                    }
                },
            };
        }
        let end = self.abs(self.len);
        self.core.flush(end, true)?;
        Ok(self.core.stats)
    }

    /// The `Records` array of a CloudTrail S3 object as AWS writes it, on one line: cut
    /// it at `},{` into slices of about `records_slice_bytes` and let simd-json parse each
    /// slice as an array (a cut that is not between two elements fails to parse and is
    /// widened to the next `},{`). No byte-by-byte scan, and the buffer holds one slice,
    /// not the whole object. `pos` is always at an element boundary, so whenever the
    /// input does not fit this shape (pretty-printed, truncated, malformed) decoding
    /// continues with the element-by-element scanner from there, which reports what is
    /// wrong.
    fn records_line(&mut self) -> Result<State> {
        let slice = self.core.cfg.records_slice_bytes.max(1);
        let max = self.core.cfg.max_record_bytes;
        let finder = memchr::memmem::Finder::new(b"},{");
        loop {
            let nl = memchr::memchr(b'\n', &self.buf[self.pos..self.len]).map(|k| self.pos + k);
            let limit = nl.unwrap_or(self.len);
            let at_end = nl.is_some() || self.eof;
            let line = self.line_at(self.abs(self.pos));
            while self.pos + slice < limit {
                let mut from = self.pos + slice;
                let mut taken = None;
                while let Some(k) = finder.find(&self.buf[from..limit]) {
                    let cut = from + k + 1;
                    let doc = &self.buf[..self.len];
                    if self.core.records_slice(
                        &mut self.parser,
                        doc,
                        self.pos..cut,
                        self.base,
                        line,
                    )? {
                        taken = Some(cut);
                        break;
                    }
                    if cut - self.pos > max + slice {
                        return Ok(State::Elements { records: true });
                    }
                    from = cut + 1;
                }
                match taken {
                    Some(cut) => self.pos = skip_ws(&self.buf[..limit], cut + 1),
                    None => break,
                }
            }
            if at_end {
                // The rest is the last elements, then `]` and `}`.
                let mut end = limit;
                while end > self.pos && self.buf[end - 1].is_ascii_whitespace() {
                    end -= 1;
                }
                if end == self.pos || self.buf[end - 1] != b'}' {
                    return Ok(State::Elements { records: true });
                }
                end -= 1;
                while end > self.pos && self.buf[end - 1].is_ascii_whitespace() {
                    end -= 1;
                }
                if end == self.pos || self.buf[end - 1] != b']' {
                    return Ok(State::Elements { records: true });
                }
                let body_end = end - 1;
                if body_end > self.pos {
                    let doc = &self.buf[..self.len];
                    if !self.core.records_slice(
                        &mut self.parser,
                        doc,
                        self.pos..body_end,
                        self.base,
                        line,
                    )? {
                        return Ok(State::Elements { records: true });
                    }
                }
                self.pos = limit;
                let done = self.abs(self.pos);
                self.core.maybe_flush(done)?;
                return Ok(State::Top);
            }
            if self.len - self.pos > max + slice {
                return Ok(State::Elements { records: true });
            }
            let keep = self.abs(self.pos);
            self.fill(keep)?;
        }
    }

    /// The bytes ran out while scanning a value that started at `start`: read more, or
    /// report it as unterminated (end of input) or oversized.
    fn need_more(&mut self, waiting: State, start: u64) -> Result<State> {
        let held = self.abs(self.len) - start;
        if held as usize > self.core.cfg.max_record_bytes {
            let s = self.rel(start);
            let line = self.line_at(start);
            let max = self.core.cfg.max_record_bytes;
            self.core.reject_at(
                line,
                start,
                format!("JSON value larger than the maximum record size ({max} bytes); skipped (raise --max-record-bytes to keep it)"),
                &self.buf[s..self.len],
            )?;
            let (scanner, resume, then) = match waiting {
                State::TopValue {
                    scanner, resume, ..
                } => (scanner, resume, State::Top),
                State::Element {
                    records,
                    scanner,
                    resume,
                    ..
                } => (scanner, resume, State::Elements { records }),
                other => return Ok(other),
            };
            self.pos = self.rel(resume);
            return Ok(State::SkipValue {
                scanner,
                resume,
                then: Box::new(then),
            });
        }
        if self.fill(start)? {
            return Ok(waiting);
        }
        let s = self.rel(start);
        let line = self.line_at(start);
        self.core.reject_at(
            line,
            start,
            "input ends inside this JSON value (truncated or malformed)".into(),
            &self.buf[s..self.len],
        )?;
        self.pos = self.len;
        Ok(State::Top)
    }

    /// Takes the line at `pos` (a text record, or a JSON value in NDJSON mode). A run of
    /// complete text lines (flow log records) is handed over as one block.
    fn line(&mut self) -> Result<State> {
        if !matches!(self.buf.get(self.pos), Some(b'{' | b'['))
            && let Some(k) = memchr::memrchr(b'\n', &self.buf[self.pos..self.len])
        {
            {
                let start = self.pos;
                let end = start + k + 1;
                let abs = self.abs(start);
                let line = self.line_at(abs);
                let (used, lines) = self.core.text_block(&self.buf[start..end], abs, line)?;
                if used > 0 {
                    self.pos = start + used;
                    self.line_abs = self.abs(self.pos);
                    self.line_no = line + lines;
                    return Ok(State::Top);
                }
            }
        }
        loop {
            match memchr::memchr(b'\n', &self.buf[self.pos..self.len]) {
                Some(k) => {
                    let start = self.pos;
                    let end = self.pos + k;
                    self.pos = end + 1;
                    self.one_line(start, end)?;
                    // The line's own newline: keep the line cursor just past it without
                    // counting again.
                    if self.line_abs == self.abs(start) {
                        self.line_abs = self.abs(end + 1);
                        self.line_no += 1;
                    }
                    return Ok(State::Top);
                }
                None if self.eof => {
                    let start = self.pos;
                    self.pos = self.len;
                    self.one_line(start, self.len)?;
                    return Ok(State::Top);
                }
                None => {
                    let held = self.len - self.pos;
                    if held > self.core.cfg.max_record_bytes {
                        let start = self.abs(self.pos);
                        let line = self.line_at(start);
                        let max = self.core.cfg.max_record_bytes;
                        self.core.reject_at(
                            line,
                            start,
                            format!(
                                "line longer than the maximum record size ({max} bytes); skipped"
                            ),
                            &self.buf[self.pos..self.len],
                        )?;
                        return Ok(State::SkipLine);
                    }
                    let keep = self.abs(self.pos);
                    self.fill(keep)?;
                }
            }
        }
    }

    fn one_line(&mut self, start: usize, mut end: usize) -> Result<()> {
        if end > start && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        let abs = self.abs(start);
        let line = self.line_at(abs);
        let bytes = &self.buf[start..end];
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(());
        }
        if matches!(bytes[0], b'{' | b'[') {
            return self
                .core
                .json(&mut self.parser, bytes, abs, line, Hint::Auto);
        }
        self.core
            .text_line(bytes, abs, line, RowCtx::default(), false)
    }
}

impl Core<'_> {
    fn reject_at(&mut self, line: u64, offset: u64, reason: String, record: &[u8]) -> Result<()> {
        self.stats.rejected += 1;
        let max = self.cfg.max_record_bytes;
        let truncated = record.len() > max;
        let record = String::from_utf8_lossy(&record[..record.len().min(max)]).into_owned();
        self.sink.dead_letter(DeadLetter {
            source: self.source.to_string(),
            line,
            offset,
            reason,
            record,
            truncated,
        })
    }

    /// Total rows and raw bytes pending in the builders.
    fn pending(&self) -> (usize, usize) {
        let rows = self
            .ct
            .len()
            .max(self.vf.len())
            .max(self.k8s.len())
            .max(self.falco.len());
        let bytes = self.ct.raw_bytes()
            + self.vf.raw_bytes()
            + self.k8s.raw_bytes()
            + self.falco.raw_bytes();
        (rows, bytes)
    }

    fn maybe_flush(&mut self, offset: u64) -> Result<()> {
        let (rows, bytes) = self.pending();
        if rows >= self.cfg.batch_rows || bytes >= self.cfg.batch_bytes {
            self.flush(offset, false)?;
        }
        Ok(())
    }

    fn flush(&mut self, offset: u64, complete: bool) -> Result<()> {
        let mut batches = Vec::new();
        if self.ct.len() > 0 {
            batches.push(EventBatch {
                kind: SourceKind::CloudTrail,
                batch: self.ct.finish()?,
            });
        }
        if self.vf.len() > 0 {
            batches.push(EventBatch {
                kind: SourceKind::VpcFlow,
                batch: self.vf.finish()?,
            });
        }
        if self.k8s.len() > 0 {
            batches.push(EventBatch {
                kind: SourceKind::K8sAudit,
                batch: self.k8s.finish()?,
            });
        }
        if self.falco.len() > 0 {
            batches.push(EventBatch {
                kind: SourceKind::Falco,
                batch: self.falco.finish()?,
            });
        }
        if batches.is_empty() && !complete {
            return Ok(());
        }
        let checkpoint = Checkpoint {
            source: self.source.clone(),
            offset,
            events: self.stats.total_events(),
            rejected: self.stats.rejected,
            complete,
        };
        self.sink.flush(Flush {
            batches,
            checkpoint,
        })
    }

    /// Parses and appends the elements in `doc[part]` (a run of whole array elements).
    /// `false`, having appended nothing, when the run does not parse as objects.
    fn records_slice(
        &mut self,
        parser: &mut Parser,
        doc: &[u8],
        part: Range<usize>,
        offset: u64,
        line: u64,
    ) -> Result<bool> {
        let body = &doc[part.clone()];
        let mut redo: Vec<Range<usize>> = Vec::new();
        {
            let Ok((tape, structurals)) = parser.parse_array_of(body) else {
                return Ok(false);
            };
            let spans = array_object_spans(body, structurals);
            let records = tape.as_value().into_array();
            let (Some(spans), Some(records)) = (spans, records) else {
                parser.nodes = tape.reset().0;
                return Ok(false);
            };
            if spans.len() != records.len() {
                parser.nodes = tape.reset().0;
                return Ok(false);
            }
            let max = self.cfg.max_record_bytes;
            for (el, span) in records.iter().zip(spans) {
                // Spans count the added `[`.
                let span = part.start + span.start - 1..part.start + span.end - 1;
                let at = offset + span.start as u64;
                if span.len() > max {
                    self.reject_at(
                        line,
                        at,
                        format!("JSON value larger than the maximum record size ({max} bytes); skipped (raise --max-record-bytes to keep it)"),
                        &doc[span],
                    )?;
                    continue;
                }
                match plan_value(
                    el,
                    &doc[span.clone()],
                    Hint::CloudTrail,
                    RowCtx::default(),
                    self,
                ) {
                    Plan::Done => {}
                    Plan::Reject(reason) => self.reject_at(line, at, reason, &doc[span.clone()])?,
                    Plan::Sub { .. } => redo.push(span.clone()),
                }
                if redo.is_empty() {
                    self.maybe_flush(offset + span.end as u64)?;
                }
            }
            parser.nodes = tape.reset().0;
        }
        for span in redo {
            self.json_in(
                parser,
                &doc[span.clone()],
                offset + span.start as u64,
                line,
                Hint::CloudTrail,
                RowCtx::default(),
                "",
                0,
            )?;
        }
        Ok(true)
    }

    /// Decodes one JSON value (`bytes`, starting at absolute `offset`).
    fn json(
        &mut self,
        parser: &mut Parser,
        bytes: &[u8],
        offset: u64,
        line: u64,
        hint: Hint,
    ) -> Result<()> {
        self.json_in(parser, bytes, offset, line, hint, RowCtx::default(), "", 0)?;
        self.maybe_flush(offset + bytes.len() as u64)
    }

    #[allow(clippy::too_many_arguments)]
    fn json_in(
        &mut self,
        parser: &mut Parser,
        bytes: &[u8],
        offset: u64,
        line: u64,
        hint: Hint,
        ctx: RowCtx<'_>,
        context: &str,
        depth: u32,
    ) -> Result<()> {
        let plan = {
            let tape = match parser.parse(bytes) {
                Ok(t) => t,
                Err(e) => {
                    let reason = format!("{context}invalid JSON: {e}");
                    return self.reject_at(line, offset, reason, bytes);
                }
            };
            let plan = plan_value(tape.as_value(), bytes, hint, ctx, self);
            parser.nodes = tape.reset().0;
            plan
        };
        match plan {
            Plan::Done => Ok(()),
            Plan::Reject(reason) => {
                self.reject_at(line, offset, format!("{context}{reason}"), bytes)
            }
            Plan::Sub {
                docs,
                account,
                times,
            } => {
                if depth >= 4 {
                    return self.reject_at(
                        line,
                        offset,
                        format!("{context}envelopes nested too deeply"),
                        bytes,
                    );
                }
                for (i, doc) in docs.into_iter().enumerate() {
                    let sub_ctx = RowCtx {
                        default_account: account.as_deref().or(ctx.default_account),
                        fallback_time: times.get(i).copied().flatten().or(ctx.fallback_time),
                    };
                    let (text, hint, label): (&[u8], Hint, String) = match &doc {
                        SubDoc::Span(r, h, l) => (&bytes[r.clone()], *h, l.clone()),
                        SubDoc::Text(t, h, l) => (t.as_bytes(), *h, l.clone()),
                    };
                    let sub_context = format!("{context}{label}: ");
                    let first = skip_ws(text, 0);
                    if matches!(text.get(first), Some(b'{') | Some(b'[')) {
                        self.json_in(
                            parser,
                            text,
                            offset,
                            line,
                            hint,
                            sub_ctx,
                            &sub_context,
                            depth + 1,
                        )?;
                    } else {
                        self.text_line_ctx(text, offset, line, sub_ctx, &sub_context)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// A block of complete text lines (each ending in `\n`), starting at absolute
    /// `offset` on line `line`: VPC flow log headers and records. Stops before a line
    /// that starts a JSON value. Returns the bytes and lines consumed; `(0, 0)` when the
    /// block is not valid UTF-8 (the caller then goes line by line and reports the bad
    /// line).
    ///
    /// Record lines are collected and handed to the flow builder a run at a time (see
    /// [`vpcflow::Builder::append_lines`]); a header line, a JSON line and the end of the
    /// block end a run. Rows, dead letters (their order, lines, offsets and reasons) and
    /// flushes (where they fall, and their checkpoints) are exactly those of decoding the
    /// lines one at a time.
    fn text_block(&mut self, block: &[u8], offset: u64, line: u64) -> Result<(usize, u64)> {
        let Ok(text) = std::str::from_utf8(block) else {
            return Ok((0, 0));
        };
        let mut used = 0usize;
        let mut lines = 0u64;
        let accepts = self.cfg.format.accepts(SourceKind::VpcFlow);
        let mut run = std::mem::take(&mut self.flow_run);
        let mut newlines = memchr::memchr_iter(b'\n', block);
        while used < block.len() {
            let start = used;
            let next = newlines.next().map_or(block.len(), |k| k + 1);
            let mut end = next;
            while end > start && matches!(block[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            // `start` and `end` are next to ASCII bytes (or the block's ends): char
            // boundaries of `text`.
            let rec = &text[start..end];
            let first = rec.as_bytes().first().copied();
            if matches!(first, Some(b'{' | b'[')) {
                break;
            }
            let here = offset + start as u64;
            let line_no = line + lines;
            used = next;
            lines += 1;
            if !first.is_some_and(|c| c.is_ascii_alphanumeric()) && rec.trim().is_empty() {
                continue;
            }
            if first.is_some_and(|c| c.is_ascii_lowercase())
                && let Some(fmt) = FlowFormat::from_header(rec, line_no)
            {
                self.flow_lines(text, &mut run, offset)?;
                match fmt {
                    Ok(f) => self.set_flow_format(f, line_no),
                    Err(reason) => self.reject_at(
                        line_no,
                        here,
                        format!("{reason}; the previous format stays in use"),
                        rec.as_bytes(),
                    )?,
                }
                continue;
            }
            if !accepts {
                let f = self.cfg.format;
                self.reject_at(
                    line_no,
                    here,
                    format!("not a {f} record (a text line; --format is {f})"),
                    rec.as_bytes(),
                )?;
                continue;
            }
            run.spans.push((start, end));
            run.ends.push((line_no, next));
            if run.spans.len() >= FlowRun::MAX_LINES {
                self.flow_lines(text, &mut run, offset)?;
            }
        }
        let done = self.flow_lines(text, &mut run, offset);
        self.flow_run = run;
        done?;
        self.maybe_flush(offset + used as u64)?;
        Ok((used, lines))
    }

    /// Appends the record lines of `run` (spans in `text`, a block starting at absolute
    /// `offset`) to the flow builder under the current format, reporting the rejected
    /// ones and flushing whenever the batch fills up, right after the row that fills it.
    /// Leaves `run` empty.
    fn flow_lines(&mut self, text: &str, run: &mut FlowRun, offset: u64) -> Result<()> {
        let ctx = RowCtx::default();
        let mut rejected = std::mem::take(&mut self.flow_rejected);
        let mut i = 0;
        let mut result = Ok(());
        while i < run.spans.len() && result.is_ok() {
            rejected.clear();
            let done = self.vf.append_lines(
                text,
                &run.spans[i..],
                &self.flow_format,
                &ctx,
                self.cfg.batch_rows,
                &mut rejected,
            );
            self.stats.events[SourceKind::VpcFlow.index()] += done.rows as u64;
            result = rejected.drain(..).try_for_each(|(j, reason)| {
                let (a, b) = run.spans[i + j];
                let rec = &text[a..b];
                let reason = flow_reject_reason(rec, reason);
                self.reject_at(run.ends[i + j].0, offset + a as u64, reason, rec.as_bytes())
            });
            i += done.lines;
            if done.full && result.is_ok() {
                result = self.maybe_flush(offset + run.ends[i - 1].1 as u64);
            }
        }
        self.flow_rejected = rejected;
        run.clear();
        result
    }

    fn set_flow_format(&mut self, fmt: FlowFormat, line: u64) {
        let unknown = fmt.unknown_fields();
        if !unknown.is_empty() && !self.warned_unknown_fields {
            self.warned_unknown_fields = true;
            tracing::warn!(source = %self.source, line, fields = ?unknown, "flow log header names fields vigil does not know; their values go to the `extra` column");
        }
        self.flow_format = fmt;
    }

    /// A line of text: a VPC flow log header or record.
    fn text_line(
        &mut self,
        bytes: &[u8],
        offset: u64,
        line: u64,
        ctx: RowCtx<'_>,
        _in_envelope: bool,
    ) -> Result<()> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return self.reject_at(line, offset, "line is not valid UTF-8".into(), bytes);
        };
        if let Some(fmt) = FlowFormat::from_header(text, line) {
            let fmt = match fmt {
                Ok(f) => f,
                Err(reason) => {
                    return self.reject_at(
                        line,
                        offset,
                        format!("{reason}; the previous format stays in use"),
                        bytes,
                    );
                }
            };
            let unknown = fmt.unknown_fields();
            if !unknown.is_empty() && !self.warned_unknown_fields {
                self.warned_unknown_fields = true;
                tracing::warn!(source = %self.source, line, fields = ?unknown, "flow log header names fields vigil does not know; their values go to the `extra` column");
            }
            self.flow_format = fmt;
            return Ok(());
        }
        if !self.cfg.format.accepts(SourceKind::VpcFlow) {
            return self.reject_at(
                line,
                offset,
                format!(
                    "not a {} record (a text line; --format is {})",
                    self.cfg.format, self.cfg.format
                ),
                bytes,
            );
        }
        let r = self.vf.append(text, &self.flow_format, &ctx);
        match r {
            Ok(()) => {
                self.stats.events[SourceKind::VpcFlow.index()] += 1;
                self.maybe_flush(offset + bytes.len() as u64)
            }
            Err(reason) => {
                let reason = flow_reject_reason(text, reason);
                self.reject_at(line, offset, reason, bytes)
            }
        }
    }

    /// A text record from inside an envelope (a CloudWatch Logs message): a flow record in
    /// the configured (or default) format.
    fn text_line_ctx(
        &mut self,
        bytes: &[u8],
        offset: u64,
        line: u64,
        ctx: RowCtx<'_>,
        context: &str,
    ) -> Result<()> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return self.reject_at(
                line,
                offset,
                format!("{context}message is not valid UTF-8"),
                bytes,
            );
        };
        if !self.cfg.format.accepts(SourceKind::VpcFlow) {
            return self.reject_at(
                line,
                offset,
                format!("{context}not a {} record", self.cfg.format),
                bytes,
            );
        }
        let r = self.vf.append(text, &self.envelope_flow_format, &ctx);
        match r {
            Ok(()) => {
                self.stats.events[SourceKind::VpcFlow.index()] += 1;
                Ok(())
            }
            Err(reason) => {
                let reason = if text.split_ascii_whitespace().count() < 4 {
                    format!(
                        "{context}unrecognized message: not JSON, and not a VPC flow log record ({reason})"
                    )
                } else {
                    format!("{context}{reason}")
                };
                self.reject_at(line, offset, reason, bytes)
            }
        }
    }
}

/// Why a text line was rejected as a flow record: a line with fewer than four tokens is
/// more likely not a flow record at all, and says so.
fn flow_reject_reason(line: &str, reason: String) -> String {
    if line.split_ascii_whitespace().count() < 4 {
        format!("unrecognized record: not JSON, and not a VPC flow log record ({reason})")
    } else {
        reason
    }
}

/// The text of a JSON value the decoder has parsed.
///
/// Every caller passes the bytes of a value that simd-json has just parsed successfully,
/// or a sub-span of such a document that starts and ends at JSON value boundaries.
fn raw_text(bytes: &[u8]) -> &str {
    debug_assert!(
        std::str::from_utf8(bytes).is_ok(),
        "raw_text on unvalidated bytes"
    );
    // SAFETY: simd-json validates its whole input as UTF-8 before producing a tape, and
    // the spans taken from a parsed document start and end at ASCII bytes (`{`, `}`,
    // `[`, `]`, `"`, or the ends of scalars), so they are char boundaries of that valid
    // UTF-8. Exercised by every corpus test (debug builds check the assertion above) and
    // by the arbitrary-bytes property test and fuzz targets.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// Decides what a parsed JSON value is, appends it when it is an event, and lists the
/// records inside it when it is an envelope.
fn plan_value(
    v: Value<'_, '_>,
    bytes: &[u8],
    hint: Hint,
    ctx: RowCtx<'_>,
    b: &mut Core<'_>,
) -> Plan {
    let format = b.cfg.format;
    if v.is_array() {
        return match array_element_spans(bytes) {
            Some(spans) => Plan::Sub {
                docs: spans
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| SubDoc::Span(r, hint, format!("[{i}]")))
                    .collect(),
                account: None,
                times: Vec::new(),
            },
            None => Plan::Reject("malformed JSON array".into()),
        };
    }
    let Some(obj) = v.as_object() else {
        return Plan::Reject(format!("a JSON {:?} is not an event", v.value_type()));
    };
    let append = |kind: SourceKind, b: &mut Core<'_>| -> Plan {
        if !format.accepts(kind) {
            return Plan::Reject(format!("is a {kind} record but --format is {format}"));
        }
        let raw = raw_text(bytes);
        let r = match kind {
            SourceKind::CloudTrail => match b.ct.append(v, raw, &ctx) {
                cloudtrail::Append::Appended => Ok(()),
                cloudtrail::Append::Rejected(r) => Err(r),
                cloudtrail::Append::NotThisKind => Err("not a CloudTrail event".into()),
            },
            SourceKind::K8sAudit => b.k8s.append(v, raw, &ctx),
            SourceKind::Falco => b.falco.append(v, raw, &ctx),
            SourceKind::VpcFlow => Err("internal: flow records are text".into()),
        };
        match r {
            Ok(()) => {
                b.stats.events[kind.index()] += 1;
                Plan::Done
            }
            Err(reason) => Plan::Reject(reason),
        }
    };
    // CloudTrail is the common case: offer the object to its builder directly (one pass
    // over the keys both classifies and extracts).
    if format.accepts(SourceKind::CloudTrail) {
        match b.ct.append(v, raw_text(bytes), &ctx) {
            cloudtrail::Append::Appended => {
                b.stats.events[SourceKind::CloudTrail.index()] += 1;
                return Plan::Done;
            }
            cloudtrail::Append::Rejected(reason) => return Plan::Reject(reason),
            cloudtrail::Append::NotThisKind => {}
        }
    } else if cloudtrail::looks_like(&obj) {
        return append(SourceKind::CloudTrail, b);
    }
    if hint == Hint::CloudTrail
        && obj.get("Records").is_none()
        && obj.get("CloudTrailEvent").is_none()
    {
        return Plan::Reject(format!(
            "element of a CloudTrail `Records` array is not a CloudTrail event (no eventVersion, or no eventSource and eventName; keys: {})",
            key_list(&obj)
        ));
    }
    if k8s::is_event(&obj) {
        return append(SourceKind::K8sAudit, b);
    }
    if falco::looks_like(&obj) {
        return append(SourceKind::Falco, b);
    }
    let members = || object_member_spans(bytes).unwrap_or_default();
    let member = |name: &[u8]| {
        members()
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, r)| r)
    };
    if k8s::is_event_list(&obj) {
        let Some(items) = member(b"items") else {
            return Plan::Reject("Kubernetes EventList has no items".into());
        };
        let Some(spans) = array_element_spans(&bytes[items.clone()]) else {
            return Plan::Reject("Kubernetes EventList items is not an array".into());
        };
        return Plan::Sub {
            docs: spans
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    SubDoc::Span(
                        items.start + r.start..items.start + r.end,
                        Hint::Auto,
                        format!("items[{i}]"),
                    )
                })
                .collect(),
            account: None,
            times: Vec::new(),
        };
    }
    if let (Some(dt), Some(_)) = (
        obj.get("detail-type").and_then(|d| d.into_string()),
        obj.get("detail"),
    ) {
        if !dt.ends_with("via CloudTrail") {
            return Plan::Reject(format!(
                "EventBridge event of detail-type {dt:?} is not a CloudTrail event (expected a detail-type ending in \"via CloudTrail\")"
            ));
        }
        let Some(detail) = member(b"detail") else {
            return Plan::Reject("EventBridge event has no detail object".into());
        };
        let account = obj
            .get("account")
            .and_then(|a| a.into_string())
            .map(str::to_string);
        let time = obj
            .get("time")
            .and_then(|t| t.into_string())
            .and_then(crate::time::parse_micros);
        return Plan::Sub {
            docs: vec![SubDoc::Span(detail, Hint::CloudTrail, "detail".into())],
            account,
            times: vec![time],
        };
    }
    if let (Some(events), Some(mt)) = (
        obj.get("logEvents").and_then(|e| e.as_array()),
        obj.get("messageType").and_then(|m| m.into_string()),
    ) {
        if mt == "CONTROL_MESSAGE" {
            b.stats.control_messages += events.len() as u64;
            return Plan::Done;
        }
        let account = obj
            .get("owner")
            .and_then(|o| o.into_string())
            .map(str::to_string);
        let mut docs = Vec::with_capacity(events.len());
        let mut times = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            let msg = e.get("message").and_then(|m| m.into_string());
            let Some(msg) = msg else {
                return Plan::Reject(format!(
                    "CloudWatch Logs logEvents[{i}] has no message string"
                ));
            };
            times.push(
                e.get("timestamp")
                    .and_then(|t| t.as_i64())
                    .map(|ms| ms.saturating_mul(1000)),
            );
            docs.push(SubDoc::Text(
                msg.to_string(),
                Hint::Auto,
                format!("logEvents[{i}]"),
            ));
        }
        return Plan::Sub {
            docs,
            account,
            times,
        };
    }
    if let Some(events) = obj.get("Events").and_then(|e| e.as_array()) {
        let mut docs = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            match e.get("CloudTrailEvent").and_then(|c| c.into_string()) {
                Some(text) => docs.push(SubDoc::Text(
                    text.to_string(),
                    Hint::CloudTrail,
                    format!("Events[{i}].CloudTrailEvent"),
                )),
                None => {
                    return Plan::Reject(format!(
                        "Events[{i}] has no CloudTrailEvent string (expected `aws cloudtrail lookup-events` output)"
                    ));
                }
            }
        }
        return Plan::Sub {
            docs,
            account: None,
            times: Vec::new(),
        };
    }
    if let Some(text) = obj.get("CloudTrailEvent").and_then(|c| c.into_string()) {
        return Plan::Sub {
            docs: vec![SubDoc::Text(
                text.to_string(),
                Hint::CloudTrail,
                "CloudTrailEvent".into(),
            )],
            account: None,
            times: Vec::new(),
        };
    }
    if obj.get("Records").is_some_and(|r| r.is_array()) {
        let Some(records) = member(b"Records") else {
            return Plan::Reject("malformed Records member".into());
        };
        let Some(spans) = array_element_spans(&bytes[records.clone()]) else {
            return Plan::Reject("Records is not an array".into());
        };
        return Plan::Sub {
            docs: spans
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    SubDoc::Span(
                        records.start + r.start..records.start + r.end,
                        Hint::CloudTrail,
                        format!("Records[{i}]"),
                    )
                })
                .collect(),
            account: None,
            times: Vec::new(),
        };
    }
    Plan::Reject(format!(
        "unrecognized JSON object: not a CloudTrail event, Kubernetes audit Event or EventList, Falco alert, or an EventBridge / CloudWatch Logs / lookup-events envelope (keys: {})",
        key_list(&obj)
    ))
}

fn key_list(obj: &simd_json::tape::Object<'_, '_>) -> String {
    let keys: Vec<&str> = obj.keys().take(12).collect();
    let more = if obj.len() > 12 { ", ..." } else { "" };
    format!("{}{more}", keys.join(", "))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::vpcflow::legacy::{LegacyBuilder, strategies};

    /// What a sink received, in order.
    #[derive(Debug, PartialEq)]
    enum Event {
        Flush(Vec<(SourceKind, RecordBatch)>, Checkpoint),
        Dead(DeadLetter),
    }

    #[derive(Default)]
    struct Record(Vec<Event>);

    impl Sink for Record {
        fn flush(&mut self, f: Flush) -> Result<()> {
            let batches = f.batches.into_iter().map(|b| (b.kind, b.batch)).collect();
            self.0.push(Event::Flush(batches, f.checkpoint));
            Ok(())
        }
        fn dead_letter(&mut self, d: DeadLetter) -> Result<()> {
            self.0.push(Event::Dead(d));
            Ok(())
        }
    }

    /// What the decoder produced for `text` (text lines only, each ending with `\n`, the
    /// first starting with a digit) before the block decoder: the line loop it replaced,
    /// appending one record at a time to the row builder it replaced.
    fn reference(text: &str, cfg: &DecoderConfig) -> Vec<Event> {
        let mut vf = LegacyBuilder::new();
        let mut format = cfg
            .flow_format
            .clone()
            .unwrap_or_else(FlowFormat::default_v2);
        let accepts = cfg.format.accepts(SourceKind::VpcFlow);
        let mut out = vec![];
        let (mut events, mut rejected) = (0u64, 0u64);
        let flush = |vf: &mut LegacyBuilder, out: &mut Vec<Event>, offset, complete, counts| {
            let (events, rejected) = counts;
            let batches = if vf.len() > 0 {
                vec![(SourceKind::VpcFlow, vf.finish().unwrap())]
            } else {
                vec![]
            };
            if !batches.is_empty() || complete {
                out.push(Event::Flush(
                    batches,
                    Checkpoint {
                        source: Arc::from("test"),
                        offset,
                        events,
                        rejected,
                        complete,
                    },
                ));
            }
        };
        let dead = |line, offset, reason, record: &str| {
            Event::Dead(DeadLetter {
                source: "test".into(),
                line,
                offset,
                reason,
                record: record.to_string(),
                truncated: false,
            })
        };
        let mut used = 0usize;
        for (line_no, raw_line) in (1u64..).zip(text.split_inclusive('\n')) {
            let rec = raw_line.trim_end_matches(['\n', '\r']);
            let here = used as u64;
            used += raw_line.len();
            if rec.trim().is_empty() {
                continue;
            }
            if rec.as_bytes()[0].is_ascii_lowercase()
                && let Some(f) = FlowFormat::from_header(rec, line_no)
            {
                match f {
                    Ok(f) => format = f,
                    Err(reason) => {
                        rejected += 1;
                        let reason = format!("{reason}; the previous format stays in use");
                        out.push(dead(line_no, here, reason, rec));
                    }
                }
                continue;
            }
            if !accepts {
                rejected += 1;
                let f = cfg.format;
                let reason = format!("not a {f} record (a text line; --format is {f})");
                out.push(dead(line_no, here, reason, rec));
                continue;
            }
            match vf.append(rec, &format, &RowCtx::default()) {
                Ok(()) => {
                    events += 1;
                    if vf.len() >= cfg.batch_rows {
                        flush(&mut vf, &mut out, used as u64, false, (events, rejected));
                    }
                }
                Err(reason) => {
                    let reason = if rec.split_ascii_whitespace().count() < 4 {
                        format!(
                            "unrecognized record: not JSON, and not a VPC flow log record ({reason})"
                        )
                    } else {
                        reason
                    };
                    rejected += 1;
                    out.push(dead(line_no, here, reason, rec));
                }
            }
        }
        if vf.len() >= cfg.batch_rows || vf.raw_bytes() >= cfg.batch_bytes {
            flush(&mut vf, &mut out, used as u64, false, (events, rejected));
        }
        flush(
            &mut vf,
            &mut out,
            text.len() as u64,
            true,
            (events, rejected),
        );
        out
    }

    /// The shared corpus (see `tests/common`), when present.
    fn corpus() -> Option<std::path::PathBuf> {
        let ws = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::env::var_os("VIGIL_CORPUS")
            .map(Into::into)
            .into_iter()
            .chain([
                ws.join("../shared/corpus"),
                ws.join("../../shared/corpus"),
                "/work/shared/corpus".into(),
            ])
            .find(|p| p.is_dir())
    }

    /// The differential test below on the real flow logs of the corpus (AWS's examples,
    /// the OpenTelemetry fixtures with ECS and Transit Gateway fields and bad field
    /// counts, Loki's), concatenated, each also repeated into a long run of records so
    /// that batches span many 64-row chunks, at several batch sizes.
    #[test]
    fn block_decoding_matches_the_line_loop_on_the_corpus() {
        let Some(corpus) = corpus() else {
            panic!("shared corpus not found: set VIGIL_CORPUS");
        };
        let dirs = [
            "aws-vpc-flow-logs-docs/extracted",
            "otel-contrib-awslogs-testdata/extension/encoding/awslogsencodingextension/internal/unmarshaler/vpc-flow-log/testdata",
            "loki-lambda-promtail-testdata/extracted",
        ];
        let mut all = String::new();
        let mut files = 0;
        for dir in dirs {
            let mut paths: Vec<_> = std::fs::read_dir(corpus.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "log"))
                .filter(|p| dir.starts_with("loki") == p.ends_with("vpcflowlog.log"))
                .collect();
            paths.sort();
            for p in paths {
                let mut text = std::fs::read_to_string(&p).unwrap();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                let records: String = text
                    .lines()
                    .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
                    .map(|l| format!("{l}\n"))
                    .collect();
                all.push_str(&text);
                all.push_str(&records.repeat(300 / records.lines().count().max(1) + 1));
                files += 1;
            }
        }
        assert!(files >= 10, "only {files} flow log files found");
        let text = all.trim_start();
        // One read: the reference knows no reads.
        assert!(text.len() < DecoderConfig::default().read_chunk);
        for batch_rows in [1, 7, 64, 65, 1000, 8192] {
            let cfg = DecoderConfig {
                batch_rows,
                ..DecoderConfig::default()
            };
            let mut got = Record::default();
            decode_bytes(text.as_bytes(), "test", &cfg, &mut got).unwrap();
            assert!(got.0.iter().any(|e| matches!(e, Event::Dead(_))));
            assert_eq!(got.0, reference(text, &cfg), "batch_rows {batch_rows}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Differential test of the block decoding of flow log text against the line loop
        /// and row builder it replaced: for random flow logs (headers, valid and bad
        /// records, blank lines, `\r\n` endings), batch sizes, `--format` and
        /// `--vpcflow-format`, the sink receives exactly the same batches, checkpoints and
        /// dead letters (lines, offsets, reasons), in the same order.
        #[test]
        fn block_decoding_matches_the_line_loop(
            text in strategies::text(),
            batch_rows in 1usize..40,
            batch_bytes in prop_oneof![Just(16usize << 20), 100usize..3000],
            format in prop_oneof![
                6 => Just(Format::Auto),
                1 => Just(Format::Only(SourceKind::VpcFlow)),
                1 => Just(Format::Only(SourceKind::CloudTrail)),
            ],
            flow_format in prop::option::weighted(0.2, strategies::header()),
        ) {
            let cfg = DecoderConfig {
                format,
                flow_format: flow_format.and_then(|h| FlowFormat::parse(&h).ok()),
                batch_rows,
                batch_bytes,
                ..DecoderConfig::default()
            };
            let mut got = Record::default();
            decode_bytes(text.as_bytes(), "test", &cfg, &mut got).unwrap();
            prop_assert_eq!(got.0, reference(&text, &cfg));
        }
    }
}
