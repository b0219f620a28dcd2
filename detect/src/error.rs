//! The crate's error type.

use std::path::PathBuf;

/// Errors of the detection engine. A rule Vigil cannot support is not an error of the
/// engine: it is reported in [`crate::compile::LoadReport`] and the other rules load.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A rule file or folder could not be read.
    #[error("cannot read rules from {}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Hyperscan failed to build or run a database (a bug or resource problem, not bad
    /// input: patterns are validated one by one when rules load).
    #[error("hyperscan: {0}")]
    Hyperscan(String),
    /// An Arrow operation failed (a bug in Vigil).
    #[error("internal arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, DetectError>;
