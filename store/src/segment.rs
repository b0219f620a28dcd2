//! Sealing: the open segment's rows become Parquet files (per table, per UTC date,
//! sorted by event time, zstd) and a full-text index, each hashed for the manifest.

use std::collections::BTreeMap;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::compute::{
    SortColumn, SortOptions, concat_batches, lexsort_to_indices, take_record_batch,
};
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::manifest::{FileMeta, sha256_hex};
use crate::tables::{cast_batch, id_column, schema, stored_schema};
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

/// Microseconds in a day.
const DAY_US: i64 = 86_400_000_000;

/// The UTC date of `us` as `YYYY-MM-DD`.
pub fn date_of(us: i64) -> String {
    let t = vigil_detect::finding::rfc3339(us);
    t[..10].to_string()
}

/// Writes each table's rows as Parquet files partitioned by date, Hive-style:
/// `tables/<table>/date=<YYYY-MM-DD>/part-<segment>.parquet` (`date=unknown` for rows
/// without a time). Returns the files and the raw bytes the segment holds.
///
/// Rows that arrive in time order (the common case for logs) are written batch by batch,
/// without gathering the segment into one batch first; otherwise they are gathered and
/// sorted by time.
pub fn parquet_files(
    segment: &str,
    tables: &BTreeMap<String, Vec<RecordBatch>>,
) -> Result<(Vec<ParquetFile>, u64)> {
    let mut out = Vec::new();
    let mut raw_bytes = 0u64;
    for (table, batches) in tables {
        let batches: Vec<&RecordBatch> = batches.iter().filter(|b| b.num_rows() > 0).collect();
        if batches.is_empty() {
            continue;
        }
        let no_time = || StoreError::Schema {
            table: table.clone(),
            reason: "no timestamp column `time`".into(),
        };
        let mut times = Vec::with_capacity(batches.len());
        for b in &batches {
            raw_bytes += crate::store::raw_len(b);
            times.push(time_column(b).ok_or_else(no_time)?);
        }
        // Logs mostly arrive in time order: then the rows are not copied before encoding.
        let sorted: Vec<RecordBatch> = if in_time_order(&times) {
            batches.into_iter().cloned().collect()
        } else {
            let all = concat_batches(&schema(table)?, batches)?;
            let idx = lexsort_to_indices(
                &[SortColumn {
                    values: Arc::new(time_column(&all).ok_or_else(no_time)?),
                    options: Some(SortOptions {
                        descending: false,
                        nulls_first: false,
                    }),
                }],
                None,
            )?;
            vec![take_record_batch(&all, &idx)?]
        };
        let stored = stored_schema(table)?;
        let mut file: Option<PartWriter> = None;
        for b in &sorted {
            let times = time_column(b).ok_or_else(no_time)?;
            // Runs of equal UTC days (the rows are sorted by time); the date is written
            // out once per run.
            let day = |r: usize| times.is_valid(r).then(|| times.value(r).div_euclid(DAY_US));
            let mut start = 0;
            while start < b.num_rows() {
                let d = day(start);
                let mut end = start + 1;
                while end < b.num_rows() && day(end) == d {
                    end += 1;
                }
                let date = match d {
                    Some(_) => date_of(times.value(start)),
                    None => "unknown".into(),
                };
                if file.as_ref().is_some_and(|f| f.date != date) {
                    out.extend(file.take().map(|f| f.finish(segment)).transpose()?);
                }
                let w = match &mut file {
                    Some(w) => w,
                    None => file.insert(PartWriter::new(table, date, &stored)?),
                };
                w.write(&b.slice(start, end - start))?;
                start = end;
            }
        }
        out.extend(file.map(|f| f.finish(segment)).transpose()?);
    }
    Ok((out, raw_bytes))
}

/// The `time` column of a batch.
fn time_column(b: &RecordBatch) -> Option<TimestampMicrosecondArray> {
    b.column_by_name("time")
        .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
        .cloned()
}

/// Whether time columns, one after the other, are non-decreasing with their nulls (if
/// any) at the end: the order sealing sorts rows into.
fn in_time_order(times: &[TimestampMicrosecondArray]) -> bool {
    let mut last: Option<i64> = None;
    let mut seen_null = false;
    for t in times {
        let valid = t.len() - t.null_count();
        if seen_null && valid > 0 {
            return false;
        }
        if (0..valid).any(|r| t.is_null(r)) {
            return false;
        }
        let v = &t.values()[..valid];
        if v.windows(2).any(|w| w[0] > w[1]) || last.zip(v.first()).is_some_and(|(l, f)| l > *f) {
            return false;
        }
        last = v.last().copied().or(last);
        seen_null |= valid < t.len();
    }
    true
}

/// One Parquet file being written: the rows of one table and one date.
struct PartWriter {
    table: String,
    date: String,
    writer: ArrowWriter<Vec<u8>>,
    /// The table's stored schema (rows are cast to it).
    stored: SchemaRef,
    rows: u64,
    min: Option<i64>,
    max: Option<i64>,
}

impl PartWriter {
    fn new(table: &str, date: String, stored: &SchemaRef) -> Result<Self> {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_column_bloom_filter_enabled(ColumnPath::from(id_column(table)), true)
            .build();
        Ok(Self {
            table: table.to_string(),
            date,
            writer: ArrowWriter::try_new(Vec::new(), Arc::clone(stored), Some(props))?,
            stored: Arc::clone(stored),
            rows: 0,
            min: None,
            max: None,
        })
    }

    /// Appends rows of the table's schema (cast to the stored schema here).
    fn write(&mut self, rows: &RecordBatch) -> Result<()> {
        if let Some(t) = time_column(rows) {
            let (lo, hi) = (arrow::compute::min(&t), arrow::compute::max(&t));
            self.min = self.min.into_iter().chain(lo).min();
            self.max = self.max.into_iter().chain(hi).max();
        }
        self.rows += rows.num_rows() as u64;
        self.writer.write(&cast_batch(rows, &self.stored)?)?;
        Ok(())
    }

    fn finish(self, segment: &str) -> Result<ParquetFile> {
        let bytes = self.writer.into_inner()?;
        Ok(ParquetFile {
            meta: FileMeta {
                path: format!(
                    "tables/{}/date={}/part-{segment}.parquet",
                    self.table, self.date
                ),
                sha256: sha256_hex(&bytes),
                bytes: bytes.len() as u64,
                table: Some(self.table),
                rows: self.rows,
                min_time: self.min,
                max_time: self.max,
            },
            bytes,
        })
    }
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

    fn times(v: &[Option<i64>]) -> TimestampMicrosecondArray {
        TimestampMicrosecondArray::from(v.to_vec()).with_timezone("UTC")
    }

    fn ordered(batches: &[&[Option<i64>]]) -> bool {
        in_time_order(&batches.iter().map(|b| times(b)).collect::<Vec<_>>())
    }

    #[test]
    fn time_order_is_non_decreasing_with_nulls_last() {
        assert!(ordered(&[&[]]));
        assert!(ordered(&[&[Some(1), Some(1), Some(2)]]));
        assert!(ordered(&[&[Some(1), Some(3), None, None]]));
        assert!(ordered(&[&[None]]));
        assert!(!ordered(&[&[Some(2), Some(1)]]));
        assert!(!ordered(&[&[None, Some(1)]]));
        assert!(!ordered(&[&[Some(1), None, Some(2)]]));
    }

    #[test]
    fn time_order_spans_batches() {
        assert!(ordered(&[
            &[Some(1), Some(2)],
            &[Some(2), Some(5)],
            &[],
            &[None]
        ]));
        assert!(ordered(&[&[Some(1)], &[Some(3), None], &[None, None]]));
        assert!(!ordered(&[&[Some(1), Some(4)], &[Some(3)]]));
        assert!(!ordered(&[&[Some(1), None], &[Some(3)]]));
        assert!(!ordered(&[&[None], &[Some(3)]]));
    }
}
