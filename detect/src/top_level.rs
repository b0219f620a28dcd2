//! Which string tokens of a JSON text are at the top level of its root object, found by
//! walking the text's brackets and strings without parsing it.
//!
//! The [prefilter](crate::compile::Prefilter) finds a field's key anywhere in an event's
//! JSON text. A key found only inside nested objects does not make a top-level field
//! present: Kubernetes pod specs carry `capabilities` under every container's
//! `securityContext`, while SigmaHQ's privileged-pod rule reads a top-level
//! `capabilities`. Telling the two apart here spares parsing every pod creation.

use memchr::memchr2;

/// For each position of `starts` (ascending), whether a string token starts there at
/// depth 1: outside every string, inside the root object (or array) and no deeper.
/// Results are pushed to `out` in the order of `starts`; `out` is cleared first.
///
/// A position inside a string's text is not a token start (`false`). Where the text's
/// brackets do not balance before a position (the text is not valid JSON there), the
/// answer is `true`, which only means "may be present": the caller then parses.
pub(crate) fn top_level_strings(text: &[u8], starts: &[usize], out: &mut Vec<bool>) {
    out.clear();
    let n = text.len();
    let mut depth = 0i64;
    let mut i = 0usize;
    let mut k = 0usize;
    while k < starts.len() {
        // Positions passed over inside a string are no token starts.
        while k < starts.len() && starts[k] < i {
            out.push(false);
            k += 1;
        }
        if k == starts.len() {
            break;
        }
        if i >= n || depth < 0 {
            break;
        }
        let b = text[i];
        while k < starts.len() && starts[k] == i {
            out.push(depth == 1 && b == b'"');
            k += 1;
        }
        match b {
            b'"' => i = string_end(text, i + 1),
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                depth -= 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    // Past the end or after unbalanced brackets: unknown, so "may be present".
    out.resize(starts.len(), true);
}

/// The position after the string whose text starts at `from` (after its opening quote):
/// past the closing quote, skipping backslash escapes; `text.len()` when unterminated.
fn string_end(text: &[u8], from: usize) -> usize {
    let n = text.len();
    let mut j = from;
    while j < n {
        match memchr2(b'"', b'\\', &text[j..]) {
            None => return n,
            Some(o) if text[j + o] == b'\\' => j = (j + o + 2).min(n),
            Some(o) => return j + o + 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Positions of every occurrence of `needle` in `text`.
    fn positions(text: &str, needle: &str) -> Vec<usize> {
        text.match_indices(needle).map(|(i, _)| i).collect()
    }

    fn at_top(text: &str, needle: &str) -> Vec<bool> {
        let mut out = Vec::new();
        top_level_strings(text.as_bytes(), &positions(text, needle), &mut out);
        out
    }

    #[test]
    fn nested_keys_are_not_top_level() {
        // A Kubernetes pod creation: `capabilities` only under a container.
        let pod = r#"{"kind":"Event","verb":"create","requestObject":{"spec":{"containers":[{"securityContext":{"capabilities":{"add":["NET_ADMIN"]}}}]}},"stage":"ResponseComplete"}"#;
        assert_eq!(at_top(pod, r#""capabilities""#), [false]);
        assert_eq!(at_top(pod, r#""verb""#), [true]);
        assert_eq!(at_top(pod, r#""stage""#), [true]);
    }

    #[test]
    fn key_text_inside_strings_is_not_a_token() {
        // Escaped quotes and backslashes inside values; the key's text occurs in a
        // string at the top level and as a real top-level key after it.
        let text = r#"{"message":"a \"capabilities\" b \\","note":"x\\\"capabilities\"","capabilities":1}"#;
        let got = at_top(text, "capabilities");
        // Positions of the bare word: in a string (twice), then the real key's text
        // (inside its own quotes, so not a token start either).
        assert_eq!(got, [false, false, false]);
        assert_eq!(at_top(text, r#""capabilities""#), [true]);
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let text = r#"{"a":"}}]]","b":{"c":"{{[["},"d":2}"#;
        assert_eq!(at_top(text, r#""d""#), [true]);
        assert_eq!(at_top(text, r#""c""#), [false]);
    }

    #[test]
    fn unbalanced_or_truncated_text_may_hold_the_key() {
        // Closes more than it opens before the key: unknown.
        assert_eq!(at_top(r#"{}}"k":1}"#, r#""k""#), [true]);
        // The quote found is the one closing the string `"open "`: not a token start.
        assert_eq!(at_top(r#"{"a":"open "k":1}"#, r#""k""#), [false]);
        // An unterminated string swallows the rest.
        let mut out = Vec::new();
        top_level_strings(br#"{"a":"open, "#, &[10], &mut out);
        assert_eq!(out, [false]);
        // Positions past the end are unknown.
        let mut out = Vec::new();
        top_level_strings(b"{}", &[5], &mut out);
        assert_eq!(out, [true]);
    }

    /// JSON values with nesting, arrays, and strings full of quotes, backslashes and
    /// brackets (escaped as JSON escapes them), some long enough to cross 64-byte blocks.
    fn json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let text = || proptest::string::string_regex(r#"[a-z"\\{}\[\] :,]{0,80}"#).unwrap();
        let leaf = prop_oneof![
            text().prop_map(serde_json::Value::from),
            any::<i32>().prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                proptest::collection::vec((text(), inner), 0..6)
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// An object written member by member, with or without spaces around its
        /// punctuation, records where each top-level string starts (every key, and each
        /// value that is a string). Asked at every position of the text (and a few past
        /// its end), the walk answers `true` exactly there and past the end, whatever
        /// the nested values and the strings hold.
        #[test]
        fn walk_finds_exactly_the_top_level_strings(
            members in proptest::collection::vec((".{0,12}", json()), 0..8),
            spaced in proptest::prelude::any::<bool>(),
        ) {
            let gap = if spaced { " " } else { "" };
            let mut text = format!("{{{gap}");
            let mut expected = std::collections::BTreeSet::new();
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    text.push_str(&format!(",{gap}"));
                }
                expected.insert(text.len());
                text.push_str(&serde_json::Value::from(key.as_str()).to_string());
                text.push_str(&format!("{gap}:{gap}"));
                if value.is_string() {
                    expected.insert(text.len());
                }
                text.push_str(&value.to_string());
            }
            text.push_str(&format!("{gap}}}"));
            let starts: Vec<usize> = (0..text.len() + 3).collect();
            let mut out = Vec::new();
            top_level_strings(text.as_bytes(), &starts, &mut out);
            let want: Vec<bool> = starts
                .iter()
                .map(|p| expected.contains(p) || *p >= text.len())
                .collect();
            proptest::prop_assert_eq!(out, want, "{}", text);
        }
    }
}
