//! Reference tables (`reference.geography`, `.population`, `.labor_force`, `.targets`) loaded
//! from the UTF-8 CSVs of the reference directory. A table is rewritten only when its file
//! changed.

use std::fs::File;
use std::path::Path;

use ansinh_core::schema;
use arrow::csv::ReaderBuilder;
use arrow::datatypes::SchemaRef;

use crate::error::{Error, Result};
use crate::history::{LoadHistory, LoadRecord, Outcome, to_batch};
use crate::ingest::file_digest;
use crate::{Warehouse, WriteMode, table_spec, tables};

/// A function returning a table's schema.
pub type SchemaFn = fn() -> SchemaRef;

/// The reference files and their schemas.
pub const REFERENCE_FILES: [(&str, SchemaFn); 4] = [
    ("geography", schema::reference_geography),
    ("population", schema::reference_population),
    ("labor_force", schema::reference_labor_force),
    ("targets", schema::reference_targets),
];

/// `_loads.kind` of reference loads.
pub const REFERENCE_KIND: &str = "reference";

/// What happened to one reference table.
#[derive(Debug, Clone)]
pub struct ReferenceReport {
    /// Table name (without the `reference.` prefix).
    pub table: String,
    /// Loaded (first time), restated (changed) or unchanged.
    pub outcome: Outcome,
    /// Rows in the file.
    pub rows: u64,
}

/// Loads every reference CSV of `dir` whose content changed since the last load.
pub async fn load_reference(
    warehouse: &Warehouse,
    dir: &Path,
    history: &mut LoadHistory,
) -> Result<Vec<ReferenceReport>> {
    let mut reports = Vec::new();
    for (name, schema_fn) in REFERENCE_FILES {
        let path = dir.join(format!("{name}.csv"));
        let io_error = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let (sha256, bytes) = file_digest(&path).map_err(io_error)?;
        let previous = history.current_named(REFERENCE_KIND, name).cloned();
        if previous.as_ref().is_some_and(|p| p.sha256 == sha256) {
            let rows = previous.map(|p| p.rows_loaded as u64).unwrap_or(0);
            reports.push(ReferenceReport {
                table: name.into(),
                outcome: Outcome::Unchanged,
                rows,
            });
            continue;
        }
        let file = File::open(&path).map_err(io_error)?;
        let reader = ReaderBuilder::new(schema_fn())
            .with_header(true)
            .build(file)
            .map_err(|e| reference_error(&path, e))?;
        let batches = reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| reference_error(&path, e))?;
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        let spec = table_spec(&format!("reference/{name}"))?;
        let metadata = vec![
            (
                "ansinh.operation".to_string(),
                serde_json::json!("reference"),
            ),
            ("ansinh.sha256".to_string(), serde_json::json!(sha256)),
        ];
        let version = warehouse
            .write(&spec, batches, WriteMode::Overwrite, metadata)
            .await?;
        let outcome = if previous.is_some() {
            Outcome::Restated
        } else {
            Outcome::Loaded
        };
        let record = LoadRecord {
            file: format!("reference/{name}.csv"),
            sha256,
            bytes,
            kind: REFERENCE_KIND.into(),
            period: String::new(),
            office: name.into(),
            rows_read: rows as i64,
            rows_loaded: rows as i64,
            rows_rejected: 0,
            outcome,
            table_version: Some(version),
            loaded_at: history.next_timestamp(),
            message: None,
            extra_columns: None,
            etag: None,
        };
        warehouse
            .write(
                &table_spec(tables::LOADS)?,
                vec![to_batch(std::slice::from_ref(&record))?],
                WriteMode::Append,
                Vec::new(),
            )
            .await?;
        history.push(record);
        reports.push(ReferenceReport {
            table: name.into(),
            outcome,
            rows,
        });
    }
    Ok(reports)
}

fn reference_error(path: &Path, e: arrow::error::ArrowError) -> Error {
    Error::Reference(ansinh_extract::Error::Reference {
        file: path.display().to_string(),
        line: 0,
        message: e.to_string(),
    })
}
