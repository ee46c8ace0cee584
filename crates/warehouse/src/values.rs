//! Reading typed values out of query results, whatever string or integer encoding the engine
//! chose (Utf8, Utf8View, dictionary, Int32, ...).

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};

use crate::error::{Error, Result};

fn column(batch: &RecordBatch, name: &str, to: &DataType) -> Result<arrow::array::ArrayRef> {
    let array = batch.column_by_name(name).ok_or_else(|| {
        Error::Arrow(arrow::error::ArrowError::SchemaError(format!(
            "no column {name}"
        )))
    })?;
    Ok(cast(array, to)?)
}

/// The column `name` of every batch as optional strings.
pub fn strings(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<String>>> {
    let mut out = Vec::new();
    for batch in batches {
        let array = column(batch, name, &DataType::Utf8)?;
        let array = array.as_string::<i32>();
        out.extend((0..array.len()).map(|i| array.is_valid(i).then(|| array.value(i).to_string())));
    }
    Ok(out)
}

/// The column `name` of every batch as optional 64-bit integers (timestamps as their raw
/// value).
pub fn integers(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<i64>>> {
    let mut out = Vec::new();
    for batch in batches {
        let raw = batch.column_by_name(name).ok_or_else(|| {
            Error::Arrow(arrow::error::ArrowError::SchemaError(format!(
                "no column {name}"
            )))
        })?;
        let array = match raw.data_type() {
            DataType::Timestamp(..) => cast(
                &cast(
                    raw,
                    &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
                )?,
                &DataType::Int64,
            )?,
            _ => column(batch, name, &DataType::Int64)?,
        };
        let array = array.as_primitive::<Int64Type>();
        out.extend((0..array.len()).map(|i| array.is_valid(i).then(|| array.value(i))));
    }
    Ok(out)
}

/// The column `name` of every batch as optional 64-bit floats.
pub fn floats(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<f64>>> {
    let mut out = Vec::new();
    for batch in batches {
        let array = column(batch, name, &DataType::Float64)?;
        let array = array.as_primitive::<arrow::datatypes::Float64Type>();
        out.extend((0..array.len()).map(|i| array.is_valid(i).then(|| array.value(i))));
    }
    Ok(out)
}
