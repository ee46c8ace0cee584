//! The generated sample loads to exactly what the generator wrote.

use crate::common::{Site, keyed_counts, manifest_counts, rows};

#[test]
fn generated_sample_loads_to_the_manifest_counts_and_reloading_changes_nothing() {
    let site = Site::new();
    let manifest = site.generate("2023-12", "2024-01", 0.02, false);
    let first = site.ingest(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.contains("deliveries: 64 loaded"),
        "{}",
        first.stdout
    );

    let participants = keyed_counts(&site.query(
        "SELECT period, office, scheme, CAST(status AS VARCHAR), COUNT(*) FROM participants \
         GROUP BY 1, 2, 3, 4",
    ));
    assert_eq!(participants, manifest_counts(&manifest, "participants"));
    let beneficiaries = keyed_counts(&site.query(
        "SELECT period, office, benefit_type, COUNT(*) FROM beneficiaries GROUP BY 1, 2, 3",
    ));
    assert_eq!(beneficiaries, manifest_counts(&manifest, "beneficiaries"));

    // Every file: rows_read = rows_loaded + rows_rejected.
    let loads = rows(&site.query(
        "SELECT file, rows_read, rows_loaded, rows_rejected FROM _loads WHERE kind <> 'reference'",
    ));
    assert_eq!(loads.len(), 64);
    for row in &loads {
        let n: Vec<i64> = row[1..].iter().map(|v| v.parse().unwrap()).collect();
        assert_eq!(n[0], n[1] + n[2], "{row:?}");
    }

    // Calibration: January 2024 at scale 0.02 has 2% of the article's persons in old Khanh
    // Hoa (whose office codes sort before Ninh Thuan's 58x).
    let active = keyed_counts(&site.query(
        "SELECT scheme, COUNT(DISTINCT person) FROM participants \
         WHERE period = '2024-01' AND status = 1 AND office < '58' GROUP BY scheme",
    ));
    let expected = [
        ("BHXH_BB", 182_809.0),
        ("BHXH_TN", 15_183.0),
        ("BHYT", 1_202_980.0),
    ];
    for (scheme, full) in expected {
        let got = active[&vec![scheme.to_string()]] as f64;
        assert!((got - full * 0.02).abs() <= 1.0, "{scheme}: {got}");
    }

    // The same landing area again: no table changes.
    let before = site.versions();
    let second = site.ingest(&[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stdout.contains("64 unchanged"), "{}", second.stdout);
    assert_eq!(site.versions(), before);

    // The status matrix lists every office-month as loaded.
    let mut status = site.command();
    status
        .arg("--landing")
        .arg(site.landing())
        .args(["status", "--format", "json"]);
    let status = crate::common::run(status);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status_json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let cells = status_json["deliveries"].as_array().unwrap();
    assert_eq!(cells.len(), 64);
    assert!(
        cells.iter().all(|c| c["state"] == "loaded"),
        "{}",
        status.stdout
    );
}

#[test]
fn threads_and_memory_budget_change_nothing_in_the_tables() {
    // Messy data, so rejects and links are spilled too; chunks of 1,024 rows, so every file is
    // checked in many chunks, by one thread and by three.
    let tables = |env: &[(&str, &str)]| {
        let site = Site::new();
        site.generate("2024-01", "2024-01", 0.01, true);
        let out = site.ingest_with(env, &[]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        [
            "SELECT * FROM participants ORDER BY office, source_line",
            "SELECT * FROM beneficiaries ORDER BY office, source_line",
            "SELECT kind, period, office, line, field, reason, value FROM rejects \
             ORDER BY kind, office, line",
            "SELECT DISTINCT * FROM person_links ORDER BY 3, 5, 1, 2",
            "SELECT file, rows_read, rows_loaded, rows_rejected, outcome FROM _loads ORDER BY file",
        ]
        .map(|sql| rows(&site.query(sql)))
    };
    let defaults = tables(&[]);
    assert!(defaults[2].len() > 10, "the messy sample has rejects");
    assert!(!defaults[3].is_empty(), "and identity links");
    for workers in ["1", "3"] {
        let small = tables(&[
            ("ANSINH_INGEST__WORKERS", workers),
            ("ANSINH_INGEST__BATCH_ROWS", "1"),
            ("ANSINH_INGEST__MEMORY_LIMIT_MB", "192"),
        ]);
        for (a, b) in defaults.iter().zip(&small) {
            assert!(a == b, "{workers} workers: {} rows vs {}", a.len(), b.len());
        }
    }
}

#[test]
fn the_generate_command_is_deterministic() {
    let site = crate::common::Site::new();
    let run = |out: &str| {
        let mut cmd = crate::common::ansinh(site.path());
        cmd.args([
            "generate", "--out", out, "--from", "2024-01", "--to", "2024-01", "--scale", "0.005",
            "--seed", "3",
        ]);
        crate::common::run(cmd)
    };
    assert_eq!(run("a").code, 0);
    assert_eq!(run("b").code, 0);
    for file in [
        "2024-01/568_2024-01_participants.csv",
        "reference/population.csv",
        "manifest.json",
    ] {
        let a = std::fs::read(site.path().join("a").join(file)).unwrap();
        let b = std::fs::read(site.path().join("b").join(file)).unwrap();
        assert!(a == b, "{file} differs between two runs with the same seed");
    }
}

#[test]
fn sample_pension_receipt_rate_is_realistic() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.02, false);
    assert_eq!(site.ingest(&["--kind", "beneficiaries"]).code, 0);
    // January 2024: men retire at 61y0m (732 months), women at 56y4m (676 months); age counts
    // at the end of the month. Denominator with DOMAIN.md's fractional formula.
    let numerator = crate::common::rows(&site.query(
        "SELECT COUNT(DISTINCT person) FROM beneficiaries WHERE period = '2024-01' \
         AND office < '58' AND benefit_type IN ('HUU_TRI', 'TRO_CAP_HANG_THANG', 'HUU_TRI_XA_HOI') \
         AND (2024 * 12 + 1) - (date_part('year', birth_month) * 12 + date_part('month', birth_month)) \
             >= CASE sex WHEN 'M' THEN 732 ELSE 676 END",
    ))[0][0]
        .parse::<f64>()
        .unwrap();
    let denominator = crate::common::rows(&site.query(
        "SELECT SUM(CASE WHEN sex = 'M' AND age >= 61 THEN population \
                         WHEN sex = 'F' AND age >= 57 THEN population \
                         WHEN sex = 'F' AND age = 56 THEN population * (57 - 56 - 4.0 / 12) \
                         ELSE 0 END) \
         FROM reference.population WHERE year = 2024 AND unit_code = '56' \
         AND boundary = 'before_2025_07'",
    ))[0][0]
        .parse::<f64>()
        .unwrap();
    let rate = numerator / denominator;
    assert!(
        (0.40..=0.55).contains(&rate),
        "pension-receipt rate {rate:.3}"
    );
}

/// Fails with the first differences when the generator's numbers and the mart's differ.
fn assert_same_numbers(
    expected: &std::collections::BTreeMap<Vec<String>, i64>,
    got: &std::collections::BTreeMap<Vec<String>, i64>,
) {
    let differ: Vec<_> = expected
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(v))
        .map(|(k, v)| format!("{k:?}: generator {v}, mart {:?}", got.get(k)))
        .chain(
            got.iter()
                .filter(|(k, _)| !expected.contains_key(*k))
                .map(|(k, v)| format!("{k:?}: mart {v}, not in the generator's")),
        )
        .collect();
    assert!(
        differ.is_empty(),
        "{} differ:\n{}",
        differ.len(),
        differ[..differ.len().min(20)].join("\n")
    );
}

/// `ansinh sql --format csv` over the site's warehouse: the rows after the header.
fn sql_rows(site: &Site, sql: &str) -> Vec<Vec<String>> {
    let mut cmd = site.command();
    cmd.args(["sql", "--format", "csv", sql]);
    let out = crate::common::run(cmd);
    assert_eq!(out.code, 0, "{sql}: {}", out.stderr);
    out.stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn the_province_since_2025_counts_what_the_generator_wrote_on_both_boundaries() {
    // 2025 across the regrouping of April and the merger of July: district, inter-district
    // and grassroots offices, persons moving from Ninh Thuan in June, the personal ID alone
    // (sometimes in the SI-code column) from August.
    let site = Site::new();
    let manifest = site.generate("2025-01", "2025-12", 0.01, false);
    let out = site.ingest(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let loaded = format!("deliveries: {} loaded", manifest.deliveries.len());
    assert!(out.stdout.contains(&loaded), "{}", out.stdout);
    let rejected = rows(&site.query("SELECT COUNT(*) FROM rejects"));
    assert_eq!(rejected[0][0], "0", "a clean sample has no rejects");
    let mut build = site.command();
    build.arg("build");
    let out = crate::common::run(build);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Every numerator of every month, boundary, unit and indicator is the generator's.
    let expected: std::collections::BTreeMap<Vec<String>, i64> = manifest
        .numerators
        .iter()
        .map(|n| {
            let key = vec![
                n.period.clone(),
                n.boundary.clone(),
                n.unit_code.clone(),
                n.unit_level.clone(),
                n.indicator.clone(),
            ];
            (key, n.persons as i64)
        })
        .collect();
    let got: std::collections::BTreeMap<Vec<String>, i64> = sql_rows(
        &site,
        "SELECT to_char(period, '%Y-%m') AS p, boundary, unit_code, unit_level, indicator, numerator \
         FROM coverage_monthly WHERE numerator > 0",
    )
    .into_iter()
    .map(|mut r| {
        let n = r.pop().unwrap().parse().unwrap();
        (r, n)
    })
    .collect();
    assert!(expected.len() > 1000, "{}", expected.len());
    assert_same_numbers(&expected, &got);

    // The current province has no step in July; the province of the month does (Ninh Thuan's
    // people join it).
    let province = |boundary: &str, period: &str| {
        expected[&vec![
            period.to_string(),
            boundary.to_string(),
            "56".to_string(),
            "province".to_string(),
            "hi_coverage".to_string(),
        ]] as f64
    };
    let current = province("current", "2025-07") / province("current", "2025-06");
    let as_of = province("as_of_period", "2025-07") / province("as_of_period", "2025-06");
    assert!((current - 1.0).abs() < 0.01, "current: {current}");
    assert!(as_of > 1.3, "as of the period: {as_of}");

    // Expected and delivered offices per month are the generator's registry; none missing.
    let mut registry: Vec<Vec<String>> = Vec::new();
    for d in &manifest.deliveries {
        registry.push(vec![
            d.period.clone(),
            d.office.clone(),
            d.kind.clone(),
            "loaded".into(),
        ]);
    }
    registry.sort();
    let mut quality = sql_rows(
        &site,
        "SELECT to_char(period, '%Y-%m'), office, kind, state FROM data_quality",
    );
    quality.sort();
    assert_eq!(quality, registry);
    let per_month = |p: &str, kind: &str| {
        registry
            .iter()
            .filter(|r| r[0] == p && r[2] == kind)
            .count()
    };
    assert_eq!(
        (
            per_month("2025-03", "participants"),
            per_month("2025-04", "participants"),
            per_month("2025-07", "participants")
        ),
        (16, 7, 10)
    );
    // The social-protection authority's lists begin with the social pension, in July.
    assert_eq!(
        (
            per_month("2025-06", "social_pensions"),
            per_month("2025-07", "social_pensions")
        ),
        (0, 1)
    );

    // The pension-receipt numerator by source, benefit group and age band, on both
    // boundaries, is the generator's; so is every list row paid outside the eligibility rules.
    let expected: std::collections::BTreeMap<Vec<String>, i64> = manifest
        .pension_receipt
        .iter()
        .map(|n| {
            let key = vec![
                n.period.clone(),
                n.boundary.clone(),
                n.unit_code.clone(),
                n.unit_level.clone(),
                n.indicator.clone(),
            ];
            (key, n.persons as i64)
        })
        .collect();
    let mut got = std::collections::BTreeMap::new();
    for column in [
        "from_offices",
        "from_lists",
        "pension",
        "monthly_allowance",
        "article_23",
        "social_pension",
        "aged_70_74",
        "aged_75_79",
        "aged_80_plus",
    ] {
        let sql = format!(
            "SELECT to_char(period, '%Y-%m'), boundary, unit_code, unit_level, '{column}', \
             CAST({column} AS BIGINT) FROM pension_receipt_monthly WHERE sex = 'T' AND {column} > 0"
        );
        for mut r in sql_rows(&site, &sql) {
            let n: i64 = r.pop().unwrap().parse().unwrap();
            got.insert(r, n);
        }
    }
    assert_same_numbers(&expected, &got);
    for column in ["from_lists", "article_23", "aged_70_74"] {
        assert!(
            expected.keys().any(|k| k[4] == column && k[1] == "current"),
            "{column} is in the sample"
        );
    }
    let outside: u64 = manifest
        .deliveries
        .iter()
        .map(|d| d.outside_eligibility)
        .sum();
    let listed: u64 = sql_rows(
        &site,
        "SELECT CAST(COALESCE(SUM(outside_eligibility), 0) AS BIGINT) FROM data_quality",
    )[0][0]
        .parse()
        .unwrap();
    assert_eq!(listed, outside);
    assert!(outside > 0, "the lists have rows outside the rules");

    // Each person once: the June movers are listed twice, the persons of August on carry
    // mostly the personal ID alone, and the province counts each once.
    let movers = rows(&site.query(
        "SELECT COUNT(*) FROM (SELECT person FROM participants WHERE period = '2025-06' \
         AND scheme = 'BHYT' GROUP BY person HAVING COUNT(DISTINCT office) > 1)",
    ));
    assert_ne!(
        movers[0][0], "0",
        "persons listed by both provinces in June"
    );
    let id_only = rows(&site.query(
        "SELECT COUNT(*) FROM participants WHERE period = '2025-08' AND person_id_key IS NULL",
    ));
    assert_ne!(id_only[0][0], "0", "persons with the personal ID alone");
}
