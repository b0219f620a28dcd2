//! Writers for what ingest produces: one Parquet file per source type and the
//! dead-letter file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use vigil_ingest::{DeadLetter, EventBatch, SourceKind, schema};

/// Bytes of encoded data a Parquet writer may hold before it closes a row group, so
/// memory stays bounded whatever the input size.
const ROW_GROUP_BYTES: usize = 128 << 20;

/// Writes `DIR/<kind>.parquet` for each source type seen (zstd-compressed, readable by
/// DuckDB, pyarrow and Spark).
pub struct ParquetOut {
    dir: PathBuf,
    writers: [Option<ArrowWriter<BufWriter<File>>>; 4],
}

impl ParquetOut {
    /// Creates `dir` if needed. Files are created when their first batch arrives.
    pub fn new(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create output directory {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            writers: [None, None, None, None],
        })
    }

    /// Path of the Parquet file for `kind`.
    pub fn path(&self, kind: SourceKind) -> PathBuf {
        self.dir.join(format!("{}.parquet", kind.name()))
    }

    /// Appends one batch.
    pub fn write(&mut self, b: &EventBatch) -> Result<()> {
        let path = self.path(b.kind);
        let slot = &mut self.writers[b.kind.index()];
        if slot.is_none() {
            let file =
                File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
                .set_max_row_group_row_count(Some(1 << 20))
                .build();
            *slot = Some(ArrowWriter::try_new(
                BufWriter::with_capacity(1 << 20, file),
                schema::schema(b.kind),
                Some(props),
            )?);
        }
        if let Some(w) = slot.as_mut() {
            w.write(&b.batch)
                .with_context(|| format!("writing {}", path.display()))?;
            if w.in_progress_size() > ROW_GROUP_BYTES {
                w.flush()?;
            }
        }
        Ok(())
    }

    /// Finishes every file; returns the paths written.
    pub fn close(self) -> Result<Vec<PathBuf>> {
        let mut paths = Vec::new();
        for (kind, w) in SourceKind::ALL.into_iter().zip(self.writers) {
            if let Some(w) = w {
                let path = self.dir.join(format!("{}.parquet", kind.name()));
                let mut inner = w
                    .into_inner()
                    .with_context(|| format!("finishing {}", path.display()))?;
                inner.flush()?;
                inner.get_ref().sync_all()?;
                paths.push(path);
            }
        }
        Ok(paths)
    }
}

/// Where dead letters go: a file (NDJSON) or standard error.
pub enum DeadLetterOut {
    /// `--out DIR/dead-letter.ndjson` (or `--dead-letter PATH`).
    File(PathBuf, BufWriter<File>),
    /// No output directory: one JSON line per dead letter on stderr.
    Stderr,
}

impl DeadLetterOut {
    /// A dead-letter file at `path` (created, truncated).
    pub fn file(path: &Path) -> Result<Self> {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self::File(path.to_path_buf(), BufWriter::new(f)))
    }

    /// A dead-letter file at `path`, appended to (created if absent).
    pub fn append(path: &Path) -> Result<Self> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Self::File(path.to_path_buf(), BufWriter::new(f)))
    }

    /// Writes one dead letter.
    pub fn write(&mut self, dl: &DeadLetter) -> Result<()> {
        match self {
            Self::File(_, w) => {
                w.write_all(dl.to_json_line().as_bytes())?;
                w.write_all(b"\n")?;
            }
            Self::Stderr => eprintln!("dead-letter: {}", dl.to_json_line()),
        }
        Ok(())
    }

    /// Flushes and syncs the file.
    pub fn close(self) -> Result<Option<PathBuf>> {
        match self {
            Self::File(p, mut w) => {
                w.flush()?;
                w.get_ref().sync_all()?;
                Ok(Some(p))
            }
            Self::Stderr => Ok(None),
        }
    }
}
