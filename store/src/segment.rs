//! Sealing: the open segment's rows become Parquet files (per table, per UTC date,
//! sorted by event time, zstd) and a full-text index, each hashed for the manifest.

use std::collections::BTreeMap;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::compute::{
    SortColumn, SortOptions, concat_batches, lexsort_to_indices, take_record_batch,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::manifest::{FileMeta, sha256_hex};
use crate::tables::{id_column, schema};
use crate::{Result, StoreError};

/// Rows per Parquet row group (the unit of min/max pruning inside a file).
pub const ROW_GROUP_ROWS: usize = 64 * 1024;

/// One Parquet file of a segment, written in memory.
pub struct ParquetFile {
    /// Its metadata for the manifest.
    pub meta: FileMeta,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The UTC date of `us` as `YYYY-MM-DD`.
pub fn date_of(us: i64) -> String {
    let t = vigil_detect::finding::rfc3339(us);
    t[..10].to_string()
}

/// Writes each table's rows as Parquet files partitioned by date, Hive-style:
/// `tables/<table>/date=<YYYY-MM-DD>/part-<segment>.parquet` (`date=unknown` for rows
/// without a time). Returns the files and the raw bytes the segment holds.
pub fn parquet_files(
    segment: &str,
    tables: &BTreeMap<String, Vec<RecordBatch>>,
) -> Result<(Vec<ParquetFile>, u64)> {
    let mut out = Vec::new();
    let mut raw_bytes = 0u64;
    for (table, batches) in tables {
        if batches.iter().all(|b| b.num_rows() == 0) {
            continue;
        }
        let sch = schema(table)?;
        let all = concat_batches(&sch, batches)?;
        if let Some(raw) = all
            .column_by_name("raw")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        {
            raw_bytes += raw.value_data().len() as u64;
        }
        let time = all
            .column_by_name("time")
            .cloned()
            .ok_or_else(|| StoreError::Schema {
                table: table.clone(),
                reason: "no time column".into(),
            })?;
        // Logs mostly arrive in time order: then the rows are already sorted and are not
        // copied a second time.
        let sorted = if in_time_order(&time) {
            all
        } else {
            let idx = lexsort_to_indices(
                &[SortColumn {
                    values: time,
                    options: Some(SortOptions {
                        descending: false,
                        nulls_first: false,
                    }),
                }],
                None,
            )?;
            take_record_batch(&all, &idx)?
        };
        let times = sorted
            .column_by_name("time")
            .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
            .cloned()
            .ok_or_else(|| StoreError::Schema {
                table: table.clone(),
                reason: "time is not a timestamp".into(),
            })?;
        // Runs of equal dates (the rows are sorted by time).
        let mut start = 0;
        while start < sorted.num_rows() {
            let d = times.is_valid(start).then(|| date_of(times.value(start)));
            let mut end = start + 1;
            while end < sorted.num_rows()
                && times.is_valid(end).then(|| date_of(times.value(end))) == d
            {
                end += 1;
            }
            let part = sorted.slice(start, end - start);
            let date = d.unwrap_or_else(|| "unknown".into());
            let path = format!("tables/{table}/date={date}/part-{segment}.parquet");
            let bytes = write_parquet(table, &part)?;
            let (min, max) = min_max(&part);
            out.push(ParquetFile {
                meta: FileMeta {
                    path,
                    sha256: sha256_hex(&bytes),
                    bytes: bytes.len() as u64,
                    table: Some(table.clone()),
                    rows: part.num_rows() as u64,
                    min_time: min,
                    max_time: max,
                },
                bytes,
            });
            start = end;
        }
    }
    Ok((out, raw_bytes))
}

/// Whether a time column is non-decreasing with its nulls (if any) at the end: the order
/// sealing sorts rows into.
fn in_time_order(time: &ArrayRef) -> bool {
    let Some(t) = time.as_any().downcast_ref::<TimestampMicrosecondArray>() else {
        return false;
    };
    let valid = t.len() - t.null_count();
    if (0..valid).any(|r| t.is_null(r)) {
        return false;
    }
    t.values()[..valid].windows(2).all(|w| w[0] <= w[1])
}

fn min_max(b: &RecordBatch) -> (Option<i64>, Option<i64>) {
    let Some(t) = b
        .column_by_name("time")
        .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
    else {
        return (None, None);
    };
    (arrow::compute::min(t), arrow::compute::max(t))
}

fn write_parquet(table: &str, batch: &RecordBatch) -> Result<Vec<u8>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_column_bloom_filter_enabled(ColumnPath::from(id_column(table)), true)
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props))?;
    w.write(batch)?;
    w.close()?;
    Ok(buf)
}

/// The values of the id column of `batch` (rows are deduplicated on it).
pub fn ids(table: &str, batch: &RecordBatch) -> Result<StringArray> {
    let col: &ArrayRef =
        batch
            .column_by_name(id_column(table))
            .ok_or_else(|| StoreError::Schema {
                table: table.into(),
                reason: format!("no {} column", id_column(table)),
            })?;
    col.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| StoreError::Schema {
            table: table.into(),
            reason: format!("{} is not a string column", id_column(table)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn times(v: &[Option<i64>]) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(v.to_vec()).with_timezone("UTC"))
    }

    #[test]
    fn time_order_is_non_decreasing_with_nulls_last() {
        assert!(in_time_order(&times(&[])));
        assert!(in_time_order(&times(&[Some(1), Some(1), Some(2)])));
        assert!(in_time_order(&times(&[Some(1), Some(3), None, None])));
        assert!(in_time_order(&times(&[None])));
        assert!(!in_time_order(&times(&[Some(2), Some(1)])));
        assert!(!in_time_order(&times(&[None, Some(1)])));
        assert!(!in_time_order(&times(&[Some(1), None, Some(2)])));
    }
}
