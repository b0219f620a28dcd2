//! `vigil ingest`: parse inputs into Arrow, write Parquet and dead letters, print a
//! summary.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use vigil_ingest::vpcflow::FlowFormat;
use vigil_ingest::{DecoderConfig, Format, SourceKind, input};

use crate::cli::rules::RuleArgs;
use crate::output::{DeadLetterOut, ParquetOut};
use crate::pipeline::{self, Msg, Summary};

/// Arguments of `vigil ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Input format: auto (tell formats apart per file and per line), cloudtrail,
    /// vpcflow, k8s-audit or falco.
    #[arg(long, default_value = "auto")]
    pub format: Format,
    /// Write DIR/<source>.parquet per source type and DIR/dead-letter.ndjson.
    #[arg(long, value_name = "DIR", conflicts_with = "data")]
    pub out: Option<PathBuf>,
    /// Append the events to the Vigil store in DIR (created if needed): stored once per
    /// event id, durable when acknowledged, sealed when the command ends. Dead letters go
    /// to DIR/dead-letter.ndjson unless --dead-letter says otherwise.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// With --data: also run the detection rules (the shipped pack, or --rules) and store
    /// their findings in the `findings` table.
    #[arg(long, requires = "data")]
    pub detect: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Decoding threads (inputs are spread over them, one input per thread at a time).
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
    /// Print one JSON object of statistics on stdout at the end.
    #[arg(long)]
    pub stats_json: bool,
    /// VPC flow log format for input without a header line (e.g. CloudWatch Logs), as
    /// space-separated field names: "version account-id interface-id srcaddr ...".
    #[arg(long, value_name = "FIELDS")]
    pub vpcflow_format: Option<String>,
    /// Where to write rejected records (default: DIR/dead-letter.ndjson with --out,
    /// otherwise stderr).
    #[arg(long, value_name = "PATH")]
    pub dead_letter: Option<PathBuf>,
    /// Largest single record or non-streamed JSON document, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_record_bytes: usize,
    /// Files, folders (read recursively) or - for standard input; gzip is detected.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// Default thread count: the machine's available parallelism.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Builds the decoder configuration from the arguments.
pub fn decoder_config(
    format: Format,
    vpcflow_format: Option<&str>,
    max_record_bytes: usize,
) -> Result<DecoderConfig> {
    let flow_format = vpcflow_format.map(FlowFormat::parse).transpose()?;
    if max_record_bytes < 1024 {
        bail!("--max-record-bytes must be at least 1024");
    }
    Ok(DecoderConfig {
        format,
        flow_format,
        max_record_bytes,
        ..DecoderConfig::default()
    })
}

/// Runs `vigil ingest`.
pub fn run(args: IngestArgs) -> Result<ExitCode> {
    let cfg = decoder_config(
        args.format,
        args.vpcflow_format.as_deref(),
        args.max_record_bytes,
    )?;
    if args.threads == 0 {
        bail!("--threads must be at least 1");
    }
    let inputs = input::expand(&args.inputs)?;
    if inputs.is_empty() {
        bail!("no input files found in {:?}", args.inputs);
    }
    if !args.detect
        && (!args.rules.rules.is_empty()
            || !args.rules.placeholders.is_empty()
            || !args.rules.suppress.is_empty())
    {
        bail!("--rules, --placeholder, --placeholder-file and --suppress only apply with --detect");
    }
    if args.data.is_some() {
        return crate::cli::store::ingest(&args, &cfg, inputs);
    }
    let mut parquet = args.out.as_deref().map(ParquetOut::new).transpose()?;
    let dl_path = args
        .dead_letter
        .clone()
        .or_else(|| args.out.as_ref().map(|d| d.join("dead-letter.ndjson")));
    let mut dead = match &dl_path {
        Some(p) => DeadLetterOut::file(p)?,
        None => DeadLetterOut::Stderr,
    };
    let summary = pipeline::run(inputs, &cfg, args.threads, |msg| {
        match msg {
            Msg::Flush(f, ()) => {
                if let Some(p) = parquet.as_mut() {
                    for b in &f.batches {
                        p.write(b)?;
                    }
                }
            }
            Msg::Dead(dl) => dead.write(&dl)?,
        }
        Ok(())
    })?;
    let written = parquet
        .map(ParquetOut::close)
        .transpose()?
        .unwrap_or_default();
    let dl_file = dead.close()?;
    report(&summary, args.stats_json);
    for p in &written {
        eprintln!("vigil: wrote {}", p.display());
    }
    if let Some(p) = dl_file
        && summary.stats.rejected > 0
    {
        eprintln!(
            "vigil: {} rejected records in {}",
            summary.stats.rejected,
            p.display()
        );
    }
    Ok(exit_code(&summary))
}

/// Exit status: success when every input could be read (rejected records included).
pub fn exit_code(summary: &Summary) -> ExitCode {
    if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The `--stats-json` object.
pub fn stats_json(summary: &Summary) -> serde_json::Value {
    let mut events = serde_json::Map::new();
    for k in SourceKind::ALL {
        events.insert(k.name().into(), summary.stats.events[k.index()].into());
    }
    serde_json::json!({
        "events": events,
        "rejected": summary.stats.rejected,
        "bytes": summary.input_bytes,
        "seconds": summary.seconds,
    })
}

/// Prints the human summary on stderr and, if asked, the JSON statistics on stdout.
pub fn report(summary: &Summary, json: bool) {
    for (name, err) in &summary.failed {
        eprintln!("vigil: error: {name}: {err}");
    }
    let s = &summary.stats;
    let per_kind: Vec<String> = SourceKind::ALL
        .iter()
        .filter(|k| s.events[k.index()] > 0)
        .map(|k| format!("{} {}", k.name(), s.events[k.index()]))
        .collect();
    let mb = s.bytes as f64 / 1e6;
    eprintln!(
        "vigil: {} events ({}) from {} input{}, {} rejected; {:.1} MB in {:.2}s ({:.1} MB/s)",
        s.total_events(),
        if per_kind.is_empty() {
            "none".to_string()
        } else {
            per_kind.join(", ")
        },
        summary.inputs,
        if summary.inputs == 1 { "" } else { "s" },
        s.rejected,
        mb,
        summary.seconds,
        if summary.seconds > 0.0 {
            mb / summary.seconds
        } else {
            0.0
        },
    );
    if s.control_messages > 0 {
        eprintln!(
            "vigil: skipped {} CloudWatch Logs control messages",
            s.control_messages
        );
    }
    if json {
        println!("{}", stats_json(summary));
    }
}
