//! The crate's error type.

use std::path::PathBuf;

/// Errors that stop decoding of one input. Bad *records* are not errors: they become
/// [`DeadLetter`](crate::DeadLetter)s and decoding continues.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// An input path could not be opened or listed.
    #[error("cannot read input {}: {source}; check that it exists and is readable", path.display())]
    Input {
        /// The path that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Reading from an already opened input failed (not a truncated gzip stream, which
    /// becomes a dead letter, but a failing disk or a closed pipe).
    #[error("read error in {source_name} at byte {offset}: {source}")]
    Read {
        /// The input's display name.
        source_name: String,
        /// Decompressed byte offset reached.
        offset: u64,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The custom VPC flow log format given by the user is not usable.
    #[error("invalid VPC flow log format {format:?}: {reason}")]
    FlowFormat {
        /// The format string as given.
        format: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Building an Arrow batch failed. This is a bug in Vigil, not bad input.
    #[error("internal error building an Arrow batch for {kind}: {source}")]
    Arrow {
        /// Which source type's batch.
        kind: &'static str,
        /// The Arrow error.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// The consumer of decoded batches failed (for example the Parquet writer hit a full disk).
    #[error("output failed: {0}")]
    Sink(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, IngestError>;
