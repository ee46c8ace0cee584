//! One module per subcommand.

pub mod demo;
pub mod docs;
pub mod generate;
pub mod ingest;
pub mod models;
pub mod report;
pub mod run;
pub mod serve;
pub mod shell;
pub mod status;
