//! Every form the contract allows loads to the same rows as its clean twin, and every injected
//! invalid row is quarantined with the right reason.

use std::collections::BTreeSet;

use crate::common::{Site, rows};

const FACT_COLUMNS: &str = "period, office, person, person_id_key, national_id_key, birth_month, \
    birth_precision, sex, scheme, status, district_code, commune_code, employer_code, \
    contribution_base, paid_through, hi_group";
const BENEFICIARY_COLUMNS: &str = "period, office, person, person_id_key, national_id_key, \
    birth_month, birth_precision, sex, benefit_type, monthly_amount, start_month, district_code, \
    commune_code";

#[test]
fn messy_forms_load_like_their_clean_twins_and_quarantine_every_invalid_row() {
    let clean = Site::new();
    clean.generate("2024-01", "2024-01", 0.03, false);
    let messy = Site::new();
    let manifest = messy.generate("2024-01", "2024-01", 0.03, true);

    // Every office uses another form.
    let files: BTreeSet<String> = manifest.deliveries.iter().map(|d| d.file.clone()).collect();
    assert!(files.iter().any(|f| f.ends_with(".xlsx")));
    assert!(files.iter().any(|f| f.ends_with(".csv.gz")));
    let invalid: usize = manifest.deliveries.iter().map(|d| d.invalid.len()).sum();
    assert!(invalid >= 60, "only {invalid} invalid rows injected");

    assert_eq!(clean.ingest(&[]).code, 0);
    let run = messy.ingest(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    for (table, columns) in [
        ("participants", FACT_COLUMNS),
        ("beneficiaries", BENEFICIARY_COLUMNS),
    ] {
        let sql = format!("SELECT {columns} FROM {table} ORDER BY {columns}");
        let (a, b) = (rows(&clean.query(&sql)), rows(&messy.query(&sql)));
        assert_eq!(a.len(), b.len(), "{table}: row counts differ");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{table}: rows differ");
        }
    }

    // Every injected row is in rejects at its line with its field and reason, and nothing else is.
    let mut expected = BTreeSet::new();
    for d in &manifest.deliveries {
        for r in &d.invalid {
            expected.insert(vec![
                d.file.clone(),
                r.line.to_string(),
                r.field.clone(),
                r.reason.clone(),
            ]);
        }
    }
    let got: BTreeSet<Vec<String>> =
        rows(&messy.query("SELECT file, CAST(line AS VARCHAR), field, reason FROM rejects"))
            .into_iter()
            .collect();
    assert_eq!(got, expected);
    let reasons: BTreeSet<String> = expected.iter().map(|r| r[3].clone()).collect();
    assert!(reasons.len() >= 17, "reasons covered: {reasons:?}");

    for row in rows(&messy.query(
        "SELECT rows_read, rows_loaded, rows_rejected FROM _loads WHERE kind <> 'reference'",
    )) {
        let n: Vec<i64> = row.iter().map(|v| v.parse().unwrap()).collect();
        assert_eq!(n[0], n[1] + n[2]);
    }
    // Header aliases and extra columns are reported once per file.
    let extra = rows(
        &messy.query("SELECT DISTINCT extra_columns FROM _loads WHERE extra_columns IS NOT NULL"),
    );
    assert_eq!(extra, vec![vec!["STT, Ghi chú".to_string()]]);
}
