//! Helpers shared by the store tests: loading real corpus files and generated events.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch};
use vigil_ingest::{DeadLetter, EventBatch, Flush, Sink};
use vigil_store::query::QuerySession;
use vigil_store::reader::Snapshot;
use vigil_store::{Appended, Store, tables};

/// The shared corpus.
pub fn corpus() -> PathBuf {
    vigil_bench::corpus_dir().expect("the shared corpus (../shared/corpus or $VIGIL_CORPUS)")
}

/// A multi-threaded runtime (DataFusion and `search()` need one).
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[derive(Default)]
struct Collect(Vec<EventBatch>);

impl Sink for Collect {
    fn flush(&mut self, f: Flush) -> vigil_ingest::Result<()> {
        self.0.extend(f.batches);
        Ok(())
    }
    fn dead_letter(&mut self, _d: DeadLetter) -> vigil_ingest::Result<()> {
        Ok(())
    }
}

/// Decodes bytes into event batches.
pub fn decode(bytes: &[u8], name: &str) -> Vec<EventBatch> {
    let mut c = Collect::default();
    vigil_ingest::decode_bytes(bytes, name, &Default::default(), &mut c).expect("decode");
    c.0
}

/// Decodes every file under `dir` (recursively) with the given extension.
pub fn decode_dir(dir: &Path, ext: &str) -> Vec<EventBatch> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                files.push(p);
            }
        }
    }
    files.sort();
    for f in files {
        out.extend(decode(
            &std::fs::read(&f).expect("read"),
            &f.display().to_string(),
        ));
    }
    out
}

/// Appends batches; returns the totals.
pub async fn append_all(store: &mut Store, batches: &[EventBatch]) -> Appended {
    let mut t = Appended::default();
    for b in batches {
        let a = store
            .append(tables::of_kind(b.kind), &b.batch)
            .await
            .expect("append");
        t.stored += a.stored;
        t.duplicates += a.duplicates;
    }
    t
}

/// One CloudTrail event as an NDJSON line, with `eventID` `id` at `time`.
pub fn ct_line(
    id: &str,
    time: &str,
    name: &str,
    key: &str,
    ip: &str,
    error: Option<&str>,
) -> String {
    let err = error.map_or(String::new(), |e| {
        format!(r#","errorCode":"{e}","errorMessage":"User is not authorized: {e}""#)
    });
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"{time}","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"aws-cli/2.15.0","eventID":"{id}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/{key}-user","accountId":"123456789012","accessKeyId":"{key}","userName":"{key}-user"}}{err},"recipientAccountId":"123456789012"}}"#
    )
}

/// A query session over the store in `dir` as it is now.
pub async fn session(dir: &Path) -> QuerySession {
    QuerySession::new(Arc::new(Snapshot::load(dir).await.expect("snapshot"))).expect("session")
}

/// Runs a query returning one integer.
pub async fn count(dir: &Path, sql: &str) -> i64 {
    let batches = session(dir)
        .await
        .collect(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let b = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .unwrap_or_else(|| panic!("{sql}: no rows"));
    b.column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap_or_else(|| panic!("{sql}: not an integer"))
        .value(0)
}

/// All values of the first column, as strings, in result order.
pub fn strings(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let col =
            arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).expect("cast");
        let s = col
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .expect("strings");
        for i in 0..s.len() {
            out.push(if s.is_null(i) {
                "NULL".into()
            } else {
                s.value(i).to_string()
            });
        }
    }
    out
}
