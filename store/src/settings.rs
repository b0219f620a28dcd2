//! The store's settings: `DIR/store.yaml`, written with the defaults when a store is
//! created, read by every command that opens the store.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::io;
use crate::wal::Fsync;
use crate::{Result, StoreError};

/// The settings file's name inside the data directory.
pub const FILE: &str = "store.yaml";

/// Store settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// When the write-ahead log is synced: `always` (acknowledged data survives power
    /// loss) or `never` (it survives the process being killed, not the machine).
    pub fsync: Fsync,
    /// Seal the open segment once it holds this many rows.
    pub seal_rows: u64,
    /// ... or this many bytes of raw event text.
    pub seal_bytes: u64,
    /// Remove sealed segments whose newest event is older than this (e.g. `90d`);
    /// absent: keep everything.
    pub retention: Option<String>,
    /// How often retention runs while the store is open (e.g. `1h`); it also runs each
    /// time the store is opened and by `vigil retention`.
    pub retention_interval: String,
    /// Where sealed segments go: absent for the data directory itself, or an
    /// `s3://bucket/prefix` URL (credentials and endpoint from the standard AWS
    /// environment: `AWS_REGION`, `AWS_ENDPOINT_URL`, web identity, instance profile...).
    pub object_store: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            fsync: Fsync::Always,
            seal_rows: 1_000_000,
            seal_bytes: 512 << 20,
            retention: None,
            retention_interval: "1h".into(),
            object_store: None,
        }
    }
}

const HEADER: &str = "# Vigil store settings (see ARCHITECTURE.md, \"store\").
# fsync: always | never       when the write-ahead log is synced
# seal_rows / seal_bytes:     when the open segment is sealed into Parquet + index
# retention: e.g. 90d         remove sealed segments whose newest event is older
# retention_interval: e.g. 1h how often retention runs while the store is open
# object_store: s3://bucket/prefix   put sealed segments in S3 (AWS credentials from the
#                             environment, web identity or instance profile)
";

impl Settings {
    /// Reads `dir/store.yaml`, or the defaults when there is none.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let s: Settings = yaml_serde::from_str(&text).map_err(|e| StoreError::Corrupt {
                    path: path.clone(),
                    reason: format!("invalid settings: {e}"),
                })?;
                s.validate()
                    .map_err(|reason| StoreError::Corrupt { path, reason })?;
                Ok(s)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(StoreError::Io {
                action: "cannot read",
                path,
                source: e,
            }),
        }
    }

    /// Writes `dir/store.yaml` (with a commented header).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let body = yaml_serde::to_string(self).map_err(|e| StoreError::Query(e.to_string()))?;
        crate::backend::write_durable(&dir.join(FILE), format!("{HEADER}{body}").as_bytes())
    }

    /// Checks the values, returning what is wrong.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.seal_rows == 0 || self.seal_bytes == 0 {
            return Err("seal_rows and seal_bytes must be positive".into());
        }
        if let Some(r) = &self.retention {
            self::duration_us(r).map_err(|e| format!("retention: {e}"))?;
        }
        self::duration_us(&self.retention_interval)
            .map_err(|e| format!("retention_interval: {e}"))?;
        if let Some(u) = &self.object_store
            && !u.starts_with("s3://")
        {
            return Err(format!(
                "object_store {u:?}: only s3://bucket/prefix URLs are supported"
            ));
        }
        Ok(())
    }

    /// The retention period in microseconds, if any.
    pub fn retention_us(&self) -> Option<i64> {
        self.retention.as_deref().and_then(|r| duration_us(r).ok())
    }
}

/// Parses `30s`, `15m`, `1h`, `90d`, `2w` into microseconds.
pub fn duration_us(s: &str) -> std::result::Result<i64, String> {
    let secs = vigil_detect::rule::parse::parse_duration(s)?;
    i64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000))
        .ok_or_else(|| format!("{s:?} is too long"))
}

/// Creates the data directory if needed; writes the default settings into a new one.
pub fn init_dir(dir: &Path) -> Result<Settings> {
    std::fs::create_dir_all(dir).map_err(io("cannot create the data directory", dir))?;
    if !dir.join(FILE).exists() {
        Settings::default().save(dir)?;
    }
    Settings::load(dir)
}
