//! One module per subcommand.

pub mod demo;
pub mod docs;
pub mod generate;
pub mod ingest;
pub mod models;
pub mod run;
pub mod status;
