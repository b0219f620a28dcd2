//! The store commands: `vigil ingest --data`, `vigil query`, `vigil search`,
//! `vigil verify` and `vigil retention`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{Array, RecordBatch};
use clap::{Args, ValueEnum};
use futures::StreamExt;
use vigil_detect::Finding;
use vigil_ingest::DecoderConfig;
use vigil_ingest::input::Input;
use vigil_store::query::{QuerySession, TIME_FORMAT};
use vigil_store::reader::Snapshot;
use vigil_store::{Appended, Store, now_us, tables};

use crate::cli::detect::{correlation_config, detect_flush, level_counts, report_detection};
use crate::cli::ingest::{IngestArgs, exit_code, report};
use crate::output::DeadLetterOut;
use crate::pipeline::{self, Msg};

/// A tokio runtime for the store's I/O and DataFusion.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(crate::cli::ingest::default_threads().max(2))
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Counts of what went into the store.
#[derive(Default)]
struct Stored {
    events: Appended,
    findings: Appended,
}

fn add(total: &mut Appended, a: Appended) {
    total.stored += a.stored;
    total.duplicates += a.duplicates;
}

/// `vigil ingest --data DIR [--detect]`: decode, (detect,) append, seal.
pub fn ingest(args: &IngestArgs, cfg: &DecoderConfig, inputs: Vec<Input>) -> Result<ExitCode> {
    let Some(dir) = args.data.as_deref() else {
        bail!("--data DIR is required to load into a store")
    };
    let rt = runtime()?;
    let mut store = rt
        .block_on(Store::open(dir))
        .with_context(|| format!("cannot open the store in {}", dir.display()))?;
    let rec = store.recovery().clone();
    if rec.replayed_rows > 0 || rec.torn_bytes > 0 {
        eprintln!(
            "vigil: recovered the open segment: {} rows replayed from the write-ahead log, {} bytes of an unacknowledged append discarded",
            rec.replayed_rows, rec.torn_bytes
        );
    }
    let dl_path = args
        .dead_letter
        .clone()
        .unwrap_or_else(|| dir.join("dead-letter.ndjson"));
    let mut dead = DeadLetterOut::append(&dl_path)?;
    let mut stored = Stored::default();
    let mut findings: Vec<Finding> = Vec::new();
    let summary = if args.detect {
        let engine = args.rules.engine(correlation_config(None)?)?;
        let plan = engine.plan().clone();
        let mut detector = engine.detector();
        let summary = pipeline::run_with(
            inputs,
            cfg,
            args.threads,
            || Ok(engine.evaluator()?),
            |ev, flush| detect_flush(&plan, ev, flush),
            |msg| {
                match msg {
                    Msg::Flush(f, hits) => {
                        for b in &f.batches {
                            let a = rt.block_on(store.append(tables::of_kind(b.kind), &b.batch))?;
                            add(&mut stored.events, a);
                        }
                        let fs = detector.push(hits);
                        add(
                            &mut stored.findings,
                            rt.block_on(store.append_findings(&fs))?,
                        );
                        findings.extend(fs);
                    }
                    Msg::Dead(dl) => dead.write(&dl)?,
                }
                Ok(())
            },
        )?;
        let fs = detector.finish();
        add(
            &mut stored.findings,
            rt.block_on(store.append_findings(&fs))?,
        );
        findings.extend(fs);
        report(&summary, args.stats_json);
        report_detection(detector.stats(), &level_counts(&findings));
        summary
    } else {
        let summary = pipeline::run(inputs, cfg, args.threads, |msg| {
            match msg {
                Msg::Flush(f, ()) => {
                    for b in &f.batches {
                        let a = rt.block_on(store.append(tables::of_kind(b.kind), &b.batch))?;
                        add(&mut stored.events, a);
                    }
                }
                Msg::Dead(dl) => dead.write(&dl)?,
            }
            Ok(())
        })?;
        report(&summary, args.stats_json);
        summary
    };
    dead.close()?;
    let sealed = rt
        .block_on(store.close())
        .context("sealing the open segment")?;
    eprintln!(
        "vigil: stored {} new events ({} already in the store){}",
        stored.events.stored,
        stored.events.duplicates,
        if args.detect {
            format!(
                ", {} new findings ({} already in the store)",
                stored.findings.stored, stored.findings.duplicates
            )
        } else {
            String::new()
        }
    );
    match sealed {
        Some(e) => {
            if let vigil_store::manifest::EntryKind::Segment {
                id,
                files,
                raw_bytes,
            } = &e.kind
            {
                let bytes: u64 = files.iter().map(|f| f.bytes).sum();
                eprintln!(
                    "vigil: sealed segment {id} in {}: {} files, {:.1} MB for {:.1} MB of raw events; manifest entry {} (chain head {})",
                    dir.display(),
                    files.len(),
                    bytes as f64 / 1e6,
                    *raw_bytes as f64 / 1e6,
                    e.seq,
                    e.hash
                );
            }
        }
        None => eprintln!(
            "vigil: nothing new to seal; the store in {} is unchanged",
            dir.display()
        ),
    }
    if summary.stats.rejected > 0 {
        eprintln!(
            "vigil: {} rejected records in {}",
            summary.stats.rejected,
            dl_path.display()
        );
    }
    Ok(exit_code(&summary))
}

/// Output format of `vigil query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    /// Aligned text tables (printed every 1000 rows as results stream in).
    Table,
    /// One JSON object per row.
    Json,
    /// CSV with a header line.
    Csv,
}

/// Arguments of `vigil query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The store's data directory.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: QueryFormat,
    /// The SQL query (read-only). Tables: cloudtrail, vpcflow, k8s_audit, falco,
    /// findings, audit; table function search('table', 'full-text query' [, limit]).
    #[arg(value_name = "SQL")]
    pub sql: String,
}

/// Rows per printed table in `--format table`.
const TABLE_CHUNK: usize = 1000;

fn print_table(batches: &[RecordBatch], out: &mut impl Write) -> Result<()> {
    let opts = arrow::util::display::FormatOptions::default()
        .with_timestamp_tz_format(Some(TIME_FORMAT))
        .with_null("NULL");
    writeln!(
        out,
        "{}",
        arrow::util::pretty::pretty_format_batches_with_options(batches, &opts)?
    )?;
    Ok(())
}

/// CSV has no nested values: struct and list columns are written as their text form
/// (`{arn: ..., type: ...}`, `[a, b]`).
fn flatten_nested(b: &RecordBatch) -> Result<RecordBatch> {
    use arrow::array::{ArrayRef, StringBuilder};
    use arrow::datatypes::{DataType, Field, Schema};
    if !b
        .schema()
        .fields()
        .iter()
        .any(|f| f.data_type().is_nested())
    {
        return Ok(b.clone());
    }
    let opts =
        arrow::util::display::FormatOptions::default().with_timestamp_tz_format(Some(TIME_FORMAT));
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (f, c) in b.schema().fields().iter().zip(b.columns()) {
        if f.data_type().is_nested() {
            let fmt = arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &opts)?;
            let mut s = StringBuilder::new();
            for i in 0..c.len() {
                if c.is_null(i) {
                    s.append_null();
                } else {
                    s.append_value(fmt.value(i).to_string());
                }
            }
            fields.push(Field::new(f.name(), DataType::Utf8, true));
            cols.push(Arc::new(s.finish()));
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

/// Runs `vigil query`.
pub fn query(args: QueryArgs) -> Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async {
        let snap = Arc::new(Snapshot::load(&args.data).await?);
        let session = QuerySession::new(snap)?;
        let mut stream = session.execute(&args.sql).await?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let mut rows = 0usize;
        match args.format {
            QueryFormat::Table => {
                let mut pending: Vec<RecordBatch> = Vec::new();
                let mut pending_rows = 0;
                let mut printed = false;
                while let Some(b) = stream.next().await {
                    let b = b?;
                    rows += b.num_rows();
                    pending_rows += b.num_rows();
                    pending.push(b);
                    if pending_rows >= TABLE_CHUNK {
                        print_table(&pending, &mut out)?;
                        out.flush()?;
                        pending.clear();
                        pending_rows = 0;
                        printed = true;
                    }
                }
                if pending_rows > 0 || !printed {
                    if pending.is_empty() {
                        pending.push(RecordBatch::new_empty(stream.schema()));
                    }
                    print_table(&pending, &mut out)?;
                }
            }
            QueryFormat::Json => {
                let mut w = arrow::json::WriterBuilder::new()
                    .with_timestamp_tz_format(TIME_FORMAT.to_string())
                    .with_explicit_nulls(true)
                    .build::<_, arrow::json::writer::LineDelimited>(&mut out);
                while let Some(b) = stream.next().await {
                    let b = b?;
                    rows += b.num_rows();
                    w.write(&b)?;
                }
                w.finish()?;
            }
            QueryFormat::Csv => {
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .with_timestamp_tz_format(TIME_FORMAT.to_string())
                    .build(&mut out);
                let mut any = false;
                while let Some(b) = stream.next().await {
                    let b = b?;
                    rows += b.num_rows();
                    w.write(&flatten_nested(&b)?)?;
                    any = true;
                }
                if !any {
                    w.write(&flatten_nested(&RecordBatch::new_empty(stream.schema()))?)?;
                }
            }
        }
        out.flush()?;
        eprintln!("vigil: {rows} rows");
        Ok(ExitCode::SUCCESS)
    })
}

/// Output format of `vigil search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchFormat {
    /// One JSON object per hit: time, table, id, and the event.
    Json,
    /// One line per hit: time, table, and the start of the event text.
    Table,
}

/// Arguments of `vigil search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The store's data directory.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Only events at or after this: a duration back from now (15m, 1h, 7d) or an
    /// ISO-8601 time.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only this table (cloudtrail, vpcflow, k8s_audit, falco, findings, audit).
    #[arg(long, value_name = "TABLE")]
    pub table: Option<String>,
    /// At most this many hits.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: SearchFormat,
    /// tantivy query: terms, "phrases", field:value, AND/OR/NOT, parentheses. The
    /// default field is the raw event text; see `vigil search --help` fields in
    /// ARCHITECTURE.md.
    #[arg(value_name = "QUERY")]
    pub query: String,
}

/// Parses `--since`: a duration back from now, or a time.
pub fn parse_since(s: &str) -> Result<i64> {
    if let Ok(d) = vigil_store::settings::duration_us(s) {
        return Ok(now_us() - d);
    }
    vigil_ingest::time::parse_micros(s).with_context(|| {
        format!("--since {s:?}: expected a duration (15m, 1h, 7d) or an ISO-8601 time")
    })
}

/// Runs `vigil search`.
pub fn search(args: SearchArgs) -> Result<ExitCode> {
    if args.limit == 0 {
        bail!("--limit must be at least 1");
    }
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let rt = runtime()?;
    rt.block_on(async {
        let snap = Arc::new(Snapshot::load(&args.data).await?);
        let hits = snap
            .search(&args.query, args.table.as_deref(), since, args.limit)
            .await?;
        let session = QuerySession::new(snap)?;
        let rows = session.fetch(&hits).await?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for (h, row) in hits.iter().zip(rows) {
            let time = h.time_us.map(vigil_detect::finding::rfc3339);
            let mut row = row.unwrap_or_default();
            let raw = row.remove("raw");
            // For JSON sources the event is the original record; otherwise the row.
            let event = match raw.as_ref().and_then(|r| r.as_str()) {
                Some(text) if text.starts_with('{') => {
                    serde_json::from_str(text).unwrap_or(serde_json::Value::String(text.into()))
                }
                _ => serde_json::Value::Object(row.clone()),
            };
            match args.format {
                SearchFormat::Json => {
                    let mut o = serde_json::Map::new();
                    o.insert("time".into(), time.into());
                    o.insert("table".into(), h.table.clone().into());
                    o.insert(tables::id_column(&h.table).into(), h.uid.clone().into());
                    if let Some(r) = raw.filter(|r| !r.as_str().is_some_and(|t| t.starts_with('{')))
                    {
                        o.insert("raw".into(), r);
                    }
                    o.insert("event".into(), event);
                    serde_json::to_writer(&mut out, &o)?;
                    writeln!(out)?;
                }
                SearchFormat::Table => {
                    // One line per hit: JSON compacted, text lines as they are.
                    let text = match (&event, raw.as_ref().and_then(|r| r.as_str())) {
                        (serde_json::Value::Object(_), None) | (_, Some("")) => event.to_string(),
                        (serde_json::Value::Object(_), Some(r)) if r.starts_with('{') => {
                            event.to_string()
                        }
                        (_, Some(r)) => r.to_string(),
                        (e, None) => e.to_string(),
                    };
                    let short: String = text.chars().take(160).collect();
                    writeln!(
                        out,
                        "{}  {:<10} {short}",
                        time.as_deref().unwrap_or("-"),
                        h.table
                    )?;
                }
            }
        }
        out.flush()?;
        eprintln!("vigil: {} hits (newest first)", hits.len());
        Ok(ExitCode::SUCCESS)
    })
}

/// Arguments of `vigil verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The store's data directory.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The chain head recorded earlier (printed by `vigil verify` and `vigil ingest`):
    /// fails if it is no longer in the chain, which catches removal of the newest
    /// segments.
    #[arg(long, value_name = "HASH")]
    pub expect_head: Option<String>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `vigil verify`: exit 0 when the chain and every file check out, 1 otherwise.
pub fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let rt = runtime()?;
    let report = rt.block_on(async {
        // Only the backend: verifying reads the manifest and the sealed files, not the log.
        let (_, backend) = Snapshot::open_backend(&args.data)?;
        vigil_store::manifest::verify(&backend, args.expect_head.as_deref()).await
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    for p in &report.problems {
        eprintln!("vigil verify: FAILED: {p}");
    }
    for u in &report.unlisted {
        eprintln!(
            "vigil verify: note: {u} is not listed in the manifest (left by an interrupted seal, or added by hand); queries ignore it"
        );
    }
    let sig = match report.signature_ok {
        Some(true) => "; head signature valid",
        Some(false) => "; head signature INVALID",
        None => "",
    };
    eprintln!(
        "vigil verify: {} manifest entries, {} segments, {} files checked; chain head {}{sig}: {}",
        report.entries,
        report.segments,
        report.files,
        report.head.as_deref().unwrap_or("(empty store)"),
        if report.ok() { "OK" } else { "FAILED" }
    );
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Arguments of `vigil retention`.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// The store's data directory (its store.yaml sets `retention`).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
}

/// Runs `vigil retention`: applies the store's retention setting now.
pub fn retention(args: RetentionArgs) -> Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async {
        let store = Store::open(&args.data)
            .await
            .with_context(|| format!("cannot open the store in {}", args.data.display()))?;
        let Some(policy) = store.settings().retention.clone() else {
            eprintln!(
                "vigil retention: no retention set in {}/store.yaml; nothing removed",
                args.data.display()
            );
            return Ok(ExitCode::SUCCESS);
        };
        let removed = store.retention_removed().to_vec();
        store.close().await?;
        if removed.is_empty() {
            eprintln!("vigil retention: no segment is older than {policy}");
        } else {
            eprintln!(
                "vigil retention: removed {} segments older than {policy} ({}); recorded in the manifest and the audit table",
                removed.len(),
                removed.join(", ")
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
