//! `ansinh sql` for analysts: files of statements, output files and formats, time travel, and
//! refusal of anything but queries.

use std::time::Duration;

use crate::common::{Run, Site, ansinh, run};

/// The binary over the site's warehouse, with the repository's models.
fn command(site: &Site) -> std::process::Command {
    site.command()
}

fn sql(site: &Site, args: &[&str]) -> Run {
    let mut cmd = command(site);
    cmd.arg("sql").args(args);
    run(cmd)
}

/// The single value of a one-cell CSV result.
fn value(out: &Run) -> String {
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.lines().nth(1).unwrap_or_default().to_string()
}

#[test]
fn time_travel_shows_a_month_before_its_restatement() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.01, false);
    assert_eq!(site.ingest(&["--kind", "participants"]).code, 0);
    let count = "SELECT COUNT(*) AS n FROM participants WHERE office = '568'";
    let before: i64 = value(&sql(&site, &["--format", "csv", count]))
        .parse()
        .unwrap();
    let version_before = site.versions()["participants"];
    std::thread::sleep(Duration::from_millis(1100));
    let between = chrono::Utc::now().to_rfc3339();
    std::thread::sleep(Duration::from_millis(1100));

    // A correction: one row fewer.
    let file = site.landing().join("2024-01/568_2024-01_participants.csv");
    crate::common::drop_last_row(&file);
    let restated = site.ingest(&["--kind", "participants"]);
    assert!(
        restated.stdout.contains("1 restated"),
        "{}",
        restated.stdout
    );

    let now: i64 = value(&sql(&site, &["--format", "csv", count]))
        .parse()
        .unwrap();
    assert_eq!(now, before - 1);
    // At a time between the loads, and at the version before the restatement.
    let then = sql(&site, &["--format", "csv", "--as-of", &between, count]);
    assert_eq!(value(&then).parse::<i64>().unwrap(), before);
    let at_version = format!("participants@{version_before}");
    let then = sql(&site, &["--format", "csv", "--as-of", &at_version, count]);
    assert_eq!(value(&then).parse::<i64>().unwrap(), before);
    // Before the first load the table was empty.
    let empty = sql(&site, &["--format", "csv", "--as-of", "2000-01-01", count]);
    assert_eq!(value(&empty), "0");
    // The models are computed from the tables as they were.
    let mart = "SELECT COUNT(*) AS n FROM stg_participants";
    let mart_now = value(&sql(&site, &["--format", "csv", mart]));
    let mart_then = value(&sql(&site, &["--format", "csv", "--as-of", &between, mart]));
    assert_ne!(mart_now, mart_then);
    // Bad values are usage errors.
    let bad = sql(&site, &["--as-of", "yesterday", count]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--as-of yesterday"), "{}", bad.stderr);
    let bad = sql(&site, &["--as-of", "nosuch@3", count]);
    assert_eq!(bad.code, 2);
    // A version the table does not have yet is a usage error too, not one to retry.
    let bad = sql(&site, &["--as-of", "participants@999", count]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("--as-of participants@999: the table has versions 0 to"),
        "{}",
        bad.stderr
    );
}

#[test]
fn files_of_statements_output_files_and_only_queries() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.01, false);
    assert_eq!(site.ingest(&["--kind", "participants"]).code, 0);
    let file = site.path().join("q.sql");
    std::fs::write(
        &file,
        "-- offices\nSELECT 1 AS one;\n\nSELECT office, COUNT(*) AS n FROM participants\n\
         GROUP BY office ORDER BY office;\n",
    )
    .unwrap();
    let out = sql(&site, &["-f", file.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("office,n\n568,"), "{}", out.stdout);
    assert_eq!(out.stdout.lines().count(), 17);

    // Parquet to a file, read back.
    let parquet = site.path().join("offices.parquet");
    let out = sql(
        &site,
        &[
            "-f",
            file.to_str().unwrap(),
            "--format",
            "parquet",
            "--output",
            parquet.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&parquet).unwrap(),
    )
    .unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 16);
    let out = sql(&site, &["--format", "parquet", "SELECT 1"]);
    assert_eq!(out.code, 2, "parquet needs --output");

    // JSON to a file.
    let json = site.path().join("out.json");
    let out = sql(
        &site,
        &[
            "--format",
            "json",
            "-o",
            json.to_str().unwrap(),
            "SELECT 2 AS two",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&json).unwrap().trim(),
        "{\"two\":2}"
    );

    // The SQL from standard input; an empty result still prints its columns.
    let mut piped = command(&site);
    piped
        .args(["sql", "--format", "csv"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = piped.spawn().unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        b"SELECT office, COUNT(*) AS n FROM participants WHERE office = 'none' GROUP BY office",
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "office,n\n");
    let out = sql(
        &site,
        &["SELECT office, 1 AS n FROM participants WHERE false"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("| office | n |"), "{}", out.stdout);

    // Anything but a query is refused, and writes nothing.
    let target = site.path().join("copied.csv");
    for statement in [
        "CREATE TABLE t AS SELECT 1".to_string(),
        "INSERT INTO participants SELECT * FROM participants".to_string(),
        format!("COPY (SELECT 1) TO '{}'", target.display()),
        "SET datafusion.execution.batch_size = 1".to_string(),
    ] {
        let out = sql(&site, &[&statement]);
        assert_eq!(out.code, 2, "{statement}: {}", out.stdout);
        assert!(
            out.stderr.contains("not supported") || out.stderr.contains("not allowed"),
            "{statement}: {}",
            out.stderr
        );
    }
    assert!(!target.exists());
}

#[test]
fn the_data_dictionary_covers_every_table_and_model_and_is_current() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let site = Site::new();
    let out = site.path().join("dictionary");
    let mut cmd = ansinh(site.path());
    cmd.current_dir(root)
        .arg("--warehouse")
        .arg(site.warehouse())
        .args(["docs", "--out"])
        .arg(&out);
    let res = run(cmd);
    assert_eq!(res.code, 0, "{}", res.stderr);
    let md = std::fs::read_to_string(out.join("data-dictionary.md")).unwrap();
    for table in ansinh_warehouse::Warehouse::table_names() {
        assert!(md.contains(&format!("\n## {table}\n")), "{table} missing");
    }
    for model in [
        "stg_participants",
        "coverage_monthly",
        "goal_progress",
        "data_quality",
    ] {
        assert!(md.contains(&format!("\n## {model}\n")), "{model} missing");
    }
    // Columns with types and descriptions, and lineage both ways.
    assert!(
        md.contains("| `rate` | Float64 | yes | numerator / denominator"),
        "{md}"
    );
    assert!(md.contains("Read by: coverage_trend, goal_progress"));
    assert!(md.contains("| `person_id_key` | Utf8 | no | Keyed hash"));
    let html = std::fs::read_to_string(out.join("data-dictionary.html")).unwrap();
    assert!(html.contains("<section id=\"goal_progress\">") && html.ends_with("</html>\n"));
    // The committed dictionary is what the command writes now.
    let committed =
        std::fs::read_to_string(root.join("docs/dictionary/data-dictionary.md")).unwrap();
    assert_eq!(
        committed, md,
        "run `cargo run -- docs` and commit docs/dictionary/"
    );
}

#[test]
fn the_shell_lists_describes_times_and_runs_multi_line_queries() {
    use std::io::Write;
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.01, false);
    assert_eq!(site.ingest(&["--kind", "participants"]).code, 0);
    let history = site.path().join("history");
    let mut cmd = command(&site);
    cmd.env("ANSINH_HISTORY", &history)
        .arg("shell")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"\\d\n\\d coverage_monthly\n\\timing\nSELECT office,\n  COUNT(*) AS n\n  \
              FROM participants GROUP BY office ORDER BY office;\nDROP TABLE participants;\n\\q\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("goal_progress") && stdout.contains("Delta table"),
        "{stdout}"
    );
    assert!(
        stdout.contains("numerator / denominator, a fraction") && stdout.contains("read by:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("timing is on") && stdout.contains("time: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("| 568    |") && stdout.contains("(16 rows)"),
        "{stdout}"
    );
    assert!(stdout.contains("error:"), "DROP must be refused: {stdout}");
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(
        saved.contains("FROM participants GROUP BY office"),
        "{saved}"
    );
    assert_eq!(
        value(&sql(
            &site,
            &[
                "--format",
                "csv",
                "SELECT COUNT(DISTINCT office) AS n FROM participants"
            ]
        )),
        "16"
    );
}

#[test]
#[ignore = "needs headless Chromium; .ci/run installs it and runs ignored tests"]
fn the_report_is_one_offline_page_whose_charts_have_content() {
    let site = Site::new();
    site.generate("2023-12", "2024-02", 0.01, false);
    assert_eq!(site.ingest(&[]).code, 0);
    let mut build = site.command();
    let mut report = ansinh(site.path());
    report.args(
        build
            .get_args()
            .map(|a| a.to_os_string())
            .collect::<Vec<_>>(),
    );
    report.env(
        "ANSINH_MODELS__DIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../sql"),
    );
    build.arg("build");
    assert_eq!(run(build).code, 0);
    let page = site.path().join("report.html");
    report.args(["report", "--out"]).arg(&page);
    let out = run(report);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no scripts, no fetched resources.
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
    // Six province charts, today's 65 communes for two indicators, pension by sex and by
    // source.
    assert_eq!(html.matches("<svg").count(), 6 + 65 + 65 + 2, "{html}");
    assert!(html.matches("<polyline").count() >= 6 + 130 + 2);
    assert!(html.contains("class=\"target\""), "target lines");
    assert!(html.contains("Pension receipt by source") && html.contains("2030: 60%"));
    assert!(html.contains("<td class=\"text status\">"), "goal table");
    assert!(html.contains("id=\"quality\""));

    // A real browser renders it without console errors, with the charts drawn.
    let chromium = ["chromium", "chromium-browser"].into_iter().find(|c| {
        std::process::Command::new(c)
            .arg("--version")
            .output()
            .is_ok()
    });
    let chromium =
        chromium.expect("chromium is missing (apt-get install chromium); .ci/run installs it");
    let profile = site.path().join("chromium-profile");
    let dom = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let rendered = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(rendered.contains("<polyline") && rendered.contains("Progress toward the targets"));
    assert!(
        !log.lines()
            .any(|l| l.contains(":CONSOLE(") || l.contains("Uncaught")),
        "console errors: {log}"
    );
}
