//! # vigil-detect
//!
//! Vigil's detection engine: Sigma rules and Sigma correlation rules, compiled once into
//! a plan over Arrow columns and evaluated a whole [`RecordBatch`](arrow::array::RecordBatch)
//! at a time.

#![warn(missing_docs)]

pub mod bitmap;
pub mod cache;
pub mod cidr;
pub mod compile;
pub mod correlate;
pub mod engine;
mod error;
pub mod eval;
pub mod fields;
pub mod finding;
pub mod hits;
pub mod logsource;
pub mod pack;
pub mod rule;
pub mod suppress;
mod top_level;

pub use engine::{DetectStats, Detector, Engine, EngineOptions, detect_batch};
pub use error::{DetectError, Result};
pub use finding::Finding;
