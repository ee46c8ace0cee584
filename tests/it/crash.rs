//! A load killed at random points leaves every table readable and each office-month either as
//! it was before its delivery or as after it; the next run completes the work.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Site, TEST_KEY, ansinh, rows};

/// Rows of each (period, office) partition.
type Partitions = BTreeMap<(String, String), Vec<Vec<String>>>;

const FACT_COLUMNS: &str = "period, office, person, person_id_key, national_id_key, birth_month, \
    birth_precision, sex, scheme, status, district_code, commune_code, employer_code, \
    contribution_base, paid_through, hi_group, source_line";

fn ingest_command(site: &Site, warehouse: &std::path::Path) -> std::process::Command {
    let mut cmd = ansinh(site.path());
    cmd.env("ANSINH_PSEUDONYM_KEY", TEST_KEY)
        .arg("--landing")
        .arg(site.landing())
        .arg("--warehouse")
        .arg(warehouse)
        .arg("--reference")
        .arg(site.landing().join("reference"))
        .args(["ingest", "--kind", "participants"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

#[test]
fn loads_killed_at_random_points_leave_whole_office_months_and_resume() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.02, false);
    // The uninterrupted run.
    let started = Instant::now();
    let status = ingest_command(&site, &site.warehouse()).status().unwrap();
    assert!(status.success());
    let full = started.elapsed();
    let (expected, expected_loads) = content(&site.open());
    assert_eq!(expected.len(), 16);

    let mut seed: u64 = 0x5eed;
    let mut interrupted = 0;
    for attempt in 0..20 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // Within the first half of an uninterrupted run, so that runs sped up by a quieter
        // machine are still killed mid-way.
        let delay =
            Duration::from_millis(20 + (seed >> 33) % (full.as_millis() as u64 / 2).max(50));
        let warehouse = site.path().join(format!("crash-{attempt}"));
        let mut child = ingest_command(&site, &warehouse).spawn().unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        child.kill().ok();
        child.wait().unwrap();

        // Readable, and every office-month is absent or complete.
        let crashed = ansinh_warehouse::Warehouse::open(warehouse.to_str().unwrap()).unwrap();
        let (partitions, _) = content(&crashed);
        for (key, rows) in &partitions {
            assert_eq!(
                Some(rows),
                expected.get(key),
                "attempt {attempt}: {key:?} is partial"
            );
        }
        // The next run finishes the work and ends where the uninterrupted run ended.
        let status = ingest_command(&site, &warehouse).status().unwrap();
        assert!(
            status.success(),
            "attempt {attempt}: the resumed run failed"
        );
        let (partitions, loads) = content(&crashed);
        assert_eq!(partitions, expected, "attempt {attempt}");
        assert_eq!(loads, expected_loads, "attempt {attempt}: {loads:?}");
    }
    assert!(
        interrupted >= 10,
        "only {interrupted} of 20 runs were killed mid-way"
    );
}

/// Rows of each office-month of participants, and the files and outcomes in `_loads`.
fn content(warehouse: &ansinh_warehouse::Warehouse) -> (Partitions, BTreeSet<(String, String)>) {
    let runtime = crate::common::runtime();
    let query = |sql: &str| {
        runtime
            .block_on(warehouse.query(sql))
            .expect("the warehouse stays readable")
    };
    let mut partitions: Partitions = BTreeMap::new();
    for row in rows(&query(&format!(
        "SELECT {FACT_COLUMNS} FROM participants ORDER BY {FACT_COLUMNS}"
    ))) {
        partitions
            .entry((row[0].clone(), row[1].clone()))
            .or_default()
            .push(row);
    }
    let loads = rows(&query(
        "SELECT file, outcome FROM _loads WHERE kind = 'participants'",
    ))
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect();
    (partitions, loads)
}

#[test]
fn a_failing_write_exits_3_and_the_next_run_completes() {
    let site = Site::new();
    site.generate("2024-01", "2024-02", 0.01, false);
    // A file where February's partition directory must go: writing February fails.
    let blocker = site.warehouse().join("tables/participants/period=2024-02");
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"not a directory").unwrap();
    let out = site.ingest(&["--kind", "participants"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("participants"), "{}", out.stderr);
    // January is whole; February has nothing; the warehouse is readable.
    let warehouse = site.open();
    let (partitions, _) = content(&warehouse);
    assert!(
        partitions.keys().all(|(period, _)| period == "2024-01"),
        "{:?}",
        partitions.keys()
    );
    assert_eq!(partitions.len(), 16);
    // The storage recovers: the next run loads February and nothing else.
    std::fs::remove_file(&blocker).unwrap();
    let out = site.ingest(&["--kind", "participants"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("16 loaded") && out.stdout.contains("16 unchanged"),
        "{}",
        out.stdout
    );
    assert_eq!(content(&warehouse).0.len(), 32);
}

#[test]
fn a_load_that_cannot_make_its_temporary_files_exits_3_and_keeps_the_office_month() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.01, false);
    assert_eq!(site.ingest(&["--kind", "participants"]).code, 0);
    let (before, _) = content(&site.open());
    // A correction, loaded where no temporary file can be made: its rejects and links would
    // have nowhere to wait, so the load stops before its commit.
    crate::common::drop_last_row(&site.landing().join("2024-01/568_2024-01_participants.csv"));
    let nowhere = site.path().join("no-such-directory");
    let out = site.ingest_with(
        &[("TMPDIR", nowhere.to_str().unwrap())],
        &["--kind", "participants"],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("temporary file"), "{}", out.stderr);
    assert!(
        content(&site.open()).0 == before,
        "office-month 568 changed"
    );
    // With room again, the next run restates it.
    let out = site.ingest(&["--kind", "participants"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("1 restated"), "{}", out.stdout);
}
