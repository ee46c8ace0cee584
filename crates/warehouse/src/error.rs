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
    /// A temporary file of a load (rejects and links on their way to their tables) could not
    /// be made, written or read back.
    #[error("temporary file for {what}: {message}")]
    TempFile {
        /// What it holds.
        what: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A background task was cancelled (the runtime is shutting down).
    #[error("background task cancelled: {0}")]
    Cancelled(String),
    /// `--as-of` names a version a table does not have.
    #[error("{0}")]
    AsOf(String),
    /// A landed file changed while it was loaded; nothing of it was committed.
    #[error("{0}")]
    Changed(String),
    /// An invariant of the code does not hold: a bug, not a fault of the data or the
    /// environment.
    #[error("internal error: {0}")]
    Bug(String),
}

impl Error {
    /// A background task that ended without its result: a panic is a bug, a cancellation is
    /// the runtime going away.
    pub fn from_join(what: &str, e: tokio::task::JoinError) -> Self {
        if e.is_panic() {
            Self::Bug(format!("{what} panicked: {e}"))
        } else {
            Self::Cancelled(format!("{what}: {e}"))
        }
    }
}

impl ansinh_core::Classify for Error {
    fn class(&self) -> ansinh_core::ErrorClass {
        use ansinh_core::ErrorClass;
        match self {
            Error::Delta { source, .. } => match source {
                deltalake::DeltaTableError::ObjectStore { .. }
                | deltalake::DeltaTableError::Io { .. }
                | deltalake::DeltaTableError::Transaction { .. }
                | deltalake::DeltaTableError::VersionAlreadyExists(_) => ErrorClass::Infrastructure,
                deltalake::DeltaTableError::InvalidTableLocation(_)
                | deltalake::DeltaTableError::NotATable(_) => ErrorClass::Usage,
                // A table this crate wrote that it cannot read or write again, or another
                // failure that retrying may clear: retry, the operator sees the message.
                _ => ErrorClass::Infrastructure,
            },
            Error::Query { source, .. } => datafusion_class(source),
            Error::Location { .. }
            | Error::Landing { .. }
            | Error::Reference(_)
            | Error::Key(_)
            | Error::AsOf(_)
            | Error::Manifest(_) => ErrorClass::Usage,
            Error::Io { .. }
            | Error::Store { .. }
            | Error::TempFile { .. }
            | Error::Cancelled(_)
            | Error::Changed(_) => ErrorClass::Infrastructure,
            Error::Arrow(_) | Error::Bug(_) => ErrorClass::Bug,
        }
    }
}

/// The class of an error of a query this crate planned over its own tables: memory, spill,
/// storage and execution failures may pass on a retry; a plan that does not hold is a bug.
pub fn datafusion_class(e: &datafusion::error::DataFusionError) -> ansinh_core::ErrorClass {
    use ansinh_core::ErrorClass;
    use datafusion::error::DataFusionError as D;
    match e.find_root() {
        D::Internal(_) | D::Plan(_) | D::SQL(..) | D::SchemaError(..) | D::NotImplemented(_) => {
            ErrorClass::Bug
        }
        _ => ErrorClass::Infrastructure,
    }
}
