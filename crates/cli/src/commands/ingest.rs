//! `ansinh ingest`.

use ansinh_core::{DeliveryKind, YearMonth};
use ansinh_pipeline::loader::{IngestSummary, Selection, ingest};
use ansinh_pipeline::{Environment, KeyNeed};
use ansinh_warehouse::history::Outcome;
use ansinh_warehouse::ingest::LoadReport;
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
    let mut env = Environment::open(config, args.demo_key, KeyNeed::Required)?;
    env.progress = progress_bar(global, "{bar:30} {pos}/{len} files {elapsed} {msg}");
    let selection = Selection {
        kind: args.kind,
        period: args.period,
        office: args.office,
        retry_refused: args.retry_refused,
    };
    let summary = ingest(&env, "ingest", &selection, log_report).await?;
    print_summary(&summary);
    // A delivery sent as two files is not loaded: a data failure, as in `ansinh run`.
    let ambiguous: Vec<&Vec<String>> = summary
        .scan
        .ambiguous
        .iter()
        .filter(|(delivery, _)| selection.accepts(delivery))
        .map(|(_, files)| files)
        .collect();
    for files in &ambiguous {
        tracing::error!(
            "more than one file for one delivery, none loaded: {}; keep one",
            files.join(", ")
        );
    }
    Ok(if summary.refused > 0 || !ambiguous.is_empty() {
        exit::DATA
    } else {
        exit::SUCCESS
    })
}

/// A progress bar with `template` when stderr is a terminal showing text logs.
pub fn progress_bar(global: &Global, template: &str) -> Option<ProgressBar> {
    settings::interactive(global).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    })
}

/// Logs what the reference load and the listing found, then the totals line.
pub fn print_summary(summary: &IngestSummary) {
    for report in &summary.reference {
        if report.outcome != Outcome::Unchanged {
            tracing::info!(
                table = %format!("reference.{}", report.table),
                rows = report.rows,
                outcome = report.outcome.name(),
                "reference"
            );
        }
    }
    for (file, reason) in &summary.ignored {
        tracing::warn!(file = %file, "ignored: {reason}");
    }
    let by_name: std::collections::BTreeMap<&str, u64> = summary
        .outcomes
        .iter()
        .map(|(o, n)| (o.name(), *n))
        .collect();
    let parts: Vec<String> = by_name.iter().map(|(o, n)| format!("{n} {o}")).collect();
    if parts.is_empty() {
        println!("no deliveries matched");
    } else {
        println!("deliveries: {}", parts.join(", "));
    }
}

/// Logs one file's report: its outcome, rows and first rejects.
pub fn log_report(report: &LoadReport) {
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
