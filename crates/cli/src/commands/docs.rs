//! `ansinh docs`: the data dictionary, in Markdown and HTML.

use std::path::PathBuf;

use ansinh_report::dictionary::{entries, html, markdown};
use clap::Args;

use crate::commands::models::session;
use crate::exit::{self, Failure};
use crate::settings::{self, Global};

/// Options of `ansinh docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Directory to write `data-dictionary.md` and `data-dictionary.html` into.
    #[arg(long, default_value = "docs/dictionary")]
    pub out: PathBuf,
}

/// The dictionary's entries for the configured warehouse and models.
pub async fn dictionary(
    config: &ansinh_core::Config,
) -> Result<Vec<ansinh_report::dictionary::Entry>, Failure> {
    let project = ansinh_models::Project::load(
        std::path::Path::new(&config.models.dir),
        &ansinh_warehouse::Warehouse::table_names(),
    )?;
    let ctx = session(config)?;
    settings::warehouse(config)?.register(&ctx).await?;
    Ok(entries(&project, &ctx).await?)
}

/// Runs `ansinh docs`.
pub async fn run(global: &Global, args: DocsArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let entries = dictionary(&config).await?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::usage(anyhow::anyhow!("{}: {e}", args.out.display())))?;
    for (name, text) in [
        ("data-dictionary.md", markdown(&entries)),
        ("data-dictionary.html", html(&entries)),
    ] {
        let path = args.out.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Failure::usage(anyhow::anyhow!("{}: {e}", path.display())))?;
        println!("wrote {}", path.display());
    }
    Ok(exit::SUCCESS)
}
