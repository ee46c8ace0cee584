//! The `ansinh` binary: wiring of the library crates behind a clap command line.

mod commands;
mod exit;
mod settings;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use settings::Global;

/// Batch ETL and warehouse loader for social-insurance coverage analytics.
///
/// Ingests district offices' monthly extracts into a Delta/Parquet warehouse. Settings come
/// from config/ansinh.toml, then ANSINH_* environment variables, then flags.
/// Exit codes: 0 success; 1 finished but data failed (refused deliveries, required offices
/// missing, failing data tests); 2 usage or configuration error; 3 infrastructure error worth
/// retrying (storage unreachable, warehouse locked by another run); 70 a bug in ansinh.
#[derive(Debug, Parser)]
#[command(
    name = "ansinh",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate sample data, load it into the warehouse and print the summary (no setup needed).
    Demo(commands::demo::DemoArgs),
    /// Write deterministic synthetic deliveries and reference data for Khanh Hoa.
    Generate(commands::generate::GenerateArgs),
    /// Load deliveries from the landing area into the warehouse.
    Ingest(commands::ingest::IngestArgs),
    /// Run pipelines: load new or changed deliveries, then build and test the models whose
    /// inputs changed; recorded in `_runs`.
    Run(commands::run::RunArgs),
    /// Fire each pipeline on its cron schedule until stopped by SIGTERM or SIGINT.
    Schedule(commands::run::ScheduleArgs),
    /// Show recent runs from `_runs`, newest first.
    History(commands::run::HistoryArgs),
    /// Show deliveries (loaded, restated, refused, pending, missing), model freshness, recent
    /// runs and the next scheduled runs.
    Status(commands::status::StatusArgs),
    /// Build the SQL models that changed in dependency order; marts become Parquet files,
    /// partitioned models one file per month, and only stale months are rebuilt.
    Build(commands::models::BuildArgs),
    /// Run the data tests of the models (declarative and sql/tests/*.sql).
    Test(commands::models::SelectArgs),
    /// Show the order in which models would be built, their inputs and SQL; runs nothing.
    Plan(commands::models::PlanArgs),
    /// Run a SQL query over every table, reference table and model.
    Sql(commands::models::SqlArgs),
    /// An interactive SQL shell: history, multi-line statements, \d to list and describe,
    /// \timing.
    Shell(commands::shell::ShellArgs),
    /// Write one self-contained HTML page with charts of the marts: trends against targets,
    /// districts, pension receipt by sex, goal progress and data quality.
    Report(commands::report::ReportArgs),
    /// Serve the warehouse and marts over the Postgres wire protocol, read-only, to users with
    /// passwords.
    Serve(commands::serve::ServeArgs),
    /// Write the data dictionary (tables and models, columns, types, lineage) as Markdown and
    /// HTML.
    Docs(commands::docs::DocsArgs),
    /// Delete data files that no recent table version references (replaced or abandoned).
    Vacuum(commands::status::VacuumArgs),
    /// Print the commented default configuration.
    Config,
}

/// A panic is reported on one line (`error: ... panicked at FILE:LINE: MESSAGE`), escaped;
/// the full default report, with its backtrace, only when `RUST_BACKTRACE` asks for it.
fn report_panics_on_one_line() {
    if std::env::var("RUST_BACKTRACE").is_ok_and(|v| v != "0") {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: a thread of ansinh panicked{location}: {}",
            ansinh_core::escape_controls(&message)
        );
    }));
}

fn main() -> ExitCode {
    report_panics_on_one_line();
    let cli = Cli::parse();
    if let Err(e) = settings::init_logging(&cli.global) {
        eprintln!("error: {e}");
        return ExitCode::from(exit::USAGE);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(exit::RETRY);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) if failure.class == ansinh_core::ErrorClass::Bug => {
            eprintln!(
                "error: internal error, a bug in ansinh (retrying will not help; please report \
                 it with this message): {}",
                ansinh_core::escape_controls(&format!("{:#}", failure.error))
            );
            ExitCode::from(failure.code())
        }
        Err(failure) => {
            eprintln!(
                "error: {}",
                ansinh_core::escape_controls(&format!("{:#}", failure.error))
            );
            ExitCode::from(failure.code())
        }
    }
}

async fn run(cli: Cli) -> Result<u8, exit::Failure> {
    let global = cli.global;
    match cli.command {
        Command::Demo(args) => commands::demo::run(&global, args).await,
        Command::Generate(args) => commands::generate::run(args),
        Command::Ingest(args) => commands::ingest::run(&global, args).await,
        Command::Run(args) => commands::run::run(&global, args).await,
        Command::Schedule(args) => commands::run::schedule(&global, args).await,
        Command::History(args) => commands::run::history(&global, args).await,
        Command::Status(args) => commands::status::run(&global, args).await,
        Command::Build(args) => commands::models::run_build(&global, args).await,
        Command::Test(args) => commands::models::run_test(&global, args).await,
        Command::Plan(args) => commands::models::run_plan(&global, args).await,
        Command::Sql(args) => commands::models::run_sql(&global, args).await,
        Command::Shell(args) => commands::shell::run(&global, args).await,
        Command::Report(args) => commands::report::run(&global, args).await,
        Command::Serve(args) => commands::serve::run(&global, args).await,
        Command::Docs(args) => commands::docs::run(&global, args).await,
        Command::Vacuum(args) => commands::status::run_vacuum(&global, args).await,
        Command::Config => {
            print!("{}", ansinh_core::Config::default_toml());
            Ok(exit::SUCCESS)
        }
    }
}
