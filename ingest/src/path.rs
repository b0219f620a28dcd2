//! Addressing fields by dotted path inside the verbatim JSON of an event.
//!
//! Nested CloudTrail objects (`requestParameters`, `responseElements`, ...), Kubernetes
//! `requestObject` and Falco `output_fields` are kept in the `raw` column rather than
//! flattened into columns. A dotted path like `requestParameters.ipPermissions.items`
//! reaches into them. Keys may themselves contain dots (Falco's `proc.cmdline`,
//! Kubernetes annotation keys like `authorization.k8s.io/decision`): at each level the
//! longest key that matches the next segments wins, so `output_fields.proc.cmdline` and
//! `annotations.authorization.k8s.io/decision` both resolve.

use simd_json::prelude::*;
use simd_json::tape::Value;

/// Looks up a dotted `path` in a parsed JSON value. Array elements are addressed by
/// numeric segments (`resources.0.ARN`).
pub fn lookup<'t, 'i>(v: Value<'t, 'i>, path: &str) -> Option<Value<'t, 'i>> {
    if path.is_empty() {
        return Some(v);
    }
    if let Some(obj) = v.as_object() {
        // Longest matching key first: try every prefix of the remaining path that ends
        // at a dot (or the end).
        let mut ends: Vec<usize> = path.match_indices('.').map(|(i, _)| i).collect();
        ends.push(path.len());
        for end in ends.into_iter().rev() {
            let key = &path[..end];
            if let Some(child) = obj.get(key) {
                let rest = if end == path.len() {
                    ""
                } else {
                    &path[end + 1..]
                };
                if let Some(found) = lookup(child, rest) {
                    return Some(found);
                }
            }
        }
        return None;
    }
    if let Some(arr) = v.as_array() {
        let (seg, rest) = match path.find('.') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (path, ""),
        };
        let idx: usize = seg.parse().ok()?;
        return lookup(arr.get(idx)?, rest);
    }
    None
}

/// The text of a value as detection and SQL see it: strings as themselves, numbers and
/// booleans in JSON form, objects and arrays as compact JSON, null as `None`.
pub fn value_text(v: Value<'_, '_>) -> Option<String> {
    if v.is_null() {
        return None;
    }
    if let Some(s) = v.as_str() {
        return Some(s.to_string());
    }
    Some(v.encode())
}

/// Extracts `path` from each event's verbatim JSON in `raw`, as text (see
/// [`value_text`]); rows that are not JSON or lack the path are null.
///
/// ```
/// use arrow::array::{Array, StringArray};
/// let raw = StringArray::from(vec![
///     r#"{"requestParameters":{"bucketName":"logs","versioning":{"Status":"Suspended"}}}"#,
///     r#"{"output_fields":{"proc.cmdline":"cat /etc/shadow"}}"#,
/// ]);
/// let bucket = vigil_ingest::path::extract_text(&raw, "requestParameters.bucketName");
/// assert_eq!(bucket.value(0), "logs");
/// assert!(bucket.is_null(1));
/// let cmd = vigil_ingest::path::extract_text(&raw, "output_fields.proc.cmdline");
/// assert_eq!(cmd.value(1), "cat /etc/shadow");
/// ```
pub fn extract_text(raw: &arrow::array::StringArray, path: &str) -> arrow::array::StringArray {
    let mut scratch = Vec::new();
    raw.iter()
        .map(|r| {
            let r = r?;
            scratch.clear();
            scratch.extend_from_slice(r.as_bytes());
            let tape = simd_json::to_tape(&mut scratch).ok()?;
            lookup(tape.as_value(), path).and_then(value_text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(json: &str, path: &str) -> Option<String> {
        let mut b = json.as_bytes().to_vec();
        let t = simd_json::to_tape(&mut b).unwrap();
        lookup(t.as_value(), path).and_then(value_text)
    }

    #[test]
    fn resolves_nested_dotted_and_indexed_paths() {
        let ev = r#"{"requestParameters":{"ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22}]}},
            "annotations":{"authorization.k8s.io/decision":"allow"},
            "resources":[{"ARN":"arn:aws:s3:::b"}]}"#;
        assert_eq!(
            get(ev, "requestParameters.ipPermissions.items").as_deref(),
            Some(r#"[{"ipProtocol":"tcp","fromPort":22}]"#)
        );
        assert_eq!(
            get(ev, "requestParameters.ipPermissions.items.0.fromPort").as_deref(),
            Some("22")
        );
        assert_eq!(
            get(ev, "annotations.authorization.k8s.io/decision").as_deref(),
            Some("allow")
        );
        assert_eq!(
            get(ev, "resources.0.ARN").as_deref(),
            Some("arn:aws:s3:::b")
        );
        assert_eq!(get(ev, "requestParameters.nope"), None);
    }

    #[test]
    fn prefers_the_longest_key() {
        let ev = r#"{"a":{"b":"short"},"a.b":"long"}"#;
        assert_eq!(get(ev, "a.b").as_deref(), Some("long"));
    }
}
