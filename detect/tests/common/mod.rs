//! Helpers shared by the detection tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use vigil_ingest::input::{self, Input};
use vigil_ingest::{DeadLetter, Decoder, DecoderConfig, EventBatch, Flush, Sink};

/// The shared corpus (see [`vigil_bench::corpus_dir`]).
pub fn corpus() -> PathBuf {
    vigil_bench::corpus_dir().expect("the shared corpus (../shared/corpus or $VIGIL_CORPUS)")
}

#[derive(Default)]
pub struct Batches(pub Vec<EventBatch>, pub Vec<DeadLetter>);

impl Sink for Batches {
    fn flush(&mut self, f: Flush) -> vigil_ingest::Result<()> {
        self.0.extend(f.batches);
        Ok(())
    }
    fn dead_letter(&mut self, d: DeadLetter) -> vigil_ingest::Result<()> {
        self.1.push(d);
        Ok(())
    }
}

/// Decodes every file below `paths` into batches.
pub fn batches(paths: &[PathBuf]) -> Batches {
    let mut out = Batches::default();
    let cfg = DecoderConfig::default();
    for i in input::expand(paths).unwrap() {
        let name = i.name();
        let r = input::open(&i, Arc::new(AtomicU64::new(0))).unwrap();
        Decoder::from_reader(r, &name, &cfg, &mut out)
            .run()
            .unwrap();
    }
    out
}

/// Decodes bytes into batches.
pub fn batches_of(bytes: &[u8]) -> Batches {
    let mut out = Batches::default();
    vigil_ingest::decode_bytes(bytes, "test", &DecoderConfig::default(), &mut out).unwrap();
    out
}

pub fn file_input(p: &Path) -> Input {
    Input::File(p.to_path_buf())
}
