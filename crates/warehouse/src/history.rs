//! The `_loads` manifest: what was loaded, restated or refused, and whether a file is new.

use std::sync::Arc;

use ansinh_core::{Delivery, columns as c, schema};
use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};

use crate::error::{Error, Result};
use crate::values::{integers, strings};
use crate::{Warehouse, tables};

/// Outcome of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// First load of the delivery.
    Loaded,
    /// A different file replaced an earlier load of the same delivery.
    Restated,
    /// Not loaded: unreadable, or too many rows rejected. The previous state stays.
    Refused,
    /// The identical file was loaded before: nothing changed.
    Unchanged,
    /// The identical file was refused before: nothing changed.
    RefusedBefore,
}

impl Outcome {
    /// The name stored in `_loads` and printed.
    pub fn name(self) -> &'static str {
        match self {
            Self::Loaded => "loaded",
            Self::Restated => "restated",
            Self::Refused => "refused",
            Self::Unchanged => "unchanged",
            Self::RefusedBefore => "refused-before",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "loaded" => Some(Self::Loaded),
            "restated" => Some(Self::Restated),
            "refused" => Some(Self::Refused),
            _ => None,
        }
    }

    /// Whether this outcome put the delivery's rows in the warehouse.
    pub fn is_effective(self) -> bool {
        matches!(self, Self::Loaded | Self::Restated)
    }
}

/// One row of `_loads`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadRecord {
    /// File, relative to the landing root (or the reference directory).
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: i64,
    /// Delivery kind, or `reference`.
    pub kind: String,
    /// Period `YYYY-MM` (empty for reference data).
    pub period: String,
    /// Office code (the table name for reference data).
    pub office: String,
    /// Data rows read.
    pub rows_read: i64,
    /// Rows loaded.
    pub rows_loaded: i64,
    /// Rows rejected.
    pub rows_rejected: i64,
    /// Outcome.
    pub outcome: Outcome,
    /// Version of the fact table after the load.
    pub table_version: Option<i64>,
    /// When, in microseconds since the epoch (UTC).
    pub loaded_at: i64,
    /// Explanation (why refused; rejects by reason).
    pub message: Option<String>,
    /// Columns the contract does not know.
    pub extra_columns: Option<String>,
}

impl LoadRecord {
    /// Whether the record is about `delivery`.
    pub fn is_for(&self, delivery: &Delivery) -> bool {
        self.kind == delivery.kind.name()
            && self.period == delivery.period.to_string()
            && self.office == delivery.office
    }
}

/// What to do with a file, given the history.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The same content is what the warehouse holds.
    Unchanged(LoadRecord),
    /// The same content was refused after the last effective load.
    RefusedBefore(LoadRecord),
    /// New content: load it. `previous` is the effective load it would replace.
    Load {
        /// The load it would replace.
        previous: Option<LoadRecord>,
    },
}

/// Every `_loads` row, in the order they were written.
#[derive(Debug, Clone, Default)]
pub struct LoadHistory {
    records: Vec<LoadRecord>,
}

impl LoadHistory {
    /// Reads `_loads`.
    pub async fn read(warehouse: &Warehouse) -> Result<Self> {
        let table = warehouse.table(tables::LOADS).await?;
        if table.version().is_none() {
            return Ok(Self::default());
        }
        let batches = warehouse
            .query(&format!(
                "SELECT * FROM {} ORDER BY {}",
                tables::LOADS,
                c::LOADED_AT
            ))
            .await?;
        let s = |name| strings(&batches, name);
        let i = |name| integers(&batches, name);
        let (file, sha, kind, period, office, outcome, message, extra) = (
            s(c::FILE)?,
            s(c::SHA256)?,
            s(c::KIND)?,
            s(c::PERIOD)?,
            s(c::OFFICE)?,
            s(c::OUTCOME)?,
            s(c::MESSAGE)?,
            s(c::EXTRA_COLUMNS)?,
        );
        let (bytes, read, loaded, rejected, version, at) = (
            i(c::BYTES)?,
            i(c::ROWS_READ)?,
            i(c::ROWS_LOADED)?,
            i(c::ROWS_REJECTED)?,
            i(c::TABLE_VERSION)?,
            i(c::LOADED_AT)?,
        );
        // A row that does not parse would make its delivery look never loaded: refuse to go on.
        let records = (0..file.len())
            .map(|r| {
                let record = (|| {
                    Some(LoadRecord {
                        file: file[r].clone()?,
                        sha256: sha[r].clone()?,
                        bytes: bytes[r]?,
                        kind: kind[r].clone()?,
                        period: period[r].clone()?,
                        office: office[r].clone()?,
                        rows_read: read[r]?,
                        rows_loaded: loaded[r]?,
                        rows_rejected: rejected[r]?,
                        outcome: Outcome::parse(outcome[r].as_deref()?)?,
                        table_version: version[r],
                        loaded_at: at[r]?,
                        message: message[r].clone(),
                        extra_columns: extra[r].clone(),
                    })
                })();
                record.ok_or_else(|| {
                    Error::Manifest(format!(
                        "{} row {} ({:?}) has a missing field or an unknown outcome",
                        tables::LOADS,
                        r + 1,
                        file[r]
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { records })
    }

    /// Every record, oldest first.
    pub fn records(&self) -> &[LoadRecord] {
        &self.records
    }

    /// A `loaded_at` for the next record: now, but strictly after every earlier record, so the
    /// history's order is the order of loads even when clocks step back.
    pub fn next_timestamp(&self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or_default();
        let last = self.records.last().map(|r| r.loaded_at).unwrap_or(i64::MIN);
        now.max(last.saturating_add(1))
    }

    /// Adds a record written by this run.
    pub fn push(&mut self, record: LoadRecord) {
        self.records.push(record);
    }

    /// The records of one delivery, oldest first.
    pub fn of<'a>(&'a self, delivery: &Delivery) -> impl Iterator<Item = &'a LoadRecord> + use<'a> {
        let delivery = delivery.clone();
        self.records.iter().filter(move |r| r.is_for(&delivery))
    }

    /// The last load that put the delivery's rows in the warehouse.
    pub fn current(&self, delivery: &Delivery) -> Option<&LoadRecord> {
        self.of(delivery)
            .filter(|r| r.outcome.is_effective())
            .last()
    }

    /// The last record of a non-fact load (reference tables) with `kind` and `office`.
    pub fn current_named(&self, kind: &str, office: &str) -> Option<&LoadRecord> {
        self.records
            .iter()
            .rev()
            .find(|r| r.kind == kind && r.office == office)
    }

    /// Whether a file with `sha256` for `delivery` must be loaded.
    pub fn decide(&self, delivery: &Delivery, sha256: &str) -> Decision {
        let current = self.current(delivery);
        if let Some(current) = current.filter(|r| r.sha256 == sha256) {
            return Decision::Unchanged(current.clone());
        }
        let since = current.map(|r| r.loaded_at).unwrap_or(i64::MIN);
        if let Some(refused) = self
            .of(delivery)
            .filter(|r| r.outcome == Outcome::Refused && r.loaded_at >= since && r.sha256 == sha256)
            .last()
        {
            return Decision::RefusedBefore(refused.clone());
        }
        Decision::Load {
            previous: current.cloned(),
        }
    }
}

/// `_loads` rows as a record batch.
pub fn to_batch(records: &[LoadRecord]) -> Result<RecordBatch> {
    let text = |f: fn(&LoadRecord) -> Option<&str>| -> ArrayRef {
        Arc::new(records.iter().map(f).collect::<StringArray>())
    };
    let int = |f: fn(&LoadRecord) -> Option<i64>| -> ArrayRef {
        Arc::new(records.iter().map(f).collect::<Int64Array>())
    };
    let columns: Vec<ArrayRef> = vec![
        text(|r| Some(&r.file)),
        text(|r| Some(&r.sha256)),
        int(|r| Some(r.bytes)),
        text(|r| Some(&r.kind)),
        text(|r| Some(&r.period)),
        text(|r| Some(&r.office)),
        int(|r| Some(r.rows_read)),
        int(|r| Some(r.rows_loaded)),
        int(|r| Some(r.rows_rejected)),
        text(|r| Some(r.outcome.name())),
        int(|r| r.table_version),
        Arc::new(
            records
                .iter()
                .map(|r| Some(r.loaded_at))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        text(|r| r.message.as_deref()),
        text(|r| r.extra_columns.as_deref()),
    ];
    Ok(RecordBatch::try_new(schema::loads(), columns)?)
}
