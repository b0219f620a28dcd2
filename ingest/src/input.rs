//! Inputs: files, folders (recursively) and standard input, with gzip detected by its
//! magic bytes rather than the file name.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{IngestError, Result};

/// One input to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file on disk.
    File(PathBuf),
    /// Standard input (`-` on the command line).
    Stdin,
}

impl Input {
    /// The name used in checkpoints and dead letters.
    pub fn name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin => "-".into(),
        }
    }

    /// Size on disk, when known (not for stdin).
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Stdin => None,
        }
    }
}

/// Expands command-line arguments into inputs: `-` is stdin, a folder contributes every
/// regular file below it (sorted, hidden files and folders skipped), a file is itself.
/// Fails on the first argument that does not exist or cannot be listed.
pub fn expand(args: &[PathBuf]) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for a in args {
        if a.as_os_str() == "-" {
            out.push(Input::Stdin);
            continue;
        }
        let meta = std::fs::metadata(a).map_err(|source| IngestError::Input {
            path: a.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk(a, &mut out)?;
        } else {
            out.push(Input::File(a.clone()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Input>) -> Result<()> {
    let err = |source| IngestError::Input {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(err)?
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(err)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        let ft = e.file_type().map_err(|source| IngestError::Input {
            path: path.clone(),
            source,
        })?;
        if ft.is_dir() {
            walk(&path, out)?;
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            out.push(Input::File(path));
        }
    }
    Ok(())
}

/// Counts bytes read from the underlying input (compressed bytes for gzip), for
/// progress reporting and statistics.
pub struct CountingReader<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens an input for decoding: the returned reader yields decompressed bytes. Gzip
/// (including multi-member files) is recognised by its magic bytes. Bytes read from the
/// input itself are added to `counter`.
pub fn open(input: &Input, counter: Arc<AtomicU64>) -> Result<Box<dyn Read + Send>> {
    let raw: Box<dyn Read + Send> = match input {
        Input::File(p) => Box::new(File::open(p).map_err(|source| IngestError::Input {
            path: p.clone(),
            source,
        })?),
        Input::Stdin => Box::new(std::io::stdin()),
    };
    let mut reader = BufReader::with_capacity(
        256 << 10,
        CountingReader {
            inner: raw,
            counter,
        },
    );
    let head = reader.fill_buf().map_err(|source| IngestError::Input {
        path: PathBuf::from(input.name()),
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}
