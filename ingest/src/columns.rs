//! Column builders shared by the parsers: structs of strings and lists of strings.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{ArrayRef, ListBuilder, NullBufferBuilder, StringBuilder, StructArray};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Fields};
use arrow::error::ArrowError;

use crate::{IngestError, Result, SourceKind};

/// Fields of a struct whose children are all nullable strings.
pub fn str_fields(names: &[&str]) -> Fields {
    names
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, true))
        .collect()
}

/// Builds a nullable struct column of string children plus extra typed children that the
/// owner builds alongside (passed to [`StrStruct::finish`]).
pub struct StrStruct {
    children: Vec<StringBuilder>,
    nulls: NullBufferBuilder,
}

impl StrStruct {
    /// A builder for `n` string children.
    pub fn new(n: usize) -> Self {
        Self {
            children: (0..n).map(|_| StringBuilder::new()).collect(),
            nulls: NullBufferBuilder::new(0),
        }
    }

    /// Appends one row; `vals` has one entry per string child.
    pub fn append(&mut self, present: bool, vals: &[Option<Cow<'_, str>>]) {
        debug_assert_eq!(vals.len(), self.children.len());
        self.nulls.append(present);
        for (b, v) in self.children.iter_mut().zip(vals) {
            b.append_option(v.as_deref());
        }
    }

    /// Builds the struct array: the string children first, then `extra` children, with
    /// `fields` describing all of them in that order.
    pub fn finish(&mut self, fields: Fields, extra: Vec<ArrayRef>) -> StructArray {
        let mut arrays: Vec<ArrayRef> = self
            .children
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        arrays.extend(extra);
        StructArray::new(fields, arrays, self.nulls.finish())
    }
}

/// A list-of-strings column builder.
pub fn str_list_builder() -> ListBuilder<StringBuilder> {
    ListBuilder::new(StringBuilder::new())
}

/// Appends an optional list of strings.
pub fn append_str_list(b: &mut ListBuilder<StringBuilder>, vals: Option<&[Cow<'_, str>]>) {
    match vals {
        Some(vs) => {
            for v in vs {
                b.values().append_value(v);
            }
            b.append(true);
        }
        None => b.append(false),
    }
}

/// Validity bits of a column, 64 rows to a word, materialized only once a null is
/// appended (a column without nulls has no validity buffer, as with Arrow's builders).
pub(crate) struct Validity {
    pub(crate) len: usize,
    /// Bit `i % 64` of word `i / 64` is row `i`'s validity (bits past `len` are 0);
    /// `None` while every row is valid.
    words: Option<Vec<u64>>,
    /// Rows expected, to size `words` when it is materialized.
    capacity: usize,
}

impl Validity {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            len: 0,
            words: None,
            capacity,
        }
    }

    /// Appends the low `n` (1 to 64) bits of `bits` (higher bits must be 0).
    #[inline(always)]
    pub(crate) fn append_bits(&mut self, bits: u64, n: usize) {
        debug_assert!((1..=64).contains(&n) && (n == 64 || bits >> n == 0));
        let off = self.len % 64;
        let words = match &mut self.words {
            Some(w) => w,
            None if bits == u64::MAX >> (64 - n) => {
                self.len += n;
                return;
            }
            None => self.materialize(),
        };
        match words.last_mut() {
            Some(last) if off != 0 => {
                *last |= bits << off;
                if off + n > 64 {
                    words.push(bits >> (64 - off));
                }
            }
            _ => words.push(bits),
        }
        self.len += n;
    }

    #[cold]
    pub(crate) fn materialize(&mut self) -> &mut Vec<u64> {
        let mut words = Vec::with_capacity(self.capacity.max(self.len) / 64 + 2);
        words.resize(self.len / 64, u64::MAX);
        if !self.len.is_multiple_of(64) {
            words.push(u64::MAX >> (64 - self.len % 64));
        }
        self.words.insert(words)
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, valid: bool) {
        self.append_bits(u64::from(valid), 1);
    }

    pub(crate) fn push_n(&mut self, valid: bool, mut n: usize) {
        while n > 0 {
            let k = n.min(64);
            self.append_bits(if valid { u64::MAX >> (64 - k) } else { 0 }, k);
            n -= k;
        }
    }

    /// The bits as a null buffer; `None` if every row is valid.
    pub(crate) fn finish(self) -> Option<NullBuffer> {
        self.words
            .is_some()
            .then(|| NullBuffer::new(self.finish_bits()))
    }

    /// The bits as a boolean buffer, materialized if every bit was set.
    pub(crate) fn finish_bits(mut self) -> BooleanBuffer {
        let len = self.len;
        let words = match self.words.take() {
            Some(w) => w,
            None => std::mem::take(self.materialize()),
        };
        let words: Vec<u64> = words.into_iter().map(u64::to_le).collect();
        BooleanBuffer::new(Buffer::from_vec(words), 0, len)
    }

    /// Finishes the bits as a null buffer, leaving an empty one for `rows` rows.
    pub(crate) fn take(&mut self, rows: usize) -> Option<NullBuffer> {
        std::mem::replace(self, Self::with_capacity(rows)).finish()
    }
}

/// A nullable boolean column in Arrow layout, written directly.
pub(crate) struct BoolCol {
    values: Validity,
    validity: Validity,
}

impl BoolCol {
    pub(crate) fn with_capacity(rows: usize) -> Self {
        Self {
            values: Validity::with_capacity(rows),
            validity: Validity::with_capacity(rows),
        }
    }

    /// Appends a value, or a null (stored as a false value).
    #[inline(always)]
    pub(crate) fn push_option(&mut self, v: Option<bool>) {
        self.values.push(v == Some(true));
        self.validity.push(v.is_some());
    }

    /// The column, leaving an empty one sized like it.
    pub(crate) fn take(&mut self) -> arrow::array::BooleanArray {
        let rows = self.values.len;
        let done = std::mem::replace(self, Self::with_capacity(rows));
        arrow::array::BooleanArray::new(done.values.finish_bits(), done.validity.finish())
    }
}

/// A string column in Arrow layout (values, offsets, validity), written directly.
pub(crate) struct StrCol {
    data: Vec<u8>,
    offsets: Vec<i32>,
    /// `offsets`' last value.
    end: i32,
    /// Validity bits (callers of [`Self::push_span_data`] append them themselves).
    pub(crate) validity: Validity,
    /// The values outgrew 32-bit offsets (over 2 GiB in one batch).
    overflow: bool,
}

impl StrCol {
    pub(crate) fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self {
            data: Vec::with_capacity(bytes),
            offsets,
            end: 0,
            validity: Validity::with_capacity(rows),
            overflow: false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The bytes of value `i`.
    #[inline(always)]
    pub(crate) fn value(&self, i: usize) -> &[u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Finishes the column as `kind`'s, leaving an empty one sized like it (the next batch
    /// then appends without regrowing).
    pub(crate) fn take(&mut self, kind: SourceKind) -> Result<arrow::array::StringArray> {
        let (rows, bytes) = (self.len(), self.value_bytes());
        std::mem::replace(self, Self::with_capacity(rows, bytes + bytes / 16)).finish(kind)
    }

    /// Bytes of values appended so far.
    pub(crate) fn value_bytes(&self) -> usize {
        self.data.len()
    }

    /// Appends a value. Only whole `&str`s are appended (here and in [`Self::push_span`]),
    /// so the values are valid UTF-8 and every offset is a char boundary.
    #[inline(always)]
    pub(crate) fn push(&mut self, v: &str) {
        self.data.extend_from_slice(v.as_bytes());
        self.push_offset();
        self.validity.push(true);
    }

    /// Appends `text[a..b]` without its validity bit (the caller appends those, 64 at a
    /// time). The value is copied in fixed 32-byte blocks, reading and writing up to 31
    /// bytes past its end (the bytes past the value are overwritten by the next one),
    /// which is faster than a variable-length copy; near the end of `text` it is copied
    /// exactly.
    #[inline(always)]
    pub(crate) fn push_span_data(&mut self, text: &str, a: usize, b: usize) {
        const BLOCK: usize = 32;
        let v = &text[a..b];
        let len = v.len();
        let blocks = len.div_ceil(BLOCK).max(1);
        match text.as_bytes().get(a..a + blocks * BLOCK) {
            Some(src) => {
                self.data.reserve(blocks * BLOCK);
                let spare = self.data.spare_capacity_mut();
                for (s, d) in src.chunks_exact(BLOCK).zip(spare.chunks_exact_mut(BLOCK)) {
                    // SAFETY: `s` is BLOCK readable bytes and `d` BLOCK writable ones (a
                    // piece of the spare capacity, which `reserve` made at least
                    // `blocks * BLOCK` long); they do not overlap (`text` is borrowed
                    // shared while `self.data` is borrowed mutably).
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            s.as_ptr(),
                            d.as_mut_ptr().cast::<u8>(),
                            BLOCK,
                        )
                    };
                }
                // SAFETY: the first `len` bytes of the spare capacity were just written
                // with `text[a..a + len]`, i.e. `v`, so after this the values are still
                // whole `&str`s. Exercised by every flow record the tests decode.
                unsafe { self.data.set_len(self.data.len() + len) };
            }
            None => self.data.extend_from_slice(v.as_bytes()),
        }
        self.push_offset();
    }

    #[inline(always)]
    pub(crate) fn push_offset(&mut self) {
        self.end = match i32::try_from(self.data.len()) {
            Ok(o) => o,
            Err(_) => {
                self.overflow = true;
                i32::MAX
            }
        };
        self.offsets.push(self.end);
    }

    /// Appends a null's offset without its validity bit.
    #[inline(always)]
    pub(crate) fn push_null_offset(&mut self) {
        self.offsets.push(self.end);
    }

    #[inline(always)]
    pub(crate) fn push_option(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.push(v),
            None => {
                self.push_null_offset();
                self.validity.push(false);
            }
        }
    }

    pub(crate) fn push_nulls(&mut self, n: usize) {
        self.offsets.resize(self.offsets.len() + n, self.end);
        self.validity.push_n(false, n);
    }

    pub(crate) fn finish(self, kind: SourceKind) -> Result<arrow::array::StringArray> {
        if self.overflow {
            return Err(IngestError::Arrow {
                kind: kind.name(),
                source: ArrowError::OffsetOverflowError(self.data.len()),
            });
        }
        let Self {
            data,
            offsets,
            validity,
            ..
        } = self;
        debug_assert!(std::str::from_utf8(&data).is_ok());
        debug_assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
        debug_assert_eq!(offsets.last().map(|&o| o as usize), Some(data.len()));
        debug_assert_eq!(validity.len + 1, offsets.len());
        // SAFETY: `data` is the concatenation of whole `&str`s (see `push`,
        // `push_span_data`), so it is valid UTF-8 and every offset, taken after a whole
        // value, is a char boundary; offsets start at 0 and are `data.len()` after each
        // value, so they never decrease and end at `data.len()` (they fit in i32: no
        // overflow, checked above); `validity` has one bit per value. Exercised by every
        // flow and CloudTrail batch the tests build; debug builds check all of this above.
        Ok(unsafe {
            let offsets = OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets));
            arrow::array::StringArray::new_unchecked(
                offsets,
                Buffer::from_vec(data),
                validity.finish(),
            )
        })
    }
}

/// The Arrow type of the categorical string columns: `Dictionary(Int32, Utf8)`.
pub(crate) fn dictionary_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// A string column dictionary-encoded per batch, for categorical values (event names and
/// sources, user agents, principal types and ARNs): each distinct value is stored once per
/// batch and every row holds its index. A consumer that decides something per value (the
/// detection engine matching patterns, a filter, a group-by) then does it once per
/// distinct value instead of once per row, and a value repeated on most rows is not
/// copied again.
///
/// Values are found by a per-process seeded hash (log values are attacker-influenced: a
/// fixed hash would let crafted events collide on purpose) in an open-addressing table,
/// and compared in full, so two values share an index only if they are equal.
pub(crate) struct DictCol {
    keys: Vec<i32>,
    validity: Validity,
    /// The distinct values, in first-seen order.
    values: StrCol,
    /// Each distinct value's hash, by index.
    hashes: Vec<u64>,
    /// Open addressing by hash (linear probing, at most half full): index + 1, 0 if free.
    table: Vec<u32>,
    seed: [u64; 3],
}

impl DictCol {
    pub(crate) fn new() -> Self {
        Self {
            keys: Vec::new(),
            validity: Validity::with_capacity(0),
            values: StrCol::with_capacity(0, 0),
            hashes: Vec::new(),
            table: Vec::new(),
            seed: *dict_seed(),
        }
    }

    /// Appends a value, or a null.
    #[inline(always)]
    pub(crate) fn push_option(&mut self, v: Option<&str>) {
        match v {
            Some(v) => {
                let k = self.key(v);
                self.keys.push(k);
                self.validity.push(true);
            }
            None => {
                self.keys.push(0);
                self.validity.push(false);
            }
        }
    }

    /// The index of `v` in this batch's dictionary, adding it if new.
    #[inline(always)]
    fn key(&mut self, v: &str) -> i32 {
        if (self.hashes.len() + 1) * 2 > self.table.len() {
            self.grow();
        }
        let h = hash_bytes(&self.seed, v.as_bytes());
        let mask = self.table.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let e = self.table[i];
            if e == 0 {
                break;
            }
            let e = (e - 1) as usize;
            if self.hashes[e] == h && self.values.value(e) == v.as_bytes() {
                return e as i32;
            }
            i = (i + 1) & mask;
        }
        let e = self.hashes.len();
        self.hashes.push(h);
        self.values.push(v);
        self.table[i] = e as u32 + 1;
        e as i32
    }

    #[cold]
    fn grow(&mut self) {
        let cap = (self.table.len() * 2).max(64);
        self.table.clear();
        self.table.resize(cap, 0);
        let mask = cap - 1;
        for (e, &h) in self.hashes.iter().enumerate() {
            let mut i = h as usize & mask;
            while self.table[i] != 0 {
                i = (i + 1) & mask;
            }
            self.table[i] = e as u32 + 1;
        }
    }

    /// Finishes the column as `kind`'s (a dictionary of the values seen since the last
    /// call), leaving an empty one sized like it.
    pub(crate) fn take(&mut self, kind: SourceKind) -> Result<ArrayRef> {
        let rows = self.keys.len();
        let values = self.values.take(kind)?;
        let keys = std::mem::replace(&mut self.keys, Vec::with_capacity(rows));
        let nulls = self.validity.take(rows);
        self.hashes.clear();
        self.table.iter_mut().for_each(|e| *e = 0);
        let keys = arrow::array::Int32Array::new(ScalarBuffer::from(keys), nulls);
        arrow::array::DictionaryArray::try_new(keys, Arc::new(values))
            .map(|d| Arc::new(d) as ArrayRef)
            .map_err(|source| IngestError::Arrow {
                kind: kind.name(),
                source,
            })
    }
}

/// The per-process seed of [`DictCol`]'s hash.
fn dict_seed() -> &'static [u64; 3] {
    static SEED: std::sync::OnceLock<[u64; 3]> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let state = std::collections::hash_map::RandomState::new();
        let mut seed = [0u64; 3];
        for (i, s) in seed.iter_mut().enumerate() {
            let mut h = state.build_hasher();
            h.write_usize(i);
            *s = h.finish() | 1;
        }
        seed
    })
}

#[inline(always)]
fn mix(a: u64, b: u64) -> u64 {
    let m = u128::from(a) * u128::from(b);
    (m as u64) ^ ((m >> 64) as u64)
}

#[inline(always)]
fn read8(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

#[inline(always)]
fn read4(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(
        b[at..at + 4].try_into().unwrap_or([0; 4]),
    ))
}

/// A seeded hash of `b` (wyhash's folded multiply: 16 bytes per multiply, the last 16
/// read overlapping).
#[inline(always)]
fn hash_bytes(seed: &[u64; 3], b: &[u8]) -> u64 {
    let n = b.len();
    let (a, c, h) = if n <= 16 {
        let (a, c) = if n >= 8 {
            (read8(b, 0), read8(b, n - 8))
        } else if n >= 4 {
            (read4(b, 0), read4(b, n - 4))
        } else if n > 0 {
            (
                u64::from(b[0]) << 16 | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]),
                0,
            )
        } else {
            (0, 0)
        };
        (a, c, seed[0])
    } else {
        let mut h = seed[0];
        let mut i = 0;
        while i + 16 < n {
            h = mix(read8(b, i) ^ seed[1], read8(b, i + 8) ^ h);
            i += 16;
        }
        (read8(b, n - 16), read8(b, n - 8), h)
    };
    mix(mix(a ^ seed[1], c ^ h), n as u64 ^ seed[2])
}

/// A string column, plain or dictionary-encoded.
pub(crate) enum TextCol {
    /// `Utf8`.
    Plain(StrCol),
    /// `Dictionary(Int32, Utf8)`.
    Dict(DictCol),
}

impl TextCol {
    /// A plain column, or a dictionary-encoded one if `dict`.
    pub(crate) fn new(dict: bool) -> Self {
        if dict {
            Self::Dict(DictCol::new())
        } else {
            Self::Plain(StrCol::with_capacity(0, 0))
        }
    }

    #[inline(always)]
    pub(crate) fn push_option(&mut self, v: Option<&str>) {
        match self {
            Self::Plain(c) => c.push_option(v),
            Self::Dict(c) => c.push_option(v),
        }
    }

    /// Finishes the column (see [`StrCol::take`], [`DictCol::take`]).
    pub(crate) fn take(&mut self, kind: SourceKind) -> Result<ArrayRef> {
        match self {
            Self::Plain(c) => Ok(Arc::new(c.take(kind)?)),
            Self::Dict(c) => c.take(kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int32Type;
    use proptest::prelude::*;

    use super::*;

    /// Values from a small alphabet (so they repeat) at every length the hash treats
    /// differently (0, 1–3, 4–7, 8–16, over 16), or null.
    fn value() -> impl Strategy<Value = Option<String>> {
        prop::option::weighted(0.9, "[ab]{0,3}|[ab]{4,7}|[ab]{8,16}|[ab]{17,40}|é[ab]{0,5}")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]
        /// A dictionary column reads back as what was pushed; two rows share an index
        /// exactly when their values are equal; every batch's dictionary holds each
        /// distinct value once.
        #[test]
        fn dictionary_column_round_trips(batches in prop::collection::vec(
            prop::collection::vec(value(), 0..300), 1..4)) {
            let mut col = DictCol::new();
            for vals in &batches {
                for v in vals {
                    col.push_option(v.as_deref());
                }
                let arr = col.take(SourceKind::CloudTrail).unwrap();
                let d = arr.as_dictionary::<Int32Type>();
                let dict = d.values().as_string::<i32>();
                let got: Vec<Option<String>> = (0..d.len())
                    .map(|r| d.is_valid(r).then(|| {
                        dict.value(d.keys().value(r) as usize).to_string()
                    }))
                    .collect();
                prop_assert_eq!(&got, vals);
                let distinct: std::collections::BTreeSet<&str> =
                    (0..dict.len()).map(|i| dict.value(i)).collect();
                prop_assert_eq!(distinct.len(), dict.len());
                // One index per value and one value per index.
                let mut key_of = std::collections::HashMap::new();
                let mut value_of = std::collections::HashMap::new();
                for (r, v) in vals.iter().enumerate() {
                    if let Some(v) = v {
                        let k = d.keys().value(r);
                        prop_assert_eq!(*key_of.entry(v.as_str()).or_insert(k), k);
                        prop_assert_eq!(*value_of.entry(k).or_insert(v.as_str()), v.as_str());
                    }
                }
            }
        }
    }

    /// Past the first table size (64 slots, 32 values) the table grows and every value
    /// keeps its index.
    #[test]
    fn dictionary_column_grows() {
        let mut col = DictCol::new();
        let vals: Vec<String> = (0..5000).map(|i| format!("value-{}", i % 1500)).collect();
        vals.iter().for_each(|v| col.push_option(Some(v)));
        let arr = col.take(SourceKind::CloudTrail).unwrap();
        let d = arr.as_dictionary::<Int32Type>();
        assert_eq!(d.values().len(), 1500);
        let dict = d.values().as_string::<i32>();
        for (r, v) in vals.iter().enumerate() {
            assert_eq!(dict.value(d.keys().value(r) as usize), v);
        }
    }
}
