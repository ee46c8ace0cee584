//! SQL golden tests of the models: `tests/slt/*.slt`, run by the `sqllogictest` crate, one
//! isolated session per file.
//!
//! Every warehouse table starts empty; fixtures insert rows; `statement ok` with the body
//! `BUILD MODELS` builds every model of `sql/` into memory. Column types are checked: `B`
//! boolean, `D` date, `I` integer, `R` floating point (rounded to 10 decimals), `T` text, `P`
//! timestamp, `?` anything else; `NULL` is a null, `(empty)` an empty string.
//! `ANSINH_SLT_COMPLETE=1 cargo test --workspace sql_golden_files` rewrites the expected
//! results (and types) from what the models return.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ansinh_models::{Project, Target, build, select};
use ansinh_warehouse::{Warehouse, table_specs};
use arrow::array::{Array, RecordBatch};
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use sqllogictest::{ColumnType, DBOutput};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The column types of the golden files.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SltType {
    Boolean,
    Date,
    Integer,
    Real,
    Text,
    Timestamp,
    Other,
}

impl ColumnType for SltType {
    fn from_char(value: char) -> Option<Self> {
        Some(match value {
            'B' => Self::Boolean,
            'D' => Self::Date,
            'I' => Self::Integer,
            'R' => Self::Real,
            'T' => Self::Text,
            'P' => Self::Timestamp,
            '?' => Self::Other,
            _ => return None,
        })
    }

    fn to_char(&self) -> char {
        match self {
            Self::Boolean => 'B',
            Self::Date => 'D',
            Self::Integer => 'I',
            Self::Real => 'R',
            Self::Text => 'T',
            Self::Timestamp => 'P',
            Self::Other => '?',
        }
    }
}

impl SltType {
    fn of(data_type: &DataType) -> Self {
        match data_type {
            DataType::Boolean => Self::Boolean,
            DataType::Date32 | DataType::Date64 => Self::Date,
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => Self::Integer,
            DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(..) => Self::Real,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Self::Text,
            DataType::Timestamp(..) => Self::Timestamp,
            DataType::Dictionary(_, value) => Self::of(value),
            _ => Self::Other,
        }
    }
}

/// What a statement or query of a golden file failed with.
#[derive(Debug)]
struct SltError(String);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SltError {}

/// One golden file's database: a session over empty tables and the project's models.
struct ModelsDb {
    ctx: SessionContext,
    project: Project,
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for ModelsDb {
    type Error = SltError;
    type ColumnType = SltType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<SltType>, SltError> {
        let error = |e: &dyn std::fmt::Display| SltError(e.to_string());
        if sql.trim() == "BUILD MODELS" {
            let all = select(&self.project, "").map_err(|e| error(&e))?;
            build(&self.project, &self.ctx, &all, &Target::Memory)
                .await
                .map_err(|e| error(&e))?;
            return Ok(DBOutput::StatementComplete(0));
        }
        let frame = self.ctx.sql(sql).await.map_err(|e| error(&e))?;
        let types = frame
            .schema()
            .fields()
            .iter()
            .map(|f| SltType::of(f.data_type()))
            .collect();
        let batches = frame.collect().await.map_err(|e| error(&e))?;
        Ok(DBOutput::Rows {
            types,
            rows: render(&batches),
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "ansinh"
    }

    async fn sleep(duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

fn render(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for batch in batches {
        let cells: Vec<Vec<String>> = batch
            .columns()
            .iter()
            .map(|column| {
                let formatter = ArrayFormatter::try_new(column.as_ref(), &options).unwrap();
                (0..column.len())
                    .map(|r| {
                        if column.is_null(r) {
                            return "NULL".to_string();
                        }
                        match column.data_type() {
                            DataType::Float32 | DataType::Float64 => {
                                let v: f64 = formatter.value(r).to_string().parse().unwrap();
                                let rounded = (v * 1e10).round() / 1e10;
                                let text = format!("{rounded:.10}");
                                let text = text.trim_end_matches('0').trim_end_matches('.');
                                if text == "-0" {
                                    "0".to_string()
                                } else {
                                    text.to_string()
                                }
                            }
                            _ => {
                                let text = formatter.value(r).to_string();
                                if text.is_empty() {
                                    "(empty)".to_string()
                                } else {
                                    text
                                }
                            }
                        }
                    })
                    .collect()
            })
            .collect();
        for r in 0..batch.num_rows() {
            out.push(cells.iter().map(|c| c[r].clone()).collect());
        }
    }
    out
}

fn session() -> SessionContext {
    let ctx = SessionContext::new();
    let reference = Arc::new(MemorySchemaProvider::new());
    ctx.catalog("datafusion")
        .unwrap()
        .register_schema("reference", reference.clone())
        .unwrap();
    for spec in table_specs() {
        let table = Arc::new(MemTable::try_new((spec.schema)(), vec![vec![]]).unwrap());
        match spec.name.strip_prefix("reference/") {
            Some(name) => {
                reference.register_table(name.to_string(), table).unwrap();
            }
            None => {
                ctx.register_table(spec.name, table).unwrap();
            }
        }
    }
    ctx
}

fn slt_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("tests/slt"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    files
}

async fn open() -> Result<ModelsDb, SltError> {
    let project = Project::load(&Path::new(ROOT).join("sql"), &Warehouse::table_names())
        .map_err(|e| SltError(e.to_string()))?;
    Ok(ModelsDb {
        ctx: session(),
        project,
    })
}

#[test]
fn sql_golden_files() {
    let complete = std::env::var_os("ANSINH_SLT_COMPLETE").is_some();
    let runtime = crate::common::runtime();
    let files = slt_files();
    assert!(files.len() >= 6, "golden files missing: {files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let mut runner = sqllogictest::Runner::new(open);
        runner.with_column_validator(sqllogictest::strict_column_validator);
        let result = if complete {
            runtime
                .block_on(runner.update_test_file(
                    file,
                    " ",
                    sqllogictest::default_validator,
                    sqllogictest::default_normalizer,
                    sqllogictest::strict_column_validator,
                ))
                .map_err(|e| e.to_string())
        } else {
            runtime
                .block_on(runner.run_file_async(file))
                .map_err(|e| e.display(false).to_string())
        };
        if let Err(e) = result {
            failures.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
