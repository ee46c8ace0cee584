//! Errors that refuse a whole file. Row-level problems are [`crate::Reject`]s, not errors.

/// Result with the extract [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file is not CSV, gzip-compressed CSV or XLSX.
    #[error("{file}: not a CSV or XLSX extract: {reason}")]
    UnknownForm {
        /// The file.
        file: String,
        /// What was found instead.
        reason: String,
    },
    /// A gzip archive is truncated or corrupt.
    #[error("{file}: corrupt or truncated gzip archive: {source}")]
    Gzip {
        /// The file.
        file: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The CSV text could not be parsed (e.g. an unterminated quote).
    #[error("{file}:{line}: malformed CSV: {message}")]
    Csv {
        /// The file.
        file: String,
        /// Line where parsing failed.
        line: u64,
        /// What the parser said.
        message: String,
    },
    /// The text is not in the declared encoding.
    #[error("{file}: byte {offset} is not valid {encoding}; declare the file's encoding")]
    Encoding {
        /// The file.
        file: String,
        /// Byte offset of the first invalid sequence.
        offset: u64,
        /// The encoding that was expected.
        encoding: &'static str,
    },
    /// The workbook could not be read.
    #[error("{file}: cannot read workbook: {message}")]
    Workbook {
        /// The file.
        file: String,
        /// What the XLSX reader said.
        message: String,
    },
    /// No row in the first lines looks like the contract's header.
    #[error("{file}: no recognisable header row in the first {searched} rows")]
    NoHeader {
        /// The file.
        file: String,
        /// How many rows were searched.
        searched: usize,
    },
    /// A column the contract requires is absent.
    #[error("{file}: missing required column {field} (accepted headers: {accepted})")]
    MissingColumn {
        /// The file.
        file: String,
        /// The contract field.
        field: &'static str,
        /// Headers that would have matched.
        accepted: String,
    },
    /// A reference CSV is malformed.
    #[error("{file}:{line}: {message}")]
    Reference {
        /// The reference file.
        file: String,
        /// The line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// Lines end in CR alone: the file would read as one line.
    #[error(
        "{file}: lines end in CR alone (the old Mac form); save the file with CRLF or LF line ends"
    )]
    LineEndings {
        /// File.
        file: String,
    },
    /// A cell of the header row looks like a value (a long run of digits, a date): a line
    /// break is missing, or the header is not the header. The cell itself is not repeated.
    #[error(
        "{file}: column {column} of the header row looks like data, not a column name (a run of digits or a date); is a line break missing after the header?"
    )]
    HeaderHoldsData {
        /// File.
        file: String,
        /// 1-based column.
        column: usize,
    },
    /// The file changed while it was read: what was parsed is not the file that was hashed.
    #[error(
        "{file}: the file changed while it was being loaded; nothing of it was loaded, load it again once it is complete"
    )]
    Changed {
        /// File.
        file: String,
    },
    /// The consumer of the batches stopped (its write failed); reading stopped with it.
    #[error("{file}: reading stopped because the load was aborted")]
    Aborted {
        /// The file.
        file: String,
    },
    /// A thread checking rows failed unexpectedly.
    #[error("{file}: checking rows failed: {message}")]
    Worker {
        /// The file.
        file: String,
        /// What the thread reported.
        message: String,
    },
    /// Building an Arrow batch failed.
    #[error("building record batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

impl ansinh_core::Classify for Error {
    fn class(&self) -> ansinh_core::ErrorClass {
        use ansinh_core::ErrorClass;
        match self {
            // Reference files and paths are the deployment's: fix them.
            Error::Reference { .. } | Error::Io { .. } => ErrorClass::Usage,
            // What an office delivered cannot be read: the delivery is refused.
            Error::UnknownForm { .. }
            | Error::Gzip { .. }
            | Error::Csv { .. }
            | Error::Encoding { .. }
            | Error::Workbook { .. }
            | Error::NoHeader { .. }
            | Error::LineEndings { .. }
            | Error::HeaderHoldsData { .. }
            | Error::MissingColumn { .. } => ErrorClass::Data,
            // The write that consumed the rows failed; its own error says why.
            Error::Aborted { .. } => ErrorClass::Infrastructure,
            // Someone was still writing the file: loading it again later will do.
            Error::Changed { .. } => ErrorClass::Infrastructure,
            // Batches are built from columns this crate typed itself.
            Error::Worker { .. } | Error::Arrow(_) => ErrorClass::Bug,
        }
    }
}
