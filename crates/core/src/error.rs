//! Errors of the domain crate.

/// Result with the domain [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong when parsing domain values or configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A period that is not `YYYY-MM`.
    #[error("invalid period {value:?}: expected YYYY-MM")]
    InvalidPeriod {
        /// The offending text.
        value: String,
    },
    /// A delivery kind that is neither participants nor beneficiaries.
    #[error("invalid delivery kind {value:?}: expected participants or beneficiaries")]
    InvalidKind {
        /// The offending text.
        value: String,
    },
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ConfigRead {
        /// Path of the file.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The configuration is not valid TOML or has unknown keys.
    #[error("invalid config {path}: {message}")]
    ConfigParse {
        /// Path of the file (or `<env>` for environment overrides).
        path: String,
        /// What the parser said, including the key.
        message: String,
    },
    /// A configuration value is out of range.
    #[error("invalid config value {key}: {message}")]
    ConfigValue {
        /// The dotted key.
        key: String,
        /// Why it is invalid.
        message: String,
    },
}

impl crate::class::Classify for Error {
    /// Every error of this crate is a wrong value, file or setting given by the user.
    fn class(&self) -> crate::class::ErrorClass {
        crate::class::ErrorClass::Usage
    }
}
