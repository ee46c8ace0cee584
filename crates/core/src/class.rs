//! What kind of failure an error is, decided once by the crate that raises it. The binary maps
//! the class to an exit code in one place; orchestrators retry only infrastructure failures.

/// The kind of a failure, as an operator acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The command, its flags or the configuration are wrong: fix them, do not retry.
    Usage,
    /// The work finished but data failed (a delivery refused, a data test failing): fix or
    /// replace the data.
    Data,
    /// Something outside ansinh failed (storage, the network, a held lock, a full disk,
    /// memory): retrying later may succeed.
    Infrastructure,
    /// ansinh itself is wrong: an invariant of the code does not hold. Retrying does not help;
    /// report it.
    Bug,
}

impl ErrorClass {
    /// Whether retrying later may succeed.
    pub fn is_retryable(self) -> bool {
        self == Self::Infrastructure
    }

    /// Lower-case name, as written in logs and `_runs`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Usage => "usage",
            Self::Data => "data",
            Self::Infrastructure => "infrastructure",
            Self::Bug => "bug",
        }
    }
}

/// Whether the test fault `name` is switched on: `ANSINH_FAILPOINTS` names it (comma-separated),
/// in a debug build. Release builds have no fault points. Tests use them to check how the
/// binary reports a failure that cannot be produced from outside, such as a bug.
pub fn failpoint(name: &str) -> bool {
    cfg!(debug_assertions)
        && std::env::var("ANSINH_FAILPOINTS")
            .is_ok_and(|names| names.split(',').any(|n| n.trim() == name))
}

/// An error that knows its class.
pub trait Classify {
    /// The class of this error.
    fn class(&self) -> ErrorClass;
}
