//! The manifest: an append-only hash chain of entries, one immutable file each
//! (`manifest/0000000001.json`, ...).
//!
//! A *segment* entry lists a sealed segment's files with their SHA-256, sizes and the
//! row counts and event-time range of each table; a *retention* entry records the removal
//! of expired segments. Each entry carries the hash of the previous one and its own hash
//! (SHA-256 of its canonical JSON with `hash` empty), so editing, deleting or reordering
//! entries breaks the chain, and changing a file breaks its recorded hash. Entries are
//! created with "create if absent" (`O_EXCL`-like locally, a conditional PUT on S3), so
//! two writers never both append entry N.
//!
//! With `VIGIL_SIGNING_KEY` (hex of a 32-byte Ed25519 seed) in the environment, each
//! entry also gets `NNNNNNNNNN.sig`, an Ed25519 signature of its hash; `vigil verify`
//! checks the newest entry's signature with `VIGIL_VERIFY_KEY` (hex public key) or the
//! signing key. Truncating the newest entries (with their signatures) is only detectable
//! against a record of the chain head kept elsewhere (`vigil verify --expect-head`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backend::Backend;
use crate::{Result, StoreError};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One file of a sealed segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    /// Path relative to the store's root.
    pub path: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// The table, for Parquet files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Rows, for Parquet files.
    #[serde(default)]
    pub rows: u64,
    /// Smallest event time (µs), for Parquet files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_time: Option<i64>,
    /// Largest event time (µs), for Parquet files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time: Option<i64>,
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    /// A sealed segment.
    Segment {
        /// Segment id.
        id: String,
        /// Parquet files and index files.
        files: Vec<FileMeta>,
        /// Raw bytes ingested into the segment (the records' verbatim text).
        raw_bytes: u64,
    },
    /// Segments removed by retention.
    Retention {
        /// Removed segment ids.
        removed: Vec<String>,
        /// Why (the policy).
        reason: String,
    },
}

/// One link of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position, from 1.
    pub seq: u64,
    /// When it was written (RFC 3339 UTC).
    pub created: String,
    /// What it records.
    #[serde(flatten)]
    pub kind: EntryKind,
    /// Hash of the previous entry ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl Entry {
    /// The hash this entry should have.
    pub fn compute_hash(&self) -> String {
        let mut e = self.clone();
        e.hash = String::new();
        let bytes = serde_json::to_vec(&e).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// The entry's file name.
    pub fn file(seq: u64) -> String {
        format!("manifest/{seq:010}.json")
    }
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads every manifest entry in order. A file that is not an entry is an error naming it.
pub async fn read_all(b: &Backend) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for rel in b.list("manifest").await? {
        if !rel.ends_with(".json") {
            continue;
        }
        let bytes = b.get(&rel).await?;
        let e: Entry = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: rel.clone().into(),
            reason: e.to_string(),
        })?;
        out.push(e);
    }
    out.sort_by_key(|e| e.seq);
    Ok(out)
}

/// Appends an entry after `prev` (None: the first). Returns the written entry.
pub async fn append(
    b: &Backend,
    prev: Option<&Entry>,
    kind: EntryKind,
    now: String,
) -> Result<Entry> {
    let seq = prev.map_or(1, |p| p.seq + 1);
    let mut e = Entry {
        seq,
        created: now,
        kind,
        prev_hash: prev.map_or_else(|| GENESIS.to_string(), |p| p.hash.clone()),
        hash: String::new(),
    };
    e.hash = e.compute_hash();
    let bytes = serde_json::to_vec_pretty(&e).map_err(|x| StoreError::Query(x.to_string()))?;
    if !b.put_new(&Entry::file(seq), bytes).await? {
        return Err(StoreError::Conflict(seq));
    }
    if let Some(key) = signing_key() {
        use ed25519_dalek::Signer;
        let sig = key.sign(e.hash.as_bytes());
        b.put(
            &format!("manifest/{seq:010}.sig"),
            hex::encode(sig.to_bytes()).into_bytes(),
        )
        .await?;
    }
    Ok(e)
}

fn signing_key() -> Option<ed25519_dalek::SigningKey> {
    let hex_seed = std::env::var("VIGIL_SIGNING_KEY").ok()?;
    let seed: [u8; 32] = hex::decode(hex_seed.trim()).ok()?.try_into().ok()?;
    Some(ed25519_dalek::SigningKey::from_bytes(&seed))
}

fn verifying_key() -> Option<ed25519_dalek::VerifyingKey> {
    if let Ok(h) = std::env::var("VIGIL_VERIFY_KEY") {
        let bytes: [u8; 32] = hex::decode(h.trim()).ok()?.try_into().ok()?;
        return ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok();
    }
    signing_key().map(|k| k.verifying_key())
}

/// The outcome of verifying the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Segments whose files were checked.
    pub segments: u64,
    /// Files hashed.
    pub files: u64,
    /// The newest entry's hash (record it elsewhere to detect truncation later).
    pub head: Option<String>,
    /// Whether the head's signature was checked and is valid (`None`: no key given).
    pub signature_ok: Option<bool>,
    /// Problems, in chain order; the first names the first bad segment or entry.
    pub problems: Vec<String>,
    /// Files under `tables/` or `index/` that no entry lists (not used by queries).
    pub unlisted: Vec<String>,
}

impl VerifyReport {
    /// Whether everything checked out.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.signature_ok != Some(false)
    }
}

/// Recomputes the chain and every listed file's hash.
pub async fn verify(b: &Backend, expect_head: Option<&str>) -> Result<VerifyReport> {
    let mut r = VerifyReport::default();
    let entries = read_all(b).await?;
    let removed = removed_segments(&entries);
    let mut prev_hash = GENESIS.to_string();
    let mut listed = std::collections::BTreeSet::new();
    for (i, e) in entries.iter().enumerate() {
        r.entries += 1;
        let expected_seq = i as u64 + 1;
        let name = match &e.kind {
            EntryKind::Segment { id, .. } => format!("segment {id} (entry {})", e.seq),
            EntryKind::Retention { .. } => format!("retention entry {}", e.seq),
        };
        if e.seq != expected_seq {
            r.problems.push(format!("{name}: expected entry number {expected_seq} here; entries are missing or reordered"));
        }
        if e.compute_hash() != e.hash {
            r.problems.push(format!(
                "{name}: its content does not match its hash (the manifest entry was edited)"
            ));
        }
        if e.prev_hash != prev_hash {
            r.problems.push(format!("{name}: does not link to the entry before it (an entry was removed, replaced or reordered)"));
        }
        prev_hash = e.hash.clone();
        if let EntryKind::Segment { id, files, .. } = &e.kind {
            let gone = removed.contains(id.as_str());
            for f in files {
                listed.insert(f.path.clone());
            }
            if gone {
                continue;
            }
            r.segments += 1;
            for f in files {
                r.files += 1;
                match b.get(&f.path).await {
                    Ok(bytes) => {
                        if sha256_hex(&bytes) != f.sha256 {
                            r.problems.push(format!(
                                "{name}: file {} does not match its recorded SHA-256 (modified)",
                                f.path
                            ));
                        }
                    }
                    Err(_) => r
                        .problems
                        .push(format!("{name}: file {} is missing (deleted)", f.path)),
                }
            }
        }
    }
    r.head = entries.last().map(|e| e.hash.clone());
    if let (Some(expect), Some(head)) = (expect_head, &r.head)
        && !entries.iter().any(|e| e.hash == expect)
    {
        r.problems.push(format!("the expected head {expect} is not in the chain (current head {head}): entries were removed or the chain replaced"));
    }
    if let (Some(key), Some(last)) = (verifying_key(), entries.last()) {
        use ed25519_dalek::Verifier;
        let ok = match b.get(&format!("manifest/{:010}.sig", last.seq)).await {
            Ok(sig) => hex::decode(String::from_utf8_lossy(&sig).trim())
                .ok()
                .and_then(|s| <[u8; 64]>::try_from(s).ok())
                .map(|s| ed25519_dalek::Signature::from_bytes(&s))
                .is_some_and(|s| key.verify(last.hash.as_bytes(), &s).is_ok()),
            Err(_) => false,
        };
        if !ok {
            r.problems.push(format!("entry {}: the chain head's signature is missing or does not verify with the given key", last.seq));
        }
        r.signature_ok = Some(ok);
    }
    for dir in ["tables", "index"] {
        for rel in b.list(dir).await? {
            let name = rel.rsplit('/').next().unwrap_or(&rel);
            if !listed.contains(&rel) && !crate::index::is_transient(name) {
                r.unlisted.push(rel);
            }
        }
    }
    Ok(r)
}

/// Whether the manifest records sealing segment `id` (a log whose segment is listed was
/// sealed already: its rows are in the sealed files, not to be replayed).
pub fn has_segment(entries: &[Entry], id: &str) -> bool {
    entries
        .iter()
        .any(|e| matches!(&e.kind, EntryKind::Segment { id: s, .. } if s == id))
}

/// The ids of the segments retention removed (recorded by `Retention` entries).
pub fn removed_segments(entries: &[Entry]) -> std::collections::HashSet<&str> {
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Retention { removed, .. } => Some(removed),
            _ => None,
        })
        .flatten()
        .map(String::as_str)
        .collect()
}

/// Per table: the files of live (not removed) segments, with their statistics.
pub fn live_files(entries: &[Entry]) -> BTreeMap<String, Vec<FileMeta>> {
    let removed = removed_segments(entries);
    let mut out: BTreeMap<String, Vec<FileMeta>> = BTreeMap::new();
    for e in entries {
        if let EntryKind::Segment { id, files, .. } = &e.kind {
            if removed.contains(id.as_str()) {
                continue;
            }
            for f in files {
                if let Some(t) = &f.table {
                    out.entry(t.clone()).or_default().push(f.clone());
                }
            }
        }
    }
    out
}
