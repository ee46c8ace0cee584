//! `ansinh demo`: the whole job on the embedded defaults, from a fresh clone.

use std::path::PathBuf;

use ansinh_core::YearMonth;
use ansinh_warehouse::Warehouse;
use ansinh_warehouse::landing;
use arrow::util::pretty::pretty_format_batches;
use clap::Args;

use crate::commands::{generate, ingest, status};
use crate::exit::{self, Failure};
use crate::settings::{self, Global};

/// Options of `ansinh demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Size of the sample relative to Khanh Hoa (1.0 = 1.2 million insured).
    #[arg(long, default_value_t = 0.02)]
    pub scale: f64,
    /// First month of the sample.
    #[arg(long, default_value = "2023-12")]
    pub from: YearMonth,
    /// Last month of the sample.
    #[arg(long, default_value = "2024-02")]
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
        };
        tracing::info!(dir = %landing_dir.display(), scale = args.scale, "generating sample deliveries");
        generate::generate_with_log(&options)?;
    }
    // The sample's own reference data matches its scale.
    if global.reference.is_none() {
        config.reference = landing_dir.join("reference").display().to_string();
    }
    let key = ingest::resolve_key(&config, &landing_dir, true)?;
    let scan = landing::scan(&landing_dir)?;
    let totals = ingest::ingest_landing(global, &config, &scan, key, false, |_| true).await?;
    ingest::print_totals(&totals);

    let warehouse = Warehouse::open(&config.warehouse)?;
    let history = ansinh_warehouse::history::LoadHistory::read(&warehouse).await?;
    let geography =
        ansinh_extract::Geography::load(&PathBuf::from(&config.reference).join("geography.csv"))
            .map_err(|e| Failure::usage(anyhow::Error::from(e)))?;
    let cells = ansinh_warehouse::status::deliveries(&history, Some(&scan), &geography);
    print!("\n{}", status::render(&cells));
    let counts = warehouse
        .query(
            "SELECT period, scheme, COUNT(DISTINCT person) AS active_persons \
             FROM participants WHERE status = 1 GROUP BY period, scheme ORDER BY period, scheme",
        )
        .await?;
    let table = pretty_format_batches(&counts).map_err(|e| Failure {
        code: exit::RETRY,
        error: e.into(),
    })?;
    println!("active persons per scheme, province-wide:\n{table}");
    println!("warehouse: {}", warehouse.location().root());
    Ok(if totals.refused > 0 {
        exit::DATA
    } else {
        exit::SUCCESS
    })
}
