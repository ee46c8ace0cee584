//! Global flags, the layered configuration and logging.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use ansinh_core::Config;
use clap::{Args, ValueEnum};

use crate::exit::Failure;

/// Default configuration file.
const DEFAULT_CONFIG: &str = "config/ansinh.toml";

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file [default: config/ansinh.toml, if present].
    #[arg(long, global = true, env = "ANSINH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Warehouse root: a local path, or a file://, s3://, gs:// or az:// URL.
    #[arg(long, global = true, env = "ANSINH_WAREHOUSE")]
    pub warehouse: Option<String>,
    /// Landing area with the offices' deliveries: a local path, or a file://, s3://, gs:// or
    /// az:// URL.
    #[arg(long, global = true, env = "ANSINH_LANDING")]
    pub landing: Option<String>,
    /// Directory of the reference CSVs [default: config/reference].
    #[arg(long, global = true, env = "ANSINH_REFERENCE")]
    pub reference: Option<String>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "ANSINH_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter, e.g. `warn` or `ansinh=debug`.
    #[arg(long, global = true, default_value = "info", env = "ANSINH_LOG")]
    pub log: String,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Starts logging to stderr.
pub fn init_logging(global: &Global) -> anyhow::Result<()> {
    // A bare level applies to ansinh; the storage and query libraries log only warnings, since
    // their probes and retries are noise and our errors carry what matters.
    let filter = if global.log.contains(['=', ',']) {
        global.log.clone()
    } else {
        let level = &global.log;
        format!(
            "warn,buoyant_kernel=off,ansinh={level},ansinh_warehouse={level},ansinh_extract={level},ansinh_sample={level}"
        )
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .map_err(|e| anyhow::anyhow!("invalid --log filter {:?}: {e}", global.log))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match global.log_format {
        // JSON escapes control characters itself.
        LogFormat::Json => builder.json().flatten_event(true).init(),
        // A file name with a newline or an escape sequence must not forge a line.
        LogFormat::Text => {
            use tracing_subscriber::field::MakeExt;
            let fields = tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
                let text = format!("{value:?}");
                let text = ansinh_core::escape_controls(&text);
                match field.name() {
                    "message" => write!(writer, "{text}"),
                    name => write!(writer, "{name}={text}"),
                }
            })
            .delimited(" ");
            builder
                .fmt_fields(fields)
                .with_ansi(std::io::stderr().is_terminal())
                .init()
        }
    }
    Ok(())
}

/// Whether to draw progress bars: text logs on a terminal.
pub fn interactive(global: &Global) -> bool {
    global.log_format == LogFormat::Text && std::io::stderr().is_terminal()
}

fn environment() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("ANSINH_"))
        .collect()
}

/// The configuration: file, then environment, then flags.
pub fn config(global: &Global) -> Result<Config, Failure> {
    let (path, required) = match &global.config {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    let mut config = Config::load(&path, required, &environment())?;
    if let Some(w) = &global.warehouse {
        config.warehouse = w.clone();
    }
    if let Some(l) = &global.landing {
        config.landing = l.clone();
    }
    if let Some(r) = &global.reference {
        config.reference = r.clone();
    }
    Ok(config)
}

/// How object stores are reached.
pub fn storage(config: &Config) -> ansinh_warehouse::Storage {
    ansinh_warehouse::Storage::new(config.storage.clone())
}

/// The configured warehouse.
pub fn warehouse(config: &Config) -> Result<ansinh_warehouse::Warehouse, Failure> {
    Ok(ansinh_warehouse::Warehouse::open_with(
        &config.warehouse,
        storage(config),
    )?)
}

/// The configured warehouse, which must exist: for commands that only read it (`status`,
/// `history`, `vacuum`), a local directory that is not there is a usage error rather than an
/// empty warehouse created where the command happened to run.
pub fn existing_warehouse(config: &Config) -> Result<ansinh_warehouse::Warehouse, Failure> {
    let local = !config.warehouse.contains("://");
    let path = std::path::Path::new(&config.warehouse);
    if local && !path.join("tables").is_dir() {
        let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        return Err(Failure::usage(anyhow::anyhow!(
            "no warehouse at {}: run `ansinh demo` or `ansinh ingest` first, or point --warehouse (ANSINH_WAREHOUSE) at one",
            shown.display()
        )));
    }
    warehouse(config)
}

/// The configured landing area: a local directory or an object-store prefix.
pub fn landing(config: &Config) -> Result<ansinh_warehouse::landing::LandingArea, Failure> {
    Ok(ansinh_warehouse::landing::LandingArea::open(
        &config.landing,
        &storage(config),
    )?)
}

/// A local directory (the reference data, the demo's landing area).
pub fn local_dir(location: &str, what: &str) -> Result<PathBuf, Failure> {
    Ok(ansinh_pipeline::environment::local_dir(location, what)?)
}
