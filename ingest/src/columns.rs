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

    /// Appends a value. Only whole `&str`s are appended (here and in [`Self::push_span_data`]),
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
