//! What `ansinh report` and `ansinh docs` write: one self-contained HTML page of charts drawn
//! from the marts, and the data dictionary in Markdown and HTML. Each reads typed rows from a
//! query session, then renders them with pure functions.

pub mod dictionary;
pub mod page;

/// Result with the report [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while gathering a report or the dictionary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A query over the marts failed.
    #[error("{what}: {source}")]
    Query {
        /// What was read.
        what: &'static str,
        /// Underlying error.
        source: Box<datafusion::error::DataFusionError>,
    },
    /// There is nothing to report yet.
    #[error("{0}")]
    Empty(String),
    /// A mart's column does not have the type the report reads.
    #[error("{0}")]
    Warehouse(#[from] ansinh_warehouse::Error),
    /// The models cannot be loaded or planned.
    #[error(transparent)]
    Models(#[from] ansinh_models::Error),
}

impl ansinh_core::Classify for Error {
    fn class(&self) -> ansinh_core::ErrorClass {
        use ansinh_core::ErrorClass;
        match self {
            Error::Query { source, .. } => ansinh_warehouse::datafusion_class(source),
            Error::Empty(_) => ErrorClass::Usage,
            Error::Warehouse(e) => e.class(),
            Error::Models(e) => e.class(),
        }
    }
}

/// Text made safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
