#![no_main]
//! Fuzzes decoding with `--format falco`.

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::run(data, vigil_ingest::Format::Only(vigil_ingest::SourceKind::Falco));
});
