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
    /// How a reported match is confirmed (plain literals are compiled unanchored, which
    /// Hyperscan compiles far faster, and the anchoring is checked on the match offset).
    pub check: Check,
}

impl Expr {
    /// Whether the expression is matched against a non-ASCII value lowercased (a Sigma
    /// value compared case-insensitively: Hyperscan folds ASCII case only). A `re|i`
    /// expression is compiled caseless but matched against the value as it is.
    pub fn scans_lowercased(&self) -> bool {
        self.caseless && !self.user_regex
    }

    /// ASCII text `s` anywhere, ASCII case ignored (the prefilter's texts).
    pub fn literal_anywhere(s: &str) -> Self {
        Self::bytes_anywhere(s.as_bytes())
    }

    /// Bytes `b` anywhere, ASCII case ignored, every occurrence reported
    /// ([`Check::Every`]): the gate bounds' literals, found in a whole column's text.
    pub fn every_occurrence(b: &[u8]) -> Self {
        Self {
            check: Check::Every,
            ..Self::bytes_anywhere(b)
        }
    }

    fn bytes_anywhere(b: &[u8]) -> Self {
        let mut regex = String::new();
        b.iter().for_each(|&b| escape_byte(b, &mut regex));
        Self {
            regex,
            caseless: true,
            multiline: false,
            dotall: false,
            allow_empty: false,
            utf8: false,
            user_regex: false,
            check: Check::Any,
        }
    }
}

/// How a Hyperscan match of an expression confirms the predicate, given the match's
/// end offset and the scanned text's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// Any match counts (the expression carries its own anchors, or none are needed).
    Any,
    /// A literal of this many bytes matching the whole text.
    Exact(usize),
    /// A literal of this many bytes at the start of the text.
    Prefix(usize),
    /// A literal ending at the end of the text.
    Suffix,
    /// Any match counts, and every match is reported, since where each one is matters
    /// (the prefilter's keys, see [`crate::compile::Prefilter::text_len`]).
    Every,
}

impl Check {
    /// Whether a match ending at `to` in a text of `len` bytes confirms the predicate.
    pub fn accepts(self, to: usize, len: usize) -> bool {
        match self {
            Check::Any | Check::Every => true,
            Check::Exact(l) => to == len && l == len,
            Check::Prefix(l) => to == l,
            Check::Suffix => to == len,
        }
    }

    /// Whether Hyperscan may report only the first match (it reports the earliest end
    /// offset, which is the one an exact or prefix match has).
    pub fn single_match(self) -> bool {
        !matches!(self, Check::Suffix | Check::Every)
    }
}

/// Text that occurs, ASCII case aside, in the verbatim JSON of any event in which some
/// value at a dotted path matches Sigma string `text` with modifiers `m`, when such text
/// can be named: the longest run of at least 3 "safe" characters, at least one a letter,
/// in the literal parts of `text`. Used to skip parsing events that cannot match
/// (`crate::compile::Prefilter`); `None` for modifiers that transform the value
/// (`re`, `base64`, UTF-16, `windash`, `expand`) and for values without such a run.
///
/// Why the text must occur, for an event whose JSON is ASCII and has no `\u` escape
/// (evaluation checks both, and parses any other event): a value the pattern matches
/// contains every literal part of `text` (ignoring case, which for ASCII text is ASCII
/// case). That value is the text of a JSON string, number, boolean, or an object or array
/// re-encoded as compact JSON. Safe characters exclude `"`, `\`, `/`, control characters
/// and `{}[],:`, so the run lies inside one string, number or keyword token of that text;
/// it has a letter, so not in a number (Rust writes integers and floats without letters);
/// and inside a string it is made of characters JSON writes unescaped (no `\u` in the
/// event), so the same bytes are in the event's JSON.
pub fn required_literal(text: &str, m: &Modifiers) -> Option<String> {
    if !matches!(m.op, Op::Eq | Op::Contains | Op::StartsWith | Op::EndsWith)
        || m.windash
        || m.utf16.is_some()
        || m.base64.is_some()
        || m.expand
        || m.fieldref
        || m.time_part.is_some()
    {
        return None;
    }
    let safe = |c: char| {
        c.is_ascii()
            && !c.is_ascii_control()
            && !matches!(c, '"' | '\\' | '/' | '{' | '}' | '[' | ']' | ',' | ':')
    };
    pieces(text)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Lit(s) => Some(s),
            _ => None,
        })
        .flat_map(|s| {
            s.split(|c: char| !safe(c))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|s| s.len() >= 3 && s.bytes().any(|b| b.is_ascii_alphabetic()))
        .max_by_key(|s| s.len())
}

/// Bytes that every value expression `e` matches contains, ASCII case aside: the longest
/// run of literal bytes the expression cannot match without, when it has one (at least
/// [`MIN_REQUIRED`] bytes). Evaluation uses it to look up a long column's values for the
/// gate leaves only where the bytes occur (`crate::compile::gate_bound`).
///
/// The expression is parsed with `regex-syntax` as written, without the case-insensitive
/// flag, in the mode Hyperscan compiles it in (UTF-8 or bytes). A literal required by
/// that parse is required, up to ASCII case, by the case-insensitive expression too, for
/// ASCII values (evaluation takes case-insensitive literals only on an all-ASCII
/// column). What is
/// required is found structurally: a literal requires itself, a group and a repetition
/// of at least one what their body requires, a concatenation what any one of its parts
/// requires (adjacent literals merged); alternations, classes and anything else require
/// nothing. An expression `regex-syntax` does not parse (PCRE syntax it lacks) requires
/// nothing either.
pub fn required_bytes(e: &Expr) -> Option<Vec<u8>> {
    use regex_syntax::hir::{Hir, HirKind};
    fn longest(h: &Hir) -> Option<Vec<u8>> {
        match h.kind() {
            HirKind::Literal(l) => Some(l.0.to_vec()),
            HirKind::Capture(c) => longest(&c.sub),
            HirKind::Repetition(r) if r.min >= 1 => longest(&r.sub),
            HirKind::Concat(parts) => {
                let mut best: Option<Vec<u8>> = None;
                let mut keep = |cand: Vec<u8>| {
                    if best.as_ref().is_none_or(|b| cand.len() > b.len()) {
                        best = Some(cand);
                    }
                };
                let mut run: Vec<u8> = Vec::new();
                for p in parts {
                    if let HirKind::Literal(l) = p.kind() {
                        run.extend_from_slice(&l.0);
                        continue;
                    }
                    if !run.is_empty() {
                        keep(std::mem::take(&mut run));
                    }
                    if let Some(inner) = longest(p) {
                        keep(inner);
                    }
                }
                if !run.is_empty() {
                    keep(run);
                }
                best
            }
            _ => None,
        }
    }
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(e.utf8)
        .utf8(e.utf8)
        .multi_line(e.multiline)
        .dot_matches_new_line(e.dotall)
        .build()
        .parse(&e.regex)
        .ok()?;
    longest(&hir).filter(|b| b.len() >= MIN_REQUIRED)
}

/// Shortest literal [`required_bytes`] names: shorter ones occur in too many values to
/// spare lookups.
pub const MIN_REQUIRED: usize = 3;

/// Letters, digits, `_` and space stand for themselves; every other byte is written as
/// `\xHH`, which is always a literal in Hyperscan's syntax.
fn escape_byte(b: u8, out: &mut String) {
    if b.is_ascii_alphanumeric() || b == b'_' || b == b' ' {
        out.push(b as char);
    } else {
        out.push_str(&format!("\\x{b:02x}"));
    }
}

/// A literal in Hyperscan's UTF-8 mode, where `\\xHH` would mean a code point: ASCII as
/// in [`escape_byte`], other characters as `\\x{CODEPOINT}`.
fn escape_utf8(s: &str, out: &mut String) {
    for c in s.chars() {
        if c.is_ascii() {
            escape_byte(c as u8, out);
        } else {
            out.push_str(&format!("\\x{{{:x}}}", c as u32));
        }
    }
}

fn escape_literal(s: &[u8], out: &mut String) {
    for &b in s {
        escape_byte(b, out);
    }
}

/// The dash characters `windash` makes interchangeable.
const DASHES: [char; 5] = ['-', '/', '–', '—', '―'];

/// A literal piece of a pattern compiled in UTF-8 mode (wildcards or windash present).
fn literal_regex(lit: &str, windash: bool, out: &mut String) {
    if !windash {
        escape_utf8(lit, out);
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
                escape_utf8(d.encode_utf8(&mut buf), out);
            }
            out.push(')');
        } else {
            escape_utf8(c.encode_utf8(&mut buf), out);
        }
    }
}

/// A plain literal (no wildcards): compiled unanchored in byte mode, the anchoring
/// checked on the match offset.
fn literal_expr(bytes: &[u8], op: Op, caseless: bool) -> Expr {
    let body: Vec<u8> = if caseless {
        bytes.to_ascii_lowercase()
    } else {
        bytes.to_vec()
    };
    let check = match op {
        Op::Eq => Check::Exact(body.len()),
        Op::StartsWith => Check::Prefix(body.len()),
        Op::EndsWith => Check::Suffix,
        _ => Check::Any,
    };
    let mut regex = String::new();
    escape_literal(&body, &mut regex);
    Expr {
        regex,
        caseless,
        multiline: false,
        dotall: false,
        allow_empty: false,
        utf8: false,
        user_regex: false,
        check,
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
            check: Check::Any,
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
                if b.is_empty() {
                    return empty_expr(if offset { Op::Contains } else { op });
                }
                literal_expr(&b, if offset { Op::Contains } else { op }, caseless)
            })
            .collect();
    }
    let text = if caseless {
        value.to_lowercase()
    } else {
        value.to_string()
    };
    let ps = pieces(&text);
    let wildcard = ps.iter().any(|p| !matches!(p, Piece::Lit(_)));
    if !wildcard && !mods.windash {
        let lit = match ps.first() {
            Some(Piece::Lit(l)) => l.as_str(),
            _ => "",
        };
        if lit.is_empty() {
            return vec![empty_expr(op)];
        }
        return vec![literal_expr(lit.as_bytes(), op, caseless)];
    }
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
        check: Check::Any,
    }]
}

/// An empty plain value: the empty text (plain), or any text (contains, startswith,
/// endswith: every value contains the empty string).
fn empty_expr(op: Op) -> Expr {
    Expr {
        regex: if op == Op::Eq {
            "\\A\\z".into()
        } else {
            "\\A".into()
        },
        caseless: false,
        multiline: false,
        dotall: false,
        allow_empty: true,
        utf8: false,
        user_regex: false,
        check: Check::Any,
    }
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
    fn required_bytes_of_literals_wildcards_and_regular_expressions() {
        let m = Modifiers::default();
        let req = |value: &str, m: &Modifiers| {
            exprs(value, m, false)
                .iter()
                .map(|e| required_bytes(e).map(|b| String::from_utf8_lossy(&b).into_owned()))
                .collect::<Vec<_>>()
        };
        let with = |op: Op| Modifiers {
            op,
            ..Modifiers::default()
        };
        // A plain literal (bytes mode, lowercased): itself, even with punctuation.
        assert_eq!(
            req("Assumed-Role/AWS:", &m),
            vec![Some("assumed-role/aws:".into())]
        );
        // Wildcards: the longest literal piece; too short a piece names nothing.
        assert_eq!(
            req("*:assumed-role/*", &m),
            vec![Some(":assumed-role/".into())]
        );
        assert_eq!(req("a*b?c", &m), vec![None]);
        // Non-ASCII characters in UTF-8 mode are their UTF-8 bytes.
        assert_eq!(req("*straße*", &m), vec![Some("straße".into())]);
        // windash: the dashes are alternatives, so the run stops at them.
        let windash = Modifiers {
            windash: true,
            op: Op::Contains,
            ..Modifiers::default()
        };
        assert_eq!(
            req("-encodedcommand", &windash),
            vec![Some("encodedcommand".into())]
        );
        // Regular expressions: SigmaHQ's IMDS rule, groups, repetitions, alternations.
        let re = with(Op::Re {
            i: false,
            m: false,
            s: false,
        });
        assert_eq!(
            req(".+:assumed-role/aws:.+", &re),
            vec![Some(":assumed-role/aws:".into())]
        );
        assert_eq!(req("^(abc)+x{2}de$", &re), vec![Some("abc".into())]);
        assert_eq!(req("(?:abcd)?xyz", &re), vec![Some("xyz".into())]);
        assert_eq!(req("abc|abd", &re), vec![None]);
        assert_eq!(req("\\.exe\\z", &re), vec![Some(".exe".into())]);
        // Case-insensitive inline flags turn letters into classes: nothing required.
        assert_eq!(req("(?i)abc", &re), vec![None]);
        // PCRE syntax regex-syntax lacks: nothing required.
        assert_eq!(req("\\Qa.b\\E", &re), vec![None]);
        // Empty values require nothing.
        assert_eq!(req("", &with(Op::Contains)), vec![None]);
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
        let plain = exprs("PutBucketPolicy", &m, false);
        assert_eq!(
            (plain[0].regex.as_str(), plain[0].check),
            ("putbucketpolicy", Check::Exact(15))
        );
        let sw = Modifiers {
            op: Op::StartsWith,
            ..Modifiers::default()
        };
        let e = &exprs("s3.", &sw, false)[0];
        assert_eq!((e.regex.as_str(), e.check), (r"s3\x2e", Check::Prefix(3)));
        assert_eq!(
            exprs("evil", &Modifiers::default(), true)[0].check,
            Check::Any
        );
        // Non-ASCII with wildcards: code points, as Hyperscan's UTF-8 mode reads them.
        assert_eq!(exprs("jos?é*", &m, false)[0].regex, r"\Ajos.\x{e9}.*\z");
        // Plain non-ASCII: bytes, compiled in byte mode.
        assert_eq!(exprs("é", &m, false)[0].regex, r"\xc3\xa9");
    }
}
