//! Bad configuration, missing inputs and unreadable files give one-line errors that name the
//! thing, with the exit codes orchestrators rely on.

use std::io::Write;

use crate::common::{Site, ansinh, run};

#[test]
fn unknown_config_keys_are_usage_errors_naming_the_key() {
    let site = Site::new();
    let config = site.path().join("ansinh.toml");
    std::fs::write(&config, "[ingest]\nmax_reject_ration = 0.1\n").unwrap();
    let mut cmd = ansinh(site.path());
    cmd.arg("--config").arg(&config).args(["ingest", "--all"]);
    let out = run(cmd);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("max_reject_ration")
            && out.stderr.contains("ansinh.toml")
            && out.stderr.contains("(line 2, column 1)"),
        "{}",
        out.stderr
    );

    // A misspelt variable is no more ignored than a misspelt key.
    let mut cmd = ansinh(site.path());
    cmd.env("ANSINH_INGEST__MAX_REJECT_RATO", "0.1")
        .args(["ingest", "--all"]);
    let out = run(cmd);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("ANSINH_INGEST__MAX_REJECT_RATO: no such setting; did you mean ANSINH_INGEST__MAX_REJECT_RATIO?"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_landing_area_is_named() {
    let site = Site::new();
    let out = site.ingest(&[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("landing") && out.stderr.contains("does not exist"),
        "{}",
        out.stderr
    );
}

#[test]
fn without_a_key_the_loader_refuses_and_the_demo_key_needs_generated_data() {
    let site = Site::new();
    std::fs::create_dir_all(site.landing().join("2024-01")).unwrap();
    let mut cmd = ansinh(site.path());
    cmd.arg("--landing")
        .arg(site.landing())
        .args(["ingest", "--all"]);
    let out = run(cmd);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("ANSINH_PSEUDONYM_KEY"),
        "{}",
        out.stderr
    );

    let mut cmd = ansinh(site.path());
    cmd.arg("--landing")
        .arg(site.landing())
        .args(["ingest", "--all", "--demo-key"]);
    let out = run(cmd);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--demo-key is accepted only"),
        "{}",
        out.stderr
    );
}

#[test]
fn unreadable_files_are_refused_with_a_reason_naming_the_file() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.002, false);
    let month = site.landing().join("2024-01");
    // Binary junk, a truncated gzip archive, and a CSV with no recognisable header.
    std::fs::write(
        month.join("568_2024-01_participants.csv"),
        [0u8, 159, 146, 150, 0, 1, 2],
    )
    .unwrap();
    let source = std::fs::read(month.join("569_2024-01_participants.csv")).unwrap();
    std::fs::remove_file(month.join("569_2024-01_participants.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&source).unwrap();
    let compressed = gz.finish().unwrap();
    std::fs::write(
        month.join("569_2024-01_participants.csv.gz"),
        &compressed[..compressed.len() / 2],
    )
    .unwrap();
    std::fs::write(month.join("570_2024-01_participants.csv"), "a,b,c\n1,2,3\n").unwrap();

    let out = site.ingest(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("3 refused"), "{}", out.stdout);
    let refusals: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("refused:"))
        .collect();
    assert_eq!(refusals.len(), 3, "{}", out.stderr);
    assert!(
        refusals
            .iter()
            .any(|l| l.contains("568_2024-01_participants.csv") && l.contains("binary content"))
    );
    assert!(
        refusals
            .iter()
            .any(|l| l.contains("569_2024-01_participants.csv.gz") && l.contains("gzip"))
    );
    assert!(refusals.iter().any(
        |l| l.contains("570_2024-01_participants.csv") && l.contains("no recognisable header")
    ));
    // The other deliveries loaded.
    assert!(out.stdout.contains("29 loaded"), "{}", out.stdout);
}

#[test]
fn the_default_config_file_is_the_generated_one() {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/ansinh.toml"
    ))
    .unwrap();
    let site = Site::new();
    let mut cmd = ansinh(site.path());
    cmd.arg("config");
    let out = run(cmd);
    assert_eq!(out.code, 0);
    assert_eq!(
        shipped, out.stdout,
        "config/ansinh.toml is stale: regenerate it with `ansinh config`"
    );
}

#[test]
fn json_logs_are_one_object_per_line_and_status_reports_missing_deliveries() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.002, false);
    std::fs::remove_file(site.landing().join("2024-01/575_2024-01_beneficiaries.csv")).unwrap();
    let out = site.ingest(&["--log-format", "json"]);
    // `--log-format` is global: accepted after the subcommand too.
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<serde_json::Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.iter().any(
            |l| l["message"] == "loaded" && l["file"] == "2024-01/568_2024-01_participants.csv"
        )
    );

    let mut cmd = site.command();
    cmd.arg("--landing")
        .arg(site.landing())
        .args(["status", "--kind", "beneficiaries"]);
    let status = run(cmd);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let row = status
        .stdout
        .lines()
        .find(|l| l.starts_with("2024-01"))
        .unwrap();
    assert_eq!(row.matches("missing").count(), 1, "{}", status.stdout);
    assert_eq!(row.matches("loaded").count(), 15, "{}", status.stdout);
}

#[test]
fn help_texts() {
    let site = Site::new();
    for args in [
        vec!["--help"],
        vec!["ingest", "--help"],
        vec!["generate", "--help"],
        vec!["run", "--help"],
        vec!["schedule", "--help"],
    ] {
        let mut cmd = ansinh(site.path());
        cmd.args(&args).env("COLUMNS", "100");
        let out = run(cmd);
        assert_eq!(out.code, 0);
        insta::assert_snapshot!(
            format!("help_{}", args[0].trim_start_matches('-')),
            out.stdout
        );
    }
}

#[test]
fn the_key_can_come_from_a_key_file_named_in_the_config() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.002, false);
    let key_file = site.path().join("secret.key");
    std::fs::write(&key_file, format!("{}\n", crate::common::TEST_KEY)).unwrap();
    let config = site.path().join("ansinh.toml");
    std::fs::write(
        &config,
        format!(
            "pseudonym_key_file = {:?}\n",
            key_file.display().to_string()
        ),
    )
    .unwrap();
    let mut cmd = ansinh(site.path());
    cmd.arg("--config")
        .arg(&config)
        .arg("--warehouse")
        .arg(site.path().join("from-file"))
        .arg("--landing")
        .arg(site.landing())
        .arg("--reference")
        .arg(site.landing().join("reference"))
        .args(["ingest", "--all"]);
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(site.ingest(&[]).code, 0);
    // The same key from the environment gives the same pseudonyms.
    let sql = "SELECT person FROM participants ORDER BY person";
    let from_file =
        ansinh_warehouse::Warehouse::open(site.path().join("from-file").to_str().unwrap()).unwrap();
    let a = crate::common::rows(
        &crate::common::runtime()
            .block_on(from_file.query(sql))
            .unwrap(),
    );
    assert!(!a.is_empty());
    assert_eq!(a, crate::common::rows(&site.query(sql)));
}

#[test]
fn commands_run_where_there_is_no_warehouse_say_so_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sql = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sql");
    for args in [&["status"][..], &["history"], &["sql", "SELECT 1"]] {
        let mut cmd = ansinh(dir.path());
        cmd.env("ANSINH_MODELS__DIR", &sql).args(args);
        let out = run(cmd);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("no warehouse at ") && out.stderr.contains("ansinh demo"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Without the project either, `sql` names the directory it looked for, once.
    let mut cmd = ansinh(dir.path());
    cmd.args(["sql", "SELECT 1"]);
    let out = run(cmd);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.matches("no models directory at").count(),
        1,
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
