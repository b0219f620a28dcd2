//! The `vigil` command: ingest security logs into Arrow/Parquet, and (as later stages
//! land) detect, store, query and respond.

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
    /// Arrow, optionally writing Parquet.
    Ingest(cli::ingest::IngestArgs),
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
        Command::Rules(cmd) => cli::rules::run(cmd),
        Command::Demo(args) => cli::demo::run(args),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`vigil detect ... | head`) is the reader being done, not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
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
