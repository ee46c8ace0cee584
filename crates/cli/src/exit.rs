//! Exit codes for orchestrators, and errors that carry theirs. Each library error classifies
//! itself ([`ansinh_core::ErrorClass`]); this is the one place a class becomes a code.

use ansinh_core::{Classify, ErrorClass};

/// Success.
pub const SUCCESS: u8 = 0;
/// The run finished but data failed (refused deliveries).
pub const DATA: u8 = 1;
/// Usage or configuration error.
pub const USAGE: u8 = 2;
/// Infrastructure error worth retrying.
pub const RETRY: u8 = 3;
/// A bug in ansinh: retrying does not help; report it. (`EX_SOFTWARE` of sysexits.h.)
pub const BUG: u8 = 70;

/// The exit code of an error class.
pub fn code(class: ErrorClass) -> u8 {
    match class {
        ErrorClass::Usage => USAGE,
        ErrorClass::Data => DATA,
        ErrorClass::Infrastructure => RETRY,
        ErrorClass::Bug => BUG,
    }
}

/// An error with the class that decides its exit code.
#[derive(Debug)]
pub struct Failure {
    /// What kind of failure.
    pub class: ErrorClass,
    /// What went wrong.
    pub error: anyhow::Error,
}

impl Failure {
    /// A usage or configuration error.
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            class: ErrorClass::Usage,
            error: error.into(),
        }
    }

    /// The exit code.
    pub fn code(&self) -> u8 {
        code(self.class)
    }
}

/// Every library error converts with its own class.
macro_rules! classified {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for Failure {
            fn from(error: $error) -> Self {
                Self {
                    class: error.class(),
                    error: error.into(),
                }
            }
        }
    )*};
}

classified!(
    ansinh_core::Error,
    ansinh_extract::Error,
    ansinh_warehouse::Error,
    ansinh_models::Error,
    ansinh_pipeline::Error,
    ansinh_sample::Error,
    ansinh_serve::Error,
    ansinh_report::Error,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bug_never_asks_for_a_retry() {
        let bug = Failure::from(ansinh_warehouse::Error::Bug("no table named x".into()));
        assert_eq!(bug.code(), BUG);
        let missing = ansinh_warehouse::table_spec("no_such_table").unwrap_err();
        assert_eq!(Failure::from(missing).code(), BUG);
        let locked = Failure::from(ansinh_pipeline::Error::Lock {
            path: "_lock.json".into(),
            message: "lost".into(),
        });
        assert_eq!(locked.code(), RETRY);
        assert_eq!(code(ErrorClass::Usage), USAGE);
        assert_eq!(code(ErrorClass::Data), DATA);
    }
}
