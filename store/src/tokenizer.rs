//! The word splitter of the full-text index: runs of letters and digits, like tantivy's
//! `SimpleTokenizer`, except that a UUID (`8-4-4-4-12` hex digits, as in CloudTrail's
//! `eventID` and `requestID` or Kubernetes' `auditID`) is one word. Searching for an id
//! then matches one term instead of a five-word phrase, and the index holds one mostly
//! unique term per id instead of five.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Splits log text into words; UUIDs stay whole.
#[derive(Clone, Default)]
pub struct LogTokenizer {
    token: Token,
}

/// The words of one text.
pub struct LogTokenStream<'a> {
    text: &'a str,
    at: usize,
    token: &'a mut Token,
}

impl Tokenizer for LogTokenizer {
    type TokenStream<'a> = LogTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> LogTokenStream<'a> {
        self.token.reset();
        LogTokenStream {
            text,
            at: 0,
            token: &mut self.token,
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
        let rest = &self.text[self.at..];
        let Some((skip, _)) = rest.char_indices().find(|(_, c)| c.is_alphanumeric()) else {
            self.at = self.text.len();
            return false;
        };
        let start = self.at + skip;
        let tail = &self.text[start..];
        let len = uuid_len(tail.as_bytes()).unwrap_or_else(|| {
            tail.char_indices()
                .find(|(_, c)| !c.is_alphanumeric())
                .map_or(tail.len(), |(i, _)| i)
        });
        let end = start + len;
        self.token.text.clear();
        self.token.text.push_str(&self.text[start..end]);
        self.token.offset_from = start;
        self.token.offset_to = end;
        self.token.position = self.token.position.wrapping_add(1);
        self.at = end;
        true
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
        assert_eq!(
            words(r#"{"eventID":"b9c3d881-1e77-426c-abd3-5ca20d903380","user":"ci-deployer"} été"#),
            [
                "eventID",
                "b9c3d881-1e77-426c-abd3-5ca20d903380",
                "user",
                "ci",
                "deployer",
                "été"
            ]
        );
        // Not quite a UUID: split as usual.
        assert_eq!(
            words("b9c3d881-1e77-426c-abd3-5ca20d90338x1"),
            ["b9c3d881", "1e77", "426c", "abd3", "5ca20d90338x1"]
        );
        assert_eq!(words("10.0.0.1:443"), ["10", "0", "0", "1", "443"]);
        assert!(words("  -- ").is_empty());
    }
}
