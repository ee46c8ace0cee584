//! Pipelines: definitions in `pipelines/*.toml`, cron schedules, planning of the pending work,
//! the runner with its warehouse lock, the `_runs` history and notification hooks.

pub mod environment;
mod error;
pub mod hooks;
pub mod loader;
pub mod lock;
pub mod runner;
pub mod runs;
pub mod schedule;
pub mod scheduler;
pub mod spec;

pub use environment::{Environment, KeyNeed};
pub use error::{Error, Result};
pub use runner::{PlanItem, RunOptions, RunOutcome, build_models, exit_code, run};
pub use runs::{RunRecord, RunStatus, StepKind, Trigger};
pub use spec::{Completeness, Pipeline, PipelineKind, choose, load_dir};
