//! The query catalog that `sql`, `shell`, `test`, `report` and `serve` share: every warehouse
//! table, `reference.*` table and model in one session, read-only.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use ansinh_core::Config;
use ansinh_warehouse::{AsOf, Storage, Warehouse};
use arrow::array::RecordBatch;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};
use crate::project::Project;

/// A session over the warehouse with every table and model registered.
pub struct Catalog {
    /// The session.
    pub ctx: SessionContext,
    /// The warehouse it reads.
    pub warehouse: Warehouse,
    /// The models.
    pub project: Project,
}

impl Catalog {
    /// The catalog of the configured warehouse as it is now: marts are read from their files.
    pub async fn open(config: &Config) -> Result<Self> {
        Self::open_at(config, &AsOf::Latest).await
    }

    /// The catalog of the configured warehouse as it was at `as_of`: marts are read from
    /// their files for the current state, and computed as views from the tables for a past
    /// one.
    pub async fn open_at(config: &Config, as_of: &AsOf) -> Result<Self> {
        let project = Project::load(Path::new(&config.models.dir), &Warehouse::table_names())?;
        let local = Path::new(&config.warehouse);
        if !config.warehouse.contains("://") && !local.join("tables").is_dir() {
            let shown = std::path::absolute(local).unwrap_or_else(|_| local.to_path_buf());
            return Err(crate::Error::NoWarehouse {
                dir: shown.display().to_string(),
            });
        }
        let warehouse =
            Warehouse::open_with(&config.warehouse, Storage::new(config.storage.clone()))?;
        let ctx = crate::session(
            config.models.memory_limit_mb,
            config.models.spill_dir.as_deref(),
        )?;
        warehouse.register_at(&ctx, as_of).await?;
        if *as_of == AsOf::Latest {
            crate::register_marts(&project, &ctx, warehouse.location().root()).await?;
        } else {
            crate::register_views(&project, &ctx).await?;
        }
        Ok(Self {
            ctx,
            warehouse,
            project,
        })
    }
}

/// What analysts may run: queries only, no DDL, DML or statements such as `COPY` or `SET`.
pub fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Runs the statements of `sql` in order (read-only) and returns the last one's result.
pub async fn run_statements(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    let query = |source| Error::Query {
        source: Box::new(source),
    };
    let statements = datafusion::sql::parser::DFParser::parse_sql(sql).map_err(query)?;
    if statements.is_empty() {
        return Err(Error::NoStatement);
    }
    let options = read_only();
    let mut last = Vec::new();
    for statement in statements {
        let plan = ctx
            .state()
            .statement_to_plan(statement)
            .await
            .map_err(query)?;
        options.verify_plan(&plan).map_err(query)?;
        let df = ctx.execute_logical_plan(plan).await.map_err(query)?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        last = df.collect().await.map_err(query)?;
        // An empty result still has its columns: printed as a header.
        if last.is_empty() && !schema.fields().is_empty() {
            last.push(RecordBatch::new_empty(schema));
        }
    }
    Ok(last)
}

/// Parses `--as-of` values: one time (RFC 3339, or a date meaning its end, UTC), or any number
/// of `TABLE@VERSION`.
pub fn parse_as_of(values: &[String]) -> Result<AsOf> {
    if values.is_empty() {
        return Ok(AsOf::Latest);
    }
    let bad = |value: &str, message: String| Error::AsOf {
        value: value.to_string(),
        message,
    };
    let mut versions = HashMap::new();
    let mut time = None;
    for value in values {
        if let Some((table, version)) = value.split_once('@') {
            let known = Warehouse::table_names();
            if !known.contains(table) {
                return Err(bad(
                    value,
                    format!(
                        "no table {table:?}; tables: {}",
                        known.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            let version: i64 = version
                .parse()
                .map_err(|_| bad(value, "the version is a number".into()))?;
            versions.insert(table.to_string(), version);
            continue;
        }
        let parsed = chrono::DateTime::parse_from_rfc3339(value)
            .map(|t| t.with_timezone(&chrono::Utc))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc())
            })
            .map_err(|_| {
                bad(
                    value,
                    "a time is RFC 3339 (2024-03-05T10:00:00Z) or a date (2024-03-05, meaning \
                     its end); a version is TABLE@VERSION"
                        .into(),
                )
            })?;
        time = Some(parsed);
    }
    match (time, versions.is_empty()) {
        (Some(_), false) => Err(bad(
            &values.join(" "),
            "takes a time or TABLE@VERSION values, not both".into(),
        )),
        (Some(t), true) => Ok(AsOf::Time(t)),
        (None, _) => Ok(AsOf::Versions(versions)),
    }
}
