//! A read-only view of the store for queries, search and verification: the manifest, the
//! live files, and the open segment read from the write-ahead log. It takes no lock, so
//! analysts can query while a writer appends.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use arrow::array::RecordBatch;

use crate::backend::Backend;
use crate::error::io;
use crate::index::{self, Hit};
use crate::manifest::{self, Entry, EntryKind, FileMeta};
use crate::settings::{self, Settings};
use crate::store::WAL_FILE;
use crate::{Result, StoreError};

/// What a reader sees of the store at one moment.
pub struct Snapshot {
    /// The data directory.
    pub dir: PathBuf,
    /// Its settings.
    pub settings: Settings,
    /// Where sealed files are.
    pub backend: Backend,
    /// The manifest, oldest first.
    pub entries: Vec<Entry>,
    /// Rows of the open (not yet sealed) segment, per table.
    pub open: BTreeMap<String, Vec<RecordBatch>>,
    /// Indexes of sealed segments opened by searches on this snapshot.
    indexes: Mutex<HashMap<String, (tantivy::Index, tantivy::IndexReader)>>,
    /// The open segment's in-memory index, built by the first search that needs it (the
    /// snapshot's `open` rows are fixed: later searches reuse it).
    open_index: Mutex<Option<(tantivy::Index, tantivy::IndexReader)>>,
}

impl Snapshot {
    /// The settings and storage backend of the store in `dir`, without reading its log
    /// or manifest (what `vigil verify` needs); an error if `dir` is not a store.
    pub fn open_backend(dir: &Path) -> Result<(Settings, Backend)> {
        if !dir.join(settings::FILE).exists() {
            return Err(StoreError::Corrupt {
                path: dir.to_path_buf(),
                reason: format!(
                    "not a Vigil store (no {}); create one with `vigil ingest --data {} INPUT...`",
                    settings::FILE,
                    dir.display()
                ),
            });
        }
        let settings = Settings::load(dir)?;
        let backend = crate::store::backend(dir, &settings)?;
        Ok((settings, backend))
    }

    /// Loads the view of the store in `dir`; an error if `dir` is not a store.
    pub async fn load(dir: &Path) -> Result<Self> {
        let (settings, backend) = Self::open_backend(dir)?;
        // The log first, then the manifest: a seal in between then shows up in the
        // manifest and the log's rows are skipped, rather than being missed.
        let wal_path = dir.join(WAL_FILE);
        let rec = if wal_path.exists() {
            Some(crate::wal::recover(&wal_path)?)
        } else {
            None
        };
        let entries = manifest::read_all(&backend).await?;
        let mut open: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
        if let Some(rec) = rec
            && !manifest::has_segment(&entries, &rec.segment)
        {
            for (t, b) in rec.records {
                open.entry(t).or_default().push(b);
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
            backend,
            entries,
            open,
            indexes: Mutex::default(),
            open_index: Mutex::default(),
        })
    }

    /// The live Parquet files of `table`.
    pub fn files(&self, table: &str) -> Vec<FileMeta> {
        manifest::live_files(&self.entries)
            .remove(table)
            .unwrap_or_default()
    }

    /// Live segments with their entry, oldest first.
    pub fn segments(&self) -> Vec<(&str, &[FileMeta])> {
        let removed = manifest::removed_segments(&self.entries);
        self.entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Segment { id, files, .. } if !removed.contains(id.as_str()) => {
                    Some((id.as_str(), files.as_slice()))
                }
                _ => None,
            })
            .collect()
    }

    /// The local directory holding `segment`'s index; for an object store backend, a
    /// cache under the data directory, filled (and checked against the manifest's hashes)
    /// on first use.
    async fn index_dir(&self, segment: &str, files: &[FileMeta]) -> Result<PathBuf> {
        match &self.backend {
            Backend::Local { root } => Ok(root.join(format!("index/{segment}"))),
            Backend::Object { .. } => {
                let dir = self.dir.join("cache").join(format!("index/{segment}"));
                let done = dir.join(".complete");
                if done.exists() {
                    return Ok(dir);
                }
                std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
                for f in files.iter().filter(|f| f.path.starts_with("index/")) {
                    let bytes = self.backend.get(&f.path).await?;
                    if manifest::sha256_hex(&bytes) != f.sha256 {
                        return Err(StoreError::Corrupt {
                            path: f.path.clone().into(),
                            reason:
                                "does not match the SHA-256 in the manifest; run `vigil verify`"
                                    .into(),
                        });
                    }
                    let name = f.path.rsplit('/').next().unwrap_or(&f.path);
                    let p = dir.join(name);
                    std::fs::write(&p, &bytes).map_err(io("cannot write", &p))?;
                }
                std::fs::write(&done, b"").map_err(io("cannot write", &done))?;
                Ok(dir)
            }
        }
    }

    /// Full-text search over every live segment and the open one: newest first, at most
    /// `limit` hits, optionally only one table and events at or after `since_us`.
    ///
    /// Segments are searched newest first (by their files' latest event time), and the
    /// search stops at the first segment whose latest event is older than the `limit`-th
    /// hit found so far: nothing in it could make the list. A common term therefore
    /// touches the newest segments only, whatever the store's size. Opened indexes are
    /// kept for later searches on this snapshot.
    pub async fn search(
        &self,
        query: &str,
        table: Option<&str>,
        since_us: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        if let Some(t) = table {
            crate::tables::schema(t)?;
        }
        let newest_first = |hits: &mut Vec<Hit>| {
            hits.sort_by(|a, b| b.time_us.cmp(&a.time_us).then_with(|| a.uid.cmp(&b.uid)));
            hits.truncate(limit);
        };
        let mut hits: Vec<Hit> = Vec::new();
        if !self.open.is_empty() {
            let (idx, reader) = self.open_segment_index()?;
            hits.extend(index::search(&idx, &reader, query, table, since_us, limit)?);
            newest_first(&mut hits);
        }
        let mut segments: Vec<(&str, &[FileMeta], Option<i64>)> = Vec::new();
        for (seg, files) in self.segments() {
            let parquet = files.iter().filter(|f| {
                f.table.is_some() && table.is_none_or(|t| f.table.as_deref() == Some(t))
            });
            if parquet.clone().next().is_none() {
                continue;
            }
            let newest = parquet.filter_map(|f| f.max_time).max();
            // Segments entirely before `since` cannot match (rows without a time are only
            // found without --since).
            if let (Some(s), Some(n)) = (since_us, newest)
                && n < s
            {
                continue;
            }
            segments.push((seg, files, newest));
        }
        // Newest first; a stable sort keeps manifest order among equals.
        segments.sort_by_key(|s| std::cmp::Reverse(s.2));
        for (seg, files, newest) in segments {
            // Every row of this segment is at or before `newest` (rows without a time sort
            // after all others, as `None` does): once `limit` hits are newer, stop. Equal
            // times are searched (a tie may win on its id).
            if hits.len() >= limit && newest < hits[limit - 1].time_us {
                break;
            }
            let (idx, reader) = self.open_index(seg, files).await?;
            hits.extend(
                index::search(&idx, &reader, query, table, since_us, limit)?
                    .into_iter()
                    .map(|mut h| {
                        h.segment = seg.to_string();
                        h
                    }),
            );
            newest_first(&mut hits);
        }
        Ok(hits)
    }

    /// The index of a sealed segment and a reader on it, opened once per snapshot.
    /// The open segment's index, built in memory once per snapshot.
    fn open_segment_index(&self) -> Result<(tantivy::Index, tantivy::IndexReader)> {
        let mut built = self
            .open_index
            .lock()
            .map_err(|_| StoreError::Query("index cache poisoned".into()))?;
        if let Some(found) = built.as_ref() {
            return Ok(found.clone());
        }
        let idx = index::build_in_ram(&self.open)?;
        let reader = index::reader(&idx)?;
        *built = Some((idx.clone(), reader.clone()));
        Ok((idx, reader))
    }

    async fn open_index(
        &self,
        segment: &str,
        files: &[FileMeta],
    ) -> Result<(tantivy::Index, tantivy::IndexReader)> {
        if let Some(found) = self
            .indexes
            .lock()
            .map_err(|_| StoreError::Query("index cache poisoned".into()))?
            .get(segment)
        {
            return Ok(found.clone());
        }
        let dir = self.index_dir(segment, files).await?;
        let idx = index::open(&dir)?;
        let reader = index::reader(&idx)?;
        self.indexes
            .lock()
            .map_err(|_| StoreError::Query("index cache poisoned".into()))?
            .insert(segment.to_string(), (idx.clone(), reader.clone()));
        Ok((idx, reader))
    }
}
