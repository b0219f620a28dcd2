//! `vigil demo`: Vigil's main job on an embedded default — generate a realistic
//! dataset with the built-in generator, ingest it, print the summary.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use vigil_bench::generate::{GenConfig, write_dataset};
use vigil_ingest::{Format, input};

use crate::cli::ingest::{decoder_config, default_threads, exit_code, report};
use crate::output::{DeadLetterOut, ParquetOut};
use crate::pipeline::{self, Msg};

/// Arguments of `vigil demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Working directory for the generated data and the Parquet output (default: a
    /// temporary directory, removed at the end).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Approximate size of the generated dataset, in megabytes.
    #[arg(long, default_value_t = 50)]
    pub size_mb: u64,
    /// Generator seed (same seed, same data).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print the statistics as JSON on stdout too.
    #[arg(long)]
    pub stats_json: bool,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
            tmp.path().to_path_buf()
        }
    };
    let data = dir.join("data");
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let cfg = GenConfig {
        seed: args.seed,
        ..GenConfig::default()
    };
    eprintln!(
        "vigil demo: generating ~{} MB of CloudTrail, VPC flow, Kubernetes audit and Falco data in {}",
        args.size_mb,
        data.display()
    );
    let manifest = write_dataset(&data, &cfg, args.size_mb * 1_000_000)
        .with_context(|| format!("generating data in {}", data.display()))?;
    let inputs = input::expand(std::slice::from_ref(&data))?;
    let dcfg = decoder_config(Format::Auto, None, 64 << 20)?;
    let out = dir.join("out");
    let mut parquet = ParquetOut::new(&out)?;
    let mut dead = DeadLetterOut::file(&out.join("dead-letter.ndjson"))?;
    let summary = pipeline::run(inputs, &dcfg, default_threads(), |msg| {
        match msg {
            Msg::Flush(f) => {
                for b in &f.batches {
                    parquet.write(b)?;
                }
            }
            Msg::Dead(dl) => dead.write(&dl)?,
        }
        Ok(())
    })?;
    let written = parquet.close()?;
    dead.close()?;
    report(&summary, args.stats_json);
    let mut scenarios: Vec<&str> = manifest.attacks.iter().map(|a| a.scenario).collect();
    scenarios.sort_unstable();
    scenarios.dedup();
    eprintln!(
        "vigil demo: the data holds {} planted attack steps in {} scenarios ({}); Parquet output:",
        manifest.attacks.len(),
        scenarios.len(),
        scenarios.join(", ")
    );
    for p in &written {
        eprintln!("  {}", p.display());
    }
    if args.dir.is_none() {
        eprintln!("vigil demo: (temporary directory removed; pass --dir to keep the data)");
    }
    Ok(exit_code(&summary))
}
