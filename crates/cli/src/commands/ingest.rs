//! `ansinh ingest`.

use std::collections::BTreeMap;
use std::path::Path;

use ansinh_core::{Config, DeliveryKind, YearMonth};
use ansinh_extract::{Geography, PseudonymKey, TextEncoding};
use ansinh_warehouse::history::{LoadHistory, Outcome};
use ansinh_warehouse::ingest::{IngestOptions, Ingestor, LoadReport};
use ansinh_warehouse::landing::{self, LandingScan};
use ansinh_warehouse::reference::load_reference;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::exit::{self, Failure};
use crate::settings::{self, Global};

/// Options of `ansinh ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Only deliveries of this kind (participants or beneficiaries).
    #[arg(long)]
    pub kind: Option<DeliveryKind>,
    /// Only deliveries of this month (YYYY-MM).
    #[arg(long)]
    pub period: Option<YearMonth>,
    /// Only deliveries of this office.
    #[arg(long)]
    pub office: Option<String>,
    /// Every delivery in the landing area not yet loaded in its current form.
    #[arg(long)]
    pub all: bool,
    /// Refuse a delivery when more than this share of its rows is rejected.
    #[arg(long)]
    pub max_reject_ratio: Option<f64>,
    /// Load again files that were refused before in the same form, e.g. after the reference
    /// data or the reject ratio changed.
    #[arg(long)]
    pub retry_refused: bool,
    /// Use the public demo pseudonym key. Accepted only for landing areas written by
    /// `ansinh generate` (they carry its manifest.json).
    #[arg(long)]
    pub demo_key: bool,
}

/// Totals of one ingest run.
#[derive(Debug, Default)]
pub struct IngestTotals {
    /// Files by outcome.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Files refused by this run or before.
    pub refused: u64,
}

/// Runs `ansinh ingest`.
pub async fn run(global: &Global, args: IngestArgs) -> Result<u8, Failure> {
    if !args.all && args.kind.is_none() && args.period.is_none() && args.office.is_none() {
        return Err(Failure::usage(anyhow::anyhow!(
            "say which deliveries to load: --all, or any of --kind, --period, --office"
        )));
    }
    let mut config = settings::config(global)?;
    if let Some(ratio) = args.max_reject_ratio {
        config.ingest.max_reject_ratio = ratio;
        config.validate()?;
    }
    let landing = settings::landing(&config)?;
    let key = resolve_key(&config, landing.local(), args.demo_key)?;
    let scan = landing::scan_area(&landing).await?;
    let select = |f: &ansinh_core::Delivery| {
        args.kind.is_none_or(|k| k == f.kind)
            && args.period.is_none_or(|p| p == f.period)
            && args.office.as_ref().is_none_or(|o| *o == f.office)
    };
    let totals = crate::commands::run::locked(
        &config,
        "ingest",
        ingest_landing(global, &config, &scan, key, args.retry_refused, select),
    )
    .await?;
    print_totals(&totals);
    Ok(if totals.refused > 0 {
        exit::DATA
    } else {
        exit::SUCCESS
    })
}

/// The pseudonym key, or the demo key for a generated landing area when asked for.
pub fn resolve_key(
    config: &Config,
    landing: Option<&Path>,
    demo: bool,
) -> Result<PseudonymKey, Failure> {
    if let Some(key) = settings::pseudonym_key(config)? {
        return Ok(key);
    }
    if demo {
        if landing.and_then(ansinh_sample::Manifest::read).is_none() {
            return Err(Failure::usage(anyhow::anyhow!(
                "--demo-key is accepted only for sample data written by `ansinh generate` in a \
                 local directory; {} has no {}",
                config.landing,
                ansinh_sample::MANIFEST
            )));
        }
        tracing::warn!(
            "USING THE PUBLIC DEMO PSEUDONYM KEY: pseudonyms in this warehouse protect nothing. \
             Acceptable only for generated sample data; set ANSINH_PSEUDONYM_KEY for real extracts."
        );
        return Ok(PseudonymKey::demo());
    }
    Err(Failure::usage(anyhow::anyhow!(
        "no pseudonym key: set ANSINH_PSEUDONYM_KEY (at least {} bytes) or pseudonym_key_file \
         in the config; for sample data from `ansinh generate`, --demo-key",
        ansinh_extract::MIN_KEY_BYTES
    )))
}

/// Loads the reference data, then every landed delivery that `select` accepts.
pub async fn ingest_landing(
    global: &Global,
    config: &Config,
    scan: &LandingScan,
    key: PseudonymKey,
    retry_refused: bool,
    select: impl Fn(&ansinh_core::Delivery) -> bool,
) -> Result<IngestTotals, Failure> {
    let reference = settings::local_dir(&config.reference, "reference directory")?;
    let geography = Geography::load(&reference.join("geography.csv"))
        .map_err(|e| Failure::usage(anyhow::Error::from(e)))?;
    let warehouse = settings::warehouse(config)?;
    let encoding = TextEncoding::from_config(&config.ingest.encoding)
        .ok_or_else(|| Failure::usage(anyhow::anyhow!("invalid ingest.encoding")))?;
    let options = IngestOptions {
        max_reject_ratio: config.ingest.max_reject_ratio,
        batch_rows: config.ingest.batch_rows,
        memory_limit_mb: config.ingest.memory_limit_mb,
        workers: config.ingest.workers,
        encoding,
        retry_refused,
        force: false,
    };
    let mut history = LoadHistory::read(&warehouse).await?;
    for report in load_reference(&warehouse, &reference, &mut history).await? {
        if report.outcome != Outcome::Unchanged {
            tracing::info!(
                table = %format!("reference.{}", report.table),
                rows = report.rows,
                outcome = report.outcome.name(),
                "reference"
            );
        }
    }
    let mut ingestor = Ingestor::new(&warehouse, history, geography, key, options).await?;
    for (file, reason) in &scan.ignored {
        tracing::warn!(file = %file, "ignored: {reason}");
    }
    let selected: Vec<_> = scan.files.iter().filter(|f| select(&f.delivery)).collect();
    let bar = if settings::interactive(global) {
        let bar = ProgressBar::new(selected.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} files {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let mut totals = IngestTotals::default();
    for landed in selected {
        if let Some(bar) = &bar {
            bar.set_message(landed.relative.clone());
        }
        let report = ingestor.ingest(landed).await?;
        log_report(&report);
        *totals.outcomes.entry(report.outcome.name()).or_default() += 1;
        if matches!(report.outcome, Outcome::Refused | Outcome::RefusedBefore) {
            totals.refused += 1;
        }
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(totals)
}

fn log_report(report: &LoadReport) {
    let file = &report.file;
    match report.outcome {
        Outcome::Loaded | Outcome::Restated => {
            tracing::info!(
                file = %file,
                outcome = report.outcome.name(),
                rows_read = report.rows_read,
                rows_loaded = report.rows_loaded,
                rows_rejected = report.rows_rejected,
                table_version = report.table_version,
                form = report.message.as_deref().unwrap_or(""),
                "{}", report.outcome.name()
            );
            if !report.extra_columns.is_empty() {
                tracing::info!(file = %file, "extra columns ignored: {}", report.extra_columns.join(", "));
            }
        }
        Outcome::Unchanged => tracing::debug!(file = %file, "unchanged"),
        Outcome::RefusedBefore => {
            tracing::warn!(file = %file, "refused before, unchanged: {}", report.message.as_deref().unwrap_or(""))
        }
        Outcome::Refused => {
            tracing::warn!(file = %file, "refused: {}", report.message.as_deref().unwrap_or(""))
        }
    }
    for reject in &report.first_rejects {
        tracing::info!(
            "{file}:{}: {}: {}{}",
            reject.line,
            reject.field,
            reject.reason,
            reject
                .value
                .as_deref()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default()
        );
    }
}

/// Prints the totals line.
pub fn print_totals(totals: &IngestTotals) {
    let parts: Vec<String> = totals
        .outcomes
        .iter()
        .map(|(o, n)| format!("{n} {o}"))
        .collect();
    if parts.is_empty() {
        println!("no deliveries matched");
    } else {
        println!("deliveries: {}", parts.join(", "));
    }
}
