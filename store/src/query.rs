//! SQL over the store with DataFusion.
//!
//! Each table (`cloudtrail`, `vpcflow`, `k8s_audit`, `falco`, `findings`, `audit`) is the
//! union of its live Parquet files and the open segment's rows. Files are chosen per
//! query from the manifest's per-file event-time ranges (a `time` predicate skips whole
//! files without opening them); inside a file, predicates prune row groups and pages by
//! their statistics, `event_uid`/`finding_id` lookups use the bloom filters, and filters
//! are evaluated while decoding (Parquet filter pushdown) when the scan reads a column
//! that is not a dictionary or a number.
//!
//! `search(table, query [, limit])` is a table function: the rows of `table` whose text
//! matches the tantivy `query`, newest first, at most `limit` (default 100000), so that
//! full-text hits can be filtered, joined and aggregated in SQL.
//!
//! Queries are read-only: DDL (`CREATE`, `DROP`), DML (`INSERT`, `DELETE`, `UPDATE`,
//! `COPY`), `SET` and other statements are refused, and there is no table function or
//! URL table that reads arbitrary files.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, TimestampMicrosecondArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::{Column, DFSchema, ScalarValue, project_schema};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType, col, lit};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};

use crate::index::Hit;
use crate::manifest::FileMeta;
use crate::reader::Snapshot;
use crate::tables::{TABLES, cast_batch, id_column, stored_schema};
use crate::{Result, StoreError};

/// Default number of hits `search()` returns.
pub const SEARCH_DEFAULT_LIMIT: usize = 100_000;

/// One table of the store as DataFusion sees it.
#[derive(Debug)]
pub struct StoreTable {
    schema: SchemaRef,
    store_url: ObjectStoreUrl,
    /// Live files, with their path inside the registered object store.
    files: Vec<(String, FileMeta)>,
    /// The open segment's rows.
    open: Vec<RecordBatch>,
    /// Only rows with these ids (the `search()` function), when set.
    only_ids: Option<Arc<Vec<String>>>,
    id_column: &'static str,
}

/// The per-file time statistics of the manifest, for pruning.
struct FileTimes<'a>(&'a [(String, FileMeta)]);

impl PruningStatistics for FileTimes<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        (column.name == "time").then(|| {
            Arc::new(
                TimestampMicrosecondArray::from_iter(self.0.iter().map(|(_, f)| f.min_time))
                    .with_timezone("UTC"),
            ) as ArrayRef
        })
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        (column.name == "time").then(|| {
            Arc::new(
                TimestampMicrosecondArray::from_iter(self.0.iter().map(|(_, f)| f.max_time))
                    .with_timezone("UTC"),
            ) as ArrayRef
        })
    }

    fn num_containers(&self) -> usize {
        self.0.len()
    }

    fn null_counts(&self, _column: &Column) -> Option<ArrayRef> {
        None
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        Some(Arc::new(UInt64Array::from_iter_values(
            self.0.iter().map(|(_, f)| f.rows),
        )))
    }

    fn contained(&self, _column: &Column, _values: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        None
    }
}

impl StoreTable {
    /// This table restricted to the rows of `hits`: only the files of the hits'
    /// segments, the open segment only if a hit is in it, and an exact id filter.
    fn restricted_to<'h>(&self, hits: impl IntoIterator<Item = &'h Hit>) -> StoreTable {
        let hits: Vec<&Hit> = hits.into_iter().collect();
        let segments: HashSet<&str> = hits.iter().map(|h| h.segment.as_str()).collect();
        StoreTable {
            schema: Arc::clone(&self.schema),
            store_url: self.store_url.clone(),
            files: self
                .files
                .iter()
                .filter(|(p, _)| {
                    // Sealed files are `.../part-{segment}.parquet` (segment.rs).
                    p.rsplit('/')
                        .next()
                        .and_then(|n| n.strip_prefix("part-"))
                        .and_then(|n| n.strip_suffix(".parquet"))
                        .is_some_and(|seg| !seg.is_empty() && segments.contains(seg))
                })
                .cloned()
                .collect(),
            open: if segments.contains("") {
                self.open.clone()
            } else {
                Vec::new()
            },
            only_ids: Some(Arc::new(hits.iter().map(|h| h.uid.clone()).collect())),
            id_column: self.id_column,
        }
    }

    fn predicate(
        &self,
        state: &dyn Session,
        filters: &[Expr],
    ) -> datafusion::error::Result<Option<Arc<dyn PhysicalExpr>>> {
        let mut all: Vec<Expr> = filters.to_vec();
        if let Some(ids) = &self.only_ids {
            all.push(
                col(self.id_column).in_list(ids.iter().map(|s| lit(s.as_str())).collect(), false),
            );
        }
        let Some(expr) = conjunction(all) else {
            return Ok(None);
        };
        let df_schema = DFSchema::try_from(Arc::clone(&self.schema))?;
        Ok(Some(state.create_physical_expr(expr, &df_schema)?))
    }

    /// Whether a scan of `projection` reads a column decoded value by value (free text,
    /// ids, lists: the columns not stored as dictionaries), which is when evaluating the
    /// filters while decoding (Parquet filter pushdown) pays: such a column is then only
    /// decoded for the rows that pass. When every projected column is a dictionary or a
    /// number, decoding them all and filtering afterwards is faster (measured on the
    /// access-key query of `benches/RESULTS.md`: 99 ms with pushdown, 82–87 ms without),
    /// so pushdown is off by default and turned on per scan.
    fn decodes_values(&self, projection: Option<&Vec<usize>>) -> bool {
        let heavy = |i: usize| {
            matches!(
                self.schema.field(i).data_type(),
                DataType::Utf8View | DataType::Utf8 | DataType::List(_)
            )
        };
        match projection {
            Some(p) => p.iter().any(|&i| heavy(i)),
            None => (0..self.schema.fields().len()).any(heavy),
        }
    }

    fn files_to_scan(
        &self,
        predicate: Option<&Arc<dyn PhysicalExpr>>,
    ) -> datafusion::error::Result<Vec<&(String, FileMeta)>> {
        let Some(pred) = predicate else {
            return Ok(self.files.iter().collect());
        };
        let pp = PruningPredicateBuilder::new()
            .with_file_schema(Arc::clone(&self.schema))
            .try_build(Arc::clone(pred))?;
        let keep = pp.prune(&FileTimes(&self.files))?;
        Ok(self
            .files
            .iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(f, _)| f)
            .collect())
    }
}

#[async_trait]
impl TableProvider for StoreTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        // Used for pruning and inside the Parquet reader; DataFusion still filters above.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let predicate = self.predicate(state, filters)?;
        let files = self.files_to_scan(predicate.as_ref())?;
        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        // With an id restriction the limit cannot be pushed into the scan (rows not
        // matching the ids are dropped above it).
        let scan_limit = if self.only_ids.is_some() { None } else { limit };
        if !files.is_empty() {
            // Footers and page indexes are cached across the session's queries, as
            // DataFusion's ListingTable does: sealed files never change (their hashes
            // are chained in the manifest), so a cached footer cannot go stale.
            let metadata_cache = state.runtime_env().cache_manager.get_file_metadata_cache();
            let store = state.runtime_env().object_store(&self.store_url)?;
            let mut options = state.table_options().parquet.clone();
            options.global.pushdown_filters |= self.decodes_values(projection);
            let mut source = ParquetSource::new(Arc::clone(&self.schema))
                .with_table_parquet_options(options)
                .with_parquet_file_reader_factory(Arc::new(CachedParquetFileReaderFactory::new(
                    store,
                    metadata_cache,
                )));
            // DataFusion pushes the query's filters into the Parquet scan by itself; the
            // id restriction of search() is ours to push (for the bloom filters).
            if let (Some(p), Some(_)) = (&predicate, &self.only_ids) {
                source = source.with_predicate(Arc::clone(p));
            }
            let n = state.config().target_partitions().max(1).min(files.len());
            let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); n];
            for (i, (path, f)) in files.iter().enumerate() {
                groups[i % n].push(PartitionedFile::new(path.clone(), f.bytes));
            }
            let config = FileScanConfigBuilder::new(self.store_url.clone(), Arc::new(source))
                .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
                .with_projection_indices(projection.cloned())?
                .with_limit(scan_limit)
                .build();
            inputs.push(DataSourceExec::from_data_source(config));
        }
        if !self.open.is_empty() {
            let mem = MemorySourceConfig::try_new(
                std::slice::from_ref(&self.open),
                Arc::clone(&self.schema),
                projection.cloned(),
            )?
            .with_limit(scan_limit);
            inputs.push(DataSourceExec::from_data_source(mem));
        }
        let plan: Arc<dyn ExecutionPlan> = if inputs.is_empty() {
            Arc::new(EmptyExec::new(project_schema(&self.schema, projection)?))
        } else {
            UnionExec::try_new(inputs)?
        };
        if let Some(ids) = &self.only_ids {
            // The id filter must be exact: pruning alone keeps whole row groups.
            use datafusion::physical_plan::filter::FilterExec;
            let full = Arc::clone(&self.schema);
            let projected = project_schema(&full, projection)?;
            if projected.index_of(self.id_column).is_ok() {
                let df_schema = DFSchema::try_from(Arc::clone(&projected))?;
                let e = state.create_physical_expr(
                    col(self.id_column)
                        .in_list(ids.iter().map(|s| lit(s.as_str())).collect(), false),
                    &df_schema,
                )?;
                return Ok(Arc::new(FilterExec::try_new(e, plan)?));
            }
            // The projection dropped the id column: scan it too, filter, project back.
            return id_filtered_scan(self, state, projection, filters).await;
        }
        Ok(plan)
    }
}

/// A scan restricted to ids when the projection does not include the id column.
async fn id_filtered_scan(
    t: &StoreTable,
    state: &dyn Session,
    projection: Option<&Vec<usize>>,
    filters: &[Expr],
) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
    use datafusion::physical_expr::expressions::Column as PColumn;
    use datafusion::physical_plan::projection::ProjectionExec;
    let id_idx = t.schema.index_of(t.id_column)?;
    let mut proj: Vec<usize> = projection
        .cloned()
        .unwrap_or_else(|| (0..t.schema.fields().len()).collect());
    let wanted = proj.clone();
    proj.push(id_idx);
    let inner = t.scan(state, Some(&proj), filters, None).await?;
    let out_schema = inner.schema();
    let exprs: Vec<(Arc<dyn PhysicalExpr>, String)> = (0..wanted.len())
        .map(|i| {
            let name = out_schema.field(i).name().clone();
            (
                Arc::new(PColumn::new(&name, i)) as Arc<dyn PhysicalExpr>,
                name,
            )
        })
        .collect();
    Ok(Arc::new(ProjectionExec::try_new(exprs, inner)?))
}

/// The `search(table, query [, limit])` table function.
struct SearchFn {
    snapshot: Arc<Snapshot>,
    tables: BTreeMap<String, Arc<StoreTable>>,
}

impl std::fmt::Debug for SearchFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchFn")
            .field("dir", &self.snapshot.dir)
            .finish()
    }
}

fn lit_str(e: &Expr) -> Option<String> {
    match e {
        Expr::Literal(v, _) => v.try_as_str().flatten().map(str::to_owned),
        _ => None,
    }
}

impl TableFunctionImpl for SearchFn {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::error::Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let usage = "search(table, query [, limit]): e.g. search('cloudtrail', 'AccessDenied AND ci-deployer')";
        let (Some(table), Some(query)) = (
            exprs.first().and_then(lit_str),
            exprs.get(1).and_then(lit_str),
        ) else {
            return Err(DataFusionError::Plan(format!(
                "{usage}: table and query must be string literals"
            )));
        };
        let limit = match exprs.get(2) {
            None => SEARCH_DEFAULT_LIMIT,
            Some(Expr::Literal(ScalarValue::Int64(Some(n)), _)) if *n > 0 => *n as usize,
            Some(_) => {
                return Err(DataFusionError::Plan(format!(
                    "{usage}: limit must be a positive integer"
                )));
            }
        };
        let Some(base) = self.tables.get(&table) else {
            return Err(DataFusionError::Plan(format!(
                "{usage}: unknown table {table:?}; tables are {}",
                TABLES.join(", ")
            )));
        };
        let snap = Arc::clone(&self.snapshot);
        let (q, t) = (query.clone(), table.clone());
        // Searching may download indexes (S3): run it on the runtime without blocking it.
        let hits = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current()
                .block_on(async move { snap.search(&q, Some(&t), None, limit).await })
        })
        .map_err(|e| DataFusionError::Plan(format!("search({table:?}, {query:?}): {e}")))?;
        Ok(Arc::new(base.restricted_to(&hits)))
    }
}

/// The schema SQL sees for `table`: its [`stored_schema`] (categorical strings as
/// dictionaries) with the other top-level strings as Arrow's `Utf8View`.
///
/// The Parquet reader then decodes those strings into views of its pages instead of
/// copying every value into a new buffer (DataFusion's own `ListingTable` does the same by
/// default, `schema_force_view_types`). Strings inside structs keep their stored type:
/// DataFusion only reads top-level columns as views, anything else would be a cast per
/// batch. Results can carry `Utf8View` and dictionary columns, which every Arrow writer
/// (table, JSON, CSV, Parquet) prints like `Utf8`.
pub fn query_schema(table: &str) -> Result<SchemaRef> {
    let stored = stored_schema(table)?;
    let fields: Vec<Field> = stored
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        stored.metadata().clone(),
    )))
}

/// A query session over a snapshot of the store.
pub struct QuerySession {
    ctx: SessionContext,
    tables: BTreeMap<String, Arc<StoreTable>>,
}

impl QuerySession {
    /// Registers the store's tables and the `search` function. Must be called within a
    /// multi-threaded tokio runtime.
    pub fn new(snapshot: Arc<Snapshot>) -> Result<Self> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut config = SessionConfig::new()
            .with_target_partitions(threads)
            .set_bool("datafusion.sql_parser.enable_ident_normalization", false)
            // Per scan: see StoreTable::decodes_values.
            .set_bool("datafusion.execution.parquet.pushdown_filters", false)
            .set_bool("datafusion.execution.parquet.reorder_filters", true)
            .with_information_schema(true);
        config.options_mut().execution.time_zone = Some("UTC".into());
        let ctx = SessionContext::new_with_config(config);
        let (url, store) = snapshot.backend.for_datafusion()?;
        let store_url =
            ObjectStoreUrl::parse(&url).map_err(|e| StoreError::Query(e.to_string()))?;
        ctx.register_object_store(store_url.as_ref(), store);
        let mut tables = BTreeMap::new();
        let mut live = crate::manifest::live_files(&snapshot.entries);
        for t in TABLES {
            let files = live
                .remove(t)
                .unwrap_or_default()
                .into_iter()
                .map(|f| (snapshot.backend.object_path(&f.path), f))
                .collect();
            let sql_schema = query_schema(t)?;
            let open = snapshot
                .open
                .get(t)
                .map(|batches| {
                    batches
                        .iter()
                        .map(|b| cast_batch(b, &sql_schema))
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?
                .unwrap_or_default();
            let table = Arc::new(StoreTable {
                schema: sql_schema,
                store_url: store_url.clone(),
                files,
                open,
                only_ids: None,
                id_column: id_column(t),
            });
            ctx.register_table(t, table.clone()).map_err(df_err)?;
            tables.insert(t.to_string(), table);
        }
        ctx.register_udtf(
            "search",
            Arc::new(SearchFn {
                snapshot,
                tables: tables.clone(),
            }),
        );
        Ok(Self { ctx, tables })
    }

    /// Plans `sql` (read-only) and starts executing it; batches arrive as they are
    /// computed.
    pub async fn execute(&self, sql: &str) -> Result<SendableRecordBatchStream> {
        let opts = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = self
            .ctx
            .sql_with_options(sql, opts)
            .await
            .map_err(refusal)?;
        df.execute_stream().await.map_err(df_err)
    }

    /// Runs `sql` and collects the result (for tests and small results).
    pub async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        use futures::TryStreamExt;
        self.execute(sql).await?.try_collect().await.map_err(df_err)
    }

    /// The rows of search hits, as JSON objects in hit order (`None` for a hit whose row
    /// could not be read). Reads only the hits' segments, by id.
    pub async fn fetch(
        &self,
        hits: &[Hit],
    ) -> Result<Vec<Option<serde_json::Map<String, serde_json::Value>>>> {
        let mut rows: BTreeMap<(String, String), serde_json::Map<String, serde_json::Value>> =
            BTreeMap::new();
        let mut by_table: BTreeMap<&str, Vec<&Hit>> = BTreeMap::new();
        for h in hits {
            by_table.entry(h.table.as_str()).or_default().push(h);
        }
        for (table, hs) in by_table {
            let Some(base) = self.tables.get(table) else {
                continue;
            };
            let restricted = base.restricted_to(hs.iter().copied());
            let batches = self
                .ctx
                .read_table(Arc::new(restricted))
                .map_err(df_err)?
                .collect()
                .await
                .map_err(df_err)?;
            for obj in json_rows(&batches)? {
                if let Some(id) = obj.get(base.id_column).and_then(|v| v.as_str()) {
                    rows.insert((table.to_string(), id.to_string()), obj);
                }
            }
        }
        Ok(hits
            .iter()
            .map(|h| rows.get(&(h.table.clone(), h.uid.clone())).cloned())
            .collect())
    }

    /// The DataFusion context (for `EXPLAIN` and tests).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }
}

/// The format timestamps are printed in: UTC ISO-8601 (`2024-01-02T03:04:05Z`, with a
/// fraction only when there is one).
pub const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.fZ";

/// Rows as JSON objects (timestamps in [`TIME_FORMAT`]).
pub fn json_rows(
    batches: &[RecordBatch],
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::WriterBuilder::new()
            .with_timestamp_tz_format(TIME_FORMAT.to_string())
            .build::<_, arrow::json::writer::LineDelimited>(&mut buf);
        for b in batches {
            w.write(b)?;
        }
        w.finish()?;
    }
    buf.split(|c| *c == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l).map_err(|e| StoreError::Query(format!("row to JSON: {e}")))
        })
        .collect()
}

fn df_err(e: DataFusionError) -> StoreError {
    StoreError::Query(e.to_string())
}

/// Turns DataFusion's refusals of DDL, DML and statements into a message saying why.
fn refusal(e: DataFusionError) -> StoreError {
    let msg = e.to_string();
    for (needle, what) in [
        ("DDL not supported", "DDL (CREATE, DROP, ALTER)"),
        ("DML not supported", "DML (INSERT, UPDATE, DELETE, COPY)"),
        (
            "Statement not supported",
            "this statement (SET, PREPARE, transactions)",
        ),
    ] {
        if msg.contains(needle) {
            return StoreError::Query(format!(
                "refused: {what}; `vigil query` is read-only over an append-only store (load data with `vigil ingest`) [{msg}]"
            ));
        }
    }
    StoreError::Query(msg)
}
