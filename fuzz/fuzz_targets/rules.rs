#![no_main]
//! Fuzzes loading and compiling Sigma rule files: any bytes must give rules or
//! rejections with reasons, never a panic, an overflow or a stack overflow.

use vigil_detect::compile::{CompileOptions, compile};
use vigil_detect::rule::load::load_str;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let set = load_str(text, std::path::Path::new("fuzz.yml"));
    for r in &set.rejected {
        assert!(!r.reason.is_empty());
    }
    // A Hyperscan failure is an error, not a crash; rejected rules carry their reason.
    if let Ok(plan) = compile(set, &CompileOptions::default()) {
        for r in &plan.report.rejected {
            assert!(!r.reason.is_empty());
        }
    }
});
