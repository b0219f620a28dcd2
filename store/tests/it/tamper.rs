//! Tamper evidence: every kind of change to a sealed store is caught by `verify`, naming
//! the first segment or entry that does not match.

use std::path::Path;

use vigil_store::Store;
use vigil_store::manifest::{self, Entry, EntryKind, VerifyReport};
use vigil_store::reader::Snapshot;

use crate::common::*;

/// A store with three sealed segments of real CloudTrail, Kubernetes and flow logs.
fn three_segments(dir: &Path) -> Vec<Entry> {
    let c = corpus();
    let parts = [
        decode_dir(&c.join("stratus-red-team"), "json"),
        decode_dir(&c.join("falco-k8saudit-tests"), "json"),
        decode_dir(&c.join("aws-vpc-flow-logs-docs"), "log"),
    ];
    rt().block_on(async {
        let mut entries = Vec::new();
        for p in &parts {
            let mut store = Store::open(dir).await.unwrap();
            append_all(&mut store, p).await;
            entries.push(store.close().await.unwrap().expect("sealed"));
        }
        entries
    })
}

fn verify(dir: &Path, expect_head: Option<&str>) -> VerifyReport {
    rt().block_on(async {
        let snap = Snapshot::load(dir).await.unwrap();
        manifest::verify(&snap.backend, expect_head).await.unwrap()
    })
}

fn segment_id(e: &Entry) -> &str {
    match &e.kind {
        EntryKind::Segment { id, .. } => id,
        EntryKind::Retention { .. } => panic!("not a segment"),
    }
}

fn flip_byte(path: &Path) -> Vec<u8> {
    let orig = std::fs::read(path).unwrap();
    let mut b = orig.clone();
    let i = b.len() / 2;
    b[i] ^= 0x01;
    std::fs::write(path, &b).unwrap();
    orig
}

#[test]
fn flipping_one_byte_in_any_sealed_file_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let entries = three_segments(dir.path());
    assert!(verify(dir.path(), None).ok());
    let mut checked = 0;
    for e in &entries {
        let EntryKind::Segment { id, files, .. } = &e.kind else {
            unreachable!()
        };
        for f in files {
            let p = dir.path().join(&f.path);
            let orig = flip_byte(&p);
            let r = verify(dir.path(), None);
            assert!(!r.ok(), "flipping a byte of {} went unnoticed", f.path);
            assert!(
                r.problems[0].contains(id) && r.problems[0].contains(&f.path),
                "{:?}",
                r.problems
            );
            std::fs::write(&p, orig).unwrap();
            checked += 1;
        }
    }
    // Manifest entries themselves.
    for seq in 1..=entries.len() as u64 {
        let p = dir.path().join(Entry::file(seq));
        let orig = std::fs::read(&p).unwrap();
        // Change a digit of a recorded size: still valid JSON, no longer the hashed content.
        let text = String::from_utf8(orig.clone()).unwrap();
        let at = text.find("\"bytes\": ").unwrap() + "\"bytes\": ".len();
        let mut edited = text.clone().into_bytes();
        edited[at] = if edited[at] == b'9' {
            b'1'
        } else {
            edited[at] + 1
        };
        std::fs::write(&p, &edited).unwrap();
        let r = verify(dir.path(), None);
        assert!(
            !r.ok() && r.problems[0].contains(&format!("entry {seq}")),
            "{:?}",
            r.problems
        );
        std::fs::write(&p, orig).unwrap();
        checked += 1;
    }
    assert!(checked > 20, "only {checked} files checked");
    assert!(verify(dir.path(), None).ok());
}

#[test]
fn deleting_reordering_and_rewriting_segments_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let entries = three_segments(dir.path());
    let head = entries.last().unwrap().hash.clone();
    let m = |seq: u64| dir.path().join(Entry::file(seq));

    // Deleting a segment's Parquet file.
    let EntryKind::Segment { files, .. } = &entries[1].kind else {
        unreachable!()
    };
    let pq = files.iter().find(|f| f.path.ends_with(".parquet")).unwrap();
    let saved = std::fs::read(dir.path().join(&pq.path)).unwrap();
    std::fs::remove_file(dir.path().join(&pq.path)).unwrap();
    let r = verify(dir.path(), None);
    assert!(
        !r.ok()
            && r.problems[0].contains(segment_id(&entries[1]))
            && r.problems[0].contains("missing"),
        "{:?}",
        r.problems
    );
    std::fs::write(dir.path().join(&pq.path), saved).unwrap();

    // Deleting a whole segment from the manifest.
    let saved = std::fs::read(m(2)).unwrap();
    std::fs::remove_file(m(2)).unwrap();
    let r = verify(dir.path(), None);
    assert!(!r.ok(), "a removed manifest entry went unnoticed");
    assert!(
        r.problems[0].contains(segment_id(&entries[2])),
        "{:?}",
        r.problems
    );
    std::fs::write(m(2), saved).unwrap();

    // Reordering two segments (swapping their entries, renumbered to fit).
    let (a, b) = (
        std::fs::read_to_string(m(2)).unwrap(),
        std::fs::read_to_string(m(3)).unwrap(),
    );
    let mut ea: Entry = serde_json::from_str(&a).unwrap();
    let mut eb: Entry = serde_json::from_str(&b).unwrap();
    std::mem::swap(&mut ea.seq, &mut eb.seq);
    std::fs::write(m(2), serde_json::to_vec_pretty(&eb).unwrap()).unwrap();
    std::fs::write(m(3), serde_json::to_vec_pretty(&ea).unwrap()).unwrap();
    let r = verify(dir.path(), None);
    assert!(
        !r.ok() && r.problems[0].contains(segment_id(&entries[2])),
        "{:?}",
        r.problems
    );
    std::fs::write(m(2), a).unwrap();
    std::fs::write(m(3), b).unwrap();

    // Rewriting an entry and recomputing its own hash breaks the link of the next one.
    let a = std::fs::read_to_string(m(2)).unwrap();
    let mut e: Entry = serde_json::from_str(&a).unwrap();
    if let EntryKind::Segment { files, .. } = &mut e.kind {
        files[0].rows += 1;
    }
    e.hash = e.compute_hash();
    std::fs::write(m(2), serde_json::to_vec_pretty(&e).unwrap()).unwrap();
    let r = verify(dir.path(), None);
    assert!(
        !r.ok()
            && r.problems[0].contains(segment_id(&entries[2]))
            && r.problems[0].contains("link"),
        "{:?}",
        r.problems
    );
    std::fs::write(m(2), a).unwrap();

    // Dropping the newest segment leaves a valid shorter chain: caught against the head
    // recorded earlier.
    assert!(verify(dir.path(), Some(&head)).ok());
    let saved = std::fs::read(m(3)).unwrap();
    std::fs::remove_file(m(3)).unwrap();
    assert!(
        verify(dir.path(), None).ok(),
        "a truncated chain is only detectable against a recorded head"
    );
    let r = verify(dir.path(), Some(&head));
    assert!(
        !r.ok() && r.problems[0].contains("expected head"),
        "{:?}",
        r.problems
    );
    std::fs::write(m(3), saved).unwrap();
    assert!(verify(dir.path(), Some(&head)).ok());
}

#[test]
fn a_signed_chain_head_catches_a_recomputed_chain() {
    // The signing key comes from the environment in production; this test runs in a
    // child process so that setting it does not race other tests.
    if std::env::var("VIGIL_SIGNING_TEST_CHILD").is_err() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tamper::a_signed_chain_head_catches_a_recomputed_chain",
                "--nocapture",
            ])
            .env("VIGIL_SIGNING_TEST_CHILD", "1")
            .env(
                "VIGIL_SIGNING_KEY",
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let entries = three_segments(dir.path());
    let r = verify(dir.path(), None);
    assert!(r.ok() && r.signature_ok == Some(true), "{r:?}");
    // An attacker edits the newest entry and recomputes its hash: the chain still links,
    // but the signature over the head no longer verifies.
    let p = dir.path().join(Entry::file(entries.len() as u64));
    let mut e: Entry = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    if let EntryKind::Segment { files, .. } = &mut e.kind {
        files[0].rows += 1;
    }
    e.hash = e.compute_hash();
    std::fs::write(&p, serde_json::to_vec_pretty(&e).unwrap()).unwrap();
    let r = verify(dir.path(), None);
    assert_eq!(r.signature_ok, Some(false));
    assert!(
        !r.ok() && r.problems.iter().any(|p| p.contains("signature")),
        "{:?}",
        r.problems
    );
}
