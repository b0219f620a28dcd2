#![no_main]
//! Fuzzes decoding with format detection (`--format auto`).

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::run(data, vigil_ingest::Format::Auto);
});
