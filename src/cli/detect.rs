//! `vigil detect`: run Sigma rules over logs; findings as JSON lines on stdout.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use vigil_detect::compile::Compiled;
use vigil_detect::correlate::CorrelationConfig;
use vigil_detect::eval::Evaluator;
use vigil_detect::hits::Hits;
use vigil_detect::rule::Level;
use vigil_detect::{DetectStats, Finding, detect_batch};
use vigil_ingest::{Flush, Format, input};

use crate::cli::ingest::{decoder_config, default_threads, exit_code, report};
use crate::cli::rules::RuleArgs;
use crate::pipeline::{self, Msg};

/// Arguments of `vigil detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Input format: auto, cloudtrail, vpcflow, k8s-audit or falco.
    #[arg(long, default_value = "auto")]
    pub format: Format,
    /// Decoding and detection threads.
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
    /// VPC flow log format for input without a header line.
    #[arg(long, value_name = "FIELDS")]
    pub vpcflow_format: Option<String>,
    /// How far behind the newest event an event may arrive and still be correlated
    /// (e.g. 5m). Default: unlimited, as inputs are whole files.
    #[arg(long, value_name = "DURATION")]
    pub allowed_lateness: Option<String>,
    /// Groups a correlation rule keeps; past it the least recently seen group is evicted
    /// (counted, and logged on stderr).
    #[arg(long, value_name = "N", default_value_t = CorrelationConfig::default().max_groups)]
    pub max_groups: usize,
    /// Events a correlation group keeps; past it the oldest are dropped (counted, and logged
    /// on stderr).
    #[arg(long, value_name = "N", default_value_t = CorrelationConfig::default().max_entries)]
    pub max_entries: usize,
    /// Print run statistics as JSON on stderr at the end.
    #[arg(long)]
    pub stats_json: bool,
    /// Files, folders or - for stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// Correlation settings from a lateness flag.
pub fn correlation_config(lateness: Option<&str>) -> Result<CorrelationConfig> {
    let allowed_lateness_secs = match lateness {
        None => None,
        Some(s) => Some(
            vigil_detect::rule::parse::parse_duration(s)
                .map_err(|e| anyhow::anyhow!("--allowed-lateness: {e}"))?,
        ),
    };
    Ok(CorrelationConfig {
        allowed_lateness_secs,
        ..CorrelationConfig::default()
    })
}

/// Detects every batch of a decoder flush: the per-thread step of a detecting pipeline.
pub fn detect_flush(plan: &Compiled, ev: &mut Evaluator, flush: &Flush) -> Result<Vec<Hits>> {
    flush
        .batches
        .iter()
        .map(|b| Ok(detect_batch(plan, ev, b)?))
        .collect()
}

/// Findings per level, lowest level first, for [`report_detection`].
pub fn level_counts(findings: &[Finding]) -> Vec<(Level, u64)> {
    let mut levels: std::collections::BTreeMap<Level, u64> = Default::default();
    for f in findings {
        *levels.entry(f.level).or_default() += 1;
    }
    levels.into_iter().collect()
}

/// Prints the detection summary on stderr.
pub fn report_detection(stats: &DetectStats, levels: &[(vigil_detect::rule::Level, u64)]) {
    let by_level: Vec<String> = levels
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(l, n)| format!("{} {n}", l.name()))
        .collect();
    eprintln!(
        "vigil: {} findings ({}) from {} rule matches; {} suppressed repeats; {} correlation findings{}",
        stats.findings,
        if by_level.is_empty() {
            "none".into()
        } else {
            by_level.join(", ")
        },
        stats.hits,
        stats.suppressed,
        stats.correlation.findings,
        match stats.correlation.internal_findings {
            0 => String::new(),
            n => format!(" (and {n} of intermediate steps that only feed other correlations)"),
        }
    );
    let c = &stats.correlation;
    if c.late_events + c.evicted_groups + c.dropped_entries > 0 {
        eprintln!(
            "vigil: correlation: {} late events not correlated, {} groups evicted, {} window entries dropped",
            c.late_events, c.evicted_groups, c.dropped_entries
        );
    }
}

/// Runs `vigil detect`.
pub fn run(args: DetectArgs) -> Result<ExitCode> {
    if args.threads == 0 {
        bail!("--threads must be at least 1");
    }
    let cfg = decoder_config(args.format, args.vpcflow_format.as_deref(), 64 << 20)?;
    if args.max_groups == 0 || args.max_entries == 0 {
        bail!("--max-groups and --max-entries must be at least 1");
    }
    let correlation = CorrelationConfig {
        max_groups: args.max_groups,
        max_entries: args.max_entries,
        ..correlation_config(args.allowed_lateness.as_deref())?
    };
    let engine = args.rules.engine(correlation)?;
    let inputs = input::expand(&args.inputs)?;
    let plan = engine.plan().clone();
    let mut detector = engine.detector();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut levels: Vec<(vigil_detect::rule::Level, u64)> = Vec::new();
    let mut write =
        |fs: Vec<Finding>, out: &mut BufWriter<std::io::StdoutLock<'_>>| -> Result<()> {
            for f in fs {
                match levels.iter_mut().find(|(l, _)| *l == f.level) {
                    Some((_, n)) => *n += 1,
                    None => levels.push((f.level, 1)),
                }
                serde_json::to_writer(&mut *out, &f)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        };
    let summary = pipeline::run_with(
        inputs,
        &cfg,
        args.threads,
        || Ok(engine.evaluator()?),
        |ev, flush| detect_flush(&plan, ev, flush),
        |msg| {
            match msg {
                Msg::Flush(_, hits) => write(detector.push(hits), &mut out)?,
                Msg::Dead(dl) => eprintln!("dead-letter: {}", dl.to_json_line()),
            }
            Ok(())
        },
    )?;
    write(detector.finish(), &mut out)?;
    out.flush()?;
    levels.sort();
    report(&summary, false);
    report_detection(detector.stats(), &levels);
    if args.stats_json {
        eprintln!("{}", serde_json::to_string(detector.stats())?);
    }
    Ok(exit_code(&summary))
}
