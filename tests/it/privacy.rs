//! No raw identifier or name from the input reaches the warehouse or the logs.

use std::collections::HashSet;
use std::path::Path;

use ansinh_core::DeliveryKind;
use ansinh_extract::fields::{Field, field_for_header};
use ansinh_extract::{TextEncoding, nfc, open_rows};

use crate::common::{Site, files_under, rows, run};

/// Identifier cells (as digit runs of 9 or more) and names of every landed file, read with
/// the project's own readers so every form is covered.
fn raw_values(landing: &Path) -> (HashSet<String>, HashSet<String>) {
    let (mut ids, mut names) = (HashSet::new(), HashSet::new());
    let scan = ansinh_warehouse::landing::scan(landing).unwrap();
    for file in &scan.files {
        let (mut reader, _) = open_rows(&file.path, &file.relative, TextEncoding::Auto).unwrap();
        let kind: DeliveryKind = file.delivery.kind;
        let fields: Vec<Option<Field>> = reader
            .header()
            .iter()
            .map(|h| field_for_header(kind, h))
            .collect();
        reader
            .for_each_row(&mut |_, cells| {
                for (cell, field) in cells.iter().zip(&fields) {
                    match field {
                        Some(Field::PersonId | Field::NationalId) => {
                            for run in digit_runs(cell) {
                                ids.insert(run);
                            }
                        }
                        Some(Field::FullName) if !cell.trim().is_empty() => {
                            names.insert(nfc(cell.trim()).into_owned());
                        }
                        _ => {}
                    }
                }
                Ok(())
            })
            .unwrap();
    }
    (ids, names)
}

fn digit_runs(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|r| r.len() >= 9)
        .map(str::to_string)
        .collect()
}

/// Finds raw identifiers and names in `text`; returns what was found.
fn leaks(text: &str, ids: &HashSet<String>, names: &HashSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    for run in digit_runs(text) {
        for len in 9..=run.len().min(12) {
            for start in 0..=run.len() - len {
                let part = &run[start..start + len];
                if ids.contains(part) {
                    found.push(format!("identifier {part}"));
                }
            }
        }
    }
    let normal = nfc(text);
    let words: Vec<&str> = normal
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    for window in words.windows(3) {
        let candidate = window.join(" ");
        if names.contains(&candidate) {
            found.push(format!("name {candidate}"));
        }
    }
    found
}

#[test]
fn no_identifier_or_name_reaches_the_warehouse_or_the_logs() {
    let site = Site::new();
    site.generate("2025-07", "2025-08", 0.01, true);
    let (ids, names) = raw_values(&site.landing());
    // Two files whose header the parser cannot tell from their data: one with lines ended by
    // CR alone (read as one line), one whose header runs into its first row. Both are
    // refused, and their header cells (identifiers, names) are stored and logged nowhere.
    let month = site.landing().join("2025-07");
    let mut plain: Vec<std::path::PathBuf> = std::fs::read_dir(&month)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    plain.sort();
    let (cr_only, joined) = (&plain[0], &plain[1]);
    let text = std::fs::read_to_string(cr_only).unwrap();
    std::fs::write(cr_only, text.replace("\r\n", "\r").replace('\n', "\r")).unwrap();
    let text = std::fs::read_to_string(joined).unwrap();
    std::fs::write(joined, text.replacen("\r\n", "", 1).replacen('\n', "", 1)).unwrap();
    let run = site.ingest(&["--max-reject-ratio", "0.05"]);
    assert_eq!(run.code, 1, "two deliveries are refused: {}", run.stderr);
    let said = format!("{}{}", run.stdout, run.stderr);
    for (file, reason) in [
        (cr_only, "lines end in CR alone"),
        (joined, "of the header row looks like data"),
    ] {
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(
            said.lines()
                .any(|l| l.contains(&*name) && l.contains(reason)),
            "{name}: {said}"
        );
    }
    let loaded = rows(&site.query("SELECT COUNT(*) FROM participants"));
    assert!(loaded[0][0].parse::<i64>().unwrap() > 1000);
    assert!(
        ids.len() > 1000 && names.len() > 100,
        "{} ids, {} names",
        ids.len(),
        names.len()
    );

    let mut found = leaks(&run.stdout, &ids, &names);
    found.extend(leaks(&run.stderr, &ids, &names));
    // Raw bytes of every warehouse file: Delta logs, statistics, Parquet pages.
    let mut files = Vec::new();
    files_under(&site.warehouse(), &mut files);
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for hit in leaks(&String::from_utf8_lossy(&bytes), &ids, &names) {
            found.push(format!("{}: {hit}", file.display()));
        }
    }
    // Decoded values of every table, since Parquet pages are compressed.
    for table in [
        "participants",
        "beneficiaries",
        "rejects",
        "_loads",
        "person_links",
    ] {
        for row in rows(&site.query(&format!("SELECT * FROM {table}"))) {
            for hit in leaks(&row.join(" | "), &ids, &names) {
                found.push(format!("{table}: {hit}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "raw values in the warehouse or logs: {:?}",
        &found[..found.len().min(10)]
    );

    // The scan itself finds what it looks for.
    let sample_id = ids.iter().next().unwrap();
    assert!(!leaks(&format!("x{sample_id}x"), &ids, &names).is_empty());
    let sample_name = names.iter().next().unwrap();
    assert!(!leaks(&format!("value: {sample_name}."), &ids, &names).is_empty());
}

#[test]
fn a_person_keeps_one_pseudonym_across_the_switch_to_the_national_number() {
    let site = Site::new();
    site.generate("2025-07", "2025-08", 0.01, false);
    assert_eq!(site.ingest(&[]).code, 0);
    // From August 2025 many records carry only the 12-digit number; the staging model must
    // resolve them to the pseudonyms used in July. The facts keep the number's pseudonym.
    let only_national = rows(&site.query(
        "SELECT COUNT(*) FROM participants WHERE period = '2025-08' AND person_id_key IS NULL",
    ));
    assert!(only_national[0][0].parse::<i64>().unwrap() > 100);
    let as_delivered = rows(&site.query(
        "SELECT COUNT(*) FROM participants WHERE person_id_key IS NULL AND person <> national_id_key",
    ));
    assert_eq!(as_delivered[0][0], "0");
    let staged = |sql: &str| -> Vec<Vec<String>> {
        let mut cmd = site.command();
        cmd.args(["sql", "--format", "csv", sql]);
        let out = run(cmd);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let unmatched = staged(
        "SELECT COUNT(*) FROM stg_participants a WHERE a.period = DATE '2025-08-01' AND a.scheme = 'BHXH_BB' \
         AND NOT EXISTS (SELECT 1 FROM stg_participants b WHERE b.period = DATE '2025-07-01' AND b.person = a.person)",
    );
    let lapsed_or_new = rows(&site.query(
        "SELECT COUNT(*) FROM participants WHERE period = '2025-08' AND status = 1 AND scheme = 'BHXH_BB'",
    ));
    let unmatched: i64 = unmatched[0][0].parse().unwrap();
    let total: i64 = lapsed_or_new[0][0].parse().unwrap();
    // Only August's new enrolments (about 1.3% a month) are unknown in July.
    assert!(
        unmatched * 50 < total,
        "{unmatched} of {total} August persons lost their July pseudonym"
    );
}
