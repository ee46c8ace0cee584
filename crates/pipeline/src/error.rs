//! Errors of pipelines and runs.

/// Result with the pipeline [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A pipeline definition is invalid: the file, the key and why.
    #[error("{file}: {key}: {message}")]
    Definition {
        /// The pipeline file (with `:line` when known).
        file: String,
        /// The key, or `-` for the whole file.
        key: String,
        /// Why it is refused.
        message: String,
    },
    /// A pipeline named on the command line does not exist.
    #[error("no pipeline named {name:?}; defined: {known}")]
    UnknownPipeline {
        /// The name asked for.
        name: String,
        /// The names defined.
        known: String,
    },
    /// Another run holds the warehouse lock.
    #[error(
        "the warehouse is locked by another run ({holder}, run {run_id}, since {since}); it \
         expires at {expires} unless renewed. Retry later"
    )]
    Locked {
        /// Host and process of the holder.
        holder: String,
        /// The holder's run id.
        run_id: String,
        /// When it was taken.
        since: String,
        /// When it expires.
        expires: String,
    },
    /// The lock could not be read, written or removed.
    #[error("warehouse lock {path}: {message}")]
    Lock {
        /// The lock object.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The source of a pipeline cannot be listed.
    #[error("pipeline {pipeline}: source {source_dir}: {message}")]
    Source {
        /// The pipeline.
        pipeline: String,
        /// The listed location.
        source_dir: String,
        /// What went wrong.
        message: String,
        /// The store failing (retry later) or the source's setting (fix it).
        class: ansinh_core::ErrorClass,
    },
    /// No usable pseudonym key.
    #[error("{0}")]
    Key(String),
    /// The demo key was asked for where it is not accepted.
    #[error("{0}")]
    DemoKey(String),
    /// A setting names something that cannot be used.
    #[error("{what}: {message}")]
    Setting {
        /// The setting and its value.
        what: String,
        /// Why it cannot be used.
        message: String,
    },
    /// A warehouse operation failed.
    #[error(transparent)]
    Warehouse(Box<ansinh_warehouse::Error>),
    /// A model operation failed.
    #[error(transparent)]
    Models(#[from] ansinh_models::Error),
    /// Reference data failed to load.
    #[error(transparent)]
    Extract(#[from] ansinh_extract::Error),
}

impl From<ansinh_warehouse::Error> for Error {
    fn from(e: ansinh_warehouse::Error) -> Self {
        Self::Warehouse(Box::new(e))
    }
}

impl ansinh_core::Classify for Error {
    fn class(&self) -> ansinh_core::ErrorClass {
        use ansinh_core::ErrorClass;
        match self {
            Error::Definition { .. }
            | Error::UnknownPipeline { .. }
            | Error::Key(_)
            | Error::DemoKey(_)
            | Error::Setting { .. } => ErrorClass::Usage,
            Error::Locked { .. } | Error::Lock { .. } => ErrorClass::Infrastructure,
            Error::Source { class, .. } => *class,
            Error::Warehouse(e) => e.class(),
            Error::Models(e) => e.class(),
            Error::Extract(e) => e.class(),
        }
    }
}
