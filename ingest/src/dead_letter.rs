//! Rejected records.

use serde::Serialize;

/// A record Vigil could not turn into an event, with where it came from and why.
/// Written one JSON object per line to `dead-letter.ndjson`; nothing rejected is dropped
/// silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// The input's display name (file path, `-` for stdin).
    pub source: String,
    /// 1-based line of the record's first byte in the (decompressed) input.
    pub line: u64,
    /// Byte offset of the record's first byte in the (decompressed) input.
    pub offset: u64,
    /// Why the record was rejected, naming the field or construct at fault.
    pub reason: String,
    /// The record's text (lossily decoded as UTF-8), cut to the decoder's
    /// `max_record_bytes`; empty when the bytes were lost (truncated compression stream).
    pub record: String,
    /// Whether `record` was cut short.
    pub truncated: bool,
}

impl DeadLetter {
    /// This dead letter as one line of JSON (no trailing newline).
    pub fn to_json_line(&self) -> String {
        // Serializing a struct of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
