//! Which values can satisfy a long string field's gate leaves, told without looking each
//! value up: by its length, when the leaf is an exact literal (`userAgent: 'TruffleHog'`),
//! or by a literal it must contain (`userIdentity.arn|re: '.+:assumed-role/aws:.+'`).
//!
//! A field some rule is gated on is read on every row, because the rule is false only
//! where none of its gate leaves holds. When every gate leaf on the field has such a
//! bound, evaluation decides those leaves on every row by looking up only the values
//! that fit, and reads the field's other leaves lazily, like a field no rule is gated on
//! (`crate::eval`, phase 1). With SigmaHQ's CloudTrail rules this spares the user agent
//! of nearly every row, which only the TruffleHog rule is gated on, and the ARN, which
//! only the IMDS credential rule is.
//!
//! Why a length bound is sound: an equality literal of `n` bytes is compiled as
//! [`Check::Exact`]`(n)`, which accepts a match only when the text scanned has exactly
//! `n` bytes. The text scanned is the value itself, except for case-insensitive patterns
//! on a value that is not ASCII, which are matched against the value lowercased
//! (`crate::eval::scan_and_remember`). Lowercasing turns each character into at least
//! one character, and a character has at most 4 bytes in UTF-8, so such a value of
//! `len` bytes lowercases to at least `len / 4` bytes: it can equal a case-insensitive
//! literal of `n` bytes only if `len <= 4 * n`. When the literal is ASCII (nearly always)
//! the bound is exact: a value that lowercases to ASCII text has only characters that
//! lowercase to ASCII, and the only such character outside ASCII is the Kelvin sign
//! `U+212A`, 3 bytes that lowercase to `k` (the test
//! `only_the_kelvin_sign_lowercases_to_ascii` checks every character). So a value that is
//! not ASCII can equal an ASCII literal of `n` bytes with `k` of its letters `k` only if
//! it has `n + 2 * j` bytes, for `j` from 1 to `k`: for a literal without a `k`
//! (`trufflehog`), only values of `n` bytes, and a column's values are bounded by their
//! lengths alone, none of their bytes read.
//!
//! Why a literal bound is sound: every value a pattern matches contains its literal
//! ([`super::pattern::required_bytes`]), exactly for a case-sensitive pattern (which is
//! matched against the value as it is, ASCII or not), and up to ASCII case for a
//! case-insensitive one on an ASCII value; evaluation takes case-insensitive literals only
//! on a column whose text is all ASCII. The values that contain a literal are found by
//! one pass over the column's text, where a match that spans two values only adds a
//! value to look up.

use hyperscan::BlockMode;
use hyperscan::prelude::*;

use super::FieldDb;
use super::pattern::{Check, Expr, required_bytes};
use crate::{DetectError, Result};

/// What a value must have to satisfy one of a field's gate leaves: a length that can
/// equal an exact literal, or one of the literals the other gate patterns require.
pub struct GateBound {
    /// Lengths of the exact literals (empty when there are none).
    pub lengths: LenBound,
    /// Literals the gate patterns that are not exact literals require, if any.
    pub literals: Option<Literals>,
}

/// Texts some value must contain, found in a column's text: by `memchr`'s substring
/// search when every text is case-sensitive and there are few of them (a regular
/// expression's literal, as in SigmaHQ's IMDS rule: detection at 5,000 rules gained
/// 14–17% this way, 9–10% with a Hyperscan scan of the same text), otherwise by one
/// caseless Hyperscan database of them all.
pub enum Literals {
    /// Case-sensitive texts, each searched for on its own.
    Exact(Vec<memchr::memmem::Finder<'static>>),
    /// Texts some of which are case-insensitive: every one caseless, unanchored.
    Caseless(BlockDatabase),
}

/// Most case-sensitive texts searched for one by one: past it one Hyperscan scan is
/// cheaper than that many passes over the text.
const EXACT_MAX: usize = 4;

impl GateBound {
    /// The bound for the gate leaves among `field_leaves` (one field's leaves; `is_gate`:
    /// per leaf of the source, whether some rule is gated on it), from the field's
    /// patterns `db`, if every gate pattern is an exact literal or requires a literal;
    /// `None` otherwise (or when there are no gate leaves).
    pub fn of(db: &FieldDb, field_leaves: &[u32], is_gate: &[bool]) -> Result<Option<Self>> {
        let mut lengths = LenBound::default();
        let mut texts: Vec<(Vec<u8>, bool)> = Vec::new();
        let mut seen = vec![false; is_gate.len()];
        for (id, leaves) in db.leaves_of.iter().enumerate() {
            if !leaves.iter().any(|&l| is_gate[l as usize]) {
                continue;
            }
            let expr = &db.exprs[id];
            if let Check::Exact(n) = expr.check {
                let literal = required_bytes(expr).filter(|t| t.len() == n);
                lengths.add(n, literal.as_deref(), expr.scans_lowercased());
            } else {
                let Some(text) = required_bytes(expr) else {
                    return Ok(None);
                };
                let text = (text, expr.caseless);
                if !texts.contains(&text) {
                    texts.push(text);
                }
            }
            leaves
                .iter()
                .filter(|&&l| is_gate[l as usize])
                .for_each(|&l| seen[l as usize] = true);
        }
        // A gate leaf with no pattern in the database (a regular expression only the
        // `regex` crate compiles, a test that is not a string match) has no bound.
        let mut gates = field_leaves
            .iter()
            .filter(|&&l| is_gate[l as usize])
            .peekable();
        if gates.peek().is_none() || !gates.all(|&l| seen[l as usize]) {
            return Ok(None);
        }
        let literals = if texts.is_empty() {
            None
        } else if texts.len() <= EXACT_MAX && texts.iter().all(|(_, caseless)| !caseless) {
            Some(Literals::Exact(
                texts
                    .iter()
                    .map(|(t, _)| memchr::memmem::Finder::new(t).into_owned())
                    .collect(),
            ))
        } else {
            let pats = texts
                .iter()
                .enumerate()
                .map(|(i, (t, _))| super::hs_pattern(&Expr::every_occurrence(t), i))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(DetectError::Hyperscan)?;
            let db = Patterns(pats)
                .build::<BlockMode>()
                .map_err(|e| DetectError::Hyperscan(e.to_string()))?;
            Some(Literals::Caseless(db))
        };
        Ok(Some(Self { lengths, literals }))
    }
}

/// The lengths a value must have to equal one of a field's exact gate literals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LenBound {
    /// Bit `n` set: a value of exactly `n` bytes may equal a literal.
    exact: Vec<u64>,
    /// Bit `n` set: a value of `n` bytes that is not ASCII may equal a case-insensitive
    /// ASCII literal once lowercased (written with Kelvin signs where the literal has a
    /// `k`; see the module docs).
    lowered: Vec<u64>,
    /// A value that is not ASCII may equal a case-insensitive literal that is not ASCII
    /// (or whose text is not known) once lowercased if it has at most this many bytes (0:
    /// no such literal).
    lowered_max: usize,
}

/// Sets bit `n` of `bits`.
fn set_bit(bits: &mut Vec<u64>, n: usize) {
    if bits.len() <= n / 64 {
        bits.resize(n / 64 + 1, 0u64);
    }
    bits[n / 64] |= 1 << (n % 64);
}

/// Whether bit `n` of `bits` is set.
#[inline]
fn bit(bits: &[u64], n: usize) -> bool {
    bits.get(n / 64).is_some_and(|w| (w >> (n % 64)) & 1 == 1)
}

impl LenBound {
    /// Whether no length is admitted (there are no exact literals).
    pub fn is_empty(&self) -> bool {
        self.exact.iter().all(|&w| w == 0)
    }

    /// Adds an exact literal of `n` bytes (`caseless`: compared case-insensitively),
    /// whose bytes are `literal` when known.
    pub fn add(&mut self, n: usize, literal: Option<&[u8]>, caseless: bool) {
        set_bit(&mut self.exact, n);
        if !caseless {
            return;
        }
        match literal.filter(|t| t.len() == n && t.is_ascii()) {
            Some(t) => {
                let ks = t.iter().filter(|b| b.eq_ignore_ascii_case(&b'k')).count();
                (1..=ks).for_each(|j| set_bit(&mut self.lowered, n + 2 * j));
            }
            None => self.lowered_max = self.lowered_max.max(n.saturating_mul(4)),
        }
    }

    /// Whether `value` may satisfy one of the leaves (when `false`, none holds on it).
    /// Its bytes are read only when its length could be that of a value that is not
    /// ASCII and lowercases to a literal.
    #[inline]
    pub fn admits(&self, value: &[u8]) -> bool {
        let n = value.len();
        self.admits_ascii(n)
            || ((n <= self.lowered_max || bit(&self.lowered, n)) && !value.is_ascii())
    }

    /// Whether every value, ASCII or not, is told by its length alone
    /// ([`Self::admits_ascii`]): there is no case-insensitive literal a value that is not
    /// ASCII could lowercase to at another length.
    pub fn by_length_alone(&self) -> bool {
        self.lowered_max == 0 && self.lowered.iter().all(|&w| w == 0)
    }

    /// [`Self::admits`] for an ASCII value of `n` bytes, told by its length alone.
    #[inline]
    pub fn admits_ascii(&self, n: usize) -> bool {
        bit(&self.exact, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(exact: &[usize], lowered_max: usize) -> LenBound {
        let mut b = LenBound {
            exact: Vec::new(),
            lowered: Vec::new(),
            lowered_max,
        };
        for &n in exact {
            set_bit(&mut b.exact, n);
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
        assert!(bound(&[10], 0).by_length_alone());
        assert!(!b.by_length_alone());
    }

    #[test]
    fn an_ascii_literal_admits_non_ascii_values_only_with_kelvin_signs_for_its_ks() {
        let mut b = LenBound::default();
        b.add(10, Some(b"trufflehog"), true);
        assert!(b.admits(b"TruffleHog"));
        // No `k` in the literal: no value that is not ASCII can lowercase to it, and no
        // other length is admitted.
        assert!(!b.admits("TruffleHög".as_bytes()));
        assert!(!b.admits("TruffleHo\u{212A}".as_bytes()));
        assert!(!b.admits(b"trufflehog/3.1"));
        let mut k = LenBound::default();
        k.add(8, Some(b"kubectl "), true);
        k.add(3, Some(b"KeK"), true);
        // One Kelvin sign for the one `k`: 8 + 2 bytes.
        assert!(k.admits("\u{212A}ubectl ".as_bytes()));
        assert_eq!("\u{212A}ubectl ".to_lowercase(), "kubectl ");
        // Two for "kek": 3 + 4 bytes; one: 3 + 2.
        assert!(k.admits("\u{212A}e\u{212A}".as_bytes()));
        assert!(k.admits("\u{212A}ek".as_bytes()));
        // An ASCII value of such a length is not admitted (it lowercases to itself).
        assert!(!k.admits(b"kubectl ab"));
        // The length of two Kelvin signs for "kubectl " is not admitted.
        assert!(!k.admits("\u{212A}\u{212A}ubectl".as_bytes()));
        // A literal whose text is not known, or not ASCII: every value of up to 4 bytes a
        // byte that is not ASCII.
        let mut u = LenBound::default();
        u.add(5, None, true);
        assert!(u.admits("ÄÄÄ".as_bytes()));
        assert!(!u.admits(b"abcdefg"));
    }

    #[test]
    fn only_the_kelvin_sign_lowercases_to_ascii() {
        // The soundness argument of the lengths admitted for ASCII literals (module docs).
        let to_ascii: Vec<char> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| c.to_lowercase().all(|l| l.is_ascii()))
            .collect();
        assert_eq!(to_ascii, vec!['\u{212A}']);
        assert_eq!('\u{212A}'.len_utf8(), 3);
        assert_eq!('\u{212A}'.to_lowercase().to_string(), "k");
        // Lowercasing a whole string maps it character by character (final sigma aside,
        // which lowercases to a letter that is not ASCII).
        assert_eq!("\u{212A}EY".to_lowercase(), "key");
    }
}
