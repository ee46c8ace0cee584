//! The `_loads` manifest: what was loaded, restated or refused, and whether a file is new.

use std::sync::Arc;

use ansinh_core::{Delivery, columns as c, schema};
use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};

use crate::error::{Error, Result};
use crate::values::{integers, strings};
use crate::{Warehouse, tables};

/// Outcome of one file.
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
    strum::EnumString,
)]
#[strum(serialize_all = "kebab-case")]
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
        self.into()
    }

    /// An outcome `_loads` records: the others are never written.
    fn parse(text: &str) -> Option<Self> {
        text.parse()
            .ok()
            .filter(|o| matches!(o, Self::Loaded | Self::Restated | Self::Refused))
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
    /// Entity tag of the remote object the file was read from.
    pub etag: Option<String>,
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
        // Tables written before `etag` existed lack the column.
        let etags = match batches
            .first()
            .map(|b| b.schema().index_of(c::ETAG).is_ok())
        {
            Some(true) => s(c::ETAG)?,
            _ => Vec::new(),
        };
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
                        etag: etags.get(r).cloned().flatten(),
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

    /// The SHA-256 recorded for `file` when it was last read as the object with entity tag
    /// `etag` and `bytes` bytes: the same object again need not be downloaded to be hashed.
    pub fn known_digest(&self, file: &str, etag: &str, bytes: i64) -> Option<&str> {
        self.records
            .iter()
            .rev()
            .find(|r| r.file == file)
            .filter(|r| r.etag.as_deref() == Some(etag) && r.bytes == bytes)
            .map(|r| r.sha256.as_str())
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
        text(|r| r.etag.as_deref()),
    ];
    Ok(RecordBatch::try_new(schema::loads(), columns)?)
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::Schema;

    use super::*;
    use crate::{TableSpec, WriteMode};

    /// `_loads` as written before it had `etag`.
    fn loads_without_etag() -> arrow::datatypes::SchemaRef {
        let fields: Vec<_> = schema::loads()
            .fields()
            .iter()
            .filter(|f| f.name() != c::ETAG)
            .cloned()
            .collect();
        Arc::new(Schema::new(fields))
    }

    fn record(file: &str, etag: Option<&str>) -> LoadRecord {
        LoadRecord {
            file: file.into(),
            sha256: format!("sha-of-{file}"),
            bytes: 10,
            kind: "participants".into(),
            period: "2024-01".into(),
            office: "568".into(),
            rows_read: 1,
            rows_loaded: 1,
            rows_rejected: 0,
            outcome: Outcome::Loaded,
            table_version: Some(0),
            loaded_at: 1,
            message: None,
            extra_columns: None,
            etag: etag.map(str::to_string),
        }
    }

    #[tokio::test]
    async fn a_manifest_from_before_entity_tags_is_read_and_gains_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Warehouse::open(dir.path().to_str().unwrap()).unwrap();
        let old = TableSpec {
            name: tables::LOADS,
            schema: loads_without_etag,
            partitions: &[],
        };
        let batch = to_batch(&[record("a.csv", None)]).unwrap();
        let without = batch.project(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
        warehouse
            .write(&old, vec![without.unwrap()], WriteMode::Append, Vec::new())
            .await
            .unwrap();
        let history = LoadHistory::read(&warehouse).await.unwrap();
        assert_eq!(history.records().len(), 1);
        assert_eq!(history.records()[0].etag, None);
        assert_eq!(history.known_digest("a.csv", "\"t1\"", 10), None);

        let new = crate::table_spec(tables::LOADS).unwrap();
        let batch = to_batch(&[record("b.csv", Some("\"t1\""))]).unwrap();
        warehouse
            .write(&new, vec![batch], WriteMode::Append, Vec::new())
            .await
            .unwrap();
        let history = LoadHistory::read(&warehouse).await.unwrap();
        assert_eq!(history.records().len(), 2);
        assert_eq!(
            history.known_digest("b.csv", "\"t1\"", 10),
            Some("sha-of-b.csv")
        );
        // Another tag or size is another object.
        assert_eq!(history.known_digest("b.csv", "\"t2\"", 10), None);
        assert_eq!(history.known_digest("b.csv", "\"t1\"", 11), None);
    }
}
