//! `ansinh status`.

use std::collections::{BTreeMap, BTreeSet};

use ansinh_core::DeliveryKind;
use ansinh_extract::Geography;
use ansinh_warehouse::Warehouse;
use ansinh_warehouse::history::LoadHistory;
use ansinh_warehouse::landing;
use ansinh_warehouse::status::{DeliveryState, DeliveryStatus, deliveries};
use clap::{Args, ValueEnum};

use crate::exit::{self, Failure};
use crate::settings::{self, Global};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A period × office matrix per kind.
    Table,
    /// One JSON object per delivery, for monitoring.
    Json,
}

/// Options of `ansinh status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this kind.
    #[arg(long)]
    pub kind: Option<DeliveryKind>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `ansinh status`.
pub async fn run(global: &Global, args: StatusArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let warehouse = settings::existing_warehouse(&config)?;
    let reference = settings::local_dir(&config.reference, "reference directory")?;
    let geography = Geography::load_dir(&reference)?;
    let history = LoadHistory::read(&warehouse).await?;
    // The landing area is optional here: status also serves a warehouse whose landing area
    // has been cleaned up.
    let scan = match settings::landing(&config) {
        Ok(area) => landing::scan_area(&area).await.ok(),
        Err(_) => None,
    };
    let mut cells = deliveries(&history, scan.as_ref(), &geography);
    if let Some(kind) = args.kind {
        cells.retain(|c| c.kind == kind.name());
    }
    let models = model_freshness(&config, &warehouse).await?;
    let runs = ansinh_pipeline::runs::recent(&warehouse, None, 5).await?;
    let schedule = next_runs(&config, &warehouse).await;
    let lock = ansinh_pipeline::lock::current(&warehouse)
        .await
        .ok()
        .flatten();
    match args.format {
        Format::Json => {
            let value = serde_json::json!({
                "deliveries": cells,
                "models": models,
                "runs": runs,
                "schedule": schedule,
                "lock": lock,
            });
            let text = serde_json::to_string_pretty(&value).map_err(Failure::usage)?;
            println!("{text}");
        }
        Format::Table => {
            print!("{}", render(&cells));
            if !models.is_empty() {
                println!("models");
                for m in &models {
                    println!(
                        "  {:<28} {:<8} {}",
                        m.model,
                        m.state.name(),
                        m.built_at.as_deref().unwrap_or("")
                    );
                }
                println!();
            }
            println!("recent runs");
            for line in crate::commands::run::render_runs(&runs).lines() {
                println!("  {line}");
            }
            println!();
            if !schedule.is_empty() {
                println!("next scheduled runs");
                for s in &schedule {
                    println!(
                        "  {:<16} {:<22} {}",
                        s.pipeline,
                        s.cron,
                        s.next.as_deref().unwrap_or("never")
                    );
                }
                println!();
            }
            if let Some(lock) = lock {
                println!(
                    "locked by run {} ({} pid {}, {}) until {}",
                    lock.run_id, lock.host, lock.pid, lock.command, lock.expires_at
                );
            }
        }
    }
    Ok(exit::SUCCESS)
}

/// A pipeline's next firing.
#[derive(Debug, serde::Serialize)]
pub struct NextRun {
    /// The pipeline.
    pub pipeline: String,
    /// Its schedule and time zone.
    pub cron: String,
    /// The next firing, RFC 3339 (UTC).
    pub next: Option<String>,
    /// Whether a scheduler is running (its state was renewed in the last two minutes).
    pub scheduler_running: bool,
}

async fn next_runs(config: &ansinh_core::Config, warehouse: &Warehouse) -> Vec<NextRun> {
    let Ok(pipelines) = crate::commands::run::pipelines(config) else {
        return Vec::new();
    };
    let state = ansinh_pipeline::scheduler::read_state(warehouse).await;
    let now = chrono::Utc::now();
    let alive = state
        .as_ref()
        .is_some_and(|s| now - s.heartbeat_at < chrono::Duration::minutes(2));
    pipelines
        .iter()
        .filter_map(|p| {
            let cron = p.schedule.as_ref()?;
            let next = state
                .as_ref()
                .filter(|_| alive)
                .and_then(|s| s.next_runs.get(&p.name).copied())
                .or_else(|| cron.next_after(now));
            Some(NextRun {
                pipeline: p.name.clone(),
                cron: format!("{} {}", cron.text(), cron.timezone()),
                next: next.map(|t| t.to_rfc3339()),
                scheduler_running: alive,
            })
        })
        .collect()
}

async fn model_freshness(
    config: &ansinh_core::Config,
    warehouse: &Warehouse,
) -> Result<Vec<ansinh_models::freshness::Freshness>, Failure> {
    let dir = std::path::Path::new(&config.models.dir);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let project = ansinh_models::Project::load(dir, &Warehouse::table_names())?;
    let ctx = warehouse.session().await?;
    let inputs = ansinh_models::Inputs::read(&project, warehouse, &ctx).await?;
    let prints = ansinh_models::fingerprints(&project, &inputs)?;
    let (store, _) = warehouse.store()?;
    Ok(
        ansinh_models::freshness::freshness(&project, warehouse.location().root(), store, &prints)
            .await?,
    )
}

/// The matrix as text: one block per kind, periods down, offices across. A cell reads
/// `loaded 1234/5`: state, rows loaded, rows rejected.
pub fn render(cells: &[DeliveryStatus]) -> String {
    let mut out = String::new();
    let mut by_kind: BTreeMap<&str, Vec<&DeliveryStatus>> = BTreeMap::new();
    for cell in cells {
        by_kind.entry(cell.kind.as_str()).or_default().push(cell);
    }
    if by_kind.is_empty() {
        return "no deliveries loaded or landed yet\n".into();
    }
    for (kind, cells) in by_kind {
        let offices: BTreeSet<&str> = cells.iter().map(|c| c.office.as_str()).collect();
        let periods: BTreeSet<&str> = cells.iter().map(|c| c.period.as_str()).collect();
        let text = |c: &DeliveryStatus| match c.state {
            DeliveryState::Missing | DeliveryState::Pending => c.state.name().to_string(),
            _ => format!("{} {}/{}", c.state.name(), c.rows_loaded, c.rows_rejected),
        };
        let width = cells
            .iter()
            .map(|c| text(c).len())
            .max()
            .unwrap_or(8)
            .max(8);
        out.push_str(&format!(
            "{kind} (state rows_loaded/rows_rejected)\n{:<8}",
            "period"
        ));
        for office in &offices {
            out.push_str(&format!("  {office:<width$}"));
        }
        out.push('\n');
        for period in periods {
            out.push_str(&format!("{period:<8}"));
            for office in &offices {
                let cell = cells
                    .iter()
                    .find(|c| c.period == period && c.office == *office);
                let shown = cell.map(|c| text(c)).unwrap_or_else(|| "-".into());
                out.push_str(&format!("  {shown:<width$}"));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// Options of `ansinh vacuum`.
#[derive(Debug, Args)]
pub struct VacuumArgs {
    /// Keep the files of versions younger than this many hours (time travel reaches that far).
    #[arg(long, default_value_t = 168)]
    pub retain_hours: i64,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `ansinh vacuum`.
pub async fn run_vacuum(global: &Global, args: VacuumArgs) -> Result<u8, Failure> {
    if args.retain_hours < 0 {
        return Err(Failure::usage(anyhow::anyhow!(
            "--retain-hours must not be negative"
        )));
    }
    let config = settings::config(global)?;
    let warehouse = settings::existing_warehouse(&config)?;
    let retain = chrono::Duration::hours(args.retain_hours);
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    let deleted =
        ansinh_pipeline::lock::locked(&warehouse, "vacuum", config.run.lock_ttl_seconds, async {
            Ok(warehouse.vacuum(retain, args.dry_run).await?)
        })
        .await?;
    for (table, files) in deleted {
        println!("{table}: {verb} {} files", files.len());
        if args.dry_run {
            for file in files {
                println!("  {file}");
            }
        }
    }
    Ok(exit::SUCCESS)
}
