//! Reference tables (`reference.geography`, `.population`, `.labor_force`, `.targets`,
//! `.offices`, `.office_areas`, `.commune_crosswalk`) loaded from the UTF-8 CSVs of the
//! reference directory. Every file is read and checked before any table is written, so bad
//! reference data loads nothing; a table is rewritten only when its file changed.
//!
//! Without `offices.csv` and `office_areas.csv` the registry is that of version 1 (each
//! district office is its district) and is loaded as derived from `geography.csv`; without
//! `commune_crosswalk.csv` the crosswalk is empty. A `population`, `labor_force` or `targets`
//! file without a `boundary` column is on the boundary `before_2025_07`.

use std::path::Path;
use std::sync::Arc;

use ansinh_core::schema;
use ansinh_extract::Geography;
use arrow::array::{ArrayRef, PrimitiveBuilder, RecordBatch, StringBuilder};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Float64Type, Int32Type, Int64Type, SchemaRef,
};
use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::history::{LoadHistory, LoadRecord, Outcome, to_batch};
use crate::{Warehouse, WriteMode, table_spec, tables};

/// A function returning a table's schema.
pub type SchemaFn = fn() -> SchemaRef;

/// The reference files and their schemas.
pub const REFERENCE_FILES: [(&str, SchemaFn); 7] = [
    ("geography", schema::reference_geography),
    ("population", schema::reference_population),
    ("labor_force", schema::reference_labor_force),
    ("targets", schema::reference_targets),
    ("offices", schema::reference_offices),
    ("office_areas", schema::reference_office_areas),
    ("commune_crosswalk", schema::reference_commune_crosswalk),
];

/// The tables derived from `geography.csv` when their file is absent.
const DERIVED: [&str; 3] = ["offices", "office_areas", "commune_crosswalk"];

/// The boundaries a denominator or target is on.
pub const BOUNDARIES: [&str; 2] = ["before_2025_07", "from_2025_07"];

/// The boundary of a row whose file has no `boundary` column.
const DEFAULT_BOUNDARY: &str = "before_2025_07";

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
    let geography = Geography::load_dir(dir)?;
    let mut prepared = Vec::new();
    for (name, schema_fn) in REFERENCE_FILES {
        let path = dir.join(format!("{name}.csv"));
        let (content, file) = match std::fs::read(&path) {
            Ok(content) => (content, format!("reference/{name}.csv")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && DERIVED.contains(&name) => {
                let text = geography
                    .offices()
                    .csv(name)
                    .ok_or_else(|| Error::Bug(format!("no derived form of {name}")))?;
                (text.into_bytes(), format!("reference/{name}.csv (derived)"))
            }
            Err(source) => {
                return Err(Error::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let batch = read_csv(&content, schema_fn(), &path.display().to_string())?;
        prepared.push((name, file, content, batch));
    }
    let mut reports = Vec::new();
    for (name, file, content, batch) in prepared {
        use sha2::Digest;
        let sha256 = hex::encode(sha2::Sha256::digest(&content));
        let bytes = content.len() as i64;
        let rows = batch.num_rows() as u64;
        let spec = table_spec(&format!("reference/{name}"))?;
        let previous = history.current_named(REFERENCE_KIND, name).cloned();
        // A table stored before its schema gained a column is written again.
        let expected: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let stored = warehouse.stored_columns(spec.name).await?;
        if previous.as_ref().is_some_and(|p| p.sha256 == sha256)
            && stored.as_ref() == Some(&expected)
        {
            reports.push(ReferenceReport {
                table: name.into(),
                outcome: Outcome::Unchanged,
                rows,
            });
            continue;
        }
        let metadata = vec![
            (
                "ansinh.operation".to_string(),
                serde_json::json!("reference"),
            ),
            ("ansinh.sha256".to_string(), serde_json::json!(sha256)),
        ];
        let version = warehouse
            .write(&spec, vec![batch], WriteMode::Overwrite, metadata)
            .await?;
        let outcome = if previous.is_some() {
            Outcome::Restated
        } else {
            Outcome::Loaded
        };
        let record = LoadRecord {
            file,
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

/// Reads a reference CSV into one batch of `schema`, by header name: a column of the schema
/// that is nullable (or `boundary`) may be absent, any other must be there, and no other is
/// allowed. Errors name the file, the line and the column.
pub fn read_csv(content: &[u8], schema: SchemaRef, file: &str) -> Result<RecordBatch> {
    let bad = |line: u64, message: String| {
        Error::Reference(ansinh_extract::Error::Reference {
            file: file.to_string(),
            line,
            message,
        })
    };
    let content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
    let mut reader = csv::ReaderBuilder::new().from_reader(content);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(1, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut positions = Vec::new();
    for field in schema.fields() {
        let position = header.iter().position(|h| h == field.name());
        if position.is_none() && !field.is_nullable() && field.name() != "boundary" {
            return Err(bad(
                1,
                format!(
                    "missing column {}; expected {}",
                    field.name(),
                    names.join(",")
                ),
            ));
        }
        positions.push(position);
    }
    if let Some(unknown) = header.iter().find(|h| !names.contains(&h.as_str())) {
        return Err(bad(
            1,
            format!("unknown column {unknown:?}; expected {}", names.join(",")),
        ));
    }
    let mut records = Vec::new();
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(line, e.to_string())
        })?;
        lines.push(record.position().map_or(0, |p| p.line()));
        records.push(record);
    }
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, position) in schema.fields().iter().zip(&positions) {
        let name = field.name().as_str();
        let cell = |i: usize| -> &str {
            position
                .and_then(|p| records[i].get(p))
                .unwrap_or("")
                .trim()
        };
        let missing = |i: usize| bad(lines[i], format!("{name}: missing value"));
        let invalid =
            |i: usize, what: &str| bad(lines[i], format!("{name}: not {what}: {:?}", cell(i)));
        let n = records.len();
        let array: ArrayRef = match field.data_type() {
            DataType::Utf8 => {
                let mut b = StringBuilder::with_capacity(n, n * 8);
                for i in 0..n {
                    let text = cell(i);
                    match (text.is_empty(), name) {
                        (true, "boundary") => b.append_value(DEFAULT_BOUNDARY),
                        (true, _) if field.is_nullable() => b.append_null(),
                        (true, _) => return Err(missing(i)),
                        (false, "boundary") if !BOUNDARIES.contains(&text) => {
                            return Err(invalid(i, "before_2025_07 or from_2025_07"));
                        }
                        (false, _) => b.append_value(ansinh_extract::nfc(text)),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Int32 => primitive::<Int32Type>(
                n,
                field.is_nullable(),
                &cell,
                |t| t.parse().ok(),
                &missing,
                &|i| invalid(i, "a whole number"),
            )?,
            DataType::Int64 => primitive::<Int64Type>(
                n,
                field.is_nullable(),
                &cell,
                |t| t.parse().ok(),
                &missing,
                &|i| invalid(i, "a whole number"),
            )?,
            DataType::Float64 => primitive::<Float64Type>(
                n,
                field.is_nullable(),
                &cell,
                |t| t.parse::<f64>().ok().filter(|v| v.is_finite()),
                &missing,
                &|i| invalid(i, "a number"),
            )?,
            DataType::Date32 => primitive::<Date32Type>(
                n,
                field.is_nullable(),
                &cell,
                |t| {
                    NaiveDate::parse_from_str(t, "%Y-%m-%d")
                        .ok()
                        .map(Date32Type::from_naive_date)
                },
                &missing,
                &|i| invalid(i, "a YYYY-MM-DD date"),
            )?,
            other => {
                return Err(Error::Bug(format!(
                    "reference column {name} of type {other}"
                )));
            }
        };
        columns.push(array);
    }
    // A target is a rate or a number of persons.
    if let (Ok(rate), Ok(persons)) = (
        schema.index_of("target_rate"),
        schema.index_of("target_persons"),
    ) && let Some(i) =
        (0..records.len()).find(|&i| columns[rate].is_null(i) && columns[persons].is_null(i))
    {
        return Err(bad(
            lines[i],
            "target_rate or target_persons: one of them is needed".into(),
        ));
    }
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// A column of `n` cells parsed by `parse`: an empty cell is null where the column allows it.
fn primitive<'c, T: ArrowPrimitiveType>(
    n: usize,
    nullable: bool,
    cell: &dyn Fn(usize) -> &'c str,
    parse: impl Fn(&str) -> Option<T::Native>,
    missing: &dyn Fn(usize) -> Error,
    invalid: &dyn Fn(usize) -> Error,
) -> Result<ArrayRef> {
    let mut b = PrimitiveBuilder::<T>::with_capacity(n);
    for i in 0..n {
        match cell(i) {
            "" if nullable => b.append_null(),
            "" => return Err(missing(i)),
            t => b.append_value(parse(t).ok_or_else(|| invalid(i))?),
        }
    }
    Ok(Arc::new(b.finish()))
}
