//! # vigil-store
//!
//! Vigil's append-only, tamper-evident store of events and findings, in one data
//! directory (and, optionally, an S3 bucket):
//!
//! - **Open segment** ([`wal`]): appends go to a write-ahead log and are acknowledged
//!   once durable (fsync policy in [`settings::Settings::fsync`]); a crash loses nothing
//!   acknowledged.
//! - **Sealed segments** ([`segment`], [`index`]): Parquet files per table, partitioned by
//!   UTC date Hive-style (`tables/<table>/date=YYYY-MM-DD/part-<segment>.parquet`), a
//!   tantivy full-text index (`index/<segment>/`) and the list of row ids
//!   (`ids/<segment>.bin`).
//! - **Manifest** ([`manifest`]): a SHA-256 hash chain of entries, one per sealed segment
//!   or retention run, each listing its files' hashes and time ranges; optionally signed
//!   with Ed25519. [`manifest::verify`] recomputes it.
//! - **Dedup** ([`ids`]): a row is stored once per `event_uid` / `finding_id`.
//! - **Queries** ([`query`]): DataFusion SQL over the sealed Parquet files and the open
//!   segment, read-only, with a `search(table, query)` table function over the indexes.
//!
//! There is no API to update or delete a row: retention removes whole expired segments
//! and records each removal in the manifest and the `audit` table.

#![warn(missing_docs)]

pub mod backend;
mod error;
pub mod ids;
pub mod index;
pub mod manifest;
pub mod query;
pub mod reader;
pub mod segment;
pub mod settings;
mod store;
pub mod tables;
pub mod tokenizer;
pub mod wal;

pub use error::{Result, StoreError};
pub use store::{Appended, LOCK_FILE, Recovery, Store, WAL_FILE, backend, live_segments, now_us};
