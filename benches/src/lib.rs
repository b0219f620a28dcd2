//! # vigil-bench
//!
//! Deterministic generators of realistic security logs (CloudTrail, VPC flow logs,
//! Kubernetes audit events, Falco alerts) used by `vigil demo`, the tests and the
//! benchmarks under `benches/`.

#![warn(missing_docs)]

pub mod generate;
