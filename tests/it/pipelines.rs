//! `ansinh run`, `schedule` and `history` end to end on generated landing data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Run, Site, TEST_KEY, ansinh, keyed_counts, manifest_counts, rows, run};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Writes a pipelines directory `name` under the site: participants and beneficiaries with
/// `settings` appended to each, and the reference pipeline.
fn pipelines(site: &Site, name: &str, kinds: &[&str], settings: &str) -> PathBuf {
    let dir = site.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("reference.toml"),
        "name = \"reference\"\nkind = \"reference\"\n",
    )
    .unwrap();
    for kind in kinds {
        std::fs::write(
            dir.join(format!("{kind}.toml")),
            format!("name = \"{kind}\"\nkind = \"{kind}\"\nretries = 0\n{settings}\n"),
        )
        .unwrap();
    }
    dir
}

/// `ansinh <args>` over the site's landing area and `warehouse`, with `pipes`.
fn command(site: &Site, warehouse: &Path, pipes: &Path, args: &[&str]) -> Command {
    let mut cmd = ansinh(site.path());
    cmd.env("ANSINH_PSEUDONYM_KEY", TEST_KEY)
        .env("ANSINH_RUN__PIPELINES", pipes)
        .env("ANSINH_MODELS__DIR", Path::new(ROOT).join("sql"))
        .arg("--landing")
        .arg(site.landing())
        .arg("--warehouse")
        .arg(warehouse)
        .arg("--reference")
        .arg(site.landing().join("reference"))
        .args(args);
    cmd
}

/// `ansinh run --format json <args>`: the exit code and the run record.
fn run_json(
    site: &Site,
    warehouse: &Path,
    pipes: &Path,
    args: &[&str],
) -> (Run, serde_json::Value) {
    let mut all = vec!["run", "--format", "json"];
    all.extend_from_slice(args);
    let out = run(command(site, warehouse, pipes, &all));
    let record = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no run record ({e}); code {}\nstdout: {}\nstderr: {}",
            out.code, out.stdout, out.stderr
        )
    });
    (out, record)
}

fn warehouse_at(path: &Path) -> ansinh_warehouse::Warehouse {
    ansinh_warehouse::Warehouse::open(path.to_str().unwrap()).unwrap()
}

fn batches(warehouse: &Path, sql: &str) -> Vec<arrow::array::RecordBatch> {
    let warehouse = warehouse_at(warehouse);
    crate::common::runtime()
        .block_on(warehouse.query(sql))
        .unwrap()
}

fn query(warehouse: &Path, sql: &str) -> Vec<Vec<String>> {
    rows(&batches(warehouse, sql))
}

fn versions(warehouse: &Path) -> BTreeMap<String, i64> {
    crate::common::runtime()
        .block_on(warehouse_at(warehouse).versions())
        .unwrap()
        .into_iter()
        .collect()
}

fn without_runs(mut v: BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    v.remove("_runs");
    v
}

/// The output of `ansinh sql` for every mart, sorted: what BI tools would see.
fn marts(site: &Site, warehouse: &Path, pipes: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for mart in [
        "coverage_monthly",
        "coverage_trend",
        "pension_receipt_monthly",
        "goal_progress",
        "data_quality",
    ] {
        let sql = format!("SELECT * FROM {mart}");
        let res = run(command(
            site,
            warehouse,
            pipes,
            &["sql", "--format", "csv", &sql],
        ));
        assert_eq!(res.code, 0, "{mart}: {}", res.stderr);
        let mut lines: Vec<&str> = res.stdout.lines().collect();
        lines.sort();
        out.insert(mart.to_string(), lines.join("\n"));
    }
    out
}

fn move_path(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::rename(from, to).unwrap();
}

#[test]
fn a_run_does_the_pending_work_once_then_only_new_months_and_corrections() {
    let site = Site::new();
    site.generate("2024-01", "2024-02", 0.01, false);
    let arrivals = site.path().join("arrivals");
    move_path(&site.landing().join("2024-02"), &arrivals.join("2024-02"));
    let pipes = pipelines(
        &site,
        "pipes",
        &["participants", "beneficiaries"],
        "models = \"all\"",
    );
    let wh = site.warehouse();

    // A dry run plans and changes nothing.
    let plan = run(command(&site, &wh, &pipes, &["run", "--dry-run"]));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("participants   2024-01  load 16 new")
            && plan.stdout.contains("build and test"),
        "{}",
        plan.stdout
    );
    assert!(!wh.join("tables/_runs").join("_delta_log").exists());

    // First run: everything, and the marts.
    let (out, first) = run_json(&site, &wh, &pipes, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(first["status"], "success");
    assert_eq!(first["files_loaded"], 32);
    assert_eq!(first["models_built"], 14, "{first:#}");
    assert_eq!(first["tests_failed"], 0);
    assert!(wh.join("marts/goal_progress.parquet").is_file());
    let after_first = versions(&wh);

    // Second run: nothing to do; no table but `_runs` changes.
    let (out, second) = run_json(&site, &wh, &pipes, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(second["status"], "nothing_to_do");
    assert_eq!(second["files_loaded"], 0);
    assert_eq!(second["models_built"], 0);
    let after_second = versions(&wh);
    assert_eq!(
        without_runs(after_second.clone()),
        without_runs(after_first.clone())
    );
    assert_eq!(after_second["_runs"], after_first["_runs"] + 1);

    // February arrives: only February is loaded, and the marts are rebuilt.
    move_path(&arrivals.join("2024-02"), &site.landing().join("2024-02"));
    let (out, third) = run_json(&site, &wh, &pipes, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(third["files_loaded"], 32);
    assert_eq!(third["files_unchanged"], 32);
    let loaded_periods: Vec<&str> = third["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["files"]["loaded"].as_u64().unwrap_or(0) > 0)
        .map(|s| s["period"].as_str().unwrap())
        .collect();
    assert!(
        loaded_periods.iter().all(|p| *p == "2024-02"),
        "{loaded_periods:?}"
    );
    assert_eq!(third["models_built"], 14);
    let periods = run(command(
        &site,
        &wh,
        &pipes,
        &[
            "sql",
            "--format",
            "csv",
            "SELECT DISTINCT CAST(period AS VARCHAR) AS p FROM coverage_monthly ORDER BY p",
        ],
    ));
    assert!(periods.stdout.contains("2024-02"), "{}", periods.stdout);

    // A corrected delivery: one row fewer. It is restated and the marts are rebuilt.
    let count = |office: &str| {
        query(
            &wh,
            &format!(
                "SELECT COUNT(*) FROM participants WHERE period = '2024-01' AND office = '{office}'"
            ),
        )[0][0]
            .clone()
    };
    let before: i64 = count("568").parse().unwrap();
    let file = site.landing().join("2024-01/568_2024-01_participants.csv");
    crate::common::drop_last_row(&file);
    let (out, fourth) = run_json(&site, &wh, &pipes, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fourth["files_restated"], 1);
    assert_eq!(fourth["files_loaded"], 0);
    // The models that read participants or the manifest are rebuilt. The restated delivery's
    // identity links replace its earlier ones, but the beneficiaries' staging model depends on
    // the links only through its records that carry just the 12-digit number, none in 2024: it
    // stays (its mart is rebuilt for the completeness of the month, which the manifest gives).
    let built: Vec<&str> = fourth["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == "build")
        .flat_map(|s| {
            s["models"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap())
        })
        .collect();
    assert!(
        built.contains(&"stg_participants") && built.contains(&"goal_progress"),
        "{built:?}"
    );
    assert!(!built.contains(&"stg_beneficiaries"), "{built:?}");
    let links = query(
        &wh,
        "SELECT COUNT(*), COUNT(DISTINCT national_id_key) FROM person_links \
         WHERE kind = 'participants' AND period = '2024-01' AND office = '568'",
    );
    assert!(links[0][0].parse::<i64>().unwrap() > 0, "{links:?}");
    assert_eq!(count("568").parse::<i64>().unwrap(), before - 1);

    // History lists the four runs, newest first.
    let history = run(command(
        &site,
        &wh,
        &pipes,
        &["history", "--format", "json"],
    ));
    let runs: Vec<serde_json::Value> = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(runs.len(), 4);
    assert_eq!(runs[0]["run_id"], fourth["run_id"]);
    let status = run(command(&site, &wh, &pipes, &["status", "--format", "json"]));
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert!(
        status["models"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["state"] == "fresh" || m["state"] == "view"),
        "{status:#}"
    );
    assert_eq!(status["runs"].as_array().unwrap().len(), 4);
}

#[test]
fn a_missing_office_does_what_the_completeness_policy_says() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.01, false);
    let late = site.landing().join("2024-01/576_2024-01_participants.csv");
    let aside = site.path().join("late.csv");
    move_path(&late, &aside);
    each_policy_reports_the_missing_office(&site, "2024-01", "576", "15");
    // The late office delivers: the waiting period is loaded whole.
    move_path(&aside, &late);
    let pipes = site.path().join("wait");
    let wh = site.path().join("wh-wait");
    let (out, record) = run_json(&site, &wh, &pipes, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(record["status"], "success");
    assert_eq!(record["files_loaded"], 16);
    let offices = query(
        &wh,
        "SELECT COUNT(DISTINCT office) FROM participants WHERE period = '2024-01'",
    );
    assert_eq!(offices[0][0], "16");
    // An office whose file was archived after its load has delivered: nothing waits.
    std::fs::remove_file(&late).unwrap();
    let (out, record) = run_json(&site, &wh, &pipes, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(record["status"], "nothing_to_do", "{record:#}");
}

#[test]
fn a_grassroots_office_missing_in_october_is_reported_under_each_policy() {
    // The version-2 reference data: from July 2025 the grassroots offices 56CS01 and 56CS02
    // send participants; BTXH56 sends social pensions only, so it is not expected here.
    let site = Site::new();
    let reference = site.landing().join("reference");
    std::fs::create_dir_all(&reference).unwrap();
    for entry in std::fs::read_dir(Path::new(ROOT).join("tests/fixtures/reference-v2")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, reference.join(path.file_name().unwrap())).unwrap();
    }
    let month = site.landing().join("2025-10");
    std::fs::create_dir_all(&month).unwrap();
    std::fs::write(
        month.join("56CS01_2025-10_participants.csv"),
        "Mã số BHXH,Họ và tên,Ngày sinh,Giới tính,Loại hình,Trạng thái,Mã xã,Mã đơn vị,Mức đóng,Đóng đến tháng,Mã đối tượng\n\
         056143464097,A,01/01/1960,0,BHYT,1,23501,,,,GD\n",
    )
    .unwrap();
    each_policy_reports_the_missing_office(&site, "2025-10", "56CS02", "1");
}

#[test]
fn a_generated_grassroots_office_missing_in_october_is_reported_under_each_policy() {
    // The generator's registry: ten grassroots offices in October 2025; 56CS03 has not
    // delivered its participants.
    let site = Site::new();
    site.generate("2025-10", "2025-10", 0.002, false);
    std::fs::remove_file(
        site.landing()
            .join("2025-10/56CS03_2025-10_participants.csv"),
    )
    .unwrap();
    each_policy_reports_the_missing_office(&site, "2025-10", "56CS03", "9");
}

/// Runs the participants pipeline of `site` under each completeness policy, each into its own
/// warehouse (`wh-<policy>`, pipelines in `<policy>/`), while `missing` has not delivered
/// `period`: every run names it, and only `partial` loads the others (`partial_offices`).
fn each_policy_reports_the_missing_office(
    site: &Site,
    period: &str,
    missing: &str,
    partial_offices: &str,
) {
    for (policy, code, status, loaded) in [
        ("wait", 0, "waiting", "0"),
        ("partial", 0, "partial", partial_offices),
        ("require", 1, "data_failed", "0"),
    ] {
        let pipes = pipelines(
            site,
            policy,
            &["participants"],
            &format!("completeness = \"{policy}\""),
        );
        let wh = site.path().join(format!("wh-{policy}"));
        let (out, record) = run_json(site, &wh, &pipes, &[]);
        assert_eq!(out.code, code, "{policy}: {}", out.stderr);
        assert_eq!(record["status"], status, "{policy}: {record:#}");
        let step = record["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == "ingest")
            .unwrap();
        assert_eq!(
            step["missing_offices"],
            serde_json::json!([missing]),
            "{policy}"
        );
        let offices = query(
            &wh,
            &format!("SELECT COUNT(DISTINCT office) FROM participants WHERE period = '{period}'"),
        );
        assert_eq!(offices[0][0], loaded, "{policy}");
    }
}

#[test]
fn a_backfill_goes_on_past_a_failed_period_unless_fail_fast() {
    let site = Site::new();
    site.generate("2024-01", "2024-03", 0.01, false);
    std::fs::remove_file(site.landing().join("2024-02/570_2024-02_participants.csv")).unwrap();
    let pipes = pipelines(
        &site,
        "pipes",
        &["participants"],
        "completeness = \"require\"",
    );
    let periods = |wh: &Path| {
        query(
            wh,
            "SELECT DISTINCT period FROM participants ORDER BY period",
        )
        .into_iter()
        .map(|r| r[0].clone())
        .collect::<Vec<_>>()
    };

    let wh = site.path().join("wh-fail-fast");
    let (out, record) = run_json(
        &site,
        &wh,
        &pipes,
        &["--from", "2024-01", "--to", "2024-03", "--fail-fast"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(record["trigger"], "backfill");
    assert_eq!(record["periods"], "2024-01..2024-03");
    assert_eq!(periods(&wh), ["2024-01"]);

    let wh = site.path().join("wh-all");
    let (out, record) = run_json(
        &site,
        &wh,
        &pipes,
        &["--from", "2024-01", "--to", "2024-03"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(record["status"], "data_failed");
    assert_eq!(periods(&wh), ["2024-01", "2024-03"]);
    // The text summary names the failed period and why.
    let out = run(command(&site, &wh, &pipes, &["run", "--period", "2024-02"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("2024-02")
            && out.stdout.contains("required offices missing")
            && out.stdout.contains("570"),
        "{}",
        out.stdout
    );
}

#[test]
fn two_runs_at_once_one_works_and_the_other_exits_3() {
    let site = Site::new();
    let manifest = site.generate("2024-01", "2024-02", 0.02, false);
    let pipes = pipelines(
        &site,
        "pipes",
        &["participants", "beneficiaries"],
        "models = \"all\"",
    );
    let wh = site.warehouse();
    let spawn = || {
        command(&site, &wh, &pipes, &["run"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let mut codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap()).collect();
    codes.sort();
    let stderr: String = outs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert_eq!(codes, [0, 3], "{stderr}");
    assert!(stderr.contains("locked by another run"), "{stderr}");
    // One run's worth of rows: no duplicates.
    let participants = keyed_counts(&batches(
        &wh,
        "SELECT period, office, scheme, CAST(status AS VARCHAR), COUNT(*) FROM participants GROUP BY 1, 2, 3, 4",
    ));
    assert_eq!(participants, manifest_counts(&manifest, "participants"));
    assert_eq!(query(&wh, "SELECT COUNT(*) FROM _runs")[0][0], "1");
    assert!(!wh.join("_lock.json").exists());
}

#[test]
fn a_run_killed_mid_way_then_run_again_ends_as_an_uninterrupted_run() {
    let site = Site::new();
    site.generate("2024-01", "2024-02", 0.02, false);
    let pipes = pipelines(
        &site,
        "pipes",
        &["participants", "beneficiaries"],
        "models = \"all\"",
    );
    let full = site.path().join("wh-full");
    let started = Instant::now();
    let out = run(command(&site, &full, &pipes, &["run"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let elapsed = started.elapsed();
    let facts = |wh: &Path| {
        (
            query(
                wh,
                "SELECT * FROM participants ORDER BY person, period, scheme, source_line",
            ),
            query(
                wh,
                "SELECT * FROM beneficiaries ORDER BY person, period, benefit_type, source_line",
            ),
            query(
                wh,
                "SELECT file, sha256 FROM _loads WHERE outcome IN ('loaded', 'restated') ORDER BY file",
            ),
        )
    };
    let expected = (facts(&full), marts(&site, &full, &pipes));

    let mut killed = 0;
    for (i, share) in [0.15, 0.35, 0.55, 0.8].iter().enumerate() {
        let wh = site.path().join(format!("wh-killed-{i}"));
        let mut child = command(&site, &wh, &pipes, &["run"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(elapsed.mul_f64(*share));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        child.kill().ok();
        child.wait().unwrap();
        // The killed run's lock belongs to a dead process: the next run takes it over.
        let out = run(command(&site, &wh, &pipes, &["run"]));
        assert_eq!(out.code, 0, "run {i}: {}", out.stderr);
        assert_eq!((facts(&wh), marts(&site, &wh, &pipes)), expected, "run {i}");
    }
    assert!(killed >= 2, "only {killed} runs were killed mid-way");
}

#[test]
fn hooks_get_the_run_summary_and_invalid_pipelines_are_refused() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.01, false);
    let ok_file = site.path().join("success.json");
    let fail_file = site.path().join("failure.json");
    let hooks = format!(
        "on_success = \"cat > {}\"\non_failure = \"cat > {}\"",
        ok_file.display(),
        fail_file.display()
    );
    let pipes = pipelines(&site, "pipes", &["participants"], &hooks);
    let wh = site.warehouse();
    let (out, record) = run_json(&site, &wh, &pipes, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ok_file).unwrap()).unwrap();
    assert_eq!(summary["run_id"], record["run_id"]);
    assert_eq!(summary["status"], "success");
    assert!(!fail_file.exists());

    // A period that fails runs the failure hook.
    std::fs::remove_file(site.landing().join("2024-01/570_2024-01_participants.csv")).unwrap();
    let strict = pipelines(
        &site,
        "strict",
        &["participants"],
        &format!("{hooks}\ncompleteness = \"require\""),
    );
    let (out, _) = run_json(&site, &site.path().join("wh2"), &strict, &[]);
    assert_eq!(out.code, 1);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fail_file).unwrap()).unwrap();
    assert_eq!(summary["status"], "data_failed");

    // An invalid pipeline file: exit 2 with the file, the line and the key.
    let bad = site.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("participants.toml"),
        "name = \"participants\"\nkind = \"participants\"\ncompletness = \"wait\"\n",
    )
    .unwrap();
    let out = run(command(&site, &wh, &bad, &["run"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("participants.toml:3") && out.stderr.contains("completness"),
        "{}",
        out.stderr
    );
    let out = run(command(&site, &wh, &pipes, &["run", "nosuch"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no pipeline named \"nosuch\""),
        "{}",
        out.stderr
    );
}

#[test]
fn the_scheduler_catches_up_fires_on_its_cron_and_stops_on_sigterm() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.01, false);
    let pipes = pipelines(
        &site,
        "pipes",
        &["participants"],
        "schedule = \"* * * * *\"\ntimezone = \"UTC\"",
    );
    let wh = site.warehouse();
    let mut child = command(&site, &wh, &pipes, &["schedule", "participants"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The catch-up run at start, then a firing on the minute.
    let deadline = Instant::now() + Duration::from_secs(100);
    let triggers = loop {
        std::thread::sleep(Duration::from_millis(500));
        let triggers: Vec<String> = if wh.join("tables/_runs/_delta_log").exists() {
            query(&wh, "SELECT trigger FROM _runs ORDER BY started_at")
                .into_iter()
                .map(|r| r[0].clone())
                .collect()
        } else {
            Vec::new()
        };
        if triggers.iter().any(|t| t == "schedule") || Instant::now() > deadline {
            break triggers;
        }
        assert!(child.try_wait().unwrap().is_none(), "the scheduler stopped");
    };
    assert_eq!(
        triggers.first().map(String::as_str),
        Some("catch-up"),
        "{triggers:?}"
    );
    assert!(triggers.iter().any(|t| t == "schedule"), "{triggers:?}");
    assert!(wh.join("_scheduler.json").is_file());
    let status = run(command(&site, &wh, &pipes, &["status", "--format", "json"]));
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["schedule"][0]["pipeline"], "participants");
    assert_eq!(status["schedule"][0]["scheduler_running"], true);

    // SIGTERM: a clean stop.
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("scheduler stopped"), "{stderr}");
    assert!(!wh.join("_scheduler.json").exists());
    assert!(!wh.join("_lock.json").exists());
    // The catch-up run loaded the month; the scheduled one found nothing new.
    assert_eq!(
        query(&wh, "SELECT COUNT(DISTINCT office) FROM participants")[0][0],
        "16"
    );
}

#[test]
fn sigterm_stops_a_run_between_files_and_the_next_run_finishes() {
    let site = Site::new();
    let manifest = site.generate("2024-01", "2024-03", 0.02, false);
    let pipes = pipelines(&site, "pipes", &["participants"], "models = \"all\"");
    let wh = site.warehouse();
    let child = command(&site, &wh, &pipes, &["run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The lock is taken once the signal handlers are in place.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !wh.join("_lock.json").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(query(&wh, "SELECT status FROM _runs")[0][0], "interrupted");
    assert!(!wh.join("_lock.json").exists());
    // What was loaded is whole office-months.
    let counts = |sql: &str| keyed_counts(&batches(&wh, sql));
    let by_month = "SELECT period, office, scheme, CAST(status AS VARCHAR), COUNT(*) FROM participants GROUP BY 1, 2, 3, 4";
    let expected = manifest_counts(&manifest, "participants");
    let partial = counts(by_month);
    assert!(
        partial.len() < expected.len(),
        "the run was not interrupted"
    );
    for (key, n) in &partial {
        assert_eq!(Some(n), expected.get(key), "{key:?}");
    }
    let (out, record) = run_json(&site, &wh, &pipes, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(record["status"], "success");
    assert_eq!(counts(by_month), expected);
}
