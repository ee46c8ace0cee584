//! Readers that are not ours (the `deltalake` and `duckdb` Python packages) read the tables
//! and get the same counts.

use crate::common::{Site, keyed_counts, require_python};

const SCRIPT: &str = r#"
import json, sys
import duckdb
from deltalake import DeltaTable

root = sys.argv[1]
out = {}
dt = DeltaTable(f"{root}/tables/participants")
t = dt.to_pyarrow_table(columns=["period", "office", "scheme", "status"])
counts = {}
for p, o, s, st in zip(*(t.column(c).to_pylist() for c in ["period", "office", "scheme", "status"])):
    key = f"{p}|{o}|{s}|{st}"
    counts[key] = counts.get(key, 0) + 1
out["deltalake"] = counts
files = dt.file_uris()
rows = duckdb.sql(
    "SELECT period, office, scheme, status, COUNT(*) FROM read_parquet($files, hive_partitioning = true) "
    "GROUP BY ALL", params={"files": files}
).fetchall()
out["duckdb"] = {f"{p}|{o}|{s}|{st}": n for p, o, s, st, n in rows}
print(json.dumps(out))
"#;

#[test]
#[ignore = "needs deltalake and duckdb; .ci/run installs it and runs ignored tests"]
fn deltalake_and_duckdb_read_the_same_counts() {
    require_python(&["deltalake", "duckdb"]);
    let site = Site::new();
    site.generate("2024-01", "2024-02", 0.01, false);
    assert_eq!(site.ingest(&[]).code, 0);
    // A restatement first, so readers must honour the Delta log rather than list files.
    let file = site.landing().join("2024-02/570_2024-02_participants.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    let kept: Vec<&str> = text.lines().take(text.lines().count() - 5).collect();
    std::fs::write(&file, kept.join("\n") + "\n").unwrap();
    assert_eq!(site.ingest(&[]).code, 0);

    let ours: std::collections::BTreeMap<String, i64> = keyed_counts(&site.query(
        "SELECT period, office, scheme, CAST(status AS VARCHAR), COUNT(*) FROM participants GROUP BY 1, 2, 3, 4",
    ))
    .into_iter()
    .map(|(k, v)| (k.join("|"), v))
    .collect();
    let warehouse = site.warehouse();
    let out = crate::common::python3([
        std::ffi::OsStr::new("-c"),
        SCRIPT.as_ref(),
        warehouse.as_os_str(),
    ]);
    let theirs: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for reader in ["deltalake", "duckdb"] {
        let counts: std::collections::BTreeMap<String, i64> = theirs[reader]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
            .collect();
        assert_eq!(counts, ours, "{reader} disagrees");
    }
}
