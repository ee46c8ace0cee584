//! The one loader of deliveries, for `ansinh ingest`, `ansinh run` and `ansinh demo`: the
//! landing area is listed once, each file planned once (a local file hashed, a remote object
//! known by its entity tag or left for its one download), and the plan carried to the load.

use std::collections::BTreeMap;
use std::time::Duration;

use ansinh_core::{Classify, DeliveryKind, YearMonth};
use ansinh_extract::Geography;
use ansinh_warehouse::Warehouse;
use ansinh_warehouse::history::{LoadHistory, Outcome};
use ansinh_warehouse::ingest::{
    IngestOptions, Ingestor, LoadReport, PlannedFile, Reload, plan_file,
};
use ansinh_warehouse::landing::{LandingArea, LandingScan, ListedFile};
use ansinh_warehouse::reference::{ReferenceReport, load_reference};
use ansinh_warehouse::source::{SourceListing, SourcePattern};

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::lock::{self, WarehouseLock};

/// How an operation that failed for a reason outside ansinh is tried again: `retries` more
/// times, waiting `backoff_seconds`, then twice as long each time (at most 1024 times as long).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retry {
    /// Attempts after the first.
    pub retries: u32,
    /// The first wait.
    pub backoff_seconds: u64,
}

impl Retry {
    /// The wait before attempt `attempt + 1` (after `attempt` failed), if one is left.
    pub fn wait(self, attempt: u32) -> Option<Duration> {
        (attempt <= self.retries).then(|| {
            Duration::from_secs(
                self.backoff_seconds
                    .saturating_mul(1u64 << (attempt.saturating_sub(1)).min(10)),
            )
        })
    }

    /// Sleeps `wait`, waking early when `env` is cancelled; false when it was.
    pub async fn sleep(wait: Duration, env: &Environment) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline {
            if env.cancelled() {
                return false;
            }
            let left = deadline - tokio::time::Instant::now();
            tokio::time::sleep(left.min(Duration::from_millis(200))).await;
        }
        !env.cancelled()
    }
}

/// Loads deliveries into one warehouse, keeping the history as it goes.
pub struct Loader<'w> {
    warehouse: &'w Warehouse,
    geography: Geography,
    history: LoadHistory,
    ingestor: Option<Ingestor<'w>>,
    /// Landing listings by prefix, so that the landing area is listed once per run.
    listings: BTreeMap<(bool, String), Vec<ListedFile>>,
}

impl<'w> Loader<'w> {
    /// Reads the history of `warehouse` and the geography of `env`.
    pub async fn open(env: &Environment, warehouse: &'w Warehouse) -> Result<Self> {
        Ok(Self {
            warehouse,
            geography: env.geography()?,
            history: LoadHistory::read(warehouse).await?,
            ingestor: None,
            listings: BTreeMap::new(),
        })
    }

    /// The load history, including this run's loads.
    pub fn history(&self) -> &LoadHistory {
        self.ingestor
            .as_ref()
            .map(|i| i.history())
            .unwrap_or(&self.history)
    }

    /// The reference geography.
    pub fn geography(&self) -> &Geography {
        &self.geography
    }

    /// Loads the reference tables that changed; deliveries are then checked against them.
    pub async fn load_reference(&mut self, env: &Environment) -> Result<Vec<ReferenceReport>> {
        let mut history = self.history().clone();
        let reports = load_reference(self.warehouse, &env.reference, &mut history).await?;
        self.history = history;
        self.ingestor = None;
        self.geography = env.geography()?;
        Ok(reports)
    }

    /// The files of the landing area (or of the local disk, for an absolute pattern) under
    /// `pattern`'s prefix, listed once per loader.
    async fn listed(
        &mut self,
        landing: &LandingArea,
        pattern: &SourcePattern,
    ) -> Result<&[ListedFile]> {
        let key = (pattern.is_absolute(), pattern.prefix().to_string());
        if !self.listings.contains_key(&key) {
            let files = if pattern.is_absolute() {
                let root = LandingArea::Local(std::path::PathBuf::from("/"));
                root.list(key.1.trim_start_matches('/')).await?
            } else {
                landing.list(&key.1).await?
            };
            self.listings.insert(key.clone(), files);
        }
        Ok(self
            .listings
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or_default())
    }

    /// The deliveries of `kind` that `pattern` finds.
    pub async fn list(
        &mut self,
        landing: &LandingArea,
        pattern: &SourcePattern,
        kind: DeliveryKind,
    ) -> Result<SourceListing> {
        let files = self.listed(landing, pattern).await?;
        Ok(pattern.select(files, kind))
    }

    /// Every delivery of the landing area named as the contract says.
    pub async fn scan(&mut self, landing: &LandingArea) -> Result<LandingScan> {
        let key = (false, String::new());
        if !self.listings.contains_key(&key) {
            let files = landing.list("").await?;
            self.listings.insert(key.clone(), files);
        }
        Ok(LandingScan::from_listing(
            self.listings
                .get(&key)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        ))
    }

    /// Plans one file against the history: the one decision on it.
    pub async fn plan(
        &self,
        file: &ansinh_warehouse::landing::LandedFile,
        reload: Reload,
    ) -> Result<PlannedFile> {
        Ok(plan_file(file, self.history(), reload).await?)
    }

    async fn ingestor(&mut self, env: &Environment) -> Result<&mut Ingestor<'w>> {
        if self.ingestor.is_none() {
            let options = IngestOptions {
                max_reject_ratio: env.config.ingest.max_reject_ratio,
                batch_rows: env.config.ingest.batch_rows,
                memory_limit_mb: env.config.ingest.memory_limit_mb,
                workers: env.config.ingest.workers,
                encoding: env.config.ingest.encoding,
            };
            let ingestor = Ingestor::new(
                self.warehouse,
                self.history.clone(),
                self.geography.clone(),
                env.key()?,
                options,
            )
            .await?;
            self.ingestor = Some(ingestor);
        }
        match self.ingestor.as_mut() {
            Some(ingestor) => Ok(ingestor),
            None => Err(ansinh_warehouse::Error::Bug("the loader has no ingestor".into()).into()),
        }
    }

    /// Forgets the ingestor after an infrastructure error: the next attempt reads the history
    /// again from what was committed.
    pub async fn reset(&mut self) -> Result<()> {
        self.ingestor = None;
        self.history = LoadHistory::read(self.warehouse).await?;
        Ok(())
    }

    /// Carries out the plan of one file, refused over `max_reject_ratio`; a failure outside
    /// ansinh is tried again as `retry` says, from what was committed. `attempts` is raised to
    /// the attempts made.
    #[allow(clippy::too_many_arguments)]
    pub async fn load(
        &mut self,
        env: &Environment,
        planned: &PlannedFile,
        reload: Reload,
        max_reject_ratio: f64,
        retry: Retry,
        lock: Option<&WarehouseLock>,
        attempts: &mut u32,
    ) -> Result<LoadReport> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            *attempts = (*attempts).max(attempt);
            if lock.is_some_and(|l| l.lost()) {
                return Err(Error::Lock {
                    path: lock::LOCK_OBJECT.into(),
                    message: "this run lost the warehouse lock; stopping before the next write"
                        .into(),
                });
            }
            let ingestor = self.ingestor(env).await?;
            ingestor.options_mut().max_reject_ratio = max_reject_ratio;
            match ingestor.load_planned(planned.clone(), reload).await {
                Ok(report) => return Ok(report),
                Err(e) if e.class().is_retryable() => {
                    let Some(wait) = retry.wait(attempt) else {
                        return Err(e.into());
                    };
                    tracing::warn!(
                        file = %planned.landed.relative,
                        attempt,
                        "infrastructure error, retrying in {}s: {e}",
                        wait.as_secs()
                    );
                    if !Retry::sleep(wait, env).await {
                        return Err(e.into());
                    }
                    self.reset().await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Which deliveries `ansinh ingest` loads.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only this kind.
    pub kind: Option<DeliveryKind>,
    /// Only this month.
    pub period: Option<YearMonth>,
    /// Only this office.
    pub office: Option<String>,
    /// Load again files refused before in the same form.
    pub retry_refused: bool,
}

impl Selection {
    /// Whether the selection takes `delivery`.
    pub fn accepts(&self, delivery: &ansinh_core::Delivery) -> bool {
        self.kind.is_none_or(|k| k == delivery.kind)
            && self.period.is_none_or(|p| p == delivery.period)
            && self.office.as_ref().is_none_or(|o| *o == delivery.office)
    }
}

/// What `ansinh ingest` did.
#[derive(Debug, Default)]
pub struct IngestSummary {
    /// Reference tables loaded or restated.
    pub reference: Vec<ReferenceReport>,
    /// Files of the landing area that are not deliveries, with the reason.
    pub ignored: Vec<(String, String)>,
    /// Files by outcome.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Files refused by this run or before.
    pub refused: u64,
    /// The deliveries of the landing area, as listed.
    pub scan: LandingScan,
}

/// Loads the reference data, then every landed delivery that `selection` accepts, under the
/// warehouse lock taken for `command`; `on_report` is told of each file as it is done.
pub async fn ingest(
    env: &Environment,
    command: &str,
    selection: &Selection,
    mut on_report: impl FnMut(&LoadReport),
) -> Result<IngestSummary> {
    let warehouse = env.warehouse()?;
    lock::locked(
        &warehouse,
        command,
        env.config.run.lock_ttl_seconds,
        async {
            let mut loader = Loader::open(env, &warehouse).await?;
            let mut summary = IngestSummary {
                reference: loader.load_reference(env).await?,
                ..IngestSummary::default()
            };
            let scan = loader.scan(&env.landing).await?;
            summary.ignored = scan.ignored.clone();
            let reload = Reload {
                unchanged: false,
                refused: selection.retry_refused,
            };
            let selected: Vec<_> = scan
                .files
                .iter()
                .filter(|f| selection.accepts(&f.delivery))
                .collect();
            if let Some(bar) = &env.progress {
                bar.set_length(selected.len() as u64);
            }
            for file in selected {
                if let Some(bar) = &env.progress {
                    bar.set_message(file.relative.clone());
                }
                let planned = loader.plan(file, reload).await?;
                let mut attempts = 0;
                let report = loader
                    .load(
                        env,
                        &planned,
                        reload,
                        env.config.ingest.max_reject_ratio,
                        Retry::default(),
                        None,
                        &mut attempts,
                    )
                    .await?;
                on_report(&report);
                *summary.outcomes.entry(report.outcome).or_default() += 1;
                if matches!(report.outcome, Outcome::Refused | Outcome::RefusedBefore) {
                    summary.refused += 1;
                }
                if let Some(bar) = &env.progress {
                    bar.inc(1);
                }
            }
            if let Some(bar) = &env.progress {
                bar.finish_and_clear();
            }
            summary.scan = scan;
            Ok(summary)
        },
    )
    .await
}
