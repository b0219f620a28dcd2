//! Row bitmaps: one bit per row of a batch, combined a word at a time.

/// A set of row indexes of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    words: Vec<u64>,
    len: usize,
}

impl Bitmap {
    /// No rows set.
    pub fn zeros(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// Every row set.
    pub fn ones(len: usize) -> Self {
        let mut b = Self {
            words: vec![u64::MAX; len.div_ceil(64)],
            len,
        };
        b.clear_tail();
        b
    }

    fn clear_tail(&mut self) {
        let extra = self.words.len() * 64 - self.len;
        if extra > 0
            && let Some(last) = self.words.last_mut()
        {
            *last &= u64::MAX >> extra;
        }
    }

    /// Number of rows it ranges over.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it ranges over no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets row `i`.
    #[inline]
    pub fn set(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    /// Whether row `i` is set.
    #[inline]
    pub fn get(&self, i: usize) -> bool {
        self.words[i / 64] >> (i % 64) & 1 == 1
    }

    /// Whether no row is set.
    pub fn none(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// Number of rows set.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// `self &= other`
    pub fn and(&mut self, other: &Bitmap) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// `self |= other`
    pub fn or(&mut self, other: &Bitmap) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// `self &= !other`
    pub fn and_not(&mut self, other: &Bitmap) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !b;
        }
    }

    /// `!self`
    pub fn not(&self) -> Bitmap {
        let mut b = Bitmap {
            words: self.words.iter().map(|w| !w).collect(),
            len: self.len,
        };
        b.clear_tail();
        b
    }

    /// A bitmap of `len` rows with the bits of `words` (row `i`: bit `i % 64` of word
    /// `i / 64`; `len.div_ceil(64)` words, clear past `len`).
    pub fn from_words(words: &[u64], len: usize) -> Self {
        debug_assert_eq!(words.len(), len.div_ceil(64));
        let mut b = Self {
            words: words.to_vec(),
            len,
        };
        b.clear_tail();
        b
    }

    /// The valid (non-null) rows of an Arrow null buffer, 64 to a word.
    pub fn valid_rows(nulls: &arrow::buffer::NullBuffer) -> Self {
        // `iter_padded` ends with the remainder's word even when there is no remainder.
        let len = nulls.len();
        let words: Vec<u64> = nulls
            .inner()
            .bit_chunks()
            .iter_padded()
            .take(len.div_ceil(64))
            .collect();
        Self::from_words(&words, len)
    }

    /// The bits, 64 rows per word (row `i` is bit `i % 64` of word `i / 64`); bits past
    /// [`Self::len`] are clear.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The set rows, ascending.
    pub fn iter(&self) -> Ones<'_> {
        Ones {
            words: &self.words,
            at: 0,
            word: self.words.first().copied().unwrap_or(0),
        }
    }
}

/// The set rows of a [`Bitmap`], ascending ([`Bitmap::iter`]): one word held, its lowest
/// set bit taken and cleared per row (a `flat_map` of per-word iterators cost a nested
/// iterator's checks on every row of the hottest loops).
pub struct Ones<'a> {
    words: &'a [u64],
    /// Index of `word` in `words`.
    at: usize,
    /// The bits of word `at` not yet returned.
    word: u64,
}

impl Iterator for Ones<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.word == 0 {
            self.at += 1;
            self.word = *self.words.get(self.at)?;
        }
        let t = self.word.trailing_zeros() as usize;
        self.word &= self.word - 1;
        Some(self.at * 64 + t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_ops() {
        let mut a = Bitmap::zeros(130);
        a.set(0);
        a.set(129);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![0, 129]);
        assert_eq!(a.not().count(), 128);
        let mut b = Bitmap::ones(130);
        b.and_not(&a);
        assert_eq!(b.count(), 128);
        b.or(&a);
        assert_eq!(b, Bitmap::ones(130));
    }

    #[test]
    fn iter_crosses_empty_words() {
        let mut a = Bitmap::zeros(300);
        for i in [1, 63, 64, 200, 299] {
            a.set(i);
        }
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![1, 63, 64, 200, 299]);
        assert_eq!(Bitmap::zeros(300).iter().next(), None);
        assert_eq!(Bitmap::zeros(0).iter().next(), None);
        assert_eq!(Bitmap::ones(130).iter().count(), 130);
    }

    #[test]
    fn valid_rows_of_a_sliced_null_buffer() {
        let nulls =
            arrow::buffer::NullBuffer::from((0..200).map(|i| i % 7 != 0).collect::<Vec<bool>>())
                .slice(3, 128);
        let rows = Bitmap::valid_rows(&nulls);
        assert_eq!(rows.len(), 128);
        let expect: Vec<usize> = (0..128).filter(|i| (i + 3) % 7 != 0).collect();
        assert_eq!(rows.iter().collect::<Vec<_>>(), expect);
    }
}
