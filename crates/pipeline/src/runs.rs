//! The `_runs` table: what each run did, written when it ends.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use chrono::{DateTime, Utc};
use serde::Serialize;

use ansinh_warehouse::values::{integers, strings};
use ansinh_warehouse::{Warehouse, WriteMode, table_spec, tables};

use crate::error::Result;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RunStatus {
    /// Everything pending was done.
    Success,
    /// Nothing was pending.
    NothingToDo,
    /// Loaded what arrived; expected offices are still missing (policy `partial`).
    Partial,
    /// A period waits for missing offices (policy `wait`); nothing of it was loaded.
    Waiting,
    /// Finished, but data failed: refused deliveries, required offices missing, or failing
    /// data tests (exit 1).
    DataFailed,
    /// An infrastructure error stopped work (exit 3); the next run retries it.
    Failed,
    /// Stopped by a signal between steps.
    Interrupted,
}

impl RunStatus {
    /// The name stored in `_runs`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Whether the notification for success applies.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Self::Success | Self::NothingToDo | Self::Partial | Self::Waiting
        )
    }

    /// The more severe of two statuses.
    pub fn worst(self, other: Self) -> Self {
        let rank = |s: Self| match s {
            Self::NothingToDo => 0,
            Self::Success => 1,
            Self::Waiting => 2,
            Self::Partial => 3,
            Self::DataFailed => 4,
            Self::Interrupted => 5,
            Self::Failed => 6,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// What a step of a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StepKind {
    /// Planning the run: listing the landing area, reading the history.
    Plan,
    /// Loading the reference tables.
    Reference,
    /// Loading a period's deliveries of a pipeline.
    Ingest,
    /// Building the models.
    Build,
    /// Running the models' data tests.
    Test,
}

impl StepKind {
    /// The name in `_runs` and summaries.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// What started a run.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Trigger {
    /// `ansinh run` without periods, or with one.
    #[default]
    Manual,
    /// A firing of the scheduler.
    Schedule,
    /// A firing missed while the scheduler was not running, run at its start.
    CatchUp,
    /// `ansinh run --from --to`.
    Backfill,
}

impl Trigger {
    /// The name in `_runs`.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// One step of a run: a period of a pipeline, a reference load, the model build or the tests.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Step {
    /// The pipeline, or `models`.
    pub pipeline: String,
    /// What it does.
    pub step: StepKind,
    /// The period, for ingest steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// How it ended.
    pub status: RunStatus,
    /// Files by outcome (`loaded`, `restated`, `refused`, `unchanged`, `refused-before`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub files: std::collections::BTreeMap<String, u64>,
    /// Rows loaded by this step.
    pub rows_loaded: u64,
    /// Rows rejected by this step.
    pub rows_rejected: u64,
    /// Expected offices that have not delivered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_offices: Vec<String>,
    /// Models built, or failing tests.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Attempts made (more than one after infrastructure errors).
    pub attempts: u32,
    /// Seconds it took.
    pub seconds: f64,
    /// What happened, when there is more to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Step {
    /// A step that has not done anything yet.
    pub fn new(pipeline: &str, step: StepKind, period: Option<String>) -> Self {
        Self {
            pipeline: pipeline.to_string(),
            step,
            period,
            status: RunStatus::NothingToDo,
            files: Default::default(),
            rows_loaded: 0,
            rows_rejected: 0,
            missing_offices: Vec::new(),
            models: Vec::new(),
            attempts: 0,
            seconds: 0.0,
            message: None,
        }
    }

    /// Files of this step with `outcome`.
    pub fn count(&self, outcome: &str) -> u64 {
        self.files.get(outcome).copied().unwrap_or(0)
    }
}

/// A whole run: one row of `_runs`, the summary printed and given to notification hooks.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunRecord {
    /// Unique id.
    pub run_id: String,
    /// The pipelines run, comma-separated.
    pub pipeline: String,
    /// What started it.
    pub trigger: Trigger,
    /// The periods asked for (`2024-01`, `2024-01..2024-06`), or none for all pending.
    pub periods: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub status: RunStatus,
    /// The process exit code.
    pub exit_code: u8,
    /// Files loaded for the first time.
    pub files_loaded: u64,
    /// Files that replaced an earlier load.
    pub files_restated: u64,
    /// Files refused.
    pub files_refused: u64,
    /// Files already loaded in the same form.
    pub files_unchanged: u64,
    /// Models built.
    pub models_built: u64,
    /// Data tests that failed.
    pub tests_failed: u64,
    /// Every step.
    pub steps: Vec<Step>,
    /// The error that stopped the run, if any.
    pub message: Option<String>,
}

impl RunRecord {
    /// Seconds from start to end.
    pub fn seconds(&self) -> f64 {
        (self.finished_at - self.started_at).num_milliseconds() as f64 / 1000.0
    }
}

/// A new run id: the start time and a random suffix.
pub fn new_run_id(started: DateTime<Utc>) -> String {
    let nanos = started.timestamp_subsec_nanos() ^ std::process::id().rotate_left(16);
    format!("{}-{:08x}", started.format("%Y%m%dT%H%M%SZ"), nanos)
}

fn to_batch(run: &RunRecord) -> Result<RecordBatch> {
    let text = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v])) };
    let int = |v: u64| -> ArrayRef { Arc::new(Int64Array::from(vec![v as i64])) };
    let at = |t: DateTime<Utc>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(vec![t.timestamp_micros()]).with_timezone("UTC"))
    };
    let steps = serde_json::to_string(&run.steps).unwrap_or_else(|_| "[]".into());
    let columns: Vec<ArrayRef> = vec![
        text(&run.run_id),
        text(&run.pipeline),
        text(run.trigger.name()),
        Arc::new(StringArray::from(vec![run.periods.clone()])),
        at(run.started_at),
        at(run.finished_at),
        text(run.status.name()),
        Arc::new(Int32Array::from(vec![i32::from(run.exit_code)])),
        int(run.files_loaded),
        int(run.files_restated),
        int(run.files_refused),
        int(run.files_unchanged),
        int(run.models_built),
        int(run.tests_failed),
        text(&steps),
        Arc::new(StringArray::from(vec![run.message.clone()])),
    ];
    Ok(RecordBatch::try_new(ansinh_core::schema::runs(), columns)
        .map_err(ansinh_warehouse::Error::from)?)
}

/// Appends the run to `_runs`.
pub async fn append(warehouse: &Warehouse, run: &RunRecord) -> Result<i64> {
    let spec = table_spec(tables::RUNS)?;
    let metadata = vec![("ansinh.run_id".to_string(), serde_json::json!(run.run_id))];
    Ok(warehouse
        .write(&spec, vec![to_batch(run)?], WriteMode::Append, metadata)
        .await?)
}

/// A row of `_runs` as read back (steps stay JSON text).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunRow {
    /// Unique id.
    pub run_id: String,
    /// The pipelines run.
    pub pipeline: String,
    /// What started it.
    pub trigger: String,
    /// The periods asked for.
    pub periods: Option<String>,
    /// Start, RFC 3339.
    pub started_at: DateTime<Utc>,
    /// End, RFC 3339.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub status: String,
    /// Exit code.
    pub exit_code: i32,
    /// Files loaded.
    pub files_loaded: i64,
    /// Files restated.
    pub files_restated: i64,
    /// Files refused.
    pub files_refused: i64,
    /// Files unchanged.
    pub files_unchanged: i64,
    /// Models built.
    pub models_built: i64,
    /// Failing data tests.
    pub tests_failed: i64,
    /// Steps, JSON.
    pub steps: serde_json::Value,
    /// Error, if any.
    pub message: Option<String>,
}

/// The most recent `limit` runs, newest first; only those of `pipeline` when given.
pub async fn recent(
    warehouse: &Warehouse,
    pipeline: Option<&str>,
    limit: usize,
) -> Result<Vec<RunRow>> {
    let table = warehouse.table(tables::RUNS).await?;
    if table.version().is_none() {
        return Ok(Vec::new());
    }
    let batches = warehouse
        .query(&format!(
            "SELECT * FROM {} ORDER BY started_at DESC",
            tables::RUNS
        ))
        .await?;
    let b = &batches;
    let (id, names, trigger, periods, status, steps, message) = (
        strings(b, "run_id")?,
        strings(b, "pipeline")?,
        strings(b, "trigger")?,
        strings(b, "periods")?,
        strings(b, "status")?,
        strings(b, "steps")?,
        strings(b, "message")?,
    );
    let (started, finished, code) = (
        integers(b, "started_at")?,
        integers(b, "finished_at")?,
        integers(b, "exit_code")?,
    );
    let counts = [
        integers(b, "files_loaded")?,
        integers(b, "files_restated")?,
        integers(b, "files_refused")?,
        integers(b, "files_unchanged")?,
        integers(b, "models_built")?,
        integers(b, "tests_failed")?,
    ];
    let when = |v: Option<i64>| DateTime::from_timestamp_micros(v.unwrap_or(0)).unwrap_or_default();
    let mut out = Vec::new();
    for r in 0..id.len() {
        let listed = names[r].clone().unwrap_or_default();
        if pipeline.is_some_and(|p| !listed.split(',').any(|n| n == p)) {
            continue;
        }
        let n = |k: usize| counts[k][r].unwrap_or(0);
        out.push(RunRow {
            run_id: id[r].clone().unwrap_or_default(),
            pipeline: listed,
            trigger: trigger[r].clone().unwrap_or_default(),
            periods: periods[r].clone(),
            started_at: when(started[r]),
            finished_at: when(finished[r]),
            status: status[r].clone().unwrap_or_default(),
            exit_code: code[r].unwrap_or(0) as i32,
            files_loaded: n(0),
            files_restated: n(1),
            files_refused: n(2),
            files_unchanged: n(3),
            models_built: n(4),
            tests_failed: n(5),
            steps: steps[r]
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default(),
            message: message[r].clone(),
        });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    out.truncate(limit);
    Ok(out)
}
