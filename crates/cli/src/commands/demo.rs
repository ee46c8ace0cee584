//! `ansinh demo`: the whole job on the embedded defaults, from a fresh clone.

use std::path::PathBuf;

use ansinh_core::YearMonth;
use ansinh_pipeline::loader::Selection;
use ansinh_pipeline::{Environment, KeyNeed};
use ansinh_warehouse::Warehouse;
use clap::Args;

use crate::commands::{generate, ingest, models, status};
use crate::exit::{self, Failure};
use crate::settings::{self, Global};

/// Options of `ansinh demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Size of the sample relative to Khanh Hoa (1.0 = 1.2 million insured).
    #[arg(long, default_value_t = 0.02)]
    pub scale: f64,
    /// First month of the sample (the default range crosses the merger of July 2025).
    #[arg(long, default_value = "2025-05")]
    pub from: YearMonth,
    /// Last month of the sample.
    #[arg(long, default_value = "2025-08")]
    pub to: YearMonth,
}

/// Runs `ansinh demo`: generates sample deliveries into the landing area when it has none,
/// loads them with the demo key, and prints the deliveries matrix and the active persons per
/// scheme.
pub async fn run(global: &Global, args: DemoArgs) -> Result<u8, Failure> {
    let mut config = settings::config(global)?;
    let landing_dir = PathBuf::from(
        config
            .landing
            .strip_prefix("file://")
            .unwrap_or(&config.landing),
    );
    if ansinh_sample::Manifest::read(&landing_dir).is_none() {
        let occupied = std::fs::read_dir(&landing_dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if occupied {
            return Err(Failure::usage(anyhow::anyhow!(
                "{} holds files that `ansinh generate` did not write; point --landing at an empty \
                 or generated directory for the demo",
                landing_dir.display()
            )));
        }
        let options = ansinh_sample::Options {
            out: landing_dir.clone(),
            from: args.from,
            to: args.to,
            scale: args.scale,
            seed: 56,
            messy: false,
            offices: Vec::new(),
            kinds: Vec::new(),
        };
        tracing::info!(dir = %landing_dir.display(), scale = args.scale, "generating sample deliveries");
        generate::generate_with_log(&options)?;
    }
    // The sample's own reference data matches its scale.
    if global.reference.is_none() {
        config.reference = landing_dir.join("reference").display().to_string();
    }
    let mut env = Environment::open(config.clone(), true, KeyNeed::Required)?;
    env.progress = ingest::progress_bar(global, "{bar:30} {pos}/{len} files {elapsed} {msg}");
    let summary =
        ansinh_pipeline::loader::ingest(&env, "demo", &Selection::default(), ingest::log_report)
            .await?;
    ingest::print_summary(&summary);

    let warehouse = env.warehouse()?;
    let history = ansinh_warehouse::history::LoadHistory::read(&warehouse).await?;
    let geography = env.geography()?;
    let cells = ansinh_warehouse::status::deliveries(&history, Some(&summary.scan), &geography);
    print!("\n{}", status::render(&cells));
    let models_dir = PathBuf::from(&config.models.dir);
    let mut tests_failed = 0;
    if !models_dir.is_dir() {
        tracing::warn!(dir = %models_dir.display(), "no models directory here: marts not built");
    } else {
        let project = ansinh_models::Project::load(&models_dir, &Warehouse::table_names())?;
        let all = ansinh_models::select(&project, "")?;
        let (ctx, _) = ansinh_pipeline::build_models(
            &config,
            &project,
            &warehouse,
            &all,
            &ansinh_models::BuildOptions::default(),
        )
        .await?;
        let tests = ansinh_models::run_tests(&project, &ctx, &all).await?;
        let failed = tests.failed().count();
        tests_failed = failed;
        println!(
            "models: {} built, data tests {} passed, {failed} failed",
            project.models.len(),
            tests.tests.len() - failed
        );
        let progress = ctx
            .sql(
                "SELECT indicator, target_year, target_boundary, CAST(as_of AS VARCHAR) AS as_of, \
                 round(actual_rate * 100, 2) AS actual_pct, round(target_rate * 100, 2) AS target_pct, \
                 gap_persons, status FROM goal_progress WHERE unit_code = '56' AND status <> 'no_data' \
                 ORDER BY target_year, indicator",
            )
            .await
            .map_err(Failure::usage)?
            .collect()
            .await
            .map_err(Failure::usage)?;
        println!(
            "progress toward the targets, province:\n{}",
            models::render(&progress, models::Format::Table).map_err(Failure::usage)?
        );
    }
    println!("warehouse: {}", warehouse.location().root());
    Ok(if summary.refused > 0 || tests_failed > 0 {
        exit::DATA
    } else {
        exit::SUCCESS
    })
}
