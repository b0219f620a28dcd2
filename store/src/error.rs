//! The crate's error type.

use std::path::PathBuf;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file of the store could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The object store (S3) failed.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// Arrow failed (encoding or decoding a batch).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Writing or reading Parquet failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// The full-text index failed.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// A query was refused or failed.
    #[error("{0}")]
    Query(String),
    /// The store's metadata is not what this version expects (not a Vigil store, or
    /// damaged beyond what `vigil verify` reports).
    #[error("store metadata at {}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A batch given to the store does not have the table's schema.
    #[error("batch for table {table} does not have its schema: {reason}")]
    Schema {
        /// The table.
        table: String,
        /// What differs.
        reason: String,
    },
    /// Another writer extended the manifest at the same time; retry.
    #[error("manifest entry {0} was written by another writer")]
    Conflict(u64),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Wraps an I/O error with the action and path.
pub(crate) fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}
