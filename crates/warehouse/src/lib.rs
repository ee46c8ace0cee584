//! The `ansinh` warehouse: Delta tables under `<root>/tables/`, plain Parquet marts under
//! `<root>/marts/`, the `_loads` manifest, and a DataFusion catalog over all of them.

pub mod dictionary;
mod error;
pub mod history;
pub mod ingest;
pub mod landing;
mod location;
pub mod reference;
pub mod source;
mod spill;
pub mod status;
pub mod storage;
pub mod values;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;

pub use error::{Error, Result, datafusion_class};
pub use location::Location;
pub use storage::Storage;

/// Names of the warehouse's Delta tables.
pub mod tables {
    /// Participant rows.
    pub const PARTICIPANTS: &str = "participants";
    /// Beneficiary rows.
    pub const BENEFICIARIES: &str = "beneficiaries";
    /// Rows of the social-pension lists.
    pub const SOCIAL_PENSIONS: &str = "social_pensions";
    /// Quarantined rows.
    pub const REJECTS: &str = "rejects";
    /// The load manifest.
    pub const LOADS: &str = "_loads";
    /// Identity links between the two identifier pseudonyms.
    pub const PERSON_LINKS: &str = "person_links";
    /// The run history of pipelines.
    pub const RUNS: &str = "_runs";

    /// The fact table deliveries of `kind` load into.
    pub fn fact(kind: ansinh_core::DeliveryKind) -> &'static str {
        match kind {
            ansinh_core::DeliveryKind::Participants => PARTICIPANTS,
            ansinh_core::DeliveryKind::Beneficiaries => BENEFICIARIES,
            ansinh_core::DeliveryKind::SocialPensions => SOCIAL_PENSIONS,
        }
    }
    /// Schema of the reference tables in the SQL catalog.
    pub const REFERENCE_SCHEMA: &str = "reference";
}

/// A table of the warehouse with its schema and partitioning.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Name in the SQL catalog (`reference.geography` is `reference/geography` on storage).
    pub name: &'static str,
    /// Canonical schema.
    pub schema: fn() -> SchemaRef,
    /// Partition columns.
    pub partitions: &'static [&'static str],
}

/// Every Delta table the warehouse knows, in catalog order.
pub fn table_specs() -> Vec<TableSpec> {
    use ansinh_core::{columns as c, schema};
    vec![
        TableSpec {
            name: tables::PARTICIPANTS,
            schema: schema::participants,
            partitions: &[c::PERIOD, c::OFFICE],
        },
        TableSpec {
            name: tables::BENEFICIARIES,
            schema: schema::beneficiaries,
            partitions: &[c::PERIOD, c::OFFICE],
        },
        TableSpec {
            name: tables::SOCIAL_PENSIONS,
            schema: schema::social_pensions,
            partitions: &[c::PERIOD, c::OFFICE],
        },
        TableSpec {
            name: tables::REJECTS,
            schema: schema::rejects,
            partitions: &[c::KIND, c::PERIOD],
        },
        TableSpec {
            name: tables::LOADS,
            schema: schema::loads,
            partitions: &[],
        },
        TableSpec {
            name: tables::PERSON_LINKS,
            schema: schema::person_links,
            partitions: &[c::KIND, c::PERIOD, c::OFFICE],
        },
        TableSpec {
            name: tables::RUNS,
            schema: schema::runs,
            partitions: &[],
        },
        TableSpec {
            name: "reference/geography",
            schema: schema::reference_geography,
            partitions: &[],
        },
        TableSpec {
            name: "reference/population",
            schema: schema::reference_population,
            partitions: &[],
        },
        TableSpec {
            name: "reference/labor_force",
            schema: schema::reference_labor_force,
            partitions: &[],
        },
        TableSpec {
            name: "reference/targets",
            schema: schema::reference_targets,
            partitions: &[],
        },
        TableSpec {
            name: "reference/offices",
            schema: schema::reference_offices,
            partitions: &[],
        },
        TableSpec {
            name: "reference/office_areas",
            schema: schema::reference_office_areas,
            partitions: &[],
        },
        TableSpec {
            name: "reference/commune_crosswalk",
            schema: schema::reference_commune_crosswalk,
            partitions: &[],
        },
    ]
}

/// The table named `name` (`participants`, `reference/geography`, ...).
pub fn table_spec(name: &str) -> Result<TableSpec> {
    table_specs()
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::Bug(format!("no table named {name}")))
}

/// A record batch stream offered once as the single partition of a streaming table.
struct OnceStream {
    schema: SchemaRef,
    stream: std::sync::Mutex<Option<datafusion::physical_plan::SendableRecordBatchStream>>,
}

impl std::fmt::Debug for OnceStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnceStream")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl OnceStream {
    fn new(stream: datafusion::physical_plan::SendableRecordBatchStream) -> Self {
        Self {
            schema: stream.schema(),
            stream: std::sync::Mutex::new(Some(stream)),
        }
    }
}

impl datafusion::physical_plan::streaming::PartitionStream for OnceStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(
        &self,
        _ctx: Arc<datafusion::execution::TaskContext>,
    ) -> datafusion::physical_plan::SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut s| s.take());
        match taken {
            Some(stream) => stream,
            None => Box::pin(
                datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                    Arc::clone(&self.schema),
                    futures::stream::once(async {
                        Err(datafusion::error::DataFusionError::Internal(
                            "a delivery stream can be read once".into(),
                        ))
                    }),
                ),
            ),
        }
    }
}

/// How a write lays out its Parquet data files; both sizes bound what it holds in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLayout {
    /// Rows of a Parquet row group, held in memory until written.
    pub row_group_rows: usize,
    /// Size at which a data file is closed and a new one started.
    pub target_file_bytes: u64,
}

impl Default for FileLayout {
    fn default() -> Self {
        Self {
            row_group_rows: 131_072,
            target_file_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Columns of keyed hashes: nearly every value is distinct, so a dictionary only costs time.
const DISTINCT_COLUMNS: [&str; 3] = [
    ansinh_core::columns::PERSON,
    ansinh_core::columns::PERSON_ID_KEY,
    ansinh_core::columns::NATIONAL_ID_KEY,
];

/// Which state of the tables to read.
#[derive(Debug, Clone, PartialEq)]
pub enum AsOf {
    /// The current version of every table.
    Latest,
    /// Every table at its last version committed at or before this time.
    Time(chrono::DateTime<chrono::Utc>),
    /// These tables (catalog names, `reference.geography`) at these versions; the others
    /// current.
    Versions(HashMap<String, i64>),
}

/// How a write replaces what is there.
#[derive(Debug, Clone)]
pub enum WriteMode {
    /// Add rows.
    Append,
    /// Replace the rows matching the predicate (SQL over partition columns).
    ReplaceWhere(datafusion::prelude::Expr),
    /// Replace the whole table.
    Overwrite,
}

/// A warehouse at a location.
#[derive(Debug, Clone)]
pub struct Warehouse {
    location: Location,
    storage: Storage,
}

impl Warehouse {
    /// Opens (or prepares) the warehouse at `location` (a path or `file://` URL, or an object
    /// store URL whose settings come from the environment alone).
    pub fn open(location: &str) -> Result<Self> {
        Self::open_with(location, Storage::default())
    }

    /// Opens (or prepares) the warehouse at `location`: a path, or a `file://`, `s3://`,
    /// `gs://` or `az://` URL reached with `storage`.
    pub fn open_with(location: &str, storage: Storage) -> Result<Self> {
        let location = Location::parse(location)?;
        // Fails early on an unsupported scheme or a malformed bucket.
        storage.store(location.root())?;
        Ok(Self { location, storage })
    }

    /// The store of the warehouse root, and the URL it is registered under in sessions.
    pub fn store(&self) -> Result<(Arc<dyn object_store::ObjectStore>, url::Url)> {
        self.storage.store(self.location.root())
    }

    /// How object stores are reached.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The column names of table `name` as stored, or `None` if it was never written.
    pub async fn stored_columns(&self, name: &str) -> Result<Option<Vec<String>>> {
        let table = self.table(name).await?;
        if table.version().is_none() {
            return Ok(None);
        }
        let snapshot = table.snapshot().map_err(|source| Error::Delta {
            table: name.into(),
            source,
        })?;
        Ok(Some(
            snapshot
                .schema()
                .fields()
                .map(|f| f.name().to_string())
                .collect(),
        ))
    }

    /// Opens the Delta table `name`; a table never written has no version.
    pub async fn table(&self, name: &str) -> Result<DeltaTable> {
        let url = self.location.table(name)?;
        if let Ok(path) = url.to_file_path() {
            std::fs::create_dir_all(&path).map_err(|source| Error::Io {
                path: path.display().to_string(),
                source,
            })?;
        }
        let options = self.storage.delta_options(&url);
        DeltaTable::try_from_url_with_storage_options(url, options)
            .await
            .map_err(|source| Error::Delta {
                table: name.into(),
                source,
            })
    }

    /// The current version of every table that exists.
    pub async fn versions(&self) -> Result<HashMap<String, i64>> {
        let mut out = HashMap::new();
        for spec in table_specs() {
            if let Some(v) = self.table(spec.name).await?.version() {
                out.insert(spec.name.to_string(), v as i64);
            }
        }
        Ok(out)
    }

    /// For a table partitioned by `period`, a digest of each month's data files in the current
    /// snapshot (their paths and sizes, from the Delta log alone): it changes exactly when a
    /// load or restatement replaces a file of that month. `name` is `participants` or
    /// `reference.geography`; a table never written has no months.
    pub async fn month_files(
        &self,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>> {
        use sha2::Digest;
        let table = self.table(&name.replace('.', "/")).await?;
        if table.version().is_none() {
            return Ok(Default::default());
        }
        let snapshot = table.snapshot().map_err(|source| Error::Delta {
            table: name.into(),
            source,
        })?;
        let mut files: std::collections::BTreeMap<String, Vec<(String, i64)>> = Default::default();
        for file in snapshot.log_data() {
            let period = file
                .partition_values_map()
                .remove(ansinh_core::columns::PERIOD)
                .flatten()
                .ok_or_else(|| Error::Bug(format!("{name} is not partitioned by period")))?;
            files
                .entry(period)
                .or_default()
                .push((file.path().into_owned(), file.size()));
        }
        Ok(files
            .into_iter()
            .map(|(period, mut list)| {
                list.sort();
                let mut hasher = sha2::Sha256::new();
                for (path, size) in list {
                    hasher.update(format!("{path}\0{size}\n").as_bytes());
                }
                (period, hex::encode(&hasher.finalize()[..16]))
            })
            .collect())
    }

    /// Deletes the files no version newer than `retain` ago references, in every table:
    /// files replaced by restatements, and files of writes that were aborted before their
    /// commit. Time travel reaches back only as far as `retain`. Returns the files deleted (or
    /// that would be, with `dry_run`) per table.
    pub async fn vacuum(
        &self,
        retain: chrono::Duration,
        dry_run: bool,
    ) -> Result<Vec<(String, Vec<String>)>> {
        let mut out = Vec::new();
        for spec in table_specs() {
            let table = self.table(spec.name).await?;
            if table.version().is_none() {
                continue;
            }
            let (_, metrics) = table
                .vacuum()
                .with_retention_period(retain)
                .with_enforce_retention_duration(false)
                .with_mode(deltalake::operations::vacuum::VacuumMode::Full)
                .with_dry_run(dry_run)
                .await
                .map_err(|source| Error::Delta {
                    table: spec.name.into(),
                    source,
                })?;
            out.push((spec.name.to_string(), metrics.files_deleted));
        }
        Ok(out)
    }

    /// Writes `batches` into table `spec` and returns the new version. `metadata` goes into
    /// the commit info, so the Delta history says which delivery made each version.
    pub async fn write(
        &self,
        spec: &TableSpec,
        batches: Vec<RecordBatch>,
        mode: WriteMode,
        metadata: Vec<(String, serde_json::Value)>,
    ) -> Result<i64> {
        let batches = if batches.is_empty() {
            vec![RecordBatch::new_empty((spec.schema)())]
        } else {
            batches
        };
        let table = self.table(spec.name).await?;
        let builder = table.write(batches);
        self.commit(spec, builder, mode, metadata, FileLayout::default())
            .await
    }

    /// Writes the batches of `stream` into table `spec` without holding them: they go to
    /// Parquet files as they come, and the commit happens only if the stream ends without an
    /// error. An error item aborts the write and leaves the table as it was.
    pub async fn write_stream(
        &self,
        spec: &TableSpec,
        stream: datafusion::physical_plan::SendableRecordBatchStream,
        mode: WriteMode,
        metadata: Vec<(String, serde_json::Value)>,
        layout: FileLayout,
    ) -> Result<i64> {
        let plan_error = |source| Error::Query {
            table: spec.name.into(),
            source,
        };
        let source = Arc::new(OnceStream::new(stream));
        let streaming =
            datafusion::catalog::streaming::StreamingTable::try_new((spec.schema)(), vec![source])
                .map_err(plan_error)?;
        let plan = datafusion::logical_expr::LogicalPlanBuilder::scan(
            "delivery",
            datafusion::datasource::provider_as_source(Arc::new(streaming)),
            None,
        )
        .and_then(|b| b.build())
        .map_err(plan_error)?;
        // One stream in, one writer out. With more target partitions the planner would split
        // the stream round-robin and delta-rs would hash it back by partition columns; every
        // row of a delivery has the same partition values, so all of them would queue for one
        // writer in the repartition's unbounded buffer.
        let overrides = HashMap::from([(
            "datafusion.execution.target_partitions".to_string(),
            "1".to_string(),
        )]);
        let session = deltalake::delta_datafusion::DeltaSessionContext::new_with_session_overrides(
            &overrides,
        )
        .map_err(|source| Error::Delta {
            table: spec.name.into(),
            source,
        })?;
        let table = self.table(spec.name).await?;
        let builder = table
            .write(Vec::new())
            .with_input_plan(plan)
            .with_session_state(Arc::new(session.state()));
        self.commit(spec, builder, mode, metadata, layout).await
    }

    async fn commit(
        &self,
        spec: &TableSpec,
        builder: deltalake::operations::write::WriteBuilder,
        mode: WriteMode,
        metadata: Vec<(String, serde_json::Value)>,
        layout: FileLayout,
    ) -> Result<i64> {
        let exists = self.table(spec.name).await?.version().is_some();
        // Bounded buffers: a row group is held in memory until written, and a data file until
        // it is stored; the layout keeps both within the load's memory budget. Zstd at its
        // fastest level halves the hex pseudonyms, which Snappy leaves as they are.
        let mut writer_properties = parquet::file::properties::WriterProperties::builder()
            // The default level is 1, the fastest.
            .set_compression(parquet::basic::Compression::ZSTD(
                parquet::basic::ZstdLevel::default(),
            ))
            .set_max_row_group_row_count(Some(layout.row_group_rows));
        for column in DISTINCT_COLUMNS {
            writer_properties = writer_properties.set_column_dictionary_enabled(
                parquet::schema::types::ColumnPath::from(column),
                false,
            );
        }
        let mut builder = builder
            .with_partition_columns(spec.partitions.iter().copied())
            .with_writer_properties(writer_properties.build())
            .with_target_file_size(std::num::NonZeroU64::new(layout.target_file_bytes))
            .with_commit_properties(CommitProperties::default().with_metadata(metadata));
        builder = match (mode, exists) {
            // A table written before a nullable column was added to its schema gains it.
            (WriteMode::Append, true) => builder
                .with_save_mode(SaveMode::Append)
                .with_schema_mode(deltalake::operations::write::SchemaMode::Merge),
            (WriteMode::Append, false) | (WriteMode::ReplaceWhere(_), false) => {
                builder.with_save_mode(SaveMode::Append)
            }
            (WriteMode::ReplaceWhere(predicate), true) => builder
                .with_save_mode(SaveMode::Overwrite)
                .with_replace_where(predicate),
            // A reference table takes the schema of this version (a `boundary` column added).
            (WriteMode::Overwrite, true) => builder
                .with_save_mode(SaveMode::Overwrite)
                .with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite),
            (WriteMode::Overwrite, false) => builder.with_save_mode(SaveMode::Overwrite),
        };
        let table = builder.await.map_err(|source| Error::Delta {
            table: spec.name.into(),
            source,
        })?;
        Ok(table.version().map(|v| v as i64).unwrap_or(0))
    }

    /// A DataFusion session with every table registered: fact and manifest tables by name,
    /// reference tables as `reference.<name>`. Tables never written are empty.
    pub async fn session(&self) -> Result<SessionContext> {
        // Without hash joins' dynamic filters, as in the models' session (see
        // `ansinh_models::session`): they can hang a join whose build side is empty.
        let config = datafusion::prelude::SessionConfig::new().set_bool(
            "datafusion.optimizer.enable_join_dynamic_filter_pushdown",
            false,
        );
        let ctx = SessionContext::new_with_config(config);
        self.register(&ctx).await?;
        Ok(ctx)
    }

    /// Registers every table into `ctx` (see [`Warehouse::session`]), and the warehouse's
    /// object store, through which marts are read and written.
    pub async fn register(&self, ctx: &SessionContext) -> Result<()> {
        self.register_at(ctx, &AsOf::Latest).await
    }

    /// Registers every table as it was at `as_of`: a table that did not exist yet is empty.
    pub async fn register_at(&self, ctx: &SessionContext, as_of: &AsOf) -> Result<()> {
        let (store, base) = self.store()?;
        ctx.register_object_store(&base, store);
        let reference = Arc::new(MemorySchemaProvider::new());
        ctx.catalog("datafusion")
            .ok_or_else(|| Error::Bug("the session has no default catalog".into()))?
            .register_schema(tables::REFERENCE_SCHEMA, reference.clone())
            .map_err(|source| Error::Query {
                table: "reference".into(),
                source,
            })?;
        for spec in table_specs() {
            let mut table = self.table(spec.name).await?;
            let catalog_name = spec.name.replace('/', ".");
            let travelled = match as_of {
                AsOf::Latest => Ok(()),
                AsOf::Time(t) if table.version().is_some() => table.load_with_datetime(*t).await,
                AsOf::Versions(v) => match v.get(&catalog_name) {
                    Some(&version) => {
                        let latest = table.version();
                        if latest.is_none_or(|l| u64::try_from(version).map_or(true, |v| v > l)) {
                            let has = latest.map_or("no version yet".to_string(), |l| {
                                format!("versions 0 to {l}")
                            });
                            return Err(Error::AsOf(format!(
                                "--as-of {catalog_name}@{version}: the table has {has}"
                            )));
                        }
                        table.load_version(version.max(0) as u64).await
                    }
                    None => Ok(()),
                },
                AsOf::Time(_) => Ok(()),
            };
            travelled.map_err(|source| Error::Delta {
                table: spec.name.into(),
                source,
            })?;
            // A time before the table's first commit finds that commit: the table was empty.
            if let (AsOf::Time(t), Some(version)) = (as_of, table.version()) {
                let committed = table
                    .snapshot()
                    .ok()
                    .and_then(|s| s.version_timestamp(version));
                if committed.is_some_and(|c| c > t.timestamp_millis()) {
                    table = DeltaTable::new(table.log_store());
                }
            }
            let query_error = |source| Error::Query {
                table: spec.name.into(),
                source,
            };
            let provider: Arc<dyn datafusion::catalog::TableProvider> = if table.version().is_some()
            {
                table
                    .update_datafusion_session(&ctx.state())
                    .map_err(|source| Error::Delta {
                        table: spec.name.into(),
                        source,
                    })?;
                table.table_provider().await.map_err(query_error)?
            } else {
                Arc::new(MemTable::try_new((spec.schema)(), vec![vec![]]).map_err(query_error)?)
            };
            match spec.name.strip_prefix("reference/") {
                Some(name) => {
                    reference
                        .register_table(name.to_string(), provider)
                        .map_err(query_error)?;
                }
                None => {
                    // Registering again (a long-lived session picking up new versions)
                    // replaces the table.
                    ctx.deregister_table(spec.name).map_err(query_error)?;
                    ctx.register_table(spec.name, provider)
                        .map_err(query_error)?;
                }
            }
        }
        Ok(())
    }

    /// Names of every table, as models refer to them (`participants`, `reference.geography`).
    pub fn table_names() -> std::collections::BTreeSet<String> {
        table_specs()
            .iter()
            .map(|s| s.name.replace('/', "."))
            .collect()
    }

    /// Runs `sql` over a fresh session and collects the result.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let ctx = self.session().await?;
        let query_error = |source| Error::Query {
            table: sql.into(),
            source,
        };
        ctx.sql(sql)
            .await
            .map_err(query_error)?
            .collect()
            .await
            .map_err(query_error)
    }
}
