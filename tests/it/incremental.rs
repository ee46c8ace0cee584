//! Models partitioned by month: a build rebuilds exactly the months whose inputs changed, and
//! a history built month by month equals a full refresh row for row.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::{Site, drop_last_row, require_python, run};

const PARTITIONED: [&str; 6] = [
    "stg_delivery_units",
    "stg_participants",
    "stg_beneficiaries",
    "stg_indicator_members",
    "stg_indicator_monthly",
    "stg_units_monthly",
];
const MARTS: [&str; 5] = [
    "coverage_monthly",
    "coverage_trend",
    "data_quality",
    "goal_progress",
    "pension_receipt_monthly",
];

/// `ansinh build` over `warehouse` with `args`; returns, per partitioned model, the months it
/// built (from the build report).
fn build(site: &Site, warehouse: &Path, args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut cmd = site.command_at(warehouse);
    cmd.arg("build").args(args);
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let mut built = BTreeMap::new();
    for line in out.stdout.lines() {
        let Some((head, months)) = line.split_once(" of its months: ") else {
            continue;
        };
        let model = head.split_whitespace().nth(1).unwrap().to_string();
        let mut set = BTreeSet::new();
        for run in months.split(", ") {
            match run.split_once("..") {
                Some((first, last)) => {
                    let (first, last): (ansinh_core::YearMonth, ansinh_core::YearMonth) =
                        (first.parse().unwrap(), last.parse().unwrap());
                    set.extend(first.through(last).map(|m| m.to_string()));
                }
                None => {
                    set.insert(run.to_string());
                }
            }
        }
        built.insert(model, set);
    }
    built
}

fn months(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|m| m.to_string()).collect()
}

fn ingest_month(site: &Site, period: &str) {
    let out = site.ingest(&["--period", period]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

/// Every row of every model, sorted, as CSV lines.
fn contents(site: &Site, warehouse: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for model in PARTITIONED.iter().chain(&MARTS) {
        let mut cmd = site.command_at(warehouse);
        cmd.args(["sql", "--format", "csv", &format!("SELECT * FROM {model}")]);
        let res = run(cmd);
        assert_eq!(res.code, 0, "{}", res.stderr);
        let mut lines: Vec<String> = res.stdout.lines().map(str::to_string).collect();
        lines.sort();
        out.insert(model.to_string(), lines);
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_history_built_month_by_month_rebuilds_exactly_what_changed_and_equals_a_full_refresh() {
    let site = Site::new();
    site.generate("2025-06", "2025-09", 0.01, false);
    let wh = site.warehouse();

    // August first: most of its records carry only the 12-digit number, with no link yet.
    ingest_month(&site, "2025-08");
    let built = build(&site, &wh, &[]);
    for model in PARTITIONED {
        assert_eq!(built[model], months(&["2025-08"]), "{model}");
    }

    // June arrives late, and with it the links of August's persons: August is rebuilt for
    // them, and only because of them.
    ingest_month(&site, "2025-06");
    let built = build(&site, &wh, &[]);
    assert_eq!(
        built["stg_participants"],
        months(&["2025-06", "2025-08"]),
        "{built:?}"
    );
    let mut plan = site.command_at(&wh);
    plan.arg("plan");
    let planned = run(plan).stdout;
    assert_eq!(
        planned.matches("to build: 0 of 2 months").count(),
        PARTITIONED.len(),
        "{planned}"
    );

    ingest_month(&site, "2025-07");
    let built = build(&site, &wh, &[]);
    assert!(
        built["stg_participants"].contains("2025-07")
            && built["stg_participants"].is_subset(&months(&["2025-07", "2025-08"])),
        "{built:?}"
    );

    // A restated office-month rebuilds its month and nothing else; the beneficiaries are
    // untouched.
    drop_last_row(
        &site
            .landing()
            .join("2025-06/KV5601_2025-06_participants.csv"),
    );
    ingest_month(&site, "2025-06");
    let mut dry = site.command_at(&wh);
    dry.args(["plan", "--select", "stg_participants"]);
    let planned = run(dry).stdout;
    assert!(
        planned.contains("to build: 1 of 3 months: 2025-06 (changed participants@2025-06"),
        "{planned}"
    );
    let built = build(&site, &wh, &[]);
    assert_eq!(built["stg_participants"], months(&["2025-06"]));
    assert_eq!(built["stg_indicator_members"], months(&["2025-06"]));
    // A month's counts read the month before (persons kept): June's restatement reaches July.
    assert_eq!(
        built["stg_indicator_monthly"],
        months(&["2025-06", "2025-07"])
    );
    assert!(!built.contains_key("stg_beneficiaries"), "{built:?}");

    // Nothing changed: nothing is rebuilt.
    assert!(build(&site, &wh, &[]).is_empty());

    ingest_month(&site, "2025-09");
    let built = build(&site, &wh, &[]);
    assert_eq!(built["stg_participants"], months(&["2025-09"]), "{built:?}");

    // A range rebuilds exactly its months.
    let built = build(&site, &wh, &["--from", "2025-07", "--to", "2025-08"]);
    for model in PARTITIONED {
        assert_eq!(built[model], months(&["2025-07", "2025-08"]), "{model}");
    }

    // The digests kept from build to build, moved by the rows each rebuild of stg_persons
    // changed, are those taken whole: without them, nothing is rebuilt either.
    let staging = wh.join("staging");
    let kept: Vec<_> = std::fs::read_dir(&staging)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".digests."))
        .collect();
    assert_eq!(
        kept.iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            &".stg_beneficiaries.digests.stg_persons".to_string(),
            &".stg_participants.digests.stg_persons".to_string()
        ]),
    );
    let forgotten = site.path().join("forgotten");
    copy_dir(&wh, &forgotten);
    for name in &kept {
        std::fs::remove_file(forgotten.join("staging").join(name)).unwrap();
    }
    assert!(build(&site, &forgotten, &[]).is_empty());
    let left: Vec<_> = std::fs::read_dir(&staging)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".previous.") || n.contains(".changed."))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // The same warehouse rebuilt from scratch has the same rows, model by model.
    let refreshed = site.path().join("refreshed");
    copy_dir(&wh, &refreshed);
    let built = build(&site, &refreshed, &["--full-refresh"]);
    for model in PARTITIONED {
        assert_eq!(built[model].len(), 4, "{model}");
    }
    let incremental = contents(&site, &wh);
    let full = contents(&site, &refreshed);
    for (model, rows) in &full {
        assert!(rows.len() > 1, "{model} is empty");
        assert_eq!(
            &incremental[model], rows,
            "{model} differs from a full refresh"
        );
    }
}

#[test]
fn a_partition_build_killed_before_its_rename_leaves_the_previous_partition_readable() {
    let site = Site::new();
    site.generate("2024-01", "2024-02", 0.01, false);
    assert_eq!(site.ingest(&[]).code, 0);
    let wh = site.warehouse();
    build(&site, &wh, &[]);
    let count = |site: &Site| {
        let mut cmd = site.command();
        cmd.args([
            "sql",
            "--format",
            "csv",
            "SELECT COUNT(*) FROM stg_participants WHERE period = DATE '2024-02-01'",
        ]);
        let out = run(cmd);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout.lines().nth(1).unwrap().to_string()
    };
    let before = count(&site);

    drop_last_row(&site.landing().join("2024-02/568_2024-02_participants.csv"));
    assert_eq!(site.ingest(&[]).code, 0);
    let mut killed = site.command();
    killed
        .env("ANSINH_FAILPOINTS", "models.abort_partition_before_rename")
        .arg("build");
    let out = run(killed);
    assert_ne!(out.code, 0, "the build was not interrupted: {}", out.stdout);
    // The first partition to be written, of the first partitioned model in build order.
    let folder = wh.join("staging/stg_delivery_units");
    let unfinished: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert_eq!(unfinished.len(), 1, "the killed build left its file");
    // The month still reads as it was, and the file being written is not part of it.
    assert_eq!(count(&site), before);

    let built = build(&site, &wh, &[]);
    assert_eq!(built["stg_participants"], months(&["2024-02"]));
    assert_eq!(
        count(&site).parse::<i64>().unwrap(),
        before.parse::<i64>().unwrap() - 1
    );
    assert!(
        std::fs::read_dir(&folder).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")),
        "the next build removed the unfinished file"
    );
}

#[test]
fn a_failed_month_is_tried_again_alone_and_the_next_build_completes_only_it() {
    let site = Site::new();
    site.generate("2024-01", "2024-03", 0.01, false);
    assert_eq!(site.ingest(&[]).code, 0);
    let wh = site.warehouse();

    // A write that fails once is tried again after the other months, and the build succeeds.
    let mut once = site.command_at(&wh);
    once.env("ANSINH_FAILPOINTS", "models.fail_first_partition_write")
        .arg("build");
    let out = run(once);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("3 of its months: 2024-01..2024-03 (2024-01 on a second attempt)"),
        "{}",
        out.stdout
    );

    // A month that fails again: the other months are built and kept, and the build fails as
    // worth a retry, naming the month.
    for month in ["2024-02", "2024-03"] {
        drop_last_row(
            &site
                .landing()
                .join(format!("{month}/568_{month}_participants.csv")),
        );
    }
    assert_eq!(site.ingest(&[]).code, 0);
    let mut failing = site.command_at(&wh);
    failing
        .env("ANSINH_FAILPOINTS", "models.fail_partition_write@2024-02")
        .args(["build", "--select", "stg_participants"]);
    let out = run(failing);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "model stg_participants: 1 of the 2 months to build failed twice, the others are built and current: 2024-02"
        ),
        "{}",
        out.stderr
    );
    let mut plan = site.command_at(&wh);
    plan.args(["plan", "--select", "stg_participants"]);
    let planned = run(plan).stdout;
    assert!(
        planned.contains("to build: 1 of 3 months: 2024-02 (changed participants@2024-02"),
        "{planned}"
    );

    let built = build(&site, &wh, &[]);
    assert_eq!(built["stg_participants"], months(&["2024-02"]));
    assert_eq!(
        built["stg_indicator_members"],
        months(&["2024-02", "2024-03"])
    );
    assert!(build(&site, &wh, &[]).is_empty());
}

const READ_PARTITIONS: &str = r#"
import json, sys
import duckdb
import polars as pl
import pyarrow.dataset as ds

folder = sys.argv[1]
duck = duckdb.sql(
    f"SELECT CAST(period AS VARCHAR), COUNT(*) FROM read_parquet('{folder}/*/*.parquet', hive_partitioning = true) GROUP BY 1"
).fetchall()
table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
arrow_counts = {}
for p in table.column("period").to_pylist():
    arrow_counts[str(p)] = arrow_counts.get(str(p), 0) + 1
polars = (
    pl.scan_parquet(f"{folder}/**/*.parquet", hive_partitioning=True)
    .group_by("period").len().collect().rows()
)
print(json.dumps({
    "duckdb": {p: n for p, n in duck},
    "pyarrow": arrow_counts,
    "polars": {str(p): n for p, n in polars},
}))
"#;

#[test]
#[ignore = "needs duckdb, pyarrow and polars; .ci/run installs it and runs ignored tests"]
fn duckdb_pyarrow_and_polars_read_a_partitioned_model_as_one_dataset() {
    require_python(&["duckdb", "pyarrow", "polars"]);
    let site = Site::new();
    site.generate("2024-01", "2024-03", 0.01, false);
    assert_eq!(site.ingest(&[]).code, 0);
    build(&site, &site.warehouse(), &[]);
    let mut cmd = site.command();
    cmd.args([
        "sql",
        "--format",
        "csv",
        "SELECT CAST(period AS VARCHAR), COUNT(*) FROM stg_participants GROUP BY 1",
    ]);
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ours: BTreeMap<String, i64> = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| {
            let (p, n) = l.split_once(',').unwrap();
            (p.to_string(), n.parse().unwrap())
        })
        .collect();
    assert_eq!(ours.len(), 3);
    let folder = site.warehouse().join("staging/stg_participants");
    let printed = crate::common::python3(["-c", READ_PARTITIONS, folder.to_str().unwrap()]);
    let theirs: BTreeMap<String, BTreeMap<String, i64>> = serde_json::from_slice(&printed).unwrap();
    for (reader, counts) in theirs {
        assert_eq!(counts, ours, "{reader}");
    }
}
