//! Errors of the models, each naming the model file and, where known, the line.

/// Result with the models [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong with the models.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `sql/` directory cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The models directory does not exist.
    #[error(
        "no models directory at {dir}: run ansinh from the project's root, or set [models] dir (ANSINH_MODELS__DIR)"
    )]
    NoProject {
        /// The directory, absolute.
        dir: String,
    },
    /// A command that reads the warehouse found none.
    #[error(
        "no warehouse at {dir}: run `ansinh demo` or `ansinh ingest` first, or point --warehouse (ANSINH_WAREHOUSE) at one"
    )]
    NoWarehouse {
        /// The directory, absolute.
        dir: String,
    },
    /// The leading comment block is not valid TOML or has unknown keys.
    #[error("{file}:{line}: invalid model settings: {message}")]
    Config {
        /// Model file.
        file: String,
        /// Line in the file.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The SQL does not parse, or is not a single query.
    #[error("{file}:{line}: {message}")]
    Sql {
        /// Model file.
        file: String,
        /// Line in the file (0 when unknown).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A table reference names neither a warehouse table nor a model.
    #[error("{file}:{line}: unknown table {table}")]
    UnknownTable {
        /// Model file.
        file: String,
        /// Line of the reference.
        line: u64,
        /// The table as written.
        table: String,
    },
    /// Two models have the same name.
    #[error("model {name} is defined twice: {first} and {second}")]
    Duplicate {
        /// Model name.
        name: String,
        /// First file.
        first: String,
        /// Second file.
        second: String,
    },
    /// Models depend on each other in a cycle.
    #[error("dependency cycle: {}", cycle.join(" -> "))]
    Cycle {
        /// The models of the cycle, as `name (file)`, first repeated last.
        cycle: Vec<String>,
    },
    /// A selector matches nothing.
    #[error("selector {selector:?} matches no model")]
    Selector {
        /// The selector.
        selector: String,
    },
    /// Planning or running a model failed.
    #[error("{file}:{line}: model {model}: {}", source.find_root())]
    Execution {
        /// Model name.
        model: String,
        /// Model file.
        file: String,
        /// Line, when the engine reported one (else 0).
        line: u64,
        /// Underlying error.
        source: Box<datafusion::error::DataFusionError>,
    },
    /// Writing a mart failed.
    #[error("mart {model}: {message}")]
    Write {
        /// Model name.
        model: String,
        /// What went wrong.
        message: String,
    },
    /// Months of a partitioned model failed twice; the other months are built and current.
    #[error("model {model}: {} of the {total} months to build failed twice, the others are built and current: {}", failed.len(), failed.join("; "))]
    Partitions {
        /// Model name.
        model: String,
        /// Months the build had to build.
        total: usize,
        /// Each failed month with its last error.
        failed: Vec<String>,
    },
    /// An analyst's query failed.
    #[error("{}", source.find_root())]
    Query {
        /// Underlying error.
        source: Box<datafusion::error::DataFusionError>,
    },
    /// A file of statements holds none.
    #[error("no SQL statement to run")]
    NoStatement,
    /// An `--as-of` value is not a time or `TABLE@VERSION`.
    #[error("--as-of {value}: {message}")]
    AsOf {
        /// The value as given.
        value: String,
        /// Why it is refused.
        message: String,
    },
    /// The warehouse failed.
    #[error(transparent)]
    Warehouse(Box<ansinh_warehouse::Error>),
    /// The query session cannot be set up with the configured memory limit and spill
    /// directory.
    #[error("models session (models.memory_limit_mb, models.spill_dir): {source}")]
    Session {
        /// Underlying error.
        source: Box<datafusion::error::DataFusionError>,
    },
}

impl ansinh_core::Classify for Error {
    fn class(&self) -> ansinh_core::ErrorClass {
        use ansinh_core::ErrorClass;
        use datafusion::error::DataFusionError as D;
        match self {
            Error::Io { .. }
            | Error::NoProject { .. }
            | Error::NoWarehouse { .. }
            | Error::Config { .. }
            | Error::Sql { .. }
            | Error::UnknownTable { .. }
            | Error::Duplicate { .. }
            | Error::Cycle { .. }
            | Error::Selector { .. }
            | Error::Session { .. }
            | Error::NoStatement
            | Error::AsOf { .. } => ErrorClass::Usage,
            Error::Query { source } => match source.find_root() {
                D::ResourcesExhausted(_) | D::IoError(_) | D::ObjectStore(_) => {
                    ErrorClass::Infrastructure
                }
                _ => ErrorClass::Usage,
            },
            Error::Warehouse(e) => e.class(),
            // Out of memory or spill space, or storage failing under a build, may pass; a
            // model's SQL that the engine refuses is the project's to fix.
            Error::Execution { source, .. } => match source.find_root() {
                D::ResourcesExhausted(_) | D::IoError(_) | D::ObjectStore(_) => {
                    ErrorClass::Infrastructure
                }
                D::Internal(_) => ErrorClass::Bug,
                _ => ErrorClass::Usage,
            },
            Error::Write { .. } | Error::Partitions { .. } => ErrorClass::Infrastructure,
        }
    }
}

impl From<ansinh_warehouse::Error> for Error {
    fn from(e: ansinh_warehouse::Error) -> Self {
        Self::Warehouse(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ansinh_core::{Classify, ErrorClass};
    use datafusion::error::DataFusionError;

    #[test]
    fn running_out_of_memory_is_worth_a_retry_and_bad_sql_is_not() {
        let failed = |source: DataFusionError| Error::Execution {
            model: "stg_beneficiaries".into(),
            file: "sql/staging/stg_beneficiaries.sql".into(),
            line: 0,
            source: Box::new(source),
        };
        let oom = DataFusionError::ResourcesExhausted("Failed to allocate".into())
            .context("Not enough memory to continue external sort");
        assert_eq!(failed(oom).class(), ErrorClass::Infrastructure);
        let sql = DataFusionError::Plan("No field named x".into());
        assert_eq!(failed(sql).class(), ErrorClass::Usage);
    }
}
