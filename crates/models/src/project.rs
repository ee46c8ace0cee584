//! Discovery of models (`sql/staging/*.sql`, `sql/marts/*.sql`) and singular tests
//! (`sql/tests/*.sql`), with their settings and dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::{ModelConfig, parse_leading_block};
use crate::deps::{TableRef, references};
use crate::error::{Error, Result};

/// Where a model lives in `sql/`, and so where its Parquet file goes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::IntoStaticStr,
    strum::EnumIter,
    strum::Display,
)]
#[strum(serialize_all = "snake_case")]
pub enum Layer {
    /// `sql/staging/`: cleaned, one row per fact; written under `staging/`.
    Staging,
    /// `sql/marts/`: what analysts and BI tools read; written under `marts/`.
    Marts,
    /// `sql/tests/`: singular data tests, never materialised.
    Tests,
}

impl Layer {
    /// The folder name, in `sql/` and in the warehouse.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// How a model is materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Materialization {
    /// A view in the session, recomputed by each query that reads it.
    View,
    /// A Parquet file at `<warehouse>/marts/<name>.parquet`.
    Parquet,
}

/// One SQL model.
#[derive(Debug, Clone)]
pub struct Model {
    /// Name: the file stem; queries refer to it by this name.
    pub name: String,
    /// File, relative to the project root when possible.
    pub file: String,
    /// Layer: the folder under `sql/` (`staging` or `marts`).
    pub layer: Layer,
    /// The whole file text, comments included (so engine line numbers match the file).
    pub sql: String,
    /// Settings from the leading comment block.
    pub config: ModelConfig,
    /// Materialisation.
    pub materialization: Materialization,
    /// Models this one reads, by name.
    pub depends_on: BTreeSet<String>,
    /// Warehouse tables this one reads.
    pub sources: BTreeSet<String>,
}

impl Model {
    /// Whether the model is built one month at a time.
    pub fn partitioned(&self) -> bool {
        self.config.partition_by.is_some()
    }

    /// The months a partition reads, relative to its own.
    pub fn window(&self) -> [i32; 2] {
        self.config.period_window.unwrap_or([0, 0])
    }
}

/// A query under `sql/tests/` whose rows are failures.
#[derive(Debug, Clone)]
pub struct SingularTest {
    /// Name: the file stem.
    pub name: String,
    /// File.
    pub file: String,
    /// The query.
    pub sql: String,
    /// Models it reads.
    pub depends_on: BTreeSet<String>,
}

/// Every model and test of a `sql/` directory.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// Models by name.
    pub models: BTreeMap<String, Model>,
    /// Singular tests.
    pub tests: Vec<SingularTest>,
}

fn sql_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

impl Project {
    /// Loads `dir` (usually `sql/`). `tables` are the warehouse tables models may read, as
    /// lower-case names (`participants`, `reference.geography`).
    pub fn load(dir: &Path, tables: &BTreeSet<String>) -> Result<Self> {
        if !dir.is_dir() {
            let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
            return Err(Error::NoProject {
                dir: shown.display().to_string(),
            });
        }
        let mut raw: Vec<(String, Layer, String, PathBuf)> = Vec::new();
        for layer in [Layer::Staging, Layer::Marts] {
            for path in sql_files(&dir.join(layer.name()))? {
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_lowercase();
                raw.push((name, layer, read(&path)?, path));
            }
        }
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for (name, _, _, path) in &raw {
            let file = path.display().to_string();
            if let Some(first) = names.insert(name.clone(), file.clone()) {
                return Err(Error::Duplicate {
                    name: name.clone(),
                    first,
                    second: file,
                });
            }
        }
        let mut project = Project::default();
        for (name, layer, sql, path) in raw {
            let file = path.display().to_string();
            let (config, _) = parse_leading_block(&sql, &file)?;
            let mut refs = references(&sql, &file)?;
            if let Some(seed) = &config.fixpoint_seed {
                // A fixpoint model reads itself: that is its previous round, not a dependency.
                refs.retain(|r| r.name != name);
                refs.extend(references(seed, &file)?);
                if config.partition_by.is_some() {
                    return Err(Error::Config {
                        file,
                        line: 1,
                        message: "a fixpoint model is built whole, not partitioned by period"
                            .into(),
                    });
                }
            }
            let (depends_on, sources) = classify(&refs, &names, tables, &file)?;
            let materialization = match (config.materialized.as_deref(), layer.name()) {
                _ if config.fixpoint_seed.is_some() => Materialization::Parquet,
                (Some("parquet"), _) | (None, "marts") => Materialization::Parquet,
                (None, _) if config.partition_by.is_some() => Materialization::Parquet,
                _ => Materialization::View,
            };
            check_partitioning(
                &config,
                materialization,
                &sources,
                &depends_on,
                tables,
                &file,
            )?;
            project.models.insert(
                name.clone(),
                Model {
                    name,
                    file,
                    layer,
                    sql,
                    config,
                    materialization,
                    depends_on,
                    sources,
                },
            );
        }
        for model in project.models.values() {
            let reads_months = !model.config.period_inputs.is_empty()
                || model
                    .depends_on
                    .iter()
                    .any(|u| project.models[u].partitioned());
            if model.partitioned() && !reads_months {
                return Err(Error::Config {
                    file: model.file.clone(),
                    line: 1,
                    message: "a model partitioned by period must read a table listed in period_inputs or a partitioned model".into(),
                });
            }
        }
        for path in sql_files(&dir.join("tests"))? {
            let file = path.display().to_string();
            let sql = read(&path)?;
            let refs = references(&sql, &file)?;
            let (depends_on, _) = classify(&refs, &names, tables, &file)?;
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            project.tests.push(SingularTest {
                name,
                file,
                sql,
                depends_on,
            });
        }
        Ok(project)
    }
}

/// A partitioned model is Parquet, reads its `period_inputs` and digests inputs it reads; a
/// digest query reads warehouse tables only.
fn check_partitioning(
    config: &ModelConfig,
    materialization: Materialization,
    sources: &BTreeSet<String>,
    depends_on: &BTreeSet<String>,
    tables: &BTreeSet<String>,
    file: &str,
) -> Result<()> {
    let invalid = |message: String| Error::Config {
        file: file.into(),
        line: 1,
        message,
    };
    if config.partition_by.is_some() && materialization != Materialization::Parquet {
        return Err(invalid(
            "a model partitioned by period is materialized as parquet".into(),
        ));
    }
    for input in &config.period_inputs {
        if !sources.contains(input) {
            return Err(invalid(format!(
                "period_inputs names {input}, a table the model does not read"
            )));
        }
    }
    for (input, sql) in &config.period_digests {
        if !sources.contains(input) && !depends_on.contains(input) {
            return Err(invalid(format!(
                "period_digests names {input}, which the model does not read"
            )));
        }
        if config.period_inputs.contains(input) {
            return Err(invalid(format!(
                "{input} is in period_inputs and period_digests; it can be read by month or digested, not both"
            )));
        }
        if depends_on.contains(input) && !sql.to_ascii_lowercase().contains("bit_xor(") {
            return Err(invalid(format!(
                "the digest query of {input} must be an XOR of row hashes (bit_xor) over a join with it: it is taken again over the rows of {input} that a rebuild changed"
            )));
        }
        for r in references(sql, file)? {
            // The digest of an upstream model is taken once it is built, and may read it.
            let digested_model = depends_on.contains(input) && &r.name == input;
            if !tables.contains(&r.name) && !digested_model {
                return Err(invalid(format!(
                    "the digest query of {input} reads {}, neither a warehouse table nor {input}",
                    r.name
                )));
            }
        }
    }
    Ok(())
}

fn classify(
    refs: &[TableRef],
    models: &BTreeMap<String, String>,
    tables: &BTreeSet<String>,
    file: &str,
) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
    let (mut depends_on, mut sources) = (BTreeSet::new(), BTreeSet::new());
    for r in refs {
        if models.contains_key(&r.name) {
            depends_on.insert(r.name.clone());
        } else if tables.contains(&r.name) {
            sources.insert(r.name.clone());
        } else {
            return Err(Error::UnknownTable {
                file: file.into(),
                line: r.line,
                table: r.name.clone(),
            });
        }
    }
    Ok((depends_on, sources))
}
