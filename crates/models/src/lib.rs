//! SQL models: plain `.sql` files under `sql/`, their dependencies inferred by parsing the SQL,
//! run in dependency order on DataFusion, materialised as views (staging) or Parquet marts,
//! and checked by data tests.
//!
//! A model's settings live in a leading comment block of TOML lines:
//!
//! ```sql
//! -- description = "Coverage by month, unit and indicator."
//! -- tags = ["coverage"]
//! -- [columns]
//! -- rate = "numerator / denominator, a fraction"
//! -- [[tests]]
//! -- unique = ["period", "unit_code", "indicator"]
//! SELECT ...
//! ```

pub mod catalog;
mod config;
mod dag;
mod deps;
mod digests;
mod error;
pub mod freshness;
pub mod partition;
mod project;
mod run;
mod selector;
mod session;

pub use config::{ModelConfig, TestSpec};
pub use dag::order;
pub use error::{Error, Result};
pub use partition::{BuildOptions, Fingerprints, Inputs, fingerprints};
pub use project::{Layer, Materialization, Model, Project, SingularTest};
pub use run::{
    BuildReport, ModelOutcome, PartitionOutcome, Target, TestOutcome, TestReport, build,
    build_fingerprinted, model_url, register_marts, register_views, run_tests,
};
pub use selector::select;
pub use session::session;
