//! Running the binary, generating landing areas and querying warehouses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ansinh_core::YearMonth;
use ansinh_sample::{Manifest, Options};
use ansinh_warehouse::Warehouse;
use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// The key every test warehouse uses.
pub const TEST_KEY: &str = "test-pseudonym-key-0123456789";

/// Output of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The binary with a clean environment, run from `dir` (so no repository config is read).
pub fn ansinh(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ansinh"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ANSINH_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir)
        .env("ANSINH_LOG_FORMAT", "text")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs a prepared command.
pub fn run(mut cmd: Command) -> Run {
    let out = cmd.output().expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A landing area and a warehouse side by side in a temporary directory.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn landing(&self) -> PathBuf {
        self.path().join("landing")
    }

    pub fn warehouse(&self) -> PathBuf {
        self.path().join("warehouse")
    }

    /// Generates deliveries into the landing area.
    pub fn generate(&self, from: &str, to: &str, scale: f64, messy: bool) -> Manifest {
        let options = Options {
            out: self.landing(),
            from: from.parse::<YearMonth>().expect("period"),
            to: to.parse::<YearMonth>().expect("period"),
            scale,
            seed: 7,
            messy,
            offices: Vec::new(),
            kinds: Vec::new(),
        };
        ansinh_sample::generate(&options, &mut |_| {}).expect("generate")
    }

    /// `ansinh ingest --all` with the test key, plus `args`.
    pub fn ingest(&self, args: &[&str]) -> Run {
        self.ingest_with(&[], args)
    }

    /// `ansinh ingest --all` with the test key and `env` set, plus `args`.
    pub fn ingest_with(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut cmd = ansinh(self.path());
        cmd.envs(env.iter().copied());
        cmd.env("ANSINH_PSEUDONYM_KEY", TEST_KEY)
            .arg("--landing")
            .arg(self.landing())
            .arg("--warehouse")
            .arg(self.warehouse())
            .arg("--reference")
            .arg(self.landing().join("reference"))
            .arg("ingest")
            .args(args);
        if !args.iter().any(|a| {
            a.starts_with("--kind") || a.starts_with("--period") || a.starts_with("--office")
        }) {
            cmd.arg("--all");
        }
        run(cmd)
    }

    /// The binary over the site's warehouse and reference data, with the repository's models.
    pub fn command(&self) -> Command {
        self.command_at(self.warehouse())
    }

    /// The same, over the warehouse at `warehouse` (a path or a URL).
    pub fn command_at(&self, warehouse: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = ansinh(self.path());
        cmd.arg("--warehouse")
            .arg(warehouse)
            .arg("--reference")
            .arg(self.landing().join("reference"))
            .env(
                "ANSINH_MODELS__DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../sql"),
            );
        cmd
    }

    pub fn open(&self) -> Warehouse {
        Warehouse::open(self.warehouse().to_str().expect("utf-8 path")).expect("warehouse")
    }

    /// Runs SQL over the warehouse.
    pub fn query(&self, sql: &str) -> Vec<RecordBatch> {
        let warehouse = self.open();
        runtime().block_on(warehouse.query(sql)).expect("query")
    }

    /// Table versions.
    pub fn versions(&self) -> BTreeMap<String, i64> {
        let warehouse = self.open();
        runtime()
            .block_on(warehouse.versions())
            .expect("versions")
            .into_iter()
            .collect()
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Every row of `batches` as a vector of display strings.
pub fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for batch in batches {
        let formatters: Vec<ArrayFormatter> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formatter"))
            .collect();
        for r in 0..batch.num_rows() {
            out.push(formatters.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    out
}

/// Rows of a query keyed by all but the last column, valued by the last (a count).
pub fn keyed_counts(batches: &[RecordBatch]) -> BTreeMap<Vec<String>, i64> {
    rows(batches)
        .into_iter()
        .map(|mut r| {
            let value = r.pop().expect("a count column").parse().expect("a number");
            (r, value)
        })
        .collect()
}

/// What the manifest says each (period, office, code, status) should count.
pub fn manifest_counts(manifest: &Manifest, kind: &str) -> BTreeMap<Vec<String>, i64> {
    let mut out = BTreeMap::new();
    for d in manifest.deliveries.iter().filter(|d| d.kind == kind) {
        for c in &d.counts {
            let mut key = vec![d.period.clone(), d.office.clone(), c.code.clone()];
            if let Some(status) = c.status {
                key.push(status.to_string());
            }
            out.insert(key, c.rows as i64);
        }
    }
    out
}

/// A pipelines directory with one pipeline: the site's participants, loading what arrived
/// (`completeness = "partial"`), building no models.
pub fn partial_participants_pipeline(site: &Site) -> PathBuf {
    let pipes = site.path().join("pipes");
    std::fs::create_dir_all(&pipes).expect("pipelines directory");
    std::fs::write(
        pipes.join("participants.toml"),
        "name = \"participants\"\nkind = \"participants\"\ncompleteness = \"partial\"\n",
    )
    .expect("pipeline file");
    pipes
}

/// Fails the test unless Python has each of `modules`. Tests that need a client are
/// `#[ignore]`d, so a plain `cargo test` lists them as ignored; `.ci/run` installs the clients
/// and runs them with `--include-ignored`.
pub fn require_python(modules: &[&str]) {
    for module in modules {
        let ok = Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            ok,
            "python3 module {module} is missing; .ci/run installs it"
        );
    }
}

/// Fails the test unless `tool --version` runs.
pub fn require_command(tool: &str, install: &str) {
    let ok = Command::new(tool).arg("--version").output().is_ok();
    assert!(ok, "{tool} is missing ({install}); .ci/run installs it");
}

/// Removes the last row of a delivery file: a correction of it.
pub fn drop_last_row(file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    let trimmed = text.trim_end_matches('\n');
    std::fs::write(
        file,
        format!("{}\n", &trimmed[..trimmed.rfind('\n').unwrap()]),
    )
    .unwrap();
}

/// The rows of `ansinh sql --format csv` output whose last column is a count, keyed by the
/// others.
pub fn csv_counts(stdout: &str) -> BTreeMap<Vec<String>, i64> {
    stdout
        .lines()
        .skip(1)
        .map(|line| {
            let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
            let n = fields.pop().unwrap().parse().unwrap();
            (fields, n)
        })
        .collect()
}

/// Runs `python3` with `args`; its standard output, once it has succeeded.
pub fn python3<I, S>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new("python3").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Every file under `dir`, recursively, into `out`.
pub fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}
