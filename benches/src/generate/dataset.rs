//! A directory of every source, sized to a byte budget, with a manifest.

use std::fs::{self, File};
use std::io;
use std::path::Path;

use fastrand::Rng;

use super::attacks::PlantedAttack;
use super::ids::{hash_str, hex_of, push_alnum, push_hex};
use super::time::compact_minute;
use super::{
    CloudTrailGenerator, FalcoGenerator, FlowForm, FlowGenerator, GenConfig, K8sAuditGenerator,
    Sink, flow_header,
};

/// Measured average sizes (bytes per event, with the line break), used to turn a
/// byte budget into event counts.
const CT_AVG: f64 = 1530.0;
const FLOW_V5_AVG: f64 = 235.0;
const FLOW_V2_AVG: f64 = 113.0;
const K8S_AVG: f64 = 1310.0;
const FALCO_AVG: f64 = 1490.0;

/// How [`write_dataset_with`] lays the dataset out.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetOptions {
    /// CloudTrail events per S3 object file (about 5 minutes of events, as CloudTrail
    /// delivers).
    pub events_per_file: usize,
    /// Also write every CloudTrail event again as `cloudtrail.ndjson`.
    pub cloudtrail_ndjson: bool,
    /// Flow log records per file.
    pub flow_records_per_file: usize,
    /// Shares of the byte budget: CloudTrail, VPC flow logs (prod, version 5),
    /// VPC flow logs (staging, version 2), Kubernetes audit, Falco. They are
    /// normalised to sum to 1.
    pub shares: [f64; 5],
    /// Also write the manifest as `manifest.json` in the directory (off by default:
    /// a reader ingesting the whole directory would take it for a log file).
    pub write_manifest: bool,
}

impl Default for DatasetOptions {
    /// 3000 events per CloudTrail object, no NDJSON copy, 200 000 records per flow
    /// log file, shares 50% / 24% / 6% / 15% / 5%, no `manifest.json`.
    fn default() -> Self {
        DatasetOptions {
            events_per_file: 3000,
            cloudtrail_ndjson: false,
            flow_records_per_file: 200_000,
            shares: [0.50, 0.24, 0.06, 0.15, 0.05],
            write_manifest: false,
        }
    }
}

/// One file of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    /// Path relative to the dataset directory, with `/` separators.
    pub path: String,
    /// `cloudtrail`, `vpcflow`, `k8s_audit` or `falco`.
    pub kind: &'static str,
    /// `cloudtrail-s3-object`, `cloudtrail-ndjson`, `vpcflow-v5-custom`,
    /// `vpcflow-v2-default`, `k8s-audit-ndjson` or `falco-ndjson`.
    pub format: &'static str,
    /// Events (records, alerts) in the file, not counting a header line.
    pub events: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// Unix seconds of the first event.
    pub first_time: i64,
    /// Unix seconds of the last event.
    pub last_time: i64,
}

impl ManifestFile {
    /// This file as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "path": self.path,
            "kind": self.kind,
            "format": self.format,
            "events": self.events,
            "bytes": self.bytes,
            "first_time": self.first_time,
            "last_time": self.last_time,
        })
    }
}

/// What [`write_dataset`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The configuration used.
    pub seed: u64,
    /// Unix seconds the streams start at.
    pub start_unix: i64,
    /// Unix seconds of the last event of any stream.
    pub end_unix: i64,
    /// The byte budget asked for.
    pub target_bytes: u64,
    /// Bytes written in all data files (not counting `manifest.json`).
    pub total_bytes: u64,
    /// Every data file, in writing order.
    pub files: Vec<ManifestFile>,
    /// What was planted (empty when attacks are off).
    pub attacks: Vec<PlantedAttack>,
}

impl Manifest {
    /// The manifest as a JSON object (`seed`, `start_unix`, `end_unix`,
    /// `target_bytes`, `total_bytes`, `files`, `attacks`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "seed": self.seed,
            "start_unix": self.start_unix,
            "end_unix": self.end_unix,
            "target_bytes": self.target_bytes,
            "total_bytes": self.total_bytes,
            "files": self.files.iter().map(ManifestFile::to_json).collect::<Vec<_>>(),
            "attacks": self.attacks.iter().map(PlantedAttack::to_json).collect::<Vec<_>>(),
        })
    }

    /// Events of one kind in all files (CloudTrail counted once even with the NDJSON
    /// copy).
    pub fn events_of(&self, kind: &str) -> u64 {
        self.files
            .iter()
            .filter(|f| f.kind == kind && f.format != "cloudtrail-ndjson")
            .map(|f| f.events)
            .sum()
    }
}

/// Writes a dataset of about `target_bytes` into `dir` with the default
/// [`DatasetOptions`]: `cloudtrail/*.json` (S3 objects), `vpcflow/*.log`,
/// `k8s/audit.ndjson` and `falco/alerts.ndjson` (nothing else, so the directory can
/// be ingested as a whole). All streams cover the same time span, so attack steps in
/// different sources fall close together in time.
///
/// Each source has a floor (2000 CloudTrail events, 20 000 flow records, 2000
/// audit events, 200 alerts) so the planted scenarios fit; a tiny budget gives a
/// dataset of about 4 MB.
pub fn write_dataset(dir: &Path, cfg: &GenConfig, target_bytes: u64) -> io::Result<Manifest> {
    write_dataset_with(dir, cfg, target_bytes, &DatasetOptions::default())
}

/// [`write_dataset`] with explicit layout options.
pub fn write_dataset_with(
    dir: &Path,
    cfg: &GenConfig,
    target_bytes: u64,
    opts: &DatasetOptions,
) -> io::Result<Manifest> {
    let sum: f64 = opts.shares.iter().map(|s| s.max(0.0)).sum();
    let share = |i: usize| {
        if sum > 0.0 {
            opts.shares[i].max(0.0) / sum
        } else {
            0.2
        }
    };
    let budget = target_bytes as f64;
    let ct_n = ((budget * share(0) / CT_AVG) as u64).max(2000);
    let v5_n = ((budget * share(1) / FLOW_V5_AVG) as u64).max(20_000);
    let v2_n = ((budget * share(2) / FLOW_V2_AVG) as u64).max(2_000);
    let k8s_n = ((budget * share(3) / K8S_AVG) as u64).max(2000);
    let falco_n = ((budget * share(4) / FALCO_AVG) as u64).max(200);
    // CloudTrail keeps its natural rate; the others are spread over the same span.
    let span = ct_n as f64 * 0.1;

    let mut names = Rng::with_seed(cfg.seed ^ hash_str("dataset-names"));
    let mut files = Vec::new();
    let mut attacks = Vec::new();
    let mut end = cfg.start();

    // CloudTrail S3 objects.
    let ct_dir = dir.join("cloudtrail");
    fs::create_dir_all(&ct_dir)?;
    let mut g = CloudTrailGenerator::new(cfg, ct_n);
    let per = opts.events_per_file.max(1) as u64;
    let acct = super::attacks::PROD_ACCOUNT_ID;
    while g.remaining() > 0 {
        let first_guess = g.last_time();
        let mut suffix = Vec::new();
        push_alnum(&mut suffix, &mut names, 16);
        let name = format!(
            "{acct}_CloudTrail_us-east-1_{}_{}.json",
            compact_minute(first_guess),
            String::from_utf8_lossy(&suffix)
        );
        let mut f = File::create(ct_dir.join(&name))?;
        let mut sink = Sink::new(&mut f);
        sink.buf.extend_from_slice(b"{\"Records\":[");
        let mut n = 0u64;
        let mut first = None;
        while n < per {
            if n > 0 {
                sink.buf.push(b',');
            }
            if !g.next_into(&mut sink.buf) {
                if n > 0 {
                    sink.buf.pop();
                }
                break;
            }
            first.get_or_insert(g.last_time());
            n += 1;
            sink.maybe_flush()?;
        }
        sink.buf.extend_from_slice(b"]}");
        let bytes = sink.finish()?;
        files.push(ManifestFile {
            path: format!("cloudtrail/{name}"),
            kind: "cloudtrail",
            format: "cloudtrail-s3-object",
            events: n,
            bytes,
            first_time: first.unwrap_or(first_guess),
            last_time: g.last_time(),
        });
    }
    end = end.max(g.last_time());
    attacks.extend(g.planted());

    if opts.cloudtrail_ndjson {
        let mut g = CloudTrailGenerator::new(cfg, ct_n);
        let mut f = File::create(dir.join("cloudtrail.ndjson"))?;
        let bytes = super::write_cloudtrail_with(&mut f, &mut g, super::CloudTrailForm::Ndjson)?;
        files.push(ManifestFile {
            path: "cloudtrail.ndjson".to_string(),
            kind: "cloudtrail",
            format: "cloudtrail-ndjson",
            events: ct_n,
            bytes,
            first_time: cfg.start(),
            last_time: g.last_time(),
        });
    }

    // VPC flow logs: prod in the version 5 custom format, staging in the default one.
    let flow_dir = dir.join("vpcflow");
    fs::create_dir_all(&flow_dir)?;
    for (mut g, form, format) in [
        (
            FlowGenerator::new(cfg, v5_n).with_span_secs(span),
            FlowForm::V5Custom,
            "vpcflow-v5-custom",
        ),
        (
            FlowGenerator::staging(cfg, v2_n).with_span_secs(span),
            FlowForm::V2Default,
            "vpcflow-v2-default",
        ),
    ] {
        let flow_log_id = format!("fl-0{}", hex_of(hash_str(format), 16));
        let per = opts.flow_records_per_file.max(1) as u64;
        let acct = g.account_id();
        while g.remaining() > 0 {
            let first_guess = g.last_time();
            let mut h = Vec::new();
            push_hex(&mut h, &mut names, 8);
            let name = format!(
                "{acct}_vpcflowlogs_us-east-1_{flow_log_id}_{}_{}.log",
                compact_minute(first_guess),
                String::from_utf8_lossy(&h)
            );
            let mut f = File::create(flow_dir.join(&name))?;
            let mut sink = Sink::new(&mut f);
            sink.buf.extend_from_slice(flow_header(form).as_bytes());
            sink.buf.push(b'\n');
            let mut n = 0u64;
            let mut first = None;
            while n < per && g.next_into(&mut sink.buf, form) {
                sink.buf.push(b'\n');
                first.get_or_insert(g.last_time());
                n += 1;
                sink.maybe_flush()?;
            }
            let bytes = sink.finish()?;
            files.push(ManifestFile {
                path: format!("vpcflow/{name}"),
                kind: "vpcflow",
                format,
                events: n,
                bytes,
                first_time: first.unwrap_or(first_guess),
                last_time: g.last_time(),
            });
        }
        end = end.max(g.last_time());
        attacks.extend(g.planted());
    }

    // Kubernetes audit log.
    fs::create_dir_all(dir.join("k8s"))?;
    let mut g = K8sAuditGenerator::new(cfg, k8s_n).with_span_secs(span);
    let mut f = File::create(dir.join("k8s").join("audit.ndjson"))?;
    let mut sink = Sink::new(&mut f);
    let mut first = None;
    while g.next_into(&mut sink.buf) {
        sink.buf.push(b'\n');
        first.get_or_insert(g.last_time());
        sink.maybe_flush()?;
    }
    let bytes = sink.finish()?;
    files.push(ManifestFile {
        path: "k8s/audit.ndjson".to_string(),
        kind: "k8s_audit",
        format: "k8s-audit-ndjson",
        events: k8s_n,
        bytes,
        first_time: first.unwrap_or(cfg.start()),
        last_time: g.last_time(),
    });
    end = end.max(g.last_time());
    attacks.extend(g.planted());

    // Falco alerts.
    fs::create_dir_all(dir.join("falco"))?;
    let mut g = FalcoGenerator::new(cfg, falco_n).with_span_secs(span);
    let mut f = File::create(dir.join("falco").join("alerts.ndjson"))?;
    let mut sink = Sink::new(&mut f);
    let mut first = None;
    while g.next_into(&mut sink.buf) {
        sink.buf.push(b'\n');
        first.get_or_insert(g.last_time());
        sink.maybe_flush()?;
    }
    let bytes = sink.finish()?;
    files.push(ManifestFile {
        path: "falco/alerts.ndjson".to_string(),
        kind: "falco",
        format: "falco-ndjson",
        events: falco_n,
        bytes,
        first_time: first.unwrap_or(cfg.start()),
        last_time: g.last_time(),
    });
    end = end.max(g.last_time());
    attacks.extend(g.planted());

    let manifest = Manifest {
        seed: cfg.seed,
        start_unix: cfg.start(),
        end_unix: end,
        target_bytes,
        total_bytes: files.iter().map(|f| f.bytes).sum(),
        files,
        attacks,
    };
    if opts.write_manifest {
        let text = serde_json::to_vec_pretty(&manifest.to_json()).map_err(io::Error::other)?;
        fs::write(dir.join("manifest.json"), text)?;
    }
    Ok(manifest)
}
