//! The contract's example deliveries (tests/fixtures/examples, one per allowed form) load.

use crate::common::{Site, keyed_counts, rows};

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
        if path.extension().is_some_and(|e| e != "md") {
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
        // 571's example has a suspended compulsory record without an employer code, which the
        // contract requires for BHXH_BB.
        let expected = if key[0].starts_with("2024-01/571_") {
            2401
        } else {
            2500
        };
        assert_eq!(*loaded_and_rejected, expected, "{key:?}");
    }
    let reject = rows(&site.query("SELECT file, line, field, reason FROM rejects"));
    assert_eq!(
        reject,
        vec![vec![
            "2024-01/571_2024-01_participants.csv.gz".to_string(),
            "14".into(),
            "employer_code".into(),
            "missing_value".into()
        ]]
    );
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
