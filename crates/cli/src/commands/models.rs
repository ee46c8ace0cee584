//! `ansinh build`, `test`, `plan` and `sql`: the SQL models and queries over the warehouse.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ansinh_core::Config;
use ansinh_core::YearMonth;
use ansinh_models::catalog::{Catalog, parse_as_of, run_statements};
use ansinh_models::partition::{describe, plans};
use ansinh_models::{
    BuildOptions, Inputs, Materialization, Project, Target, build_fingerprinted, fingerprints,
    order, run_tests, select,
};
use ansinh_warehouse::Warehouse;
use arrow::array::RecordBatch;
use clap::{Args, ValueEnum};
use datafusion::prelude::SessionContext;

use crate::exit::{self, Failure};
use crate::settings::{self, Global};

/// Which models.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Models to run: `name`, `name+` (and downstream), `+name` (and upstream), `tag:x`;
    /// several separated by commas. All models when absent.
    #[arg(long, short)]
    pub select: Option<String>,
}

/// Output format of query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A text table.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON object per row (JSON Lines).
    Json,
    /// A zstd-compressed Parquet file (needs --output).
    Parquet,
}

/// Options of `ansinh sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query; every warehouse table, `reference.*` table and model can be named. Without
    /// it (and without `--file`), the SQL is read from standard input when that is not a
    /// terminal: `echo 'SELECT 1' | ansinh sql`.
    #[arg(conflicts_with = "file")]
    pub query: Option<String>,
    /// Read the SQL from this file (`-` for standard input). Statements separated by `;` run
    /// in order; the result of the last one is output.
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the result to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Query the warehouse as it was: a time (`2024-03-05T10:00:00Z` or `2024-03-05`, UTC)
    /// puts every table at its last version committed by then; `TABLE@VERSION` (repeatable)
    /// puts one table at a version. Models are then computed from those tables.
    #[arg(long, value_name = "TIME|TABLE@VERSION")]
    pub as_of: Vec<String>,
}

/// Options of `ansinh build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Rebuild every selected model and partition, fresh or not.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    full_refresh: bool,
    /// Rebuild the partitions of this month and later (YYYY-MM), fresh or not; other months
    /// stay as they are.
    #[arg(long, value_name = "YYYY-MM")]
    from: Option<YearMonth>,
    /// Rebuild the partitions of this month and earlier (YYYY-MM), fresh or not.
    #[arg(long, value_name = "YYYY-MM")]
    to: Option<YearMonth>,
}

impl BuildArgs {
    fn options(&self) -> BuildOptions {
        BuildOptions {
            full_refresh: self.full_refresh,
            from: self.from,
            to: self.to,
        }
    }
}

/// Options of `ansinh plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Print each model's SQL too.
    #[arg(long)]
    sql: bool,
}

/// A session with the configured memory limit and spill directory.
pub fn session(config: &Config) -> Result<SessionContext, Failure> {
    Ok(ansinh_models::session(
        config.models.memory_limit_mb,
        config.models.spill_dir.as_deref(),
    )?)
}

fn project(config: &Config) -> Result<Project, Failure> {
    Ok(Project::load(
        Path::new(&config.models.dir),
        &Warehouse::table_names(),
    )?)
}

fn selection(project: &Project, args: &SelectArgs) -> Result<BTreeSet<String>, Failure> {
    Ok(select(project, args.select.as_deref().unwrap_or(""))?)
}

/// The catalog of the configured warehouse, as it is now.
pub async fn query_session(
    config: &Config,
) -> Result<(SessionContext, Warehouse, Project), Failure> {
    let catalog = Catalog::open(config).await?;
    Ok((catalog.ctx, catalog.warehouse, catalog.project))
}

/// Runs `ansinh build`.
pub async fn run_build(global: &Global, args: BuildArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let warehouse = settings::warehouse(&config)?;
    let ctx = session(&config)?;
    warehouse.register(&ctx).await?;
    let project = project(&config)?;
    let selected = selection(&project, &args.select)?;
    let target = Target::Warehouse {
        root: warehouse.location().root().clone(),
    };
    let options = args.options();
    let report =
        ansinh_pipeline::lock::locked(&warehouse, "build", config.run.lock_ttl_seconds, async {
            let inputs = Inputs::read(&project, &warehouse, &ctx).await?;
            Ok(
                build_fingerprinted(&project, &ctx, &selected, &target, Some(&inputs), &options)
                    .await?,
            )
        })
        .await?;
    for m in report.models.iter().filter(|m| m.built) {
        let rows = m
            .rows
            .map(|r| format!("{r} rows"))
            .unwrap_or_else(|| "view".into());
        let partitions = match m.months_text() {
            text if text.is_empty() => text,
            text => format!("  {text}"),
        };
        println!(
            "built {:<28} {rows:<14} {:.2}s{partitions}",
            m.name, m.seconds
        );
    }
    let built = report.models.iter().filter(|m| m.built).count();
    let fresh = report
        .models
        .iter()
        .filter(|m| selected.contains(&m.name) && !m.built)
        .count();
    println!(
        "{built} models built, {fresh} fresh; marts under {}marts/",
        warehouse.location().root()
    );
    Ok(exit::SUCCESS)
}

/// Runs `ansinh test`.
pub async fn run_test(global: &Global, args: SelectArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let (ctx, _, project) = query_session(&config).await?;
    let selected = selection(&project, &args)?;
    let report = run_tests(&project, &ctx, &selected).await?;
    for t in &report.tests {
        let verdict = if t.failures == 0 {
            "pass".to_string()
        } else {
            format!("FAIL {} rows", t.failures)
        };
        println!("{verdict:<14} {} {}", t.model, t.test);
    }
    let failed = report.failed().count();
    println!("{} passed, {failed} failed", report.tests.len() - failed);
    Ok(if failed > 0 {
        exit::DATA
    } else {
        exit::SUCCESS
    })
}

/// The partitions a build would make now, by model, when the warehouse exists.
async fn partition_plans(
    config: &Config,
    project: &Project,
    selected: &BTreeSet<String>,
) -> Result<std::collections::BTreeMap<String, String>, Failure> {
    let warehouse = settings::warehouse(config)?;
    let root = warehouse.location().root().clone();
    if root
        .to_file_path()
        .is_ok_and(|p| !p.join("tables").is_dir())
        || !project.models.values().any(|m| m.partitioned())
    {
        return Ok(Default::default());
    }
    let ctx = session(config)?;
    warehouse.register(&ctx).await?;
    let prints = fingerprints(project, &Inputs::read(project, &warehouse, &ctx).await?)?;
    let (store, _) = warehouse.store()?;
    let plans = plans(
        project,
        selected,
        &store,
        &root,
        &prints,
        &BuildOptions::default(),
    )
    .await?;
    Ok(plans
        .into_iter()
        .map(|(name, plan)| (name, describe(&plan)))
        .collect())
}

/// Runs `ansinh plan`: the order and each model's inputs (and SQL), and for partitioned
/// models the months a build would make now and why; nothing is run.
pub async fn run_plan(global: &Global, args: PlanArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let project = project(&config)?;
    let selected = selection(&project, &args.select)?;
    let partitions = partition_plans(&config, &project, &selected).await?;
    let mut step = 0;
    for name in order(&project)? {
        if !selected.contains(&name) {
            continue;
        }
        step += 1;
        let model = &project.models[&name];
        let kind = match model.materialization {
            Materialization::View => "view".to_string(),
            Materialization::Parquet if model.layer == ansinh_models::Layer::Marts => {
                format!("parquet marts/{name}.parquet")
            }
            Materialization::Parquet if model.partitioned() => format!(
                "parquet staging/{name}/period=*/, by month, window {:?}",
                model.window()
            ),
            Materialization::Parquet => format!("parquet staging/{name}.parquet"),
        };
        let inputs: Vec<&str> = model
            .depends_on
            .iter()
            .chain(&model.sources)
            .map(String::as_str)
            .collect();
        println!(
            "{step:>2}. {name} ({kind}) <- {}    [{}]",
            inputs.join(", "),
            model.file
        );
        if let Some(plan) = partitions.get(&name) {
            println!("      to build: {plan}");
        }
        if args.sql {
            println!("{}\n", model.sql.trim_end());
        }
    }
    Ok(exit::SUCCESS)
}

/// Runs `ansinh sql`.
pub async fn run_sql(global: &Global, args: SqlArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let as_of = parse_as_of(&args.as_of)?;
    if args.format == Format::Parquet && args.output.is_none() {
        return Err(Failure::usage(anyhow::anyhow!(
            "--format parquet writes a file: give --output FILE"
        )));
    }
    let stdin = || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Failure::usage(anyhow::anyhow!("standard input: {e}")))?;
        Ok::<_, Failure>(text)
    };
    let sql = match (&args.query, &args.file) {
        (Some(query), _) => query.clone(),
        (None, Some(file)) if file.as_os_str() == "-" => stdin()?,
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| Failure::usage(anyhow::anyhow!("{}: {e}", file.display())))?,
        (None, None) if !std::io::IsTerminal::is_terminal(&std::io::stdin()) => stdin()?,
        (None, None) => {
            return Err(Failure::usage(anyhow::anyhow!(
                "give a query, -f FILE, or the SQL on standard input"
            )));
        }
    };
    let catalog = Catalog::open_at(&config, &as_of).await?;
    let batches = run_statements(&catalog.ctx, &sql).await?;
    match (&args.output, args.format) {
        (Some(path), Format::Parquet) => write_parquet(path, &batches)?,
        (Some(path), format) => {
            let text = render(&batches, format).map_err(Failure::usage)?;
            std::fs::write(path, text)
                .map_err(|e| Failure::usage(anyhow::anyhow!("{}: {e}", path.display())))?;
        }
        (None, format) => print!("{}", render(&batches, format).map_err(Failure::usage)?),
    }
    Ok(exit::SUCCESS)
}

/// Writes query results as one zstd Parquet file, through a temporary name.
fn write_parquet(path: &std::path::Path, batches: &[RecordBatch]) -> Result<(), Failure> {
    let fail =
        |e: &dyn std::fmt::Display| Failure::usage(anyhow::anyhow!("{}: {e}", path.display()));
    let schema = batches
        .first()
        .map(|b| b.schema())
        .ok_or_else(|| fail(&"the query returned no schema"))?;
    let tmp = path.with_extension("parquet.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| fail(&e))?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(
            parquet::basic::ZstdLevel::default(),
        ))
        .build();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| fail(&e))?;
    for batch in batches {
        writer.write(batch).map_err(|e| fail(&e))?;
    }
    writer.close().map_err(|e| fail(&e))?;
    std::fs::rename(&tmp, path).map_err(|e| fail(&e))?;
    Ok(())
}

/// Query results in `format`.
pub fn render(batches: &[RecordBatch], format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Table => format!("{}\n", arrow::util::pretty::pretty_format_batches(batches)?),
        Format::Csv => {
            let mut out = Vec::new();
            {
                let mut writer = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut out);
                for batch in batches {
                    writer.write(batch)?;
                }
            }
            String::from_utf8(out)?
        }
        Format::Parquet => anyhow::bail!("Parquet is written to a file (--output)"),
        Format::Json => {
            let mut out = Vec::new();
            {
                let mut writer = arrow::json::LineDelimitedWriter::new(&mut out);
                let refs: Vec<&RecordBatch> = batches.iter().collect();
                writer.write_batches(&refs)?;
                writer.finish()?;
            }
            String::from_utf8(out)?
        }
    })
}
