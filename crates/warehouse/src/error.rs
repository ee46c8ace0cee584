//! Errors of the warehouse.

/// Result with the warehouse [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the warehouse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Delta operation on a table failed.
    #[error("table {table}: {source}")]
    Delta {
        /// The table.
        table: String,
        /// Underlying error.
        source: deltalake::DeltaTableError,
    },
    /// A query failed.
    #[error("query on {table}: {source}")]
    Query {
        /// The table or query.
        table: String,
        /// Underlying error.
        source: datafusion::error::DataFusionError,
    },
    /// The warehouse or landing location is not a usable URL or path.
    #[error("invalid location {location:?}: {message}")]
    Location {
        /// The location as given.
        location: String,
        /// Why it cannot be used.
        message: String,
    },
    /// The landing area does not exist or cannot be listed.
    #[error("landing area {location}: {message}")]
    Landing {
        /// The landing location.
        location: String,
        /// What went wrong.
        message: String,
    },
    /// A reference file is missing or malformed.
    #[error("reference data: {0}")]
    Reference(#[from] ansinh_extract::Error),
    /// The pseudonym key is missing or unusable.
    #[error("{0}")]
    Key(String),
    /// Local file access failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// An Arrow operation failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The `_loads` manifest holds a row this version cannot read.
    #[error("{0}")]
    Manifest(String),
    /// An object store request failed (after its retries).
    #[error("storage {location}: {message}")]
    Store {
        /// The object or prefix.
        location: String,
        /// What went wrong.
        message: String,
    },
    /// A background task failed.
    #[error("background task: {0}")]
    Task(String),
}

impl Error {
    /// Whether retrying later may succeed (storage unreachable, conflicting commit): exit
    /// code 3 rather than 2.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Delta { source, .. } => matches!(
                source,
                deltalake::DeltaTableError::ObjectStore { .. }
                    | deltalake::DeltaTableError::Io { .. }
                    | deltalake::DeltaTableError::Transaction { .. }
                    | deltalake::DeltaTableError::VersionAlreadyExists(_)
            ),
            Error::Io { .. } | Error::Task(_) | Error::Store { .. } => true,
            _ => false,
        }
    }
}
