//! End-to-end tests of the `ansinh` binary and its crates.
