//! The write-ahead log of the open segment.
//!
//! One file, `wal/open.wal`: a header line naming the segment, then records, each
//! `[u32 length][u32 CRC-32 of the payload][payload]`, the payload being the table name
//! (u16 length + bytes) and the rows as an Arrow IPC stream. An append is acknowledged
//! only once its record is written (and, under [`Fsync::Always`], synced to disk), so a
//! crash leaves at most one torn record at the end, which recovery detects by its length
//! or CRC and cuts off: it was never acknowledged.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;

use crate::error::io;
use crate::{Result, StoreError};

/// When the log is synced to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
    /// `fsync` before every append is acknowledged: acknowledged data survives power
    /// loss. The default.
    #[default]
    Always,
    /// Never `fsync` the log: acknowledged data survives the process being killed (it is
    /// in the OS page cache) but not a power loss or kernel crash. Sealed segments are
    /// always synced.
    Never,
}

const MAGIC: &str = "vigil-wal v1 segment=";

/// Appends records to the log.
pub struct WalWriter {
    file: File,
    path: PathBuf,
    fsync: Fsync,
    /// Length of the log's complete records (where the next one starts).
    len: u64,
}

impl WalWriter {
    /// Creates a new log for `segment`, atomically replacing any previous one (written
    /// under a temporary name, synced, renamed), so a crash leaves either the old log or
    /// the new, never a log without its header.
    pub fn create(path: &Path, segment: &str, fsync: Fsync) -> Result<Self> {
        let tmp = path.with_extension("wal-new");
        let mut file = File::create(&tmp).map_err(io("cannot create", &tmp))?;
        let header = format!("{MAGIC}{segment}\n");
        file.write_all(header.as_bytes())
            .map_err(io("cannot write", &tmp))?;
        file.sync_all().map_err(io("cannot sync", &tmp))?;
        std::fs::rename(&tmp, path).map_err(io("cannot rename into", path))?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        use std::io::Seek;
        file.seek(std::io::SeekFrom::End(0))
            .map_err(io("cannot seek", path))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            fsync,
            len: header.len() as u64,
        })
    }

    /// Opens an existing log to append after `valid_len` bytes (recovery cut off any torn
    /// tail beyond it).
    pub fn reopen(path: &Path, valid_len: u64, fsync: Fsync) -> Result<Self> {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io("cannot open", path))?;
        file.set_len(valid_len)
            .map_err(io("cannot truncate", path))?;
        file.sync_all().map_err(io("cannot sync", path))?;
        let mut w = Self {
            file,
            path: path.to_path_buf(),
            fsync,
            len: valid_len,
        };
        use std::io::Seek;
        w.file
            .seek(std::io::SeekFrom::End(0))
            .map_err(io("cannot seek", path))?;
        Ok(w)
    }

    /// Appends one batch of `table`; returns once it is durable per the policy.
    pub fn append(&mut self, table: &str, batch: &RecordBatch) -> Result<()> {
        // The record is built in one buffer: 8 header bytes (length, CRC), filled in
        // once the payload after them is written.
        const HEADER: usize = 8;
        let mut payload = Vec::with_capacity(HEADER + 64 + batch.get_array_memory_size() / 2);
        payload.extend_from_slice(&[0u8; HEADER]);
        payload.extend_from_slice(&(table.len() as u16).to_le_bytes());
        payload.extend_from_slice(table.as_bytes());
        {
            let mut w = StreamWriter::try_new(&mut payload, &batch.schema())?;
            w.write(batch)?;
            w.finish()?;
        }
        let body = payload.len() - HEADER;
        let len = u32::try_from(body).map_err(|_| StoreError::Schema {
            table: table.to_string(),
            reason: format!(
                "a batch of {body} bytes is too large for one log record (4 GiB); use smaller batches"
            ),
        })?;
        let crc = crc32fast::hash(&payload[HEADER..]);
        payload[..4].copy_from_slice(&len.to_le_bytes());
        payload[4..HEADER].copy_from_slice(&crc.to_le_bytes());
        let rec = payload;
        let written = self.file.write_all(&rec).and_then(|()| match self.fsync {
            Fsync::Always => self.file.sync_data(),
            Fsync::Never => Ok(()),
        });
        if let Err(e) = written {
            // Not acknowledged: cut the partial record so that later appends are not
            // hidden behind it at recovery.
            use std::io::Seek;
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(std::io::SeekFrom::Start(self.len));
            return Err(StoreError::Io {
                action: "cannot append to",
                path: self.path.clone(),
                source: e,
            });
        }
        self.len += rec.len() as u64;
        Ok(())
    }
}

/// What recovery found in a log.
pub struct Recovered {
    /// The segment the log belongs to.
    pub segment: String,
    /// Complete records, in order: (table, batch).
    pub records: Vec<(String, RecordBatch)>,
    /// Length of the valid prefix (a torn tail beyond it is discarded).
    pub valid_len: u64,
    /// Bytes discarded at the end (an append that was never acknowledged).
    pub torn_bytes: u64,
}

/// Reads a log, stopping at the first incomplete or corrupt record.
pub fn recover(path: &Path) -> Result<Recovered> {
    let file = File::open(path).map_err(io("cannot open", path))?;
    let total = file.metadata().map_err(io("cannot stat", path))?.len();
    let mut r = BufReader::new(file);
    let mut header = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match r.read(&mut byte).map_err(io("cannot read", path))? {
            0 => break,
            _ if byte[0] == b'\n' => break,
            _ => header.push(byte[0]),
        }
        if header.len() > 1024 {
            break;
        }
    }
    let header = String::from_utf8_lossy(&header).into_owned();
    let Some(segment) = header.strip_prefix(MAGIC) else {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: "not a Vigil write-ahead log".into(),
        });
    };
    let mut pos = header.len() as u64 + 1;
    let mut records = Vec::new();
    loop {
        let mut hdr = [0u8; 8];
        if read_full(&mut r, &mut hdr).map_err(io("cannot read", path))? < 8 {
            break;
        }
        let len = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
        let crc = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        if pos + 8 + len as u64 > total {
            break;
        }
        let mut payload = vec![0u8; len];
        if read_full(&mut r, &mut payload).map_err(io("cannot read", path))? < len
            || crc32fast::hash(&payload) != crc
        {
            break;
        }
        if payload.len() < 2 {
            break;
        }
        let tlen = u16::from_le_bytes([payload[0], payload[1]]) as usize;
        let Some(table) = payload
            .get(2..2 + tlen)
            .map(|t| String::from_utf8_lossy(t).into_owned())
        else {
            break;
        };
        let reader = StreamReader::try_new(std::io::Cursor::new(&payload[2 + tlen..]), None)?;
        for b in reader {
            records.push((table.clone(), b?));
        }
        pos += 8 + len as u64;
    }
    Ok(Recovered {
        segment: segment.to_string(),
        records,
        valid_len: pos,
        torn_bytes: total - pos.min(total),
    })
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// `fsync`s a directory so that file creations and renames in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync directory", dir))
}
