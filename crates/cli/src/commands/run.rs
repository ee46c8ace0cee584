//! `ansinh run`, `ansinh schedule` and `ansinh history`: pipelines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ansinh_core::{Config, YearMonth};
use ansinh_pipeline::runs::{self, RunRow};
use ansinh_pipeline::{Environment, Pipeline, RunOptions, RunOutcome, RunRecord};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::commands::ingest::resolve_key;
use crate::exit::{self, Failure};
use crate::settings::{self, Global};

impl From<ansinh_pipeline::Error> for Failure {
    fn from(error: ansinh_pipeline::Error) -> Self {
        use ansinh_pipeline::Error as E;
        match error {
            E::Warehouse(e) => Failure::from(*e),
            E::Models(e) => Failure::from(e),
            e if e.is_transient() => Failure {
                code: exit::RETRY,
                error: e.into(),
            },
            e => Failure::usage(e),
        }
    }
}

/// Output format of run summaries and history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people.
    Text,
    /// JSON, for orchestrators and monitoring.
    Json,
}

/// Options of `ansinh run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Pipelines to run (names from pipelines/*.toml); all when none is given.
    pub pipelines: Vec<String>,
    /// Only this period (YYYY-MM).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub period: Option<YearMonth>,
    /// First period of a backfill (YYYY-MM); with --to.
    #[arg(long, requires = "to")]
    pub from: Option<YearMonth>,
    /// Last period of a backfill (YYYY-MM); with --from.
    #[arg(long, requires = "from")]
    pub to: Option<YearMonth>,
    /// Print what would be done; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Load every delivery of the periods again and rebuild every selected model.
    #[arg(long)]
    pub full_refresh: bool,
    /// Stop at the first period that fails instead of going on with the others.
    #[arg(long)]
    pub fail_fast: bool,
    /// Use the public demo pseudonym key (only for landing areas written by `ansinh generate`).
    #[arg(long)]
    pub demo_key: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Options of `ansinh schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Pipelines to schedule; all with a `schedule` when none is given.
    pub pipelines: Vec<String>,
    /// Do not run missed firings when starting.
    #[arg(long)]
    pub no_catch_up: bool,
    /// Use the public demo pseudonym key (only for landing areas written by `ansinh generate`).
    #[arg(long)]
    pub demo_key: bool,
}

/// Options of `ansinh history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only runs of this pipeline.
    #[arg(long)]
    pub pipeline: Option<String>,
    /// How many runs, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Takes the warehouse lock for `command`, runs `work`, and releases the lock whatever the
/// outcome. A lock held by another run is exit code 3.
pub async fn locked<T>(
    config: &Config,
    command: &str,
    work: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let warehouse = settings::warehouse(config)?;
    let started = chrono::Utc::now();
    let lock = ansinh_pipeline::lock::WarehouseLock::acquire(
        &warehouse,
        &runs::new_run_id(started),
        command,
        std::time::Duration::from_secs(config.run.lock_ttl_seconds),
    )
    .await?;
    let result = work.await;
    if let Err(e) = lock.release().await {
        tracing::warn!("cannot release the warehouse lock: {e}");
    }
    result
}

/// The pipelines of the configuration.
pub fn pipelines(config: &Config) -> Result<Vec<Pipeline>, Failure> {
    Ok(ansinh_pipeline::load_dir(std::path::Path::new(
        &config.run.pipelines,
    ))?)
}

/// Everything a run needs from the configuration.
fn environment(
    global: &Global,
    config: &Config,
    demo_key: bool,
    need_key: bool,
    cancel: Arc<AtomicBool>,
) -> Result<Environment, Failure> {
    let landing = settings::landing(config)?;
    let reference = settings::local_dir(&config.reference, "reference directory")?;
    let key = match resolve_key(config, landing.local(), demo_key) {
        Ok(key) => Some(key),
        Err(e) if need_key => return Err(e),
        Err(_) => None,
    };
    let progress = settings::interactive(global).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} periods {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    Ok(Environment {
        config: config.clone(),
        key,
        landing,
        reference,
        cancel,
        progress,
    })
}

/// Sets `cancel` at the first SIGINT or SIGTERM, so the run stops after the file it is loading;
/// a second signal ends the process at once (every commit is atomic, so nothing is
/// half-written; the lock is taken over by the next run).
pub fn watch_signals(cancel: Arc<AtomicBool>, wake: Arc<tokio::sync::Notify>) {
    tokio::spawn(async move {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        let mut count = 0;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            count += 1;
            if count > 1 {
                eprintln!("second signal: stopping now");
                std::process::exit(i32::from(exit::RETRY));
            }
            tracing::warn!("signal received: stopping after the current step (again to stop now)");
            cancel.store(true, Ordering::SeqCst);
            wake.notify_waiters();
        }
    });
}

/// Runs `ansinh run`.
pub async fn run(global: &Global, args: RunArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let chosen = ansinh_pipeline::choose(&pipelines(&config)?, &args.pipelines)?;
    let cancel = Arc::new(AtomicBool::new(false));
    watch_signals(Arc::clone(&cancel), Arc::new(tokio::sync::Notify::new()));
    let env = environment(global, &config, args.demo_key, !args.dry_run, cancel)?;
    let (periods, label, trigger) = match (args.period, args.from, args.to) {
        (Some(p), _, _) => (Some(vec![p]), Some(p.to_string()), "manual"),
        (None, Some(from), Some(to)) => {
            if from > to {
                return Err(Failure::usage(anyhow::anyhow!(
                    "--from {from} is after --to {to}"
                )));
            }
            (
                Some(from.through(to).collect()),
                Some(format!("{from}..{to}")),
                "backfill",
            )
        }
        _ => (None, None, "manual"),
    };
    let options = RunOptions {
        periods,
        periods_label: label,
        dry_run: args.dry_run,
        full_refresh: args.full_refresh,
        fail_fast: args.fail_fast,
        trigger: trigger.into(),
    };
    let outcome = ansinh_pipeline::run(&env, &chosen, &options).await?;
    if args.dry_run {
        print_plan(&outcome, args.format);
        return Ok(exit::SUCCESS);
    }
    ansinh_pipeline::hooks::notify(&chosen, &outcome.record).await;
    print_summary(&outcome.record, args.format);
    Ok(outcome.record.exit_code)
}

fn print_plan(outcome: &RunOutcome, format: Format) {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&outcome.plan).unwrap_or_default()
        ),
        Format::Text => {
            println!("plan (dry run, nothing changed):");
            for item in &outcome.plan {
                println!(
                    "  {:<14} {:<8} {}",
                    item.pipeline,
                    item.period.as_deref().unwrap_or(""),
                    item.action
                );
            }
        }
    }
}

/// Prints a run's summary: one line per step, then the totals.
pub fn print_summary(record: &RunRecord, format: Format) {
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(record).unwrap_or_default()
        );
        return;
    }
    for step in &record.steps {
        let files = step
            .files
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(o, n)| format!("{n} {o}"))
            .collect::<Vec<_>>()
            .join(", ");
        let detail = match step.step.as_str() {
            "build" => format!("{} models", step.models.len()),
            "test" => step.message.clone().unwrap_or_default(),
            _ => format!("{files}; rows {}/{}", step.rows_loaded, step.rows_rejected),
        };
        println!(
            "{:<14} {:<9} {:<8} {:<13} {detail}",
            step.pipeline,
            step.step,
            step.period.as_deref().unwrap_or(""),
            step.status.name(),
        );
        if step.step != "test"
            && let Some(message) = &step.message
        {
            println!("    {message}");
        }
        if step.step == "test" {
            for failing in &step.models {
                println!("    failed: {failing}");
            }
        }
    }
    println!(
        "run {} {}: {} in {:.1}s; files {} loaded, {} restated, {} refused, {} unchanged; {} models built, {} tests failed",
        record.run_id,
        record.trigger,
        record.status.name(),
        record.seconds(),
        record.files_loaded,
        record.files_restated,
        record.files_refused,
        record.files_unchanged,
        record.models_built,
        record.tests_failed
    );
    if let Some(message) = &record.message {
        println!("stopped: {message}");
    }
}

/// Runs `ansinh history`.
pub async fn history(global: &Global, args: HistoryArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let warehouse = settings::warehouse(&config)?;
    let rows = runs::recent(&warehouse, args.pipeline.as_deref(), args.limit).await?;
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rows).map_err(Failure::usage)?
        ),
        Format::Text => print!("{}", render_runs(&rows)),
    }
    Ok(exit::SUCCESS)
}

/// Runs as a table, newest first.
pub fn render_runs(rows: &[RunRow]) -> String {
    if rows.is_empty() {
        return "no runs recorded yet\n".into();
    }
    let width = rows
        .iter()
        .map(|r| r.pipeline.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let mut out = format!(
        "{:<26} {:<20} {:<width$} {:<9} {:<13} {:>4} {:>8}  {}\n",
        "run",
        "started (UTC)",
        "pipelines",
        "trigger",
        "status",
        "exit",
        "seconds",
        "files loaded/restated/refused/unchanged, models"
    );
    for r in rows {
        let seconds = (r.finished_at - r.started_at).num_milliseconds() as f64 / 1000.0;
        out.push_str(&format!(
            "{:<26} {:<20} {:<width$} {:<9} {:<13} {:>4} {:>8.1}  {}/{}/{}/{}, {}\n",
            r.run_id,
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            r.pipeline,
            r.trigger,
            r.status,
            r.exit_code,
            seconds,
            r.files_loaded,
            r.files_restated,
            r.files_refused,
            r.files_unchanged,
            r.models_built
        ));
    }
    out
}

/// Runs `ansinh schedule`: fires each pipeline on its cron until SIGTERM or SIGINT.
pub async fn schedule(global: &Global, args: ScheduleArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let chosen: Vec<Pipeline> = ansinh_pipeline::choose(&pipelines(&config)?, &args.pipelines)?
        .into_iter()
        .filter(|p| p.schedule.is_some())
        .collect();
    if chosen.is_empty() {
        return Err(Failure::usage(anyhow::anyhow!(
            "no pipeline to schedule: none of them has a `schedule`"
        )));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(tokio::sync::Notify::new());
    watch_signals(Arc::clone(&cancel), Arc::clone(&wake));
    let env = environment(global, &config, args.demo_key, true, Arc::clone(&cancel))?;
    let warehouse = settings::warehouse(&config)?;
    let mut scheduler =
        ansinh_pipeline::scheduler::Scheduler::new(chosen, &warehouse, !args.no_catch_up).await?;
    for (name, at) in scheduler.next_runs() {
        tracing::info!(pipeline = %name, next = %at.to_rfc3339(), "scheduled");
    }
    loop {
        scheduler.write_state(&warehouse).await;
        if cancel.load(Ordering::SeqCst) {
            break;
        }
        let now = chrono::Utc::now();
        if let Some((pipeline, trigger)) = scheduler.due(now) {
            let options = RunOptions {
                trigger: trigger.into(),
                ..RunOptions::default()
            };
            let outcome = run_with_retries(&env, &pipeline, &options).await;
            scheduler.fired(&pipeline.name, now);
            match outcome {
                Ok(outcome) => {
                    ansinh_pipeline::hooks::notify(
                        std::slice::from_ref(&pipeline),
                        &outcome.record,
                    )
                    .await;
                    print_summary(&outcome.record, Format::Text);
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
    Ok(exit::SUCCESS)
}

/// One scheduled run; a held lock or another infrastructure error is retried with the
/// pipeline's backoff.
async fn run_with_retries(
    env: &Environment,
    pipeline: &Pipeline,
    options: &RunOptions,
) -> Result<RunOutcome, ansinh_pipeline::Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match ansinh_pipeline::run(env, std::slice::from_ref(pipeline), options).await {
            Err(e) if e.is_transient() && attempt <= pipeline.retries => {
                let wait = pipeline.retry_backoff_seconds * (1 << (attempt - 1).min(10));
                tracing::warn!(pipeline = %pipeline.name, attempt, "retrying in {wait}s: {e}");
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                if env.cancel.load(Ordering::SeqCst) {
                    return Err(e);
                }
            }
            other => return other,
        }
    }
}
