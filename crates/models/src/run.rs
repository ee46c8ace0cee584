//! Building models in dependency order, writing marts atomically, and running data tests.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use url::Url;

use ansinh_core::{Classify, ErrorClass, YearMonth};
use datafusion::catalog::MemorySchemaProvider;
use datafusion::prelude::{col, lit};
use datafusion::scalar::ScalarValue;

use crate::dag::order;
use crate::error::{Error, Result};
use crate::partition::{
    BuildOptions, Fingerprints, Inputs, PERIOD, PartitionPrint, Reason, folder, folder_url,
    partition_file, plan, recorded, store_path,
};
use crate::project::{Materialization, Model, Project};

/// Where marts go.
#[derive(Debug, Clone)]
pub enum Target {
    /// In-memory tables (golden tests, planning).
    Memory,
    /// Parquet files under `<root>/marts/`.
    Warehouse {
        /// The warehouse root URL, ending in `/`.
        root: Url,
    },
}

/// What happened to one model.
#[derive(Debug, Clone)]
pub struct ModelOutcome {
    /// Model name.
    pub name: String,
    /// How it was materialised.
    pub materialization: Materialization,
    /// Rows written (marts only).
    pub rows: Option<u64>,
    /// Seconds spent.
    pub seconds: f64,
    /// Whether it was built (selected and stale) or only made available.
    pub built: bool,
    /// The partitions built, for a partitioned model.
    pub partitions: Vec<PartitionOutcome>,
}

/// What happened to one partition of a partitioned model.
#[derive(Debug, Clone)]
pub struct PartitionOutcome {
    /// Its month.
    pub month: YearMonth,
    /// Why it was built.
    pub reason: Reason,
    /// Rows written.
    pub rows: u64,
    /// Seconds spent.
    pub seconds: f64,
    /// Attempts it took: 2 when its first attempt failed for a reason worth a retry.
    pub attempts: u32,
}

impl ModelOutcome {
    /// The months built, as `3 of its months: 2024-01..2024-03`, with those built on a second
    /// attempt; empty for a model that is not partitioned.
    pub fn months_text(&self) -> String {
        if self.partitions.is_empty() {
            return String::new();
        }
        let mut text = format!(
            "{} of its months: {}",
            self.partitions.len(),
            crate::partition::months_text(self.partitions.iter().map(|p| p.month))
        );
        let retried: Vec<YearMonth> = self
            .partitions
            .iter()
            .filter(|p| p.attempts > 1)
            .map(|p| p.month)
            .collect();
        if !retried.is_empty() {
            text.push_str(&format!(
                " ({} on a second attempt)",
                crate::partition::months_text(retried)
            ));
        }
        text
    }
}

/// The outcome of a build.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    /// Models in the order they were handled.
    pub models: Vec<ModelOutcome>,
}

/// The outcome of one data test.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The model (or `tests/<name>` for singular tests).
    pub model: String,
    /// The test.
    pub test: String,
    /// Failing rows.
    pub failures: u64,
    /// The SQL run.
    pub sql: String,
}

/// All test outcomes.
#[derive(Debug, Clone, Default)]
pub struct TestReport {
    /// Outcomes, in order.
    pub tests: Vec<TestOutcome>,
}

impl TestReport {
    /// Tests with failing rows.
    pub fn failed(&self) -> impl Iterator<Item = &TestOutcome> {
        self.tests.iter().filter(|t| t.failures > 0)
    }
}

pub(crate) fn execution_error(model: &Model, source: datafusion::error::DataFusionError) -> Error {
    let line = source
        .diagnostic()
        .and_then(|d| d.span)
        .map(|s| s.start.line)
        .unwrap_or(0);
    Error::Execution {
        model: model.name.clone(),
        file: model.file.clone(),
        line,
        source: Box::new(source),
    }
}

/// URL of the Parquet file of a model: `<root>/marts/<name>.parquet` for marts, and
/// `<root>/staging/<name>.parquet` for staging models materialised as Parquet (intermediate
/// tables that several marts read, computed once).
pub fn model_url(root: &Url, model: &Model) -> Result<Url> {
    root.join(&format!("{}/{}.parquet", folder(model), model.name))
        .map_err(|e| Error::Write {
            model: model.name.clone(),
            message: e.to_string(),
        })
}

fn replace_table(
    ctx: &SessionContext,
    model: &Model,
    provider: Arc<dyn datafusion::catalog::TableProvider>,
) -> Result<()> {
    ctx.deregister_table(model.name.as_str())
        .map_err(|e| execution_error(model, e))?;
    ctx.register_table(model.name.as_str(), provider)
        .map_err(|e| execution_error(model, e))?;
    Ok(())
}

async fn register_view(ctx: &SessionContext, model: &Model) -> Result<()> {
    if model.config.fixpoint_seed.is_some() {
        // A model that reads itself has no view: it is computed, in memory.
        build_fixpoint(ctx, model, None, None).await?;
        return Ok(());
    }
    let df = ctx
        .sql(&model.sql)
        .await
        .map_err(|e| execution_error(model, e))?;
    replace_table(ctx, model, df.into_view())
}

/// Builds the `selected` models in dependency order into `ctx`. Unselected models are made
/// available to the selected ones: views are registered, marts are read from their files
/// (or computed as views when no file exists yet).
pub async fn build(
    project: &Project,
    ctx: &SessionContext,
    selected: &BTreeSet<String>,
    target: &Target,
) -> Result<BuildReport> {
    build_fingerprinted(
        project,
        ctx,
        selected,
        target,
        None,
        &BuildOptions::default(),
    )
    .await
}

/// [`build`], recording each written model's fingerprint (see
/// [`crate::partition::fingerprints`]) and build time in its Parquet metadata. Into a
/// warehouse, a selected model whose recorded fingerprint is current is not rebuilt, and of a
/// partitioned model only the partitions [`crate::partition::plan`] names are, unless
/// `options` says otherwise.
pub async fn build_fingerprinted(
    project: &Project,
    ctx: &SessionContext,
    selected: &BTreeSet<String>,
    target: &Target,
    inputs: Option<&Inputs>,
    options: &BuildOptions,
) -> Result<BuildReport> {
    let mut report = BuildReport::default();
    let mut inputs = inputs.cloned();
    let mut fingerprints = match &inputs {
        Some(inputs) => crate::partition::fingerprints(project, inputs)?,
        None => Fingerprints::default(),
    };
    let fingerprints = &mut fingerprints;
    if let (Some(inputs), Target::Warehouse { root }) = (inputs.as_mut(), target) {
        crate::digests::save(ctx, root, project, &mut inputs.kept).await?;
    }
    for name in order(project)? {
        let model = &project.models[&name];
        let started = Instant::now();
        let mut built = selected.contains(&name);
        let mut partitions = Vec::new();
        let rows = match (model.materialization, built, target) {
            (_, true, Target::Memory) if model.config.fixpoint_seed.is_some() => {
                Some(build_fixpoint(ctx, model, None, None).await?)
            }
            (Materialization::View, _, _) => {
                register_view(ctx, model).await?;
                None
            }
            (Materialization::Parquet, false, _) => {
                register_existing_mart(ctx, model, target).await?;
                None
            }
            (Materialization::Parquet, true, Target::Memory) => {
                let df = ctx
                    .sql(&model.sql)
                    .await
                    .map_err(|e| execution_error(model, e))?;
                let planned = Arc::new(df.schema().as_arrow().clone());
                let batches = df.collect().await.map_err(|e| execution_error(model, e))?;
                // What the engine produced can differ from the plan in nullability.
                let schema = batches.first().map(|b| b.schema()).unwrap_or(planned);
                let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
                let table = MemTable::try_new(schema, vec![batches])
                    .map_err(|e| execution_error(model, e))?;
                replace_table(ctx, model, Arc::new(table))?;
                Some(rows)
            }
            (Materialization::Parquet, true, Target::Warehouse { root }) if model.partitioned() => {
                partitions =
                    build_partitions(project, ctx, model, root, fingerprints, options).await?;
                built = !partitions.is_empty();
                Some(partitions.iter().map(|p| p.rows).sum())
            }
            (Materialization::Parquet, true, Target::Warehouse { root }) => {
                let fingerprint = fingerprints.get(&name).map(String::as_str);
                if !options.full_refresh
                    && fingerprint.is_some()
                    && recorded_fingerprint(ctx, model, root).await?.as_deref() == fingerprint
                {
                    built = false;
                    register_existing_mart(ctx, model, target).await?;
                    None
                } else if model.config.fixpoint_seed.is_some() {
                    keep_previous(project, ctx, model, root).await?;
                    Some(build_fixpoint(ctx, model, Some(root), fingerprint).await?)
                } else {
                    keep_previous(project, ctx, model, root).await?;
                    Some(write_mart(ctx, model, root, fingerprint).await?)
                }
            }
        };
        if let Some(inputs) = inputs.as_mut().filter(|_| built)
            && redigest(project, ctx, &name, inputs, target).await?
        {
            *fingerprints = crate::partition::fingerprints(project, inputs)?;
        }
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(model = %name, built, rows, seconds, "model");
        report.models.push(ModelOutcome {
            name,
            materialization: model.materialization,
            rows,
            seconds,
            built,
            partitions,
        });
    }
    Ok(report)
}

/// Once `built` has been built, takes again the digests later models take of it (their
/// months depend on what it now holds), from the rows it changed where the digests before are
/// known, and keeps them. Whether there were any.
async fn redigest(
    project: &Project,
    ctx: &SessionContext,
    built: &str,
    inputs: &mut Inputs,
    target: &Target,
) -> Result<bool> {
    let mut any = false;
    let built_model = &project.models[built];
    for model in project.models.values() {
        let Some(sql) = model.config.period_digests.get(built) else {
            continue;
        };
        let key = (model.name.clone(), built.to_string());
        let digests = match target {
            Target::Warehouse { root } => {
                let of = recorded_fingerprint(ctx, built_model, root)
                    .await?
                    .unwrap_or_default();
                let kept = crate::digests::retake(
                    ctx,
                    root,
                    model,
                    built_model,
                    sql,
                    inputs.kept.get(&key),
                    of,
                )
                .await?;
                let digests = kept.digests.clone();
                inputs.kept.insert(key.clone(), kept);
                digests
            }
            Target::Memory => crate::partition::digest_query(ctx, model, built, sql).await?,
        };
        inputs.digests.insert(key, digests);
        any = true;
    }
    if let (true, Target::Warehouse { root }) = (any, target) {
        crate::digests::save(ctx, root, project, &mut inputs.kept).await?;
        crate::digests::forget_previous(ctx, root, built_model).await;
    }
    Ok(any)
}

/// Before `model` is rebuilt, keeps a copy of its file where models digest it, so that their
/// digests can be moved by what the rebuild changes instead of taken again over everything.
async fn keep_previous(
    project: &Project,
    ctx: &SessionContext,
    model: &Model,
    root: &Url,
) -> Result<()> {
    let digested = project
        .models
        .values()
        .any(|m| m.config.period_digests.contains_key(&model.name));
    if !digested {
        return Ok(());
    }
    let url = model_url(root, model)?;
    let store = warehouse_store(ctx, model, &url)?;
    let path = store_path(model, &url)?;
    let previous = store_path(model, &crate::digests::previous_url(root, model)?)?;
    let _ = store.delete(&previous).await;
    if store.head(&path).await.is_ok() {
        store
            .copy(&path, &previous)
            .await
            .map_err(|e| write_error(model, e.to_string()))?;
    }
    Ok(())
}

/// Registers a whole model's Parquet file under its name if it has been built. Whether it had.
pub(crate) async fn register_built(
    ctx: &SessionContext,
    model: &Model,
    root: &Url,
) -> Result<bool> {
    let url = model_url(root, model)?;
    let store = warehouse_store(ctx, model, &url)?;
    if store.head(&store_path(model, &url)?).await.is_err() {
        return Ok(false);
    }
    register_file(ctx, model, &url).await?;
    Ok(true)
}

pub(crate) fn warehouse_store(
    ctx: &SessionContext,
    model: &Model,
    url: &Url,
) -> Result<Arc<dyn object_store::ObjectStore>> {
    ctx.runtime_env()
        .object_store(object_store_url(url)?)
        .map_err(|e| execution_error(model, e))
}

pub(crate) async fn recorded_fingerprint(
    ctx: &SessionContext,
    model: &Model,
    root: &Url,
) -> Result<Option<String>> {
    let url = model_url(root, model)?;
    let store = warehouse_store(ctx, model, &url)?;
    let metadata = crate::freshness::file_metadata(store, store_path(model, &url)?).await;
    Ok(metadata.and_then(|kv| kv.get(crate::freshness::FINGERPRINT_KEY).cloned()))
}

/// Builds the partitions of `model` its plan names, one at a time, deletes those no input
/// has any more, and registers the model as its partitions.
async fn build_partitions(
    project: &Project,
    ctx: &SessionContext,
    model: &Model,
    root: &Url,
    fingerprints: &Fingerprints,
    options: &BuildOptions,
) -> Result<Vec<PartitionOutcome>> {
    let folder = folder_url(root, model)?;
    let store = warehouse_store(ctx, model, &folder)?;
    let empty = BTreeMap::new();
    let current = fingerprints.partitions.get(&model.name).unwrap_or(&empty);
    let plan = plan(current, &recorded(&store, root, model).await?, options);
    remove_unfinished(&store, model, &folder).await?;
    // The whole file the model was before it was partitioned.
    let whole = store_path(model, &model_url(root, model)?)?;
    if store.head(&whole).await.is_ok() {
        store
            .delete(&whole)
            .await
            .map_err(|e| write_error(model, e.to_string()))?;
    }
    for month in &plan.delete {
        let url = folder
            .join(&partition_file(*month))
            .map_err(|e| write_error(model, e.to_string()))?;
        store
            .delete(&store_path(model, &url)?)
            .await
            .map_err(|e| write_error(model, e.to_string()))?;
        tracing::info!(model = %model.name, partition = %month, "partition deleted: no input has the month");
    }
    let total = plan.build.len();
    let mut out = Vec::new();
    // A month that fails for a reason worth a retry (storage, memory) does not stop the
    // others; it is tried again alone once they are done. SQL the engine refuses stops at once.
    let mut queue: std::collections::VecDeque<(YearMonth, Reason, u32)> =
        plan.build.into_iter().map(|(m, r)| (m, r, 1)).collect();
    let mut still = Vec::new();
    while let Some((month, reason, attempt)) = queue.pop_front() {
        let started = Instant::now();
        match build_partition(project, ctx, model, &folder, month, &current[&month]).await {
            Ok(rows) => {
                let seconds = started.elapsed().as_secs_f64();
                tracing::info!(model = %model.name, partition = %month, reason = %reason, rows, seconds, attempt, "partition");
                out.push(PartitionOutcome {
                    month,
                    reason,
                    rows,
                    seconds,
                    attempts: attempt,
                });
            }
            Err(e) if e.class() == ErrorClass::Infrastructure && attempt == 1 => {
                tracing::warn!(model = %model.name, partition = %month, error = %e, "partition failed; it is tried again alone after the others");
                queue.push_back((month, reason, 2));
            }
            Err(e) if e.class() == ErrorClass::Infrastructure => {
                still.push(format!("{month}: {e}"));
            }
            Err(e) => return Err(e),
        }
    }
    if !still.is_empty() {
        return Err(Error::Partitions {
            model: model.name.clone(),
            total,
            failed: still,
        });
    }
    out.sort_by_key(|p| p.month);
    register_partitions(ctx, model, root).await?;
    Ok(out)
}

/// Deletes the temporary files a killed build left in the model's folder (builds hold the
/// warehouse lock, so none is being written).
async fn remove_unfinished(
    store: &Arc<dyn object_store::ObjectStore>,
    model: &Model,
    folder: &Url,
) -> Result<()> {
    let prefix = store_path(model, folder)?;
    let listed: Vec<object_store::ObjectMeta> = store
        .list_with_delimiter(Some(&prefix))
        .await
        .map_err(|e| write_error(model, e.to_string()))?
        .objects;
    for meta in listed {
        let name = meta.location.filename().unwrap_or_default();
        if name.starts_with('.') && name.ends_with(".tmp") {
            store
                .delete(&meta.location)
                .await
                .map_err(|e| write_error(model, e.to_string()))?;
        }
    }
    Ok(())
}

fn write_error(model: &Model, message: String) -> Error {
    Error::Write {
        model: model.name.clone(),
        message,
    }
}

/// `provider` restricted to the months `from..=to` by its `period` column (text `2024-03`
/// in warehouse tables, a date in partitioned models), so that a scan reads those months'
/// files only.
fn months_of(
    ctx: &SessionContext,
    model: &Model,
    provider: Arc<dyn datafusion::catalog::TableProvider>,
    from: YearMonth,
    to: YearMonth,
) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    let bound = |month: YearMonth| match provider
        .schema()
        .field_with_name(PERIOD)
        .map(|f| f.data_type().clone())
    {
        Ok(DataType::Date32) => lit(ScalarValue::Date32(Some(
            (month.first_day() - chrono::NaiveDate::default()).num_days() as i32,
        ))),
        _ => lit(month.to_string()),
    };
    let (low, high) = (bound(from), bound(to));
    let df = ctx
        .read_table(Arc::clone(&provider))
        .and_then(|df| df.filter(col(PERIOD).between(low, high)))
        .map_err(|e| execution_error(model, e))?;
    Ok(df.into_view())
}

/// Builds one month of `model` in a session of its own that sees the month-read inputs
/// restricted to the partition's window, and writes it to its place under `folder`.
async fn build_partition(
    project: &Project,
    ctx: &SessionContext,
    model: &Model,
    folder: &Url,
    month: YearMonth,
    print: &PartitionPrint,
) -> Result<u64> {
    let failed = |e| execution_error(model, e);
    let part = SessionContext::new_with_config_rt(ctx.copied_config(), ctx.runtime_env());
    part.catalog("datafusion")
        .ok_or_else(|| write_error(model, "the session has no default catalog".into()))?
        .register_schema("reference", Arc::new(MemorySchemaProvider::new()))
        .map_err(failed)?;
    let [before, after] = model.window();
    let (from, to) = (
        month.add_months(i64::from(before)).unwrap_or(month),
        month.add_months(i64::from(after)).unwrap_or(month),
    );
    for input in model.sources.iter().chain(&model.depends_on) {
        let provider = ctx.table_provider(input.as_str()).await.map_err(failed)?;
        let by_month = model.config.period_inputs.contains(input)
            || project.models.get(input).is_some_and(Model::partitioned);
        let provider = if by_month {
            months_of(&part, model, provider, from, to)?
        } else {
            provider
        };
        part.register_table(input.as_str(), provider)
            .map_err(failed)?;
    }
    let df = part.sql(&model.sql).await.map_err(failed)?;
    match df.schema().fields().first() {
        Some(f) if f.name() == PERIOD && f.data_type() == &DataType::Date32 => {}
        _ => {
            return Err(Error::Config {
                file: model.file.clone(),
                line: 1,
                message: "a model partitioned by period returns a DATE column period first".into(),
            });
        }
    }
    let day = (month.first_day() - chrono::NaiveDate::default()).num_days() as i32;
    let df = df
        .filter(col(PERIOD).eq(lit(ScalarValue::Date32(Some(day)))))
        .and_then(|df| df.drop_columns(&[PERIOD]))
        .map_err(failed)?;
    if failing_write(month) {
        return Err(write_error(
            model,
            format!("{month}: write failed (failpoint)"),
        ));
    }
    let url = folder
        .join(&partition_file(month))
        .map_err(|e| write_error(model, e.to_string()))?;
    let tmp = folder
        .join(&format!(".{month}.{}.tmp", unique_suffix()))
        .map_err(|e| write_error(model, e.to_string()))?;
    let metadata = vec![
        KeyValue::new(
            crate::partition::PARTITION_KEY.to_string(),
            month.to_string(),
        ),
        KeyValue::new(
            crate::freshness::FINGERPRINT_KEY.to_string(),
            print.fingerprint.clone(),
        ),
        KeyValue::new(
            crate::partition::INPUTS_KEY.to_string(),
            print.inputs_text(),
        ),
    ];
    write_file(ctx, model, df, &url, &tmp, metadata).await
}

/// One round of a fixpoint model: its table and, in a warehouse, the file that holds it.
struct Round {
    table: Arc<dyn datafusion::catalog::TableProvider>,
    file: Option<Url>,
}

/// Runs `sql` and keeps its result as a round: in memory, or in a Parquet file beside the
/// model's when building into a warehouse.
async fn materialize_round(
    ctx: &SessionContext,
    model: &Model,
    sql: &str,
    root: Option<&Url>,
    number: usize,
) -> Result<Round> {
    let failed = |e| execution_error(model, e);
    let df = ctx.sql(sql).await.map_err(failed)?;
    let Some(root) = root else {
        let planned = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.map_err(failed)?;
        let schema = batches.first().map(|b| b.schema()).unwrap_or(planned);
        let table = MemTable::try_new(schema, vec![batches]).map_err(failed)?;
        return Ok(Round {
            table: Arc::new(table),
            file: None,
        });
    };
    let name = format!(
        "{}/.{}.round-{number}.{}",
        folder(model),
        model.name,
        unique_suffix()
    );
    let join = |suffix: &str| {
        root.join(&format!("{name}{suffix}"))
            .map_err(|e| write_error(model, e.to_string()))
    };
    let (url, tmp) = (join(".parquet")?, join(".tmp")?);
    write_file(ctx, model, df, &url, &tmp, Vec::new()).await?;
    let table = ctx
        .read_parquet(url.as_str(), ParquetReadOptions::default())
        .await
        .map_err(failed)?
        .into_view();
    Ok(Round {
        table,
        file: Some(url),
    })
}

/// Whether two rounds hold the same rows (a fixpoint model's rows are unique).
async fn same_rows(ctx: &SessionContext, model: &Model, a: &Round, b: &Round) -> Result<bool> {
    let failed = |e| execution_error(model, e);
    let (left, right) = ("__fixpoint_before", "__fixpoint_after");
    let scratch = SessionContext::new_with_config_rt(ctx.copied_config(), ctx.runtime_env());
    scratch
        .register_table(left, Arc::clone(&a.table))
        .map_err(failed)?;
    scratch
        .register_table(right, Arc::clone(&b.table))
        .map_err(failed)?;
    let before = count_rows(&scratch, &format!("SELECT * FROM {left}"))
        .await
        .map_err(failed)?;
    let after = count_rows(&scratch, &format!("SELECT * FROM {right}"))
        .await
        .map_err(failed)?;
    if before != after {
        return Ok(false);
    }
    let new = count_rows(
        &scratch,
        &format!("SELECT * FROM {right} EXCEPT SELECT * FROM {left}"),
    )
    .await
    .map_err(failed)?;
    Ok(new == 0)
}

async fn delete_round(ctx: &SessionContext, model: &Model, round: &Round) {
    if let Some(url) = &round.file
        && let (Ok(store), Ok(path)) = (warehouse_store(ctx, model, url), store_path(model, url))
    {
        let _ = store.delete(&path).await;
    }
}

/// Builds a model that reads itself (`fixpoint_seed`): the seed is the first round; each
/// round runs the model's SQL with its name bound to the round before, until a round returns
/// the same rows as the one before. The last round is the model: written to its Parquet file
/// with `fingerprint` into a warehouse (`root`), kept in memory otherwise. Returns its rows.
async fn build_fixpoint(
    ctx: &SessionContext,
    model: &Model,
    root: Option<&Url>,
    fingerprint: Option<&str>,
) -> Result<u64> {
    let seed = model.config.fixpoint_seed.as_deref().unwrap_or_default();
    let mut previous = materialize_round(ctx, model, seed, root, 0).await?;
    let mut rounds = 0;
    loop {
        replace_table(ctx, model, Arc::clone(&previous.table))?;
        rounds += 1;
        let next = materialize_round(ctx, model, &model.sql, root, rounds).await;
        let next = match next {
            Ok(next) => next,
            Err(e) => {
                delete_round(ctx, model, &previous).await;
                return Err(e);
            }
        };
        let same = same_rows(ctx, model, &previous, &next).await;
        delete_round(ctx, model, &previous).await;
        previous = next;
        match same {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                delete_round(ctx, model, &previous).await;
                return Err(e);
            }
        }
    }
    tracing::info!(model = %model.name, rounds, "fixpoint reached");
    replace_table(ctx, model, Arc::clone(&previous.table))?;
    let Some(root) = root else {
        return count_rows(ctx, &format!("SELECT * FROM {}", model.name))
            .await
            .map_err(|e| execution_error(model, e));
    };
    let written = write_mart_from(
        ctx,
        model,
        root,
        fingerprint,
        format!("SELECT * FROM {}", model.name),
    )
    .await;
    delete_round(ctx, model, &previous).await;
    written
}

/// Failpoints of partition writes: `models.fail_partition_write@YYYY-MM` fails every write
/// of that month, `models.fail_first_partition_write` the first write of the process.
fn failing_write(month: YearMonth) -> bool {
    static FAILED_ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    ansinh_core::failpoint(&format!("models.fail_partition_write@{month}"))
        || (ansinh_core::failpoint("models.fail_first_partition_write")
            && !FAILED_ONCE.swap(true, std::sync::atomic::Ordering::SeqCst))
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// Registers a partitioned model as the hive-partitioned dataset of its partitions, `period`
/// first; as a view when it has none yet.
async fn register_partitions(ctx: &SessionContext, model: &Model, root: &Url) -> Result<()> {
    let folder = folder_url(root, model)?;
    let store = warehouse_store(ctx, model, &folder)?;
    if recorded(&store, root, model).await?.is_empty() {
        return register_view(ctx, model).await;
    }
    let options = ParquetReadOptions::default()
        .table_partition_cols(vec![(PERIOD.to_string(), DataType::Date32)]);
    let df = ctx
        .read_parquet(folder.as_str(), options)
        .await
        .map_err(|e| execution_error(model, e))?;
    let mut columns = vec![PERIOD.to_string()];
    columns.extend(
        df.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| n != PERIOD),
    );
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let df = df
        .select_columns(&names)
        .map_err(|e| execution_error(model, e))?;
    replace_table(ctx, model, df.into_view())
}

async fn register_existing_mart(
    ctx: &SessionContext,
    model: &Model,
    target: &Target,
) -> Result<()> {
    if let Target::Warehouse { root } = target {
        if model.partitioned() {
            return register_partitions(ctx, model, root).await;
        }
        let url = model_url(root, model)?;
        let store = warehouse_store(ctx, model, &url)?;
        if store.head(&store_path(model, &url)?).await.is_ok() {
            return register_file(ctx, model, &url).await;
        }
    }
    register_view(ctx, model).await
}

/// Registers every model for queries: staging models as views, marts from their Parquet files
/// (as views when not built yet).
pub async fn register_marts(project: &Project, ctx: &SessionContext, root: &Url) -> Result<()> {
    let target = Target::Warehouse { root: root.clone() };
    for name in order(project)? {
        let model = &project.models[&name];
        match model.materialization {
            Materialization::View => register_view(ctx, model).await?,
            Materialization::Parquet => register_existing_mart(ctx, model, &target).await?,
        }
    }
    Ok(())
}

/// Registers every model as a view computed from the tables registered in `ctx` (for queries
/// over a past state of the tables, where the mart files would not match).
pub async fn register_views(project: &Project, ctx: &SessionContext) -> Result<()> {
    for name in order(project)? {
        register_view(ctx, &project.models[&name]).await?;
    }
    Ok(())
}

pub(crate) fn object_store_url(url: &Url) -> Result<ObjectStoreUrl> {
    let base = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    ObjectStoreUrl::parse(base).map_err(|e| Error::Write {
        model: url.to_string(),
        message: e.to_string(),
    })
}

/// Writes the model's result to `<root>/marts/<name>.parquet`, with its fingerprint.
async fn write_mart(
    ctx: &SessionContext,
    model: &Model,
    root: &Url,
    fingerprint: Option<&str>,
) -> Result<u64> {
    write_mart_from(ctx, model, root, fingerprint, model.sql.clone()).await
}

/// [`write_mart`] of the rows of `sql`.
async fn write_mart_from(
    ctx: &SessionContext,
    model: &Model,
    root: &Url,
    fingerprint: Option<&str>,
    sql: String,
) -> Result<u64> {
    let df = ctx.sql(&sql).await.map_err(|e| execution_error(model, e))?;
    let mut metadata = Vec::new();
    if let Some(fingerprint) = fingerprint {
        metadata.push(KeyValue::new(
            crate::freshness::FINGERPRINT_KEY.to_string(),
            fingerprint.to_string(),
        ));
    }
    let url = model_url(root, model)?;
    let tmp = root
        .join(&format!(
            "{}/.{}.{}.tmp",
            folder(model),
            model.name,
            unique_suffix()
        ))
        .map_err(|e| write_error(model, e.to_string()))?;
    let rows = write_file(ctx, model, df, &url, &tmp, metadata).await?;
    register_file(ctx, model, &url).await?;
    Ok(rows)
}

/// Writes `df` to `url`: to `tmp` first, then renamed into place, so readers never see a
/// half-written file. Column descriptions go into the Parquet key-value metadata
/// (`ansinh.column.<name>`) and the Arrow field metadata, beside the model's name, its build
/// time and `metadata`.
async fn write_file(
    ctx: &SessionContext,
    model: &Model,
    df: datafusion::dataframe::DataFrame,
    url: &Url,
    tmp: &Url,
    metadata: Vec<KeyValue>,
) -> Result<u64> {
    let write_error = |message: String| write_error(model, message);
    // Marts are an interface: strings are plain UTF-8 whatever the engine used inside.
    let described: Vec<Field> =
        df.schema()
            .as_arrow()
            .fields()
            .iter()
            .map(|f| {
                let data_type = match f.data_type() {
                    DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                    DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
                    other => other.clone(),
                };
                let field = Field::new(f.name(), data_type, f.is_nullable());
                match model.config.columns.get(f.name()) {
                    Some(text) => field
                        .with_metadata(HashMap::from([("description".to_string(), text.clone())])),
                    None => field,
                }
            })
            .collect();
    let schema = Arc::new(Schema::new(described));
    let mut kv = vec![
        KeyValue::new("ansinh.model".to_string(), model.name.clone()),
        KeyValue::new(
            crate::freshness::BUILT_AT_KEY.to_string(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
    ];
    kv.extend(metadata);
    if let Some(description) = &model.config.description {
        kv.push(KeyValue::new(
            "ansinh.description".to_string(),
            description.clone(),
        ));
    }
    for (column, text) in &model.config.columns {
        kv.push(KeyValue::new(
            format!("ansinh.column.{column}"),
            text.clone(),
        ));
    }
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_key_value_metadata(Some(kv))
        .build();

    let store = warehouse_store(ctx, model, url)?;
    let final_path = store_path(model, url)?;
    let tmp_path = store_path(model, tmp)?;
    let mut stream = df
        .execute_stream()
        .await
        .map_err(|e| execution_error(model, e))?;
    let mut writer = AsyncArrowWriter::try_new(
        BufWriter::new(Arc::clone(&store), tmp_path.clone()),
        Arc::clone(&schema),
        Some(props),
    )
    .map_err(|e| write_error(e.to_string()))?;
    let mut rows = 0u64;
    let result: Result<()> = async {
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| execution_error(model, e))?;
            let columns = batch
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(column, field)| arrow::compute::cast(column, field.data_type()))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| write_error(e.to_string()))?;
            let batch = RecordBatch::try_new(Arc::clone(&schema), columns)
                .map_err(|e| write_error(e.to_string()))?;
            rows += batch.num_rows() as u64;
            writer
                .write(&batch)
                .await
                .map_err(|e| write_error(e.to_string()))?;
        }
        writer
            .close()
            .await
            .map_err(|e| write_error(e.to_string()))?;
        if model.partitioned() && ansinh_core::failpoint("models.abort_partition_before_rename") {
            // A process killed with the file written and not yet in place.
            std::process::abort();
        }
        store
            .rename(&tmp_path, &final_path)
            .await
            .map_err(|e| write_error(e.to_string()))?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        let _ = store.delete(&tmp_path).await;
        return Err(e);
    }
    Ok(rows)
}

/// Makes the model's Parquet file the table its name refers to.
async fn register_file(ctx: &SessionContext, model: &Model, url: &Url) -> Result<()> {
    ctx.deregister_table(model.name.as_str())
        .map_err(|e| execution_error(model, e))?;
    ctx.register_parquet(
        model.name.as_str(),
        url.as_str(),
        ParquetReadOptions::default(),
    )
    .await
    .map_err(|e| execution_error(model, e))?;
    Ok(())
}

async fn count_rows(
    ctx: &SessionContext,
    sql: &str,
) -> std::result::Result<u64, datafusion::error::DataFusionError> {
    let batches = ctx
        .sql(&format!("SELECT COUNT(*) FROM ({sql}\n)"))
        .await?
        .collect()
        .await?;
    let n = batches
        .first()
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .map(|a| a.value(0))
        })
        .unwrap_or(0);
    Ok(n as u64)
}

/// Runs the declarative tests of the `selected` models and the singular tests that read any
/// of them. The models must be registered in `ctx` (by [`build`] or [`register_marts`]).
pub async fn run_tests(
    project: &Project,
    ctx: &SessionContext,
    selected: &BTreeSet<String>,
) -> Result<TestReport> {
    let mut report = TestReport::default();
    for name in order(project)? {
        if !selected.contains(&name) {
            continue;
        }
        let model = &project.models[&name];
        for test in &model.config.tests {
            let sql = test.failing_rows_sql(&name);
            let failures = count_rows(ctx, &sql)
                .await
                .map_err(|e| execution_error(model, e))?;
            report.tests.push(TestOutcome {
                model: name.clone(),
                test: test.name(),
                failures,
                sql,
            });
        }
    }
    for test in &project.tests {
        let all = selected.len() == project.models.len();
        if !all && test.depends_on.is_disjoint(selected) {
            continue;
        }
        let as_model = Model {
            name: format!("tests/{}", test.name),
            file: test.file.clone(),
            layer: crate::Layer::Tests,
            sql: test.sql.clone(),
            config: Default::default(),
            materialization: Materialization::View,
            depends_on: test.depends_on.clone(),
            sources: Default::default(),
        };
        let failures = count_rows(ctx, test.sql.trim().trim_end_matches(';'))
            .await
            .map_err(|e| execution_error(&as_model, e))?;
        report.tests.push(TestOutcome {
            model: as_model.name.clone(),
            test: "singular".into(),
            failures,
            sql: test.sql.clone(),
        });
    }
    Ok(report)
}
