//! Loading deliveries: each file is loaded, restated, refused, or recognised as unchanged.
//!
//! A delivery is a complete snapshot of one office-month, so a load replaces that partition
//! of the fact table in one Delta commit (`replace_where`); nothing else changes. The `_loads`
//! row is written last: a run that dies before it leaves the fact table either as it was or
//! with the new content, and the next run loads the file again with the same result.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use ansinh_core::{Delivery, DeliveryKind, columns as c, schema};
use ansinh_extract::{
    ExtractSummary, Extractor, Geography, IdentityLink, PseudonymKey, Pseudonymiser, TextEncoding,
    open_rows,
};
use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{col, lit};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::history::{Decision, LoadHistory, LoadRecord, Outcome, to_batch};
use crate::landing::LandedFile;
use crate::values::strings;
use crate::{TableSpec, Warehouse, WriteMode, table_spec, tables};

/// Settings of a load.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Largest share of rejected rows before a delivery is refused.
    pub max_reject_ratio: f64,
    /// Rows per record batch.
    pub batch_rows: usize,
    /// Encoding of CSV files.
    pub encoding: TextEncoding,
    /// Load files again that were refused in the same form (after the reference data or the
    /// ratio changed).
    pub retry_refused: bool,
    /// Load files again even when the warehouse holds the same content (a full refresh).
    pub force: bool,
}

/// A reject as shown to people: file, line, field, reason and (masked) value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectLine {
    /// Line.
    pub line: u64,
    /// Field.
    pub field: String,
    /// Reason.
    pub reason: String,
    /// Value as stored.
    pub value: Option<String>,
}

/// What happened to one file.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// File, relative to the landing root.
    pub file: String,
    /// The delivery.
    pub delivery: Delivery,
    /// Outcome.
    pub outcome: Outcome,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows loaded.
    pub rows_loaded: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Fact-table version after the load.
    pub table_version: Option<i64>,
    /// Why it was refused, or what the file looked like.
    pub message: Option<String>,
    /// Rejects by reason.
    pub reasons: BTreeMap<String, u64>,
    /// The first rejects, for the log.
    pub first_rejects: Vec<RejectLine>,
    /// Header cells the contract does not know.
    pub extra_columns: Vec<String>,
}

/// Rejects shown per file in reports.
const SHOWN_REJECTS: usize = 5;

/// Loads deliveries into one warehouse, remembering the history and identity links as it goes.
pub struct Ingestor<'w> {
    warehouse: &'w Warehouse,
    geography: Arc<Geography>,
    pseudonymiser: Option<Pseudonymiser>,
    options: IngestOptions,
    history: LoadHistory,
}

fn fact_spec(kind: DeliveryKind) -> Result<TableSpec> {
    table_spec(tables::fact(kind))
}

/// SHA-256 and size of a landed file, local or remote, streamed.
pub async fn digest(landed: &LandedFile) -> Result<(String, i64)> {
    match &landed.remote {
        None => {
            let path = landed.path.clone();
            tokio::task::spawn_blocking(move || file_digest(&path))
                .await
                .map_err(|e| Error::Task(e.to_string()))?
                .map_err(|source| Error::Io {
                    path: landed.path.display().to_string(),
                    source,
                })
        }
        Some(object) => hash_object(object, &landed.relative, None).await,
    }
}

/// Streams a remote object through SHA-256, copying it into `copy` when given.
async fn hash_object(
    object: &crate::landing::RemoteObject,
    relative: &str,
    mut copy: Option<&mut std::fs::File>,
) -> Result<(String, i64)> {
    use std::io::Write;
    let store_error = |e: object_store::Error| Error::Store {
        location: relative.to_string(),
        message: e.to_string(),
    };
    let mut stream = object
        .store
        .get(&object.location)
        .await
        .map_err(store_error)?
        .into_stream();
    let mut hasher = Sha256::new();
    let mut bytes = 0i64;
    while let Some(chunk) = stream.try_next().await.map_err(store_error)? {
        bytes += chunk.len() as i64;
        hasher.update(&chunk);
        if let Some(file) = copy.as_mut() {
            file.write_all(&chunk).map_err(|source| Error::Io {
                path: relative.to_string(),
                source,
            })?;
        }
    }
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// Copies a remote object to a local temporary file, hashing it on the way.
async fn download(
    object: &crate::landing::RemoteObject,
    relative: &str,
) -> Result<(tempfile::NamedTempFile, String, i64)> {
    use std::io::Write;
    let io_error = |source| Error::Io {
        path: relative.to_string(),
        source,
    };
    // Keep the extension: readers pick the format by it.
    let name = relative.rsplit('/').next().unwrap_or("delivery");
    let suffix = [".csv.gz", ".csv", ".xlsx"]
        .into_iter()
        .find(|e| name.ends_with(e))
        .unwrap_or("");
    let mut copy = tempfile::Builder::new()
        .prefix(".ansinh-landing-")
        .suffix(suffix)
        .tempfile()
        .map_err(io_error)?;
    let (sha256, bytes) = hash_object(object, relative, Some(copy.as_file_mut())).await?;
    copy.flush().map_err(io_error)?;
    Ok((copy, sha256, bytes))
}

/// SHA-256 and size of a file, streamed.
pub fn file_digest(path: &std::path::Path) -> std::io::Result<(String, i64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0i64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as i64;
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), bytes))
}

impl<'w> Ingestor<'w> {
    /// Prepares loads into `warehouse` with its `_loads` history; reads the identity links.
    pub async fn new(
        warehouse: &'w Warehouse,
        history: LoadHistory,
        geography: Geography,
        key: PseudonymKey,
        options: IngestOptions,
    ) -> Result<Self> {
        let links_table = warehouse.table(tables::PERSON_LINKS).await?;
        let links = if links_table.version().is_some() {
            let batches = warehouse
                .query(&format!(
                    "SELECT {n}, {p} FROM {t}",
                    n = c::NATIONAL_ID_KEY,
                    p = c::PERSON_ID_KEY,
                    t = tables::PERSON_LINKS
                ))
                .await?;
            let national = strings(&batches, c::NATIONAL_ID_KEY)?;
            let person = strings(&batches, c::PERSON_ID_KEY)?;
            national
                .into_iter()
                .zip(person)
                .filter_map(|(n, p)| IdentityLink::new(&n?, &p?))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            warehouse,
            geography: Arc::new(geography),
            pseudonymiser: Some(Pseudonymiser::new(key, links)),
            options,
            history,
        })
    }

    /// The load history, including this run's loads.
    pub fn history(&self) -> &LoadHistory {
        &self.history
    }

    /// The settings of the next loads.
    pub fn options_mut(&mut self) -> &mut IngestOptions {
        &mut self.options
    }

    /// Loads one landed file, unless the warehouse already holds its content. A file of a
    /// remote landing area is first copied to a local temporary file (streamed, hashed on the
    /// way), which the readers then stream from.
    pub async fn ingest(&mut self, landed: &LandedFile) -> Result<LoadReport> {
        match &landed.remote {
            None => {
                let (sha256, bytes) = digest(landed).await?;
                self.ingest_local(landed, sha256, bytes).await
            }
            Some(object) => {
                let (copy, sha256, bytes) = download(object, &landed.relative).await?;
                let local = LandedFile {
                    path: copy.path().to_path_buf(),
                    remote: None,
                    ..landed.clone()
                };
                let report = self.ingest_local(&local, sha256, bytes).await;
                drop(copy);
                report
            }
        }
    }

    async fn ingest_local(
        &mut self,
        landed: &LandedFile,
        sha256: String,
        bytes: i64,
    ) -> Result<LoadReport> {
        let delivery = &landed.delivery;
        let previous = match self.history.decide(delivery, &sha256) {
            Decision::Unchanged(record) if self.options.force => Some(record),
            Decision::RefusedBefore(_) if self.options.force => {
                self.history.current(delivery).cloned()
            }
            Decision::Unchanged(record) => {
                return Ok(report_from(landed, Outcome::Unchanged, &record));
            }
            Decision::RefusedBefore(_) if self.options.retry_refused => {
                self.history.current(delivery).cloned()
            }
            Decision::RefusedBefore(record) => {
                return Ok(report_from(landed, Outcome::RefusedBefore, &record));
            }
            Decision::Load { previous } => previous,
        };

        let outcome = if previous.is_some() {
            Outcome::Restated
        } else {
            Outcome::Loaded
        };
        let metadata = vec![
            (
                "ansinh.operation".to_string(),
                serde_json::json!(outcome.name()),
            ),
            (
                "ansinh.delivery".to_string(),
                serde_json::json!(delivery.to_string()),
            ),
            (
                "ansinh.file".to_string(),
                serde_json::json!(landed.relative),
            ),
            ("ansinh.sha256".to_string(), serde_json::json!(sha256)),
        ];
        let period = delivery.period.to_string();
        let (extracted, written) = self
            .stream_into_fact_table(landed, metadata.clone())
            .await?;
        let summary = match extracted {
            Ok(summary) => summary,
            Err(ansinh_extract::Error::Aborted { .. }) => {
                // The write stopped first: its error is the one to report.
                self.with_pseudonymiser(Pseudonymiser::discard_pending);
                return Err(written
                    .err()
                    .unwrap_or_else(|| Error::Task("the load was aborted".into())));
            }
            Err(unreadable) => {
                self.with_pseudonymiser(Pseudonymiser::discard_pending);
                let record = self
                    .record(landed, &sha256, bytes, Outcome::Refused, None, None)
                    .await?;
                let record = LoadRecord {
                    message: Some(unreadable.to_string()),
                    ..record
                };
                self.append_load(record.clone()).await?;
                return Ok(report_from(landed, Outcome::Refused, &record));
            }
        };
        let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
        for reject in &summary.rejects {
            *reasons.entry(reject.reason.code().to_string()).or_default() += 1;
        }
        let reason_text = reasons
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        if summary.reject_ratio() > self.options.max_reject_ratio {
            // The fact write was aborted before its commit.
            self.with_pseudonymiser(Pseudonymiser::discard_pending);
            let message = format!(
                "{} of {} rows rejected ({:.2}% > max_reject_ratio {:.2}%): {reason_text}",
                summary.rejects.len(),
                summary.rows_read,
                summary.reject_ratio() * 100.0,
                self.options.max_reject_ratio * 100.0
            );
            let record = self
                .record(
                    landed,
                    &sha256,
                    bytes,
                    Outcome::Refused,
                    Some(&summary),
                    Some(message),
                )
                .await?;
            self.append_load(record.clone()).await?;
            let mut report = report_from(landed, Outcome::Refused, &record);
            report.reasons = reasons;
            report.first_rejects = first_rejects(&summary);
            return Ok(report);
        }
        // Everything after the fact commit: rejects and links. On any error the file's links
        // are forgotten, so they cannot be written with a later file.
        let committed: Result<i64> = async {
            let version = written?;

            let had_rejects = previous.as_ref().is_some_and(|p| p.rows_rejected > 0);
            if !summary.rejects.is_empty() || had_rejects {
                let rejects = rejects_batch(landed, &sha256, &summary)?;
                let replace = col(c::KIND)
                    .eq(lit(delivery.kind.name()))
                    .and(col(c::PERIOD).eq(lit(period.clone())))
                    .and(col(c::OFFICE).eq(lit(delivery.office.clone())));
                self.warehouse
                    .write(
                        &table_spec(tables::REJECTS)?,
                        vec![rejects],
                        WriteMode::ReplaceWhere(replace),
                        metadata.clone(),
                    )
                    .await?;
            }
            if !summary.new_links.is_empty() {
                let links = links_batch(delivery, &summary.new_links)?;
                self.warehouse
                    .write(
                        &table_spec(tables::PERSON_LINKS)?,
                        vec![links],
                        WriteMode::Append,
                        metadata,
                    )
                    .await?;
            }
            Ok(version)
        }
        .await;
        let version = match committed {
            Ok(version) => version,
            Err(e) => {
                self.with_pseudonymiser(Pseudonymiser::discard_pending);
                return Err(e);
            }
        };
        self.with_pseudonymiser(Pseudonymiser::commit_pending);
        let message = (!reason_text.is_empty()).then(|| format!("rejected: {reason_text}"));
        let record = self
            .record(landed, &sha256, bytes, outcome, Some(&summary), message)
            .await?;
        let record = LoadRecord {
            table_version: Some(version),
            ..record
        };
        self.append_load(record.clone()).await?;
        let mut report = report_from(landed, outcome, &record);
        report.reasons = reasons;
        report.first_rejects = first_rejects(&summary);
        report.extra_columns = summary.extra_columns.clone();
        report.message = Some(summary.description.clone());
        Ok(report)
    }

    fn with_pseudonymiser(&mut self, f: impl FnOnce(&mut Pseudonymiser)) {
        if let Some(p) = self.pseudonymiser.as_mut() {
            f(p);
        }
    }

    /// Reads and validates the file on a blocking thread while its batches stream into the
    /// fact table's partition, so no more than a few batches are ever in memory. When the file
    /// turns out unreadable or over the reject ratio, the stream ends in an error and the
    /// write is abandoned before its commit. Returns what reading found and what writing did.
    async fn stream_into_fact_table(
        &mut self,
        landed: &LandedFile,
        metadata: Vec<(String, serde_json::Value)>,
    ) -> Result<(
        std::result::Result<ExtractSummary, ansinh_extract::Error>,
        Result<i64>,
    )> {
        let geography = Arc::clone(&self.geography);
        let mut pseudonymiser = self
            .pseudonymiser
            .take()
            .ok_or_else(|| Error::Task("a previous load did not finish".into()))?;
        let fact = fact_spec(landed.delivery.kind)?;
        let (sender, receiver) = tokio::sync::mpsc::channel::<DfResult<RecordBatch>>(2);
        let reader_landed = landed.clone();
        let options = self.options.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let landed = reader_landed;
            let result = (|| {
                let mut rows = open_rows(&landed.path, options.encoding)?;
                let extractor = Extractor::new(
                    &landed.delivery,
                    &geography,
                    &mut pseudonymiser,
                    options.batch_rows,
                );
                extractor.run(&landed.relative, rows.as_mut(), &mut |batch| {
                    sender
                        .blocking_send(Ok(batch))
                        .map_err(|_| ansinh_extract::Error::Aborted {
                            file: landed.relative.clone(),
                        })
                })
            })();
            let refusal = match &result {
                Ok(summary) if summary.reject_ratio() > options.max_reject_ratio => {
                    Some("the delivery is refused: too many rows rejected".to_string())
                }
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            };
            if let Some(reason) = refusal {
                let _ = sender.blocking_send(Err(DataFusionError::Execution(reason)));
            }
            (pseudonymiser, result)
        });
        let batches = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        });
        let stream = Box::pin(RecordBatchStreamAdapter::new((fact.schema)(), batches));
        let replace = col(c::PERIOD)
            .eq(lit(landed.delivery.period.to_string()))
            .and(col(c::OFFICE).eq(lit(landed.delivery.office.clone())));
        let written = self
            .warehouse
            .write_stream(&fact, stream, WriteMode::ReplaceWhere(replace), metadata)
            .await;
        let (pseudonymiser, extracted) = reader.await.map_err(|e| Error::Task(e.to_string()))?;
        self.pseudonymiser = Some(pseudonymiser);
        Ok((extracted, written))
    }

    async fn record(
        &self,
        landed: &LandedFile,
        sha256: &str,
        bytes: i64,
        outcome: Outcome,
        summary: Option<&ExtractSummary>,
        message: Option<String>,
    ) -> Result<LoadRecord> {
        let fact = self
            .warehouse
            .table(fact_spec(landed.delivery.kind)?.name)
            .await?;
        Ok(LoadRecord {
            file: landed.relative.clone(),
            sha256: sha256.to_string(),
            bytes,
            kind: landed.delivery.kind.name().to_string(),
            period: landed.delivery.period.to_string(),
            office: landed.delivery.office.clone(),
            rows_read: summary.map(|s| s.rows_read as i64).unwrap_or(0),
            rows_loaded: summary.map(|s| s.rows_loaded as i64).unwrap_or(0),
            rows_rejected: summary.map(|s| s.rejects.len() as i64).unwrap_or(0),
            outcome,
            table_version: fact.version().map(|v| v as i64),
            loaded_at: self.history.next_timestamp(),
            message,
            extra_columns: summary
                .filter(|s| !s.extra_columns.is_empty())
                .map(|s| s.extra_columns.join(", ")),
        })
    }

    async fn append_load(&mut self, record: LoadRecord) -> Result<()> {
        let batch = to_batch(std::slice::from_ref(&record))?;
        self.warehouse
            .write(
                &table_spec(tables::LOADS)?,
                vec![batch],
                WriteMode::Append,
                Vec::new(),
            )
            .await?;
        self.history.push(record);
        Ok(())
    }
}

fn report_from(landed: &LandedFile, outcome: Outcome, record: &LoadRecord) -> LoadReport {
    LoadReport {
        file: landed.relative.clone(),
        delivery: landed.delivery.clone(),
        outcome,
        rows_read: record.rows_read as u64,
        rows_loaded: record.rows_loaded as u64,
        rows_rejected: record.rows_rejected as u64,
        table_version: record.table_version,
        message: record.message.clone(),
        reasons: BTreeMap::new(),
        first_rejects: Vec::new(),
        extra_columns: record
            .extra_columns
            .as_deref()
            .map(|e| e.split(", ").map(str::to_string).collect())
            .unwrap_or_default(),
    }
}

fn first_rejects(summary: &ExtractSummary) -> Vec<RejectLine> {
    summary
        .rejects
        .iter()
        .take(SHOWN_REJECTS)
        .map(|r| RejectLine {
            line: r.line,
            field: r.field.to_string(),
            reason: r.reason.code().to_string(),
            value: r.value.clone(),
        })
        .collect()
}

fn rejects_batch(
    landed: &LandedFile,
    sha256: &str,
    summary: &ExtractSummary,
) -> Result<RecordBatch> {
    let n = summary.rejects.len();
    let constant = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v; n])) };
    let columns: Vec<ArrayRef> = vec![
        constant(landed.delivery.kind.name()),
        constant(&landed.delivery.period.to_string()),
        constant(&landed.delivery.office),
        constant(&landed.relative),
        constant(sha256),
        Arc::new(
            summary
                .rejects
                .iter()
                .map(|r| Some(r.line as i64))
                .collect::<Int64Array>(),
        ),
        Arc::new(
            summary
                .rejects
                .iter()
                .map(|r| Some(r.field))
                .collect::<StringArray>(),
        ),
        Arc::new(
            summary
                .rejects
                .iter()
                .map(|r| Some(r.reason.code()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            summary
                .rejects
                .iter()
                .map(|r| r.value.as_deref())
                .collect::<StringArray>(),
        ),
    ];
    Ok(RecordBatch::try_new(schema::rejects(), columns)?)
}

fn links_batch(delivery: &Delivery, links: &[IdentityLink]) -> Result<RecordBatch> {
    let n = links.len();
    let period = delivery.period.to_string();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            links.iter().map(IdentityLink::national_id_key),
        )),
        Arc::new(StringArray::from_iter_values(
            links.iter().map(IdentityLink::person_id_key),
        )),
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            period.as_str(),
            n,
        ))),
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            delivery.office.as_str(),
            n,
        ))),
    ];
    Ok(RecordBatch::try_new(schema::person_links(), columns)?)
}
