//! Helpers shared by the end-to-end tests of the `vigil` binary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The shared corpus (see [`vigil_bench::corpus_dir`]).
pub fn corpus() -> PathBuf {
    vigil_bench::corpus_dir().expect("the shared corpus (../shared/corpus or $VIGIL_CORPUS)")
}

/// The `vigil` binary with `args`, not yet run.
pub fn vigil_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    c.args(args);
    c
}

/// Runs the `vigil` binary with `args`.
pub fn vigil(args: &[&str]) -> Output {
    vigil_cmd(args).output().expect("vigil runs")
}

/// Each stdout line parsed as JSON.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
