//! `vigil demo`: Vigil's main job on an embedded default — generate a realistic
//! dataset with the built-in generator (with a planted attack story), ingest it into
//! Parquet, run the shipped detection pack over it, and print what was found.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use vigil_bench::generate::{GenConfig, write_dataset};
use vigil_detect::correlate::CorrelationConfig;
use vigil_detect::{Finding, detect_batch};
use vigil_ingest::{Format, input};

use crate::cli::detect::report_detection;
use crate::cli::ingest::{decoder_config, default_threads, exit_code, report};
use crate::cli::rules::RuleArgs;
use crate::output::{DeadLetterOut, ParquetOut};
use crate::pipeline::{self, Msg};

/// Arguments of `vigil demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Working directory for the generated data and the output (default: a temporary
    /// directory, removed at the end).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Approximate size of the generated dataset, in megabytes.
    #[arg(long, default_value_t = 50)]
    pub size_mb: u64,
    /// Generator seed (same seed, same data).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print the ingest statistics as JSON on stdout too.
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
    let engine = RuleArgs::default().engine(CorrelationConfig {
        allowed_lateness_secs: None,
        ..Default::default()
    })?;
    let plan = engine.plan().clone();
    let mut detector = engine.detector();
    let out = dir.join("out");
    let mut parquet = ParquetOut::new(&out)?;
    let mut dead = DeadLetterOut::file(&out.join("dead-letter.ndjson"))?;
    let findings_path = out.join("findings.ndjson");
    let mut findings_file = std::io::BufWriter::new(
        std::fs::File::create(&findings_path)
            .with_context(|| format!("cannot create {}", findings_path.display()))?,
    );
    let mut all: Vec<Finding> = Vec::new();
    let summary = pipeline::run_with(
        inputs,
        &dcfg,
        default_threads(),
        || Ok(engine.evaluator()?),
        |ev, flush| {
            let mut hits = Vec::new();
            for b in &flush.batches {
                hits.extend(detect_batch(&plan, ev, b)?);
            }
            Ok(hits)
        },
        |msg| {
            match msg {
                Msg::Flush(f, hits) => {
                    for b in &f.batches {
                        parquet.write(b)?;
                    }
                    all.extend(detector.push(hits));
                }
                Msg::Dead(dl) => dead.write(&dl)?,
            }
            Ok(())
        },
    )?;
    all.extend(detector.finish());
    for f in &all {
        serde_json::to_writer(&mut findings_file, f)?;
        findings_file.write_all(b"\n")?;
    }
    findings_file.flush()?;
    let written = parquet.close()?;
    dead.close()?;
    report(&summary, args.stats_json);
    let mut levels: BTreeMap<vigil_detect::rule::Level, u64> = BTreeMap::new();
    for f in &all {
        *levels.entry(f.level).or_default() += 1;
    }
    report_detection(detector.stats(), &levels.into_iter().collect::<Vec<_>>());

    // What was found, most severe first.
    let mut by_rule: BTreeMap<
        (std::cmp::Reverse<vigil_detect::rule::Level>, String),
        (u64, String),
    > = BTreeMap::new();
    for f in &all {
        let e = by_rule
            .entry((std::cmp::Reverse(f.level), f.rule_title.clone()))
            .or_insert((0, f.time.clone()));
        e.0 += 1;
    }
    eprintln!("vigil demo: findings by rule (medium and above):");
    for ((level, title), (n, first)) in by_rule
        .iter()
        .filter(|((l, _), _)| l.0 >= vigil_detect::rule::Level::Medium)
    {
        eprintln!("  {:<8} {:>5} x {title} (first {first})", level.0.name(), n);
    }
    let mut scenarios: Vec<&str> = manifest.attacks.iter().map(|a| a.scenario).collect();
    scenarios.sort_unstable();
    scenarios.dedup();
    eprintln!(
        "vigil demo: the generated data holds {} planted attack steps ({}); findings in {}",
        manifest.attacks.len(),
        scenarios.join(", "),
        findings_path.display()
    );
    for p in &written {
        eprintln!("vigil demo: wrote {}", p.display());
    }
    if args.dir.is_none() {
        eprintln!("vigil demo: (temporary directory removed; pass --dir to keep the data)");
    }
    Ok(exit_code(&summary))
}
