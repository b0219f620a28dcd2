//! The word splitter of the full-text index: runs of letters and digits, like tantivy's
//! `SimpleTokenizer`, lowercased, optionally without a set of stop words (JSON key names,
//! see `index.rs`), all in one pass (no filter chain), except that
//!
//! - a UUID (`8-4-4-4-12` hex digits, as in CloudTrail's `eventID` and `requestID` or
//!   Kubernetes' `auditID`) is one word, so searching for an id matches one term instead
//!   of a five-word phrase;
//! - a word longer than [`FINGERPRINT_OVER`] bytes (UUIDs, hashes, session tokens, key
//!   material) is indexed as a fingerprint: `~` and 16 hex digits of the XXH3 of its
//!   lowercase form. Such words are nearly all unique, and the term dictionary's cost
//!   (space and build time) grows with their length; a fingerprint keeps exact,
//!   case-insensitive matching (the query is tokenized the same way) at a fixed 17 bytes.

use std::collections::HashSet;
use std::sync::Arc;

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Words longer than this many bytes are indexed as fingerprints.
pub const FINGERPRINT_OVER: usize = 24;

/// Words never indexed (already lowercase).
type StopWords = HashSet<&'static str, ahash::RandomState>;

/// Splits log text into lowercase words; UUIDs stay whole; long words become
/// fingerprints; stop words are skipped (their positions are kept, so a phrase does not
/// match across one).
#[derive(Clone, Default)]
pub struct LogTokenizer {
    token: Token,
    stop: Option<Arc<StopWords>>,
}

impl LogTokenizer {
    /// A tokenizer that skips `words` (given in lowercase).
    pub fn with_stop_words(words: &[&'static str]) -> Self {
        Self {
            token: Token::default(),
            stop: Some(Arc::new(words.iter().copied().collect())),
        }
    }
}

/// The words of one text.
pub struct LogTokenStream<'a> {
    text: &'a str,
    at: usize,
    token: &'a mut Token,
    stop: Option<&'a StopWords>,
}

impl Tokenizer for LogTokenizer {
    type TokenStream<'a> = LogTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> LogTokenStream<'a> {
        self.token.reset();
        LogTokenStream {
            text,
            at: 0,
            token: &mut self.token,
            stop: self.stop.as_deref(),
        }
    }
}

/// The length of a UUID starting at the beginning of `b`, if there is one (and it is not
/// followed by more letters or digits).
fn uuid_len(b: &[u8]) -> Option<usize> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut i = 0;
    for (g, n) in GROUPS.iter().enumerate() {
        if g > 0 {
            if b.get(i) != Some(&b'-') {
                return None;
            }
            i += 1;
        }
        for _ in 0..*n {
            if !b.get(i).is_some_and(u8::is_ascii_hexdigit) {
                return None;
            }
            i += 1;
        }
    }
    match b.get(i) {
        Some(c) if c.is_ascii_alphanumeric() => None,
        _ => Some(i),
    }
}

impl TokenStream for LogTokenStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            let rest = &self.text.as_bytes()[self.at..];
            // Skip separators (ASCII fast path; other characters decide by Unicode).
            let mut skip = 0;
            while skip < rest.len() {
                let b = rest[skip];
                if b.is_ascii_alphanumeric() {
                    break;
                }
                if b >= 0x80 {
                    let ch = self.text[self.at + skip..].chars().next().unwrap_or(' ');
                    if ch.is_alphanumeric() {
                        break;
                    }
                    skip += ch.len_utf8();
                } else {
                    skip += 1;
                }
            }
            if skip >= rest.len() {
                self.at = self.text.len();
                return false;
            }
            let start = self.at + skip;
            let tail = &self.text.as_bytes()[start..];
            let len = match uuid_len(tail) {
                Some(n) => n,
                None => {
                    let mut n = 0;
                    while n < tail.len() {
                        let b = tail[n];
                        if b.is_ascii_alphanumeric() {
                            n += 1;
                        } else if b >= 0x80 {
                            let ch = self.text[start + n..].chars().next().unwrap_or(' ');
                            if !ch.is_alphanumeric() {
                                break;
                            }
                            n += ch.len_utf8();
                        } else {
                            break;
                        }
                    }
                    n
                }
            };
            let end = start + len;
            self.at = end;
            self.token.position = self.token.position.wrapping_add(1);
            let word = &self.text[start..end];
            self.token.text.clear();
            if word.is_ascii() {
                self.token.text.push_str(word);
                self.token.text.make_ascii_lowercase();
            } else {
                self.token.text.push_str(&word.to_lowercase());
            }
            if self.token.text.len() > FINGERPRINT_OVER {
                let h = xxhash_rust::xxh3::xxh3_64(self.token.text.as_bytes());
                self.token.text.clear();
                use std::fmt::Write;
                let _ = write!(self.token.text, "~{h:016x}");
            } else if self
                .stop
                .is_some_and(|s| s.contains(self.token.text.as_str()))
            {
                continue;
            }
            self.token.offset_from = start;
            self.token.offset_to = end;
            return true;
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let mut t = LogTokenizer::default();
        let mut s = t.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            out.push(s.token().text.clone());
        }
        out
    }

    #[test]
    fn splits_words_and_keeps_uuids_whole() {
        let id = words("B9C3D881-1E77-426C-ABD3-5CA20D903380");
        assert_eq!(id.len(), 1);
        assert!(id[0].starts_with('~') && id[0].len() == 17);
        assert_eq!(
            words(r#"{"eventID":"b9c3d881-1e77-426c-abd3-5ca20d903380","user":"CI-Deployer"} Été"#),
            ["eventid", id[0].as_str(), "user", "ci", "deployer", "été"]
        );
        // Not quite a UUID: split as usual.
        assert_eq!(
            words("b9c3d881-1e77-426c-abd3-5ca20d90338x1"),
            ["b9c3d881", "1e77", "426c", "abd3", "5ca20d90338x1"]
        );
        assert_eq!(words("10.0.0.1:443"), ["10", "0", "0", "1", "443"]);
        assert!(words("  -- ").is_empty());
        // Long words: fingerprints, the same whatever the case.
        let long =
            "IQoJb3JpZ2luX2VjEGYaCXVzLWVhc3QtMSJGMEQCIGWKgbykBmpvw3C2tHFJG2Z2EFmm8TFxSMzImeEIU";
        assert_eq!(words(long), words(&long.to_lowercase()));
        assert_eq!(words(long)[0].len(), 17);
    }

    #[test]
    fn stop_words_are_skipped_keeping_positions() {
        let mut t = LogTokenizer::with_stop_words(&["eventid"]);
        let mut s = t.token_stream(r#"{"eventID":"x","user":"y"}"#);
        let mut got = Vec::new();
        while s.advance() {
            got.push((s.token().text.clone(), s.token().position));
        }
        assert_eq!(
            got,
            [
                ("x".to_string(), 1),
                ("user".to_string(), 2),
                ("y".to_string(), 3)
            ]
        );
    }
}
