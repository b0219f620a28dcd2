//! # vigil-bench
//!
//! Deterministic generators of realistic security logs (CloudTrail, VPC flow logs,
//! Kubernetes audit events, Falco alerts) used by `vigil demo`, the tests and the
//! benchmarks under `benches/`.

#![warn(missing_docs)]

pub mod generate;

/// The shared third-party corpus used by tests and benchmarks: `$VIGIL_CORPUS`, else
/// `shared/corpus` next to the checkout (or one level up), else `/work/shared/corpus`.
pub fn corpus_dir() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("VIGIL_CORPUS") {
        return Some(p.into());
    }
    let ws = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    [
        ws.join("../shared/corpus"),
        ws.join("../../shared/corpus"),
        std::path::PathBuf::from("/work/shared/corpus"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}
