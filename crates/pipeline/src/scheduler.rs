//! The built-in scheduler's bookkeeping: when each pipeline fires next, which missed firings
//! to catch up, and the state file `ansinh status` reads.
//!
//! Pipelines run one at a time, so a pipeline never overlaps itself; firings missed while a
//! run was going on are coalesced into the next one (each run does all pending work anyway).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use ansinh_warehouse::Warehouse;
use chrono::{DateTime, Utc};
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::lock::host_name;
use crate::runs;
use crate::spec::Pipeline;

/// The state object under the warehouse root.
pub const STATE_OBJECT: &str = "_scheduler.json";

/// Longest sleep between two looks at the clock (the state file is renewed as often).
const TICK: Duration = Duration::from_secs(30);

/// What a running scheduler publishes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchedulerState {
    /// Host of the scheduler.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last wrote this state; older than a minute or two means it is gone.
    pub heartbeat_at: DateTime<Utc>,
    /// The next firing of each pipeline.
    pub next_runs: BTreeMap<String, DateTime<Utc>>,
}

/// Fires pipelines on their cron schedules.
#[derive(Debug)]
pub struct Scheduler {
    pipelines: Vec<Pipeline>,
    next: BTreeMap<String, DateTime<Utc>>,
    catch_up: VecDeque<String>,
    started_at: DateTime<Utc>,
}

impl Scheduler {
    /// Plans the first firings. With `catch_up`, a pipeline (whose own `catch_up` is on) whose
    /// last firing before now has no scheduled run since is run once at start.
    pub async fn new(
        pipelines: Vec<Pipeline>,
        warehouse: &Warehouse,
        catch_up: bool,
    ) -> Result<Self> {
        let now = Utc::now();
        let mut next = BTreeMap::new();
        let mut missed = VecDeque::new();
        let history = runs::recent(warehouse, None, 10_000).await?;
        for pipeline in &pipelines {
            let Some(cron) = &pipeline.schedule else {
                continue;
            };
            if let Some(at) = cron.next_after(now) {
                next.insert(pipeline.name.clone(), at);
            }
            if !(catch_up && pipeline.catch_up) {
                continue;
            }
            let Some(previous) = cron.last_at_or_before(now) else {
                continue;
            };
            let last_scheduled = history
                .iter()
                .filter(|r| {
                    [runs::Trigger::Schedule, runs::Trigger::CatchUp]
                        .iter()
                        .any(|t| r.trigger == t.name())
                })
                .filter(|r| r.pipeline.split(',').any(|n| n == pipeline.name))
                .map(|r| r.started_at)
                .max();
            if last_scheduled.is_none_or(|last| last < previous) {
                tracing::info!(
                    pipeline = %pipeline.name,
                    missed = %previous.to_rfc3339(),
                    "catching up a missed firing"
                );
                missed.push_back(pipeline.name.clone());
            }
        }
        Ok(Self {
            pipelines,
            next,
            catch_up: missed,
            started_at: now,
        })
    }

    /// The next firing of each pipeline.
    pub fn next_runs(&self) -> Vec<(String, DateTime<Utc>)> {
        self.next.iter().map(|(n, t)| (n.clone(), *t)).collect()
    }

    /// A pipeline to run now and its trigger (`catch-up` or `schedule`), if any is due.
    pub fn due(&mut self, now: DateTime<Utc>) -> Option<(Pipeline, runs::Trigger)> {
        let find = |name: &str| self.pipelines.iter().find(|p| p.name == name).cloned();
        if let Some(name) = self.catch_up.pop_front() {
            return find(&name).map(|p| (p, runs::Trigger::CatchUp));
        }
        let (name, _) = self
            .next
            .iter()
            .filter(|(_, at)| **at <= now)
            .min_by_key(|(_, at)| **at)?;
        find(name).map(|p| (p, runs::Trigger::Schedule))
    }

    /// Records that `name` ran: its next firing is the first after now (firings missed while it
    /// ran are coalesced).
    pub fn fired(&mut self, name: &str, fired_at: DateTime<Utc>) {
        let after = Utc::now().max(fired_at);
        let next = self
            .pipelines
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.schedule.as_ref())
            .and_then(|c| c.next_after(after));
        match next {
            Some(at) => {
                self.next.insert(name.to_string(), at);
            }
            None => {
                self.next.remove(name);
            }
        }
    }

    /// How long to sleep: until the next firing, at most [`TICK`].
    pub fn until_next(&self, now: DateTime<Utc>) -> Duration {
        if !self.catch_up.is_empty() {
            return Duration::ZERO;
        }
        self.next
            .values()
            .min()
            .map(|at| (*at - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(TICK)
            .min(TICK)
    }

    /// Publishes the state for `ansinh status`; failures are logged.
    pub async fn write_state(&self, warehouse: &Warehouse) {
        let state = SchedulerState {
            host: host_name(),
            pid: std::process::id(),
            started_at: self.started_at,
            heartbeat_at: Utc::now(),
            next_runs: self.next.clone(),
        };
        let Ok(body) = serde_json::to_vec_pretty(&state) else {
            return;
        };
        match state_location(warehouse) {
            Some((store, path)) => {
                if let Err(e) = store.put(&path, PutPayload::from(body)).await {
                    tracing::warn!("cannot write the scheduler state: {e}");
                }
            }
            None => tracing::warn!("cannot locate the scheduler state"),
        }
    }

    /// Removes the state when the scheduler stops.
    pub async fn clear_state(&self, warehouse: &Warehouse) {
        if let Some((store, path)) = state_location(warehouse) {
            let _ = store.delete(&path).await;
        }
    }
}

fn state_location(
    warehouse: &Warehouse,
) -> Option<(
    std::sync::Arc<dyn object_store::ObjectStore>,
    object_store::path::Path,
)> {
    let url = warehouse.location().root().join(STATE_OBJECT).ok()?;
    let (store, _) = warehouse.store().ok()?;
    Some((store, ansinh_warehouse::storage::object_path(&url).ok()?))
}

/// The state of a running scheduler, if one has published it.
pub async fn read_state(warehouse: &Warehouse) -> Option<SchedulerState> {
    let (store, path) = state_location(warehouse)?;
    let bytes = store.get(&path).await.ok()?.bytes().await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Fires each of `pipelines` on its cron until `env` is cancelled (SIGTERM or SIGINT through
/// [`crate::environment::watch_signals`], which wakes `wake`). A run that fails for a reason
/// outside ansinh (a held lock, storage) is tried again with the pipeline's backoff;
/// `on_run` is told of each finished run.
pub async fn serve(
    env: &crate::Environment,
    pipelines: Vec<Pipeline>,
    catch_up: bool,
    wake: &tokio::sync::Notify,
    mut on_run: impl FnMut(&Pipeline, &crate::RunOutcome),
) -> Result<()> {
    let warehouse = env.warehouse()?;
    let mut scheduler = Scheduler::new(pipelines, &warehouse, catch_up).await?;
    for (name, at) in scheduler.next_runs() {
        tracing::info!(pipeline = %name, next = %at.to_rfc3339(), "scheduled");
    }
    loop {
        scheduler.write_state(&warehouse).await;
        if env.cancelled() {
            break;
        }
        let now = Utc::now();
        if let Some((pipeline, trigger)) = scheduler.due(now) {
            let options = crate::RunOptions {
                trigger,
                ..crate::RunOptions::default()
            };
            let outcome = run_with_retries(env, &pipeline, &options).await;
            scheduler.fired(&pipeline.name, now);
            match outcome {
                Ok(outcome) => {
                    crate::hooks::notify(std::slice::from_ref(&pipeline), &outcome.record).await;
                    on_run(&pipeline, &outcome);
                }
                Err(e) => tracing::error!(pipeline = %pipeline.name, "run failed: {e}"),
            }
            continue;
        }
        let wait = scheduler.until_next(now);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
        }
    }
    scheduler.clear_state(&warehouse).await;
    tracing::info!("scheduler stopped");
    Ok(())
}

/// One scheduled run; a held lock or another infrastructure error is retried with the
/// pipeline's backoff, unless a signal stops the scheduler first.
async fn run_with_retries(
    env: &crate::Environment,
    pipeline: &Pipeline,
    options: &crate::RunOptions,
) -> Result<crate::RunOutcome> {
    use ansinh_core::Classify;
    let retry = crate::loader::Retry {
        retries: pipeline.retries,
        backoff_seconds: pipeline.retry_backoff_seconds,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match crate::run(env, std::slice::from_ref(pipeline), options).await {
            Err(e) if e.class().is_retryable() => {
                let Some(wait) = retry.wait(attempt) else {
                    return Err(e);
                };
                tracing::warn!(
                    pipeline = %pipeline.name,
                    attempt,
                    "retrying in {}s: {e}",
                    wait.as_secs()
                );
                if !crate::loader::Retry::sleep(wait, env).await {
                    return Err(e);
                }
            }
            other => return other,
        }
    }
}
