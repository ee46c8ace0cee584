//! The social-protection authority's social-pension lists: loaded, rejected row by row,
//! restated and refused like the offices' extracts, with no identifier or name in the clear.

use crate::common::*;

const HEADER: &str = "Số định danh cá nhân,Mã số BHXH,Họ và tên,Ngày sinh,Giới tính,Mã xã,Loại trợ cấp,Hộ nghèo,Số tiền,Hưởng từ tháng";

fn national_id(i: usize) -> String {
    format!("0560{:08}", 41_000_000 + i)
}

/// A list of `n` social pensioners; `bad(i)` breaks row i's household flag.
fn write_list(site: &Site, period: &str, n: usize, bad: impl Fn(usize) -> bool) {
    let mut text = String::from(HEADER);
    text.push('\n');
    for i in 0..n {
        let (birth, poor) = match i % 4 {
            // 72 and poor: eligible; 72 and not poor: outside eligibility.
            0 => ("15/03/1953", "1"),
            1 => ("15/03/1953", "0"),
            _ => ("01/01/1944", "0"),
        };
        let poor = if bad(i) { "2" } else { poor };
        let sex = if i % 2 == 0 { "Nam" } else { "Nữ" };
        text.push_str(&format!(
            "{},,Nguyễn Thị Thử {i},{birth},{sex},{},HUU_TRI_XA_HOI,{poor},500.000,07/2025\n",
            national_id(i),
            23000 + i % 65,
        ));
    }
    let dir = site.landing().join(period);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("BTXH56_{period}_social_pensions.csv")),
        text,
    )
    .unwrap();
}

fn loaded(site: &Site) -> Vec<Vec<String>> {
    rows(&site.query(
        "SELECT period, office, CAST(COUNT(*) AS VARCHAR), CAST(SUM(CASE WHEN poor_household THEN 1 ELSE 0 END) AS VARCHAR) \
         FROM social_pensions GROUP BY period, office ORDER BY period",
    ))
}

#[test]
fn social_pension_lists_load_restate_and_refuse_as_the_other_kinds_without_identities() {
    let site = Site::new();
    // The generated registry has the authority (BTXH56, serving the province from July 2025);
    // its generated list is replaced by one written here.
    site.generate("2025-07", "2025-07", 0.005, false);

    // A bad row (household flag 2) is rejected with its line and field; the rest load.
    write_list(&site, "2025-07", 400, |i| i == 7);
    let run = site.ingest(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(loaded(&site), vec![vec!["2025-07", "BTXH56", "399", "100"]]);
    let rejects = rows(&site.query(
        "SELECT kind, CAST(line AS VARCHAR), field, reason, value FROM rejects WHERE kind = 'social_pensions'",
    ));
    assert_eq!(
        rejects,
        vec![vec![
            "social_pensions",
            "9",
            "poor_household",
            "invalid_flag",
            "2"
        ]]
    );
    let load = rows(&site.query(
        "SELECT outcome, CAST(rows_read AS VARCHAR), CAST(rows_loaded AS VARCHAR) FROM _loads WHERE kind = 'social_pensions'",
    ));
    assert_eq!(load, vec![vec!["loaded", "400", "399"]]);

    // The same list again changes nothing; a corrected list replaces the month.
    let versions = site.versions();
    assert_eq!(site.ingest(&[]).code, 0);
    assert_eq!(site.versions(), versions);
    write_list(&site, "2025-07", 380, |_| false);
    let run = site.ingest(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("1 restated"), "{}", run.stdout);
    assert_eq!(loaded(&site), vec![vec!["2025-07", "BTXH56", "380", "95"]]);

    // A list with one bad row in ten is refused, naming the file and the reason; the
    // corrected list stays.
    write_list(&site, "2025-07", 300, |i| i % 10 == 3);
    let before = site.versions();
    let run = site.ingest(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("BTXH56_2025-07_social_pensions.csv")
            && run.stderr.contains("invalid_flag"),
        "{}",
        run.stderr
    );
    assert_eq!(loaded(&site), vec![vec!["2025-07", "BTXH56", "380", "95"]]);
    assert_eq!(
        site.versions()["social_pensions"],
        before["social_pensions"]
    );

    // No personal ID or name in the clear: not in any warehouse file, not in the output.
    let needles = [national_id(7), national_id(123), "Thử".to_string()];
    for needle in &needles {
        assert!(!run.stdout.contains(needle.as_str()) && !run.stderr.contains(needle.as_str()));
    }
    let mut files = Vec::new();
    files_under(&site.warehouse(), &mut files);
    for entry in files {
        let bytes = std::fs::read(&entry).unwrap();
        for needle in &needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} holds {needle}",
                entry.display()
            );
        }
    }
}
