//! `ansinh report`: one self-contained HTML page with charts drawn from the marts.

use std::path::PathBuf;

use ansinh_report::page::{ReportData, render};
use clap::Args;

use crate::commands::models::query_session;
use crate::exit::{self, Failure};
use crate::settings::{self, Global};

/// Options of `ansinh report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The HTML file to write.
    #[arg(long, default_value = "report.html")]
    pub out: PathBuf,
}

/// Runs `ansinh report`.
pub async fn run(global: &Global, args: ReportArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let (ctx, _, _) = query_session(&config).await?;
    let html = render(&ReportData::read(&ctx).await?);
    let tmp = args.out.with_extension("html.tmp");
    std::fs::write(&tmp, html)
        .and_then(|()| std::fs::rename(&tmp, &args.out))
        .map_err(|e| Failure::usage(anyhow::anyhow!("{}: {e}", args.out.display())))?;
    println!("wrote {}", args.out.display());
    Ok(exit::SUCCESS)
}
