//! One orchestrator: the same setting refused the same way by every command that loads, each
//! delivery read once to hash and once to parse, and a bug that never asks for a retry.

use std::path::Path;

use crate::common::{Run, Site, TEST_KEY, ansinh, run};

/// `command` (`ingest --all`, `run` or `demo`) over the site with `env` set.
fn over_site(site: &Site, command: &[&str], env: &[(&str, &str)]) -> Run {
    let pipes = crate::common::partial_participants_pipeline(site);
    let mut cmd = ansinh(site.path());
    cmd.env("ANSINH_PSEUDONYM_KEY", TEST_KEY)
        .env("ANSINH_RUN__PIPELINES", &pipes)
        .env(
            "ANSINH_MODELS__DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../sql"),
        )
        .envs(env.iter().copied())
        .arg("--landing")
        .arg(site.landing())
        .arg("--warehouse")
        .arg(site.warehouse())
        .args(command);
    if command[0] != "demo" {
        cmd.arg("--reference").arg(site.landing().join("reference"));
    }
    run(cmd)
}

const LOADING_COMMANDS: [&[&str]; 3] = [&["ingest", "--all"], &["run"], &["demo"]];

/// Every loading command exits 2 with the same message for the setting `env`, naming `what`,
/// and leaves no table behind.
fn refused_alike(env: &[(&str, &str)], what: &str) {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.002, false);
    let mut messages = Vec::new();
    for command in LOADING_COMMANDS {
        let out = over_site(&site, command, env);
        assert_eq!(out.code, 2, "{command:?}: {}", out.stderr);
        let message = out
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_default()
            .to_string();
        assert!(message.contains(what), "{command:?}: {}", out.stderr);
        messages.push(message);
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "{messages:#?}");
    assert!(!site.warehouse().join("participants").exists());
}

#[test]
fn an_unknown_encoding_is_refused_alike_by_ingest_run_and_demo() {
    refused_alike(
        &[("ANSINH_INGEST__ENCODING", "latin-9")],
        "unknown encoding \"latin-9\"",
    );
}

#[test]
fn a_models_session_that_cannot_be_built_is_refused_alike_by_ingest_run_and_demo() {
    refused_alike(
        &[("ANSINH_MODELS__SPILL_DIR", "/nonexistent/spill")],
        "models.spill_dir",
    );
}

/// Opens of `file` while `work` runs, counted by inotify (an open and its close are two
/// events, so successive opens are never merged into one).
fn opens_of(file: &Path, work: impl FnOnce()) -> usize {
    use inotify::{Inotify, WatchMask};
    let mut inotify = Inotify::init().unwrap();
    inotify
        .watches()
        .add(file, WatchMask::OPEN | WatchMask::CLOSE_NOWRITE)
        .unwrap();
    work();
    let mut buffer = [0u8; 4096];
    let mut opens = 0;
    loop {
        match inotify.read_events(&mut buffer) {
            Ok(events) => {
                let events: Vec<_> = events.collect();
                if events.is_empty() {
                    break;
                }
                opens += events
                    .iter()
                    .filter(|e| e.mask.contains(inotify::EventMask::OPEN))
                    .count();
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("inotify: {e}"),
        }
    }
    opens
}

#[test]
fn a_new_local_delivery_is_read_once_to_hash_and_once_to_load() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.002, false);
    let file = site.landing().join("2024-01/568_2024-01_participants.csv");
    let mut out = None;
    let opens = opens_of(&file, || out = Some(over_site(&site, &["run"], &[])));
    let out = out.unwrap();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(opens, 2, "one hash and one parse");
    // Run again: unchanged, so only hashed.
    let opens = opens_of(&file, || {
        let again = over_site(&site, &["run"], &[]);
        assert_eq!(again.code, 0, "{}", again.stderr);
    });
    assert_eq!(opens, 1, "hashed, found unchanged, not parsed");
}

#[test]
fn a_bug_is_reported_as_one_and_does_not_ask_for_a_retry() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.002, false);
    for command in [&["ingest", "--all"][..], &["run"]] {
        let out = over_site(
            &site,
            command,
            &[("ANSINH_FAILPOINTS", "ingest.unknown_table")],
        );
        assert_eq!(out.code, 70, "{command:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("a bug in ansinh") && out.stderr.contains("no_such_table"),
            "{command:?}: {}",
            out.stderr
        );
    }
    // A panic, too, is reported on one line, without a backtrace.
    let out = over_site(
        &site,
        &["ingest", "--all"],
        &[
            ("ANSINH_FAILPOINTS", "ingest.reader_panics"),
            ("RUST_BACKTRACE", "0"),
        ],
    );
    assert_eq!(out.code, 70, "{}", out.stderr);
    let panicked: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("a thread of ansinh panicked"))
        .collect();
    assert!(
        panicked.len() == 1
            && panicked[0].contains("failpoint ingest.reader_panics")
            && out.stderr.contains("a bug in ansinh")
            && !out.stderr.contains("backtrace"),
        "{}",
        out.stderr
    );
    // Without the fault, the next run completes the work the failed one left.
    let out = over_site(&site, &["run"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_delivery_sent_as_two_files_fails_alike_in_ingest_and_run_and_status_names_it() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.002, false);
    let csv = site.landing().join("2024-01/568_2024-01_participants.csv");
    std::fs::copy(&csv, csv.with_extension("xlsx")).unwrap();
    for command in [&["ingest", "--all"][..], &["run"]] {
        let out = over_site(&site, command, &[]);
        assert_eq!(out.code, 1, "{command:?}: {}", out.stderr);
        let said = format!("{}{}", out.stdout, out.stderr);
        assert!(
            said.contains("more than one file for one delivery, none loaded")
                && said.contains("568_2024-01_participants.xlsx"),
            "{command:?}: {said}"
        );
    }
    let status = over_site(&site, &["status", "--format", "json"], &[]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let cells: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let cell = cells["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "participants" && c["office"] == "568")
        .unwrap_or_else(|| panic!("{cells:#}"))
        .clone();
    assert_eq!(cell["state"], "ambiguous", "{cell:#}");
    assert!(
        cell["file"]
            .as_str()
            .unwrap()
            .contains("568_2024-01_participants.xlsx"),
        "{cell:#}"
    );
}

#[test]
fn a_file_name_cannot_forge_a_log_line() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.002, false);
    let forged = "notes\nERROR forged line\u{1b}[31m.csv";
    std::fs::write(site.landing().join("2024-01").join(forged), "x").unwrap();
    for format in ["text", "json"] {
        let out = over_site(&site, &["--log-format", format, "ingest", "--all"], &[]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stderr.contains("notes"),
            "{format}: the file is reported: {}",
            out.stderr
        );
        assert!(
            !out.stderr.lines().any(|l| l.starts_with("ERROR forged"))
                && !out.stderr.contains('\u{1b}'),
            "{format}: {}",
            out.stderr
        );
    }
}
