// Shared by the fuzz targets: decode the bytes under one format, in small chunks so the
// resumable scanning paths run, and check the accounting invariants.

use vigil_ingest::{DeadLetter, DecoderConfig, Flush, Format, Sink};

struct Check {
    rows: u64,
    dead: u64,
}

impl Sink for Check {
    fn flush(&mut self, f: Flush) -> vigil_ingest::Result<()> {
        for b in &f.batches {
            assert_eq!(b.batch.schema(), vigil_ingest::schema::schema(b.kind));
            self.rows += b.batch.num_rows() as u64;
        }
        Ok(())
    }
    fn dead_letter(&mut self, d: DeadLetter) -> vigil_ingest::Result<()> {
        assert!(!d.reason.is_empty());
        self.dead += 1;
        Ok(())
    }
}

pub fn run(data: &[u8], format: Format) {
    let cfg = DecoderConfig {
        format,
        read_chunk: 64,
        batch_rows: 7,
        max_record_bytes: 4096,
        ..DecoderConfig::default()
    };
    let mut sink = Check { rows: 0, dead: 0 };
    let stats = vigil_ingest::decode_bytes(data, "fuzz", &cfg, &mut sink).expect("in-memory decoding cannot fail");
    assert_eq!(stats.total_events(), sink.rows);
    assert_eq!(stats.rejected, sink.dead);
}
