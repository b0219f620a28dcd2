//! How long Hyperscan takes to compile N anchored literal patterns under different flags.
use hyperscan::prelude::*;
use hyperscan::{BlockMode, PatternFlags};
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000);
    let anchored = std::env::args().nth(2).as_deref() != Some("unanchored");
    let words: Vec<String> = (0..n)
        .map(|i| {
            if anchored {
                format!("\\Aputbucketpolicy\\x2dv{i}\\z")
            } else {
                format!("putbucketpolicy\\x2dv{i}")
            }
        })
        .collect();
    for (name, flags) in [
        ("singlematch", PatternFlags::SINGLEMATCH),
        (
            "+caseless",
            PatternFlags::SINGLEMATCH | PatternFlags::CASELESS,
        ),
        (
            "+caseless+utf8",
            PatternFlags::SINGLEMATCH | PatternFlags::CASELESS | PatternFlags::UTF8,
        ),
        (
            "+caseless+utf8+dotall",
            PatternFlags::SINGLEMATCH
                | PatternFlags::CASELESS
                | PatternFlags::UTF8
                | PatternFlags::DOTALL,
        ),
    ] {
        let pats: Vec<Pattern> = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut p = Pattern::with_flags(w.clone(), flags).unwrap();
                p.id = Some(i);
                p
            })
            .collect();
        let t = Instant::now();
        let _db: BlockDatabase = Patterns(pats).build::<BlockMode>().unwrap();
        println!("{name}: {n} patterns in {:.2}s", t.elapsed().as_secs_f64());
    }
}
