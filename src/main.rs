//! The `vigil` command: ingest security logs into Arrow, detect with Sigma rules, store
//! events and findings, query and search them (and, as later stages land, respond).

mod cli;
mod output;
mod pipeline;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vigil: a high-throughput security log pipeline with automated response.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse CloudTrail, VPC flow logs, Kubernetes audit events and Falco alerts into
    /// Arrow; load them (and, with --detect, findings) into a store with --data DIR, or
    /// write Parquet files with --out DIR.
    Ingest(cli::ingest::IngestArgs),
    /// SQL over a store (read-only): tables cloudtrail, vpcflow, k8s_audit, falco,
    /// findings, audit; full-text search('table', 'query') as a table function.
    Query(cli::store::QueryArgs),
    /// Full-text search over a store, newest first, with each hit's event.
    Search(cli::store::SearchArgs),
    /// Check a store's tamper-evident manifest chain and every sealed file's hash; exit 1
    /// naming the first segment that does not match.
    Verify(cli::store::VerifyArgs),
    /// Apply a store's retention setting now (remove expired segments, audited).
    Retention(cli::store::RetentionArgs),
    /// Run Sigma detection and correlation rules over logs; findings as JSON lines on
    /// stdout.
    Detect(cli::detect::DetectArgs),
    /// Work with rules: `vigil rules check PATH...`.
    #[command(subcommand)]
    Rules(cli::rules::RulesCommand),
    /// Generate a realistic sample dataset with Vigil's own generator, ingest it and
    /// print the summary (no Kafka or cloud account needed).
    Demo(cli::demo::DemoArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ingest(args) => cli::ingest::run(args),
        Command::Detect(args) => cli::detect::run(args),
        Command::Query(args) => cli::store::query(args),
        Command::Search(args) => cli::store::search(args),
        Command::Verify(args) => cli::store::verify(args),
        Command::Retention(args) => cli::store::retention(args),
        Command::Rules(cmd) => cli::rules::run(cmd),
        Command::Demo(args) => cli::demo::run(args),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`vigil detect ... | head`) is the reader being done, not an error.
        // Writing JSON reports it as serde_json's error, which keeps the I/O error's kind.
        Err(e)
            if e.chain().any(|c| {
                let kind = match c.downcast_ref::<serde_json::Error>() {
                    Some(json) => json.io_error_kind(),
                    None => c.downcast_ref::<std::io::Error>().map(|io| io.kind()),
                };
                kind == Some(std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vigil: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
