//! # vigil-detect
//!
//! Vigil's detection engine: Sigma rules and Sigma correlation rules, compiled once into
//! a plan over Arrow columns and evaluated a whole [`RecordBatch`](arrow::array::RecordBatch)
//! at a time.

#![warn(missing_docs)]

pub mod bitmap;
pub mod compile;
mod error;
pub mod eval;
pub mod fields;
pub mod logsource;
pub mod rule;

pub use error::{DetectError, Result};
