//! Deterministic generators of realistic security logs.
//!
//! Four sources, each streamed to any [`std::io::Write`] in constant memory:
//!
//! - **AWS CloudTrail** ([`write_cloudtrail`], [`CloudTrailGenerator`]): the events of
//!   three AWS accounts (prod, staging, security) with a realistic mix — AWS Config and
//!   auditors describing everything, EKS nodes pulling images, workloads reading S3
//!   objects and KMS keys, people in the console and the CLI through IAM Identity
//!   Center, Terraform in CI, AWS services assuming roles, rare IAM and network
//!   changes, ~3% failed calls. Identities are `IAMUser`, `AssumedRole`,
//!   `AWSService`, `Root` (and `WebIdentityUser` for IRSA), each with consistent
//!   principal ids, ARNs, `AKIA…`/`ASIA…` keys and a stable set of source addresses.
//!   Written as S3 delivery objects (`{"Records":[…]}`) or NDJSON.
//! - **AWS VPC Flow Logs** ([`write_vpcflow`], [`FlowGenerator`]): the default
//!   version 2 format or a version 5 custom format, with the S3 header line.
//! - **Kubernetes audit events** ([`write_k8s_audit`], [`K8sAuditGenerator`]): an EKS
//!   cluster's API server audit log, one `audit.k8s.io/v1` `Event` per line.
//! - **Falco alerts** ([`write_falco`], [`FalcoGenerator`]): `json_output` alerts of the
//!   default rules, one per line.
//!
//! All sources describe the same made-up estate (the same instances, addresses, pods
//! and nodes appear in each) and, with [`GenConfig::attacks`], contain planted attack
//! scenarios whose identifying values are the constants of [`attacks`]; each
//! generator reports what it planted ([`PlantedAttack`]). [`write_dataset`] writes a
//! directory with all of them and a [`Manifest`].
//!
//! Output depends only on the [`GenConfig`] and the requested count: the same seed
//! gives byte-identical output. Time never goes backwards within a stream.
//!
//! ```
//! use vigil_bench::generate::{write_cloudtrail, CloudTrailForm, GenConfig};
//!
//! let mut out = Vec::new();
//! let bytes = write_cloudtrail(&mut out, &GenConfig::default(), 3, CloudTrailForm::Ndjson)?;
//! assert_eq!(bytes as usize, out.len());
//! for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
//!     let event: serde_json::Value = serde_json::from_slice(line)?;
//!     assert!(event["eventTime"].as_str().is_some_and(|t| t.ends_with('Z')));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Write};

pub mod attacks;
mod cloudtrail;
mod ct_api;
mod ct_body;
mod ct_pop;
mod dataset;
mod falco;
mod ids;
mod infra;
mod json;
mod k8s;
mod time;
mod vpcflow;

pub use attacks::PlantedAttack;
pub use cloudtrail::CloudTrailGenerator;
pub use dataset::{DatasetOptions, Manifest, ManifestFile, write_dataset, write_dataset_with};
pub use falco::FalcoGenerator;
pub use k8s::K8sAuditGenerator;
pub use vpcflow::FlowGenerator;

/// What to generate: the seed, where time starts, and whether to plant attacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenConfig {
    /// Seed of every random choice. Same seed, same bytes.
    pub seed: u64,
    /// Unix seconds of the first event (taken as 0 if negative and as
    /// [`MAX_START_UNIX`] if larger).
    pub start_unix: i64,
    /// Plant the attack scenarios of [`attacks`] among the background events.
    pub attacks: bool,
}

/// The latest start time the generators accept (Unix seconds, in the year 2255):
/// nanosecond timestamps from there on still fit in an `i64`.
pub const MAX_START_UNIX: i64 = 9_000_000_000;

impl GenConfig {
    /// `start_unix` within `0..=MAX_START_UNIX`.
    pub(crate) fn start(&self) -> i64 {
        self.start_unix.clamp(0, MAX_START_UNIX)
    }
}

impl Default for GenConfig {
    /// Seed 42, starting 2024-05-01T00:00:00Z, with attacks.
    fn default() -> Self {
        GenConfig {
            seed: 42,
            start_unix: 1_714_521_600,
            attacks: true,
        }
    }
}

/// How CloudTrail events are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudTrailForm {
    /// S3 delivery objects, `{"Records":[…]}` on one line each, at most
    /// `events_per_file` events per object (0: all in one), objects separated by `\n`.
    S3Object {
        /// Events per object.
        events_per_file: usize,
    },
    /// One event per line.
    Ndjson,
}

/// Which VPC flow log format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowForm {
    /// The default format (version 2, 14 fields).
    V2Default,
    /// A custom version 5 format: the 14 default fields, then `vpc-id subnet-id
    /// instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id flow-direction
    /// traffic-path`.
    V5Custom,
}

/// Buffers output and counts the bytes handed to the writer.
pub(crate) struct Sink<'w, W: Write> {
    w: &'w mut W,
    pub buf: Vec<u8>,
    written: u64,
}

const SINK_FLUSH_AT: usize = 256 * 1024;

impl<'w, W: Write> Sink<'w, W> {
    /// A sink writing to `w`.
    pub fn new(w: &'w mut W) -> Self {
        Sink {
            w,
            buf: Vec::with_capacity(SINK_FLUSH_AT + 64 * 1024),
            written: 0,
        }
    }

    /// Writes the buffer out once it is large.
    pub fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= SINK_FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffer out.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Flushes and returns the bytes written in total.
    pub fn finish(mut self) -> io::Result<u64> {
        self.flush()?;
        self.w.flush()?;
        Ok(self.written)
    }
}

/// Writes CloudTrail records with an already built generator (all it has left).
pub(crate) fn write_cloudtrail_with<W: Write>(
    w: &mut W,
    g: &mut CloudTrailGenerator,
    form: CloudTrailForm,
) -> io::Result<u64> {
    let mut sink = Sink::new(w);
    match form {
        CloudTrailForm::Ndjson => {
            while g.next_into(&mut sink.buf) {
                sink.buf.push(b'\n');
                sink.maybe_flush()?;
            }
        }
        CloudTrailForm::S3Object { events_per_file } => {
            let per = if events_per_file == 0 {
                usize::MAX
            } else {
                events_per_file
            };
            let mut first_object = true;
            while g.remaining() > 0 {
                if !first_object {
                    sink.buf.push(b'\n');
                }
                first_object = false;
                sink.buf.extend_from_slice(b"{\"Records\":[");
                let mut n = 0;
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
                    n += 1;
                    sink.maybe_flush()?;
                }
                sink.buf.extend_from_slice(b"]}");
            }
        }
    }
    sink.finish()
}

/// Writes `events` CloudTrail events in `form`; returns the bytes written.
///
/// Events average about 1.5 KB (like a busy account's CloudTrail, where most calls
/// come from assumed roles). `eventTime` increases from `cfg.start_unix` at about 10
/// events per second.
pub fn write_cloudtrail<W: Write>(
    w: &mut W,
    cfg: &GenConfig,
    events: usize,
    form: CloudTrailForm,
) -> io::Result<u64> {
    let mut g = CloudTrailGenerator::new(cfg, events as u64);
    write_cloudtrail_with(w, &mut g, form)
}

/// The S3 header line of a flow log format.
pub fn flow_header(form: FlowForm) -> &'static str {
    match form {
        FlowForm::V2Default => vpcflow::V2_HEADER,
        FlowForm::V5Custom => vpcflow::V5_HEADER,
    }
}

/// Writes a header line then the records left in `g`.
pub(crate) fn write_vpcflow_with<W: Write>(
    w: &mut W,
    g: &mut FlowGenerator,
    form: FlowForm,
) -> io::Result<u64> {
    let mut sink = Sink::new(w);
    sink.buf.extend_from_slice(flow_header(form).as_bytes());
    sink.buf.push(b'\n');
    while g.next_into(&mut sink.buf, form) {
        sink.buf.push(b'\n');
        sink.maybe_flush()?;
    }
    sink.finish()
}

/// Writes the header line and `records` flow log records of the production VPC in
/// `form`; returns the bytes written.
///
/// Records average about 113 bytes (version 2) or 235 bytes (version 5); `start` never
/// decreases, from `cfg.start_unix` at about 100 records per second.
pub fn write_vpcflow<W: Write>(
    w: &mut W,
    cfg: &GenConfig,
    records: usize,
    form: FlowForm,
) -> io::Result<u64> {
    let mut g = FlowGenerator::new(cfg, records as u64);
    write_vpcflow_with(w, &mut g, form)
}

/// Writes `events` Kubernetes audit events, one per line; returns the bytes written.
///
/// Events average about 1.3 KB. `requestReceivedTimestamp` increases from
/// `cfg.start_unix` at about 50 events per second; about 8% of requests are logged
/// twice, at stage `RequestReceived` then `ResponseComplete` (same `auditID`).
pub fn write_k8s_audit<W: Write>(w: &mut W, cfg: &GenConfig, events: usize) -> io::Result<u64> {
    let mut g = K8sAuditGenerator::new(cfg, events as u64);
    let mut sink = Sink::new(w);
    while g.next_into(&mut sink.buf) {
        sink.buf.push(b'\n');
        sink.maybe_flush()?;
    }
    sink.finish()
}

/// Writes `alerts` Falco alerts, one per line; returns the bytes written.
///
/// Alerts average about 1.5 KB; `time` increases from `cfg.start_unix` at about one
/// alert every 5 seconds.
pub fn write_falco<W: Write>(w: &mut W, cfg: &GenConfig, alerts: usize) -> io::Result<u64> {
    let mut g = FalcoGenerator::new(cfg, alerts as u64);
    let mut sink = Sink::new(w);
    while g.next_into(&mut sink.buf) {
        sink.buf.push(b'\n');
        sink.maybe_flush()?;
    }
    sink.finish()
}

#[cfg(test)]
mod tests;
