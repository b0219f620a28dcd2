//! # vigil-ingest
//!
//! Turns raw security logs into Apache Arrow [`RecordBatch`](arrow::array::RecordBatch)es:
//! AWS CloudTrail (S3 `{"Records":[...]}` objects, bare arrays, NDJSON, EventBridge and
//! CloudWatch Logs envelopes, `aws cloudtrail lookup-events` output), AWS VPC Flow Logs
//! (default and custom formats, header lines, `NODATA`/`SKIPDATA`, Transit Gateway flow
//! logs), Kubernetes audit events (`Event` and `EventList`, also inside CloudWatch Logs)
//! and Falco JSON alerts.
//!
//! The crate is pure and synchronous: a [`Decoder`] reads bytes from any
//! [`std::io::Read`] in bounded chunks and hands [`Flush`]es of [`EventBatch`]es and
//! [`DeadLetter`]s to a [`Sink`]. Memory stays bounded whatever the input size. Bad
//! records never stop a run: each becomes a dead letter naming the input, line, byte
//! offset and reason.
//!
//! Each source type has one stable schema ([`schema::schema`]): the OCSF-named common
//! columns, then the source's own fields under their own names; the verbatim record is
//! in `raw`, and anything not flattened into a column is reachable by dotted path
//! ([`path`]).
//!
//! ```
//! use vigil_ingest::{decode_bytes, DecoderConfig, Flush, DeadLetter, Sink, SourceKind};
//!
//! struct Collect(Vec<Flush>, Vec<DeadLetter>);
//! impl Sink for Collect {
//!     fn flush(&mut self, f: Flush) -> vigil_ingest::Result<()> { self.0.push(f); Ok(()) }
//!     fn dead_letter(&mut self, d: DeadLetter) -> vigil_ingest::Result<()> { self.1.push(d); Ok(()) }
//! }
//!
//! let flow = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
//! 2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
//! 2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA
//! ";
//! let mut sink = Collect(vec![], vec![]);
//! let stats = decode_bytes(flow, "flows.log", &DecoderConfig::default(), &mut sink)?;
//! assert_eq!(stats.events[SourceKind::VpcFlow.index()], 2);
//! let batch = &sink.0[0].batches[0];
//! assert_eq!(batch.kind, SourceKind::VpcFlow);
//! assert_eq!(batch.batch.num_rows(), 2);
//! assert!(sink.1.is_empty());
//! # Ok::<(), vigil_ingest::IngestError>(())
//! ```

#![warn(missing_docs)]

pub mod blocks;
pub mod cloudtrail;
mod columns;
mod dead_letter;
pub mod decoder;
mod error;
pub mod falco;
pub mod input;
mod json;
pub mod k8s;
mod kind;
pub mod path;
pub mod scan;
pub mod schema;
pub mod time;
pub mod vpcflow;

pub use dead_letter::DeadLetter;
pub use decoder::{
    Checkpoint, DecodeStats, Decoder, DecoderConfig, EventBatch, Flush, Sink, decode_bytes,
};
pub use error::{IngestError, Result};
pub use kind::{Format, SourceKind};
