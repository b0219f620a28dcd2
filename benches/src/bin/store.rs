//! `vigil-bench store`: the store on generated CloudTrail — indexing throughput per core
//! (events in, segments sealed), disk bytes per raw byte, analyst query latency vs DuckDB
//! over the same Parquet files in the same run, and full-text search latency.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::array::{Array, RecordBatch, StringArray};
use vigil_bench::generate::{self, CloudTrailForm, GenConfig};
use vigil_ingest::{DeadLetter, Decoder, DecoderConfig, Flush, Sink};
use vigil_store::query::QuerySession;
use vigil_store::reader::Snapshot;
use vigil_store::{Store, tables};

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after ") ".
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the stat line (11 and 12 after the name).
    (ticks(11) + ticks(12)) / 100.0
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                total += e.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total
}

struct Chan(std::sync::mpsc::SyncSender<Flush>);

impl Sink for Chan {
    fn flush(&mut self, f: Flush) -> vigil_ingest::Result<()> {
        self.0
            .send(f)
            .map_err(|_| vigil_ingest::IngestError::Sink("store stopped".into()))
    }
    fn dead_letter(&mut self, _d: DeadLetter) -> vigil_ingest::Result<()> {
        Ok(())
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Loads `input` into a new store at `store`; returns (raw MB, wall s, CPU s, events).
fn load(input: &Path, store: &Path, rt: &tokio::runtime::Runtime) -> Result<(f64, f64, f64, u64)> {
    let _ = std::fs::remove_dir_all(store);
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let (tx, rx) = sync_channel::<Flush>(4);
    let input_owned = input.to_path_buf();
    let decoder = std::thread::spawn(move || -> Result<()> {
        let f = std::fs::File::open(&input_owned)?;
        let mut sink = Chan(tx);
        let name = input_owned.display().to_string();
        let cfg = DecoderConfig::default();
        Decoder::from_reader(
            std::io::BufReader::with_capacity(1 << 20, f),
            &name,
            &cfg,
            &mut sink,
        )
        .run()?;
        Ok(())
    });
    let mut s = rt.block_on(Store::open(store))?;
    let mut events = 0u64;
    let mut raw = 0u64;
    for f in rx {
        for b in &f.batches {
            if let Some(r) = b
                .batch
                .column_by_name("raw")
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            {
                raw += r.value_data().len() as u64;
            }
            events += rt
                .block_on(s.append(tables::of_kind(b.kind), &b.batch))?
                .stored as u64;
        }
    }
    decoder
        .join()
        .map_err(|_| anyhow::anyhow!("decoder panicked"))??;
    rt.block_on(s.close())?;
    Ok((
        raw as f64 / 1e6,
        t0.elapsed().as_secs_f64(),
        cpu_seconds() - cpu0,
        events,
    ))
}

fn strings(batches: &[RecordBatch], col: usize) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let c = arrow::compute::cast(b.column(col), &arrow::datatypes::DataType::Utf8)
            .expect("cast to text");
        let s = c.as_any().downcast_ref::<StringArray>().expect("text");
        out.extend(
            (0..s.len())
                .filter(|i| s.is_valid(*i))
                .map(|i| s.value(i).to_string()),
        );
    }
    out
}

const DUCKDB: &str = r#"
import duckdb, json, sys, time
spec = json.load(open(sys.argv[1]))
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
con.execute("SET enable_progress_bar = false")
lst = "[" + ",".join("'" + f + "'" for f in spec["files"]) + "]"
con.execute(f"CREATE VIEW cloudtrail AS SELECT * FROM read_parquet({lst}, hive_partitioning=false)")
out = []
for q in spec["queries"]:
    con.execute(q).fetchall()
    times, rows = [], 0
    for _ in range(spec["reps"]):
        t = time.perf_counter()
        rows = len(con.execute(q).fetchall())
        times.append(time.perf_counter() - t)
    out.append({"times": times, "rows": rows})
json.dump(out, sys.stdout)
"#;

/// Runs the store benchmark.
pub fn run(events: usize, dir: &Path, reuse: bool, reps: usize, searches: usize) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let input = dir.join(format!("cloudtrail-{events}.ndjson"));
    if !input.exists() {
        eprintln!(
            "generating {events} CloudTrail events into {}",
            input.display()
        );
        let tmp = input.with_extension("tmp");
        let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        let cfg = GenConfig {
            attacks: false,
            ..GenConfig::default()
        };
        generate::write_cloudtrail(&mut w, &cfg, events, CloudTrailForm::Ndjson)?;
        std::io::Write::flush(&mut w)?;
        drop(w);
        std::fs::rename(&tmp, &input)?;
    }
    let store = dir.join(format!("store-{events}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let input_mb = std::fs::metadata(&input)?.len() as f64 / 1e6;
    let load_stats = if reuse && store.join("manifest").is_dir() {
        eprintln!("reusing the store in {}", store.display());
        None
    } else {
        eprintln!("loading {input_mb:.0} MB into {}", store.display());
        Some(load(&input, &store, &rt)?)
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // Disk.
    let parts: Vec<(&str, u64)> = ["tables", "index", "ids", "manifest"]
        .iter()
        .map(|p| (*p, dir_bytes(&store.join(p))))
        .collect();
    let stored: u64 = parts.iter().map(|p| p.1).sum();
    let snap = Arc::new(rt.block_on(Snapshot::load(&store))?);
    let raw_bytes: u64 = snap
        .entries
        .iter()
        .filter_map(|e| match &e.kind {
            vigil_store::manifest::EntryKind::Segment { raw_bytes, .. } => Some(*raw_bytes),
            _ => None,
        })
        .sum();

    println!(
        "## Store: {events} generated CloudTrail events ({input_mb:.0} MB of NDJSON, {:.0} MB of raw event text), {cores} cores\n",
        raw_bytes as f64 / 1e6
    );
    if let Some((mb, wall, cpu, n)) = load_stats {
        println!(
            "| indexing (decode, dedup, WAL, seal: Parquet + tantivy + ids + manifest) | value |"
        );
        println!("|---|---|");
        println!("| events stored | {n} |");
        println!(
            "| wall time | {wall:.1} s ({:.1} MB/s, {:.0} events/s) |",
            mb / wall,
            n as f64 / wall
        );
        println!("| CPU time (all threads) | {cpu:.1} s |");
        println!(
            "| **MB/s per core** (raw MB / CPU s) | **{:.1}** (Quickwit documents ~7.5; target ≥ 30) |",
            mb / cpu
        );
        println!();
    }
    println!("| disk | bytes | per raw byte |");
    println!("|---|---|---|");
    for (p, b) in &parts {
        println!(
            "| {p}/ | {:.1} MB | {:.3} |",
            *b as f64 / 1e6,
            *b as f64 / raw_bytes as f64
        );
    }
    println!(
        "| **total** | {:.1} MB | **{:.3}** (compression {:.2}x; Quickwit reports ~2.75x) |\n",
        stored as f64 / 1e6,
        stored as f64 / raw_bytes as f64,
        raw_bytes as f64 / stored as f64
    );

    // Analyst queries, side by side with DuckDB over the same files.
    let session = QuerySession::new(snap.clone())?;
    // Experiment knobs: VIGIL_BENCH_DF_SET="key=value,..." sets DataFusion options.
    if let Ok(sets) = std::env::var("VIGIL_BENCH_DF_SET") {
        let state = session.context().state_ref();
        let mut state = state.write();
        for kv in sets.split(',').filter(|s| !s.is_empty()) {
            let (k, v) = kv
                .split_once('=')
                .context("VIGIL_BENCH_DF_SET: key=value")?;
            match k.strip_prefix("parquet.") {
                Some(pk) => {
                    use datafusion::config::ConfigField;
                    state.table_options_mut().parquet.global.set(pk, v)?
                }
                None => state.config_mut().options_mut().set(k, v)?,
            }
        }
    }
    let one = |sql: &str| -> Result<Vec<RecordBatch>> {
        rt.block_on(session.collect(sql))
            .map_err(|e| anyhow::anyhow!("{sql}: {e}"))
    };
    let key = strings(&one("SELECT userIdentity.accessKeyId, count(*) AS n FROM cloudtrail WHERE userIdentity.accessKeyId LIKE 'AKIA%' GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1")?, 0)
        .pop()
        .context("no access key in the data")?;
    let principal = strings(&one("SELECT userIdentity.arn, count(*) AS n FROM cloudtrail WHERE userIdentity.type = 'IAMUser' GROUP BY 1 ORDER BY n ASC, 1 LIMIT 1")?, 0)
        .pop()
        .context("no IAM user in the data")?;
    let (t_min, t_max): (i64, i64) = {
        let b = one(
            "SELECT CAST(to_unixtime(min(time)) AS BIGINT), CAST(to_unixtime(max(time)) AS BIGINT) FROM cloudtrail",
        )?;
        let lo: i64 = strings(&b, 0)[0].parse()?;
        let hi: i64 = strings(&b, 1)[0].parse()?;
        (lo, hi)
    };
    // A six-hour range in the middle of the data.
    let mid = t_min + (t_max - t_min) / 2;
    let (from, to) = (vigil_store_time(mid), vigil_store_time(mid + 6 * 3600));
    let queries: Vec<(&str, String, String)> = vec![
        (
            "top source IPs for one access key",
            format!("SELECT sourceIPAddress, count(*) AS n FROM cloudtrail WHERE userIdentity.accessKeyId = '{key}' GROUP BY sourceIPAddress ORDER BY n DESC, sourceIPAddress LIMIT 10"),
            format!("SELECT sourceIPAddress, count(*) AS n FROM cloudtrail WHERE userIdentity.accessKeyId = '{key}' GROUP BY sourceIPAddress ORDER BY n DESC, sourceIPAddress LIMIT 10"),
        ),
        (
            "errors by principal per hour",
            "SELECT date_trunc('hour', time) AS h, userIdentity.arn AS p, count(*) AS n FROM cloudtrail WHERE errorCode IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2".into(),
            "SELECT date_trunc('hour', time) AS h, userIdentity.arn AS p, count(*) AS n FROM cloudtrail WHERE errorCode IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2".into(),
        ),
        (
            "all events of one principal in a 6 h range",
            format!("SELECT time, eventName, sourceIPAddress, errorCode FROM cloudtrail WHERE userIdentity.arn = '{principal}' AND time >= TIMESTAMP '{from}' AND time < TIMESTAMP '{to}' ORDER BY time"),
            format!("SELECT time, eventName, sourceIPAddress, errorCode FROM cloudtrail WHERE userIdentity.arn = '{principal}' AND time >= TIMESTAMPTZ '{}' AND time < TIMESTAMPTZ '{}' ORDER BY time", from.replace('T', " ").replace('Z', "+00"), to.replace('T', " ").replace('Z', "+00")),
        ),
    ];
    let files: Vec<String> = snap
        .files("cloudtrail")
        .into_iter()
        .map(|f| store.join(f.path).display().to_string())
        .collect();
    let spec = serde_json::json!({ "files": files, "queries": queries.iter().map(|q| q.2.clone()).collect::<Vec<_>>(), "reps": reps });
    let spec_path = dir.join("duckdb-store-spec.json");
    std::fs::write(&spec_path, spec.to_string())?;
    let out = Command::new("python3")
        .arg("-c")
        .arg(DUCKDB)
        .arg(&spec_path)
        .output()
        .context("python3 with duckdb (scripts/setup.sh --test)")?;
    if !out.status.success() {
        bail!("duckdb failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let duck: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
    println!(
        "| query ({} Parquet files) | Vigil median ms | DuckDB median ms | Vigil / DuckDB | rows |",
        files.len()
    );
    println!("|---|---|---|---|---|");
    for ((name, ours, _), d) in queries.iter().zip(&duck) {
        let mut rows = 0;
        one(ours)?; // warm-up, like DuckDB's
        // VIGIL_BENCH_EXPLAIN=1 prints DataFusion's plan with its metrics (for profiling).
        if std::env::var_os("VIGIL_BENCH_EXPLAIN").is_some() {
            let plan = one(&format!("EXPLAIN ANALYZE {ours}"))?;
            eprintln!(
                "{name}:\n{}",
                arrow::util::pretty::pretty_format_batches(&plan)?
            );
        }
        let mut times: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                let b = one(ours).expect("query");
                rows = b.iter().map(RecordBatch::num_rows).sum::<usize>();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let mut dt: Vec<f64> = d["times"]
            .as_array()
            .context("duckdb times")?
            .iter()
            .filter_map(|v| v.as_f64())
            .map(|s| s * 1e3)
            .collect();
        let drows = d["rows"].as_u64().unwrap_or(0) as usize;
        if drows != rows {
            bail!("{name}: Vigil returned {rows} rows, DuckDB {drows}");
        }
        let (m, dm) = (super::median(&mut times), super::median(&mut dt));
        println!("| {name} | {m:.1} | {dm:.1} | {:.2}x | {rows} |", m / dm);
    }
    println!();

    // Full-text search: terms from the data, newest 20 hits each.
    let mut terms: Vec<String> = Vec::new();
    for (sql, field) in [
        (
            "SELECT DISTINCT userIdentity.accessKeyId FROM cloudtrail WHERE userIdentity.accessKeyId IS NOT NULL LIMIT 40",
            "accessKeyId",
        ),
        (
            "SELECT DISTINCT sourceIPAddress FROM cloudtrail LIMIT 40",
            "sourceIPAddress",
        ),
        (
            "SELECT DISTINCT eventName FROM cloudtrail LIMIT 40",
            "eventName",
        ),
        (
            "SELECT DISTINCT errorCode FROM cloudtrail WHERE errorCode IS NOT NULL LIMIT 20",
            "errorCode",
        ),
        (
            "SELECT DISTINCT userIdentity.userName FROM cloudtrail WHERE userIdentity.userName IS NOT NULL LIMIT 20",
            "userName",
        ),
    ] {
        for v in strings(&one(sql)?, 0) {
            terms.push(format!("{field}:\"{v}\""));
        }
    }
    // Free text over the raw event, and boolean combinations.
    terms.extend(
        [
            "AccessDenied",
            "\"aws-cli\"",
            "terraform AND AssumeRole",
            "kms AND NOT Decrypt",
            "\"s3.amazonaws.com\" AND GetObject",
        ]
        .map(String::from),
    );
    let mut lat = Vec::new();
    let mut total_hits = 0;
    for i in 0..searches.max(1) {
        let q = &terms[i % terms.len()];
        let t = Instant::now();
        let hits = rt.block_on(snap.search(q, Some("cloudtrail"), None, 20))?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        total_hits += hits.len();
    }
    let segs = snap.segments().len();
    let (p50, p99, max) = (
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.99),
        percentile(&mut lat, 1.0),
    );
    println!(
        "| full-text search ({} queries over {segs} segment indexes, 20 newest hits) | ms |",
        lat.len()
    );
    println!("|---|---|");
    println!("| p50 | {p50:.1} |");
    println!("| **p99** | **{p99:.1}** (target < 100) |");
    println!("| max | {max:.1} |");
    println!("| hits returned | {total_hits} |");
    Ok(())
}

fn vigil_store_time(unix: i64) -> String {
    vigil_detect::finding::rfc3339(unix * 1_000_000)
}
