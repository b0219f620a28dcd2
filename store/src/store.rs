//! The writer: appends go to the open segment's write-ahead log and are acknowledged once
//! durable; sealing turns the open segment into Parquet files, a search index and an id
//! list, records them in the manifest chain and starts a new log.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arrow::array::{Array, BooleanArray, RecordBatch, StringArray};
use arrow::compute::filter_record_batch;
use vigil_detect::Finding;

use crate::backend::Backend;
use crate::error::io;
use crate::ids::{self, SortedIds};
use crate::manifest::{self, Entry, EntryKind, FileMeta, sha256_hex};
use crate::settings::{self, Settings};
use crate::tables::{self, AuditRecord};
use crate::wal::{self, WalWriter};
use crate::{Result, StoreError, index, segment};

/// The log of the open segment, relative to the data directory.
pub const WAL_FILE: &str = "wal/open.wal";
/// The writer lock, relative to the data directory.
pub const LOCK_FILE: &str = "wal/writer.lock";

/// How many times a manifest append is retried when other writers got there first.
const MANIFEST_RETRIES: usize = 64;

/// What an append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    /// Rows stored (new ids).
    pub stored: usize,
    /// Rows skipped because the store already holds their id.
    pub duplicates: usize,
}

/// What opening the store recovered from a previous run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Rows of the open segment replayed from its log.
    pub replayed_rows: u64,
    /// Bytes cut off the end of the log: one append that was never acknowledged.
    pub torn_bytes: u64,
    /// The log belonged to a segment that had already been sealed (crash after sealing,
    /// before starting a new log).
    pub already_sealed: bool,
}

/// The current time in microseconds since the epoch.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// A new segment id: sortable by creation time, unique across writers.
fn new_segment_id() -> String {
    let t = vigil_detect::finding::rfc3339(now_us());
    let compact: String = t[..19].chars().filter(char::is_ascii_digit).collect();
    format!(
        "{}T{}Z-{:08x}",
        &compact[..8],
        &compact[8..],
        fastrand::u32(..)
    )
}

/// Builds the backend a store's settings name.
pub fn backend(dir: &Path, settings: &Settings) -> Result<Backend> {
    match &settings.object_store {
        None => Ok(Backend::Local {
            root: dir.to_path_buf(),
        }),
        Some(url) => {
            let rest = url.strip_prefix("s3://").ok_or_else(|| {
                StoreError::Query(format!("object_store {url:?}: not an s3:// URL"))
            })?;
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StoreError::Query(format!(
                    "object_store {url:?}: no bucket name"
                )));
            }
            let s3 = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()?;
            Ok(Backend::Object {
                store: std::sync::Arc::new(s3),
                prefix: prefix.trim_matches('/').to_string(),
                url: format!("s3://{bucket}"),
            })
        }
    }
}

/// The append-only store, opened for writing by one process at a time.
pub struct Store {
    dir: PathBuf,
    settings: Settings,
    backend: Backend,
    _lock: File,
    wal: WalWriter,
    segment: String,
    open: BTreeMap<String, Vec<RecordBatch>>,
    open_rows: u64,
    open_bytes: u64,
    open_keys: HashSet<u128>,
    sealed: SortedIds,
    entries: Vec<Entry>,
    last_retention: Option<Instant>,
    recovery: Recovery,
    removed: Vec<String>,
    seal_retry_at: Option<Instant>,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`: takes the writer lock, loads the
    /// manifest and the ids of sealed rows, replays the open segment's log, and applies
    /// retention if it is configured.
    pub async fn open(dir: &Path) -> Result<Self> {
        let settings = settings::init_dir(dir)?;
        std::fs::create_dir_all(dir.join("wal")).map_err(io("cannot create", dir.join("wal")))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::create(&lock_path).map_err(io("cannot create", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Query(format!(
                    "another vigil process is writing to {} (it holds {}); stop it or use another --data directory",
                    dir.display(),
                    lock_path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StoreError::Io {
                    action: "cannot lock",
                    path: lock_path,
                    source: e,
                });
            }
        }
        let backend = backend(dir, &settings)?;
        let entries = manifest::read_all(&backend).await?;
        let mut sealed = SortedIds::default();
        for seg in live_segments(&entries) {
            sealed.extend(&ids::decode(&backend.get(&format!("ids/{seg}.bin")).await?));
        }
        let wal_path = dir.join(WAL_FILE);
        let mut recovery = Recovery::default();
        let mut open: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
        let (wal, segment) = if wal_path.exists() {
            let rec = wal::recover(&wal_path)?;
            if crate::manifest::has_segment(&entries, &rec.segment) {
                recovery.already_sealed = true;
                let seg = new_segment_id();
                (WalWriter::create(&wal_path, &seg, settings.fsync)?, seg)
            } else {
                recovery.torn_bytes = rec.torn_bytes;
                if rec.torn_bytes > 0 {
                    tracing::warn!(
                        bytes = rec.torn_bytes,
                        "cut an incomplete, unacknowledged append off the end of {}",
                        wal_path.display()
                    );
                }
                for (table, batch) in rec.records {
                    recovery.replayed_rows += batch.num_rows() as u64;
                    open.entry(table).or_default().push(batch);
                }
                (
                    WalWriter::reopen(&wal_path, rec.valid_len, settings.fsync)?,
                    rec.segment,
                )
            }
        } else {
            let seg = new_segment_id();
            (WalWriter::create(&wal_path, &seg, settings.fsync)?, seg)
        };
        let mut store = Store {
            dir: dir.to_path_buf(),
            settings,
            backend,
            _lock: lock,
            wal,
            segment,
            open: BTreeMap::new(),
            open_rows: 0,
            open_bytes: 0,
            open_keys: HashSet::new(),
            sealed,
            entries,
            last_retention: None,
            recovery,
            removed: Vec::new(),
            seal_retry_at: None,
        };
        for (table, batches) in open {
            for b in batches {
                store.track(&table, b)?;
            }
        }
        store.cleanup_removed().await?;
        store.maybe_retention().await?;
        Ok(store)
    }

    /// What opening recovered.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Segments retention removed since the store was opened.
    pub fn retention_removed(&self) -> &[String] {
        &self.removed
    }

    /// The settings in effect.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest entries, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Rows in the open segment.
    pub fn open_rows(&self) -> u64 {
        self.open_rows
    }

    /// Adds a replayed batch to the open segment's in-memory state.
    fn track(&mut self, table: &str, batch: RecordBatch) -> Result<()> {
        let idc = segment::ids(table, &batch)?;
        let keys: Vec<u128> = (0..idc.len())
            .map(|i| ids::key(table, idc.value(i)))
            .collect();
        self.track_keys(table, batch, &keys);
        Ok(())
    }

    fn track_keys(&mut self, table: &str, batch: RecordBatch, keys: &[u128]) {
        self.open_keys.extend(keys.iter().copied());
        self.open_rows += batch.num_rows() as u64;
        self.open_bytes += raw_len(&batch);
        self.open.entry(table.to_string()).or_default().push(batch);
    }

    /// Appends rows of `table`. Rows whose id the store already holds (sealed, open, or
    /// earlier in this batch) are skipped. When this returns, the stored rows are in the
    /// write-ahead log (synced per the fsync setting): they survive a crash. Seals the
    /// open segment when it is full; a failed seal is logged and retried 30 s later (the
    /// rows stay in the log), and [`Store::close`] reports it.
    pub async fn append(&mut self, table: &str, batch: &RecordBatch) -> Result<Appended> {
        let out = self.append_rows(table, batch)?;
        let full = self.open_rows >= self.settings.seal_rows
            || self.open_bytes >= self.settings.seal_bytes;
        if full && self.seal_retry_at.is_none_or(|t| Instant::now() >= t) {
            // The rows are acknowledged (in the log) whatever happens to the seal: a seal
            // that fails (disk full, S3 unreachable) is retried later, and the log keeps
            // them meanwhile.
            match self.seal().await {
                Ok(_) => self.seal_retry_at = None,
                Err(e) => {
                    tracing::error!(error = %e, "sealing the open segment failed; appends continue in the write-ahead log, retrying in 30s");
                    self.seal_retry_at = Some(Instant::now() + std::time::Duration::from_secs(30));
                }
            }
        }
        Ok(out)
    }

    /// Appends without sealing (see [`Store::append`]).
    fn append_rows(&mut self, table: &str, batch: &RecordBatch) -> Result<Appended> {
        let want = tables::schema(table)?;
        if batch.schema().fields() != want.fields() {
            let reason = want
                .fields()
                .iter()
                .zip(batch.schema().fields().iter())
                .find(|(a, b)| a != b)
                .map_or_else(
                    || {
                        format!(
                            "{} columns instead of {}",
                            batch.num_columns(),
                            want.fields().len()
                        )
                    },
                    |(a, b)| {
                        format!(
                            "column {:?} is {:?}, expected {:?} {:?}",
                            b.name(),
                            b.data_type(),
                            a.name(),
                            a.data_type()
                        )
                    },
                );
            return Err(StoreError::Schema {
                table: table.to_string(),
                reason,
            });
        }
        if batch.num_rows() == 0 {
            return Ok(Appended::default());
        }
        let idc = segment::ids(table, batch)?;
        let mut seen = HashSet::with_capacity(batch.num_rows());
        let mut kept_keys = Vec::with_capacity(batch.num_rows());
        let keep: Vec<bool> = (0..idc.len())
            .map(|i| {
                let k = ids::key(table, if idc.is_null(i) { "" } else { idc.value(i) });
                let new =
                    !self.sealed.contains(k) && !self.open_keys.contains(&k) && seen.insert(k);
                if new {
                    kept_keys.push(k);
                }
                new
            })
            .collect();
        let stored = kept_keys.len();
        let out = Appended {
            stored,
            duplicates: batch.num_rows() - stored,
        };
        if stored == 0 {
            return Ok(out);
        }
        let rows = if stored == batch.num_rows() {
            batch.clone()
        } else {
            filter_record_batch(batch, &BooleanArray::from(keep))?
        };
        self.wal.append(table, &rows)?;
        self.track_keys(table, rows, &kept_keys);
        Ok(out)
    }

    /// Appends findings to the `findings` table.
    pub async fn append_findings(&mut self, findings: &[Finding]) -> Result<Appended> {
        if findings.is_empty() {
            return Ok(Appended::default());
        }
        let batch = tables::findings_batch(findings)?;
        self.append("findings", &batch).await
    }

    /// Appends records to the `audit` table.
    pub async fn append_audit(&mut self, records: &[AuditRecord]) -> Result<Appended> {
        let batch = tables::audit_batch(records)?;
        self.append("audit", &batch).await
    }

    /// Seals the open segment: writes its Parquet files, search index and id list,
    /// appends its manifest entry, and starts a new log. Returns the entry (None when the
    /// open segment is empty).
    pub async fn seal(&mut self) -> Result<Option<Entry>> {
        if self.open_rows == 0 {
            return Ok(None);
        }
        let seg = self.segment.clone();
        let index_dir = self.index_dir(&seg)?;
        // The Parquet files and the index are built at the same time, on two threads.
        let open = &self.open;
        let (parquet, index) = std::thread::scope(|s| {
            let index = s.spawn(|| index::build(&index_dir, open));
            let parquet = segment::parquet_files(&seg, open);
            (parquet, index.join())
        });
        let (parquet, raw_bytes) = parquet?;
        index.map_err(|_| StoreError::Query("building the search index panicked".into()))??;
        let mut files: Vec<FileMeta> = Vec::with_capacity(parquet.len() + 16);
        for f in parquet {
            self.backend.put(&f.meta.path, f.bytes).await?;
            files.push(f.meta);
        }
        files.extend(self.finish_index(&seg, &index_dir).await?);
        let keys: Vec<u128> = self.open_keys.iter().copied().collect();
        let id_bytes = ids::encode(&keys);
        let id_path = format!("ids/{seg}.bin");
        files.push(FileMeta {
            path: id_path.clone(),
            sha256: sha256_hex(&id_bytes),
            bytes: id_bytes.len() as u64,
            table: None,
            rows: 0,
            min_time: None,
            max_time: None,
        });
        self.backend.put(&id_path, id_bytes).await?;
        let entry = self
            .append_entry(EntryKind::Segment {
                id: seg.clone(),
                files,
                raw_bytes,
            })
            .await?;
        self.sealed.extend(&keys);
        self.open.clear();
        self.open_keys.clear();
        self.open_rows = 0;
        self.open_bytes = 0;
        self.segment = new_segment_id();
        self.wal = WalWriter::create(&self.dir.join(WAL_FILE), &self.segment, self.settings.fsync)?;
        tracing::info!(segment = %seg, "sealed segment");
        self.maybe_retention().await?;
        Ok(Some(entry))
    }

    /// The local directory the segment's index is built in (emptied): in the store for a
    /// local backend, in the cache for an object store.
    fn index_dir(&self, seg: &str) -> Result<PathBuf> {
        let local = match &self.backend {
            Backend::Local { root } => root.join(format!("index/{seg}")),
            Backend::Object { .. } => self.dir.join("cache").join(format!("index/{seg}")),
        };
        if local.exists() {
            // Left by an attempt that crashed before its manifest entry.
            std::fs::remove_dir_all(&local).map_err(io("cannot clear", &local))?;
        }
        Ok(local)
    }

    /// Makes a built index durable, uploads it to an object store backend, and returns
    /// its files.
    async fn finish_index(&self, seg: &str, local: &Path) -> Result<Vec<FileMeta>> {
        let rel_dir = format!("index/{seg}");
        let mut out = Vec::new();
        let mut names: Vec<String> = std::fs::read_dir(local)
            .map_err(io("cannot list", local))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| !index::is_transient(n) && n != ".complete")
            .collect();
        names.sort();
        for name in names {
            let p = local.join(&name);
            let bytes = std::fs::read(&p).map_err(io("cannot read", &p))?;
            File::open(&p)
                .and_then(|f| f.sync_all())
                .map_err(io("cannot sync", &p))?;
            let rel = format!("{rel_dir}/{name}");
            out.push(FileMeta {
                path: rel.clone(),
                sha256: sha256_hex(&bytes),
                bytes: bytes.len() as u64,
                table: None,
                rows: 0,
                min_time: None,
                max_time: None,
            });
            if matches!(self.backend, Backend::Object { .. }) {
                self.backend.put(&rel, bytes).await?;
            }
        }
        wal::sync_dir(local)?;
        if matches!(self.backend, Backend::Object { .. }) {
            // The cache holds this segment's index complete (see `Snapshot::search`).
            let done = local.join(".complete");
            std::fs::write(&done, b"").map_err(io("cannot write", &done))?;
        }
        Ok(out)
    }

    /// Appends a manifest entry after the newest one, re-reading the manifest when another
    /// writer appended first.
    async fn append_entry(&mut self, kind: EntryKind) -> Result<Entry> {
        for _ in 0..MANIFEST_RETRIES {
            match manifest::append(
                &self.backend,
                self.entries.last(),
                kind.clone(),
                vigil_detect::finding::rfc3339(now_us()),
            )
            .await
            {
                Ok(e) => {
                    self.entries.push(e.clone());
                    return Ok(e);
                }
                Err(StoreError::Conflict(_)) => {
                    let known: HashSet<u64> = self.entries.iter().map(|e| e.seq).collect();
                    let all = manifest::read_all(&self.backend).await?;
                    for e in all.iter().filter(|e| !known.contains(&e.seq)) {
                        match &e.kind {
                            EntryKind::Segment { id, .. } => {
                                if let Ok(b) = self.backend.get(&format!("ids/{id}.bin")).await {
                                    self.sealed.extend(&ids::decode(&b));
                                }
                            }
                            EntryKind::Retention { removed, .. } => {
                                for id in removed {
                                    if let Ok(b) = self.backend.get(&format!("ids/{id}.bin")).await
                                    {
                                        self.sealed.remove(&ids::decode(&b));
                                    }
                                }
                            }
                        }
                    }
                    self.entries = all;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Query(format!(
            "could not append to the manifest after {MANIFEST_RETRIES} attempts: too many concurrent writers"
        )))
    }

    async fn maybe_retention(&mut self) -> Result<()> {
        if self.settings.retention.is_none() {
            return Ok(());
        }
        let interval =
            settings::duration_us(&self.settings.retention_interval).unwrap_or(3_600_000_000);
        if self
            .last_retention
            .is_some_and(|t| (t.elapsed().as_micros() as i64) < interval)
        {
            return Ok(());
        }
        self.last_retention = Some(Instant::now());
        self.apply_retention(now_us()).await.map(|_| ())
    }

    /// Removes the sealed segments whose newest event (or, without event times, whose
    /// sealing) is older than `now_us` minus the retention period: records the removal in
    /// the manifest chain and in the `audit` table, then deletes their files. Returns the
    /// removed segment ids (none without a retention setting).
    pub async fn apply_retention(&mut self, now_us: i64) -> Result<Vec<String>> {
        let Some(keep) = self.settings.retention_us() else {
            return Ok(Vec::new());
        };
        let cutoff = now_us.saturating_sub(keep);
        let live = live_segments(&self.entries);
        let mut expired = Vec::new();
        for e in &self.entries {
            let EntryKind::Segment { id, files, .. } = &e.kind else {
                continue;
            };
            if !live.contains(id) {
                continue;
            }
            let newest = files
                .iter()
                .filter_map(|f| f.max_time)
                .max()
                .or_else(|| vigil_ingest::time::parse_micros(&e.created));
            if newest.is_some_and(|t| t < cutoff) {
                expired.push(id.clone());
            }
        }
        let mut to_delete: Vec<String> = Vec::new();
        if !expired.is_empty() {
            let policy = self.settings.retention.clone().unwrap_or_default();
            let reason = format!(
                "retention {policy}: newest event before {}",
                vigil_detect::finding::rfc3339(cutoff)
            );
            let mut removed_ids = Vec::new();
            for id in &expired {
                if let Ok(b) = self.backend.get(&format!("ids/{id}.bin")).await {
                    removed_ids.extend(ids::decode(&b));
                }
            }
            let entry = self
                .append_entry(EntryKind::Retention {
                    removed: expired.clone(),
                    reason: reason.clone(),
                })
                .await?;
            self.sealed.remove(&removed_ids);
            let detail = serde_json::json!({ "removed_segments": expired, "reason": reason, "manifest_entry": entry.seq });
            let audit = tables::audit_batch(&[AuditRecord {
                time_us: now_us,
                action: "retention_removed".into(),
                actor: Some("retention policy".into()),
                detail,
            }])?;
            self.append_rows("audit", &audit)?;
            self.removed.extend(expired.iter().cloned());
        }
        for e in &self.entries {
            if let EntryKind::Segment { id, files, .. } = &e.kind
                && expired.contains(id)
            {
                to_delete.extend(files.iter().map(|f| f.path.clone()));
            }
        }
        for p in to_delete {
            self.backend.delete(&p).await?;
        }
        if let Some(root) = self.backend.local_root() {
            for id in &expired {
                let d = root.join(format!("index/{id}"));
                if d.exists() {
                    std::fs::remove_dir_all(&d).map_err(io("cannot delete", &d))?;
                }
            }
        }
        Ok(expired)
    }

    /// Deletes leftover files of segments that retention removed (a crash can interrupt
    /// the deletion that follows the retention entry).
    async fn cleanup_removed(&self) -> Result<()> {
        let live = live_segments(&self.entries);
        for e in &self.entries {
            let EntryKind::Segment { id, files, .. } = &e.kind else {
                continue;
            };
            if live.contains(id) {
                continue;
            }
            for f in files {
                if self.backend.exists(&f.path).await? {
                    self.backend.delete(&f.path).await?;
                }
            }
        }
        Ok(())
    }

    /// Runs what is due on a schedule: retention when its interval has passed. A
    /// long-running writer calls this periodically (appends and seals call it too).
    pub async fn tick(&mut self) -> Result<()> {
        self.maybe_retention().await
    }

    /// Seals what is open and releases the store.
    pub async fn close(mut self) -> Result<Option<Entry>> {
        self.seal().await
    }
}

/// The ids of segments not removed by retention, in manifest order.
pub fn live_segments(entries: &[Entry]) -> Vec<String> {
    let removed = crate::manifest::removed_segments(entries);
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Segment { id, .. } if !removed.contains(id.as_str()) => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// Bytes of verbatim event text (`raw`) in `batch`.
pub(crate) fn raw_len(batch: &RecordBatch) -> u64 {
    batch
        .column_by_name("raw")
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .map_or(0, |s| {
            let o = s.value_offsets();
            (o[o.len() - 1] - o[0]) as u64
        })
}
