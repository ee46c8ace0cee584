//! Runs pipelines: plans the pending work, loads it, builds and tests the models whose inputs
//! changed, and records the run in `_runs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ansinh_core::{Classify, DeliveryKind, YearMonth};
use ansinh_extract::Geography;
use ansinh_models::freshness::{State, freshness};
use ansinh_models::partition::{self, plans};
use ansinh_models::{
    BuildOptions, Inputs, Project, Target, build_fingerprinted, fingerprints, run_tests, select,
};
use ansinh_warehouse::history::Outcome;
use ansinh_warehouse::ingest::{FilePlan, PlannedFile, Reload};
use ansinh_warehouse::{Warehouse, tables};
use chrono::Utc;

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::loader::{Loader, Retry};
use crate::lock::WarehouseLock;
use crate::runs::{self, RunRecord, RunStatus, Step, StepKind, Trigger};
use crate::spec::{Completeness, ExpectedOffices, Pipeline, PipelineKind};

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The periods; every period with deliveries when `None`.
    pub periods: Option<Vec<YearMonth>>,
    /// How the periods were asked for, as recorded in `_runs`.
    pub periods_label: Option<String>,
    /// Print the plan; change nothing.
    pub dry_run: bool,
    /// Load every delivery again and rebuild every selected model.
    pub full_refresh: bool,
    /// Stop at the first period that fails.
    pub fail_fast: bool,
    /// What started the run.
    pub trigger: Trigger,
}

impl RunOptions {
    /// When files the warehouse holds are loaded again.
    pub fn reload(&self) -> Reload {
        Reload {
            unchanged: self.full_refresh,
            refused: self.full_refresh,
        }
    }
}

/// One line of a plan.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanItem {
    /// The pipeline, or `models`.
    pub pipeline: String,
    /// The period, for deliveries.
    pub period: Option<String>,
    /// What would be done.
    pub action: String,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The run as recorded (not recorded for a dry run).
    pub record: RunRecord,
    /// The plan (what a dry run would do; what a real run found to do).
    pub plan: Vec<PlanItem>,
}

/// The pending work of one period of one pipeline.
#[derive(Debug)]
struct PeriodWork {
    pipeline: usize,
    period: YearMonth,
    to_load: Vec<PlannedFile>,
    unchanged: u64,
    refused_before: Vec<String>,
    missing: Vec<String>,
    ambiguous: Vec<String>,
}

fn expected_offices(
    pipeline: &Pipeline,
    kind: DeliveryKind,
    geography: &Geography,
    period: YearMonth,
) -> Vec<String> {
    match &pipeline.offices {
        ExpectedOffices::Registry => geography
            .offices()
            .expected(kind.name(), period)
            .into_iter()
            .map(|o| o.code.clone())
            .collect(),
        ExpectedOffices::List(list) => list.clone(),
    }
}

/// The exit code of a run status: 0, 1 (data failed) or 3 (retry).
pub fn exit_code(status: RunStatus) -> u8 {
    match status {
        RunStatus::DataFailed => 1,
        RunStatus::Failed | RunStatus::Interrupted => 3,
        _ => 0,
    }
}

/// Plans the deliveries of one fact pipeline: for every period, what to load.
async fn plan_deliveries(
    index: usize,
    pipeline: &Pipeline,
    kind: DeliveryKind,
    env: &Environment,
    loader: &mut Loader<'_>,
    options: &RunOptions,
) -> Result<Vec<PeriodWork>> {
    let Some(source) = &pipeline.source else {
        return Ok(Vec::new());
    };
    let listing = loader
        .list(&env.landing, source, kind)
        .await
        .map_err(|e| Error::Source {
            pipeline: pipeline.name.clone(),
            source_dir: source.text().to_string(),
            message: e.to_string(),
            class: e.class(),
        })?;
    let mut by_period: BTreeMap<YearMonth, Vec<_>> = BTreeMap::new();
    for file in listing.files {
        by_period
            .entry(file.delivery.period)
            .or_default()
            .push(file);
    }
    let mut ambiguous: BTreeMap<YearMonth, Vec<String>> = BTreeMap::new();
    for file in listing.ambiguous {
        ambiguous
            .entry(file.delivery.period)
            .or_default()
            .push(file.relative);
    }
    let periods: BTreeSet<YearMonth> = match &options.periods {
        Some(asked) => asked.iter().copied().collect(),
        None => by_period.keys().chain(ambiguous.keys()).copied().collect(),
    };
    let reload = options.reload();
    let mut out = Vec::new();
    for period in periods {
        if pipeline.first_period.is_some_and(|first| period < first) {
            continue;
        }
        let files = by_period.remove(&period).unwrap_or_default();
        // An office has delivered when its file is there or was loaded before (the file may
        // have been archived since).
        let arrived: BTreeSet<&str> = files.iter().map(|f| f.delivery.office.as_str()).collect();
        let history = loader.history();
        let loaded_before = |office: &str| {
            history
                .current(&ansinh_core::Delivery {
                    kind,
                    period,
                    office: office.to_string(),
                })
                .is_some()
        };
        let missing: Vec<String> = expected_offices(pipeline, kind, loader.geography(), period)
            .into_iter()
            .filter(|o| !arrived.contains(o.as_str()) && !loaded_before(o))
            .collect();
        let mut work = PeriodWork {
            pipeline: index,
            period,
            to_load: Vec::new(),
            unchanged: 0,
            refused_before: Vec::new(),
            missing,
            ambiguous: ambiguous.remove(&period).unwrap_or_default(),
        };
        for file in &files {
            let planned = loader.plan(file, reload).await?;
            match &planned.plan {
                FilePlan::Load { .. } => work.to_load.push(planned),
                FilePlan::Skip {
                    outcome: Outcome::RefusedBefore,
                    ..
                } => work.refused_before.push(planned.landed.relative),
                FilePlan::Skip { .. } => work.unchanged += 1,
            }
        }
        out.push(work);
    }
    Ok(out)
}

fn describe(work: &PeriodWork, pipeline: &Pipeline) -> String {
    let mut parts = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for planned in &work.to_load {
        if let FilePlan::Load { reason, .. } = &planned.plan {
            *counts.entry(reason.name()).or_default() += 1;
        }
    }
    let blocked = !work.missing.is_empty()
        && matches!(
            pipeline.completeness,
            Completeness::Wait | Completeness::Require
        );
    if !counts.is_empty() {
        let what = counts
            .iter()
            .map(|(why, n)| format!("{n} {why}"))
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(if blocked {
            format!("hold {what}")
        } else {
            format!("load {what}")
        });
    }
    if work.unchanged > 0 {
        parts.push(format!("{} unchanged", work.unchanged));
    }
    if !work.refused_before.is_empty() {
        parts.push(format!(
            "still refused (unchanged since): {}",
            work.refused_before.join(", ")
        ));
    }
    if !work.missing.is_empty() {
        let policy = match pipeline.completeness {
            Completeness::Wait => "wait: nothing loaded until they deliver",
            Completeness::Partial => "partial: load what arrived",
            Completeness::Require => "require: the period fails",
        };
        parts.push(format!(
            "missing offices {} ({policy})",
            work.missing.join(", ")
        ));
    }
    if !work.ambiguous.is_empty() {
        parts.push(format!(
            "ambiguous, not loaded: {}",
            work.ambiguous.join(", ")
        ));
    }
    if parts.is_empty() {
        "nothing to do".into()
    } else {
        parts.join("; ")
    }
}

/// The models the pipelines select that need building now (or after the loads, when
/// `changing` names the tables the loads will write and their months), and for the
/// partitioned ones which months and why.
async fn stale_models(
    config: &ansinh_core::Config,
    project: &Project,
    warehouse: &Warehouse,
    pipelines: &[Pipeline],
    changing: &BTreeMap<String, BTreeSet<YearMonth>>,
    full_refresh: bool,
) -> Result<(BTreeSet<String>, BTreeMap<String, String>)> {
    let mut selected = BTreeSet::new();
    for pipeline in pipelines {
        if let Some(selector) = pipeline.model_selector() {
            selected.extend(select(project, selector)?);
        }
    }
    if selected.is_empty() {
        return Ok((BTreeSet::new(), BTreeMap::new()));
    }
    let ctx = ansinh_models::session(
        config.models.memory_limit_mb,
        config.models.spill_dir.as_deref(),
    )?;
    warehouse.register(&ctx).await?;
    let inputs = Inputs::read(project, warehouse, &ctx).await?;
    let now = fingerprints(project, &inputs)?;
    let after = fingerprints(project, &inputs.after(changing))?;
    let (store, _) = warehouse.store()?;
    let root = warehouse.location().root();
    let states = freshness(project, root, Arc::clone(&store), &now).await?;
    let stale: BTreeSet<String> = states
        .into_iter()
        .filter(|f| selected.contains(&f.model) && f.state != State::View)
        .filter(|f| {
            full_refresh || f.state != State::Fresh || now.get(&f.model) != after.get(&f.model)
        })
        .map(|f| f.model)
        .collect();
    let options = BuildOptions {
        full_refresh,
        ..Default::default()
    };
    let partitions = plans(project, &stale, &store, root, &after, &options)
        .await?
        .into_iter()
        .map(|(name, plan)| (name, partition::describe(&plan)))
        .collect();
    Ok((stale, partitions))
}

fn changed_tables(kind: DeliveryKind) -> [&'static str; 4] {
    [
        tables::fact(kind),
        tables::REJECTS,
        tables::LOADS,
        tables::PERSON_LINKS,
    ]
}

/// Runs `pipelines` (references first) with `options`.
pub async fn run(
    env: &Environment,
    pipelines: &[Pipeline],
    options: &RunOptions,
) -> Result<RunOutcome> {
    let started = Utc::now();
    let run_id = runs::new_run_id(started);
    let warehouse = Warehouse::open_with(
        &env.config.warehouse,
        ansinh_warehouse::Storage::new(env.config.storage.clone()),
    )?;
    let lock = if options.dry_run {
        None
    } else {
        Some(
            WarehouseLock::acquire(
                &warehouse,
                &run_id,
                "run",
                Duration::from_secs(env.config.run.lock_ttl_seconds),
            )
            .await?,
        )
    };
    let result = run_locked(env, pipelines, options, &warehouse, lock.as_ref()).await;
    let outcome = match result {
        Ok((steps, plan, error)) => {
            let record = finish(&run_id, pipelines, options, started, steps, error);
            if !options.dry_run
                && let Err(e) = runs::append(&warehouse, &record).await
            {
                tracing::error!(run_id = %record.run_id, "cannot record the run in _runs: {e}");
            }
            Ok(RunOutcome { record, plan })
        }
        // An infrastructure error outside a step (listing the landing area, reading the
        // history) is recorded as well, so that `history` shows the failed attempt.
        Err(e) if !options.dry_run && e.class().is_retryable() => {
            let names: Vec<&str> = pipelines.iter().map(|p| p.name.as_str()).collect();
            let mut step = Step::new(&names.join(","), StepKind::Plan, None);
            step.status = RunStatus::Failed;
            step.message = Some(e.to_string());
            let record = finish(
                &run_id,
                pipelines,
                options,
                started,
                vec![step],
                Some(e.to_string()),
            );
            if let Err(write) = runs::append(&warehouse, &record).await {
                tracing::error!(run_id = %record.run_id, "cannot record the run in _runs: {write}");
            }
            Err(e)
        }
        Err(e) => Err(e),
    };
    if let Some(lock) = lock
        && let Err(e) = lock.release().await
    {
        tracing::warn!("cannot release the warehouse lock: {e}");
    }
    outcome
}

fn finish(
    run_id: &str,
    pipelines: &[Pipeline],
    options: &RunOptions,
    started: chrono::DateTime<Utc>,
    steps: Vec<Step>,
    error: Option<String>,
) -> RunRecord {
    let status = steps
        .iter()
        .map(|s| s.status)
        .fold(RunStatus::NothingToDo, RunStatus::worst);
    // Delivery files; reference files show in their own step.
    let sum = |outcome: &str| {
        steps
            .iter()
            .filter(|s| s.step == StepKind::Ingest)
            .map(|s| s.count(outcome))
            .sum::<u64>()
    };
    let models_built = steps
        .iter()
        .filter(|s| s.step == StepKind::Build)
        .map(|s| s.models.len() as u64)
        .sum();
    let tests_failed = steps
        .iter()
        .filter(|s| s.step == StepKind::Test)
        .map(|s| s.models.len() as u64)
        .sum();
    RunRecord {
        run_id: run_id.to_string(),
        pipeline: pipelines
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(","),
        trigger: options.trigger,
        periods: options.periods_label.clone(),
        started_at: started,
        finished_at: Utc::now(),
        status,
        exit_code: exit_code(status),
        files_loaded: sum(Outcome::Loaded.name()),
        files_restated: sum(Outcome::Restated.name()),
        files_refused: sum(Outcome::Refused.name()) + sum(Outcome::RefusedBefore.name()),
        files_unchanged: sum(Outcome::Unchanged.name()),
        models_built,
        tests_failed,
        steps,
        message: error,
    }
}

type Steps = (Vec<Step>, Vec<PlanItem>, Option<String>);

async fn run_locked(
    env: &Environment,
    pipelines: &[Pipeline],
    options: &RunOptions,
    warehouse: &Warehouse,
    lock: Option<&WarehouseLock>,
) -> Result<Steps> {
    let mut loader = Loader::open(env, warehouse).await?;
    let mut steps: Vec<Step> = Vec::new();
    let mut plan: Vec<PlanItem> = Vec::new();
    let mut changing: BTreeMap<String, BTreeSet<YearMonth>> = BTreeMap::new();

    // Plan every pipeline first: the progress bar knows its length, and a dry run stops here.
    let mut work: Vec<PeriodWork> = Vec::new();
    for (index, pipeline) in pipelines.iter().enumerate() {
        match pipeline.kind {
            PipelineKind::Reference => plan.push(PlanItem {
                pipeline: pipeline.name.clone(),
                period: None,
                action: format!(
                    "load the reference tables of {} that changed",
                    env.reference.display()
                ),
            }),
            PipelineKind::Deliveries(kind) => {
                let planned =
                    plan_deliveries(index, pipeline, kind, env, &mut loader, options).await?;
                for w in &planned {
                    plan.push(PlanItem {
                        pipeline: pipeline.name.clone(),
                        period: Some(w.period.to_string()),
                        action: describe(w, pipeline),
                    });
                    let blocked =
                        !w.missing.is_empty() && pipeline.completeness != Completeness::Partial;
                    if !w.to_load.is_empty() && !blocked {
                        for table in changed_tables(kind) {
                            changing
                                .entry(table.to_string())
                                .or_default()
                                .insert(w.period);
                        }
                    }
                }
                work.extend(planned);
            }
        }
    }
    // Periods in order, and within a period the pipelines in their order.
    work.sort_by_key(|w| (w.period, w.pipeline));
    plan.sort_by(|a, b| (a.period.is_some(), &a.period).cmp(&(b.period.is_some(), &b.period)));
    let project = load_project(env, pipelines)?;
    if options.dry_run {
        if let Some(project) = &project {
            let (stale, partitions) = stale_models(
                &env.config,
                project,
                warehouse,
                pipelines,
                &changing,
                options.full_refresh,
            )
            .await?;
            plan.push(PlanItem {
                pipeline: "models".into(),
                period: None,
                action: if stale.is_empty() {
                    "nothing to build: every selected model is fresh".into()
                } else {
                    let months: Vec<String> = partitions
                        .iter()
                        .map(|(name, plan)| format!("; {name}: {plan}"))
                        .collect();
                    format!(
                        "build and test {}{}",
                        stale.iter().cloned().collect::<Vec<_>>().join(", "),
                        months.concat()
                    )
                },
            });
        }
        return Ok((steps, plan, None));
    }

    if let Some(bar) = &env.progress {
        bar.set_length(work.len() as u64 + pipelines.len() as u64);
    }
    // Reference data first: deliveries are validated against it.
    for pipeline in pipelines
        .iter()
        .filter(|p| p.kind == PipelineKind::Reference)
    {
        let started = Instant::now();
        let mut step = Step::new(&pipeline.name, StepKind::Reference, None);
        step.attempts = 1;
        let reports = loader.load_reference(env).await?;
        for report in reports {
            *step.files.entry(report.outcome.name().into()).or_default() += 1;
            if report.outcome.is_effective() {
                step.status = RunStatus::Success;
                step.rows_loaded += report.rows;
            }
        }
        step.seconds = started.elapsed().as_secs_f64();
        steps.push(step);
        if let Some(bar) = &env.progress {
            bar.inc(1);
        }
    }

    let mut stop: Option<String> = None;
    for item in work {
        if let Some(bar) = &env.progress {
            bar.inc(1);
        }
        let pipeline = &pipelines[item.pipeline];
        let mut step = Step::new(
            &pipeline.name,
            StepKind::Ingest,
            Some(item.period.to_string()),
        );
        if stop.is_some() {
            break;
        }
        if env.cancelled() {
            step.status = RunStatus::Interrupted;
            step.message = Some("stopped by a signal before this period".into());
            steps.push(step);
            break;
        }
        let started = Instant::now();
        step.missing_offices = item.missing.clone();
        step.files
            .insert(Outcome::Unchanged.name().into(), item.unchanged);
        if !item.refused_before.is_empty() {
            step.files.insert(
                Outcome::RefusedBefore.name().into(),
                item.refused_before.len() as u64,
            );
            step.status = RunStatus::DataFailed;
            step.message = Some(format!(
                "refused before and not replaced since: {}",
                item.refused_before.join(", ")
            ));
        }
        if !item.ambiguous.is_empty() {
            step.status = RunStatus::DataFailed;
            step.message = Some(format!(
                "more than one file for one delivery, none loaded: {}",
                item.ambiguous.join(", ")
            ));
        }
        let blocked = !item.missing.is_empty();
        match pipeline.completeness {
            Completeness::Wait if blocked => {
                step.status = step.status.worst(RunStatus::Waiting);
                step.message.get_or_insert_with(|| {
                    format!("waiting for offices {}", item.missing.join(", "))
                });
                step.files.insert("held".into(), item.to_load.len() as u64);
                step.seconds = started.elapsed().as_secs_f64();
                steps.push(step);
                continue;
            }
            Completeness::Require if blocked => {
                step.status = RunStatus::DataFailed;
                step.message = Some(format!(
                    "required offices missing, nothing of the period loaded: {}",
                    item.missing.join(", ")
                ));
                step.files.insert("held".into(), item.to_load.len() as u64);
                step.seconds = started.elapsed().as_secs_f64();
                steps.push(step);
                if options.fail_fast {
                    stop = Some(format!("{} {} failed", pipeline.name, item.period));
                }
                continue;
            }
            Completeness::Partial if blocked => {
                step.status = step.status.worst(RunStatus::Partial);
            }
            _ => {}
        }
        let result =
            ingest_period(env, pipeline, &item, &mut loader, &mut step, options, lock).await;
        step.seconds = started.elapsed().as_secs_f64();
        let failed_hard = match result {
            Ok(()) => false,
            Err(e) if e.class().is_retryable() => {
                step.status = RunStatus::Failed;
                step.message = Some(e.to_string());
                tracing::error!(pipeline = %pipeline.name, period = %item.period, "{e}");
                // The next period starts from what was committed, not from the failed load.
                if let Err(e) = loader.reset().await {
                    tracing::warn!("cannot read the load history again: {e}");
                }
                true
            }
            Err(e) => return Err(e),
        };
        let data_failed = step.status == RunStatus::DataFailed;
        let interrupted = step.status == RunStatus::Interrupted;
        steps.push(step);
        if interrupted {
            break;
        }
        if (failed_hard || data_failed) && options.fail_fast {
            stop = Some(format!(
                "{} {} failed; --fail-fast",
                pipeline.name, item.period
            ));
        }
    }
    if let Some(bar) = &env.progress {
        bar.finish_and_clear();
    }
    let interrupted = steps.iter().any(|s| s.status == RunStatus::Interrupted);
    if let (Some(project), false) = (&project, interrupted || stop.is_some()) {
        build_and_test(env, project, warehouse, pipelines, options, &mut steps).await?;
    }
    Ok((steps, plan, stop))
}

fn load_project(env: &Environment, pipelines: &[Pipeline]) -> Result<Option<Project>> {
    if pipelines.iter().all(|p| p.model_selector().is_none()) {
        return Ok(None);
    }
    Ok(Some(Project::load(
        std::path::Path::new(&env.config.models.dir),
        &Warehouse::table_names(),
    )?))
}

async fn ingest_period(
    env: &Environment,
    pipeline: &Pipeline,
    item: &PeriodWork,
    loader: &mut Loader<'_>,
    step: &mut Step,
    options: &RunOptions,
    lock: Option<&WarehouseLock>,
) -> Result<()> {
    let ratio = pipeline
        .max_reject_ratio
        .unwrap_or(env.config.ingest.max_reject_ratio);
    let retry = Retry {
        retries: pipeline.retries,
        backoff_seconds: pipeline.retry_backoff_seconds,
    };
    for planned in &item.to_load {
        if env.cancelled() {
            step.status = RunStatus::Interrupted;
            step.message = Some("stopped by a signal; the rest of the period is pending".into());
            return Ok(());
        }
        let report = loader
            .load(
                env,
                planned,
                options.reload(),
                ratio,
                retry,
                lock,
                &mut step.attempts,
            )
            .await?;
        *step.files.entry(report.outcome.name().into()).or_default() += 1;
        step.rows_loaded += report.rows_loaded;
        step.rows_rejected += report.rows_rejected;
        match report.outcome {
            Outcome::Loaded | Outcome::Restated => {
                tracing::info!(
                    file = %report.file,
                    outcome = report.outcome.name(),
                    rows_loaded = report.rows_loaded,
                    rows_rejected = report.rows_rejected,
                    "{}",
                    report.outcome.name()
                );
                step.status = step.status.worst(RunStatus::Success);
            }
            Outcome::Refused | Outcome::RefusedBefore => {
                let why = report.message.clone().unwrap_or_default();
                tracing::warn!(file = %report.file, "refused: {why}");
                step.status = RunStatus::DataFailed;
                step.message = Some(format!("{} refused: {why}", report.file));
            }
            Outcome::Unchanged => {}
        }
    }
    Ok(())
}

async fn build_and_test(
    env: &Environment,
    project: &Project,
    warehouse: &Warehouse,
    pipelines: &[Pipeline],
    options: &RunOptions,
    steps: &mut Vec<Step>,
) -> Result<()> {
    let started = Instant::now();
    let (stale, _) = stale_models(
        &env.config,
        project,
        warehouse,
        pipelines,
        &BTreeMap::new(),
        options.full_refresh,
    )
    .await?;
    if stale.is_empty() {
        return Ok(());
    }
    let mut step = Step::new("models", StepKind::Build, None);
    step.attempts = 1;
    let build_options = BuildOptions {
        full_refresh: options.full_refresh,
        ..Default::default()
    };
    let (ctx, built) =
        match build_models(&env.config, project, warehouse, &stale, &build_options).await {
            Ok(built) => built,
            Err(e) => {
                if !e.class().is_retryable() {
                    return Err(e);
                }
                step.status = RunStatus::Failed;
                step.message = Some(e.to_string());
                step.seconds = started.elapsed().as_secs_f64();
                steps.push(step);
                return Ok(());
            }
        };
    step.models = built
        .models
        .iter()
        .filter(|m| m.built)
        .map(|m| m.name.clone())
        .collect();
    step.message = Some(build_summary(&built));
    step.status = RunStatus::Success;
    step.seconds = started.elapsed().as_secs_f64();
    steps.push(step);

    let started = Instant::now();
    let mut test = Step::new("models", StepKind::Test, None);
    test.attempts = 1;
    let report = run_tests(project, &ctx, &stale).await?;
    test.models = report
        .failed()
        .map(|t| format!("{}: {} ({} failing rows)", t.model, t.test, t.failures))
        .collect();
    test.status = if test.models.is_empty() {
        RunStatus::Success
    } else {
        RunStatus::DataFailed
    };
    test.message = Some(format!(
        "{} passed, {} failed",
        report.tests.len() - test.models.len(),
        test.models.len()
    ));
    test.seconds = started.elapsed().as_secs_f64();
    steps.push(test);
    Ok(())
}

/// What a build did, for the run's record: each model built with its time, and for
/// partitioned models how many months.
fn build_summary(report: &ansinh_models::BuildReport) -> String {
    report
        .models
        .iter()
        .filter(|m| m.built)
        .map(|m| match m.months_text() {
            text if text.is_empty() => format!("{} {:.1}s", m.name, m.seconds),
            text => format!("{} {:.1}s ({text})", m.name, m.seconds),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Builds the `selected` models of `project` that are stale (all with `full_refresh`) into the
/// warehouse, each with the fingerprint of its inputs, in a session with the configured
/// limits; the session is returned for the data tests and queries that follow.
pub async fn build_models(
    config: &ansinh_core::Config,
    project: &Project,
    warehouse: &Warehouse,
    selected: &BTreeSet<String>,
    options: &BuildOptions,
) -> Result<(
    datafusion::prelude::SessionContext,
    ansinh_models::BuildReport,
)> {
    let ctx = ansinh_models::session(
        config.models.memory_limit_mb,
        config.models.spill_dir.as_deref(),
    )?;
    warehouse.register(&ctx).await?;
    let target = Target::Warehouse {
        root: warehouse.location().root().clone(),
    };
    let inputs = Inputs::read(project, warehouse, &ctx).await?;
    let built =
        build_fingerprinted(project, &ctx, selected, &target, Some(&inputs), options).await?;
    Ok((ctx, built))
}
