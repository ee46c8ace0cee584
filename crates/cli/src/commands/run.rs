//! `ansinh run`, `ansinh schedule` and `ansinh history`: pipelines.

use std::sync::Arc;

use ansinh_core::{Config, YearMonth};
use ansinh_pipeline::environment::watch_signals;
use ansinh_pipeline::runs::{self, RunRow, StepKind, Trigger};
use ansinh_pipeline::{Environment, KeyNeed, Pipeline, RunOptions, RunOutcome, RunRecord};
use clap::{Args, ValueEnum};

use crate::commands::ingest::progress_bar;
use crate::exit::{self, Failure};
use crate::settings::{self, Global};

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

/// The pipelines of the configuration.
pub fn pipelines(config: &Config) -> Result<Vec<Pipeline>, Failure> {
    Ok(ansinh_pipeline::load_dir(std::path::Path::new(
        &config.run.pipelines,
    ))?)
}

/// Everything a run needs, with signals watched.
fn environment(
    global: &Global,
    config: &Config,
    demo_key: bool,
    need: KeyNeed,
    wake: Arc<tokio::sync::Notify>,
) -> Result<Environment, Failure> {
    let mut env = Environment::open(config.clone(), demo_key, need)?;
    env.progress = progress_bar(global, "{bar:30} {pos}/{len} periods {elapsed}");
    watch_signals(Arc::clone(&env.cancel), wake, i32::from(exit::RETRY));
    Ok(env)
}

/// Runs `ansinh run`.
pub async fn run(global: &Global, args: RunArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let chosen = ansinh_pipeline::choose(&pipelines(&config)?, &args.pipelines)?;
    let need = if args.dry_run {
        KeyNeed::IfLoading
    } else {
        KeyNeed::Required
    };
    let wake = Arc::new(tokio::sync::Notify::new());
    let env = environment(global, &config, args.demo_key, need, wake)?;
    let (periods, label, trigger) = match (args.period, args.from, args.to) {
        (Some(p), _, _) => (Some(vec![p]), Some(p.to_string()), Trigger::Manual),
        (None, Some(from), Some(to)) => {
            if from > to {
                return Err(Failure::usage(anyhow::anyhow!(
                    "--from {from} is after --to {to}"
                )));
            }
            (
                Some(from.through(to).collect()),
                Some(format!("{from}..{to}")),
                Trigger::Backfill,
            )
        }
        _ => (None, None, Trigger::Manual),
    };
    let options = RunOptions {
        periods,
        periods_label: label,
        dry_run: args.dry_run,
        full_refresh: args.full_refresh,
        fail_fast: args.fail_fast,
        trigger,
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
        let detail = match step.step {
            StepKind::Build => format!("{} models", step.models.len()),
            StepKind::Test => step.message.clone().unwrap_or_default(),
            _ => format!("{files}; rows {}/{}", step.rows_loaded, step.rows_rejected),
        };
        println!(
            "{:<14} {:<9} {:<8} {:<13} {detail}",
            step.pipeline,
            step.step.name(),
            step.period.as_deref().unwrap_or(""),
            step.status.name(),
        );
        if step.step != StepKind::Test
            && let Some(message) = &step.message
        {
            println!("    {message}");
        }
        if step.step == StepKind::Test {
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
    let warehouse = settings::existing_warehouse(&config)?;
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
    let wake = Arc::new(tokio::sync::Notify::new());
    let env = environment(
        global,
        &config,
        args.demo_key,
        KeyNeed::Required,
        Arc::clone(&wake),
    )?;
    ansinh_pipeline::scheduler::serve(&env, chosen, !args.no_catch_up, &wake, |_, outcome| {
        print_summary(&outcome.record, Format::Text)
    })
    .await?;
    Ok(exit::SUCCESS)
}
