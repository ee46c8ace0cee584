//! End-to-end tests of the `ansinh` binary and its crates, in one test binary.

// A failed expectation in a helper is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod analysts;
mod azure;
mod cli_errors;
mod common;
mod crash;
mod examples;
mod generated;
mod incremental;
mod messy;
mod models;
mod orchestrator;
mod pipelines;
mod privacy;
mod readers;
mod restatement;
mod s3;
mod serve;
mod slt;
mod social_pensions;
