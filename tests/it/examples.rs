//! The contract's example deliveries (tests/fixtures/examples, one per allowed form) load.

use std::path::{Path, PathBuf};

use crate::common::{Site, keyed_counts, rows};

fn fixtures(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures")).join(name)
}

/// A site whose reference directory is the version-2 fixture: two provinces merging on
/// 2025-07-01, district, inter-district and grassroots offices, a commune crosswalk.
fn version_2_site() -> Site {
    let site = Site::new();
    let reference = site.landing().join("reference");
    std::fs::create_dir_all(&reference).unwrap();
    for entry in std::fs::read_dir(fixtures("reference-v2")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, reference.join(path.file_name().unwrap())).unwrap();
    }
    site
}

fn deliver(site: &Site, name: &str, text: &str) {
    let period = &name.split('_').nth(1).unwrap()[..7];
    let month = site.landing().join(period);
    std::fs::create_dir_all(&month).unwrap();
    std::fs::write(month.join(name), text).unwrap();
}

const V2_HEADER: &str = "Mã số BHXH,Số định danh cá nhân,Họ và tên,Ngày sinh,Giới tính,Loại hình,Trạng thái,Mã huyện,Mã xã,Mã đơn vị,Mức đóng,Đóng đến tháng,Mã đối tượng";

#[test]
fn a_grassroots_office_delivers_with_the_personal_id_as_si_code() {
    let site = version_2_site();
    let example =
        std::fs::read_to_string(fixtures("examples/56CS01_2025-09_participants.csv")).unwrap();
    deliver(&site, "56CS01_2025-09_participants.csv", &example);
    // October: a stale district code (ignored and counted), two different personal IDs in one
    // row (rejected), a commune of before July 2025 (rejected), a suspended compulsory record
    // without its employer (loaded).
    deliver(
        &site,
        "56CS01_2025-10_participants.csv",
        &format!(
            "{V2_HEADER}\n\
             056143464097,,A,01/01/1960,0,BHXH_BB,1,568,23501,DN0042,6.200.000,,\n\
             056152992312,056152992312,B,03/03/1962,0,BHYT,1,,23502,,,,GD\n\
             056187366946,056100000001,C,04/04/1963,1,BHYT,1,,23501,,,,GD\n\
             056111535642,,D,15/03/1974,0,BHYT,1,,22300,,,,GD\n\
             5610866903,,E,14/11/1975,1,BHXH_BB,2,,23501,,6.200.000,,\n"
        ),
    );
    let out = site.ingest(&["--max-reject-ratio", "0.5"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let loads = rows(&site.query(
        "SELECT period, rows_loaded, rows_rejected, message FROM _loads \
         WHERE kind = 'participants' ORDER BY period",
    ));
    assert_eq!(loads[0][..3], ["2025-09", "25", "0"]);
    assert_eq!(loads[1][..3], ["2025-10", "3", "2"]);
    let message = &loads[1][3];
    assert!(
        message.contains("district_code ignored in 1 rows"),
        "{message}"
    );
    assert!(
        message.contains("conflicting_identifiers 1") && message.contains("unknown_commune 1"),
        "{message}"
    );
    // The 12-digit value of the SI-code column is the personal ID: no row of September keeps
    // a 10-digit code, every row has the ID's pseudonym, and none a district.
    let keys = rows(&site.query(
        "SELECT COUNT(*), COUNT(national_id_key), COUNT(person_id_key), COUNT(district_code) \
         FROM participants WHERE period = '2025-09'",
    ));
    assert_eq!(keys, vec![vec!["25", "25", "0", "0"]]);
    // One person whose ID is in the SI-code column in one row and in both columns in
    // another has one pseudonym: the same as a row with the ID column alone.
    let rejects = rows(&site.query("SELECT line, field, reason FROM rejects ORDER BY line"));
    assert_eq!(
        rejects,
        vec![
            vec!["4", "person_id", "conflicting_identifiers"],
            vec!["5", "commune_code", "unknown_commune"],
        ]
    );
    let suspended = rows(&site.query(
        "SELECT status, employer_code IS NULL, person_id_key IS NOT NULL FROM participants \
         WHERE period = '2025-10' AND scheme = 'BHXH_BB' AND status = 2",
    ));
    assert_eq!(suspended, vec![vec!["2", "true", "true"]]);
    let stored = rows(&site.query(
        "SELECT COUNT(*) FROM participants WHERE period = '2025-10' AND district_code IS NOT NULL",
    ));
    assert_eq!(stored, vec![vec!["0"]]);
}

#[test]
fn only_an_office_valid_in_the_month_that_sends_the_kind_may_deliver() {
    let site = version_2_site();
    let row = "5610866903,,E,14/11/1975,1,BHYT,1,568,22300,,,,GD\n";
    let after = "5610866903,,E,14/11/1975,1,BHYT,1,,23501,,,,GD\n";
    // 568 was a district office until March 2025; KV5601 served Nha Trang from April to
    // June; BTXH56 sends social pensions only; 999 never existed.
    deliver(
        &site,
        "568_2025-03_participants.csv",
        &format!("{V2_HEADER}\n{row}"),
    );
    deliver(
        &site,
        "568_2025-04_participants.csv",
        &format!("{V2_HEADER}\n{row}"),
    );
    deliver(
        &site,
        "KV5601_2025-04_participants.csv",
        &format!("{V2_HEADER}\n{row}"),
    );
    deliver(
        &site,
        "BTXH56_2025-09_participants.csv",
        &format!("{V2_HEADER}\n{after}"),
    );
    deliver(
        &site,
        "999_2025-09_participants.csv",
        &format!("{V2_HEADER}\n{after}"),
    );
    let out = site.ingest(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let loads = rows(&site.query(
        "SELECT file, outcome, rows_read, message FROM _loads \
         WHERE kind = 'participants' ORDER BY file",
    ));
    let summary: Vec<(String, String, Option<String>)> = loads
        .iter()
        .map(|r| {
            (
                r[0].clone(),
                r[1].clone(),
                Some(r[3].clone()).filter(|m| m.starts_with("unknown_office")),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("2025-03/568_2025-03_participants.csv".into(), "loaded".into(), None),
            (
                "2025-04/568_2025-04_participants.csv".into(),
                "refused".into(),
                Some("unknown_office: office 568 is not valid in 2025-04 (offices.csv)".into())
            ),
            ("2025-04/KV5601_2025-04_participants.csv".into(), "loaded".into(), None),
            (
                "2025-09/999_2025-09_participants.csv".into(),
                "refused".into(),
                Some("unknown_office: office 999 is not in offices.csv".into())
            ),
            (
                "2025-09/BTXH56_2025-09_participants.csv".into(),
                "refused".into(),
                Some(
                    "unknown_office: office BTXH56 does not send participants in 2025-09 (offices.csv)"
                        .into()
                )
            ),
        ]
    );
    // No row of a refused file was parsed.
    let refused_rows =
        rows(&site.query("SELECT SUM(rows_read) FROM _loads WHERE outcome = 'refused'"));
    assert_eq!(refused_rows, vec![vec!["0"]]);
    // The expected offices of each month come from the registry.
    let status = crate::common::run({
        let mut cmd = site.command();
        cmd.args(["--landing"]).arg(site.landing());
        cmd.args(["status", "--kind", "participants", "--format", "json"]);
        cmd
    });
    assert_eq!(status.code, 0, "{}", status.stderr);
    let value: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let mut cells: Vec<(String, String, String)> = value["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["period"].as_str().unwrap().to_string(),
                c["office"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    cells.sort();
    assert_eq!(
        cells,
        [
            ("2025-03", "568", "loaded"),
            ("2025-03", "582", "missing"),
            ("2025-04", "568", "refused"),
            ("2025-04", "KV5601", "loaded"),
            ("2025-04", "KV5801", "missing"),
            ("2025-09", "56CS01", "missing"),
            ("2025-09", "56CS02", "missing"),
            ("2025-09", "999", "refused"),
            ("2025-09", "BTXH56", "refused"),
        ]
        .map(|(p, o, s)| (p.to_string(), o.to_string(), s.to_string()))
    );
}

#[test]
fn bad_reference_data_names_file_line_and_value_and_loads_nothing() {
    let cases = [
        (
            "office_areas.csv",
            "56CS02,99999,2025-07-01,\n",
            "office_areas.csv:9: unit_code: \"99999\" is not a unit of geography.csv valid then",
        ),
        (
            "commune_crosswalk.csv",
            "22302,23503,0.5\n",
            "commune_crosswalk.csv:5: old_code 22302: shares sum to 1.5, not 1",
        ),
        (
            "geography.csv",
            "568,Nha Trang,district,56,2025-01-01,\n",
            "geography.csv:15: unit 568: validity overlaps the row of line 5",
        ),
        (
            "targets.csv",
            "si_coverage,56,2030,,Resolution 28-NQ/TW,from_2025_07,\n",
            "targets.csv:4: target_rate or target_persons: one of them is needed",
        ),
        (
            "labor_force.csv",
            "2026,56,900,after_2025\n",
            "labor_force.csv:7: boundary: not before_2025_07 or from_2025_07: \"after_2025\"",
        ),
    ];
    for (file, line, expected) in cases {
        let site = version_2_site();
        let path = site.landing().join("reference").join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(line);
        std::fs::write(&path, text).unwrap();
        deliver(
            &site,
            "56CS01_2025-09_participants.csv",
            &format!("{V2_HEADER}\n5610866903,,E,14/11/1975,1,BHYT,1,,23501,,,,GD\n"),
        );
        let out = site.ingest(&[]);
        assert_eq!(out.code, 2, "{file}: {}", out.stderr);
        let last = out.stderr.trim().lines().last().unwrap_or("").to_string();
        assert!(last.contains(expected), "{file}: {last}");
        let loads = site.query("SELECT * FROM _loads");
        assert_eq!(
            loads.iter().map(|b| b.num_rows()).sum::<usize>(),
            0,
            "{file}"
        );
    }
}

#[test]
fn a_reference_directory_of_version_1_means_offices_are_districts() {
    let site = Site::new();
    version_1_reference(&site.landing().join("reference"));
    let out = site.ingest(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let offices = rows(
        &site.query("SELECT COUNT(*), COUNT(DISTINCT level), MIN(kinds) FROM reference.offices"),
    );
    let districts =
        rows(&site.query("SELECT COUNT(*) FROM reference.geography WHERE level = 'district'"));
    assert_eq!(offices[0][0], districts[0][0]);
    assert_eq!(offices[0][1..], ["1", "participants;beneficiaries"]);
    let areas = rows(
        &site.query("SELECT COUNT(*) FROM reference.office_areas WHERE office_code = unit_code"),
    );
    assert_eq!(areas[0][0], districts[0][0]);
    let boundaries = rows(&site.query(
        "SELECT DISTINCT boundary FROM reference.population \
         UNION ALL SELECT DISTINCT boundary FROM reference.targets",
    ));
    assert_eq!(
        boundaries,
        vec![vec!["before_2025_07"], vec!["before_2025_07"]]
    );
    let files = rows(&site.query("SELECT file FROM _loads WHERE kind = 'reference' ORDER BY file"));
    assert!(
        files.contains(&vec!["reference/offices.csv (derived)".to_string()]),
        "{files:?}"
    );
}

/// The generator's reference data as version 1 had it: no office registry or crosswalk, the
/// units until June 2025 with open validity, no boundary or target_persons columns.
fn version_1_reference(dir: &std::path::Path) {
    ansinh_sample::write_reference(dir, 0.01).unwrap();
    for file in ["offices.csv", "office_areas.csv", "commune_crosswalk.csv"] {
        std::fs::remove_file(dir.join(file)).unwrap();
    }
    let rewrite = |file: &str, keep: &dyn Fn(&[&str]) -> Option<Vec<String>>| {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let mut out = keep(&header).unwrap().join(",") + "\n";
        for line in lines {
            if let Some(cells) = keep(&line.split(',').collect::<Vec<_>>()) {
                out += &(cells.join(",") + "\n");
            }
        }
        std::fs::write(dir.join(file), out).unwrap();
    };
    let owned = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    rewrite("geography.csv", &|c| match c[5] {
        "valid_to" => Some(owned(c)),
        "2025-06-30" => Some(owned(&[c[0], c[1], c[2], c[3], "", ""])),
        _ => None,
    });
    for (file, columns) in [
        ("population.csv", 5),
        ("labor_force.csv", 3),
        ("targets.csv", 5),
    ] {
        rewrite(file, &|c| {
            (c[columns] == "boundary" || c[columns] == "before_2025_07")
                .then(|| owned(&c[..columns]))
        });
    }
}

#[test]
fn every_example_form_is_read() {
    let site = Site::new();
    // Reference data from the generator covers the examples' commune codes.
    ansinh_sample::write_reference(&site.landing().join("reference"), 0.01).unwrap();
    let month = site.landing().join("2024-01");
    std::fs::create_dir_all(&month).unwrap();
    let examples = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/examples"
    ));
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains("_2024-01_") {
            std::fs::copy(&path, month.join(path.file_name().unwrap())).unwrap();
        }
    }
    let out = site.ingest(&["--max-reject-ratio", "0.05"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let loads = keyed_counts(&site.query(
        "SELECT file, rows_read, rows_loaded * 100 + rows_rejected FROM _loads WHERE kind <> 'reference'",
    ));
    assert_eq!(loads.len(), 7);
    for (key, loaded_and_rejected) in &loads {
        assert_eq!(key[1], "25", "{key:?}");
        // Every row loads: 571's suspended compulsory record without an employer code too.
        assert_eq!(*loaded_and_rejected, 2500, "{key:?}");
    }
    assert!(
        site.query("SELECT * FROM rejects")
            .iter()
            .all(|b| b.num_rows() == 0)
    );
    let suspended = rows(&site.query(
        "SELECT status, employer_code IS NULL FROM participants \
         WHERE office = '571' AND scheme = 'BHXH_BB' AND status <> 1",
    ));
    assert_eq!(suspended, vec![vec!["2".to_string(), "true".into()]]);
    // Text forms decode to the same NFC codes: birth precision and sexes parse in every file.
    let precisions =
        rows(&site.query("SELECT DISTINCT birth_precision FROM participants ORDER BY 1"));
    assert_eq!(
        precisions,
        vec![
            vec!["day".to_string()],
            vec!["month".into()],
            vec!["year".into()]
        ]
    );
}

#[test]
fn a_warehouse_of_version_1_takes_the_new_reference_columns_and_builds() {
    use std::sync::Arc;

    use ansinh_warehouse::{TableSpec, WriteMode};
    use arrow::array::{Float64Array, Int32Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

    fn targets_of_version_1() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("indicator", DataType::Utf8, false),
            Field::new("unit_code", DataType::Utf8, false),
            Field::new("year", DataType::Int32, false),
            Field::new("target_rate", DataType::Float64, false),
            Field::new("source", DataType::Utf8, true),
        ]))
    }
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.01, false);
    assert_eq!(site.ingest(&[]).code, 0);
    // reference.targets as a warehouse of version 1 stored it: no boundary, no target_persons,
    // and the same file recorded as loaded.
    let warehouse = site.open();
    let spec = TableSpec {
        name: "reference/targets",
        schema: targets_of_version_1,
        partitions: &[],
    };
    let batch = RecordBatch::try_new(
        targets_of_version_1(),
        vec![
            Arc::new(StringArray::from(vec!["si_coverage"])),
            Arc::new(StringArray::from(vec!["56"])),
            Arc::new(Int32Array::from(vec![2025])),
            Arc::new(Float64Array::from(vec![0.45])),
            Arc::new(StringArray::from(vec![Some("Resolution 28-NQ/TW")])),
        ],
    )
    .unwrap();
    crate::common::runtime()
        .block_on(warehouse.write(&spec, vec![batch], WriteMode::Overwrite, Vec::new()))
        .unwrap();
    let columns = |site: &Site| {
        crate::common::runtime()
            .block_on(site.open().stored_columns("reference/targets"))
            .unwrap()
            .unwrap()
    };
    assert!(!columns(&site).contains(&"boundary".to_string()));

    // The next load rewrites the table in today's schema although its file did not change,
    // and the models build over it.
    let out = site.ingest(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(columns(&site).contains(&"boundary".to_string()));
    assert!(columns(&site).contains(&"target_persons".to_string()));
    let outcomes = rows(&site.query(
        "SELECT outcome FROM _loads WHERE kind = 'reference' AND office = 'targets' ORDER BY loaded_at",
    ));
    assert_eq!(outcomes, vec![vec!["loaded"], vec!["restated"]]);
    let mut build = site.command();
    build.arg("build");
    let out = crate::common::run(build);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut goals = site.command();
    goals.args([
        "sql",
        "--format",
        "csv",
        "SELECT COUNT(*) AS n FROM goal_progress WHERE target_boundary = 'before_2025_07'",
    ]);
    let out = crate::common::run(goals);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_ne!(out.stdout.lines().nth(1), Some("0"), "{}", out.stdout);
}
