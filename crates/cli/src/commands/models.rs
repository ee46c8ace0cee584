//! `ansinh build`, `test`, `plan` and `sql`: the SQL models and queries over the warehouse.

use std::collections::BTreeSet;
use std::path::Path;

use ansinh_core::Config;
use ansinh_models::freshness::fingerprints;
use ansinh_models::{
    Materialization, Project, Target, build_fingerprinted, order, register_marts, run_tests, select,
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
}

/// Options of `ansinh sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query; every warehouse table, `reference.*` table and model can be named.
    pub query: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
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

impl From<ansinh_models::Error> for Failure {
    fn from(error: ansinh_models::Error) -> Self {
        match error {
            ansinh_models::Error::Warehouse(e) => Failure::from(*e),
            ansinh_models::Error::Write { .. } => Failure {
                code: exit::RETRY,
                error: error.into(),
            },
            other => Failure::usage(other),
        }
    }
}

/// A session with the configured memory limit and spill directory.
pub fn session(config: &Config) -> Result<SessionContext, Failure> {
    ansinh_models::session(
        config.models.memory_limit_mb,
        config.models.spill_dir.as_deref(),
    )
    .map_err(Failure::usage)
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

/// A session over the warehouse with every table and model registered.
pub async fn query_session(
    config: &Config,
) -> Result<(SessionContext, Warehouse, Project), Failure> {
    let warehouse = settings::warehouse(config)?;
    let ctx = session(config)?;
    warehouse.register(&ctx).await?;
    let project = project(config)?;
    register_marts(&project, &ctx, warehouse.location().root()).await?;
    Ok((ctx, warehouse, project))
}

/// Runs `ansinh build`.
pub async fn run_build(global: &Global, args: SelectArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let warehouse = settings::warehouse(&config)?;
    let ctx = session(&config)?;
    warehouse.register(&ctx).await?;
    let project = project(&config)?;
    let selected = selection(&project, &args)?;
    let target = Target::Warehouse {
        root: warehouse.location().root().clone(),
    };
    let report = crate::commands::run::locked(&config, "build", async {
        let prints = fingerprints(&project, &warehouse.versions().await?)?;
        Ok(build_fingerprinted(&project, &ctx, &selected, &target, &prints).await?)
    })
    .await?;
    for m in report.models.iter().filter(|m| m.built) {
        let rows = m
            .rows
            .map(|r| format!("{r} rows"))
            .unwrap_or_else(|| "view".into());
        println!("built {:<28} {rows:<14} {:.2}s", m.name, m.seconds);
    }
    let built = report.models.iter().filter(|m| m.built).count();
    println!(
        "{built} models built; marts under {}marts/",
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

/// Runs `ansinh plan`: the order and each model's inputs (and SQL), nothing run.
pub fn run_plan(global: &Global, args: PlanArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let project = project(&config)?;
    let selected = selection(&project, &args.select)?;
    let mut step = 0;
    for name in order(&project)? {
        if !selected.contains(&name) {
            continue;
        }
        step += 1;
        let model = &project.models[&name];
        let kind = match model.materialization {
            Materialization::View => "view".to_string(),
            Materialization::Parquet if model.layer == "marts" => {
                format!("parquet marts/{name}.parquet")
            }
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
        if args.sql {
            println!("{}\n", model.sql.trim_end());
        }
    }
    Ok(exit::SUCCESS)
}

/// Runs `ansinh sql`.
pub async fn run_sql(global: &Global, args: SqlArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let (ctx, _, _) = query_session(&config).await?;
    let df = ctx.sql(&args.query).await.map_err(Failure::usage)?;
    let batches = df.collect().await.map_err(Failure::usage)?;
    print!("{}", render(&batches, args.format).map_err(Failure::usage)?);
    Ok(exit::SUCCESS)
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
