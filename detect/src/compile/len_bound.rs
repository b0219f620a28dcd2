//! Which value lengths can satisfy a field's gate leaves, when all of them are exact
//! literals (`userAgent: 'TruffleHog'`).
//!
//! A field some rule is gated on is read on every row, because the rule is false only
//! where none of its gate leaves holds. When every gate leaf on the field is an equality
//! with a literal, a value can satisfy one only if its length fits: evaluation then
//! decides those leaves on every row by looking up only the values whose length fits,
//! and reads the field's other leaves lazily, like a field no rule is gated on
//! (`crate::eval`, phase 1). With SigmaHQ's CloudTrail rules this spares the user agent
//! of nearly every row, which only the TruffleHog rule is gated on.
//!
//! Why the bound is sound: an equality literal of `n` bytes is compiled as
//! [`Check::Exact`]`(n)`, which accepts a match only when the text scanned has exactly
//! `n` bytes. The text scanned is the value itself, except for case-insensitive patterns
//! on a value that is not ASCII, which are matched against the value lowercased
//! (`crate::eval::scan_and_remember`). Lowercasing turns each character into at least
//! one character, and a character has at most 4 bytes in UTF-8, so such a value of
//! `len` bytes lowercases to at least `len / 4` bytes: it can equal a case-insensitive
//! literal of `n` bytes only if `len <= 4 * n`.

use super::FieldDb;
use super::pattern::Check;

/// The lengths a value must have to satisfy a field's gate leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LenBound {
    /// Bit `n` set: a value of exactly `n` bytes may equal a literal.
    exact: Vec<u64>,
    /// A value that is not ASCII may equal a case-insensitive literal once lowercased if it
    /// has at most this many bytes (0: no case-insensitive literal).
    lowered_max: usize,
}

impl LenBound {
    /// The bound for the gate leaves among `field_leaves` (one field's leaves; `is_gate`:
    /// per leaf of the source, whether some rule is gated on it) from the field's patterns
    /// `db`, if every one of them is made only of exact literals; `None` otherwise (or
    /// when there are none).
    pub fn of(db: &FieldDb, field_leaves: &[u32], is_gate: &[bool]) -> Option<Self> {
        let mut exact = Vec::new();
        let mut lowered_max = 0;
        let mut seen = vec![false; is_gate.len()];
        for (id, leaves) in db.leaves_of.iter().enumerate() {
            for &l in leaves.iter().filter(|&&l| is_gate[l as usize]) {
                let Check::Exact(n) = db.checks[id] else {
                    return None;
                };
                seen[l as usize] = true;
                if exact.len() <= n / 64 {
                    exact.resize(n / 64 + 1, 0u64);
                }
                exact[n / 64] |= 1 << (n % 64);
                if db.is_caseless[id] {
                    lowered_max = lowered_max.max(n.saturating_mul(4));
                }
            }
        }
        // A gate leaf with no pattern in the database (a regular expression only the
        // `regex` crate compiles, a test that is not a string match) has no bound.
        let mut gates = field_leaves
            .iter()
            .filter(|&&l| is_gate[l as usize])
            .peekable();
        gates.peek()?;
        gates
            .all(|&l| seen[l as usize])
            .then_some(Self { exact, lowered_max })
    }

    /// Whether `value` may satisfy one of the leaves (when `false`, none holds on it).
    #[inline]
    pub fn admits(&self, value: &[u8]) -> bool {
        self.admits_ascii(value.len()) || (value.len() <= self.lowered_max && !value.is_ascii())
    }

    /// [`Self::admits`] for an ASCII value of `n` bytes, told by its length alone.
    #[inline]
    pub fn admits_ascii(&self, n: usize) -> bool {
        self.exact
            .get(n / 64)
            .is_some_and(|w| (w >> (n % 64)) & 1 == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(exact: &[usize], lowered_max: usize) -> LenBound {
        let mut b = LenBound {
            exact: Vec::new(),
            lowered_max,
        };
        for &n in exact {
            if b.exact.len() <= n / 64 {
                b.exact.resize(n / 64 + 1, 0);
            }
            b.exact[n / 64] |= 1 << (n % 64);
        }
        b
    }

    #[test]
    fn admits_exact_lengths_and_short_enough_non_ascii_values() {
        let b = bound(&[10, 70], 40);
        assert!(b.admits(b"trufflehog"));
        assert!(!b.admits(b"trufflehog/3.1"));
        assert!(b.admits(&[b'a'; 70]));
        assert!(!b.admits(&[b'a'; 69]));
        assert!(!b.admits(b""));
        // The Kelvin sign (3 bytes) lowercases to "k": not ASCII, within 40 bytes.
        assert!(b.admits("TruffleHo\u{212A}".as_bytes()));
        assert!(!b.admits("\u{212A}".repeat(14).as_bytes()));
        // Without case-insensitive literals, only exact lengths.
        assert!(!bound(&[10], 0).admits("Trufflehög".as_bytes()));
    }
}
