//! Exit codes for orchestrators, and errors that carry theirs.

/// Success.
pub const SUCCESS: u8 = 0;
/// The run finished but data failed (refused deliveries).
pub const DATA: u8 = 1;
/// Usage or configuration error.
pub const USAGE: u8 = 2;
/// Infrastructure error worth retrying.
pub const RETRY: u8 = 3;

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// Exit code.
    pub code: u8,
    /// What went wrong.
    pub error: anyhow::Error,
}

impl Failure {
    /// A usage or configuration error.
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: USAGE,
            error: error.into(),
        }
    }
}

impl From<ansinh_warehouse::Error> for Failure {
    fn from(error: ansinh_warehouse::Error) -> Self {
        let code = if error.is_transient() {
            RETRY
        } else {
            match error {
                ansinh_warehouse::Error::Location { .. }
                | ansinh_warehouse::Error::Landing { .. }
                | ansinh_warehouse::Error::Reference(_)
                | ansinh_warehouse::Error::Key(_)
                | ansinh_warehouse::Error::Manifest(_) => USAGE,
                _ => RETRY,
            }
        };
        Self {
            code,
            error: error.into(),
        }
    }
}

impl From<ansinh_core::Error> for Failure {
    fn from(error: ansinh_core::Error) -> Self {
        Self::usage(error)
    }
}
