//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use arrow::array::{Array, RecordBatch};
use vigil_ingest::input::{self, Input};
use vigil_ingest::{DeadLetter, DecodeStats, Decoder, DecoderConfig, Flush, Sink, SourceKind};

/// The shared third-party corpus: `$VIGIL_CORPUS`, else `shared/corpus` next to the
/// checkout (or one level up), else `/work/shared/corpus`. Panics with instructions when
/// it is missing: these tests must not pass vacuously.
pub fn corpus() -> PathBuf {
    if let Ok(p) = std::env::var("VIGIL_CORPUS") {
        return PathBuf::from(p);
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let candidates = [
        ws.join("../shared/corpus"),
        ws.join("../../shared/corpus"),
        PathBuf::from("/work/shared/corpus"),
    ];
    candidates
        .iter()
        .find(|p| p.is_dir())
        .cloned()
        .unwrap_or_else(|| {
            panic!("shared corpus not found (tried {candidates:?}): set VIGIL_CORPUS")
        })
}

/// Everything a decoder produced.
#[derive(Default)]
pub struct Collected {
    pub flushes: Vec<Flush>,
    pub dead: Vec<DeadLetter>,
}

impl Sink for Collected {
    fn flush(&mut self, f: Flush) -> vigil_ingest::Result<()> {
        self.flushes.push(f);
        Ok(())
    }
    fn dead_letter(&mut self, d: DeadLetter) -> vigil_ingest::Result<()> {
        self.dead.push(d);
        Ok(())
    }
}

impl Collected {
    /// All batches of `kind`.
    pub fn batches(&self, kind: SourceKind) -> Vec<&RecordBatch> {
        self.flushes
            .iter()
            .flat_map(|f| f.batches.iter())
            .filter(|b| b.kind == kind)
            .map(|b| &b.batch)
            .collect()
    }

    /// Number of rows of `kind`.
    pub fn rows(&self, kind: SourceKind) -> usize {
        self.batches(kind).iter().map(|b| b.num_rows()).sum()
    }

    /// String values of column `name` over all batches of `kind`.
    pub fn strings(&self, kind: SourceKind, name: &str) -> Vec<Option<String>> {
        let mut out = Vec::new();
        for b in self.batches(kind) {
            let col = b
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"));
            let s = col
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .unwrap();
            for i in 0..s.len() {
                out.push(s.is_valid(i).then(|| s.value(i).to_string()));
            }
        }
        out
    }
}

/// Decodes one file (gzip detected) with `cfg`.
pub fn decode_file(path: &Path, cfg: &DecoderConfig) -> (Collected, DecodeStats) {
    let mut c = Collected::default();
    let input = Input::File(path.to_path_buf());
    let reader = input::open(&input, Arc::new(AtomicU64::new(0))).unwrap();
    let stats = Decoder::from_reader(reader, &input.name(), cfg, &mut c)
        .run()
        .unwrap();
    (c, stats)
}

/// Decodes bytes with the default configuration.
pub fn decode(bytes: &[u8]) -> (Collected, DecodeStats) {
    decode_with(bytes, &DecoderConfig::default())
}

/// Decodes bytes with `cfg`.
pub fn decode_with(bytes: &[u8], cfg: &DecoderConfig) -> (Collected, DecodeStats) {
    let mut c = Collected::default();
    let stats = vigil_ingest::decode_bytes(bytes, "test", cfg, &mut c).unwrap();
    (c, stats)
}

/// Files below `dir` whose name ends with `suffix`, sorted.
pub fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}
