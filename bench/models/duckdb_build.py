"""Builds the ansinh SQL models with DuckDB over the same warehouse files, for comparison.

Usage: duckdb_build.py WAREHOUSE SQL_DIR OUT_DIR MODEL[:parquet|:view] ...

The fact and reference tables are read from the Parquet files of their current Delta snapshot
(the list comes from the deltalake package); each model's SQL file runs unchanged but for
one spelling (`dialect`), in the order given (`ansinh plan`), as a view or written to OUT_DIR/<name>.parquet and read back.
A model with `fixpoint_seed` in its header runs as ansinh runs it: the seed, then the model's
SQL over the round before, until a round returns the rows of the one before.
Prints one JSON object: seconds spent and rows per Parquet model.
"""
import json
import os
import sys
import time
import tomllib

import duckdb
from deltalake import DeltaTable

TABLES = ["participants", "beneficiaries", "social_pensions", "rejects", "_loads", "person_links"]
# Tables a warehouse may not have written yet (no lists, no rejects, no identity links).
EMPTY = {
    "social_pensions": "period VARCHAR, office VARCHAR, person VARCHAR, person_id_key VARCHAR, "
    "national_id_key VARCHAR, birth_month DATE, birth_precision VARCHAR, sex VARCHAR, "
    "benefit_type VARCHAR, poor_household BOOLEAN, monthly_amount BIGINT, start_month DATE, "
    "district_code VARCHAR, commune_code VARCHAR, source_line BIGINT",
    "rejects": "kind VARCHAR, period VARCHAR, office VARCHAR, file VARCHAR, sha256 VARCHAR, "
    "line BIGINT, field VARCHAR, reason VARCHAR, value VARCHAR",
    "person_links": "national_id_key VARCHAR, person_id_key VARCHAR, kind VARCHAR, period VARCHAR, "
    "office VARCHAR",
}
REFERENCE = [
    "geography",
    "population",
    "labor_force",
    "targets",
    "offices",
    "office_areas",
    "commune_crosswalk",
]


def register(con, name, path):
    try:
        dt = DeltaTable(path)
    except Exception:
        con.execute(f"CREATE TABLE {name} ({EMPTY[name.strip(chr(34))]})")
        return
    files = dt.file_uris()
    partitions = dt.metadata().partition_columns
    if files:
        hive = {c: "VARCHAR" for c in partitions}
        opts = f", hive_partitioning = true, hive_types = {hive!r}" if partitions else ""
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({files!r}{opts})")
    else:
        empty = dt.schema().to_arrow().empty_table()
        con.register(f"empty_{name.replace('.', '_')}", empty)
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM empty_{name.replace('.', '_')}")


def dialect(sql):
    """The model's SQL as DuckDB spells it: the aggregate `first_value(x ORDER BY ...)` is
    DuckDB's `first(x ORDER BY ...)` (DuckDB's `first_value` is a window function only)."""
    out, i = [], 0
    while (j := sql.find("first_value(", i)) >= 0:
        depth, k = 0, j + len("first_value")
        while True:
            depth += {"(": 1, ")": -1}.get(sql[k], 0)
            k += 1
            if depth == 0:
                break
        window = sql[k:].lstrip().upper().startswith("OVER")
        out.append(sql[i:j] + ("first_value(" if window else "first("))
        i = j + len("first_value(")
    return "".join(out) + sql[i:]


def header(sql):
    """The model's leading comment block, as TOML."""
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[3:] if line.startswith("-- ") else line[2:])
    return tomllib.loads("\n".join(lines))


def fixpoint(con, name, seed, sql, out_dir):
    """Writes the fixpoint of `sql` from `seed` to OUT_DIR/<name>.parquet; returns the rounds."""
    def round_file(n):
        return f"{out_dir}/{name}.round-{n}.parquet"

    con.execute(f"COPY ({seed}\n) TO '{round_file(0)}' (FORMAT parquet)")
    n = 0
    while True:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{round_file(n)}')")
        con.execute(f"COPY ({sql}\n) TO '{round_file(n + 1)}' (FORMAT parquet)")
        before, after = (f"read_parquet('{round_file(i)}')" for i in (n, n + 1))
        same = con.execute(
            f"SELECT (SELECT COUNT(*) FROM {before}) = (SELECT COUNT(*) FROM {after}) "
            f"AND NOT EXISTS (SELECT * FROM {after} EXCEPT SELECT * FROM {before})"
        ).fetchone()[0]
        os.remove(round_file(n))
        n += 1
        if same:
            break
    con.execute(f"DROP VIEW {name}")
    os.replace(round_file(n), f"{out_dir}/{name}.parquet.round")
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{out_dir}/{name}.parquet.round')) "
        f"TO '{out_dir}/{name}.parquet' (FORMAT parquet, COMPRESSION zstd)"
    )
    os.remove(f"{out_dir}/{name}.parquet.round")
    return n


def main():
    warehouse, sql_dir, out_dir, *models = sys.argv[1:]
    os.makedirs(out_dir, exist_ok=True)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA reference")
    for t in TABLES:
        register(con, f'"{t}"', f"{warehouse}/tables/{t}")
    for t in REFERENCE:
        register(con, f"reference.{t}", f"{warehouse}/tables/reference/{t}")
    rows = {}
    started = time.perf_counter()
    for spec in models:
        name, _, kind = spec.partition(":")
        layer = "staging" if os.path.exists(f"{sql_dir}/staging/{name}.sql") else "marts"
        sql = dialect(open(f"{sql_dir}/{layer}/{name}.sql").read())
        seed = header(sql).get("fixpoint_seed")
        if kind == "parquet":
            path = f"{out_dir}/{name}.parquet"
            if seed:
                fixpoint(con, name, seed, sql, out_dir)
            else:
                con.execute(f"COPY ({sql}\n) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
            rows[name] = con.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
        else:
            con.execute(f"CREATE VIEW {name} AS {sql}")
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))


if __name__ == "__main__":
    main()
