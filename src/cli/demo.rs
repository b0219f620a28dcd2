//! `vigil demo`: Vigil's main job on an embedded default — generate a realistic
//! dataset with the built-in generator (with a planted attack story), ingest it, run the
//! shipped detection pack over it, load events and findings into a store, verify the
//! store and query it, and print what was found.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use vigil_bench::generate::{GenConfig, write_dataset};
use vigil_detect::Finding;
use vigil_ingest::{Format, input};

use crate::cli::detect::{correlation_config, detect_flush, level_counts, report_detection};
use crate::cli::ingest::{decoder_config, default_threads, exit_code, report};
use crate::cli::rules::RuleArgs;
use crate::output::DeadLetterOut;
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
    let engine = RuleArgs::default().engine(correlation_config(None)?)?;
    let plan = engine.plan().clone();
    let mut detector = engine.detector();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let store_dir = dir.join("store");
    let rt = crate::cli::store::runtime()?;
    let mut store = rt
        .block_on(vigil_store::Store::open(&store_dir))
        .with_context(|| format!("cannot open the store in {}", store_dir.display()))?;
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
        |ev, flush| detect_flush(&plan, ev, flush),
        |msg| {
            match msg {
                Msg::Flush(f, hits) => {
                    for b in &f.batches {
                        rt.block_on(store.append(vigil_store::tables::of_kind(b.kind), &b.batch))?;
                    }
                    let found = detector.push(hits);
                    rt.block_on(store.append_findings(&found))?;
                    all.extend(found);
                }
                Msg::Dead(dl) => dead.write(&dl)?,
            }
            Ok(())
        },
    )?;
    let found = detector.finish();
    rt.block_on(store.append_findings(&found))?;
    all.extend(found);
    let sealed = rt.block_on(store.close())?;
    for f in &all {
        serde_json::to_writer(&mut findings_file, f)?;
        findings_file.write_all(b"\n")?;
    }
    findings_file.flush()?;
    dead.close()?;
    report(&summary, args.stats_json);
    report_detection(detector.stats(), &level_counts(&all));

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
    let store_summary = rt.block_on(store_report(&store_dir))?;
    eprintln!("{store_summary}");
    if let Some(e) = sealed {
        eprintln!(
            "vigil demo: store in {} sealed (manifest entry {}, chain head {})",
            store_dir.display(),
            e.seq,
            e.hash
        );
    }
    if args.dir.is_some() {
        let d = store_dir.display();
        eprintln!("vigil demo: explore it:");
        eprintln!(
            "  vigil query --data {d} \"SELECT rule_title, level, count(*) AS n FROM findings GROUP BY 1, 2 ORDER BY n DESC\""
        );
        eprintln!("  vigil search --data {d} --limit 5 'errorCode:AccessDenied'");
        eprintln!("  vigil verify --data {d}");
    } else {
        eprintln!("vigil demo: (temporary directory removed; pass --dir to keep the data)");
    }
    Ok(exit_code(&summary))
}

/// Verifies the store and runs an analyst query over it; returns the text to print.
async fn store_report(dir: &std::path::Path) -> Result<String> {
    use std::sync::Arc;
    let snap = Arc::new(vigil_store::reader::Snapshot::load(dir).await?);
    let report = vigil_store::manifest::verify(&snap.backend, None).await?;
    let session = vigil_store::query::QuerySession::new(snap)?;
    let sql = "SELECT table_name, n FROM (SELECT 'cloudtrail' AS table_name, count(*) AS n FROM cloudtrail UNION ALL SELECT 'vpcflow', count(*) FROM vpcflow UNION ALL SELECT 'k8s_audit', count(*) FROM k8s_audit UNION ALL SELECT 'falco', count(*) FROM falco UNION ALL SELECT 'findings', count(*) FROM findings) ORDER BY table_name";
    let counts = session.collect(sql).await?;
    let top = session
        .collect("SELECT userIdentity.arn AS principal, errorCode, count(*) AS n FROM cloudtrail WHERE errorCode IS NOT NULL GROUP BY 1, 2 ORDER BY n DESC LIMIT 5")
        .await?;
    let opts = arrow::util::display::FormatOptions::default();
    Ok(format!(
        "vigil demo: store verified ({} segments, {} files hashed): {}\nvigil demo: rows per table (vigil query):\n{}\nvigil demo: most frequent failed calls by principal:\n{}",
        report.segments,
        report.files,
        if report.ok() { "OK" } else { "FAILED" },
        arrow::util::pretty::pretty_format_batches_with_options(&counts, &opts)?,
        arrow::util::pretty::pretty_format_batches_with_options(&top, &opts)?,
    ))
}
