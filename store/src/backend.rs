//! Where sealed files live: a local directory, or an S3-compatible bucket through the
//! `object_store` crate (the one DataFusion reads with), so that several nodes, or Athena,
//! Trino and Spark, can read the same Parquet files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::error::io;
use crate::wal::sync_dir;
use crate::{Result, StoreError};

/// The storage of sealed files and the manifest.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A local directory (writes are fsynced, renames atomic).
    Local {
        /// The store's root directory.
        root: PathBuf,
    },
    /// An object store (S3 or compatible).
    Object {
        /// The store.
        store: Arc<dyn ObjectStore>,
        /// Key prefix of the store (no leading or trailing slash).
        prefix: String,
        /// The URL DataFusion reads it under (`s3://bucket`).
        url: String,
    },
}

impl Backend {
    fn key(prefix: &str, rel: &str) -> ObjectPath {
        if prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{prefix}/{rel}"))
        }
    }

    /// Writes `bytes` at `rel`, durably, replacing what was there.
    pub async fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<()> {
        match self {
            Backend::Local { root } => {
                let path = root.join(rel);
                write_durable(&path, &bytes)
            }
            Backend::Object { store, prefix, .. } => {
                store
                    .put(&Self::key(prefix, rel), PutPayload::from(bytes))
                    .await?;
                Ok(())
            }
        }
    }

    /// Writes `bytes` at `rel` only if nothing is there; `false` if something is.
    pub async fn put_new(&self, rel: &str, bytes: Vec<u8>) -> Result<bool> {
        match self {
            Backend::Local { root } => {
                let path = root.join(rel);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
                }
                let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
                write_durable(&tmp, &bytes)?;
                // hard_link fails if the target exists: an atomic "create if absent".
                let r = std::fs::hard_link(&tmp, &path);
                let _ = std::fs::remove_file(&tmp);
                match r {
                    Ok(()) => {
                        if let Some(dir) = path.parent() {
                            sync_dir(dir)?;
                        }
                        Ok(true)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(StoreError::Io {
                        action: "cannot create",
                        path,
                        source: e,
                    }),
                }
            }
            Backend::Object { store, prefix, .. } => {
                let opts = PutOptions {
                    mode: PutMode::Create,
                    ..PutOptions::default()
                };
                match store
                    .put_opts(&Self::key(prefix, rel), PutPayload::from(bytes), opts)
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Reads the object at `rel`.
    pub async fn get(&self, rel: &str) -> Result<Vec<u8>> {
        match self {
            Backend::Local { root } => {
                let path = root.join(rel);
                std::fs::read(&path).map_err(io("cannot read", path))
            }
            Backend::Object { store, prefix, .. } => Ok(store
                .get(&Self::key(prefix, rel))
                .await?
                .bytes()
                .await?
                .to_vec()),
        }
    }

    /// Whether something is at `rel`.
    pub async fn exists(&self, rel: &str) -> Result<bool> {
        match self {
            Backend::Local { root } => Ok(root.join(rel).exists()),
            Backend::Object { store, prefix, .. } => {
                match store.head(&Self::key(prefix, rel)).await {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::NotFound { .. }) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Relative paths of the objects below `dir` (recursively), sorted.
    pub async fn list(&self, dir: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        match self {
            Backend::Local { root } => {
                let base = root.join(dir);
                if base.is_dir() {
                    walk(root, &base, &mut out)?;
                }
            }
            Backend::Object { store, prefix, .. } => {
                use futures::TryStreamExt;
                let p = Self::key(prefix, dir);
                let strip = if prefix.is_empty() {
                    String::new()
                } else {
                    format!("{prefix}/")
                };
                let metas: Vec<_> = store.list(Some(&p)).try_collect().await?;
                for m in metas {
                    let k = m.location.to_string();
                    out.push(k.strip_prefix(&strip).unwrap_or(&k).to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Deletes the object at `rel` (absent is fine).
    pub async fn delete(&self, rel: &str) -> Result<()> {
        match self {
            Backend::Local { root } => {
                let path = root.join(rel);
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(StoreError::Io {
                        action: "cannot delete",
                        path,
                        source: e,
                    }),
                }
            }
            Backend::Object { store, prefix, .. } => {
                match store.delete(&Self::key(prefix, rel)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// The object store DataFusion reads sealed files through, and the URL it is
    /// registered under (`vigil://local` for a local directory, `s3://bucket`).
    pub fn for_datafusion(&self) -> Result<(String, Arc<dyn ObjectStore>)> {
        match self {
            Backend::Local { root } => {
                let fs = object_store::local::LocalFileSystem::new_with_prefix(root)?;
                Ok(("vigil://local".to_string(), Arc::new(fs)))
            }
            Backend::Object { store, url, .. } => Ok((url.clone(), store.clone())),
        }
    }

    /// The path of `rel` inside the store [`Backend::for_datafusion`] returns.
    pub fn object_path(&self, rel: &str) -> String {
        match self {
            Backend::Local { .. } => rel.to_string(),
            Backend::Object { prefix, .. } => Self::key(prefix, rel).to_string(),
        }
    }

    /// The root directory of a local backend.
    pub fn local_root(&self) -> Option<&Path> {
        match self {
            Backend::Local { root } => Some(root),
            Backend::Object { .. } => None,
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(io("cannot list", dir))? {
        let e = e.map_err(io("cannot list", dir))?;
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            if !rel.contains(".tmp-") {
                out.push(rel);
            }
        }
    }
    Ok(())
}

/// Writes a file durably: to a temporary name, `fsync`, rename over the target, `fsync`
/// the directory.
pub fn write_durable(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
    let tmp = path.with_extension(format!("tmp-w{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io("cannot create", &tmp))?;
        f.write_all(bytes).map_err(io("cannot write", &tmp))?;
        f.sync_all().map_err(io("cannot sync", &tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io("cannot rename into", path))?;
    sync_dir(dir)
}
