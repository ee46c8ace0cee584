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
    ExtractSink, ExtractSummary, Extractor, Geography, PseudonymKey, Pseudonymiser, Reject,
    TextEncoding, open_rows,
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
use crate::spill::Spill;
use crate::{FileLayout, TableSpec, Warehouse, WriteMode, table_spec, tables};

/// Settings of a load.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Largest share of rejected rows before a delivery is refused.
    pub max_reject_ratio: f64,
    /// Rows per record batch.
    pub batch_rows: usize,
    /// Encoding of CSV files.
    pub encoding: TextEncoding,
    /// Memory a load may use, in MiB, whatever the size of the file.
    pub memory_limit_mb: usize,
    /// Threads checking rows (0: one per core).
    pub workers: usize,
}

/// How a load divides its memory budget between the rows in flight and the Parquet writer.
/// The figures are what the rows of an extract take in Arrow form and in the writer's
/// buffers, measured by `bench/ingest/memory.sh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestBudget {
    /// Threads checking rows.
    pub workers: usize,
    /// Rows per chunk read, checked and sent on as one record batch.
    pub batch_rows: usize,
    /// Layout of the fact table's data files.
    pub layout: FileLayout,
}

impl IngestBudget {
    /// The program, its runtime and the reference data, before any row is read.
    pub const BASE_MB: usize = 160;
    /// Smallest budget accepted.
    pub const MIN_MB: usize = 192;
    /// Bytes a row takes in flight: raw text plus its Arrow columns.
    const ROW_BYTES_IN_FLIGHT: usize = 448;
    /// Bytes a row takes in the writer's open row group.
    const ROW_BYTES_IN_WRITER: usize = 256;

    /// The budget for `memory_limit_mb` with `workers` checking threads (0: one per core),
    /// taking no more than `batch_rows` rows per chunk.
    pub fn new(memory_limit_mb: usize, batch_rows: usize, workers: usize) -> Self {
        const MIB: usize = 1024 * 1024;
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            workers
        };
        // Half of the rest is left for what the allocator keeps of freed buffers and for its
        // fragmentation over a long file (measured by `bench/ingest/memory.sh`).
        let available = memory_limit_mb
            .max(Self::MIN_MB)
            .saturating_sub(Self::BASE_MB)
            * MIB
            / 2;
        // The chunks between reader and workers, two queued for the writer and one being
        // written.
        let chunks_in_flight = Extractor::chunks_in_flight(workers) + 3;
        let per_chunk = available / 2 / chunks_in_flight / Self::ROW_BYTES_IN_FLIGHT;
        // The writer holds a data file until it is stored and a row group until it is written.
        let target_file_bytes = (available / 8).clamp(4 * MIB, 128 * MIB);
        let row_group_rows =
            (available / 8 / Self::ROW_BYTES_IN_WRITER).clamp(16 * 1024, 1024 * 1024);
        Self {
            workers,
            batch_rows: batch_rows.min(per_chunk).max(1024),
            layout: FileLayout {
                row_group_rows,
                target_file_bytes: target_file_bytes as u64,
            },
        }
    }
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

/// Loads deliveries into one warehouse, remembering the history and identity links as it goes.
pub struct Ingestor<'w> {
    warehouse: &'w Warehouse,
    geography: Arc<Geography>,
    pseudonymiser: Arc<Pseudonymiser>,
    options: IngestOptions,
    history: LoadHistory,
}

fn fact_spec(kind: DeliveryKind) -> Result<TableSpec> {
    table_spec(tables::fact(kind))
}

/// When a file is loaded again although the warehouse already knows its content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reload {
    /// Load it again when the warehouse holds the same content (a full refresh).
    pub unchanged: bool,
    /// Load it again when the same content was refused (after the reference data or the
    /// reject ratio changed).
    pub refused: bool,
}

/// Why a file is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum LoadReason {
    /// No load of its delivery yet.
    New,
    /// Content other than the delivery's current load.
    Changed,
    /// The same content again, for a full refresh.
    Refresh,
    /// Content refused before, tried again.
    Retry,
}

impl LoadReason {
    /// The word used in plans.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The SHA-256 and size of a file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// SHA-256, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: i64,
}

/// What planning decided for a landed file: the decision is made once and carried to the load.
#[derive(Debug, Clone)]
pub enum FilePlan {
    /// Load it. `digest` is the content planning read (absent for a remote object that is
    /// not known by its entity tag: its one download hashes it); `previous` is the load it
    /// replaces.
    Load {
        /// Why.
        reason: LoadReason,
        /// The content, when planning read it.
        digest: Option<FileDigest>,
        /// The delivery's effective load that this one replaces.
        previous: Option<Box<LoadRecord>>,
    },
    /// Nothing to do: the content is the delivery's current load, or was refused as it is.
    Skip {
        /// [`Outcome::Unchanged`] or [`Outcome::RefusedBefore`].
        outcome: Outcome,
        /// The load of this content.
        record: Box<LoadRecord>,
    },
}

/// A landed file with its plan.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// The file.
    pub landed: LandedFile,
    /// What to do with it.
    pub plan: FilePlan,
}

/// The one decision on a delivery's file whose content is `digest`, given the history.
pub fn decide(
    history: &LoadHistory,
    delivery: &Delivery,
    digest: FileDigest,
    reload: Reload,
) -> FilePlan {
    let current = || history.current(delivery).cloned().map(Box::new);
    match history.decide(delivery, &digest.sha256) {
        Decision::Load { previous } => FilePlan::Load {
            reason: if previous.is_some() {
                LoadReason::Changed
            } else {
                LoadReason::New
            },
            digest: Some(digest),
            previous: previous.map(Box::new),
        },
        Decision::Unchanged(record) if reload.unchanged => FilePlan::Load {
            reason: LoadReason::Refresh,
            digest: Some(digest),
            previous: Some(Box::new(record)),
        },
        Decision::RefusedBefore(_) if reload.unchanged || reload.refused => FilePlan::Load {
            reason: if reload.unchanged {
                LoadReason::Refresh
            } else {
                LoadReason::Retry
            },
            digest: Some(digest),
            previous: current(),
        },
        Decision::Unchanged(record) => FilePlan::Skip {
            outcome: Outcome::Unchanged,
            record: Box::new(record),
        },
        Decision::RefusedBefore(record) => FilePlan::Skip {
            outcome: Outcome::RefusedBefore,
            record: Box::new(record),
        },
    }
}

/// Plans one landed file: a local file is hashed (its one read before the load); a remote
/// object is known by its entity tag and size when the history has them, else it is planned
/// for its one download.
pub async fn plan_file(
    landed: &LandedFile,
    history: &LoadHistory,
    reload: Reload,
) -> Result<PlannedFile> {
    let digest = match &landed.remote {
        None => Some(digest(landed).await?),
        Some(object) => known_digest(history, landed).map(|sha256| FileDigest {
            sha256,
            bytes: object.size as i64,
        }),
    };
    let plan = match digest {
        Some(digest) => decide(history, &landed.delivery, digest, reload),
        None => {
            let previous = history.current(&landed.delivery).cloned().map(Box::new);
            FilePlan::Load {
                reason: if previous.is_some() {
                    LoadReason::Changed
                } else {
                    LoadReason::New
                },
                digest: None,
                previous,
            }
        }
    };
    Ok(PlannedFile {
        landed: landed.clone(),
        plan,
    })
}

/// The SHA-256 the history holds for a remote file read before with the same entity tag and
/// size.
fn known_digest(history: &LoadHistory, landed: &LandedFile) -> Option<String> {
    let object = landed.remote.as_ref()?;
    history
        .known_digest(
            &landed.relative,
            object.etag.as_deref()?,
            object.size as i64,
        )
        .map(str::to_string)
}

/// SHA-256 and size of a landed file, local or remote, streamed.
pub async fn digest(landed: &LandedFile) -> Result<FileDigest> {
    match &landed.remote {
        None => {
            let path = landed.path.clone();
            let (sha256, bytes) = tokio::task::spawn_blocking(move || file_digest(&path))
                .await
                .map_err(|e| Error::from_join("hashing", e))?
                .map_err(|source| Error::Io {
                    path: landed.path.display().to_string(),
                    source,
                })?;
            Ok(FileDigest { sha256, bytes })
        }
        Some(object) => {
            let (sha256, bytes) = hash_object(object, &landed.relative, None).await?;
            Ok(FileDigest { sha256, bytes })
        }
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
    let suffix = ansinh_core::delivery_extension(name)
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let mut copy = tempfile::Builder::new()
        .prefix(".ansinh-landing-")
        .suffix(&suffix)
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
    /// Prepares loads into `warehouse` with its `_loads` history.
    pub async fn new(
        warehouse: &'w Warehouse,
        history: LoadHistory,
        geography: Geography,
        key: PseudonymKey,
        options: IngestOptions,
    ) -> Result<Self> {
        Ok(Self {
            warehouse,
            geography: Arc::new(geography),
            pseudonymiser: Arc::new(Pseudonymiser::new(key)),
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

    /// Plans and loads one landed file, unless the warehouse already holds its content.
    pub async fn ingest(&mut self, landed: &LandedFile, reload: Reload) -> Result<LoadReport> {
        let planned = plan_file(landed, &self.history, reload).await?;
        self.load_planned(planned, reload).await
    }

    /// Carries out what planning decided for a file. A file of a remote landing area is
    /// copied to a local temporary file (streamed, hashed on the way: its one download),
    /// which the readers then stream from; when planning could not know its content, the
    /// decision is made on the digest of that download.
    pub async fn load_planned(
        &mut self,
        planned: PlannedFile,
        reload: Reload,
    ) -> Result<LoadReport> {
        let PlannedFile { landed, plan } = planned;
        let (digest, previous) = match plan {
            FilePlan::Skip { outcome, record } => {
                return Ok(report_from(&landed, outcome, &record));
            }
            FilePlan::Load {
                digest, previous, ..
            } => (digest, previous),
        };
        let Some(object) = &landed.remote else {
            let digest = match digest {
                Some(digest) => digest,
                None => self::digest(&landed).await?,
            };
            return self.load(&landed, digest, None, previous.map(|p| *p)).await;
        };
        let (copy, sha256, bytes) = download(object, &landed.relative).await?;
        let local = LandedFile {
            path: copy.path().to_path_buf(),
            remote: None,
            ..landed.clone()
        };
        let downloaded = FileDigest { sha256, bytes };
        let previous = if digest.as_ref() == Some(&downloaded) {
            previous
        } else {
            // Planning did not know the content (or it changed since the listing): decide
            // on what was downloaded.
            match decide(&self.history, &landed.delivery, downloaded.clone(), reload) {
                FilePlan::Skip { outcome, record } => {
                    return Ok(report_from(&landed, outcome, &record));
                }
                FilePlan::Load { previous, .. } => previous,
            }
        };
        let report = self
            .load(
                &local,
                downloaded,
                object.etag.clone(),
                previous.map(|p| *p),
            )
            .await;
        drop(copy);
        report
    }

    /// Loads the local file `landed` (content `digest`), replacing `previous`.
    async fn load(
        &mut self,
        landed: &LandedFile,
        digest: FileDigest,
        etag: Option<String>,
        previous: Option<LoadRecord>,
    ) -> Result<LoadReport> {
        let delivery = &landed.delivery;
        let FileDigest { sha256, bytes } = digest;

        // Only an office valid in the month that sends the kind may deliver it; the file is
        // not parsed.
        if let Some(message) = self.geography.offices().refusal_message(
            &delivery.office,
            delivery.kind.name(),
            delivery.period,
        ) {
            return self
                .refuse(landed, &sha256, bytes, etag, None, message)
                .await;
        }

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
        let read = self
            .stream_into_fact_table(landed, &sha256, metadata.clone())
            .await?;
        let (summary, spills) = match (read.extracted, read.spills) {
            (Ok(summary), Ok(spills)) => (summary, spills),
            // The write or a spill stopped the reading first: theirs is the error to report.
            (Err(ansinh_extract::Error::Aborted { .. }), spills) => {
                return Err(spills.err().unwrap_or_else(|| {
                    read.written.err().unwrap_or_else(|| {
                        Error::Bug("the load was aborted without a cause".into())
                    })
                }));
            }
            (Ok(_), Err(spill_error)) => return Err(spill_error),
            // Still being written: nothing is committed or recorded, so the next run loads it.
            (Err(changed @ ansinh_extract::Error::Changed { .. }), _) => {
                return Err(Error::Changed(changed.to_string()));
            }
            // A fault of ours, not of the file: it is not recorded as refused.
            (Err(fault @ ansinh_extract::Error::Worker { .. }), _) => {
                return Err(Error::Bug(fault.to_string()));
            }
            (Err(unreadable), _) => {
                return self
                    .refuse(landed, &sha256, bytes, etag, None, unreadable.to_string())
                    .await;
            }
        };
        let reasons: BTreeMap<String, u64> = summary
            .reasons
            .iter()
            .map(|(reason, n)| (reason.to_string(), *n))
            .collect();
        let reason_text = reasons
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        if summary.reject_ratio() > self.options.max_reject_ratio {
            // The fact write was aborted before its commit.
            let message = format!(
                "{} of {} rows rejected ({:.2}% > max_reject_ratio {:.2}%): {reason_text}",
                summary.rows_rejected,
                summary.rows_read,
                summary.reject_ratio() * 100.0,
                self.options.max_reject_ratio * 100.0
            );
            let mut report = self
                .refuse(landed, &sha256, bytes, etag, Some(&summary), message)
                .await?;
            report.reasons = reasons;
            report.first_rejects = first_rejects(&summary);
            return Ok(report);
        }
        // After the fact commit, the delivery's rejects and links replace its earlier ones,
        // streamed from their spills. A failure here leaves no `_loads` row, so the next run
        // loads the file again.
        let version = read.written?;
        let delivery_rows = col(c::KIND)
            .eq(lit(delivery.kind.name()))
            .and(col(c::PERIOD).eq(lit(period.clone())))
            .and(col(c::OFFICE).eq(lit(delivery.office.clone())));
        let layout = self.budget().layout;
        let had_rejects = previous.as_ref().is_some_and(|p| p.rows_rejected > 0);
        if spills.rejects.rows() > 0 || had_rejects {
            self.warehouse
                .write_stream(
                    &table_spec(tables::REJECTS)?,
                    spills.rejects.into_stream()?,
                    WriteMode::ReplaceWhere(delivery_rows.clone()),
                    metadata.clone(),
                    layout,
                )
                .await?;
        }
        if spills.links.rows() > 0 || previous.is_some() {
            self.warehouse
                .write_stream(
                    &table_spec(tables::PERSON_LINKS)?,
                    spills.links.into_stream()?,
                    WriteMode::ReplaceWhere(delivery_rows),
                    metadata,
                    layout,
                )
                .await?;
        }
        let ignored = (summary.ignored_districts > 0).then(|| {
            format!(
                "district_code ignored in {} rows: there are no districts from 2025-07",
                summary.ignored_districts
            )
        });
        let notes: Vec<String> = (!reason_text.is_empty())
            .then(|| format!("rejected: {reason_text}"))
            .into_iter()
            .chain(ignored.clone())
            .collect();
        let message = (!notes.is_empty()).then(|| notes.join("; "));
        let record = self
            .record(landed, &sha256, bytes, outcome, Some(&summary), message)
            .await?;
        let record = LoadRecord {
            table_version: Some(version),
            etag,
            ..record
        };
        self.append_load(record.clone()).await?;
        let mut report = report_from(landed, outcome, &record);
        report.reasons = reasons;
        report.first_rejects = first_rejects(&summary);
        report.extra_columns = summary.extra_columns.clone();
        report.message = Some(match ignored {
            Some(ignored) => format!("{}; {ignored}", summary.description),
            None => summary.description.clone(),
        });
        Ok(report)
    }

    /// How this load divides its memory.
    fn budget(&self) -> IngestBudget {
        IngestBudget::new(
            self.options.memory_limit_mb,
            self.options.batch_rows,
            self.options.workers,
        )
    }

    /// Reads and validates the file on blocking threads while its batches stream into the
    /// fact table's partition, and its rejects and links into spill files, so no more than a
    /// few chunks of rows are ever in memory. When the file turns out unreadable or over the
    /// reject ratio, the stream ends in an error and the write is abandoned before its
    /// commit.
    async fn stream_into_fact_table(
        &mut self,
        landed: &LandedFile,
        sha256: &str,
        metadata: Vec<(String, serde_json::Value)>,
    ) -> Result<ReadOutcome> {
        let geography = Arc::clone(&self.geography);
        let pseudonymiser = Arc::clone(&self.pseudonymiser);
        let fact = fact_spec(landed.delivery.kind)?;
        let budget = self.budget();
        let (sender, receiver) = tokio::sync::mpsc::channel::<DfResult<RecordBatch>>(2);
        let reader_landed = landed.clone();
        let options = self.options.clone();
        let sha256 = sha256.to_string();
        // Set by the reader once the whole file is read and accepted. A stream that ends
        // without it (the reader failed to start, or panicked) ends in an error, so that the
        // write is abandoned instead of committing what it got.
        let accepted = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader_accepted = Arc::clone(&accepted);
        let reader = tokio::task::spawn_blocking(move || {
            let landed = reader_landed;
            let mut sink = match LoadSink::new(&landed, &sha256, sender) {
                Ok(sink) => sink,
                Err(e) => {
                    let aborted = ansinh_extract::Error::Aborted {
                        file: landed.relative.clone(),
                    };
                    return (Err(aborted), Err(e));
                }
            };
            let result = (|| {
                let (mut rows, parsed) =
                    open_rows(&landed.path, &landed.relative, options.encoding)?;
                if ansinh_core::failpoint("ingest.reader_panics") {
                    panic!("failpoint ingest.reader_panics");
                }
                if ansinh_core::failpoint("ingest.file_changes_after_hashing") {
                    let text = std::fs::read(&landed.path).unwrap_or_default();
                    let _ = std::fs::write(&landed.path, &text[..text.len() / 2]);
                }
                let extractor = Extractor::new(
                    &landed.delivery,
                    &geography,
                    &pseudonymiser,
                    budget.batch_rows,
                    budget.workers,
                );
                let summary = extractor.run(&landed.relative, rows.as_mut(), &mut sink)?;
                // What was parsed must be the file that was hashed (and is recorded).
                let changed = || ansinh_extract::Error::Changed {
                    file: landed.relative.clone(),
                };
                match parsed.finish() {
                    Ok((digest, _)) if digest == sha256 => Ok(summary),
                    Ok(_) | Err(ansinh_extract::Error::Changed { .. }) => Err(changed()),
                    Err(e) => Err(e),
                }
            })();
            let refusal = match &result {
                Ok(summary) if summary.reject_ratio() > options.max_reject_ratio => {
                    Some("the delivery is refused: too many rows rejected".to_string())
                }
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            };
            match refusal {
                Some(reason) => {
                    let _ = sink
                        .sender
                        .blocking_send(Err(DataFusionError::Execution(reason)));
                }
                None => reader_accepted.store(true, std::sync::atomic::Ordering::SeqCst),
            }
            (result, sink.finish())
        });
        let batches = futures::stream::unfold(Some(receiver), move |receiver| {
            let accepted = Arc::clone(&accepted);
            async move {
                let mut receiver = receiver?;
                match receiver.recv().await {
                    Some(item) => Some((item, Some(receiver))),
                    None if accepted.load(std::sync::atomic::Ordering::SeqCst) => None,
                    None => Some((
                        Err(DataFusionError::Execution(
                            "the file's reading stopped before its end".into(),
                        )),
                        None,
                    )),
                }
            }
        });
        let stream = Box::pin(RecordBatchStreamAdapter::new((fact.schema)(), batches));
        let replace = col(c::PERIOD)
            .eq(lit(landed.delivery.period.to_string()))
            .and(col(c::OFFICE).eq(lit(landed.delivery.office.clone())));
        let written = self
            .warehouse
            .write_stream(
                &fact,
                stream,
                WriteMode::ReplaceWhere(replace),
                metadata,
                budget.layout,
            )
            .await;
        let (extracted, spills) = reader
            .await
            .map_err(|e| Error::from_join("reading the file", e))?;
        Ok(ReadOutcome {
            extracted,
            written,
            spills,
        })
    }

    /// Records `landed` as refused with `message`: the fact table is as it was.
    async fn refuse(
        &mut self,
        landed: &LandedFile,
        sha256: &str,
        bytes: i64,
        etag: Option<String>,
        summary: Option<&ExtractSummary>,
        message: String,
    ) -> Result<LoadReport> {
        let record = self
            .record(
                landed,
                sha256,
                bytes,
                Outcome::Refused,
                summary,
                Some(message),
            )
            .await?;
        let record = LoadRecord { etag, ..record };
        self.append_load(record.clone()).await?;
        Ok(report_from(landed, Outcome::Refused, &record))
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
        // A name the code does not know: how a bug reaches the operator.
        let name = if ansinh_core::failpoint("ingest.unknown_table") {
            "no_such_table"
        } else {
            tables::fact(landed.delivery.kind)
        };
        let fact = self.warehouse.table(table_spec(name)?.name).await?;
        Ok(LoadRecord {
            file: landed.relative.clone(),
            sha256: sha256.to_string(),
            bytes,
            kind: landed.delivery.kind.name().to_string(),
            period: landed.delivery.period.to_string(),
            office: landed.delivery.office.clone(),
            rows_read: summary.map(|s| s.rows_read as i64).unwrap_or(0),
            rows_loaded: summary.map(|s| s.rows_loaded as i64).unwrap_or(0),
            rows_rejected: summary.map(|s| s.rows_rejected as i64).unwrap_or(0),
            outcome,
            table_version: fact.version().map(|v| v as i64),
            loaded_at: self.history.next_timestamp(),
            message,
            extra_columns: summary
                .filter(|s| !s.extra_columns.is_empty())
                .map(|s| s.extra_columns.join(", ")),
            etag: None,
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
        .first_rejects
        .iter()
        .map(|r| RejectLine {
            line: r.line,
            field: r.field.to_string(),
            reason: r.reason.code().to_string(),
            value: r.value.clone(),
        })
        .collect()
}

/// What reading a file gave: the extraction's summary, the fact write's version, and the
/// spilled rejects and links (or what stopped them).
struct ReadOutcome {
    extracted: std::result::Result<ExtractSummary, ansinh_extract::Error>,
    written: Result<i64>,
    spills: Result<Spills>,
}

/// A delivery's rejects and identity links, on disk until its facts commit.
struct Spills {
    rejects: Spill,
    links: Spill,
}

/// Sends a file's rows to the fact write and its rejects and links to spill files.
struct LoadSink {
    sender: tokio::sync::mpsc::Sender<DfResult<RecordBatch>>,
    spills: Spills,
    /// What stopped a spill; the extraction is told only that it was aborted.
    failed: Option<Error>,
    landed: LandedFile,
    sha256: String,
}

impl LoadSink {
    fn new(
        landed: &LandedFile,
        sha256: &str,
        sender: tokio::sync::mpsc::Sender<DfResult<RecordBatch>>,
    ) -> Result<Self> {
        Ok(Self {
            sender,
            spills: Spills {
                rejects: Spill::new("rejects", schema::rejects())?,
                links: Spill::new("identity links", schema::person_links())?,
            },
            failed: None,
            landed: landed.clone(),
            sha256: sha256.to_string(),
        })
    }

    fn aborted(&self) -> ansinh_extract::Error {
        ansinh_extract::Error::Aborted {
            file: self.landed.relative.clone(),
        }
    }

    fn spilled(&mut self, result: Result<()>) -> ansinh_extract::Result<()> {
        result.map_err(|e| {
            self.failed = Some(e);
            self.aborted()
        })
    }

    fn finish(self) -> Result<Spills> {
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.spills),
        }
    }
}

impl ExtractSink for LoadSink {
    fn rows(&mut self, batch: RecordBatch) -> ansinh_extract::Result<()> {
        self.sender
            .blocking_send(Ok(batch))
            .map_err(|_| self.aborted())
    }

    fn rejects(&mut self, rejects: &[Reject]) -> ansinh_extract::Result<()> {
        let spilled = rejects_batch(&self.landed, &self.sha256, rejects)
            .and_then(|batch| self.spills.rejects.push(&batch));
        self.spilled(spilled)
    }

    fn links(&mut self, batch: RecordBatch) -> ansinh_extract::Result<()> {
        let spilled = self.spills.links.push(&batch);
        self.spilled(spilled)
    }
}

fn rejects_batch(landed: &LandedFile, sha256: &str, rejects: &[Reject]) -> Result<RecordBatch> {
    let n = rejects.len();
    let constant = |v: &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(v, n)))
    };
    let columns: Vec<ArrayRef> = vec![
        constant(landed.delivery.kind.name()),
        constant(&landed.delivery.period.to_string()),
        constant(&landed.delivery.office),
        constant(&landed.relative),
        constant(sha256),
        Arc::new(
            rejects
                .iter()
                .map(|r| Some(r.line as i64))
                .collect::<Int64Array>(),
        ),
        Arc::new(
            rejects
                .iter()
                .map(|r| Some(r.field))
                .collect::<StringArray>(),
        ),
        Arc::new(
            rejects
                .iter()
                .map(|r| Some(r.reason.code()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            rejects
                .iter()
                .map(|r| r.value.as_deref())
                .collect::<StringArray>(),
        ),
    ];
    Ok(RecordBatch::try_new(schema::rejects(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_sizes_chunks_and_files_to_the_limit() {
        let small = IngestBudget::new(192, 65_536, 2);
        let default = IngestBudget::new(512, 65_536, 2);
        let large = IngestBudget::new(4096, 65_536, 2);
        // Chunks grow with the budget up to `batch_rows`; files and row groups grow with it.
        assert!(small.batch_rows < default.batch_rows);
        assert_eq!(large.batch_rows, 65_536);
        assert!(small.layout.target_file_bytes < default.layout.target_file_bytes);
        assert!(small.layout.row_group_rows < default.layout.row_group_rows);
        assert_eq!(large.layout.target_file_bytes, 128 * 1024 * 1024);
        // What the budget plans to hold stays within half of the limit above the base.
        for budget_mb in [192, 256, 512, 1024, 4096] {
            let b = IngestBudget::new(budget_mb, 65_536, 2);
            let chunks = (Extractor::chunks_in_flight(b.workers) + 3)
                * b.batch_rows
                * IngestBudget::ROW_BYTES_IN_FLIGHT;
            let writer = b.layout.target_file_bytes as usize
                + b.layout.row_group_rows * IngestBudget::ROW_BYTES_IN_WRITER;
            let above_base = (budget_mb - IngestBudget::BASE_MB) * 1024 * 1024;
            assert!(
                chunks + writer <= above_base / 2,
                "{budget_mb}: {}",
                chunks + writer
            );
        }
        // A budget below the minimum is raised to it; more workers mean smaller chunks.
        assert_eq!(IngestBudget::new(10, 65_536, 2), small);
        assert!(IngestBudget::new(192, 65_536, 8).batch_rows < small.batch_rows);
        assert_eq!(IngestBudget::new(512, 1_000, 2).batch_rows, 1_024);
    }
}
