//! SQL golden tests of the models: `tests/slt/*.slt`, one isolated session per file.
//!
//! The files use the sqllogictest record forms `statement ok`, `statement error <text>` and
//! `query <types> [rowsort]` followed by `----` and the expected rows (values separated by
//! single spaces, `NULL` for nulls, floats rounded to 10 decimals). Every warehouse table
//! starts empty; fixtures insert rows; `statement ok` with the body `BUILD MODELS` builds every
//! model of `sql/` into memory. `ANSINH_SLT_COMPLETE=1` rewrites the expected rows.

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

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

enum Record {
    Statement {
        sql: String,
        error: Option<String>,
        line: usize,
    },
    Query {
        sql: String,
        types: String,
        rowsort: bool,
        expected: Vec<String>,
        line: usize,
    },
    Text(String),
}

fn parse(text: &str) -> Vec<Record> {
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let start = i + 1;
        if let Some(rest) = line.strip_prefix("statement ") {
            let error = rest.strip_prefix("error").map(|e| e.trim().to_string());
            i += 1;
            let mut sql = Vec::new();
            while i < lines.len() && !lines[i].trim().is_empty() {
                sql.push(lines[i]);
                i += 1;
            }
            records.push(Record::Statement {
                sql: sql.join("\n"),
                error,
                line: start,
            });
        } else if let Some(rest) = line.strip_prefix("query ") {
            let mut words = rest.split_whitespace();
            let types = words.next().unwrap_or("").to_string();
            let rowsort = words.any(|w| w == "rowsort");
            i += 1;
            let mut sql = Vec::new();
            while i < lines.len() && lines[i] != "----" {
                sql.push(lines[i]);
                i += 1;
            }
            i += 1;
            let mut expected = Vec::new();
            while i < lines.len() && !lines[i].trim().is_empty() {
                expected.push(lines[i].to_string());
                i += 1;
            }
            records.push(Record::Query {
                sql: sql.join("\n"),
                types,
                rowsort,
                expected,
                line: start,
            });
        } else {
            records.push(Record::Text(line.to_string()));
            i += 1;
        }
    }
    records
}

fn render(batches: &[RecordBatch]) -> Vec<String> {
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
            out.push(
                cells
                    .iter()
                    .map(|c| c[r].clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
    out
}

async fn session() -> SessionContext {
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

async fn run_file(path: &Path, complete: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).unwrap();
    let ctx = session().await;
    let project = Project::load(&Path::new(ROOT).join("sql"), &Warehouse::table_names())
        .map_err(|e| e.to_string())?;
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let mut rewritten = Vec::new();
    let mut failures = Vec::new();
    for record in parse(&text) {
        match record {
            Record::Text(line) => rewritten.push(line),
            Record::Statement { sql, error, line } => {
                let result = if sql.trim() == "BUILD MODELS" {
                    let all = select(&project, "").unwrap();
                    build(&project, &ctx, &all, &Target::Memory)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                } else {
                    match ctx.sql(&sql).await {
                        Ok(df) => df.collect().await.map(|_| ()).map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                };
                match (&error, result) {
                    (None, Err(e)) => {
                        failures.push(format!("{name}:{line}: statement failed: {e}"))
                    }
                    (Some(expected), Ok(())) => {
                        failures.push(format!("{name}:{line}: expected error {expected:?}"))
                    }
                    (Some(expected), Err(e)) if !e.contains(expected.as_str()) => {
                        failures.push(format!("{name}:{line}: error {e:?} lacks {expected:?}"))
                    }
                    _ => {}
                }
                let head = match &error {
                    Some(e) if e.is_empty() => "statement error".to_string(),
                    Some(e) => format!("statement error {e}"),
                    None => "statement ok".to_string(),
                };
                rewritten.push(head);
                rewritten.push(sql);
            }
            Record::Query {
                sql,
                types,
                rowsort,
                expected,
                line,
            } => {
                let actual = match ctx.sql(&sql).await {
                    Ok(df) => df
                        .collect()
                        .await
                        .map(|b| render(&b))
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                let mut actual = match actual {
                    Ok(rows) => rows,
                    Err(e) => {
                        failures.push(format!("{name}:{line}: query failed: {e}"));
                        expected.clone()
                    }
                };
                if rowsort {
                    actual.sort();
                }
                let mut wanted = expected.clone();
                if rowsort {
                    wanted.sort();
                }
                if actual != wanted && !complete {
                    failures.push(format!(
                        "{name}:{line}: query results differ\n  sql: {}\n  expected:\n    {}\n  actual:\n    {}",
                        sql.replace('\n', " "),
                        wanted.join("\n    "),
                        actual.join("\n    ")
                    ));
                }
                rewritten.push(format!(
                    "query {types}{}",
                    if rowsort { " rowsort" } else { "" }
                ));
                rewritten.push(sql);
                rewritten.push("----".into());
                rewritten.extend(if complete { actual } else { expected });
            }
        }
    }
    if complete {
        std::fs::write(path, rewritten.join("\n") + "\n").unwrap();
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
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

#[test]
fn sql_golden_files() {
    let complete = std::env::var_os("ANSINH_SLT_COMPLETE").is_some();
    let runtime = crate::common::runtime();
    let files = slt_files();
    assert!(files.len() >= 6, "golden files missing: {files:?}");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| runtime.block_on(run_file(f, complete)).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
