//! Decodes the files given as arguments on one thread with a sink that drops the batches,
//! and prints MB/s and events/s. A quick check; the benchmark proper is `vigil-bench`.

use std::time::Instant;

use vigil_ingest::{DeadLetter, DecoderConfig, Flush, Sink};

struct Drop(u64);

impl Sink for Drop {
    fn flush(&mut self, f: Flush) -> vigil_ingest::Result<()> {
        self.0 += f
            .batches
            .iter()
            .map(|b| b.batch.num_rows() as u64)
            .sum::<u64>();
        Ok(())
    }
    fn dead_letter(&mut self, _: DeadLetter) -> vigil_ingest::Result<()> {
        Ok(())
    }
}

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).expect("readable file");
        // VIGIL_REPEAT=N decodes the bytes N times (for profiling); rates are per pass.
        let repeat: usize = std::env::var("VIGIL_REPEAT")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(1)
            .max(1);
        let mut sink = Drop(0);
        let t = Instant::now();
        let mut stats = vigil_ingest::DecodeStats::default();
        for _ in 0..repeat {
            sink.0 = 0;
            stats = vigil_ingest::decode_bytes(&bytes, &path, &DecoderConfig::default(), &mut sink)
                .expect("decodes");
        }
        let s = t.elapsed().as_secs_f64() / repeat as f64;
        println!(
            "{path}: {:.1} MB in {s:.3}s = {:.0} MB/s, {:.0} events/s ({} events, {} rejected)",
            bytes.len() as f64 / 1e6,
            bytes.len() as f64 / 1e6 / s,
            sink.0 as f64 / s,
            sink.0,
            stats.rejected
        );
    }
}
