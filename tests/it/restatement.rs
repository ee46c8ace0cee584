//! A corrected delivery replaces exactly its office-month; a refused one leaves the previous.

use crate::common::{Site, keyed_counts, rows};

fn partition_counts(site: &Site) -> std::collections::BTreeMap<Vec<String>, i64> {
    keyed_counts(&site.query("SELECT period, office, COUNT(*) FROM participants GROUP BY 1, 2"))
}

#[test]
fn corrections_replace_one_office_month_and_refusals_keep_the_previous_load() {
    let site = Site::new();
    site.generate("2023-12", "2024-01", 0.01, false);
    assert_eq!(site.ingest(&[]).code, 0);
    let counts = partition_counts(&site);
    let versions = site.versions();

    // A correction: office 568 resends January without its last 10 rows.
    let file = site.landing().join("2024-01/568_2024-01_participants.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&file, lines[..lines.len() - 10].join("\n") + "\n").unwrap();
    let run = site.ingest(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("1 restated") && run.stdout.contains("63 unchanged"),
        "{}",
        run.stdout
    );
    let after = partition_counts(&site);
    for (key, n) in &counts {
        let expected = if key == &vec!["2024-01".to_string(), "568".to_string()] {
            n - 10
        } else {
            *n
        };
        assert_eq!(after[key], expected, "{key:?}");
    }
    let v = site.versions();
    assert_eq!(v["participants"], versions["participants"] + 1);
    assert_eq!(v.get("rejects"), versions.get("rejects"));
    let restated = rows(&site.query("SELECT outcome FROM _loads WHERE office = '568' AND period = '2024-01' AND kind = 'participants' ORDER BY loaded_at"));
    assert_eq!(
        restated,
        vec![vec!["loaded".to_string()], vec!["restated".to_string()]]
    );

    // A delivery with too many bad rows is refused: exit 1, the previous load stays.
    let file = site.landing().join("2024-01/569_2024-01_participants.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    let broken: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i > 0 && i % 20 == 0 {
                let mut cells: Vec<&str> = line.split(',').collect();
                cells[4] = "X";
                cells.join(",")
            } else {
                line.to_string()
            }
        })
        .collect();
    std::fs::write(&file, broken.join("\n") + "\n").unwrap();
    let before = site.versions();
    let run = site.ingest(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("569_2024-01_participants.csv") && run.stderr.contains("invalid_sex"),
        "{}",
        run.stderr
    );
    assert_eq!(partition_counts(&site), after);
    let v = site.versions();
    assert_eq!(v["participants"], before["participants"]);
    assert_eq!(v.get("rejects"), before.get("rejects"));

    // The same refused file again changes nothing, and still exits 1.
    let again = site.ingest(&[]);
    assert_eq!(again.code, 1);
    assert_eq!(site.versions(), v);
}

#[test]
fn undecodable_text_late_in_a_file_is_rejected_not_stored() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.05, false);
    let file = site.landing().join("2024-01/568_2024-01_participants.csv");
    let mut bytes = std::fs::read(&file).unwrap();
    assert!(
        bytes.len() > 300 * 1024,
        "the bad row must come after the detection block"
    );
    let template = String::from_utf8(bytes.clone()).unwrap();
    let last = template
        .lines()
        .rev()
        .find(|l| l.contains(",BHXH_BB,"))
        .unwrap()
        .to_string();
    let cells: Vec<&str> = last.split(',').collect();
    let mut bad = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            bad.push(b',');
        }
        if i == 9 {
            bad.extend_from_slice(b"DN\xff\xfe1");
        } else {
            bad.extend_from_slice(cell.as_bytes());
        }
    }
    bad.push(b'\n');
    bytes.extend_from_slice(&bad);
    std::fs::write(&file, bytes).unwrap();
    let out = site.ingest(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rejects = rows(&site.query("SELECT field, reason FROM rejects"));
    assert_eq!(
        rejects,
        vec![vec![
            "employer_code".to_string(),
            "invalid_text".to_string()
        ]]
    );
    let stored = rows(
        &site.query("SELECT COUNT(*) FROM participants WHERE employer_code LIKE '%\u{FFFD}%'"),
    );
    assert_eq!(stored[0][0], "0");
}

#[test]
fn vacuum_deletes_replaced_files_and_keeps_the_current_rows() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.01, false);
    assert_eq!(site.ingest(&[]).code, 0);
    let file = site.landing().join("2024-01/568_2024-01_participants.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&file, lines[..lines.len() - 3].join("\n") + "\n").unwrap();
    assert_eq!(site.ingest(&[]).code, 0);
    let before = partition_counts(&site);
    let partition = site
        .warehouse()
        .join("tables/participants/period=2024-01/office=568");
    let files = || std::fs::read_dir(&partition).unwrap().count();
    assert_eq!(files(), 2, "the replaced file and the current one");
    let vacuum = |args: &[&str]| {
        let mut cmd = crate::common::ansinh(site.path());
        cmd.arg("--warehouse")
            .arg(site.warehouse())
            .arg("vacuum")
            .args(args);
        crate::common::run(cmd)
    };
    let dry = vacuum(&["--retain-hours", "0", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout.contains("participants: would delete 1 files"),
        "{}",
        dry.stdout
    );
    assert_eq!(files(), 2, "a dry run deletes nothing");
    let done = vacuum(&["--retain-hours", "0"]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(files(), 1);
    assert_eq!(partition_counts(&site), before);
    // Within the default retention nothing goes: time travel still reaches the old version.
    let mut restated = site.landing().join("2024-01/569_2024-01_participants.csv");
    let text = std::fs::read_to_string(&restated).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&restated, lines[..lines.len() - 2].join("\n") + "\n").unwrap();
    assert_eq!(site.ingest(&[]).code, 0);
    restated = site
        .warehouse()
        .join("tables/participants/period=2024-01/office=569");
    assert_eq!(vacuum(&[]).code, 0);
    assert_eq!(std::fs::read_dir(&restated).unwrap().count(), 2);
}

#[test]
fn an_unreadable_manifest_row_stops_the_load_instead_of_reloading() {
    use arrow::array::{ArrayRef, StringArray};
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.002, false);
    assert_eq!(site.ingest(&[]).code, 0);
    // A row with an outcome this version does not know.
    let warehouse = site.open();
    let runtime = crate::common::runtime();
    let batches = runtime
        .block_on(warehouse.query("SELECT * FROM _loads LIMIT 1"))
        .unwrap();
    let batch = &batches[0];
    let index = batch.schema().index_of("outcome").unwrap();
    let schema = ansinh_core::schema::loads();
    let mut columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()).unwrap())
        .collect();
    columns[index] = std::sync::Arc::new(StringArray::from(vec!["archived"]));
    let odd = arrow::array::RecordBatch::try_new(schema, columns).unwrap();
    let spec = ansinh_warehouse::table_spec("_loads").unwrap();
    runtime
        .block_on(warehouse.write(
            &spec,
            vec![odd],
            ansinh_warehouse::WriteMode::Append,
            Vec::new(),
        ))
        .unwrap();
    let before = site.versions();
    let out = site.ingest(&[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("_loads row") && out.stderr.contains("unknown outcome"),
        "{}",
        out.stderr
    );
    assert_eq!(site.versions(), before);
}

#[test]
fn a_file_that_changes_while_it_is_loaded_is_not_committed_and_the_next_run_loads_it() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.01, false);
    let only = ["--kind", "participants", "--office", "568"];
    assert_eq!(site.ingest(&only).code, 0);
    let count = |site: &Site| {
        let counted = rows(&site.query("SELECT COUNT(*) FROM participants WHERE office = '568'"));
        counted[0][0].parse::<i64>().unwrap()
    };
    let loaded = count(&site);

    // A correction arrives, and is rewritten (cut to its first half) after it was hashed and
    // while it is read: nothing of it is committed or recorded, and the run asks for a retry.
    let file = site.landing().join("2024-01/568_2024-01_participants.csv");
    crate::common::drop_last_row(&file);
    let corrected = std::fs::read(&file).unwrap();
    let out = site.ingest_with(
        &[("ANSINH_FAILPOINTS", "ingest.file_changes_after_hashing")],
        &only,
    );
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("568_2024-01_participants.csv: the file changed while it was being loaded"),
        "{}",
        out.stderr
    );
    assert_eq!(count(&site), loaded, "the previous load stands");

    // Once the file is whole again, the next run loads it, as a correction.
    std::fs::write(&file, corrected).unwrap();
    let out = site.ingest(&only);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(count(&site), loaded - 1);
}
