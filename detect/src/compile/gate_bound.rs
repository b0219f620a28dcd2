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
//! literal of `n` bytes only if `len <= 4 * n`.
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
                lengths.add(n, expr.scans_lowercased());
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
    /// A value that is not ASCII may equal a case-insensitive literal once lowercased if it
    /// has at most this many bytes (0: no case-insensitive literal).
    lowered_max: usize,
}

impl LenBound {
    /// Whether no length is admitted (there are no exact literals).
    pub fn is_empty(&self) -> bool {
        self.exact.iter().all(|&w| w == 0)
    }

    /// Adds an exact literal of `n` bytes (`caseless`: compared case-insensitively).
    pub fn add(&mut self, n: usize, caseless: bool) {
        if self.exact.len() <= n / 64 {
            self.exact.resize(n / 64 + 1, 0u64);
        }
        self.exact[n / 64] |= 1 << (n % 64);
        if caseless {
            self.lowered_max = self.lowered_max.max(n.saturating_mul(4));
        }
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
