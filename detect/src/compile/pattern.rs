//! Sigma string values to Hyperscan expressions.
//!
//! A Sigma string is literal text with `*` (any run of characters) and `?` (one
//! character) wildcards; `\*`, `\?` and `\\` escape them, and a backslash before anything
//! else is itself. Modifiers anchor it (`plain`: whole value, `startswith`, `endswith`,
//! `contains`: anywhere) or transform it (`windash`, `base64`, `base64offset`, UTF-16)
//! before matching. Each value becomes one or more Hyperscan expressions (alternatives);
//! any alternative matching means the value matches.

use base64::Engine as _;

use crate::rule::{Modifiers, Op, Utf16};

/// One piece of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Lit(String),
    /// `*`
    Star,
    /// `?`
    One,
}

/// Splits a Sigma string into literal text and wildcards, applying the escapes.
pub fn pieces(s: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('*') | Some('?') | Some('\\') => {
                    lit.push(chars.next().unwrap_or('\\'));
                }
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    out.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                out.push(if c == '*' { Piece::Star } else { Piece::One });
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    out
}

/// A Hyperscan expression and whether it must be compiled case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Expr {
    /// The expression (PCRE syntax Hyperscan accepts).
    pub regex: String,
    /// Case-insensitive: matched against the value lowercased (and compiled caseless).
    pub caseless: bool,
    /// `re` flags.
    pub multiline: bool,
    /// `re` flag `s`, and every wildcard pattern (`*` spans newlines).
    pub dotall: bool,
    /// The expression can match an empty value.
    pub allow_empty: bool,
    /// Bytes of the expression are valid UTF-8 (enables Hyperscan's UTF-8 mode, so `?`
    /// and `.` match one character, not one byte).
    pub utf8: bool,
    /// A user regular expression (`re`), which Hyperscan may refuse.
    pub user_regex: bool,
}

/// Letters, digits, `_` and space stand for themselves; every other byte is written as
/// `\xHH`, which is always a literal in Hyperscan's syntax.
fn escape_byte(b: u8, out: &mut String) {
    if b.is_ascii_alphanumeric() || b == b'_' || b == b' ' {
        out.push(b as char);
    } else {
        out.push_str(&format!("\\x{b:02x}"));
    }
}

fn escape_literal(s: &[u8], out: &mut String) {
    for &b in s {
        escape_byte(b, out);
    }
}

/// The dash characters `windash` makes interchangeable.
const DASHES: [char; 5] = ['-', '/', '–', '—', '―'];

fn literal_regex(lit: &str, windash: bool, out: &mut String) {
    if !windash {
        escape_literal(lit.as_bytes(), out);
        return;
    }
    let mut buf = [0u8; 4];
    for c in lit.chars() {
        if DASHES.contains(&c) {
            out.push_str("(?:");
            for (i, d) in DASHES.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                escape_literal(d.encode_utf8(&mut buf).as_bytes(), out);
            }
            out.push(')');
        } else {
            escape_literal(c.encode_utf8(&mut buf).as_bytes(), out);
        }
    }
}

/// pySigma's `base64offset`: the three encodings of `value` at byte offsets 0, 1 and 2
/// of a longer base64 text, trimmed to the characters that do not depend on the
/// neighbouring bytes.
pub fn base64_offsets(value: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [isize; 3] = [0, -3, -2];
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(value);
            let enc = base64::engine::general_purpose::STANDARD.encode(&padded);
            let end = END[(value.len() + i) % 3];
            let stop = if end == 0 {
                enc.len()
            } else {
                (enc.len() as isize + end).max(0) as usize
            };
            enc.get(START[i]..stop.max(START[i]))
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn utf16(s: &str, e: Utf16) -> Vec<u8> {
    let mut out = Vec::new();
    if e == Utf16::Bom {
        out.extend_from_slice(&[0xff, 0xfe]);
    }
    for u in s.encode_utf16() {
        let b = if e == Utf16::Be {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        };
        out.extend_from_slice(&b);
    }
    out
}

/// The expressions for one string value under `mods` (string comparisons only: plain,
/// contains, startswith, endswith, re). `keyword` makes a plain value a `contains`
/// search, as Sigma keywords are.
pub fn exprs(value: &str, mods: &Modifiers, keyword: bool) -> Vec<Expr> {
    let caseless = !mods.cased;
    if let Op::Re { i, m, s } = mods.op {
        return vec![Expr {
            regex: value.to_string(),
            caseless: i,
            multiline: m,
            dotall: s,
            allow_empty: true,
            utf8: true,
            user_regex: true,
        }];
    }
    let op = if keyword && mods.op == Op::Eq {
        Op::Contains
    } else {
        mods.op
    };
    let (anchor_start, anchor_end) = match op {
        Op::Eq => (true, true),
        Op::StartsWith => (true, false),
        Op::EndsWith => (false, true),
        _ => (false, false),
    };
    // Encodings turn the value into bytes first; their output has no wildcards.
    let bodies: Vec<(Vec<u8>, bool)> = if mods.base64.is_some() || mods.utf16.is_some() {
        let bytes = match mods.utf16 {
            Some(e) => utf16(value, e),
            None => value.as_bytes().to_vec(),
        };
        match mods.base64 {
            Some(true) => base64_offsets(&bytes)
                .into_iter()
                .map(|s| (s.into_bytes(), true))
                .collect(),
            Some(false) => vec![(
                base64::engine::general_purpose::STANDARD
                    .encode(&bytes)
                    .into_bytes(),
                false,
            )],
            None => vec![(bytes, false)],
        }
    } else {
        Vec::new()
    };
    if !bodies.is_empty() {
        return bodies
            .into_iter()
            .map(|(b, offset)| {
                let (s, e) = if offset {
                    (false, false)
                } else {
                    (anchor_start, anchor_end)
                };
                let mut regex = String::new();
                if s {
                    regex.push_str("\\A");
                }
                let lowered;
                let body = if caseless {
                    lowered = b.to_ascii_lowercase();
                    &lowered
                } else {
                    &b
                };
                escape_literal(body, &mut regex);
                if e {
                    regex.push_str("\\z");
                }
                Expr {
                    utf8: std::str::from_utf8(&b).is_ok(),
                    allow_empty: b.is_empty(),
                    regex,
                    caseless,
                    multiline: false,
                    dotall: true,
                    user_regex: false,
                }
            })
            .collect();
    }
    let text = if caseless {
        value.to_lowercase()
    } else {
        value.to_string()
    };
    let ps = pieces(&text);
    let mut regex = String::new();
    if anchor_start {
        regex.push_str("\\A");
    }
    let mut can_be_empty = true;
    for p in &ps {
        match p {
            Piece::Lit(l) => {
                can_be_empty = false;
                literal_regex(l, mods.windash, &mut regex);
            }
            Piece::Star => regex.push_str(".*"),
            Piece::One => {
                can_be_empty = false;
                regex.push('.');
            }
        }
    }
    if anchor_end {
        regex.push_str("\\z");
    }
    vec![Expr {
        regex,
        caseless,
        multiline: false,
        dotall: true,
        allow_empty: can_be_empty,
        utf8: true,
        user_regex: false,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_specification() {
        assert_eq!(
            pieces(r"a*b?c"),
            vec![
                Piece::Lit("a".into()),
                Piece::Star,
                Piece::Lit("b".into()),
                Piece::One,
                Piece::Lit("c".into())
            ]
        );
        assert_eq!(pieces(r"a\*b"), vec![Piece::Lit("a*b".into())]);
        // `\\*`: a backslash, then a wildcard.
        assert_eq!(
            pieces(r"C:\\*"),
            vec![Piece::Lit(r"C:\".into()), Piece::Star]
        );
        // `\\\*`: a backslash and a literal star.
        assert_eq!(pieces(r"C:\\\*"), vec![Piece::Lit(r"C:\*".into())]);
        // A backslash before anything else is itself.
        assert_eq!(
            pieces(r"C:\Windows"),
            vec![Piece::Lit(r"C:\Windows".into())]
        );
        assert_eq!(pieces(r"\\\\"), vec![Piece::Lit(r"\\".into())]);
    }

    #[test]
    fn base64offset_matches_pysigma() {
        // pySigma's documented example: base64offset of "/bin/bash".
        assert_eq!(
            base64_offsets(b"/bin/bash"),
            vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
    }

    #[test]
    fn anchors_and_wildcards() {
        let m = Modifiers::default();
        assert_eq!(exprs("Get*Policy", &m, false)[0].regex, r"\Aget.*policy\z");
        let m = Modifiers {
            op: Op::StartsWith,
            ..Modifiers::default()
        };
        assert_eq!(exprs("s3.", &m, false)[0].regex, r"\As3\x2e");
        assert_eq!(exprs("evil", &Modifiers::default(), true)[0].regex, "evil");
    }
}
