//! Models partitioned by month.
//!
//! A model with `partition_by = "period"` is one Parquet file per month, in a hive-partitioned
//! folder: `<warehouse>/staging/<model>/period=2024-03-01/part-0.parquet` (the `period` column
//! is the folder name, not a column of the file). Each partition is built alone, from the
//! months of its inputs its window reaches, and replaced atomically: written under a temporary
//! name beside the folders, then renamed into place.
//!
//! Each partition records in its Parquet footer the fingerprint of what it was built from and
//! the inputs that fingerprint covers: the model's SQL and window, each month-read input's
//! months (a warehouse table's data files from the Delta log, an upstream partition's
//! fingerprint), each digested input's digest of the month, and the versions or fingerprints
//! of what is read whole. A build rebuilds exactly the partitions whose fingerprint changed,
//! and says which inputs changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use ansinh_core::YearMonth;
use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path as StorePath;
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::{Error, Result};
use crate::project::{Model, Project};

/// Parquet metadata key of a partition's month (`2024-03`).
pub const PARTITION_KEY: &str = "ansinh.partition";
/// Parquet metadata key of the inputs a partition's fingerprint covers, one `input=digest` per
/// line.
pub const INPUTS_KEY: &str = "ansinh.inputs";
/// The partition column.
pub const PERIOD: &str = "period";

/// What the models' inputs are now.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Version of every warehouse table written so far, by catalog name
    /// (`participants`, `reference.geography`).
    pub versions: HashMap<String, i64>,
    /// For each table some model reads by month: a digest of each month's data files.
    pub months: HashMap<String, BTreeMap<YearMonth, String>>,
    /// For each (model, digested input): the digest of each month.
    pub digests: HashMap<(String, String), BTreeMap<YearMonth, String>>,
    /// The same digests with what they were taken from, to be kept for the next build.
    pub(crate) kept: HashMap<(String, String), crate::digests::Kept>,
}

impl Inputs {
    /// Only table versions, for projects without partitioned models (and tests).
    pub fn from_versions(versions: &HashMap<String, i64>) -> Self {
        Self {
            versions: versions
                .iter()
                .map(|(k, v)| (k.replace('/', "."), *v))
                .collect(),
            ..Default::default()
        }
    }

    /// Reads the inputs of `project` from `warehouse`, whose tables are registered in `ctx`
    /// (the digest queries run there).
    pub async fn read(
        project: &Project,
        warehouse: &ansinh_warehouse::Warehouse,
        ctx: &SessionContext,
    ) -> Result<Self> {
        let mut inputs = Self::from_versions(&warehouse.versions().await?);
        let by_month: BTreeSet<&String> = project
            .models
            .values()
            .flat_map(|m| &m.config.period_inputs)
            .collect();
        for table in by_month {
            let files = warehouse.month_files(table).await?;
            let months = files
                .into_iter()
                .filter_map(|(period, digest)| Some((period.parse().ok()?, digest)))
                .collect();
            inputs.months.insert(table.clone(), months);
        }
        let root = warehouse.location().root();
        // Digest queries may hash with `digest64`, whatever session they run in.
        ctx.register_udf(crate::session::digest64());
        let mut built_models = BTreeMap::new();
        for model in project.models.values() {
            for (input, sql) in &model.config.period_digests {
                // A digested model is digested as it was last built; a model not built yet
                // has no digests, so every month depending on it is new.
                let of = if let Some(upstream) = project.models.get(input) {
                    if !built_models.contains_key(input) {
                        let built = crate::run::register_built(ctx, upstream, root).await?;
                        built_models.insert(input.clone(), built);
                    }
                    if !built_models[input] {
                        continue;
                    }
                    crate::run::recorded_fingerprint(ctx, upstream, root)
                        .await?
                        .unwrap_or_default()
                } else {
                    let version = inputs.versions.get(input).copied().unwrap_or(-1);
                    format!("version {version}")
                };
                let kept = crate::digests::take(ctx, root, &inputs, model, input, sql, of).await?;
                let key = (model.name.clone(), input.clone());
                inputs.digests.insert(key.clone(), kept.digests.clone());
                inputs.kept.insert(key, kept);
            }
        }
        Ok(inputs)
    }

    /// These inputs as they will be once `changing` tables have been written in the given
    /// months: their versions move on and those months' files are new.
    pub fn after(&self, changing: &BTreeMap<String, BTreeSet<YearMonth>>) -> Self {
        let mut next = self.clone();
        for (table, months) in changing {
            *next.versions.entry(table.replace('/', ".")).or_insert(-1) += 1;
            if let Some(known) = next.months.get_mut(table) {
                for month in months {
                    let digest = known.entry(*month).or_default();
                    digest.push_str("+pending");
                }
            }
        }
        next
    }
}

/// The month of row `i` of a `period` column: `2024-03` text, or a date.
fn month_at(column: &dyn Array, i: usize) -> Option<YearMonth> {
    let text = arrow::compute::cast(&column.slice(i, 1), &DataType::Utf8).ok()?;
    let text = text.as_string_opt::<i32>()?;
    if text.is_null(0) {
        return None;
    }
    text.value(0).get(..7)?.parse().ok()
}

pub(crate) async fn digest_query(
    ctx: &SessionContext,
    model: &Model,
    input: &str,
    sql: &str,
) -> Result<BTreeMap<YearMonth, String>> {
    let failed = |source: datafusion::error::DataFusionError| Error::Execution {
        model: format!("{} (digest of {input})", model.name),
        file: model.file.clone(),
        line: 0,
        source: Box::new(source),
    };
    let batches = ctx
        .sql(sql)
        .await
        .map_err(failed)?
        .collect()
        .await
        .map_err(failed)?;
    let mut out = BTreeMap::new();
    for batch in batches {
        let (Some(period), Some(digest)) =
            (batch.column_by_name(PERIOD), batch.column_by_name("digest"))
        else {
            return Err(Error::Config {
                file: model.file.clone(),
                line: 1,
                message: format!(
                    "the digest query of {input} must return columns period and digest"
                ),
            });
        };
        let digest = arrow::compute::cast(digest, &DataType::Utf8).map_err(|e| {
            failed(datafusion::error::DataFusionError::ArrowError(
                Box::new(e),
                None,
            ))
        })?;
        let digest = digest.as_string::<i32>();
        for i in 0..batch.num_rows() {
            if digest.is_null(i) {
                continue;
            }
            if let (Some(month), Some(value)) = (
                month_at(period.as_ref(), i),
                crate::digests::normalized(digest.value(i)),
            ) {
                out.insert(month, value);
            }
        }
    }
    Ok(out)
}

/// The fingerprint of one partition and the inputs it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionPrint {
    /// Hash of `inputs`.
    pub fingerprint: String,
    /// Each input (`sql`, `participants@2024-03`, `reference.geography`, ...) and its digest.
    pub inputs: BTreeMap<String, String>,
}

impl PartitionPrint {
    fn of(inputs: BTreeMap<String, String>) -> Self {
        let mut hasher = Sha256::new();
        for (k, v) in &inputs {
            hasher.update(format!("{k}={v}\n").as_bytes());
        }
        Self {
            fingerprint: hex::encode(&hasher.finalize()[..16]),
            inputs,
        }
    }

    /// The inputs as stored in the footer.
    pub fn inputs_text(&self) -> String {
        self.inputs
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect()
    }
}

/// The fingerprints of every model, and of every partition of the partitioned ones.
#[derive(Debug, Clone, Default)]
pub struct Fingerprints {
    /// By model.
    pub models: BTreeMap<String, String>,
    /// By partitioned model and month.
    pub partitions: BTreeMap<String, BTreeMap<YearMonth, PartitionPrint>>,
}

impl Fingerprints {
    /// The fingerprint of a model.
    pub fn get(&self, model: &str) -> Option<&String> {
        self.models.get(model)
    }
}

fn window_months(month: YearMonth, [before, after]: [i32; 2]) -> impl Iterator<Item = YearMonth> {
    (before..=after).filter_map(move |d| month.add_months(i64::from(d)))
}

/// The fingerprint of every model from `inputs`.
pub fn fingerprints(project: &Project, inputs: &Inputs) -> Result<Fingerprints> {
    let mut out = Fingerprints::default();
    for name in crate::dag::order(project)? {
        let model = &project.models[&name];
        if !model.partitioned() {
            let mut hasher = Sha256::new();
            hasher.update(model.sql.as_bytes());
            for source in &model.sources {
                let version = inputs.versions.get(source).copied().unwrap_or(-1);
                hasher.update(format!("\0table {source} {version}").as_bytes());
            }
            for upstream in &model.depends_on {
                let fp = out.get(upstream).map(String::as_str).unwrap_or("");
                hasher.update(format!("\0model {upstream} {fp}").as_bytes());
            }
            out.models
                .insert(name, hex::encode(&hasher.finalize()[..16]));
            continue;
        }
        let window = model.window();
        let partitioned_upstream: Vec<&String> = model
            .depends_on
            .iter()
            .filter(|u| project.models[*u].partitioned())
            .collect();
        let mut months: BTreeSet<YearMonth> = BTreeSet::new();
        for table in &model.config.period_inputs {
            months.extend(inputs.months.get(table).into_iter().flat_map(|m| m.keys()));
        }
        for upstream in &partitioned_upstream {
            months.extend(
                out.partitions
                    .get(*upstream)
                    .into_iter()
                    .flat_map(|m| m.keys()),
            );
        }
        let mut whole: BTreeMap<String, String> = BTreeMap::new();
        let mut sql = Sha256::new();
        sql.update(model.sql.as_bytes());
        sql.update(format!("\0window {window:?}").as_bytes());
        whole.insert("sql".into(), hex::encode(&sql.finalize()[..16]));
        for source in &model.sources {
            if !model.config.period_inputs.contains(source)
                && !model.config.period_digests.contains_key(source)
            {
                let version = inputs.versions.get(source).copied().unwrap_or(-1);
                whole.insert(source.clone(), version.to_string());
            }
        }
        for upstream in &model.depends_on {
            if !project.models[upstream].partitioned()
                && !model.config.period_digests.contains_key(upstream)
            {
                let fp = out.get(upstream).cloned().unwrap_or_default();
                whole.insert(upstream.clone(), fp);
            }
        }
        let mut prints = BTreeMap::new();
        for month in months {
            let mut covered = whole.clone();
            for m in window_months(month, window) {
                for table in &model.config.period_inputs {
                    let digest = inputs.months.get(table).and_then(|t| t.get(&m));
                    covered.insert(
                        format!("{table}@{m}"),
                        digest.cloned().unwrap_or_else(|| "none".into()),
                    );
                }
                for upstream in &partitioned_upstream {
                    let fp = out.partitions.get(*upstream).and_then(|p| p.get(&m));
                    covered.insert(
                        format!("{upstream}@{m}"),
                        fp.map(|p| p.fingerprint.clone())
                            .unwrap_or_else(|| "none".into()),
                    );
                }
                for input in model.config.period_digests.keys() {
                    let digest = inputs
                        .digests
                        .get(&(name.clone(), input.clone()))
                        .and_then(|d| d.get(&m));
                    covered.insert(
                        format!("{input}@{m}"),
                        digest.cloned().unwrap_or_else(|| "none".into()),
                    );
                }
            }
            prints.insert(month, PartitionPrint::of(covered));
        }
        let mut hasher = Sha256::new();
        for (month, print) in &prints {
            hasher.update(format!("{month} {}\n", print.fingerprint).as_bytes());
        }
        out.models
            .insert(name.clone(), hex::encode(&hasher.finalize()[..16]));
        out.partitions.insert(name, prints);
    }
    Ok(out)
}

/// What a partition's footer says it was built from.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Its fingerprint.
    pub fingerprint: Option<String>,
    /// The inputs that fingerprint covers.
    pub inputs: BTreeMap<String, String>,
    /// When it was built.
    pub built_at: Option<String>,
}

/// The folder of a partitioned model: `<root>/staging/<name>/` (or `marts/`).
pub fn folder_url(root: &Url, model: &Model) -> Result<Url> {
    root.join(&format!("{}/{}/", folder(model), model.name))
        .map_err(|e| Error::Write {
            model: model.name.clone(),
            message: e.to_string(),
        })
}

pub(crate) fn folder(model: &Model) -> &'static str {
    if model.layer == crate::Layer::Marts {
        "marts"
    } else {
        "staging"
    }
}

/// The file of one partition, relative to the model's folder.
pub fn partition_file(month: YearMonth) -> String {
    format!("{PERIOD}={}/part-0.parquet", month.first_day())
}

fn month_of_file(relative: &str) -> Option<YearMonth> {
    let (dir, file) = relative.split_once('/')?;
    let day = dir.strip_prefix(&format!("{PERIOD}="))?;
    (file == "part-0.parquet").then_some(())?;
    day.get(..7)?.parse().ok()
}

pub(crate) fn store_path(model: &Model, url: &Url) -> Result<StorePath> {
    StorePath::from_url_path(url.path()).map_err(|e| Error::Write {
        model: model.name.clone(),
        message: e.to_string(),
    })
}

/// The partitions a model has in the warehouse, with what each was built from.
pub async fn recorded(
    store: &Arc<dyn ObjectStore>,
    root: &Url,
    model: &Model,
) -> Result<BTreeMap<YearMonth, Recorded>> {
    let folder = folder_url(root, model)?;
    let prefix = store_path(model, &folder)?;
    let listed: Vec<_> =
        store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| Error::Write {
                model: model.name.clone(),
                message: e.to_string(),
            })?;
    let mut out = BTreeMap::new();
    for meta in listed {
        let relative = meta
            .location
            .as_ref()
            .strip_prefix(prefix.as_ref())
            .unwrap_or("")
            .trim_start_matches('/');
        let Some(month) = month_of_file(relative) else {
            continue;
        };
        let kv = crate::freshness::file_metadata(Arc::clone(store), meta.location.clone())
            .await
            .unwrap_or_default();
        let inputs = kv
            .get(INPUTS_KEY)
            .map(|text| {
                text.lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        out.insert(
            month,
            Recorded {
                fingerprint: kv.get(crate::freshness::FINGERPRINT_KEY).cloned(),
                inputs,
                built_at: kv.get(crate::freshness::BUILT_AT_KEY).cloned(),
            },
        );
    }
    Ok(out)
}

/// Why a partition is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// It has never been built.
    New,
    /// These inputs changed since it was built.
    Changed(Vec<String>),
    /// `--full-refresh`.
    FullRefresh,
    /// Within `--from`/`--to`.
    Requested,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::New => f.write_str("new"),
            Self::Changed(inputs) if inputs.is_empty() => f.write_str("built before fingerprints"),
            Self::Changed(inputs) => write!(f, "changed {}", inputs.join(", ")),
            Self::FullRefresh => f.write_str("full refresh"),
            Self::Requested => f.write_str("requested"),
        }
    }
}

/// Which partitions a build covers: the stale ones by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// Rebuild every partition (and every selected model), fresh or not.
    pub full_refresh: bool,
    /// Rebuild exactly the months from this one.
    pub from: Option<YearMonth>,
    /// Rebuild exactly the months up to this one.
    pub to: Option<YearMonth>,
}

impl BuildOptions {
    fn ranged(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }

    fn in_range(&self, month: YearMonth) -> bool {
        self.from.is_none_or(|f| month >= f) && self.to.is_none_or(|t| month <= t)
    }
}

/// The partitions of one model to build, and the months it no longer has.
#[derive(Debug, Clone, Default)]
pub struct PartitionPlan {
    /// Months to build, with why.
    pub build: Vec<(YearMonth, Reason)>,
    /// Months built before that no input has any more: deleted.
    pub delete: Vec<YearMonth>,
    /// Months that are fresh.
    pub fresh: usize,
}

/// Compares what a model's partitions should be built from with what they were.
pub fn plan(
    current: &BTreeMap<YearMonth, PartitionPrint>,
    recorded: &BTreeMap<YearMonth, Recorded>,
    options: &BuildOptions,
) -> PartitionPlan {
    let mut out = PartitionPlan::default();
    for (month, print) in current {
        let reason = match recorded.get(month) {
            _ if options.ranged() && !options.in_range(*month) => None,
            _ if options.ranged() => Some(Reason::Requested),
            _ if options.full_refresh => Some(Reason::FullRefresh),
            None => Some(Reason::New),
            Some(r) if r.fingerprint.as_ref() == Some(&print.fingerprint) => None,
            Some(r) => Some(Reason::Changed(
                print
                    .inputs
                    .iter()
                    .filter(|(k, v)| r.inputs.get(*k) != Some(*v))
                    .map(|(k, _)| k.clone())
                    .chain(
                        r.inputs
                            .keys()
                            .filter(|k| !print.inputs.contains_key(*k))
                            .cloned(),
                    )
                    .collect(),
            )),
        };
        match reason {
            Some(reason) => out.build.push((*month, reason)),
            None => out.fresh += 1,
        }
    }
    out.delete = recorded
        .keys()
        .filter(|m| !current.contains_key(m) && (!options.ranged() || options.in_range(**m)))
        .copied()
        .collect();
    out
}

/// The partition plan of every partitioned model in `models`, against the warehouse at `root`.
pub async fn plans(
    project: &Project,
    models: &BTreeSet<String>,
    store: &Arc<dyn ObjectStore>,
    root: &Url,
    prints: &Fingerprints,
    options: &BuildOptions,
) -> Result<BTreeMap<String, PartitionPlan>> {
    let mut out = BTreeMap::new();
    for name in models {
        let model = &project.models[name];
        if !model.partitioned() {
            continue;
        }
        let empty = BTreeMap::new();
        let current = prints.partitions.get(name).unwrap_or(&empty);
        let recorded = recorded(store, root, model).await?;
        out.insert(name.clone(), plan(current, &recorded, options));
    }
    Ok(out)
}

/// Months as runs: `2024-01..2024-06, 2024-09`.
pub fn months_text(months: impl IntoIterator<Item = YearMonth>) -> String {
    let mut sorted: Vec<YearMonth> = months.into_iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut runs: Vec<(YearMonth, YearMonth)> = Vec::new();
    for month in sorted {
        match runs.last_mut() {
            Some((_, last)) if last.add_months(1) == Some(month) => *last = month,
            _ => runs.push((month, month)),
        }
    }
    runs.iter()
        .map(|(first, last)| {
            if first == last {
                first.to_string()
            } else {
                format!("{first}..{last}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A short description of a plan: `2 of 30 months: 2024-03 (new), 2024-05 (changed ...)`.
pub fn describe(plan: &PartitionPlan) -> String {
    let total = plan.build.len() + plan.fresh;
    let mut parts: Vec<String> = plan
        .build
        .iter()
        .map(|(m, reason)| format!("{m} ({reason})"))
        .collect();
    parts.extend(
        plan.delete
            .iter()
            .map(|m| format!("{m} (deleted: no input)")),
    );
    format!(
        "{} of {total} months{}{}",
        plan.build.len(),
        if parts.is_empty() { "" } else { ": " },
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> YearMonth {
        text.parse().unwrap()
    }

    fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("staging")).unwrap();
        for (name, sql) in files {
            std::fs::write(dir.path().join(format!("staging/{name}.sql")), sql).unwrap();
        }
        let tables = ["participants", "person_links"]
            .into_iter()
            .map(String::from)
            .collect();
        let project = Project::load(dir.path(), &tables).unwrap();
        (dir, project)
    }

    fn inputs(months: &[(&str, &str)]) -> Inputs {
        let mut inputs = Inputs::from_versions(&HashMap::from([
            ("participants".to_string(), 3),
            ("person_links".to_string(), 3),
        ]));
        inputs.months.insert(
            "participants".into(),
            months.iter().map(|(k, v)| (m(k), v.to_string())).collect(),
        );
        inputs
    }

    const MONTHLY: &str = "-- partition_by = \"period\"\n-- period_inputs = [\"participants\"]\nSELECT CAST(period || '-01' AS DATE) AS period, person FROM participants\n";
    const ROLLING: &str = "-- partition_by = \"period\"\n-- period_window = [-1, 0]\nSELECT period, person FROM monthly\n";

    #[test]
    fn a_changed_month_changes_its_partition_and_those_whose_window_reaches_it() {
        let (_dir, project) = project(&[("monthly", MONTHLY), ("rolling", ROLLING)]);
        let before = fingerprints(
            &project,
            &inputs(&[("2024-01", "a"), ("2024-02", "b"), ("2024-03", "c")]),
        )
        .unwrap();
        let after = fingerprints(
            &project,
            &inputs(&[("2024-01", "a"), ("2024-02", "B"), ("2024-03", "c")]),
        )
        .unwrap();
        let changed = |model: &str| -> Vec<String> {
            before.partitions[model]
                .iter()
                .filter(|(month, p)| after.partitions[model][*month] != **p)
                .map(|(month, _)| month.to_string())
                .collect()
        };
        assert_eq!(changed("monthly"), vec!["2024-02"]);
        assert_eq!(changed("rolling"), vec!["2024-02", "2024-03"]);
        // A version of a table read by month is not part of any partition.
        let mut bumped = inputs(&[("2024-01", "a"), ("2024-02", "b"), ("2024-03", "c")]);
        bumped.versions.insert("participants".into(), 9);
        assert_eq!(
            fingerprints(&project, &bumped).unwrap().partitions,
            before.partitions
        );
    }

    #[test]
    fn a_plan_builds_new_and_changed_months_and_names_the_inputs_that_changed() {
        let (_dir, project) = project(&[("monthly", MONTHLY)]);
        let old = fingerprints(&project, &inputs(&[("2024-01", "a"), ("2024-02", "b")])).unwrap();
        let recorded: BTreeMap<YearMonth, Recorded> = old.partitions["monthly"]
            .iter()
            .map(|(month, p)| {
                (
                    *month,
                    Recorded {
                        fingerprint: Some(p.fingerprint.clone()),
                        inputs: p.inputs.clone(),
                        built_at: None,
                    },
                )
            })
            .chain([(
                m("2023-12"),
                Recorded {
                    fingerprint: None,
                    inputs: BTreeMap::new(),
                    built_at: None,
                },
            )])
            .collect();
        let new = fingerprints(
            &project,
            &inputs(&[("2024-01", "a"), ("2024-02", "B"), ("2024-03", "c")]),
        )
        .unwrap();
        let current = &new.partitions["monthly"];
        let plan = plan(current, &recorded, &BuildOptions::default());
        assert_eq!(
            plan.build,
            vec![
                (
                    m("2024-02"),
                    Reason::Changed(vec!["participants@2024-02".into()])
                ),
                (m("2024-03"), Reason::New),
            ]
        );
        assert_eq!(plan.delete, vec![m("2023-12")]);
        assert_eq!(plan.fresh, 1);
        assert_eq!(
            describe(&plan),
            "2 of 3 months: 2024-02 (changed participants@2024-02), 2024-03 (new), 2023-12 (deleted: no input)"
        );
        let ranged = BuildOptions {
            from: Some(m("2024-01")),
            to: Some(m("2024-01")),
            ..Default::default()
        };
        let plan = super::plan(current, &recorded, &ranged);
        assert_eq!(plan.build, vec![(m("2024-01"), Reason::Requested)]);
        assert!(plan.delete.is_empty());
    }

    #[test]
    fn months_read_as_runs() {
        let months = [
            "2024-03", "2024-01", "2024-02", "2024-06", "2024-12", "2025-01",
        ];
        assert_eq!(
            months_text(months.iter().map(|t| m(t))),
            "2024-01..2024-03, 2024-06, 2024-12..2025-01"
        );
    }

    #[test]
    fn partitioning_settings_are_checked_when_the_project_loads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("staging")).unwrap();
        let tables: BTreeSet<String> = ["participants".to_string()].into();
        let cases = [
            (
                "-- partition_by = \"period\"\n-- period_inputs = [\"person_links\"]\nSELECT 1 AS period FROM participants\n",
                "period_inputs names person_links",
            ),
            (
                "-- partition_by = \"period\"\nSELECT 1 AS period FROM participants\n",
                "must read a table listed in period_inputs",
            ),
            (
                "-- partition_by = \"month\"\nSELECT 1 FROM participants\n",
                "partition_by must be",
            ),
            (
                "-- partition_by = \"period\"\n-- period_window = [1, 2]\n-- period_inputs = [\"participants\"]\nSELECT 1 FROM participants\n",
                "must include the partition's own month",
            ),
        ];
        for (sql, message) in cases {
            std::fs::write(dir.path().join("staging/m.sql"), sql).unwrap();
            let err = Project::load(dir.path(), &tables).unwrap_err().to_string();
            assert!(err.contains(message), "{err}");
        }
    }
}
